#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# boot.sh [--build NAME] KERNEL HANDLER PROFILE CPU MODE: boot
# build/KERNEL-HANDLER[-PROFILE] in QEMU on CPU with pKVM in MODE, run the
# installed kselftests there with run_kselftest.sh, stream their KTAP and
# save the console log as build/.../CPU-MODE.log.
#
# MODE is hvhe, nvhe (pKVM), vhe (plain KVM: the test skips), insmod or
# pkvm-fail. Both load the module with a plain insmod, as a user would by
# hand, without the selftest script and its word that pKVM initialised;
# insmod under a working pKVM, pkvm-fail with pKVM's finalisation failed
# by fault injection (kvm-arm.pkvm_fail_finalize, in the testbed's rust
# trees): protected mode requested, the capability set, the host's SMCs
# going straight to EL3. QEMU logs every exception, and no SMC with a
# non-zero immediate may show.
#
# Prints "verdict: PASS|FAIL|SKIP" last, from the KTAP as scripts/ktap.py
# parses it; exits 0 unless the verdict is FAIL (scripts/check.py judges
# each row of the matrix from the same parse).
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

usage="usage: boot.sh [--build NAME] KERNEL HANDLER PROFILE CPU MODE"
name=
if [ "${1:-}" = --build ]; then
	name=${2:?$usage}
	shift 2
fi
KERNEL=${1:?$usage}
HANDLER=${2:?$usage}
PROFILE=${3:?$usage}
CPU=${4:?$usage}
MODE=${5:?$usage}
kernel_package "$KERNEL" >/dev/null
check_handler "$KERNEL" "$HANDLER"
check_profile "$PROFILE"
check_cpu "$CPU"
check_mode "$MODE"
check_cpu_mode "$CPU" "$MODE"
need_tool qemu-system-aarch64

name=${name:-$(variant_name "$KERNEL" "$HANDLER" "$PROFILE")}
out=$BUILD_ROOT/$name
image=$out/Image
kselftest=$out/kselftest
busybox=$CACHE_DIR/busybox/bin/busybox
log=$out/$CPU-$MODE.log
BOOT_TIMEOUT=${BOOT_TIMEOUT:-300}
# BENCH_REPS=N runs the benchmark module N times instead of the selftest,
# on one CPU with -icount so that the guest's counter counts instructions
# (scripts/bench.sh).
BENCH_REPS=${BENCH_REPS:-}

[ -f "$image" ] || die "$image missing; run 'make build KERNEL=$KERNEL HANDLER=$HANDLER PROFILE=$PROFILE'"
[ -x "$kselftest/run_kselftest.sh" ] ||
	die "$kselftest has no run_kselftest.sh; run 'make build KERNEL=$KERNEL HANDLER=$HANDLER PROFILE=$PROFILE'"
[ -x "$busybox" ] || die "$busybox missing; run 'make deps'"

# What the guest's /init runs: the kselftests through the runner, the
# benchmark, or the module alone.
guest_cmdline() {
	local run=kselftest tests=pkvm_smc_imm:smc_imm.sh
	# The hardened profile has CPU hotplug: PSCI CPU_OFF and CPU_ON through
	# the relay, behind the handler under test.
	if grep -qx 'CONFIG_HOTPLUG_CPU=y' "$out/.config"; then
		tests="$tests,cpu-hotplug:cpu-on-off-test.sh"
	fi
	if [ -n "$BENCH_REPS" ]; then
		echo "pkvm_smc_bench=$BENCH_REPS"
		return
	fi
	case $MODE in
	insmod | pkvm-fail) run=insmod ;;
	esac
	# QEMU does not power a CPU down, so the call-hint case can run here;
	# the selftest passes smc_imm_test.* on to the module, as modprobe does.
	echo "pkvm_smc_run=$run pkvm_smc_tests=$tests smc_imm_test.power_states=1"
}

mode_cmdline() {
	case $MODE in
	hvhe) echo "kvm-arm.mode=protected" ;;
	# On a CPU without VHE, protected mode is classic nVHE by itself.
	nvhe) if cpu_has_vhe "$CPU"; then
		echo "kvm-arm.mode=protected arm64_sw.hvhe=0 id_aa64mmfr1.vh=0"
	else
		echo "kvm-arm.mode=protected"
	fi ;;
	vhe) echo "" ;;
	insmod) echo "kvm-arm.mode=protected" ;;
	pkvm-fail) echo "kvm-arm.mode=protected kvm-arm.pkvm_fail_finalize" ;;
	esac
}

# gen_init_cpio makes /dev/console without root. The kselftest install is
# /kselftest, as run_kselftest.sh expects to run from its own directory.
make_initramfs() {
	local spec=$out/initramfs.list path
	{
		for path in /dev /bin /sbin /usr /usr/bin /usr/sbin /proc /sys /tmp /kselftest; do
			echo "dir $path 0755 0 0"
		done
		echo "nod /dev/console 0600 0 0 c 5 1"
		echo "file /bin/busybox $busybox 0755 0 0"
		# cpu-on-off-test.sh asks for bash; busybox's ash runs it (busybox
		# has no bash applet to link to).
		printf '#!/bin/busybox sh\nexec /bin/busybox sh "$@"\n' >"$out/guest-bash"
		echo "file /bin/bash $out/guest-bash 0755 0 0"
		echo "file /init $PROJECT_ROOT/scripts/guest-init.sh 0755 0 0"
		(cd "$kselftest" && find . -mindepth 1 -type d -printf 'dir /kselftest/%P 0755 0 0\n')
		(cd "$kselftest" && find . -type f -printf "file /kselftest/%P $kselftest/%P %m 0 0\n")
	} >"$spec"
	"$out/gen_init_cpio" "$spec" >"$out/initramfs.cpio"
}

