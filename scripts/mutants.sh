#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# mutants.sh [KERNEL]: mutation testing of the whole chain. Each patch in
# hyp/mutants/ is one deliberate defect of the Rust handler; every one must
# be killed:
# - by the host tests: `cargo test` of hyp/ with the mutant applied fails
#   (mutants of host_smc.rs, the EL2 glue that only runs at EL2, are out of
#   their reach, and say so);
# - by the kselftest: the rust kernel of KERNEL (default 7.3) rebuilt with
#   the mutant (an incremental hyp rebuild) and booted in QEMU (hVHE), the
#   module with its default parameters, as a device owner would load it,
#   gives anything but PASS. The killers are named: the module's cases that
#   failed, the selftest script's watch of a load that does not return,
#   the checks of QEMU's exception log (scripts/qemu_int_scan.py). A
#   mutant that only a hang or a dead VM gives away is not killed.
# Then each patch in kvm-mutants/, one deliberate defect of C that the
# series tests (host KVM's handle_smc(), a guest's smc #imm; the hyp's
# host HVC check), must be killed by name: by selftests/kvm/smc_imm_guest
# booted with the KVM selftests (MODE=kvm), or by the kselftest where the
# patch says `Boot: hvhe`. A patch that names its `Kernels:` is skipped on
# the others.
# Writes build/mutants.json and prints `mutants: N killed, M survived`.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

KERNEL=${1:-7.3}
check_axes --kernel "$KERNEL"
# The object directory the mutants are built in: the first profile the
# matrix builds KERNEL in.
PROFILE=$(work_profile "$KERNEL")
need_tool cargo
results=$BUILD_ROOT/mutants.json
work=$(mktemp -d)
trap 'stop_checks; rm -rf "$work"' EXIT
# A mutant that takes a CPU or the machine down must not cost the default
# five minutes; a boot and the kselftest take seconds. A load that does
# not return (mutant 03) is given up after LOAD_TIMEOUT seconds instead of
# the selftest script's 60: a load that returns takes about a second, and
# the build beside it (below) runs at a lower priority.
export BOOT_TIMEOUT=${BOOT_TIMEOUT:-150}
LOAD_TIMEOUT=20

mutant_files() {
	sed -n 's|^+++ b/\([^[:space:]]*\).*|\1|p' "$1"
}

# host_verdict LABEL PATCH: "killed: TEST..." when cargo test fails with
# the mutant, "survived" when it passes, "n/a" when the mutant is outside
# the host-tested policy. Like every file of a mutant's checks, its crate
# and log are named by LABEL.
host_verdict() {
	local label=$1 patch=$2
	local crate=$work/$label.hyp log=$work/$label.cargo.log
	if ! mutant_files "$patch" | grep -qx host_smc_policy.rs; then
		echo "n/a (EL2 glue, not host-testable)"
		return
	fi
	rm -rf "$crate"
	cp -r "$PROJECT_ROOT/hyp" "$crate"
	rm -rf "$crate/target"
	patch -d "$crate" -p1 -s <"$patch"
	if CARGO_TARGET_DIR=$CACHE_DIR/cargo-target-mutants \
		cargo test --release --manifest-path "$crate/Cargo.toml" >"$log" 2>&1; then
		echo "survived"
	else
		echo "killed: $(sed -n 's/^test \(.*\) \.\.\. FAILED$/\1/p' "$log" | sort -u | paste -sd, -)"
	fi
}

