# SPDX-License-Identifier: GPL-2.0
# Helpers shared by the host scripts; sourced, never run.
# shellcheck shell=bash

PROJECT_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE_DIR=${PKVM_SMC_CACHE:-$HOME/.cache/pkvm-smc-imm}
BUILD_ROOT=$PROJECT_ROOT/build
# The top-level Makefile sets PKVM_SMC_START once per `make` invocation, so
# that every step of it is timed from the same start.
SCRIPT_START=${PKVM_SMC_START:-${SCRIPT_START:-$(date +%s)}}
# How every kernel is built: part of each build's cache key.
# shellcheck source=scripts/kbuild.sh
. "$PROJECT_ROOT/scripts/kbuild.sh"
export PROJECT_ROOT CACHE_DIR BUILD_ROOT LLVM_SUFFIX SCRIPT_START KERNEL_RUST_TOOLCHAIN

# The testbed's Python: the python3 on PATH, resolved once to its
# executable and exported to the scripts this one runs (make check's
# runner exports itself). A version manager's shim first on PATH (pyenv's)
# is a shell script that takes a tenth of a second a call, and make qemu
# calls Python 17 times. Only an absolute path is taken from the
# environment; without python3 (make deps installs it) the name stays.
if [[ ${PKVM_SMC_PYTHON:-} != /* ]] || [ ! -x "$PKVM_SMC_PYTHON" ]; then
	PKVM_SMC_PYTHON=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null) ||
		PKVM_SMC_PYTHON=python3
fi
export PKVM_SMC_PYTHON

# The testbed's Python package (scripts/testbed/): the QEMU command line
# and exception-log checks of each mode, the verdict, make check.
testbed() {
	PYTHONPATH=$PROJECT_ROOT/scripts "$PKVM_SMC_PYTHON" -m testbed "$@"
}

# run_guest CONSUMER SECONDS ARGS...: boots qemu-system-aarch64 ARGS, its
# console (the first serial port) and timeout's --verbose notes piped into
# the function CONSUMER, with nothing on the host's stdin, ended with
# SIGTERM after SECONDS (SIGKILL 10 s later if it ignores that). Sets
# qemu_status to timeout's status (255 if the boot was interrupted before
# one was recorded). Call it under set +e.
#
# A boot that is interrupted ends at once: ^C at the terminal, make check
# stopping its boots (scripts/testbed/boots.py signals the boot's process
# group) or a signal to this script alone (make passes SIGTERM to its
# children's PIDs). The pipeline runs in the background and this script
# waits for it, so that its traps run when the signal comes, not when
# QEMU is done; they tell timeout, which tells QEMU. These traps replace
# the caller's INT and TERM traps; end_if_interrupted, once the boot's
# files are put away, resets them and ends the script without a verdict.
interrupted=
guest_state=
run_guest() {
	local consumer=$1 seconds=$2 pid
	shift 2
	guest_state=$(mktemp -d) || die "mktemp failed"
	trap 'interrupted=INT; stop_guest' INT
	trap 'interrupted=TERM; stop_guest' TERM
	{
		echo "$BASHPID" >"$guest_state/shell"
		timeout --verbose --foreground --kill-after=10 "$seconds" qemu-system-aarch64 \
			-display none -monitor none -serial stdio -nic none -no-reboot \
			"$@" </dev/null 2>&1 &
		echo $! >"$guest_state/timeout"
		# A signal that came before timeout's PID was there.
		[ ! -e "$guest_state/stop" ] || kill -s TERM $!
		wait $!
		echo $? >"$guest_state/status"
	} | "$consumer" &
	pid=$!
	wait "$pid" || :
	# A trap that ran ended wait early, and the boot is still ending. It is
	# polled, not waited for again: bash's wait blocks in waitpid() for any
	# child, and once the pipeline is gone the only one left can be the
	# exception-log scanner (scripts/boot.sh), which ends only when this
	# script closes the FIFO after the boot.
	if [ -n "$interrupted" ]; then
		while guest_running "$pid"; do
			sleep 0.1
		done
	fi
	# shellcheck disable=SC2034 # the boot scripts' result
	qemu_status=$(cat "$guest_state/status" 2>/dev/null || echo 255)
	rm -rf "$guest_state"
	guest_state=
}

# stop_guest: run_guest's traps. Marks the boot as stopped, for a
# timeout not started yet, and tells a running one; not one already
# reaped (its status is there), whose PID may have been reused.
stop_guest() {
	local pid
	[ -n "$guest_state" ] || return 0
	: >"$guest_state/stop"
	[ ! -e "$guest_state/status" ] || return 0
	if pid=$(cat "$guest_state/timeout" 2>/dev/null); then
		kill -s TERM "$pid" 2>/dev/null || true
	fi
}

# guest_running PID: whether any of run_guest's pipeline is left: its
# consumer (PID), the subshell that runs timeout, and timeout itself
# (which waits for QEMU). A zombie is not left: whoever reaps orphans
# here may not.
guest_running() {
	local file
	running "$1" && return
	for file in shell timeout; do
		running "$(cat "$guest_state/$file" 2>/dev/null)" && return
	done
	return 1
}

# running PID: the process is there and not a zombie.
running() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	[ "${stat%% *}" != Z ]
}

# end_if_interrupted: after an interrupted boot, says so and dies of the
# signal it got, as its caller (make, a shell's loop) expects.
end_if_interrupted() {
	trap - INT TERM
	[ -n "$interrupted" ] || return 0
	printf 'error: %s: interrupted (SIG%s); no verdict\n' "${0##*/}" "$interrupted" >&2
	kill -s "$interrupted" $$
	# Not reached: INT and TERM were trapped, so neither was ignored.
	exit 1
}

