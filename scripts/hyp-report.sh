#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# hyp-report.sh [--tsv] [KERNEL...]: what the Rust handler costs against
# the C one of the same tree and profile, from the kvm_nvhe.o each build
# kept: the instructions executed for a rejected smc #1 (handle_trap entry
# to return) and for smc #0 up to the PSCI relay call, and the .hyp.text
# bytes of the functions those paths run through. With the hardened
# profile's ThinLTO the Rust objects join the hyp's LTO link, and
# handle_host_smc can be inlined into handle_trap like the C one is.
# Every build of build/KERNEL-{stock,backport,rust}[-hardened] that exists
# is shown.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

need_tool "llvm-nm$LLVM_SUFFIX"
need_tool "llvm-objdump$LLVM_SUFFIX"
# --tsv: tab-separated rows without a header, for scripts/bench.sh.
tsv=false
if [ "${1:-}" = --tsv ]; then
	tsv=true
	shift
fi
[ $# -gt 0 ] || set -- 6.12 7.3

row() {
	if $tsv; then
		printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@"
	else
		printf '%-6s %-8s %-8s %-4s %10s %13s %13s\n' "$@"
	fi
}

# path OBJECT reject|accept: the path's JSON, as scripts/hyp-path.py
# follows it through the object.
path() {
	python3 "$PROJECT_ROOT/scripts/hyp-path.py" "llvm-objdump$LLVM_SUFFIX" "$1" "$2"
}

field() {
	python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"
}

# bytes OBJECT FUNCTION...: the sizes of these functions, and of every
# function of the handler that the object holds, on a path or not (under
# LTO the exported handle_host_smc stays, inlined or not), added up.
bytes() {
	local object=$1
	shift
	"llvm-nm$LLVM_SUFFIX" -S --radix=d "$object" | awk -v want="$*" '
		BEGIN { n = split(want, names, " "); for (i = 1; i <= n; i++) wanted[names[i]] = 1 }
		$4 in wanted || $4 ~ /^__kvm_nvhe_(handle_host_smc|kvm_host_forward_smc|default_host_smc_handler)$/ ||
			$4 ~ /host_smc_policy5relay/ { total += $2 }
		END { print total + 0 }'
}

lto_of() {
	python3 -c 'import json, sys; print("yes" if json.load(open(sys.argv[1])).get("lto") else "no")' "$1"
}

$tsv || row kernel handler profile lto "text bytes" "reject insns" "accept insns"
found=0
for kernel in "$@"; do
	for profile in minimal hardened; do
		for handler in stock backport rust; do
			dir=$BUILD_ROOT/$(variant_name "$kernel" "$handler" "$profile")
			[ -f "$dir/kvm_nvhe.o" ] || continue
			found=$((found + 1))
			accept=$(path "$dir/kvm_nvhe.o" accept)
			functions=$(field functions <<<"$accept" | tr -d "[]',")
			# 6.12's own C handler has no reject path: smc #1 is relayed.
			if [ "$kernel-$handler" = 6.12-stock ]; then
				reject=none
			else
				reject=$(path "$dir/kvm_nvhe.o" reject)
				functions="$functions $(field functions <<<"$reject" | tr -d "[]',")"
				reject=$(field instructions <<<"$reject")
			fi
			mapfile -t functions < <(tr ' ' '\n' <<<"$functions" | sort -u)
			row "$kernel" "$handler" "$profile" "$(lto_of "$dir/build.json")" \
				"$(bytes "$dir/kvm_nvhe.o" "${functions[@]}")" \
				"$reject" "$(field instructions <<<"$accept")"
		done
	done
done
[ "$found" -gt 0 ] || die "no build with a kvm_nvhe.o in $BUILD_ROOT; run 'make build' first"
