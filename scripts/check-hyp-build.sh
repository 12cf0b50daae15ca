#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# check-hyp-build.sh BUILD_DIR: what a rust build's hyp must show, read from
# the kvm_nvhe.o that scripts/build-kernel.sh kept in BUILD_DIR:
# - the Rust handle_host_smc is in it, and the symbol check ran on it;
# - it has no unwind tables: the hyp's C has none, and with DYNAMIC_SCS the
#   boot-time patcher would turn the PAC instructions of any function that
#   has them into shadow call stack pushes, which fault at EL2.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

dir=${1:?usage: check-hyp-build.sh BUILD_DIR}
obj=$dir/kvm_nvhe.o
[ -f "$obj" ] || die "$obj missing; build it with 'make build'"
need_tool "llvm-nm$LLVM_SUFFIX"
need_tool "llvm-readelf$LLVM_SUFFIX"

symbols=$("llvm-nm$LLVM_SUFFIX" "$obj")
grep -q ' T __kvm_nvhe_handle_host_smc$' <<<"$symbols" ||
	die "$obj has no Rust handle_host_smc (T __kvm_nvhe_handle_host_smc)"
[ -f "$dir/kvm_nvhe.symcheck" ] ||
	die "the hyp symbol check did not run on $obj (no kvm_nvhe.symcheck)"
sections=$("llvm-readelf$LLVM_SUFFIX" -S -W "$obj")
if grep -q 'eh_frame' <<<"$sections"; then
	die "$obj has unwind tables ($(grep -o '[^ ]*eh_frame[^ ]*' <<<"$sections" | paste -sd' ')): the boot-time SCS patcher would rewrite the hyp's PAC instructions"
fi
step "$obj: Rust handle_host_smc, symbol check passed, no unwind tables"
