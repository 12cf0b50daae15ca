# SPDX-License-Identifier: GPL-2.0
# Helpers shared by the host scripts; sourced, never run.
# shellcheck shell=bash

PROJECT_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE_DIR=${PKVM_SMC_CACHE:-$HOME/.cache/pkvm-smc-imm}
BUILD_ROOT=$PROJECT_ROOT/build
LLVM_SUFFIX=-19
SCRIPT_START=${SCRIPT_START:-$(date +%s)}
export PROJECT_ROOT CACHE_DIR BUILD_ROOT LLVM_SUFFIX SCRIPT_START

die() {
	printf 'error: %s\n' "$*" >&2
	exit 1
}

# One line per step, so a long log still shows where the time went.
step() {
	printf '==> [%4ss] %s\n' "$(($(date +%s) - SCRIPT_START))" "$*" >&2
}

need_tool() {
	command -v "$1" >/dev/null 2>&1 ||
		die "'$1' not found; run 'make deps' to install it"
}

# The kernel versions this project supports, and the Debian package and
# suite each one comes from.
kernel_package() {
	case $1 in
	6.12) echo linux-source-6.12 ;;
	7.3) echo linux-source-7.3 ;;
	*) die "unknown KERNEL '$1'; use KERNEL=6.12 or KERNEL=7.3" ;;
	esac
}

check_handler() {
	case $1 in
	rust | stock) ;;
	*) die "unknown HANDLER '$1'; use HANDLER=rust or HANDLER=stock" ;;
	esac
}

check_mode() {
	case $1 in
	hvhe | nvhe | vhe) ;;
	*) die "unknown MODE '$1'; use MODE=hvhe, MODE=nvhe or MODE=vhe" ;;
	esac
}

# The three choices of a testbed run, each checked, each with its own
# message.
check_run() {
	kernel_package "$1" >/dev/null
	check_handler "$2"
	check_mode "$3"
}

# Make's -j for kernel builds: one more than the cores keeps both busy
# while one job waits on I/O.
build_jobs() {
	echo $(($(nproc) + 1))
}

# kernel_make TREE OUT ARGS...: make in the kernel TREE, building into OUT,
# the way every build of this project does, so that the command lines Kbuild
# records stay the same from one script to the next. Only CC goes through
# ccache: HOSTCC also links Rust proc macros, which ccache breaks.
kernel_make() {
	local tree=$1 out=$2 ccache=()
	shift 2
	command -v ccache >/dev/null 2>&1 && ccache=("CC=ccache clang$LLVM_SUFFIX")
	CCACHE_DIR=${CCACHE_DIR:-$CACHE_DIR/ccache} \
		make -C "$tree" O="$out" ARCH=arm64 LLVM="$LLVM_SUFFIX" "${ccache[@]}" \
		-j"$(build_jobs)" "$@"
}

# cargo installs bindgen here; a fresh login shell may not have it on PATH.
case ":$PATH:" in
*":${CARGO_HOME:-$HOME/.cargo}/bin:"*) ;;
*) PATH=${CARGO_HOME:-$HOME/.cargo}/bin:$PATH ;;
esac
export PATH
