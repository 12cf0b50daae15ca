#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# boot.sh KERNEL HANDLER MODE: boot build/KERNEL-HANDLER in QEMU with pKVM
# in MODE, run the kselftest, stream its KTAP and save the console log.
#
# Prints "verdict: PASS|FAIL|SKIP" last. Exits 0 when the KTAP totals have
# fail:0 and error:0 (PASS or SKIP), 1 otherwise.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

KERNEL=${1:?usage: boot.sh KERNEL HANDLER MODE}
HANDLER=${2:?usage: boot.sh KERNEL HANDLER MODE}
MODE=${3:?usage: boot.sh KERNEL HANDLER MODE}
check_run "$KERNEL" "$HANDLER" "$MODE"
need_tool qemu-system-aarch64

out=$BUILD_ROOT/$KERNEL-$HANDLER
image=$out/arch/arm64/boot/Image
module=$out/smc-imm-module/rust/smc_imm_test.ko
busybox=$CACHE_DIR/busybox/bin/busybox
log=$out/$MODE.log
BOOT_TIMEOUT=${BOOT_TIMEOUT:-300}
# BENCH_REPS=N runs the benchmark module N times instead of the selftest,
# on one CPU with -icount so that the guest's counter counts instructions
# (scripts/bench.sh).
BENCH_REPS=${BENCH_REPS:-}
qemu_extra=(-smp 4)
cmdline_extra=
if [ -n "$BENCH_REPS" ]; then
	log=$out/$MODE-bench.log
	qemu_extra=(-smp 1 -icount shift=0)
	cmdline_extra="pkvm_smc_bench=$BENCH_REPS"
fi

[ -f "$image" ] || die "$image missing; run 'make build KERNEL=$KERNEL HANDLER=$HANDLER'"
[ -f "$module" ] || die "$module missing; run 'make build KERNEL=$KERNEL HANDLER=$HANDLER'"
[ -x "$busybox" ] || die "$busybox missing; run 'make deps'"

mode_cmdline() {
	case $MODE in
	hvhe) echo "kvm-arm.mode=protected" ;;
	nvhe) echo "kvm-arm.mode=protected arm64_sw.hvhe=0 id_aa64mmfr1.vh=0" ;;
	vhe) echo "" ;;
	esac
}

# gen_init_cpio from the kernel build makes /dev/console without root.
make_initramfs() {
	local spec=$out/initramfs.list
	local tree_helpers
	tree_helpers=$(readlink -f "$out/source")/tools/testing/selftests/kselftest/ktap_helpers.sh
	{
		echo "dir /dev 0755 0 0"
		echo "nod /dev/console 0600 0 0 c 5 1"
		for dir in /bin /proc /sys /kselftest /kselftest/kselftest /kselftest/pkvm_smc_imm; do
			echo "dir $dir 0755 0 0"
		done
		echo "file /bin/busybox $busybox 0755 0 0"
		echo "file /init $PROJECT_ROOT/scripts/guest-init.sh 0755 0 0"
		echo "file /kselftest/pkvm_smc_imm/smc_imm.sh $PROJECT_ROOT/selftests/smc_imm.sh 0755 0 0"
		echo "file /kselftest/pkvm_smc_imm/smc_imm_test.ko $module 0644 0 0"
		echo "file /kselftest/pkvm_smc_imm/smc_imm_bench.ko ${module%/*}/smc_imm_bench.ko 0644 0 0"
		if [ -f "$tree_helpers" ]; then
			echo "file /kselftest/kselftest/ktap_helpers.sh $tree_helpers 0644 0 0"
		fi
	} >"$spec"
	"$out/usr/gen_init_cpio" "$spec" >"$out/initramfs.cpio"
}

# Relays the selftest's output (between the guest's markers) as it comes.
relay_ktap() {
	tr -d '\r' | tee "$log" | awk '
		/^pkvm-smc-imm: selftest begin$/ { on = 1; next }
		/^pkvm-smc-imm: selftest exit=/ { on = 0 }
		on { print; fflush() }'
}

fail_with_log() {
	echo "--- last lines of $log ---" >&2
	tail -n 25 "$log" >&2
	echo "verdict: FAIL"
	die "$1"
}

make_initramfs
step "booting $KERNEL-$HANDLER in QEMU, MODE=$MODE (timeout ${BOOT_TIMEOUT}s)"
set +e
timeout "$BOOT_TIMEOUT" qemu-system-aarch64 \
	-M virt,virtualization=on,gic-version=3 -cpu max "${qemu_extra[@]}" -m 1G \
	-display none -monitor none -serial stdio -nic none -no-reboot \
	-kernel "$image" -initrd "$out/initramfs.cpio" \
	-append "console=ttyAMA0 panic=-1 $(mode_cmdline) $cmdline_extra" \
	</dev/null 2>&1 | relay_ktap
qemu_status=${PIPESTATUS[0]}
set -e

if grep -q -e 'Kernel panic' -e 'HYP panic' "$log"; then
	fail_with_log "the guest panicked"
fi
[ "$qemu_status" -ne 124 ] || fail_with_log "the guest hung: no power-off within ${BOOT_TIMEOUT}s"
# A mode whose command line did not take effect would pass or skip under
# the wrong name.
case $MODE in
hvhe) grep -q 'Protected hVHE mode initialized successfully' "$log" ||
	fail_with_log "pKVM did not initialise in hVHE mode" ;;
nvhe) grep -q 'Protected nVHE mode initialized successfully' "$log" ||
	fail_with_log "pKVM did not initialise in nVHE mode" ;;
vhe) if ! grep -q '] kvm \[[0-9]*\]: VHE mode initialized successfully' "$log"; then
	fail_with_log "KVM did not initialise in plain VHE mode"
fi ;;
esac
if [ -n "$BENCH_REPS" ]; then
	grep -q '^pkvm-smc-imm: bench end$' "$log" || fail_with_log "the benchmark did not finish"
	sed -n '/^pkvm-smc-imm: bench begin$/,/^pkvm-smc-imm: bench end$/p' "$log" | grep '^bench: '
	exit 0
fi
grep -q '^pkvm-smc-imm: selftest begin$' "$log" ||
	fail_with_log "the guest never started the selftest"
grep -qE '^1\.\.[0-9]+' "$log" || fail_with_log "the selftest printed no KTAP plan"
exit_line=$(grep -m1 '^pkvm-smc-imm: selftest exit=' "$log") ||
	fail_with_log "the selftest never finished (the VM powered off under it?)"
selftest_status=${exit_line##*=}
totals=$(grep -m1 '^# Totals:' "$log") || fail_with_log "the selftest printed no KTAP totals"

case $selftest_status in
0) verdict=PASS ;;
4) verdict=SKIP ;;
*) verdict=FAIL ;;
esac
if ! [[ $totals =~ fail:0\ .*error:0 ]]; then
	verdict=FAIL
fi
step "console log: $log"
echo "verdict: $verdict"
[ "$verdict" != FAIL ]
