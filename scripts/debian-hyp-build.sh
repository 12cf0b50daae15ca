#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# debian-hyp-build.sh KERNEL: build the hypervisor object (kvm_nvhe.o) of
# the rust handler's tree under Debian's own arm64 configuration
# (linux-config-KERNEL) plus configs/debian-hyp.config, with the symbol
# gate, and check it as a testbed build is checked. It is built with GCC
# (aarch64-linux-gnu-gcc), as Debian builds its arm64 kernels: the Rust
# handler's bindgen call must take a GCC build's flags. Only what
# arch/arm64/kvm/hyp/nvhe/ needs is built, not the kernel: a distribution
# config turns on far more than tinyconfig does, and that is the point.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

KERNEL=${1:?usage: debian-hyp-build.sh KERNEL}
check_axes --kernel "$KERNEL"
need_tool aarch64-linux-gnu-gcc
export KERNEL_CC=gcc
objdir=$CACHE_DIR/obj/$KERNEL-debian
out=$BUILD_ROOT/$KERNEL-rust-debian
fragment=$PROJECT_ROOT/configs/debian-hyp.config

configure() {
	local config line missing=()
	config=$("$PROJECT_ROOT/scripts/kernel-source.sh" --config "$KERNEL")
	mkdir -p "$objdir"
	"$tree/scripts/kconfig/merge_config.sh" -m -O "$objdir" "$config" "$fragment" >/dev/null
	kernel_make "$tree" "$objdir" -s olddefconfig >/dev/null
	while IFS= read -r line; do
		case $line in
		CONFIG_*) grep -qxF "$line" "$objdir/.config" || missing+=("$line") ;;
		esac
	done <"$fragment"
	[ ${#missing[@]} -eq 0 ] ||
		die "Kconfig dropped ${missing[*]} from Debian's $KERNEL config (see why with 'make -C $tree O=$objdir menuconfig')"
}

build() {
	tree=$("$PROJECT_ROOT/scripts/prepare-tree.sh" "$KERNEL" rust)
	configure
	mkdir -p "$out"
	step "building arch/arm64/kvm/hyp/nvhe/ under Debian's $KERNEL arm64 config ($(cat "$CACHE_DIR/config/$KERNEL/.debian-version")), with $(kernel_cc_version)"
	kernel_make "$tree" "$objdir" arch/arm64/kvm/hyp/nvhe/ >"$out/build.log" 2>&1 || {
		tail -n 40 "$out/build.log" >&2
		die "the hyp did not build under Debian's config; full log in $out/build.log"
	}
	cp "$objdir/arch/arm64/kvm/hyp/nvhe/kvm_nvhe.o" "$objdir/.config" "$out/"
	cp "$objdir/arch/arm64/kvm/hyp/nvhe/kvm_nvhe.symcheck" "$out/" 2>/dev/null || true
}

with_lock "$KERNEL" build
"$PROJECT_ROOT/scripts/check-hyp-build.sh" "$out"
