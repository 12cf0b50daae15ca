#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# qemu.sh KERNEL HANDLER PROFILE CPU MODE: the main job. Build the kernel
# and the kselftest, boot them under pKVM in QEMU and run the kselftest.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

usage="usage: qemu.sh KERNEL HANDLER PROFILE CPU MODE"
[ $# -eq 5 ] || die "$usage"
kernel_package "$1" >/dev/null
check_handler "$1" "$2"
check_profile "$3"
check_handler_profile "$2" "$3"
check_cpu "$4"
check_mode "$5"
check_cpu_mode "$4" "$5"

"$PROJECT_ROOT/scripts/build-kernel.sh" "$1" "$2" "$3"
exec "$PROJECT_ROOT/scripts/boot.sh" "$@"
