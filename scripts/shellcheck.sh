#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Runs shellcheck on every shell script of the project, bash ones with their
# sourced helpers, the guest's busybox ones as POSIX sh.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

need_tool shellcheck
cd "$PROJECT_ROOT"
shellcheck -x scripts/*.sh .ci/run
shellcheck -s sh hyp/check-hyp-symbols.sh selftests/*.sh
step "shellcheck: clean"
