#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Loads smc_imm_test.ko, which issues SMCs with non-zero immediates and
# checks that pKVM answers them with SMCCC_RET_NOT_SUPPORTED, and relays the
# KTAP of this load as the subtests of one test. Exit: 0 pass, 1 fail,
# 4 skip (kselftest).
#
#   smc_imm.sh [sweep=0] [all_cpus=0] [destructive=1]
#
# Arguments are module parameters that leave cases out (or, destructive=1,
# add the one only QEMU can afford); smc_imm_test.<param>=<value> on the
# kernel command line count too, as modprobe would pass them. Whether the
# host's SMCs trap to pKVM the module decides itself, from the kernel's
# state: nothing here can vouch for it.
#
# The load runs under a watch: a case whose smc never returns (a hypervisor
# that resumes the host at the smc instead of after it) fails by name after
# SMC_IMM_LOAD_TIMEOUT seconds (default 60) instead of hanging the run.
#
# Runs under busybox sh as well as bash.

DIR=$(dirname "$0")
MODULE=smc_imm_test
LOAD_TIMEOUT=${SMC_IMM_LOAD_TIMEOUT:-60}

if [ -f "$DIR/../kselftest/ktap_helpers.sh" ]; then
	# shellcheck source=/dev/null
	. "$DIR/../kselftest/ktap_helpers.sh"
else
	# The subset of the tree's ktap_helpers.sh used below.
	KTAP_TESTNO=1 KTAP_CNT_PASS=0 KTAP_CNT_FAIL=0 KTAP_CNT_SKIP=0
	KSFT_PASS=0 KSFT_FAIL=1 KSFT_SKIP=4
	ktap_print_header() { echo "TAP version 13"; }
	ktap_set_plan() { echo "1..$1"; }
	ktap_print_msg() { echo "# $*"; }
	__ktap_result() {
		echo "$1 $KTAP_TESTNO $2"
		KTAP_TESTNO=$((KTAP_TESTNO + 1))
	}
	ktap_test_pass() { __ktap_result ok "$1"; KTAP_CNT_PASS=$((KTAP_CNT_PASS + 1)); }
	ktap_test_fail() { __ktap_result "not ok" "$1"; KTAP_CNT_FAIL=$((KTAP_CNT_FAIL + 1)); }
	ktap_test_skip() { __ktap_result ok "$1 # SKIP"; KTAP_CNT_SKIP=$((KTAP_CNT_SKIP + 1)); }
	ktap_print_totals() {
		echo "# Totals: pass:$KTAP_CNT_PASS fail:$KTAP_CNT_FAIL xfail:0 xpass:0 skip:$KTAP_CNT_SKIP error:0"
	}
fi

# The kselftest exit code for what was printed: skip only when nothing ran.
finish() {
	ktap_print_totals
	if [ "$KTAP_CNT_FAIL" -gt 0 ]; then
		exit "$KSFT_FAIL"
	elif [ "$KTAP_CNT_PASS" -eq 0 ] && [ "$KTAP_CNT_SKIP" -gt 0 ]; then
		exit "$KSFT_SKIP"
	fi
	exit "$KSFT_PASS"
}

skip() {
	ktap_print_msg "$1"
	ktap_test_skip "$MODULE"
	finish
}

fail() {
	ktap_print_msg "$1"
	ktap_test_fail "$MODULE"
	finish
}

# The module's KTAP that the kernel logged after the line ANCHOR, without
# the log's prefixes (nor the loader's own lines for the module, such as
# the taint notice, which come first). The anchor reaches awk through its
# environment: -v would read backslashes in it as escapes.
module_ktap_after() {
	dmesg | SMC_IMM_ANCHOR=$1 awk -v prefix="$MODULE: " '
		seen && (at = index($0, prefix)) {
			line = substr($0, at + length(prefix))
			if (line == "KTAP version 1")
				ktap = 1
			if (ktap)
				print line
		}
		$0 == ENVIRON["SMC_IMM_ANCHOR"] { seen = 1 }'
}

# Prints a line of the kernel log that comes right before the load and
# nowhere else: one written to /dev/kmsg, where it shows up in the log
# (printk.devkmsg=off drops it), else the log's last line where the log
# has timestamps, which make it unique; nothing if neither.
mark_log() {
	marker="smc_imm.sh: run $$ $(date +%s)"
	echo "$marker" >/dev/kmsg 2>/dev/null
	anchor=$(dmesg | grep -F "$marker" | tail -n 1)
	if [ -z "$anchor" ]; then
		anchor=$(dmesg | tail -n 1)
		case $anchor in
		"["*"]"*) ;;
		*) anchor= ;;
		esac
	fi
	printf '%s\n' "$anchor"
}

