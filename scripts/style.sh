#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# style.sh KERNEL: the kernel's Rust style gates on this project's Rust,
# inside the KERNEL rust tree: `make rustfmtcheck` (and the same rustfmt
# on the out-of-tree modules), and clippy through Kbuild (CLIPPY=1) on the
# hyp object and the test modules. Any diff or warning fails.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

KERNEL=${1:?usage: style.sh KERNEL}
out=$BUILD_ROOT/$KERNEL-rust
[ -f "$out/vmlinux" ] || die "$out is not built; run 'make build KERNEL=$KERNEL HANDLER=rust'"
need_tool rustfmt
tree=$("$PROJECT_ROOT/scripts/prepare-tree.sh" "$KERNEL" rust)

kmake() {
	kernel_make "$tree" "$out" "$@"
}

step "make rustfmtcheck ($KERNEL tree, hyp code included)"
kmake -s rustfmtcheck || die "rustfmtcheck: the $KERNEL tree's Rust is not formatted (diff above)"
# Kbuild's rustfmtcheck does not look at external modules: run what it runs,
# with the tree's configuration, on the test modules.
step "rustfmt --check rust/ (the $KERNEL tree's .rustfmt.toml)"
rustfmt --check --config-path "$tree/.rustfmt.toml" "$PROJECT_ROOT"/rust/*.rs

clippy() {
	local log=$out/clippy.log
	kmake CLIPPY=1 "$@" >"$log" 2>&1 || {
		tail -n 30 "$log" >&2
		die "CLIPPY=1 build failed; log in $log"
	}
	if grep -qE '^(warning|error)' "$log"; then
		grep -A12 -E '^(warning|error)' "$log" >&2
		die "clippy warnings in $*; log in $log"
	fi
}

step "clippy: hyp object ($KERNEL)"
# CLIPPY=1 changes the objects' command lines, so Kbuild rebuilds them.
clippy arch/arm64/kvm/hyp/nvhe/host_smc.o
step "clippy: test modules ($KERNEL)"
clippy M="$out/smc-imm-module" modules

# Back to objects built by rustc, so that the next build is incremental.
"$PROJECT_ROOT/scripts/build-kernel.sh" "$KERNEL" rust >/dev/null
step "style: clean"
