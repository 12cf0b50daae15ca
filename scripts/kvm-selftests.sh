#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# kvm-selftests.sh KERNEL: build the kernel's own arm64 KVM selftests
# (tools/testing/selftests/kvm) from Debian's KERNEL source, with this
# project's guest test selftests/kvm/smc_imm_guest.c built the same way
# against the suite's library, and print the directory that holds them.
#
# The suite comes from the pristine tree (scripts/kernel-source.sh), the
# same for every handler, and nothing is written there: the uapi headers go
# to an object directory of their own (make O=... headers_install), the
# suite's objects and programs to OUTPUT=, its generated sysreg header to
# abs_objdir=. The programs are static (Debian's gcc-aarch64-linux-gnu and
# libc6-dev-arm64-cross): the guest's initramfs has no C library.
#
# The result is kept by content, in $CACHE_DIR/kvm-selftests/KERNEL-HASH,
# the hash covering the source package's version (the pristine tree is
# never modified), this script, selftests/kvm/ and the cross toolchain:
#   bin/       every program, flat, by its base name (6.12's aarch64/ and
#              7.3's arm64/ alike), static arm64 binaries without DWARF
#   tests.tsv  selftests/kvm/tests.tsv, the list the guest runs
#   run.sh     scripts/kvm-selftests-guest.sh, the guest's runner
#   build.log  the build's output
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

KERNEL=${1:?usage: kvm-selftests.sh KERNEL}
check_axes --kernel "$KERNEL"
CROSS_COMPILE=aarch64-linux-gnu-
need_tool "${CROSS_COMPILE}gcc"
dpkg-query -W -f='${Status}\n' libc6-dev-arm64-cross 2>/dev/null |
	grep -q '^install ok installed$' ||
	die "libc6-dev-arm64-cross is not installed; run 'make deps'"

OURS=$PROJECT_ROOT/selftests/kvm
src=$("$PROJECT_ROOT/scripts/kernel-source.sh" "$KERNEL")
suite=$src/tools/testing/selftests/kvm
[ -f "$suite/Makefile" ] || die "$suite has no Makefile"

content_hash() {
	{
		cat "$src/.debian-version"
		sha256sum "$0" "$OURS"/* "$PROJECT_ROOT/scripts/kvm-selftests-guest.sh"
		"${CROSS_COMPILE}gcc" --version | head -n 1
		dpkg-query -W -f='${Version}\n' libc6-dev-arm64-cross
	} | sha256sum | cut -c1-16
}

dest=$CACHE_DIR/kvm-selftests/$KERNEL-$(content_hash)
if [ -f "$dest/.complete" ]; then
	echo "$dest"
	exit 0
fi

# One build of a kernel's suite at a time: boots in parallel take turns,
# and the second finds the first's result.
build_suite() {
	[ -f "$dest/.complete" ] && return
	step "building the KVM selftests of $KERNEL ($(cat "$src/.debian-version")) with ${CROSS_COMPILE}gcc"
	work=$dest.partial
	rm -rf "$work"
	mkdir -p "$work/obj/tools" "$work/out" "$work/usr"
	log=$work/build.log
	build() {
		# The uapi headers, as `make headers` would install them into the tree.
		nice -n 10 make -C "$src" O="$work/obj" ARCH=arm64 INSTALL_HDR_PATH="$work/usr" \
			-j"$(build_jobs)" headers_install
		# LDFLAGS on the command line replaces the suite's +=, hence -pthread
		# and -no-pie again. The second makefile adds smc_imm_guest.
		nice -n 10 make -C "$suite" -f Makefile -f "$OURS/smc_imm_guest.mk" \
			ARCH=arm64 CROSS_COMPILE="$CROSS_COMPILE" \
			OUTPUT="$work/out" abs_objdir="$work/obj" \
			INSTALL_HDR_PATH="$work/usr" KHDR_INCLUDES="-isystem $work/usr/include" \
			LDFLAGS="-static -pthread -no-pie" -j"$(build_jobs)" all
	}
	if ! build >"$log" 2>&1; then
		tail -n 30 "$log" >&2
		die "the KVM selftests of $KERNEL did not build (log: $log)"
	fi

	# The programs, flat: every executable ELF the build made.
	mkdir -p "$work/bin"
	while IFS= read -r -d '' prog; do
		if file -b "$prog" | grep -q 'ELF 64-bit LSB executable, ARM aarch64.*statically linked'; then
			name=$(basename "$prog")
			[ -e "$work/bin/$name" ] && die "two programs named $name in the suite"
			# Without DWARF, a third smaller: the initramfs holds them all.
			"${CROSS_COMPILE}strip" --strip-debug -o "$work/bin/$name" "$prog"
		fi
	done < <(find "$work/out" -type f -perm -u+x -print0)
	[ -x "$work/bin/smc_imm_guest" ] || die "smc_imm_guest was not built (log: $log)"
	# The list, with this kernel's rows only, each of whose program was built.
	awk -F'\t' -v k="$KERNEL" '/^#/ || $1 == "test" || $3 == "all" || $3 == k' \
		"$OURS/tests.tsv" >"$work/tests.tsv"
	while read -r name; do
		[ -x "$work/bin/$name" ] || die "selftests/kvm/tests.tsv lists $name, which the $KERNEL suite does not build"
	done < <(awk -F'\t' '!/^#/ && $1 != "test" { print $1 }' "$work/tests.tsv")
	cp "$PROJECT_ROOT/scripts/kvm-selftests-guest.sh" "$work/run.sh"
	# Only what the guest needs is kept (the objects and headers are not).
	mv "$log" "$work/build.log.keep"
	rm -rf "${work:?}/obj" "${work:?}/out" "${work:?}/usr"
	mv "$work/build.log.keep" "$work/build.log"
	touch "$work/.complete"
	rm -rf "$dest"
	mv "$work" "$dest"
	step "$(find "$dest/bin" -type f | wc -l) KVM selftests in $dest"
}
with_lock "kvm-selftests-$KERNEL" build_suite
echo "$dest"
