#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# boot.sh [--build NAME] [--default-params] KERNEL HANDLER PROFILE CPU MODE:
# boot build/KERNEL-HANDLER[-PROFILE] in QEMU on CPU with pKVM in MODE, run
# the installed kselftests there with run_kselftest.sh, stream their KTAP
# and save the console log as build/.../CPU-MODE.log.
#
# MODE is hvhe, nvhe (pKVM), vhe (plain KVM: the test skips), insmod,
# pkvm-fail, kvm, kvm-vhe or bench (scripts/testbed/qemu_configs.py says
# how each boots). insmod and pkvm-fail load the module with a plain
# insmod, as a user would by hand, without the selftest script; insmod
# under a working pKVM,
# pkvm-fail with KVM's initialisation failed by fault injection before the
# hypervisor is installed (kvm-arm.pkvm_fail_init, in the testbed's rust
# trees): protected mode requested, the capability set, the host's SMCs
# going straight to EL3, where the module must issue none.
#
# The module runs with destructive=1, which only QEMU can afford, unless
# --default-params: then as a user's modprobe would load it. MODE=bench
# loads the benchmark module --bench-reps times (default 10) instead and
# prints one `bench:` line per load (scripts/bench.sh). --load-timeout N
# gives the selftest script's watch of the module's load N seconds instead
# of its 60 (SMC_IMM_LOAD_TIMEOUT), for a run that expects hangs.
#
# QEMU logs every exception into scripts/qemu_int_scan.py, which checks
# by name that no host SMC with a non-zero immediate was forwarded to EL3
# (smc-leak) or went past the hypervisor (smc-bypass), that none kept
# trapping at the same address (smc-stuck), and where no SMC may be
# issued, that none was.
#
# Prints "verdict: PASS|SKIP|FAIL|ERROR" last, and for a row of
# scripts/matrix.tsv its judgement (scripts/testbed/verdict.py, the one
# verdict make check uses too); exits 0 unless the verdict is FAIL or ERROR
# or the row's judgement found a problem.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

usage="usage: boot.sh [--build NAME] [--default-params] [--bench-reps N] [--load-timeout N] KERNEL HANDLER PROFILE CPU MODE"
name=
module_params=smc_imm_test.destructive=1
bench_reps=10
load_timeout=
while [ $# -gt 5 ]; do
	case $1 in
	--build)
		name=${2:?$usage}
		shift
		;;
	--bench-reps)
		bench_reps=${2:?$usage}
		need_positive --bench-reps "$bench_reps"
		shift
		;;
	--load-timeout)
		load_timeout=${2:?$usage}
		need_positive --load-timeout "$load_timeout"
		shift
		;;
	--default-params) module_params= ;;
	*) die "$usage" ;;
	esac
	shift
done
KERNEL=${1:?$usage}
HANDLER=${2:?$usage}
PROFILE=$(resolve_profile "$KERNEL" "${3:?$usage}")
CPU=${4:?$usage}
MODE=${5:?$usage}
check_axes --kernel "$KERNEL" --handler "$HANDLER" --profile "$PROFILE" --cpu "$CPU" --mode "$MODE"
need_tool qemu-system-aarch64

name=${name:-$(variant_name "$KERNEL" "$HANDLER" "$PROFILE")}
out=$BUILD_ROOT/$name
image=$out/Image
kselftest=$out/kselftest
busybox=$CACHE_DIR/busybox/bin/busybox
log=$out/$CPU-$MODE.log
# Each row's own initramfs: make check boots a variant's rows side by side.
initramfs=$out/$CPU-$MODE.initramfs
# A verdict is this boot's or none: never an earlier boot's.
rm -f "$out/$CPU-$MODE.verdict.json"
read -r qemu_machine qemu_cpu cpus memory default_timeout qemu_args < <(testbed machine "$CPU" "$MODE")
BOOT_TIMEOUT=${BOOT_TIMEOUT:-$default_timeout}
read -r -a qemu_extra <<<"$qemu_args"

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
	case $MODE in
	insmod | pkvm-fail) run=insmod ;;
	kvm | kvm-vhe)
		echo "pkvm_smc_run=kvm-selftests"
		return
		;;
	bench)
		echo "pkvm_smc_bench=$bench_reps"
		return
		;;
	esac
	# The selftest passes smc_imm_test.* on to the module, as modprobe does.
	echo "pkvm_smc_run=$run pkvm_smc_tests=$tests${load_timeout:+ pkvm_smc_load_timeout=$load_timeout} $module_params"
}

# gen_init_cpio makes /dev/console without root. The kselftest install is
# /kselftest, as run_kselftest.sh expects to run from its own directory.
make_initramfs() {
	local spec=$initramfs.list path
	{
		for path in /dev /bin /sbin /usr /usr/bin /usr/sbin /proc /sys /tmp /kselftest; do
			echo "dir $path 0755 0 0"
		done
		echo "nod /dev/console 0600 0 0 c 5 1"
		echo "file /bin/busybox $busybox 0755 0 0"
		# cpu-on-off-test.sh asks for bash; busybox's ash runs it (busybox
		# has no bash applet to link to).
		printf '#!/bin/busybox sh\nexec /bin/busybox sh "$@"\n' >"$initramfs.bash"
		echo "file /bin/bash $initramfs.bash 0755 0 0"
		echo "file /init $PROJECT_ROOT/scripts/guest-init.sh 0755 0 0"
		(cd "$kselftest" && find . -mindepth 1 -type d -printf 'dir /kselftest/%P 0755 0 0\n')
		(cd "$kselftest" && find . -type f -printf "file /kselftest/%P $kselftest/%P %m 0 0\n")
		[ -z "$kvm" ] || kvm_selftests_files
	} >"$spec"
	"$out/gen_init_cpio" "$spec" >"$initramfs.cpio"
}

