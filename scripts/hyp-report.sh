#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# hyp-report.sh [--tsv] [KERNEL...]: what the Rust handler costs against
# the C one of the same tree and profile, from the kvm_nvhe.o each build
# kept (scripts/testbed/hyp_report.py says how); --tsv: tab-separated rows
# without a header, for scripts/bench.sh and the series.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

need_tool "llvm-nm$LLVM_SUFFIX"
need_tool "llvm-objdump$LLVM_SUFFIX"
testbed hyp-report "$@"
