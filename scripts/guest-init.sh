#!/bin/busybox sh
# shellcheck shell=dash
# SPDX-License-Identifier: GPL-2.0
# /init of the testbed's initramfs: run the kselftest between two markers
# that scripts/boot.sh looks for on the console, then power off.
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev

# The selftest relays the module's KTAP itself; keep the kernel's copy of
# it off the console, where it would interleave. Panics still print.
dmesg -n 1

# scripts/bench.sh boots with pkvm_smc_bench=N: N loads of the benchmark
# module, each one measurement, instead of the selftest.
bench_reps=$(sed -n 's/.*pkvm_smc_bench=\([0-9]*\).*/\1/p' /proc/cmdline)
if [ -n "$bench_reps" ]; then
	echo "pkvm-smc-imm: bench begin"
	i=0
	while [ "$i" -lt "$bench_reps" ]; do
		insmod /kselftest/pkvm_smc_imm/smc_imm_bench.ko && rmmod smc_imm_bench
		i=$((i + 1))
	done
	dmesg | sed -n 's/^.*smc_imm_bench: //p'
	echo "pkvm-smc-imm: bench end"
	poweroff -f
fi

echo "pkvm-smc-imm: selftest begin"
sh /kselftest/pkvm_smc_imm/smc_imm.sh
echo "pkvm-smc-imm: selftest exit=$?"
poweroff -f
