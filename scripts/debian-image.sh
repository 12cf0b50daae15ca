#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# debian-image.sh: build smc_imm_test.ko for Debian's own, unmodified arm64
# kernel (linux-image-RELEASE, trixie-backports) as a user of a trixie arm64
# board would, on this amd64 Debian 12 host:
#
#   - Debian's packages of that kernel (image, headers, kbuild, source) are
#     downloaded with apt and unpacked into the cache, never installed;
#   - a trixie amd64 chroot (mmdebstrap) gets trixie's own rustc, bindgen and
#     gcc-14 cross compilers, the toolchain Debian built the kernel with;
#   - scripts/debian-board.sh runs in it, cross-building for arm64, with
#     Debian's headers and linux-source mounted where Debian installs them;
#   - every undefined symbol of the module must be one that Debian's kernel
#     exports (Module.symvers), checked with llvm-nm: the Rust ones carry
#     Debian's crate hashes only if the toolchain was the right one;
#   - Debian's 6.12 headers, built without Rust, must make the board script
#     skip (exit 4);
#   - a signed copy of the module is made as Documentation/debian-board.md says, with a
#     key of its own that scripts/debian-boot.sh enrols (SECURE_BOOT=1).
#
# Prints the paths of the kernel Image and the module, and writes them to
# CACHE/debian/paths for scripts/debian-boot.sh. Each step is cached by its
# inputs, so a second run only checks; each prints the time it took.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=scripts/debian-apt.sh
. "$(dirname "$0")/debian-apt.sh"

RELEASE=${DEBIAN_RELEASE:-7.3.4+deb13-arm64}
ABI=${RELEASE%-arm64}
STATE=$CACHE_DIR/debian
DEBS=$STATE/debs
JOBS=${JOBS:-2}
MIRROR=http://deb.debian.org/debian
SECURITY=http://deb.debian.org/debian-security

# What the chroot holds: a trixie system as a user has it, plus what
# building a kernel's modules_prepare needs. libc6-dev:arm64 lets the cross
# gcc link (Kconfig's CC_CAN_LINK, which Debian's config has); the armhf
# compiler builds the 32-bit vDSO that modules_prepare makes.
CHROOT_PACKAGES=(
	rustc rust-src bindgen
	gcc gcc-14-aarch64-linux-gnu gcc-arm-linux-gnueabihf libc6-dev:arm64
	make bc bison flex pahole libelf-dev libssl-dev openssl
	kmod xz-utils cpio perl python3
)
# Debian's packages of the kernel; the kbuild tools run on the build host.
KERNEL_PACKAGES=(
	"linux-binary-$RELEASE:arm64"
	"linux-headers-$RELEASE:arm64"
	"linux-headers-$ABI-common"
	"linux-kbuild-$ABI:amd64"
	linux-source-7.3
)

timings=()

# timed NAME COMMAND...: run COMMAND, note how long it took.
timed() {
	local name=$1 start
	shift
	start=$(date +%s)
	"$@"
	timings+=("$(printf '%-28s %4ss' "$name" "$(($(date +%s) - start))")")
}

# unpack_root: the packages' files as dpkg would install them, under ROOT,
# once per set of .debs.
unpack_root() {
	local debs=("$@") key
	key=$(printf '%s\n' "${debs[@]##*/}" | sha256sum | cut -c1-16)
	ROOT=$STATE/root/$key
	[ -f "$ROOT/.unpacked" ] && return
	step "unpacking ${#debs[@]} packages into $ROOT"
	rm -rf "$ROOT"
	mkdir -p "$ROOT"
	local deb
	for deb in "${debs[@]}"; do
		dpkg-deb -x "$deb" "$ROOT"
	done
	touch "$ROOT/.unpacked"
}