# The KVM selftests (scripts/kvm-selftests.sh) as /kvm-selftests: the
# runner, the list and only the programs it names (all of them would be
# tens of megabytes to unpack).
kvm_selftests_files() {
	local name
	echo "dir /kvm-selftests 0755 0 0"
	echo "dir /kvm-selftests/bin 0755 0 0"
	echo "file /kvm-selftests/run.sh $kvm/run.sh 0755 0 0"
	echo "file /kvm-selftests/tests.tsv $kvm/tests.tsv 0644 0 0"
	awk -F'\t' '!/^#/ && $1 != "test" && NF { print $1 }' "$kvm/tests.tsv" |
		while read -r name; do
			echo "file /kvm-selftests/bin/$name $kvm/bin/$name 0755 0 0"
		done
}

# Relays the guest's test output (between its markers) as it comes.
relay_ktap() {
	tr -d '\r' | tee "$log" | awk '
		/^pkvm-smc-imm: (selftest|insmod|bench) begin$/ { on = 1; next }
		/^pkvm-smc-imm: ((selftest|insmod) exit=|bench end$)/ { on = 0 }
		on { print; fflush() }'
}

machine=(-M "$qemu_machine" -cpu "$qemu_cpu" -smp "$cpus" -m "$memory")
kvm=
case $MODE in
kvm | kvm-vhe) kvm=$("$PROJECT_ROOT/scripts/kvm-selftests.sh" "$KERNEL") ;;
esac
if [ "$MODE" = pkvm-fail ] && ! grep -q early_pkvm_fail_init "$out/System.map"; then
	die "$name has no kvm-arm.pkvm_fail_init (hyp/glue/$KERNEL/selftest-support.patch): use HANDLER=rust"
fi
# The exception log goes through a FIFO into the scanner, which keeps only
# its tail: a handler that never advances the host's ELR logs millions of
# exceptions.
scan=$out/$CPU-$MODE.qemu-int
scan_pid=
scan_status=0
scan_args=$(testbed scan-args "$MODE")
if [ -n "$scan_args" ]; then
	rm -f "$scan.fifo"
	mkfifo "$scan.fifo"
	# The scanner reads the FIFO from its standard input, opened here before
	# it starts, and this script holds a writer until QEMU is gone: the
	# scanner sees the end of the log once both are closed, whenever QEMU
	# opened it, if at all. (Opening the reading end alone would wait for a
	# writer; the read-write open that lets it through is closed at once,
	# so that no reader but the scanner is left: were it to die, QEMU's
	# writes would fail instead of filling the FIFO and hanging the boot.)
	# shellcheck disable=SC2094 # both ends of one FIFO, on purpose
	exec 7<>"$scan.fifo" 9<"$scan.fifo" 8>"$scan.fifo"
	exec 7<&-
	# shellcheck disable=SC2086 # scan-args prints a list of options
	"$PKVM_SMC_PYTHON" "$PROJECT_ROOT/scripts/qemu_int_scan.py" $scan_args \
		--tail-out "$scan.tail" --json-out "$scan.json" - \
		<&9 9<&- >"$scan.txt" 2>&1 8>&- &
	scan_pid=$!
	exec 9<&-
	qemu_extra+=(-d int -D "$scan.fifo")
fi

make_initramfs
step "booting $name in QEMU, CPU=$CPU MODE=$MODE (timeout ${BOOT_TIMEOUT}s)"
cmdline="console=ttyAMA0 panic=-1 $(testbed cmdline "$CPU" "$MODE") $(guest_cmdline)"
set +e
# No program of the boot holds the FIFO's writing end (see above): only
# run_guest's bash subshells keep bash's saved copy, and end before it
# returns.
run_guest relay_ktap "$BOOT_TIMEOUT" "${machine[@]}" "${qemu_extra[@]}" \
	-kernel "$image" -initrd "$initramfs.cpio" -append "$cmdline" 8>&-
# The archive is tens of megabytes with the KVM selftests; its list stays.
rm -f "$initramfs.cpio" "$initramfs.bash"
if [ -n "$scan_pid" ]; then
	exec 8>&-
	wait "$scan_pid"
	scan_status=$?
	rm -f "$scan.fifo"
fi
set -e
end_if_interrupted

[ -z "$scan_pid" ] || grep -v '^error: ' "$scan.txt" | sed 's/^/    /' >&2 || true
step "console log: $log"
# The one verdict (scripts/testbed/verdict.py), kept beside the log as
# CPU-MODE.verdict.json: what make check, the mutants and the series read.
testbed verdict --build "$name" --qemu-status "$qemu_status" \
	--scan-status "$([ -n "$scan_pid" ] && echo "$scan_status" || echo none)" --timeout "$BOOT_TIMEOUT" \
	"$KERNEL" "$HANDLER" "$PROFILE" "$CPU" "$MODE"
