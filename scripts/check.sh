#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# check.sh: every test. Host tests first, then the QEMU verdict matrix
# {6.12, 7.3} x {stock, rust} x {hvhe, nvhe, vhe}, each row's verdict
# compared with what it must be. 6.12 stock has no imm16 check: its FAIL is
# the negative control that proves the test can fail, and a PASS there is
# an error.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

read -r -a KERNELS <<<"${CHECK_KERNELS:-6.12 7.3}"
HANDLERS=(stock rust)
MODES=(hvhe nvhe vhe)

rows=()
audits=()
passed=0
failed=0

record() {
	local name=$1 expected=$2 got=$3 seconds=$4
	rows+=("$(printf '%-36s %-8s %-10s %5s' "$name" "$expected" "$got" "$seconds")")
	if [ "$expected" = "$got" ]; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		echo "check: $name: expected $expected, got $got" >&2
	fi
}

expected_verdict() {
	local kernel=$1 handler=$2 mode=$3
	if [ "$mode" = vhe ]; then
		echo SKIP
	elif [ "$kernel" = 6.12 ] && [ "$handler" = stock ]; then
		echo FAIL
	else
		echo PASS
	fi
}

# A FAIL only counts as the negative control when it is the imm16 cases
# that failed, the destructive calls were held back and the VM lived.
negative_control_holds() {
	local log=$1
	grep -q '^  not ok 2 smc1_psci_version_not_supported' "$log" &&
		grep -q '^  not ok 3 smc_all_nonzero_imm_not_supported' "$log" &&
		grep -q '^  ok 6 smc_nonzero_imm_destructive_psci_harmless # SKIP' "$log" &&
		grep -q '^pkvm-smc-imm: selftest exit=1$' "$log"
}

# Runs a command as one row of the summary: PASS if it exits 0.
run_step() {
	local name=$1 start=$SECONDS got=PASS
	shift
	"$@" || got=FAIL
	record "$name" PASS "$got" $((SECONDS - start))
}

shellcheck_all() {
	need_tool shellcheck
	(cd "$PROJECT_ROOT" && shellcheck -x scripts/*.sh .ci/run hyp/check-hyp-symbols.sh) &&
		(cd "$PROJECT_ROOT" && shellcheck -s sh selftests/smc_imm.sh)
}

run_row() {
	local kernel=$1 handler=$2 mode=$3 start=$SECONDS got expected log
	expected=$(expected_verdict "$kernel" "$handler" "$mode")
	log=$BUILD_ROOT/$kernel-$handler/$mode.log
	got=$("$PROJECT_ROOT/scripts/boot.sh" "$kernel" "$handler" "$mode" |
		tee /dev/stderr | sed -n 's/^verdict: //p' | tail -n 1) || true
	[ -n "$got" ] || got=ERROR
	if [ "$expected" = FAIL ] && [ "$got" = FAIL ] && ! negative_control_holds "$log"; then
		echo "check: $kernel $handler $mode failed, but not as the negative control must (see $log)" >&2
		got=FAIL-OTHER
	fi
	record "qemu $kernel $handler $mode" "$expected" "$got" $((SECONDS - start))
}

# The Rust handler's object is in the hyp, and the symbol check ran on it.
check_rust_hyp() {
	local kernel=$1 nvhe got=PASS
	nvhe=$BUILD_ROOT/$kernel-rust/arch/arm64/kvm/hyp/nvhe
	local symbols
	symbols=$("llvm-nm$LLVM_SUFFIX" "$nvhe/kvm_nvhe.o") || got=FAIL
	if [ ! -f "$nvhe/kvm_nvhe.symcheck" ] ||
		! grep -q ' T __kvm_nvhe_handle_host_smc$' <<<"$symbols"; then
		got=FAIL
	fi
	record "hyp symbols $kernel rust" PASS "$got" 0
}

summary() {
	printf '%-36s %-8s %-10s %5s\n' check expected got secs
	printf '%s\n' "${rows[@]}"
	echo
	echo "smc-audit (SMC/HVC instructions in the built kernels):"
	printf '%s\n' "${audits[@]}"
}

# smc-audit on the built tree: only the test module may hold SMCs with a
# non-zero immediate. The counts go into the summary.
run_audit() {
	local kdir=$BUILD_ROOT/$1-$2 start=$SECONDS got=PASS
	"$PROJECT_ROOT/scripts/audit.sh" "$kdir" >"$kdir/smc-audit.log" 2>&1 || got=FAIL
	audits+=("$(grep -E ': summary:' "$kdir/smc-audit.log" | sed "s|$BUILD_ROOT/||; s|^|  |")")
	record "smc-audit $1 $2" PASS "$got" $((SECONDS - start))
}

main() {
	run_step "host tests" "$PROJECT_ROOT/scripts/host-test.sh"
	run_step "shellcheck" shellcheck_all
	run_step "hyp-install (round trip, refusal)" "$PROJECT_ROOT/scripts/test-hyp-install.sh"
	local kernel handler mode start
	for kernel in "${KERNELS[@]}"; do
		for handler in "${HANDLERS[@]}"; do
			start=$SECONDS
			if ! "$PROJECT_ROOT/scripts/build-kernel.sh" "$kernel" "$handler"; then
				record "build $kernel $handler" PASS FAIL $((SECONDS - start))
				continue
			fi
			record "build $kernel $handler" PASS PASS $((SECONDS - start))
			[ "$handler" = rust ] && check_rust_hyp "$kernel"
			for mode in "${MODES[@]}"; do
				run_row "$kernel" "$handler" "$mode"
			done
			run_audit "$kernel" "$handler"
		done
		run_step "style $kernel (rustfmt, clippy)" "$PROJECT_ROOT/scripts/style.sh" "$kernel"
		run_step "patches $kernel (checkpatch, bisect)" \
			"$PROJECT_ROOT/scripts/patches.sh" "$kernel" --bisect
	done
	run_step "bench (1 repetition)" "$PROJECT_ROOT/scripts/bench.sh" 1

	summary >"$BUILD_ROOT/check-summary.txt"
	# The results page of the documentation shows this run's summary.
	run_step "docs (sphinx -W)" "$PROJECT_ROOT/scripts/docs.sh"
	echo
	summary
	echo
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
}

main
