#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# check-hyp-build.sh BUILD_DIR: what a rust build's hyp must show, read from
# the kvm_nvhe.o and .config that scripts/build-kernel.sh kept in BUILD_DIR:
# - Rust code is linked into it (rustc's ident in .comment), and the symbol
#   check ran on it;
# - without NVHE_RUST_LTO it exports handle_host_smc, which C calls; under
#   it, it has no copy of handle_host_smc: the Rust objects are linked into
#   hyp-main.c's module, where the handler is inlined into handle_trap() as
#   the static C one is;
# - it has no unwind tables: the hyp's C has none, and with DYNAMIC_SCS the
#   boot-time patcher would turn the PAC instructions of any function that
#   has them into shadow call stack pushes, which fault at EL2.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

dir=${1:?usage: check-hyp-build.sh BUILD_DIR}
obj=$dir/kvm_nvhe.o
for f in "$obj" "$dir/.config"; do
	[ -f "$f" ] || die "$f missing; build it with 'make build'"
done
need_tool "llvm-nm$LLVM_SUFFIX"
need_tool "llvm-readelf$LLVM_SUFFIX"

# Read whole, then searched: grep -q in a pipeline would end the reader early,
# which pipefail takes for its failure.
comment=$("llvm-readelf$LLVM_SUFFIX" -p .comment "$obj")
grep -q 'rustc version' <<<"$comment" ||
	die "$obj holds no Rust code (no rustc ident in its .comment)"
[ -f "$dir/kvm_nvhe.symcheck" ] ||
	die "the hyp symbol check did not run on $obj (no kvm_nvhe.symcheck)"
symbols=$("llvm-nm$LLVM_SUFFIX" "$obj")
exported=false
if grep -q ' T __kvm_nvhe_handle_host_smc$' <<<"$symbols"; then
	exported=true
fi
if grep -qx 'CONFIG_NVHE_RUST_LTO=y' "$dir/.config"; then
	# Global or local: nothing of the handler or its helpers may be left
	# out of line (their names: scripts/testbed/hyp_report.py).
	copies=$(grep -E " [Tt] ($(testbed handler-symbols))\$" <<<"$symbols" || true)
	[ -z "$copies" ] ||
		die "$obj keeps out-of-line copies under NVHE_RUST_LTO ($(awk '{ print $3 }' <<<"$copies" | paste -sd' ' -)): the Rust objects were not linked into hyp-main.c's module, or not inlined there"
	how="handle_host_smc inlined into handle_trap, no copy"
else
	$exported || die "$obj has no Rust handle_host_smc (T __kvm_nvhe_handle_host_smc)"
	how="handle_host_smc exported"
fi
sections=$("llvm-readelf$LLVM_SUFFIX" -S -W "$obj")
if grep -q 'eh_frame' <<<"$sections"; then
	die "$obj has unwind tables ($(grep -o '[^ ]*eh_frame[^ ]*' <<<"$sections" | paste -sd' ')): the boot-time SCS patcher would rewrite the hyp's PAC instructions"
fi
step "$obj: Rust code, $how, symbol check passed, no unwind tables"
