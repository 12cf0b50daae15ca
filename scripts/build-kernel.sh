#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# build-kernel.sh [OPTIONS] KERNEL HANDLER [PROFILE]: configure and build
# Image, the kselftest and the modules, and keep what they produced in
# build/KERNEL-HANDLER[-PROFILE]/.
#
# One source tree per kernel (scripts/prepare-tree.sh) and one object
# directory per kernel and profile, in the cache, are shared by every
# handler: switching handler rebuilds the hyp, the Rust crates when the
# handler's Kconfig option flips, and relinks. What a build produced is then
# copied out, so that each handler keeps its own Image, vmlinux, kvm_nvhe.o
# and kselftest install.
#
# Options, for scripts/patches.sh and scripts/mutants.sh:
#   --patches "P..."   the glue patches to apply instead of HANDLER's
#   --mutant PATCH     one more patch to the hyp's Rust sources
#   --kvm-mutant PATCH one more patch to host KVM (kvm-mutants/)
#   --rust-option y|n  the Rust handler's Kconfig option (default: y when
#                      the tree has it and HANDLER is rust)
#   --into NAME        keep the result in build/NAME/ instead
#   --vmlinux-only     build and link vmlinux only, no Image, modules or
#                      kselftest: whether a patch of the series builds
#                      (scripts/series-bisect.sh); build/NAME/ then holds
#                      vmlinux, kvm_nvhe.o, .config and the log
#   --rebuild          build in the object directory even when the cache
#                      holds this build: for callers that go on working in
#                      the object directory (scripts/style.sh), which a
#                      cache hit leaves as the last real build left it
#   --no-remake-check  skip the second make of the hyp's directory that
#                      must remake nothing (check_hyp_quiescent): make
#                      qemu's edit loop (scripts/qemu.sh), where it would
#                      add a fifth to each build; every other build checks
set -euo pipefail
# A command that fails inside $(...) fails the build too: the build key is
# made of many (a key without one of its parts would take another build's
# result from the cache).
shopt -s inherit_errexit
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

usage="usage: build-kernel.sh [--patches LIST] [--mutant PATCH] [--kvm-mutant PATCH] [--rust-option y|n] [--into NAME] [--vmlinux-only] [--rebuild] [--no-remake-check] KERNEL HANDLER [PROFILE]"
tree_args=()
rust_option=
into=
mutant=
use_cache=true
remake_check=true
# What make builds: a kernel, or (--vmlinux-only) just its link.
targets=(Image modules)
# A kernel, with its modules and kselftest, rather than vmlinux alone
# (scripts/build-progress.sh asks too).
full_build() {
	[ "${targets[0]}" = Image ]
}
while [ $# -gt 0 ]; do
	case $1 in
	--rebuild)
		use_cache=false
		shift
		continue
		;;
	--no-remake-check)
		remake_check=false
		shift
		continue
		;;
	--vmlinux-only)
		targets=(vmlinux)
		shift
		continue
		;;
	--patches) tree_args+=(--patches "${2?$usage}") ;;
	--mutant)
		mutant=${2:?$usage}
		tree_args+=(--mutant "$mutant")
		;;
	--kvm-mutant)
		mutant=${2:?$usage}
		tree_args+=(--kvm-mutant "$mutant")
		;;
	--rust-option) rust_option=${2:?$usage} ;;
	--into) into=${2:?$usage} ;;
	-*) die "$usage" ;;
	*) break ;;
	esac
	shift 2
done
KERNEL=${1:?$usage}
HANDLER=${2:?$usage}
PROFILE=$(resolve_profile "$KERNEL" "${3:-default}")
check_axes --kernel "$KERNEL" --handler "$HANDLER" --profile "$PROFILE"
# Debian's own kernel is downloaded, not built.
[ "$PROFILE" != debian ] || exec "$PROJECT_ROOT/scripts/debian-build.sh" "$KERNEL"
KERNEL_CC=$(profile_cc "$PROFILE")
export KERNEL_CC
need_tool "clang$LLVM_SUFFIX"
need_tool "ld.lld$LLVM_SUFFIX"
[ "$KERNEL_CC" != gcc ] || need_tool aarch64-linux-gnu-gcc
need_tool bindgen
need_tool rustup

objdir=$CACHE_DIR/obj/$KERNEL-$PROFILE
name=${into:-$(variant_name "$KERNEL" "$HANDLER" "$PROFILE")}
out=$BUILD_ROOT/$name

