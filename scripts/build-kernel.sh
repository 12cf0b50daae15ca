#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# build-kernel.sh [--tree DIR] KERNEL HANDLER: configure and build Image
# and the test module into build/KERNEL-HANDLER/ (incrementally when it
# exists). With --tree, DIR is built as it is instead of the tree prepared
# for HANDLER, with the Rust handler enabled if DIR offers it: this is how
# scripts/patches.sh builds each step of its series.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

usage="usage: build-kernel.sh [--tree DIR] KERNEL HANDLER"
tree=
if [ "${1:-}" = --tree ]; then
	tree=${2:?$usage}
	shift 2
fi
KERNEL=${1:?$usage}
HANDLER=${2:?$usage}
check_handler "$HANDLER"
given_tree=$tree
need_tool "clang$LLVM_SUFFIX"
need_tool "ld.lld$LLVM_SUFFIX"
need_tool bindgen
need_tool rustc

[ -n "$tree" ] || tree=$("$PROJECT_ROOT/scripts/prepare-tree.sh" "$KERNEL" "$HANDLER")
out=$BUILD_ROOT/$KERNEL-$HANDLER
module_dir=$out/smc-imm-module

# rust must have the Rust handler (check_config fails the build if its
# option did not stick); a given tree has it once the series adds it.
fragments=("$PROJECT_ROOT/configs/pkvm-minimal.config")
# RUST_HANDLER=n builds a given tree's C handler (scripts/patches.sh, for
# the C backport).
if [ "$HANDLER" = rust ] && [ "${RUST_HANDLER:-y}" = y ]; then
	if [ -z "$given_tree" ] || grep -q '^config NVHE_RUST_HOST_SMC$' "$tree/arch/arm64/kvm/Kconfig"; then
		fragments+=("$PROJECT_ROOT/configs/rust-handler.config")
	fi
fi

kmake() {
	kernel_make "$tree" "$out" "$@"
}

# Every line of every fragment must have survived olddefconfig.
check_config() {
	local fragment line missing=()
	for fragment in "${fragments[@]}"; do
		while IFS= read -r line; do
			case $line in
			CONFIG_*) grep -qxF "$line" "$out/.config" || missing+=("$line") ;;
			esac
		done <"$fragment"
	done
	[ ${#missing[@]} -eq 0 ] && return
	if ! grep -qx 'CONFIG_RUST_IS_AVAILABLE=y' "$out/.config"; then
		kmake rustavailable >&2 || true
		die "Rust is not available to this kernel (see above); run 'make deps'"
	fi
	die "Kconfig dropped ${missing[*]} from $out/.config (unmet dependencies: check with 'make -C $tree O=$out menuconfig')"
}

configure() {
	local stamp want
	stamp=$out/.pkvm-smc-config
	want=$(cat "${fragments[@]}" "$tree/.debian-version" | sha256sum)
	if [ -f "$out/.config" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
		return
	fi
	step "configuring $KERNEL-$HANDLER (tinyconfig + ${fragments[*]##*/})"
	mkdir -p "$out"
	kmake tinyconfig >/dev/null
	"$tree/scripts/kconfig/merge_config.sh" -m -O "$out" "$out/.config" \
		"${fragments[@]}" >/dev/null
	kmake olddefconfig >/dev/null
	check_config
	echo "$want" >"$stamp"
}

build_image() {
	step "building $KERNEL-$HANDLER Image (LLVM=$LLVM_SUFFIX, -j$(build_jobs))"
	kmake Image modules >"$out/build.log" 2>&1 || {
		tail -n 40 "$out/build.log" >&2
		die "kernel build failed; full log in $out/build.log"
	}
}

# The module is built from a copy so that Kbuild's output stays out of the
# repository; cp -p keeps mtimes, so an unchanged source is not rebuilt.
build_module() {
	step "building the test module against $KERNEL-$HANDLER"
	mkdir -p "$module_dir/rust"
	cp -p "$PROJECT_ROOT/Kbuild" "$module_dir/"
	cp -p "$PROJECT_ROOT"/rust/*.rs "$module_dir/rust/"
	kmake M="$module_dir" modules >"$out/module.log" 2>&1 || {
		tail -n 40 "$out/module.log" >&2
		die "test module build failed; full log in $out/module.log"
	}
}

configure
build_image
build_module
step "built $out/arch/arm64/boot/Image and $(find "$module_dir" -name '*.ko' -printf '%P ')"
