#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# style.sh KERNEL: the kernel's Rust style gates on this project's Rust,
# inside the KERNEL rust tree: rustfmt with the tree's .rustfmt.toml (what
# `make rustfmtcheck` runs), and clippy through Kbuild (CLIPPY=1) on the
# hyp object and the test module. Any diff or warning fails.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

KERNEL=${1:?usage: style.sh KERNEL}
tree=$CACHE_DIR/trees/$KERNEL-rust
out=$BUILD_ROOT/$KERNEL-rust
[ -f "$out/vmlinux" ] || die "$out is not built; run 'make build KERNEL=$KERNEL HANDLER=rust'"
need_tool rustfmt

step "rustfmt --check ($KERNEL tree's .rustfmt.toml)"
rustfmt --check --edition 2021 --config-path "$tree/.rustfmt.toml" \
	"$tree"/arch/arm64/kvm/hyp/nvhe/host_smc*.rs "$PROJECT_ROOT"/rust/*.rs

clippy() {
	local log=$out/clippy.log
	make -C "$tree" O="$out" ARCH=arm64 LLVM="$LLVM_SUFFIX" CLIPPY=1 \
		-j"$(build_jobs)" "$@" >"$log" 2>&1 || {
		tail -n 30 "$log" >&2
		die "CLIPPY=1 build failed; log in $log"
	}
	if grep -qE '^(warning|error)' "$log"; then
		grep -A12 -E '^(warning|error)' "$log" >&2
		die "clippy warnings in $*; log in $log"
	fi
}

step "clippy: hyp object ($KERNEL)"
# Kbuild rebuilds only what the CLIPPY=1 command line changes.
clippy arch/arm64/kvm/hyp/nvhe/host_smc.o
step "clippy: test module ($KERNEL)"
touch "$out/smc-imm-module/rust/smc_imm_test.rs"
clippy M="$out/smc-imm-module" modules

# Back to objects built by rustc, so that the next build is incremental.
"$PROJECT_ROOT/scripts/build-kernel.sh" "$KERNEL" rust >/dev/null
step "style: clean"
