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

echo "pkvm-smc-imm: selftest begin"
sh /kselftest/pkvm_smc_imm/smc_imm.sh
echo "pkvm-smc-imm: selftest exit=$?"
poweroff -f
