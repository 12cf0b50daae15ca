#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# bench.sh [REPS]: the Rust handler against the C one of the same tree and
# profile, side by side in one run. For 7.3 and 6.12, in each profile the
# matrix builds it in (the hardened one's ThinLTO takes the Rust objects
# into the hyp's LTO), boots the stock and the rust kernel in QEMU (hVHE,
# one CPU, -icount shift=0) and loads the benchmark module REPS times (default 10),
# then adds the static counts of scripts/hyp-report.sh. Prints a table;
# writes build/bench/bench.json and build/bench/performance.rst, which
# `make docs` puts on the results page.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

REPS=${1:-10}
need_positive REPS "$REPS"
read -r -a KERNELS <<<"${BENCH_KERNELS:-7.3 6.12}"
# The profiles of each kernel: those the matrix builds it in, unless
# BENCH_PROFILES names them.
profiles_of() {
	local words
	if [ -n "${BENCH_PROFILES:-}" ]; then
		read -r -a words <<<"$BENCH_PROFILES"
		printf '%s\n' "${words[@]}"
	else
		matrix_profiles "$1"
	fi
}
dir=$BUILD_ROOT/bench
mkdir -p "$dir"
rm -f "$dir"/raw-*.txt

for kernel in "${KERNELS[@]}"; do
	mapfile -t profiles < <(profiles_of "$kernel")
	for profile in "${profiles[@]}"; do
		# The handlers of this tree: on 6.12 the stable backport too, the
		# C that makes the Rust handler's decisions.
		mapfile -t handlers < <(handlers_of "$kernel")
		for handler in "${handlers[@]}"; do
			name=$(variant_name "$kernel" "$handler" "$profile")
			"$PROJECT_ROOT/scripts/build-kernel.sh" "$kernel" "$handler" "$profile"
			step "bench: $name, $REPS repetitions"
			"$PROJECT_ROOT/scripts/boot.sh" --bench-reps "$REPS" "$kernel" "$handler" \
				"$profile" max bench >"$dir/raw-$name.txt"
			[ "$(grep -c '^bench: ' "$dir/raw-$name.txt")" -eq "$REPS" ] ||
				die "bench: $name gave fewer than $REPS measurements (see $dir/raw-$name.txt)"
			cp "$BUILD_ROOT/$name/build.json" "$dir/build-$name.json"
		done
	done
done
"$PROJECT_ROOT/scripts/hyp-report.sh" --tsv "${KERNELS[@]}" >"$dir/static.tsv"
testbed bench-report "$dir"
