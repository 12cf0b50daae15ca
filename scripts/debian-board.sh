#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# debian-board.sh [KDIR [SOURCE [OUT]]]: build smc_imm_test.ko for Debian's
# own arm64 kernel, on a Debian 13 (trixie) arm64 board or in a trixie
# chroot that cross-builds for one.
#
#   KDIR    the kernel's build directory, from linux-headers-<release>
#           (default: /lib/modules/$(uname -r)/build)
#   SOURCE  linux-source-7.3's tarball
#           (default: /usr/src/linux-source-7.3.tar.xz)
#   OUT     where everything this script makes goes
#           (default: ~/.cache/pkvm-smc-imm/debian-board/<release>)
#
# Debian's headers carry no rust/ build outputs (the kernel crate's
# metadata, the proc macros), without which no Rust module builds. This
# script builds them from linux-source with the headers' own .config, into
# OUT, and then the module against a mirror (symlinks) of the headers'
# directory in which rust/ is added. Nothing is written to /usr/src or /lib/modules.
#
# Rust symbols carry a hash of the crate and of the exact rustc version
# text, so the module links against Debian's kernel only when built with
# the very rustc Debian built it with (trixie's rustc package; rustup's
# rustc of the same version has other hashes). The script refuses any other.
#
# Exit: 0 built, 1 refused or failed, 4 the kernel has no Rust (kselftest's
# skip). JOBS=N sets make's -j; ARCH and CROSS_COMPILE default to arm64
# and aarch64-linux-gnu-, Debian's names also on an arm64 board.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
KDIR=${1:-/lib/modules/$(uname -r)/build}
SOURCE=${2:-/usr/src/linux-source-7.3.tar.xz}
OUT_ARG=${3:-}
JOBS=${JOBS:-$(nproc)}
ARCH=${ARCH:-arm64}
CROSS_COMPILE=${CROSS_COMPILE:-aarch64-linux-gnu-}
START=$(date +%s)

die() {
	printf 'debian-board: error: %s\n' "$*" >&2
	exit 1
}

skip() {
	printf 'debian-board: skip: %s\n' "$*" >&2
	exit 4
}

step() {
	printf 'debian-board: [%4ss] %s\n' "$(($(date +%s) - START))" "$*" >&2
}

# config_value NAME: the value of CONFIG_NAME in the headers' .config,
# without quotes; empty when unset.
config_value() {
	sed -n "s/^CONFIG_$1=\"\{0,1\}\([^\"]*\)\"\{0,1\}\$/\1/p" "$KDIR/.config"
}

# The package that installs KDIR: the one KDIR names, else the running
# kernel's.
headers_package() {
	case ${KDIR%/} in
	*/linux-headers-*) basename "$KDIR" ;;
	*) echo "linux-headers-$(uname -r)" ;;
	esac
}

check_headers() {
	local file
	for file in .config Makefile Module.symvers; do
		[ -f "$KDIR/$file" ] ||
			die "$KDIR is not a kernel build directory (no $file): install the headers: apt install $(headers_package)"
	done
	RELEASE=$(sed -n 's/^#define UTS_RELEASE "\(.*\)"$/\1/p' "$KDIR/include/generated/utsrelease.h" 2>/dev/null) ||
		true
	[ -n "$RELEASE" ] || die "$KDIR has no include/generated/utsrelease.h: reinstall the headers: apt install --reinstall $(headers_package)"
}

# Debian's 6.12 (trixie's default kernel) is built without Rust: no Rust
# module can be loaded into it at all, which is a skip, not an error.
check_kernel_has_rust() {
	local rust rustc
	rust=$(config_value RUST)
	rustc=$(config_value RUSTC_VERSION)
	if [ "$rust" != y ] || [ "${rustc:-0}" = 0 ]; then
		skip "kernel $RELEASE is built without Rust (CONFIG_RUST=${rust:-n}, CONFIG_RUSTC_VERSION=${rustc:-0}), so it cannot load a Rust module; Debian's 7.3 has Rust: apt install -t trixie-backports linux-image-arm64 linux-headers-arm64"
	fi
}

