#!/bin/busybox sh
# shellcheck shell=dash
# SPDX-License-Identifier: GPL-2.0
# /init of the testbed's initramfs: run what the kernel command line asks
# for between two markers that scripts/boot.sh looks for on the console,
# then power off.
#
#   pkvm_smc_run=kselftest pkvm_smc_tests=COLLECTION:TEST,...
#       the installed kselftests (/kselftest), through run_kselftest.sh;
#       pkvm_smc_load_timeout=N is the selftest script's
#       SMC_IMM_LOAD_TIMEOUT
#   pkvm_smc_run=insmod
#       smc_imm_test.ko with a plain insmod, as a user loading it by hand
#   pkvm_smc_run=kvm-selftests
#       the kernel's KVM selftests and smc_imm_guest (/kvm-selftests,
#       scripts/kvm-selftests.sh), through scripts/kvm-selftests-guest.sh
#   pkvm_smc_bench=N
#       N loads of the benchmark module, each one measurement
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
# What udev would add: kselftest's runner writes to /dev/stdout, which
# devtmpfs alone would leave a regular file.
ln -sf /proc/self/fd /dev/fd
ln -sf /proc/self/fd/0 /dev/stdin
ln -sf /proc/self/fd/1 /dev/stdout
ln -sf /proc/self/fd/2 /dev/stderr
# kselftest's runner runs each test under /usr/bin/timeout --foreground,
# with the target's settings; busybox's timeout takes no --foreground
# (which only matters for an interactive terminal), so drop it there.
rm -f /usr/bin/timeout
# shellcheck disable=SC2016 # expanded by the wrapper, not here
printf '#!/bin/busybox sh\n[ "$1" = --foreground ] && shift\nexec /bin/busybox timeout "$@"\n' \
	>/usr/bin/timeout
chmod 755 /usr/bin/timeout

# The tests relay the module's KTAP themselves; keep the kernel's copy of
# it off the console, where it would interleave. Panics still print.
dmesg -n 1

cmdline_value() {
	sed -n "s/.*$1=\([^ ]*\).*/\1/p" /proc/cmdline
}

# The module's KTAP from the kernel log, and the kselftest exit status it
# amounts to: 1 if a case failed, 4 if every case was skipped.
module_ktap_status() {
	dmesg | sed -n 's/^.*smc_imm_test: //p' | awk '
		{ print }
		/^not ok / { failed = 1 }
		/^ok / && !/# SKIP/ { passed = 1 }
		END { exit failed ? 1 : (passed ? 0 : 4) }'
}

bench_reps=$(cmdline_value pkvm_smc_bench)
if [ -n "$bench_reps" ]; then
	echo "pkvm-smc-imm: bench begin"
	i=0
	while [ "$i" -lt "$bench_reps" ]; do
		insmod /kselftest/pkvm_smc_imm/test_modules/smc_imm_bench.ko &&
			rmmod smc_imm_bench
		i=$((i + 1))
	done
	dmesg | sed -n 's/^.*smc_imm_bench: //p'
	echo "pkvm-smc-imm: bench end"
	poweroff -f
fi

case $(cmdline_value pkvm_smc_run) in
insmod)
	echo "pkvm-smc-imm: insmod begin"
	insmod /kselftest/pkvm_smc_imm/test_modules/smc_imm_test.ko
	echo "# insmod exit=$?"
	module_ktap_status
	echo "pkvm-smc-imm: insmod exit=$?"
	;;
kvm-selftests)
	# Parsed as the kselftest runner's output is.
	echo "pkvm-smc-imm: selftest begin"
	/kvm-selftests/run.sh /kvm-selftests
	echo "pkvm-smc-imm: selftest exit=$?"
	;;
*)
	tests=$(cmdline_value pkvm_smc_tests | sed 's/,/ -t /g')
	load_timeout=$(cmdline_value pkvm_smc_load_timeout)
	[ -z "$load_timeout" ] || export SMC_IMM_LOAD_TIMEOUT="$load_timeout"
	echo "pkvm-smc-imm: selftest begin"
	# shellcheck disable=SC2086 # one -t per test
	/kselftest/run_kselftest.sh -t $tests
	echo "pkvm-smc-imm: selftest exit=$?"
	;;
esac
# What went through pKVM's FF-A proxy: the FF-A driver's probe (the
# hardened profile has the driver; it needs SMCCC 1.2 firmware, which
# QEMU's is not, and then says nothing), and the module's FFA_FEATURES,
# which the proxy answers. scripts/testbed/verdict.py compares it with the stock
# kernel's row.
echo "pkvm-smc-imm: ffa begin"
dmesg | sed -n 's/^\[[^]]*\] \(ARM FF-A: .*\)/\1/p; s/^.*smc_imm_test: # \(FFA_.*\)/\1/p'
echo "pkvm-smc-imm: ffa end"
poweroff -f