# build_mutant PATCH [kvm]: the kernel with the mutant, into
# build/NAME/; sets built_name to NAME and built_mode to the mode its boot
# runs in. A mutant of the hyp is booted with the kselftest (hVHE); one of
# host KVM (kvm-mutants/) with the KVM selftests (MODE=kvm), where
# smc_imm_guest must name it.
build_mutant() {
	local patch=$1 kind=${2:-hyp} name option=--mutant mode=hvhe
	name=mutant-${patch##*/}
	name=${name%.patch}
	if [ "$kind" = kvm ]; then
		name=kvm-$name option=--kvm-mutant
		mode=$(sed -n 's/^Boot: *//p' "$patch")
		mode=${mode:-kvm}
	fi
	# Niced: the boot of the mutant before runs beside it, and its load
	# is watched against the clock.
	if ! nice -n 10 "$PROJECT_ROOT/scripts/build-kernel.sh" "$option" "$patch" --into "$name" \
		"$KERNEL" rust "$PROFILE" >"$work/build.log" 2>&1; then
		tail -n 20 "$work/build.log" >&2
		finish_all_checks
		die "the kernel with mutant ${patch##*/} did not build: a mutant must compile"
	fi
	built_name=$name built_mode=$mode
}

# guest_verdict LABEL NAME MODE: the boot's verdict and the failed cases,
# by name, from boot.sh's verdict record.
guest_verdict() {
	local label=$1 name=$2 mode=$3
	"$PROJECT_ROOT/scripts/boot.sh" --build "$name" --default-params --load-timeout "$LOAD_TIMEOUT" \
		"$KERNEL" rust "$PROFILE" max "$mode" \
		>"$work/$label.boot.log" 2>&1 || true
	testbed killers "$BUILD_ROOT/$name/max-$mode.verdict.json"
}

# A mutant's host tests and boot run while the next mutant builds: the
# build is mostly serial (a few hyp objects, vmlinux's link, the
# kselftest's make) and so is much of a boot, and together they keep the
# two cores busier than either alone (with the shorter watch above too,
# the 14 mutants, builds included, took 4 min 49 s instead of 8 min 4 s).
# Two mutants' checks at a time (as make check boots its rows: builds
# taken from the cache leave the boots alone on the critical path; the
# 14 mutants from the cache took 105 s against 147 s one at a time,
# measured one run after the other, this change on top of 12e587f;
# there the module's longest case, the sweep of 65535 immediates, took
# 2.2 to 2.8 s in the boots side by side, far from LOAD_TIMEOUT), each
# in a process group of its own that an interrupted run stops; the shared
# tree is only the builds'. A mutant's verdicts are said, in order, under
# a later one's heading.
CHECK_SLOTS=2
checks_pids=()
checks_labels=()
killed=0
survived=0
entries=()
# start_checks LABEL PATCH NAME MODE [HOST]: LABEL's host tests (HOST
# when given, not host-testable) and boot, in the background, once a slot
# is free.
start_checks() {
	local label=$1 patch=$2 name=$3 mode=$4 host=${5:-}
	while [ ${#checks_pids[@]} -ge $CHECK_SLOTS ]; do
		finish_checks
	done
	set -m
	(
		# One mutant's host tests at a time: the crates share a target
		# directory and a package name, and cargo's lock does not cover
		# the tests' run.
		if [ -n "$host" ]; then
			echo "$host"
		else
			with_lock cargo-target-mutants host_verdict "$label" "$patch"
		fi >"$work/$label.host"
		guest_verdict "$label" "$name" "$mode" >"$work/$label.guest"
	) &
	checks_pids+=("$!")
	checks_labels+=("$label")
	set +m
}

# stop_checks: the running checks, stopped (an interrupted run).
stop_checks() {
	local pid
	for pid in "${checks_pids[@]}"; do
		kill -TERM -- -"$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	checks_pids=()
}

# finish_checks: the oldest running checks' verdicts, when they are done;
# a failure to run them stops the run.
finish_checks() {
	local host guest label=${checks_labels[0]:-} status=0
	[ ${#checks_pids[@]} -gt 0 ] || return 0
	# Still listed while it runs: an interrupted wait must stop it too.
	wait "${checks_pids[0]}" || status=$?
	checks_pids=("${checks_pids[@]:1}")
	checks_labels=("${checks_labels[@]:1}")
	if [ "$status" -ne 0 ]; then
		tail -n 20 "$work/$label.cargo.log" "$work/$label.boot.log" >&2 2>/dev/null || true
		die "the checks of mutant $label failed to run (the end of their logs above)"
	fi
	host=$(cat "$work/$label.host")
	guest=$(cat "$work/$label.guest")
	echo "mutant $label: host tests: $host"
	echo "mutant $label: kselftest: $guest"
	if [[ $host == survived* || $guest == survived* ]]; then
		survived=$((survived + 1))
	else
		killed=$((killed + 1))
	fi
	entries+=("$label" "$host" "$guest")
}

finish_all_checks() {
	while [ ${#checks_pids[@]} -gt 0 ]; do
		finish_checks
	done
}

main() {
	local patch label kernels built_name built_mode
	for patch in "$PROJECT_ROOT"/hyp/mutants/*.patch; do
		label=$(basename "$patch" .patch)
		step "mutant $label"
		build_mutant "$patch"
		start_checks "$label" "$patch" "$built_name" "$built_mode"
	done
	for patch in "$PROJECT_ROOT"/kvm-mutants/*.patch; do
		label=kvm-$(basename "$patch" .patch)
		kernels=$(sed -n 's/^Kernels: *//p' "$patch")
		if [ -n "$kernels" ] && [[ " $kernels " != *" $KERNEL "* ]]; then
			step "mutant $label: not for $KERNEL (Kernels: $kernels)"
			continue
		fi
		step "mutant $label"
		build_mutant "$patch" kvm
		start_checks "$label" "$patch" "$built_name" "$built_mode" \
			"n/a (host KVM, not host-testable)"
	done
	finish_all_checks
	testbed mutants-record --out "$results" --kernel "$KERNEL" "${entries[@]}"
	echo "mutants: $killed killed, $survived survived"
	[ "$survived" -eq 0 ]
}

main