die() {
	printf 'error: %s\n' "$*" >&2
	exit 1
}

# need_positive NAME VALUE: VALUE is a positive whole number, or NAME is
# refused by name.
need_positive() {
	[[ $2 =~ ^[1-9][0-9]*$ ]] || die "$1 must be a positive number, not '$2'"
}

# One line per step, so a long log still shows where the time went.
step() {
	printf '==> [%4ss] %s\n' "$(($(date +%s) - SCRIPT_START))" "$*" >&2
}

need_tool() {
	command -v "$1" >/dev/null 2>&1 ||
		die "'$1' not found; run 'make deps' to install it"
}

# The axes (KERNEL, HANDLER, PROFILE, CPU, MODE) are defined once, in
# scripts/testbed/axes.py; hyp/glue/KERNEL/variants names a tree's handlers.
# check_axes [--kernel K] [--handler H] [--profile P] [--cpu C] [--mode M]
# checks those given, together, and exits with the user's error unless
# they are valid.
check_axes() {
	testbed validate "$@" || exit 1
}

# A HANDLER comes from the command line: compared as a name, not a pattern.
check_handler() {
	check_axes --kernel "$1" --handler "$2"
}

# Debian's source package of a kernel version.
kernel_package() {
	testbed axis package "$1" || exit 1
}

# The handlers a tree can be built with, one per line.
handlers_of() {
	testbed axis handlers "$1" || exit 1
}

# The profiles scripts/matrix.tsv builds a kernel in, one per line, and the
# first of them: the object directory its style gate, mutants and series
# bisection work in, so that they build nothing the rows do not.
matrix_profiles() {
	testbed axis profiles "$1" || exit 1
}
work_profile() {
	local profiles
	profiles=$(matrix_profiles "$1")
	echo "${profiles%%$'\n'*}"
}

# resolve_profile KERNEL PROFILE: PROFILE, or for "default" (make's, which
# cannot ask the matrix before make deps) KERNEL's work profile, so that
# what make qemu builds by default is what make check tests.
resolve_profile() {
	if [ "$2" = default ]; then work_profile "$1"; else echo "$2"; fi
}

# build/KERNEL-HANDLER[-PROFILE]: what one build produced, for the boots,
# the audit and the reports. The minimal profile keeps the short name.
variant_name() {
	testbed axis variant "$1" "$2" "${3:-minimal}"
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

# hold_lock NAME: NAME's lock (with_lock's) held by this process until it
# exits, on its own file descriptor.
hold_lock() {
	mkdir -p "$CACHE_DIR/locks"
	exec 8>"$CACHE_DIR/locks/$1"
	flock 8
}

# clear_stale_git_locks REPO: REPO is a git repository that only this
# project's scripts write, and the caller holds the lock (with_lock,
# hold_lock) that makes it the only writer. A lock file of git's there
# (index.lock, HEAD.lock, a ref's) was left by a run that was killed, and
# would fail every git command after it ("Unable to create ...
# index.lock: File exists"): it is removed, and the removal said.
clear_stale_git_locks() {
	local repo=$1 locks=() lock
	[ -d "$repo/.git" ] || return 0
	while IFS= read -r lock; do
		locks+=("$lock")
	done < <(find "$repo/.git" -name '*.lock' -type f)
	[ ${#locks[@]} -gt 0 ] || return 0
	step "removing git's lock files that an interrupted run left in $repo: ${locks[*]#"$repo"/}"
	rm -f "${locks[@]}"
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
