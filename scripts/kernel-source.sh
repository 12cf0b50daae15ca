#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# kernel-source.sh [--config] KERNEL: download Debian's linux-source-KERNEL
# once, unpack it into the cache and print the pristine tree's path on
# stdout; the version is named when it is unpacked (and by every kernel
# build: scripts/build-kernel.sh). With --config, the same for Debian's
# linux-config-KERNEL (arm64): print the path of its arm64 kernel
# configuration.
#
# The pristine tree is never modified or built in; the testbed works on a
# copy of it (scripts/prepare-tree.sh).
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=scripts/isolated-apt.sh
. "$(dirname "$0")/isolated-apt.sh"

WANT=source
if [ "${1:-}" = --config ]; then
	WANT=config
	shift
fi
KERNEL=${1:?usage: kernel-source.sh [--config] KERNEL}
PACKAGE=$(kernel_package "$KERNEL")
SRC_DIR=$CACHE_DIR/src/$KERNEL
# Debian ships each version's configurations in linux-config-VERSION, one
# package per architecture; dpkg knows arm64 since scripts/deps.sh.
CONFIG_PACKAGE=linux-config-$KERNEL:arm64
CONFIG_DIR=$CACHE_DIR/config/$KERNEL
DEB_DIR=$CACHE_DIR/debs
APT_STATE=$CACHE_DIR/apt

# Enough for the .deb, the unpacked tree and one copy per handler.
NEEDED_GB=6

# apt run against only this project's source list (apt/), with lists of
# its own.
project_apt() {
	isolated_apt "$APT_STATE" "$PROJECT_ROOT/apt" "$@"
}

# KERNEL 6.12 is bookworm's own package; anything newer comes through the
# project's trixie-backports list.
uses_backports() {
	[ "$KERNEL" != 6.12 ]
}

apt_for_kernel() {
	if uses_backports; then
		project_apt "$@"
	else
		"$@"
	fi
}

newest_served_source() {
	apt_for_kernel apt-cache pkgnames linux-source- 2>/dev/null |
		grep -E '^linux-source-[0-9]+\.[0-9]+$' | sort -V | tail -n 1
}

check_disk_space() {
	mkdir -p "$CACHE_DIR" || die "cannot create cache dir $CACHE_DIR; set PKVM_SMC_CACHE to a writable directory"
	local free_kb
	free_kb=$(df -Pk "$CACHE_DIR" | awk 'NR == 2 { print $4 }')
	[ "$free_kb" -ge $((NEEDED_GB * 1024 * 1024)) ] ||
		die "only $((free_kb / 1024)) MiB free in $CACHE_DIR, need ${NEEDED_GB} GiB; free some space or set PKVM_SMC_CACHE to another disk"
}

download_deb() {
	if compgen -G "$DEB_DIR/${PACKAGE}_*.deb" >/dev/null; then
		return
	fi
	step "downloading $PACKAGE"
	check_disk_space
	if uses_backports; then
		project_apt apt-get update -qq ||
			die "apt-get update for $PROJECT_ROOT/apt failed; check the network and debian-archive-keyring"
	fi
	if ! apt_for_kernel apt-cache show "$PACKAGE" >/dev/null 2>&1; then
		die "$PACKAGE is no longer served by Debian; the newest is $(newest_served_source || echo 'none'): update KERNEL_PACKAGES in scripts/testbed/axes.py"
	fi
	mkdir -p "$DEB_DIR.partial"
	(cd "$DEB_DIR.partial" && apt_for_kernel apt-get download -qq -o APT::Sandbox::User=root "$PACKAGE") ||
		die "apt-get download $PACKAGE failed"
	mkdir -p "$DEB_DIR"
	mv "$DEB_DIR.partial"/"${PACKAGE}"_*.deb "$DEB_DIR"/
	rmdir "$DEB_DIR.partial"
}

# Unpack into a temporary directory and rename, so an interrupted unpack is
# never mistaken for a complete tree.
unpack_tree() {
	[ -f "$SRC_DIR/Makefile" ] && return
	local deb tmp tarball
	deb=$(compgen -G "$DEB_DIR/${PACKAGE}_*.deb" | head -n 1)
	step "unpacking $(basename "$deb")"
	check_disk_space
	tmp=$SRC_DIR.partial
	rm -rf "$tmp"
	mkdir -p "$tmp/deb"
	dpkg-deb -x "$deb" "$tmp/deb"
	tarball=$(compgen -G "$tmp/deb/usr/src/$PACKAGE.tar.*" | head -n 1) ||
		die "$deb holds no /usr/src/$PACKAGE.tar.*"
	tar -xf "$tarball" -C "$tmp"
	rm -rf "$SRC_DIR"
	mv "$tmp/$PACKAGE" "$SRC_DIR"
	rm -rf "$tmp"
	dpkg-deb -f "$deb" Version >"$SRC_DIR/.debian-version"
	step "$PACKAGE $(cat "$SRC_DIR/.debian-version"), kernel $(make -s -C "$SRC_DIR" kernelversion)"
}

# The arm64 configuration Debian builds its generic arm64 kernel with.
config_file() {
	local config=$CONFIG_DIR/config.arm64
	if [ ! -f "$config" ]; then
		local tmp deb
		step "downloading $CONFIG_PACKAGE"
		tmp=$(mktemp -d)
		(cd "$tmp" && apt_for_kernel apt-get download -qq -o APT::Sandbox::User=root "$CONFIG_PACKAGE") ||
			die "apt-get download $CONFIG_PACKAGE failed; run 'make deps' (it adds the arm64 architecture) and retry"
		deb=$(compgen -G "$tmp/*.deb" | head -n 1)
		dpkg-deb -x "$deb" "$tmp/x"
		mkdir -p "$CONFIG_DIR"
		xzcat "$tmp/x/usr/src/linux-config-$KERNEL/config.arm64_none_arm64.xz" >"$config.partial" ||
			die "$deb has no config.arm64_none_arm64.xz"
		mv "$config.partial" "$config"
		dpkg-deb -f "$deb" Version >"$CONFIG_DIR/.debian-version"
		rm -rf "$tmp"
	fi
	echo "$config"
}

# apt-get's lists and download directory (DEB_DIR.partial) are one for
# every kernel, whose steps make check runs side by side: apt's part of
# this script takes its turn.
main() {
	if [ "$WANT" = config ]; then
		if [ -f "$CONFIG_DIR/config.arm64" ]; then
			echo "$CONFIG_DIR/config.arm64"
		else
			with_lock apt config_file
		fi
		return
	fi
	# The lock only for a download: a kernel's every step calls this.
	compgen -G "$DEB_DIR/${PACKAGE}_*.deb" >/dev/null || with_lock apt download_deb
	unpack_tree
	echo "$SRC_DIR"
}

main