# Cross-language LTO needs rustc's LLVM and clang to be the same major
# version; the pinned toolchain is chosen for that. Say so if it is not.
check_toolchain() {
	local rustc_llvm clang_llvm
	rustup run "$KERNEL_RUST_TOOLCHAIN" rustc --version >/dev/null 2>&1 ||
		die "Rust $KERNEL_RUST_TOOLCHAIN is not installed; run 'make deps'"
	rustc_llvm=$(rustup run "$KERNEL_RUST_TOOLCHAIN" rustc --version --verbose |
		sed -n 's/^LLVM version: \([0-9]*\).*/\1/p')
	clang_llvm=$("clang$LLVM_SUFFIX" -dumpversion | cut -d. -f1)
	[ "$rustc_llvm" = "$clang_llvm" ] ||
		die "rustc $KERNEL_RUST_TOOLCHAIN uses LLVM $rustc_llvm but clang$LLVM_SUFFIX is LLVM $clang_llvm; set KERNEL_RUST_TOOLCHAIN in scripts/kbuild.sh to a rustc on LLVM $clang_llvm"
}

# The Rust handler's option is on for HANDLER=rust, once the tree has it.
choose_rust_option() {
	if [ -n "$rust_option" ]; then
		[ "$rust_option" = y ] || [ "$rust_option" = n ] || die "$usage"
		return
	fi
	rust_option=n
	if [ "$HANDLER" = rust ]; then
		rust_option=y
	fi
}

# shellcheck source=scripts/kconfig.sh
. "$PROJECT_ROOT/scripts/kconfig.sh"
# shellcheck source=scripts/build-progress.sh
. "$PROJECT_ROOT/scripts/build-progress.sh"
# shellcheck source=scripts/build-cache.sh
. "$PROJECT_ROOT/scripts/build-cache.sh"

build_kernel() {
	step "building $name: $(if full_build; then echo Image and modules; else echo vmlinux only; fi) ($(kernel_package "$KERNEL") $(cat "$tree/.debian-version"), $(toolchain_args | paste -sd' '), Rust $KERNEL_RUST_TOOLCHAIN, -j$(build_jobs))"
	run_with_progress "$out/build.log" kernel_make "$tree" "$objdir" "${targets[@]}" || {
		tail -n 40 "$out/build.log" >&2
		die "kernel build failed; full log in $out/build.log"
	}
}

# With the Rust option, the hyp's own Makefile rules are this project's: a
# second make of the hyp's directory must build nothing. An object missing
# from Kbuild's targets (hyp-main.nvhe.o once, under NVHE_RUST_LTO) has no
# recorded command line, so every make remade it, the hyp and vmlinux's
# link after it.
check_hyp_quiescent() {
	local remade
	[ "$rust_option" = y ] || return 0
	remade=$(kernel_make "$tree" "$objdir" arch/arm64/kvm/hyp/nvhe/ 2>&1 |
		grep -E '^  [A-Z]+ +arch/arm64/kvm/hyp/nvhe/' || true)
	[ -z "$remade" ] ||
		die "a second make of arch/arm64/kvm/hyp/nvhe/ in $objdir remade what nothing changed: $(echo "$remade" | head -n 3 | paste -sd';' -)"
}

# The kselftest, installed the way upstream installs any target: copied into
# the tree, built with lib.mk (the module through TEST_GEN_MODS_DIR) and
# installed with run_kselftest.sh.
build_kselftest() {
	local log=$out/kselftest.log toolchain
	step "building and installing the kselftest (pkvm_smc_imm, cpu-hotplug)"
	"$PROJECT_ROOT/scripts/selftest-install.sh" "$tree" >/dev/null
	rm -rf "$out/kselftest"
	mapfile -t toolchain < <(toolchain_args)
	RUSTUP_TOOLCHAIN=$KERNEL_RUST_TOOLCHAIN make -C "$tree/tools/testing/selftests" \
		ARCH=arm64 "${toolchain[@]}" KDIR="$objdir" \
		TARGETS="pkvm_smc_imm cpu-hotplug" INSTALL_PATH="$out/kselftest" \
		install >"$log" 2>&1 || {
		tail -n 40 "$log" >&2
		die "kselftest build failed; full log in $log"
	}
}

