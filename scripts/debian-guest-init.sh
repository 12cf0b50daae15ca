#!/bin/busybox sh
# shellcheck shell=dash
# SPDX-License-Identifier: GPL-2.0
# /init of scripts/debian-boot.sh's initramfs, under Debian's own kernel:
# load /smc_imm_test.ko with insmod, as a user would by hand, print its
# KTAP from the kernel log between two markers, power off. With
# debian_guest.selftest on the command line, run selftests/smc_imm.sh
# (/smc_imm.sh) instead, which loads the module itself and prints the KTAP.
#
# Whether the host's SMCs trap to pKVM the module decides itself (Debian's
# kernel has no kvm_pkvm_initialized(): it checks KVM's device); nothing
# here vouches for it.
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
# The module's KTAP is read back from the log below; keep it off the
# console, where it would interleave with it.
dmesg -n 1

echo "debian-guest: kernel $(uname -r): $(cat /proc/cmdline)"
dmesg | grep -E 'Protected [nh]VHE mode initialized successfully|Failed to finalize Hyp protection'
# smc_imm_test.<param>=<value> on the kernel command line, as modprobe
# would pass them (insmod does not).
args=$(tr ' ' '\n' </proc/cmdline | sed -n 's/^smc_imm_test\.//p' | tr '\n' ' ')
if grep -qw debian_guest.selftest /proc/cmdline; then
	echo "debian-guest: ktap begin"
	/smc_imm.sh
	echo "debian-guest: smc_imm.sh exit=$?"
	echo "debian-guest: ktap end"
	poweroff -f
fi
echo "debian-guest: insmod /smc_imm_test.ko $args"
# shellcheck disable=SC2086 # one parameter a word
insmod /smc_imm_test.ko $args
echo "debian-guest: insmod exit=$?"
echo "debian-guest: ktap begin"
dmesg | sed -n 's/^.*smc_imm_test: //p'
echo "debian-guest: ktap end"
dmesg | grep -iE 'taint|module verification|signature|Lockdown' || true
poweroff -f
