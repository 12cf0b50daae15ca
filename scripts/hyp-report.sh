#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# hyp-report.sh [KERNEL...]: what the Rust handler costs against the C one
# of the same tree, from the built kvm_nvhe.o objects: .text bytes and the
# instructions executed for a rejected smc #1 (handle_trap entry to return)
# and for smc #0 up to the PSCI relay call. Needs build/KERNEL-{stock,rust}.
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

row() {
	if $tsv; then
		printf '%s\t%s\t%s\t%s\t%s\n' "$@"
	else
		printf '%-6s %-7s %12s %14s %14s\n' "$@"
	fi
}
[ $# -gt 0 ] || set -- 6.12 7.3

nvhe_object() {
	local object=$BUILD_ROOT/$1-$2/arch/arm64/kvm/hyp/nvhe/kvm_nvhe.o
	[ -f "$object" ] || die "$object missing; run 'make build KERNEL=$1 HANDLER=$2'"
	echo "$object"
}

# Bytes of the code that handles host SMCs: handle_trap(), into which C
# inlines its handler, plus the Rust handler and its out-of-line relay
# path where there are.
handler_bytes() {
	"llvm-nm$LLVM_SUFFIX" -S --radix=d "$1" | awk '
		$4 == "__kvm_nvhe_handle_trap" || $4 == "__kvm_nvhe_handle_host_smc" ||
		$4 ~ /host_smc_policy5relay/ { total += $2 }
		END { print total + 0 }'
}

path_length() {
	python3 "$PROJECT_ROOT/scripts/hyp-path.py" "llvm-objdump$LLVM_SUFFIX" "$1" "$2" |
		python3 -c 'import json, sys; print(json.load(sys.stdin)["instructions"])'
}

$tsv || row kernel handler "text bytes" "reject insns" "accept insns"
for kernel in "$@"; do
	for handler in stock rust; do
		object=$(nvhe_object "$kernel" "$handler")
		# 6.12's C handler has no reject path: smc #1 goes to the relay.
		if [ "$kernel-$handler" = 6.12-stock ]; then
			reject="none"
		else
			reject=$(path_length "$object" reject)
		fi
		row "$kernel" "$handler" \
			"$(handler_bytes "$object")" "$reject" "$(path_length "$object" accept)"
	done
done
