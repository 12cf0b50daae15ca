#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# debian-boot.sh CPU MODE [KO [CMDLINE...]]: boot Debian's own arm64 kernel,
# as scripts/debian-image.sh downloaded it, in QEMU with pKVM in MODE (hvhe,
# or nvhe through arm64_sw.hvhe=0 id_aa64mmfr1.vh=0) on CPU (max,
# neoverse-n1), insmod the module built for it (KO, by default
# debian-image.sh's) and print its KTAP. CMDLINE is added to the kernel's
# command line (module.sig_enforce=1, say).
#
# Exit 0 when the KTAP has no failed case and ends with its totals, 1
# otherwise. The console log is CACHE/debian/boot/CPU-MODE[-TAG].log, TAG
# from BOOT_TAG.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

usage="usage: debian-boot.sh max|neoverse-n1 hvhe|nvhe [KO [CMDLINE...]]"
CPU=${1:?$usage}
MODE=${2:?$usage}
shift 2
STATE=$CACHE_DIR/debian
[ -f "$STATE/paths" ] || die "$STATE/paths missing: run scripts/debian-image.sh first"
# shellcheck source=/dev/null
. "$STATE/paths"
KO=${1:-$KO}
[ $# -gt 0 ] && shift
case $CPU in
max | neoverse-n1) ;;
*) die "CPU=$CPU: use max or neoverse-n1 (pKVM's hVHE needs VHE)" ;;
esac
case $MODE in
hvhe) mode_cmdline="kvm-arm.mode=protected" ;;
nvhe) mode_cmdline="kvm-arm.mode=protected arm64_sw.hvhe=0 id_aa64mmfr1.vh=0" ;;
*) die "MODE=$MODE: use hvhe or nvhe" ;;
esac
need_tool qemu-system-aarch64
BUSYBOX=$CACHE_DIR/busybox/bin/busybox
[ -x "$BUSYBOX" ] || die "$BUSYBOX missing; run 'make deps'"
[ -f "$KO" ] || die "$KO missing; run scripts/debian-image.sh"
name=$CPU-$MODE${BOOT_TAG:+-$BOOT_TAG}
out=$STATE/boot
log=$out/$name.log
mkdir -p "$out"

# The initramfs: busybox, the private /init, the module and, beside it, the
# selftest script that can load it (debian_guest.selftest). cpio as root, so
# that /dev/console is a real node before devtmpfs is mounted.
make_initramfs() {
	local dir=$out/initramfs-$name
	rm -rf "$dir"
	mkdir -p "$dir"/{bin,dev,proc,sys,sbin,usr/bin,usr/sbin,tmp}
	cp "$BUSYBOX" "$dir/bin/busybox"
	cp "$PROJECT_ROOT/scripts/debian-guest-init.sh" "$dir/init"
	cp "$KO" "$dir/smc_imm_test.ko"
	cp "$PROJECT_ROOT/selftests/smc_imm.sh" "$dir/smc_imm.sh"
	chmod 0755 "$dir/init" "$dir/bin/busybox" "$dir/smc_imm.sh"
	mknod -m 600 "$dir/dev/console" c 5 1
	(cd "$dir" && find . | cpio -o -H newc --owner 0:0 --quiet) >"$out/initramfs-$name.cpio"
	rm -rf "$dir"
}

make_initramfs
step "booting Debian's $RELEASE, CPU=$CPU MODE=$MODE, ${KO#"$CACHE_DIR"/} ($log)"
start=$(date +%s)
set +e
timeout "${BOOT_TIMEOUT:-600}" qemu-system-aarch64 \
	-M virt,virtualization=on,gic-version=3 -cpu "$CPU" -smp 2 -m 1G \
	-display none -monitor none -serial stdio -nic none -no-reboot \
	-kernel "$IMAGE" -initrd "$out/initramfs-$name.cpio" \
	-append "console=ttyAMA0 panic=-1 $mode_cmdline $*" </dev/null 2>&1 |
	tr -d '\r' >"$log"
status=${PIPESTATUS[0]}
set -e
seconds=$(($(date +%s) - start))
grep -m1 -E 'Protected [nh]VHE mode initialized successfully|Failed to finalize' "$log" || true
sed -n '/^debian-guest: \(insmod \|ktap begin\)/,/^debian-guest: ktap end$/p' "$log"
sed -n '/^debian-guest: ktap end$/,$p' "$log" | sed 1d | grep -v -e 'reboot: Power down' || true
step "QEMU exited $status after ${seconds}s"
[ "$status" -ne 124 ] || die "the guest hung: no power-off within ${BOOT_TIMEOUT:-600}s ($log)"
! grep -q -e 'Kernel panic' -e 'HYP panic' -e 'Internal error:' "$log" ||
	die "the guest panicked or oopsed ($log)"
ktap=$(sed -n '/^debian-guest: ktap begin$/,/^debian-guest: ktap end$/p' "$log")
grep -q '^# Totals: ' <<<"$ktap" || die "no complete KTAP in $log"
! grep -q '^not ok ' <<<"$ktap" || die "a case failed ($log)"
