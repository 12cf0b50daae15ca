# SPDX-License-Identifier: GPL-2.0
# How this project runs Kbuild: the toolchains and make's arguments of every
# kernel and kselftest build. Sourced by scripts/lib.sh; its text is part
# of each build's cache key (scripts/build-kernel.sh), so only what changes
# a build's result belongs here.
# shellcheck shell=bash

LLVM_SUFFIX=-19
# The Rust toolchain of every kernel and module build: rustc 1.86.0 is
# built on LLVM 19.1.7, the same major as clang-19, so that LLVM bitcode
# from both can meet in one LTO link (RUSTC_CLANG_LLVM_COMPATIBLE). The
# host-side crates (hyp/ tests, tools/smc-audit) use the default toolchain.
KERNEL_RUST_TOOLCHAIN=1.86.0
# The C compiler a profile's kernel is built with: clang (LLVM=-19), except
# for PROFILE=gcc, the minimal configuration built as Debian builds its
# arm64 kernels, with aarch64-linux-gnu-gcc and binutils. Rust is rustc
# $KERNEL_RUST_TOOLCHAIN either way.
profile_cc() {
	case $1 in
	gcc) echo gcc ;;
	*) echo clang ;;
	esac
}

# toolchain_args [CCACHE]: the make variables that choose KERNEL_CC (clang
# unless set to gcc) for a kernel or kselftest build; with CCACHE, CC goes
# through ccache when it is installed.
toolchain_args() {
	local cc=clang$LLVM_SUFFIX
	if [ "${KERNEL_CC:-clang}" = gcc ]; then
		cc=aarch64-linux-gnu-gcc
		echo CROSS_COMPILE=aarch64-linux-gnu-
	else
		echo "LLVM=$LLVM_SUFFIX"
	fi
	if [ -n "${1:-}" ] && command -v ccache >/dev/null 2>&1; then
		echo "CC=ccache $cc"
	fi
}

# kernel_cc_version: what the build key and the configuration's inputs
# record of KERNEL_CC.
kernel_cc_version() {
	if [ "${KERNEL_CC:-clang}" = gcc ]; then
		aarch64-linux-gnu-gcc --version | head -n 1
	else
		"clang$LLVM_SUFFIX" --version | head -n 1
	fi
}

# Make's -j for kernel builds: one more than the cores keeps both busy
# while one job waits on I/O.
build_jobs() {
	echo $(($(nproc) + 1))
}

# kernel_make TREE OUT ARGS...: make in the kernel TREE, building into OUT,
# the way every build of this project does, so that the command lines Kbuild
# records stay the same from one script to the next; with KERNEL_CC's
# toolchain. Only CC goes through ccache: HOSTCC also links Rust proc
# macros, which ccache breaks.
kernel_make() {
	local tree=$1 out=$2 toolchain
	shift 2
	mapfile -t toolchain < <(toolchain_args ccache)
	RUSTUP_TOOLCHAIN=$KERNEL_RUST_TOOLCHAIN \
		CCACHE_DIR=${CCACHE_DIR:-$CACHE_DIR/ccache} \
		make -C "$tree" O="$out" ARCH=arm64 "${toolchain[@]}" \
		-j"$(build_jobs)" "$@"
}
