#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# kvm-selftests-boot.sh [--mode hvhe|nvhe|vhe] [--cpu CPU] [--only T,...]
#                       [--list TSV] KERNEL BUILD_DIR OUT_DIR:
# boot BUILD_DIR/Image (a build/<variant> directory of the testbed, read
# only) with the KVM selftests of KERNEL (scripts/kvm-selftests.sh) in its
# initramfs, run them in the guest (scripts/guest-init.sh,
# pkvm_smc_run=kvm-selftests) and leave in OUT_DIR the console log
# (console.log) and its parse by scripts/ktap.py (ktap.json).
#
# The proof runs of the KVM selftests were made with it; scripts/boot.sh's
# kvm-selftests mode is meant to do the same. --only runs those tests of
# the list alone, --list another list (of the same columns).
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

usage="usage: kvm-selftests-boot.sh [--mode hvhe|nvhe|vhe] [--cpu CPU] [--only T,...] [--list TSV] KERNEL BUILD_DIR OUT_DIR"
MODE=hvhe
CPU=max
only=
list_arg=
while [ $# -gt 3 ]; do
	case $1 in
	--mode) MODE=${2:?$usage} ;;
	--cpu) CPU=${2:?$usage} ;;
	--only) only=${2:?$usage} ;;
	--list) list_arg=${2:?$usage} ;;
	*) die "$usage" ;;
	esac
	shift 2
done
KERNEL=${1:?$usage}
build=${2:?$usage}
out=${3:?$usage}
check_cpu "$CPU"
need_tool qemu-system-aarch64
[ -f "$build/Image" ] || die "$build/Image missing"
busybox=$CACHE_DIR/busybox/bin/busybox
[ -x "$busybox" ] || busybox=$HOME/.cache/pkvm-smc-imm/busybox/bin/busybox
[ -x "$busybox" ] || die "no busybox; run 'make deps'"
BOOT_TIMEOUT=${BOOT_TIMEOUT:-900}

kvm=$("$PROJECT_ROOT/scripts/kvm-selftests.sh" "$KERNEL")
mkdir -p "$out"
rm -f "$out/console.log" "$out/console.ts" "$out/ktap.json"

list=${list_arg:-$kvm/tests.tsv}
if [ -n "$only" ]; then
	list=$out/tests.tsv
	awk -F'\t' -v only=",$only," 'index(only, "," $1 ",")' "$kvm/tests.tsv" >"$list"
fi

case $MODE in
hvhe) mode_args="kvm-arm.mode=protected" ;;
nvhe) mode_args="kvm-arm.mode=protected arm64_sw.hvhe=0 id_aa64mmfr1.vh=0" ;;
vhe) mode_args="" ;;
*) die "$usage" ;;
esac

# Only the programs the list runs go into the initramfs (about 2.5 MB
# each).
spec=$out/initramfs.list
{
	for path in /dev /bin /sbin /usr /usr/bin /usr/sbin /proc /sys /tmp /kvm-selftests /kvm-selftests/bin; do
		echo "dir $path 0755 0 0"
	done
	echo "nod /dev/console 0600 0 0 c 5 1"
	echo "file /bin/busybox $busybox 0755 0 0"
	echo "file /init $PROJECT_ROOT/scripts/guest-init.sh 0755 0 0"
	echo "file /kvm-selftests/run.sh $kvm/run.sh 0755 0 0"
	echo "file /kvm-selftests/tests.tsv $list 0644 0 0"
	cut -f1 "$list" | grep -v -e '^#' -e '^test$' -e '^$' | while read -r name; do
		echo "file /kvm-selftests/bin/$name $kvm/bin/$name 0755 0 0"
	done
} >"$spec"
"$build/gen_init_cpio" "$spec" >"$out/initramfs.cpio"

step "booting $build/Image with the KVM selftests of $KERNEL, CPU=$CPU MODE=$MODE"
start=$(date +%s)
set +e
timeout "$BOOT_TIMEOUT" qemu-system-aarch64 -M virt,virtualization=on,gic-version=3 \
	-cpu "$CPU" -smp 2 -m 2G \
	-display none -monitor none -serial stdio -nic none -no-reboot \
	-kernel "$build/Image" -initrd "$out/initramfs.cpio" \
	-append "console=ttyAMA0 panic=-1 $mode_args pkvm_smc_run=kvm-selftests" \
	</dev/null 2>&1 |
	# console.ts: each line with the seconds since QEMU started.
	while IFS= read -r line; do
		line=${line%$'\r'}
		printf '%s\n' "$line"
		printf '%4d %s\n' $(($(date +%s) - start)) "$line" >>"$out/console.ts"
	done >"$out/console.log"
status=${PIPESTATUS[0]}
set -e
step "QEMU exited $status after $(($(date +%s) - start)) s"
src=$("$PROJECT_ROOT/scripts/kernel-source.sh" --quiet "$KERNEL")
python3 "$PROJECT_ROOT/scripts/ktap.py" "$src/tools/testing/kunit" "$out/console.log" >"$out/ktap.json"
grep -E '^(not )?ok [0-9]+ selftests: kvm: ' "$out/console.log" || true
