#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Loads smc_imm_test.ko, which issues SMCs with non-zero immediates and
# checks that pKVM answers them with SMCCC_RET_NOT_SUPPORTED, and relays the
# KTAP of this load as the subtests of one test. Exit: 0 pass, 1 fail,
# 4 skip (kselftest).
#
#   smc_imm.sh [sweep=0] [destructive=0] [all_cpus=0] [power_states=1]
#
# Arguments are module parameters that leave cases out (or, power_states=1,
# add the one that suspends a CPU); smc_imm_test.<param>=<value> on the
# kernel command line count too, as modprobe would pass them. pkvm_confirmed=1 is
# this script's to give: it tells a kernel that cannot say whether pKVM
# initialised (one without kvm_pkvm_initialized(), as distributions and
# Android ship them) that it did, and is given only after the checks below.
# Without it such a kernel issues no SMC and skips every case.
#
# Runs under busybox sh as well as bash.

DIR=$(dirname "$0")
MODULE=smc_imm_test

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

# Why the host's SMCs might not trap to pKVM, or nothing. The
# ARM64_KVM_PROTECTED_MODE capability the module checks follows the command
# line; these say that pKVM really initialised and took the host's SMCs.
pkvm_doubt() {
	if [ ! -e /sys/class/misc/kvm ]; then
		echo "KVM did not initialise (no /sys/class/misc/kvm)"
	elif ! dmesg | grep -Eq 'Protected [nh]VHE mode initialized successfully'; then
		echo "the kernel log does not say 'Protected nVHE/hVHE mode initialized successfully'"
	elif dmesg | grep -q 'Failed to finalize Hyp protection'; then
		echo "pKVM did not finalise ('Failed to finalize Hyp protection')"
	fi
}

# The module's KTAP that the kernel logged after MARKER, without the log's
# prefixes (nor the loader's own lines for the module, such as the taint
# notice, which come first).
module_ktap_after() {
	dmesg | awk -v marker="$1" -v prefix="$MODULE: " '
		seen && (at = index($0, prefix)) {
			line = substr($0, at + length(prefix))
			if (line == "KTAP version 1")
				ktap = 1
			if (ktap)
				print line
		}
		index($0, marker) { seen = 1 }'
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
	sweep=* | destructive=* | all_cpus=* | power_states=*) ;;
	*) fail "unknown argument '$arg' (sweep=0, destructive=0, all_cpus=0, power_states=1)" ;;
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

doubt=$(pkvm_doubt)
if [ -z "$doubt" ]; then
	set -- "$@" pkvm_confirmed=1
else
	ktap_print_msg "pKVM not confirmed to the module: $doubt"
fi

# Only this load's KTAP: the log may hold earlier ones.
marker="smc_imm.sh: run $$ $(date +%s)"
echo "$marker" >/dev/kmsg 2>/dev/null || skip "cannot write /dev/kmsg to mark this run"

load_output=$("$@" 2>&1)
load_status=$?

ktap=$(module_ktap_after "$marker")
if [ -z "$ktap" ]; then
	fail "$*: $load_output (the module printed no KTAP)"
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