# make_chroot: a trixie amd64 system with CHROOT_PACKAGES, once per
# package list and mirror.
make_chroot() {
	local key
	need_tool mmdebstrap
	key=$(printf '%s\n' "${CHROOT_PACKAGES[@]}" "$MIRROR" "$SECURITY" | sha256sum | cut -c1-16)
	CHROOT=$STATE/chroot/$key
	[ -f "$CHROOT/.complete" ] && return
	step "creating a trixie chroot in $CHROOT (mmdebstrap)"
	rm -rf "$CHROOT.partial"
	mkdir -p "$STATE/chroot"
	nice mmdebstrap --quiet --variant=apt --architectures=amd64,arm64 \
		--include="$(
			IFS=,
			echo "${CHROOT_PACKAGES[*]}"
		)" \
		trixie "$CHROOT.partial" \
		"deb $MIRROR trixie main" \
		"deb $MIRROR trixie-updates main" \
		"deb $SECURITY trixie-security main" ||
		die "mmdebstrap failed; see its output above"
	touch "$CHROOT.partial/.complete"
	rm -rf "$CHROOT"
	mv "$CHROOT.partial" "$CHROOT"
}

# in_chroot COMMAND...: run COMMAND in the chroot, in a mount namespace of
# its own (so nothing stays mounted): Debian's kernel packages' files on
# their paths (/usr/src/..., /usr/lib/linux-kbuild-...), the repository
# read-only at /repo, the board script's output directory at /out.
in_chroot() {
	mkdir -p "$STATE/board"
	# shellcheck disable=SC2016 # the inner bash expands them
	unshare --mount --propagation private bash -euo pipefail -c '
		chroot=$1 root=$2 repo=$3 out=$4
		shift 4
		mount -t proc proc "$chroot/proc"
		mount --rbind /dev "$chroot/dev"
		for entry in "$root"/usr/src/* "$root"/usr/lib/linux-kbuild-*; do
			target=$chroot${entry#"$root"}
			if [ -d "$entry" ]; then mkdir -p "$target"; else touch "$target"; fi
			mount --bind -o ro "$entry" "$target"
		done
		mkdir -p "$chroot/repo" "$chroot/out"
		mount --bind -o ro "$repo" "$chroot/repo"
		mount --bind "$out" "$chroot/out"
		exec chroot "$chroot" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root "$@"
	' in_chroot "$CHROOT" "$ROOT" "$PROJECT_ROOT" "$STATE/board" "$@"
}

build_module() {
	step "building the module in the chroot (scripts/debian-board.sh)"
	in_chroot JOBS="$JOBS" nice bash /repo/scripts/debian-board.sh \
		"/usr/src/linux-headers-$RELEASE" /usr/src/linux-source-7.3.tar.xz /out
	KO=$STATE/board/module/rust/smc_imm_test.ko
	[ -f "$KO" ] || die "$KO missing after the build"
}

# The board script must skip on Debian's 6.12, whose config has no Rust.
check_skip_6_12() {
	local release status=0
	release=$(basename "$(compgen -G "$ROOT/usr/src/linux-headers-6.12.*-arm64" | head -n 1)")
	step "scripts/debian-board.sh on $release (no Rust): must skip"
	in_chroot bash /repo/scripts/debian-board.sh "/usr/src/$release" || status=$?
	[ "$status" -eq 4 ] || die "debian-board.sh exited $status on $release, not 4 (skip)"
	step "skipped, exit 4"
}

# sign_module: what Documentation/debian-board.md tells a Secure Boot user, in trixie:
# a key pair (made once; the stand-in for one enrolled as a MOK) and the
# module signed with Debian's own sign-file, from linux-kbuild. The signed
# copy is SIGNED_KO; scripts/debian-boot.sh boots it under Secure Boot.
sign_module() {
	# shellcheck disable=SC2016 # the chroot's bash expands them
	in_chroot bash -euo pipefail -c '
		cd /out
		mkdir -p mok signed
		if [ ! -f mok/MOK.der ]; then
			openssl req -new -x509 -newkey rsa:2048 -nodes -days 36500 \
				-subj "/CN=pkvm-smc-imm test module signing key/" \
				-keyout mok/MOK.priv -outform DER -out mok/MOK.der 2>/dev/null
		fi
		cp module/rust/smc_imm_test.ko signed/smc_imm_test.ko
		"/usr/lib/linux-kbuild-$1/scripts/sign-file" sha256 mok/MOK.priv mok/MOK.der \
			signed/smc_imm_test.ko
	' sign_module "$ABI"
	SIGNED_KO=$STATE/board/signed/smc_imm_test.ko
	MOK_DER=$STATE/board/mok/MOK.der
	step "signed $SIGNED_KO: $(modinfo -F signer "$SIGNED_KO"), $(modinfo -F sig_hashalgo "$SIGNED_KO")"
}

# Every symbol the module leaves undefined must be one Debian's kernel
# exports: the Rust ones name their crate by a hash of the crate's name and
# of rustc's version text, so they match only with Debian's rustc.
check_symbols() {
	local symvers=$ROOT/usr/src/linux-headers-$RELEASE/Module.symvers missing
	need_tool "llvm-nm$LLVM_SUFFIX"
	UNDEFINED=$STATE/undefined.txt
	"llvm-nm$LLVM_SUFFIX" -u "$KO" | awk '{ print $2 }' | sort -u >"$UNDEFINED"
	missing=$(awk 'NR == FNR { exported[$2] = 1; next } !($1 in exported)' "$symvers" "$UNDEFINED")
	[ -z "$missing" ] || die "symbols of $KO that $RELEASE does not export:
$missing"
	step "all $(wc -l <"$UNDEFINED") undefined symbols of the module are in Debian's Module.symvers, $(grep -c '^_R' "$UNDEFINED") of them Rust"
	# The crate of each Rust symbol, with its hash (v0 mangling: C, then
	# s<hash>_, then the crate's name with its length), in the module's
	# references and in Debian's exports: the same hash for each crate.
	echo "crates of the module's Rust references:"
	crates <"$UNDEFINED"
	echo "crates of Debian's Rust exports:"
	awk '{ print $2 }' "$symvers" | crates
	echo "for example:"
	grep -m1 '_6kernel' "$UNDEFINED" | sed 's/^/  llvm-nm -u: /'
	grep -m1 "[[:space:]]$(grep -m1 '_6kernel' "$UNDEFINED")[[:space:]]" "$symvers" |
		sed 's/^/  Module.symvers: /'
}

crates() {
	perl -ne 'print "$1\n" if /^_R.*?(Cs[0-9A-Za-z]+_\d+[a-z_]+)/' | sort | uniq -c
}

main() {
	local start
	start=$(date +%s)
	mkdir -p "$STATE"
	timed download download "${KERNEL_PACKAGES[@]}"
	local debs=() pkg
	for pkg in "${KERNEL_PACKAGES[@]}"; do
		debs+=("$(deb_of "$pkg")")
	done
	timed "download 6.12 headers" download_headers_6_12
	timed unpack unpack_root "${debs[@]}" "$DEB_612"
	timed chroot make_chroot
	timed "build (board script)" build_module
	timed "6.12 skip" check_skip_6_12
	timed "symbols (llvm-nm)" check_symbols
	timed "sign (sign-file)" sign_module
	IMAGE=$ROOT/usr/lib/modules/$RELEASE/vmlinuz
	file "$IMAGE" | grep -q 'Linux kernel ARM64 boot executable Image' ||
		die "$IMAGE is not an uncompressed arm64 Image: $(file -b "$IMAGE")"
	# Named whole: debian-boot.sh may be reading it.
	printf 'IMAGE=%s\nKO=%s\nSIGNED_KO=%s\nMOK_DER=%s\nRELEASE=%s\nCONFIG=%s\n' \
		"$IMAGE" "$KO" "$SIGNED_KO" "$MOK_DER" "$RELEASE" \
		"$ROOT/usr/src/linux-headers-$RELEASE/.config" >"$STATE/paths.partial"
	mv "$STATE/paths.partial" "$STATE/paths"
	echo "vermagic: $(modinfo -F vermagic "$KO")"
	echo "image:  $IMAGE (Debian's vmlinuz: an uncompressed Image, as QEMU's -kernel takes it)"
	echo "module: $KO"
	echo "signed: $SIGNED_KO (key: $MOK_DER)"
	echo "timings:"
	printf '  %s\n' "${timings[@]}"
	printf '  %-28s %4ss\n' total "$(($(date +%s) - start))"
	echo "disk: $(du -shc "$STATE"/{apt,debs,root,chroot,board} | tail -n 1 | cut -f1) in $STATE"
}

# One chroot, one set of .debs and apt lists for every kernel, whose
# steps make check runs side by side (scripts/debian-build.sh for each).
with_lock debian main "$@"
