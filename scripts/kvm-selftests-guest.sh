#!/bin/busybox sh
# shellcheck shell=dash
# SPDX-License-Identifier: GPL-2.0
# kvm-selftests-guest.sh [DIR]: run, in the guest, the KVM selftests that
# scripts/kvm-selftests.sh put in DIR (default: this script's directory):
# every row of DIR/tests.tsv, DIR/bin/TEST under its timeout, in order.
#
# Prints what kselftest's run_kselftest.sh prints, so that the testbed's
# KTAP parser (scripts/ktap.py) reads it the same way: a TAP header, each
# test's own output prefixed with "# " (its own KTAP, parsed again as that
# test's subtests), and one result line per test, named
# "selftests: kvm: TEST". A test's exit status is kselftest's: 0 passed,
# 4 skipped, anything else failed; a test still running at its timeout is
# killed and fails ("# TIMEOUT"). Each result line says how long the test
# took. Exits 1 if any test failed, else 0.
dir=${1:-$(dirname "$0")}
list=$dir/tests.tsv
[ -r "$list" ] || {
	echo "Bail out! $list not found"
	exit 1
}

# The rows: test, timeout in seconds, then columns for the host.
rows=$(grep -v -e '^#' -e '^test	' -e '^$' "$list" | cut -f1,2)
total=$(echo "$rows" | grep -c .)

# Centiseconds since boot, without leading zeros (sh reads 08 as octal).
uptime_cs() {
	local up cs
	read -r up _ </proc/uptime
	cs=${up%.*}${up#*.}
	while [ "${cs#0}" != "$cs" ]; do
		cs=${cs#0}
	done
	echo "${cs:-0}"
}

echo "TAP version 13"
echo "1..$total"
n=0
failed=0
rc_file=/tmp/kvm-selftest.rc
echo "$rows" | while IFS='	' read -r name secs; do
	[ -n "$name" ] || continue
	n=$((n + 1))
	echo "# timeout set to $secs"
	echo "# selftests: kvm: $name"
	start=$(uptime_cs)
	{
		(cd "$dir/bin" && exec timeout -s KILL "$secs" "./$name") </dev/null
		echo $? >"$rc_file"
	} 2>&1 | sed 's/^/# /'
	rc=$(cat "$rc_file")
	end=$(uptime_cs)
	took=$(((end - start) / 100)).$(((end - start) % 100 / 10))
	case $rc in
	0) echo "ok $n selftests: kvm: $name # took ${took}s" ;;
	4) echo "ok $n selftests: kvm: $name # SKIP (took ${took}s)" ;;
	124 | 137)
		echo "not ok $n selftests: kvm: $name # TIMEOUT $secs seconds"
		failed=1
		;;
	*)
		echo "not ok $n selftests: kvm: $name # exit=$rc (took ${took}s)"
		failed=1
		;;
	esac
	# The loop runs in a subshell (the pipe): its status is the verdict.
	[ "$n" -lt "$total" ] || exit "$failed"
done
