#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# style.sh KERNEL: the kernel's Rust style gates on this project's Rust,
# inside the KERNEL tree with the rust handler: `make rustfmtcheck` (the
# hyp's Rust included) and the same rustfmt, with the tree's configuration,
# on the test modules; clippy through Kbuild (CLIPPY=1) on the hyp object
# and on the test modules. Any diff or warning fails.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

KERNEL=${1:?usage: style.sh KERNEL}
profile=$(work_profile "$KERNEL")
objdir=$CACHE_DIR/obj/$KERNEL-$profile
# The object directory's compiler: another would make Kbuild reconfigure it.
KERNEL_CC=$(profile_cc "$profile")
export KERNEL_CC
out=$BUILD_ROOT/$(variant_name "$KERNEL" rust "$profile")
log=$out/style.log

kmake() {
	kernel_make "$tree" "$objdir" "$@"
}

clippy() {
	kmake CLIPPY=1 "$@" >"$log" 2>&1 || {
		tail -n 30 "$log" >&2
		die "CLIPPY=1 build failed; log in $log"
	}
	if grep -qE '^(warning|error)' "$log"; then
		grep -A12 -E '^(warning|error)' "$log" >&2
		die "clippy warnings in $*; log in $log"
	fi
}

# What the gates read, as one hash: the rust build's inputs (the key the
# build cache keeps it under, in build.key whether the build was made in
# this run or taken from the cache: the tree with the hyp's Rust, the
# configuration, the toolchain, the test modules' sources, the build
# recipe), this script and the make flags.
style_key() {
	cat "$out/build.key" "$0" "$PROJECT_ROOT/scripts/kbuild.sh" | sha256sum | cut -d' ' -f1
}

style() {
	local modules key
	# Not inside $(...): a failed build must stop this script.
	"$PROJECT_ROOT/scripts/build-kernel.sh" "$KERNEL" rust "$profile"
	[ -f "$out/build.key" ] ||
		die "scripts/build-kernel.sh left no $out/build.key after its build (a defect of the build script)"
	# Like a build, the gates give the same answer on the same inputs:
	# one that passed is not run again (remove the stamp to run it).
	key=$(style_key)
	if [ -f "$CACHE_DIR/style/$key" ]; then
		step "style: passed before on these sources, tree and toolchain ($CACHE_DIR/style/$key), not checked again"
		return
	fi
	# Clippy rebuilds objects of the kernel's object directory (the first
	# profile the matrix builds it in), so that must hold the rust build:
	# configured with the Rust option, its bindings and Module.symvers made
	# from this tree. The directory may hold another handler's build, a
	# mutant's or a bisection step's (measured: then bindgen's output
	# lacked handle_host_smc and clippy failed on correct code) when the
	# build was taken from the cache or left in build/ by an earlier run.
	# Its vmlinux says which: each link has its own build number and time,
	# so the same bytes as the build's vmlinux mean the directory holds that
	# build; otherwise an incremental build brings it back.
	cmp -s "$objdir/vmlinux" "$out/vmlinux" ||
		"$PROJECT_ROOT/scripts/build-kernel.sh" --rebuild "$KERNEL" rust "$profile"
	tree=$("$PROJECT_ROOT/scripts/prepare-tree.sh" "$KERNEL" rust)
	# Checked, not assumed: clippy on correct code fails without them.
	grep -qx 'CONFIG_NVHE_RUST_HOST_SMC=y' "$objdir/.config" ||
		die "$objdir is not configured with the Rust handler after the rust build; run 'make build KERNEL=$KERNEL HANDLER=rust PROFILE=$profile' and look at its log"
	grep -q 'fn handle_host_smc' "$objdir/arch/arm64/kvm/hyp/nvhe/host_smc_bindings.rs" ||
		die "$objdir's hyp bindings lack handle_host_smc (made with the Rust option off?); run 'make build KERNEL=$KERNEL HANDLER=rust PROFILE=$profile'"
	modules=$("$PROJECT_ROOT/scripts/selftest-install.sh" "$tree" 2>/dev/null)/test_modules
	step "make rustfmtcheck ($KERNEL tree, the hyp's Rust included)"
	kmake -s rustfmtcheck || die "rustfmtcheck: the $KERNEL tree's Rust is not formatted (diff above)"
	# Kbuild's rustfmtcheck does not look at external modules: run what it
	# runs, with the tree's configuration, on the test modules.
	step "rustfmt --check rust/ (the $KERNEL tree's .rustfmt.toml)"
	RUSTUP_TOOLCHAIN=$KERNEL_RUST_TOOLCHAIN rustfmt --check \
		--config-path "$tree/.rustfmt.toml" "$PROJECT_ROOT"/rust/*.rs ||
		die "rustfmt: rust/ is not formatted (diff above)"
	step "clippy: hyp object ($KERNEL)"
	# CLIPPY=1 changes the object's command line, so Kbuild rebuilds it.
	clippy arch/arm64/kvm/hyp/nvhe/host_smc.o
	step "clippy: test modules ($KERNEL)"
	clippy M="$modules" modules
	# The path a kernel without kvm_pkvm_initialized() compiles (Debian's,
	# Android's: rust/Kbuild decides from Module.symvers), which the
	# testbed's trees, which export it, would otherwise never lint.
	step "clippy: test modules ($KERNEL, as for a kernel without kvm_pkvm_initialized())"
	clippy M="$modules" PKVM_INITIALIZED_EXPORT=n modules
	# Back to objects built by rustc, so that the next build is incremental.
	kmake arch/arm64/kvm/hyp/nvhe/host_smc.o >/dev/null 2>&1
	kmake M="$modules" modules >/dev/null 2>&1
	mkdir -p "$CACHE_DIR/style"
	touch "$CACHE_DIR/style/$key"
}

with_lock "$KERNEL" style
step "style: clean"
