#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Loads smc_imm_test.ko, which issues SMCs with non-zero immediates and
# checks that pKVM answers them with SMCCC_RET_NOT_SUPPORTED, and relays
# the module's KTAP as the subtest of one test. Exit: 0 pass, 1 fail,
# 4 skip (kselftest).
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

# The module's latest KTAP document from the kernel log, without the log's
# prefixes.
module_ktap() {
	dmesg | sed -n "s/^.*$MODULE: //p" |
		awk '/^KTAP version 1$/ { doc = "" } { doc = doc $0 "\n" } END { printf "%s", doc }'
}

ktap_print_header
ktap_set_plan 1

# The module checks for protected mode itself; KVM having initialised is
# what says pKVM's hypervisor is installed and traps the host's SMCs.
[ -e /sys/class/misc/kvm ] ||
	skip "KVM did not initialise: the host's SMCs may not trap to pKVM"

if [ -f "$DIR/$MODULE.ko" ]; then
	load="insmod $DIR/$MODULE.ko"
else
	load="modprobe $MODULE"
fi
load_output=$($load 2>&1)
load_status=$?

ktap=$(module_ktap)
if [ -z "$ktap" ]; then
	ktap_print_msg "$load: $load_output"
	ktap_test_fail "$MODULE (the module printed no KTAP)"
	finish
fi
printf '%s\n' "$ktap" | sed 's/^/  /'
[ "$load_status" -eq 0 ] && rmmod "$MODULE"

failed=$(printf '%s\n' "$ktap" | grep -c '^not ok ')
passed=$(printf '%s\n' "$ktap" | grep '^ok ' | grep -vc '# SKIP')
if [ "$failed" -gt 0 ] || [ "$load_status" -ne 0 ]; then
	ktap_test_fail "$MODULE"
elif [ "$passed" -eq 0 ]; then
	ktap_test_skip "$MODULE"
else
	ktap_test_pass "$MODULE"
fi
finish