# What the boots, the audit and the reports read, with how it was built.
snapshot() {
	local nvhe=$objdir/arch/arm64/kvm/hyp/nvhe file lto=false remake_checked=$remake_check
	! full_build ||
		cp "$objdir/arch/arm64/boot/Image" "$objdir/usr/gen_init_cpio" "$out/"
	cp "$objdir/vmlinux" "$objdir/System.map" "$objdir/.config" \
		"$objdir/arch/arm64/kvm/hyp/nvhe/kvm_nvhe.o" "$out/"
	rm -f "$out/kvm_nvhe.symcheck" "$out/hyp-aliases.lds"
	for file in kvm_nvhe.symcheck hyp-aliases.lds; do
		[ ! -f "$nvhe/$file" ] || [ "$rust_option" != y ] || cp "$nvhe/$file" "$out/"
	done
	# Bitcode starts with "BC": the Rust object took part in the hyp's LTO.
	if [ "$rust_option" = y ] && [ "$(head -c 2 "$nvhe/host_smc.o")" = BC ]; then
		lto=true
	fi
	# Without the Rust handler's rules there is nothing to check.
	[ "$rust_option" = y ] || remake_checked=true
	testbed build-record --out "$out/build.json" --kernel "$KERNEL" \
		--handler "$HANDLER" --profile "$PROFILE" --rust-option "$rust_option" \
		--lto "$lto" --mutant "${mutant##*/}" --remake-checked "$remake_checked" \
		--rust-toolchain "$KERNEL_RUST_TOOLCHAIN" --seconds $((SECONDS - build_start))
	if full_build; then
		step "built $out: Image, vmlinux, kvm_nvhe.o, kselftest/ ($(find "$out/kselftest" -name '*.ko' -printf '%f ' | sed 's/ $//'))"
	else
		step "built $out: vmlinux, kvm_nvhe.o (no Image, modules or kselftest)"
	fi
}

# Everything a build's result depends on, as one hash: what the tree would
# hold, the configuration's inputs, the toolchain, the kselftest's sources
# and this recipe. A build whose hash is in the cache is not built again.
build_key() {
	local files sources kselftest=()
	mapfile -t files < <(fragments)
	# The kselftest's sources, exactly those it installs (selftests/kvm/
	# is not among them: scripts/kvm-selftests.sh keys it), where the
	# build makes the kselftest.
	if full_build; then
		sources=$("$PROJECT_ROOT/scripts/selftest-install.sh" --list)
		mapfile -t kselftest <<<"$sources"
	fi
	{
		echo "$tree_hash"
		echo "$KERNEL $HANDLER $PROFILE rust_option=$rust_option targets=${targets[*]}"
		rustup run "$KERNEL_RUST_TOOLCHAIN" rustc --version --verbose
		"clang$LLVM_SUFFIX" --version
		[ "$KERNEL_CC" = clang ] || kernel_cc_version
		bindgen --version
		# kbuild.sh holds kernel_make(): the make flags, ccache, LLVM.
		cat "${files[@]}" "$0" "$PROJECT_ROOT/scripts/kconfig.sh" \
			"$PROJECT_ROOT/scripts/selftest-install.sh" \
			"$PROJECT_ROOT/scripts/glue.sh" "$PROJECT_ROOT/scripts/kbuild.sh"
		[ ${#kselftest[@]} -eq 0 ] || {
			printf '%s\n' "${kselftest[@]#"$PROJECT_ROOT"/}"
			cat "${kselftest[@]}"
		}
	} | sha256sum | cut -d' ' -f1
}

build_start=$SECONDS
# The tree's files as this build wants them (scripts/prepare-tree.sh):
# hashed into the key, and the tree brought to them on a cache miss.
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
check_toolchain
choose_rust_option
build() {
	local key tree_hash checked=()
	tree_hash=$("$PROJECT_ROOT/scripts/prepare-tree.sh" --stage "$stage" "${tree_args[@]}" "$KERNEL" "$HANDLER")
	key=$(build_key)
	# A build that checks takes from the cache only a build that was
	# checked: not one of make qemu's (--no-remake-check).
	! $remake_check || checked=(--remake-checked)
	if $use_cache && cache_has "$key" "${checked[@]}"; then
		cache_take "$key" "$out"
		step "$name: unchanged since a build in the cache ($CACHE_DIR/builds/$key), not rebuilt"
		return
	fi
	rm -rf "$out"
	mkdir -p "$out"
	tree=$("$PROJECT_ROOT/scripts/prepare-tree.sh" --from-stage "$stage" "${tree_args[@]}" "$KERNEL" "$HANDLER")
	configure
	# The check must follow a make that built the hyp's Rust, as it did
	# after an edit: the object directory may hold this build already (made
	# by make qemu, which skipped the check), and then nothing is built.
	if $remake_check && [ "$rust_option" = y ]; then
		rm -f "$objdir/arch/arm64/kvm/hyp/nvhe/host_smc.o"
	fi
	build_kernel
	! $remake_check || check_hyp_quiescent
	! full_build || build_kselftest
	snapshot
	cache_put "$key" "$out"
}
with_lock "$KERNEL" build
