# SPDX-License-Identifier: GPL-2.0
# Helpers shared by the host scripts; sourced, never run.
# shellcheck shell=bash

PROJECT_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE_DIR=${PKVM_SMC_CACHE:-$HOME/.cache/pkvm-smc-imm}
BUILD_ROOT=$PROJECT_ROOT/build
LLVM_SUFFIX=-19
# The Rust toolchain of every kernel and module build: rustc 1.86.0 is
# built on LLVM 19.1.7, the same major as clang-19, so that LLVM bitcode
# from both can meet in one LTO link (RUSTC_CLANG_LLVM_COMPATIBLE). The
# host-side crates (hyp/ tests, tools/smc-audit) use the default toolchain.
KERNEL_RUST_TOOLCHAIN=1.86.0
# The top-level Makefile sets PKVM_SMC_START once per `make` invocation, so
# that every step of it is timed from the same start.
SCRIPT_START=${PKVM_SMC_START:-${SCRIPT_START:-$(date +%s)}}
export PROJECT_ROOT CACHE_DIR BUILD_ROOT LLVM_SUFFIX SCRIPT_START KERNEL_RUST_TOOLCHAIN

# The testbed's Python package (scripts/testbed/): the QEMU command line
# and exception-log checks of each mode, the verdict, make check.
testbed() {
	PYTHONPATH=$PROJECT_ROOT/scripts python3 -m testbed "$@"
}

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

# The handlers a tree can be built with: Debian's tree as shipped, the
# stable backport of upstream's C check (6.12 only, where upstream's tree
# lacks it), and the tree with this project's series and Rust handler.
# hyp/glue/KERNEL/variants says which patches each one applies.
handlers_of() {
	awk '/^[a-z]/ { print $1 }' "$PROJECT_ROOT/hyp/glue/$1/variants"
}

# The name is compared as a string: it comes from the command line.
check_handler() {
	local kernel=$1 handler=$2
	handlers_of "$kernel" | grep -qxF -- "$handler" ||
		die "unknown HANDLER '$handler' for KERNEL=$kernel; use one of: $(handlers_of "$kernel" | paste -sd' ' -)"
}

# minimal and hardened are the testbed's configurations of Debian's
# source, gcc the minimal one built with GCC (profile_cc); debian is
# Debian's own kernel package, as shipped, with the
# module Debian's toolchain builds for it (scripts/debian-build.sh): its
# handler is the tree's own, stock.
check_profile() {
	case $1 in
	minimal | hardened | gcc | debian) ;;
	*) die "unknown PROFILE '$1'; use PROFILE=minimal, hardened, gcc or debian" ;;
	esac
}

check_handler_profile() {
	[ "$2" != debian ] || [ "$1" = stock ] ||
		die "PROFILE=debian is Debian's own kernel, whose handler is its own: use HANDLER=stock"
}

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

# QEMU CPU models with EL2, each with what matters here: max has VHE, PAC
# and BTI; neoverse-n1 has VHE but no PAC (dynamic SCS patches the kernel);
# cortex-a57 has no VHE (pKVM runs classic nVHE without any override).
check_cpu() {
	case $1 in
	max | neoverse-n1 | cortex-a57) ;;
	*) die "unknown CPU '$1'; use CPU=max, CPU=neoverse-n1 or CPU=cortex-a57" ;;
	esac
}

cpu_has_vhe() {
	[ "$1" != cortex-a57 ]
}

check_mode() {
	case $1 in
	hvhe | nvhe | vhe | insmod | pkvm-fail | kvm | kvm-vhe) ;;
	*) die "unknown MODE '$1'; use MODE=hvhe, nvhe, vhe, insmod, pkvm-fail, kvm or kvm-vhe" ;;
	esac
}

# A CPU without VHE can run neither hVHE nor VHE (insmod and pkvm-fail
# boot hVHE).
check_cpu_mode() {
	if ! cpu_has_vhe "$1" && [ "$2" != nvhe ]; then
		die "CPU=$1 has no VHE, so MODE=$2 cannot run on it; use MODE=nvhe"
	fi
}

# build/KERNEL-HANDLER[-PROFILE]: what one build produced, for the boots,
# the audit and the reports. The minimal profile keeps the short name.
variant_name() {
	local kernel=$1 handler=$2 profile=${3:-minimal}
	if [ "$profile" = minimal ]; then
		echo "$kernel-$handler"
	else
		echo "$kernel-$handler-$profile"
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

# with_lock NAME COMMAND...: one kernel tree and its object directories are
# shared by every handler and profile, so builds that touch them take turns,
# also across concurrent `make` invocations. The scripts a holder runs hold
# it with their parent (PKVM_SMC_LOCKS names what the process tree holds):
# taking it again would wait for the parent forever.
with_lock() {
	local lock=$1
	shift
	case " ${PKVM_SMC_LOCKS:-} " in
	*" $lock "*)
		"$@"
		return
		;;
	esac
	mkdir -p "$CACHE_DIR/locks"
	(
		flock 9
		export PKVM_SMC_LOCKS="${PKVM_SMC_LOCKS:-} $lock"
		"$@"
	) 9>"$CACHE_DIR/locks/$lock"
}

# copy_tree_once SRC DEST: DEST becomes a copy of SRC unless it already is
# one. The copy is made under another name and renamed once complete, with
# its stamp inside, so that an interrupted copy is never taken for a tree;
# a leftover of one is removed first, as cp -a into an existing directory
# would nest SRC inside it.
copy_tree_once() {
	local src=$1 dest=$2
	[ -f "$dest/.pkvm-smc-copied" ] && return
	step "copying $src to $dest"
	rm -rf "$dest" "$dest.partial"
	mkdir -p "$(dirname "$dest")"
	cp -a "$src" "$dest.partial"
	touch "$dest.partial/.pkvm-smc-copied"
	mv "$dest.partial" "$dest"
}

# cargo installs bindgen here; a fresh login shell may not have it on PATH.
case ":$PATH:" in
*":${CARGO_HOME:-$HOME/.cargo}/bin:"*) ;;
*) PATH=${CARGO_HOME:-$HOME/.cargo}/bin:$PATH ;;
esac
export PATH
