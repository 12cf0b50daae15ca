#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# qemu.sh KERNEL HANDLER MODE: the main job. Build the kernel and the test
# module, boot them under pKVM in QEMU and run the kselftest.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

KERNEL=${1:?usage: qemu.sh KERNEL HANDLER MODE}
HANDLER=${2:?usage: qemu.sh KERNEL HANDLER MODE}
MODE=${3:?usage: qemu.sh KERNEL HANDLER MODE}
check_run "$KERNEL" "$HANDLER" "$MODE"

"$PROJECT_ROOT/scripts/build-kernel.sh" "$KERNEL" "$HANDLER"
exec "$PROJECT_ROOT/scripts/boot.sh" "$KERNEL" "$HANDLER" "$MODE"
