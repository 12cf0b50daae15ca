#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# debian-boot.sh CPU MODE [KO [CMDLINE...]]: boot Debian's own arm64 kernel,
# as scripts/debian-image.sh downloaded it, in QEMU with pKVM in MODE (hvhe,
# or nvhe through arm64_sw.hvhe=0 id_aa64mmfr1.vh=0) on CPU (max,
# neoverse-n1), insmod the module built for it (KO, by default
# debian-image.sh's) and print its KTAP. CMDLINE is added to the kernel's
# command line (module.sig_enforce=1, say).
#
# SECURE_BOOT=1 boots through UEFI firmware (AAVMF) with Secure Boot on:
# Microsoft's and Debian's CAs in db, so that the firmware starts Debian's
# signed vmlinuz and the kernel locks down and enforces module signatures,
# and debian-image.sh's key (MOK_DER) in MokListRT, the variable shim
# fills from its MOK list at every boot for the kernel to read. There is
# no shim here, so the key is put there directly: what MOK enrolment
# through shim's MOK manager ends in, without it. Pass SIGNED_KO or KO.
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
# The machine, CPU model and size the testbed's rows boot with.
read -r qemu_machine qemu_cpu cpus memory _ < <(testbed machine "$CPU" "$MODE")
AAVMF=/usr/share/AAVMF
VIRT_FIRMWARE_VERSION=26.10
SHIM_LOCK_GUID=605dab50-e046-4300-abb6-3dd810dd8b23
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

# uefi_vars: a varstore as described above, made once per key, with
# virt-fw-vars (PyPI's virt-firmware, in a venv of the cache).
uefi_vars() {
	local venv=$STATE/venv key vars tmp
	[ -f "$AAVMF/AAVMF_VARS.ms.fd" ] || die "$AAVMF/AAVMF_VARS.ms.fd missing: apt-get install qemu-efi-aarch64 (make deps)"
	if ! "$venv/bin/virt-fw-vars" --help >/dev/null 2>&1; then
		step "installing virt-firmware $VIRT_FIRMWARE_VERSION into $venv"
		"$PKVM_SMC_PYTHON" -m venv "$venv"
		"$venv/bin/pip" install -q "virt-firmware==$VIRT_FIRMWARE_VERSION"
	fi
	key=$(cat "$MOK_DER" "$AAVMF/AAVMF_VARS.ms.fd" | sha256sum | cut -c1-16)
	vars=$STATE/uefi/vars-$key.fd
	if [ ! -f "$vars" ]; then
		tmp=$(mktemp -d)
		openssl x509 -inform DER -in "$MOK_DER" -out "$tmp/mok.pem"
		"$venv/bin/virt-fw-vars" -i "$AAVMF/AAVMF_VARS.ms.fd" -o "$tmp/vars.fd" \
			--distro-keys debian --add-mok "$SHIM_LOCK_GUID" "$tmp/mok.pem" --secure-boot \
			--output-json "$tmp/vars.json" 2>/dev/null
		"$PKVM_SMC_PYTHON" "$PROJECT_ROOT/scripts/uefi-moklist-rt.py" "$tmp/vars.json" "$tmp/rt.json"
		mkdir -p "$STATE/uefi"
		"$venv/bin/virt-fw-vars" -i "$tmp/vars.fd" -o "$vars.partial" --set-json "$tmp/rt.json" 2>/dev/null
		mv "$vars.partial" "$vars"
		rm -rf "$tmp"
	fi
	# The firmware writes to its varstore: boot a copy.
	cp "$vars" "$out/vars-$name.fd"
	firmware=(-drive "if=pflash,format=raw,readonly=on,file=$AAVMF/AAVMF_CODE.fd"
		-drive "if=pflash,format=raw,file=$out/vars-$name.fd")
}

# run_guest's consumer: the console, as text, into the log.
console_log() {
	tr -d '\r' >"$log"
}

firmware=()
[ -z "${SECURE_BOOT:-}" ] || uefi_vars
make_initramfs
step "booting Debian's $RELEASE, CPU=$CPU MODE=$MODE, ${KO#"$CACHE_DIR"/} ($log)"
start=$(date +%s)
set +e
run_guest console_log "${BOOT_TIMEOUT:-600}" \
	-M "$qemu_machine" -cpu "$qemu_cpu" -smp "$cpus" -m "$memory" "${firmware[@]}" \
	-kernel "$IMAGE" -initrd "$out/initramfs-$name.cpio" \
	-append "console=ttyAMA0 panic=-1 $mode_cmdline $*"
status=$qemu_status
set -e
# 64 MiB each, and made anew for every boot.
rm -f "$out/vars-$name.fd"
end_if_interrupted
seconds=$(($(date +%s) - start))
grep -m1 -E 'Protected [nh]VHE mode initialized successfully|Failed to finalize' "$log" || true
grep -E 'Kernel is locked down|secureboot: |Loaded X.509 cert .*(MokListRT|pkvm-smc-imm)|UEFI:MokListRT' "$log" || true
sed -n '/^debian-guest: \(insmod \|ktap begin\)/,/^debian-guest: ktap end$/p' "$log"
sed -n '/^debian-guest: ktap end$/,$p' "$log" | sed 1d | grep -v -e 'reboot: Power down' || true
step "QEMU exited $status after ${seconds}s"
if testbed hung "$status" "$log"; then
	die "the guest hung: no power-off within ${BOOT_TIMEOUT:-600}s ($log)"
fi
! grep -q -e 'Kernel panic' -e 'HYP panic' -e 'Internal error:' "$log" ||
	die "the guest panicked or oopsed ($log)"
ktap=$(sed -n '/^debian-guest: ktap begin$/,/^debian-guest: ktap end$/p' "$log")
grep -q '^# Totals: ' <<<"$ktap" || die "no complete KTAP in $log"
! grep -q '^not ok ' <<<"$ktap" || die "a case failed ($log)"