# Runs "$@" (the load) and waits for it at most LOAD_TIMEOUT seconds;
# prints its output and exit status, or "timeout". A load that
# does not return is stuck in the kernel and cannot be killed: it is left.
load_with_watch() {
	out=$(mktemp)
	# Not on this function's stdout: a load that never returns would
	# keep the caller's command substitution waiting for it.
	("$@" >"$out" 2>&1; echo "exit=$?" >>"$out") </dev/null >/dev/null 2>&1 &
	waited=0
	while ! grep -q '^exit=' "$out"; do
		if [ "$waited" -ge "$LOAD_TIMEOUT" ]; then
			echo timeout
			return
		fi
		sleep 1
		waited=$((waited + 1))
	done
	cat "$out"
	rm -f "$out"
}

ktap_print_header
ktap_set_plan 1

# The module's parameters, as modprobe would pass them: from the kernel
# command line (smc_imm_test.sweep=0, ...) and from the arguments.
cmdline_args=$(tr ' ' '\n' </proc/cmdline | sed -n "s/^$MODULE\.//p")
# shellcheck disable=SC2086 # one parameter a word, as on the command line
set -- $cmdline_args "$@"
for arg in "$@"; do
	case $arg in
	sweep=* | destructive=* | all_cpus=*) ;;
	*) fail "unknown argument '$arg' (sweep=0, all_cpus=0, destructive=1)" ;;
	esac
done

[ "$(uname -m)" = aarch64 ] || skip "not arm64: pKVM is arm64's"
[ "$(id -u)" -eq 0 ] || skip "please run as root"

# From here on, "$@" is the command that loads the module.
if [ -f "$DIR/test_modules/$MODULE.ko" ]; then
	set -- insmod "$DIR/test_modules/$MODULE.ko" "$@"
elif [ -f "$DIR/$MODULE.ko" ]; then
	set -- insmod "$DIR/$MODULE.ko" "$@"
elif modprobe -q -n "$MODULE" 2>/dev/null; then
	set -- modprobe "$MODULE" "$@"
else
	skip "module $MODULE is not found"
fi

if grep -q "^$MODULE " /proc/modules; then
	rmmod "$MODULE" || fail "$MODULE is loaded and does not unload"
fi

[ -e /sys/class/misc/kvm ] ||
	ktap_print_msg "no /sys/class/misc/kvm: KVM did not initialise, the module will issue no SMC"

anchor=$(mark_log)
[ -n "$anchor" ] ||
	skip "cannot tell this load's output in the kernel log: /dev/kmsg refuses writes (printk.devkmsg=off) and the log has no timestamps (printk.time=0)"

load=$(load_with_watch "$@")
ktap=$(module_ktap_after "$anchor")
if [ "$load" = timeout ]; then
	printf '%s\n' "$ktap" | sed 's/^/  /'
	ktap_print_msg "the load has not returned after ${LOAD_TIMEOUT}s: the case after the last one reported is stuck in its smc (does the hypervisor resume the host at the smc rather than after it?)"
	ktap_test_fail "${MODULE}_load_returns"
	finish
fi
load_status=${load##*exit=}
load_output=${load%exit=*}
if [ -z "$ktap" ]; then
	# The module never ran: a signature, vermagic or symbol the kernel
	# refused. That is no verdict on pKVM.
	[ "$load_status" -eq 0 ] || skip "$MODULE did not load: $(printf '%s' "$load_output" | tr '\n' ' ')($*)"
	fail "$*: $load_output (the module loaded but printed no KTAP)"
fi
printf '%s\n' "$ktap" | sed 's/^/  /'
[ "$load_status" -eq 0 ] && rmmod "$MODULE"

failed=$(printf '%s\n' "$ktap" | grep -c '^not ok ')
passed=$(printf '%s\n' "$ktap" | grep '^ok ' | grep -vc '# SKIP')
if ! printf '%s\n' "$ktap" | grep -q '^# Totals: '; then
	ktap_test_fail "$MODULE (its KTAP ends early)"
elif [ "$failed" -gt 0 ] || [ "$load_status" -ne 0 ]; then
	ktap_test_fail "$MODULE"
elif [ "$passed" -eq 0 ]; then
	ktap_test_skip "$MODULE"
else
	ktap_test_pass "$MODULE"
fi
finish