# Only Debian's own 7.3 builds have been tried: their headers are split as
# Debian splits them (.kernelvariables, a -common directory) and linux-source
# -7.3 is the source they were built from.
check_debian_7_3() {
	[ -f "$KDIR/.kernelvariables" ] ||
		die "$KDIR is not Debian's (no .kernelvariables): this script builds for Debian's kernel only; elsewhere use 'make modules KDIR=...' with the kernel's own rust/ outputs"
	case $RELEASE in
	7.3.*) ;;
	*) die "kernel $RELEASE is not Debian's 7.3: boot 7.3 from trixie-backports: apt install -t trixie-backports linux-image-arm64 linux-headers-arm64" ;;
	esac
	COMMON=$(sed -n 's/^include \(.*\)\/Makefile$/\1/p' "$KDIR/Makefile")
	[ -f "$COMMON/Makefile" ] ||
		die "$KDIR/Makefile includes a missing $COMMON/Makefile: apt install --reinstall linux-headers-$RELEASE"
	[ -x "$KDIR/scripts/basic/fixdep" ] ||
		die "$KDIR/scripts is dangling: install Debian's kbuild for it: apt install linux-kbuild-${RELEASE%-*}"
	[ -f "$SOURCE" ] ||
		die "$SOURCE missing: apt install -t trixie-backports linux-source-7.3"
}

# need COMMAND PACKAGE: COMMAND on PATH, else name the package that has it.
need() {
	command -v "$1" >/dev/null 2>&1 || die "$1 not found: apt install $2"
}

# The kernel says which rustc and bindgen built it; anything else gives
# the module other symbol hashes (rustc) or other bindings (bindgen).
check_toolchain() {
	local want have sysroot
	need rustc rustc/trixie
	need bindgen bindgen/trixie
	need make make
	need bc bc
	need flex flex
	need bison bison
	need pahole pahole
	need "${CROSS_COMPILE}gcc-14" "$(gcc_package)"
	# The kernel's prepare step builds the 32-bit vDSO (CONFIG_COMPAT_VDSO)
	# with the compiler Debian's headers name in .kernelvariables.
	need arm-linux-gnueabihf-gcc gcc-arm-linux-gnueabihf
	want=$(config_value RUSTC_VERSION_TEXT)
	have=$(rustc --version)
	[ "$have" = "$want" ] ||
		die "rustc is '$have' ($(command -v rustc)), the kernel was built with '$want': use trixie's rustc (apt install rustc/trixie rust-src/trixie) and put it first on PATH (rustup's rustc of the same version has other symbol hashes)"
	want=$(config_value BINDGEN_VERSION_TEXT)
	have=$(bindgen --version 2>/dev/null | head -n 1)
	[ "$have" = "$want" ] ||
		die "bindgen is '$have' ($(command -v bindgen)), the kernel was built with '$want': apt install bindgen/trixie and put /usr/bin first on PATH"
	sysroot=$(rustc --print sysroot)
	[ -f "$sysroot/lib/rustlib/src/rust/library/core/src/lib.rs" ] ||
		die "rustc's sources are missing under $sysroot/lib/rustlib/src: apt install rust-src/trixie"
}

gcc_package() {
	if [ "$(dpkg --print-architecture 2>/dev/null)" = arm64 ]; then
		echo gcc-14
	else
		echo gcc-14-aarch64-linux-gnu
	fi
}

# unpack_source: linux-source's tree under OUT, once per tarball content.
unpack_source() {
	local sum
	sum=$(sha256sum "$SOURCE" | cut -c1-16)
	SRC=$OUT/source-$sum
	if [ ! -f "$SRC/.unpacked" ]; then
		step "unpacking $SOURCE"
		rm -rf "$SRC"
		mkdir -p "$SRC"
		tar -xf "$SOURCE" -C "$SRC" --strip-components=1
		touch "$SRC/.unpacked"
	fi
	local version
	version=$(make -s -C "$SRC" kernelversion)
	[ "$version" = "${RELEASE%%+*}" ] ||
		die "$SOURCE is Linux $version, the headers are $RELEASE: install the matching linux-source-7.3 (apt install -t trixie-backports linux-source-7.3) and linux-headers-$RELEASE"
}

kmake() {
	make -C "$SRC" O="$OBJ" ARCH="$ARCH" CROSS_COMPILE="$CROSS_COMPILE" "$@"
}

# The tree's configuration must be the headers' own: Kconfig recomputes the
# toolchain's entries (rustc's, bindgen's, pahole's versions, what gcc
# supports), so a different toolchain shows here. gcc's version text alone
# may differ (a Debian revision) without changing what is built.
check_config_matches() {
	local diff
	diff=$(diff <(grep '^CONFIG_' "$KDIR/.config" | grep -v '^CONFIG_CC_VERSION_TEXT=') \
		<(grep '^CONFIG_' "$OBJ/.config" | grep -v '^CONFIG_CC_VERSION_TEXT=')) ||
		die "the configuration differs from the headers' under this toolchain:
$diff"
}

