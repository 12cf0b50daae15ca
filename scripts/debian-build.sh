#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# debian-build.sh KERNEL: build/KERNEL-stock-debian, laid out as
# scripts/build-kernel.sh lays out a build, from Debian's own, unmodified
# kernel package and the module scripts/debian-image.sh built for it with
# Debian's own toolchain:
#
#   Image       Debian's vmlinuz (an uncompressed arm64 Image)
#   .config     the configuration Debian built it with (linux-headers)
#   kselftest/  the kselftest install of KERNEL's stock build (the runner,
#               the pkvm_smc_imm and cpu-hotplug targets), with Debian's
#               module in place of the one built for the testbed's kernel
#
# scripts/boot.sh then boots it as any other build, and its verdict is the
# same function's. The handler is Debian's (upstream's C checks, 7.1 on).
#
# Exits 4 (kselftest's skip) where Debian's kernel has no Rust, so that no
# Rust module can load into it: 6.12, whose board-script skip
# scripts/debian-image.sh checks against Debian's 6.12 headers.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

[ $# -eq 1 ] || die "usage: debian-build.sh KERNEL"
KERNEL=$1
check_axes --kernel "$KERNEL"
name=$(variant_name "$KERNEL" stock debian)
out=$BUILD_ROOT/$name
start=$SECONDS

"$PROJECT_ROOT/scripts/debian-image.sh" >&2
if [ "$KERNEL" = 6.12 ]; then
	echo "skip: Debian's 6.12 kernels are built without Rust (RUSTC_VERSION=0), so no Rust module loads into them; scripts/debian-image.sh checked that the board script skips on them (exit 4)" >&2
	exit 4
fi
# The runner and the selftest script are the testbed's: its stock build
# of the same tree (from the cache when nothing changed).
profile=$(work_profile "$KERNEL")
"$PROJECT_ROOT/scripts/build-kernel.sh" "$KERNEL" stock "$profile" >&2
stock=$BUILD_ROOT/$(variant_name "$KERNEL" stock "$profile")

# lay_out: Debian's files, read under the lock of scripts/debian-image.sh,
# which another kernel's debian-build.sh may be running (make check runs
# its kernels side by side).
lay_out() {
	# shellcheck source=/dev/null
	. "$CACHE_DIR/debian/paths"
	[[ $RELEASE == "$KERNEL".* ]] ||
		die "Debian's kernel is $RELEASE, not $KERNEL: scripts/debian-image.sh and KERNEL disagree"
	rm -rf "$out"
	mkdir -p "$out"
	cp "$IMAGE" "$out/Image"
	cp "$CONFIG" "$out/.config"
	cp "$stock/gen_init_cpio" "$out/"
	cp -a "$stock/kselftest" "$out/kselftest"
	rm -f "$out"/kselftest/pkvm_smc_imm/test_modules/*.ko
	cp "$KO" "$out/kselftest/pkvm_smc_imm/test_modules/smc_imm_test.ko"
	testbed build-record --out "$out/build.json" --kernel "$KERNEL" --handler stock \
		--profile debian --rust-option n --lto false \
		--rust-toolchain "Debian's rustc (scripts/debian-image.sh)" --seconds $((SECONDS - start))
	step "laid out $out: Debian's $RELEASE Image and .config, the kselftest with $(modinfo -F vermagic "$KO" | cut -d' ' -f1)'s module"
}
with_lock debian lay_out
