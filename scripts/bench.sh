#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# bench.sh [REPS]: the Rust handler against the C one of the same tree,
# side by side in one run. For 7.3 and 6.12, boots the stock and the rust
# kernel in QEMU (hVHE, one CPU, -icount shift=0) and loads the benchmark
# module REPS times (default 10), then adds the static counts of
# scripts/hyp-report.sh. Prints a table; writes build/bench/bench.json and
# build/bench/performance.rst, which `make docs` puts on the results page.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

REPS=${1:-10}
[[ $REPS =~ ^[1-9][0-9]*$ ]] || die "REPS must be a positive number, not '$REPS'"
read -r -a KERNELS <<<"${BENCH_KERNELS:-7.3 6.12}"
dir=$BUILD_ROOT/bench
mkdir -p "$dir"

for kernel in "${KERNELS[@]}"; do
	for handler in stock rust; do
		"$PROJECT_ROOT/scripts/build-kernel.sh" "$kernel" "$handler"
		step "bench: $kernel $handler, $REPS repetitions"
		BENCH_REPS=$REPS "$PROJECT_ROOT/scripts/boot.sh" "$kernel" "$handler" hvhe \
			>"$dir/raw-$kernel-$handler.txt"
		[ "$(grep -c '^bench: ' "$dir/raw-$kernel-$handler.txt")" -eq "$REPS" ] ||
			die "bench: $kernel $handler gave fewer than $REPS measurements"
	done
done
"$PROJECT_ROOT/scripts/hyp-report.sh" --tsv "${KERNELS[@]}" >"$dir/static.tsv"
python3 "$PROJECT_ROOT/scripts/bench-report.py" "$dir"