# build_rust_overlay: modules_prepare (which, with CONFIG_RUST, builds
# rust/) in OBJ, with the headers' .config and .kernelvariables (Debian's
# compiler names and release). Skipped when OBJ was built from the same
# inputs.
build_rust_overlay() {
	OBJ=$OUT/obj
	local key
	key=$(cat "$KDIR/.config" "$KDIR/.kernelvariables" <(echo "$SRC") \
		<(rustc --version) <(bindgen --version) | sha256sum | cut -c1-16)
	if [ "$(cat "$OBJ/.rust-overlay" 2>/dev/null)" = "$key" ] &&
		[ -f "$OBJ/rust/libkernel.rmeta" ]; then
		step "rust/ overlay up to date ($OBJ/rust)"
		return
	fi
	mkdir -p "$OBJ"
	rm -f "$OBJ/.rust-overlay"
	cp "$KDIR/.config" "$KDIR/.kernelvariables" "$OBJ/"
	step "configuring $OBJ with the headers' .config"
	kmake -s olddefconfig
	check_config_matches
	step "building rust/ (modules_prepare, -j$JOBS)"
	kmake -j"$JOBS" modules_prepare
	# The same configuration must give the same Rust cfgs as the headers'.
	cmp -s "$KDIR/include/generated/rustc_cfg" "$OBJ/include/generated/rustc_cfg" ||
		die "$OBJ/include/generated/rustc_cfg differs from the headers'"
	echo "$key" >"$OBJ/.rust-overlay"
}

# link_entries FROM TO: TO gets a symlink to each entry of FROM.
link_entries() {
	local entry
	for entry in "$1"/* "$1"/.[!.]*; do
		[ -e "$entry" ] || [ -L "$entry" ] || continue
		ln -sfn "$entry" "$2/${entry##*/}"
	done
}

# assemble_kdir: OUT/kdir is the headers' build directory as Debian ships
# it, plus rust/ in both its halves: OUT/kdir/build (Debian's objtree, with
# the rust/ just built) and OUT/kdir/source (Debian's -common srctree, with
# linux-source's rust/ sources, which the module's Kbuild looks at). Their
# Makefiles are the only files not Debian's: they name these directories
# instead of /usr/src.
assemble_kdir() {
	local kdir=$OUT/kdir
	rm -rf "$kdir"
	mkdir -p "$kdir/build" "$kdir/source"
	link_entries "$KDIR" "$kdir/build"
	link_entries "$COMMON" "$kdir/source"
	# The Makefile's own directory is the srctree (realpath), so it is a
	# copy, not a link.
	rm "$kdir/source/Makefile" "$kdir/build/Makefile"
	cp "$COMMON/Makefile" "$kdir/source/Makefile"
	ln -s "$SRC/rust" "$kdir/source/rust"
	ln -s "$OBJ/rust" "$kdir/build/rust"
	printf 'KBUILD_OUTPUT=%s\ninclude %s/Makefile\n' "$kdir/build" "$kdir/source" >"$kdir/build/Makefile"
	KDIR_OVERLAY=$kdir/build
}

# build_module: the project's ./Kbuild, output in OUT/module (MO=), so the
# repository stays untouched.
build_module() {
	step "building the module against $KDIR_OVERLAY"
	mkdir -p "$OUT/module"
	make -C "$KDIR_OVERLAY" ARCH="$ARCH" CROSS_COMPILE="$CROSS_COMPILE" \
		M="$REPO" MO="$OUT/module" -j"$JOBS" modules
	KO=$OUT/module/rust/smc_imm_test.ko
	[ -f "$KO" ] || die "$KO was not built"
}

main() {
	check_headers
	check_kernel_has_rust
	check_debian_7_3
	check_toolchain
	OUT=${OUT_ARG:-${XDG_CACHE_HOME:-$HOME/.cache}/pkvm-smc-imm/debian-board/$RELEASE}
	mkdir -p "$OUT"
	OUT=$(cd "$OUT" && pwd)
	step "kernel $RELEASE, $(rustc --version), $(bindgen --version 2>/dev/null | head -n 1)"
	unpack_source
	build_rust_overlay
	assemble_kdir
	build_module
	step "built $KO"
	echo "$KO"
}

main
