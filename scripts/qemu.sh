#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# qemu.sh KERNEL HANDLER PROFILE CPU MODE: the main job. Build the kernel
# and the kselftest, boot them under pKVM in QEMU and run the kselftest.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

usage="usage: qemu.sh KERNEL HANDLER PROFILE CPU MODE"
[ $# -eq 5 ] || die "$usage"
set -- "$1" "$2" "$(resolve_profile "$1" "$3")" "$4" "$5"
check_axes --kernel "$1" --handler "$2" --profile "$3" --cpu "$4" --mode "$5"

# The edit loop: the build's check of the glue's Makefile rules
# (build-kernel.sh --no-remake-check) is left to make build and make check.
"$PROJECT_ROOT/scripts/build-kernel.sh" --no-remake-check "$1" "$2" "$3"
exec "$PROJECT_ROOT/scripts/boot.sh" "$@"