# The SMCs with a non-zero immediate in QEMU's exception log: the ESR it
# logs holds the immediate in bits [15:0].
nonzero_imm_smcs() {
	python3 - "$1" <<-'EOF'
		import re, sys
		text = open(sys.argv[1], errors="replace").read()
		smcs = re.findall(r"\[Secure Monitor Call\].*?\n.*?\n\.\.\.with ESR 0x[0-9a-f]+/0x([0-9a-f]+)", text)
		print(sum(1 for esr in smcs if int(esr, 16) & 0xffff))
	EOF
}

# Relays the guest's test output (between its markers) as it comes.
relay_ktap() {
	tr -d '\r' | tee "$log" | awk '
		/^pkvm-smc-imm: (selftest|insmod) begin$/ { on = 1; next }
		/^pkvm-smc-imm: (selftest|insmod) exit=/ { on = 0 }
		on { print; fflush() }'
}

fail_with_log() {
	echo "--- last lines of $log ---" >&2
	tail -n 25 "$log" >&2
	echo "verdict: FAIL"
	die "$1"
}

cpus=4
qemu_extra=()
if [ -n "$BENCH_REPS" ]; then
	log=$out/$CPU-$MODE-bench.log
	cpus=1
	qemu_extra=(-icount shift=0)
fi
machine=(-M "virt,virtualization=on,gic-version=3" -cpu "$CPU" -smp "$cpus" -m 1G)
qemu_int_log=$out/$CPU-$MODE.qemu-int.log
case $MODE in
insmod | pkvm-fail) qemu_extra+=(-d int -D "$qemu_int_log") ;;
esac
if [ "$MODE" = pkvm-fail ] && ! grep -q early_pkvm_fail_finalize "$out/System.map"; then
	die "$name has no kvm-arm.pkvm_fail_finalize (hyp/glue/$KERNEL/selftest-support.patch): use HANDLER=rust"
fi

make_initramfs
step "booting $name in QEMU, CPU=$CPU MODE=$MODE (timeout ${BOOT_TIMEOUT}s)"
set +e
timeout "$BOOT_TIMEOUT" qemu-system-aarch64 "${machine[@]}" "${qemu_extra[@]}" \
	-display none -monitor none -serial stdio -nic none -no-reboot \
	-kernel "$image" -initrd "$out/initramfs.cpio" \
	-append "console=ttyAMA0 panic=-1 $(mode_cmdline) $(guest_cmdline)" \
	</dev/null 2>&1 | relay_ktap
qemu_status=${PIPESTATUS[0]}
set -e

if grep -q -e 'Kernel panic' -e 'HYP panic' -e 'hyp panic' -e 'Internal error:' "$log"; then
	fail_with_log "the guest panicked or oopsed"
fi
[ "$qemu_status" -ne 124 ] || fail_with_log "the guest hung: no power-off within ${BOOT_TIMEOUT}s"
# A mode whose command line did not take effect would pass or skip under
# the wrong name.
case $MODE in
hvhe) grep -q 'Protected hVHE mode initialized successfully' "$log" ||
	fail_with_log "pKVM did not initialise in hVHE mode" ;;
nvhe) grep -q 'Protected nVHE mode initialized successfully' "$log" ||
	fail_with_log "pKVM did not initialise in nVHE mode" ;;
vhe) grep -q '] kvm \[[0-9]*\]: VHE mode initialized successfully' "$log" ||
	fail_with_log "KVM did not initialise in plain VHE mode" ;;
insmod) grep -q 'Protected hVHE mode initialized successfully' "$log" ||
	fail_with_log "pKVM did not initialise in hVHE mode" ;;
pkvm-fail) grep -q 'Failed to finalize Hyp protection' "$log" ||
	fail_with_log "pKVM's finalisation did not fail: no fault was injected" ;;
esac
if [ -n "$BENCH_REPS" ]; then
	grep -q '^pkvm-smc-imm: bench end$' "$log" || fail_with_log "the benchmark did not finish"
	sed -n '/^pkvm-smc-imm: bench begin$/,/^pkvm-smc-imm: bench end$/p' "$log" | grep '^bench: '
	exit 0
fi
exit_line=$(grep -m1 -E '^pkvm-smc-imm: (selftest|insmod) exit=' "$log") ||
	fail_with_log "the test never finished (the VM powered off under it?)"
case $MODE in
insmod | pkvm-fail)
	# The kernel's own SMCs all have immediate 0: any other is the module's.
	smcs=$(nonzero_imm_smcs "$qemu_int_log")
	[ "$smcs" -eq 0 ] || fail_with_log "the module issued $smcs SMC(s) with a non-zero immediate ($qemu_int_log)"
	step "QEMU saw no SMC with a non-zero immediate ($qemu_int_log)"
	;;
esac
# The verdict is the KTAP's, parsed by the tree's own KTAP parser: the
# runner's exit status says nothing of skips.
parsed=$(python3 "$PROJECT_ROOT/scripts/ktap.py" "$out/source/tools/testing/kunit" "$log") ||
	fail_with_log "the KTAP could not be parsed"
verdict=$(python3 -c 'import json, sys; print(json.load(sys.stdin)["verdict"])' <<<"$parsed")
step "console log: $log (guest exit status ${exit_line##*=})"
echo "verdict: $verdict"
[ "$verdict" != FAIL ]
