# SPDX-License-Identifier: GPL-2.0
# Debian trixie's packages for scripts/debian-image.sh, from apt sources of
# its own in the cache (STATE/apt), downloaded into DEBS, never installed.
# Sourced after STATE, DEBS, MIRROR and SECURITY are set.
# shellcheck shell=bash
# shellcheck disable=SC2153 # STATE and the others: the sourcing script's

# shellcheck source=scripts/isolated-apt.sh
. "$PROJECT_ROOT/scripts/isolated-apt.sh"

# The apt sources of this script alone, in the cache: trixie as a user's
# sources.list has it, and trixie-backports for 7.3. The host's apt
# configuration never sees them.
write_sources() {
	mkdir -p "$STATE/apt/sources"
	cat >"$STATE/apt/sources/trixie.sources" <<-EOF
		Types: deb
		URIs: $MIRROR
		Suites: trixie trixie-updates trixie-backports
		Components: main
		Architectures: amd64 arm64
		Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

		Types: deb
		URIs: $SECURITY
		Suites: trixie-security
		Components: main
		Architectures: amd64 arm64
		Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
	EOF
}

debian_apt() {
	isolated_apt "$STATE/apt" "$STATE/apt/sources" "$@"
}

apt_updated=false
apt_update_once() {
	$apt_updated && return
	write_sources
	debian_apt apt-get update -qq || die "apt-get update of $STATE/apt/sources failed; check the network"
	apt_updated=true
}

# deb_of PACKAGE[:ARCH]: the cached .deb of PACKAGE, if any.
deb_of() {
	local name=${1%%:*} arch=${1#*:}
	[ "$arch" = "$1" ] && arch='*'
	compgen -G "$DEBS/${name}_*_$arch.deb" | head -n 1
}

download() {
	local pkg missing=()
	for pkg in "$@"; do
		[ -n "$(deb_of "$pkg")" ] || missing+=("$pkg")
	done
	[ ${#missing[@]} -eq 0 ] && return
	apt_update_once
	for pkg in "${missing[@]}"; do
		debian_apt apt-cache show "$pkg" >/dev/null 2>&1 ||
			die "$pkg is not served by Debian (any more): set DEBIAN_RELEASE to one that is ($(debian_apt apt-cache pkgnames linux-headers- | grep -E '^linux-headers-7\.[0-9.]+\+deb13-arm64$' | sort -V | tail -n 1 | sed 's/^linux-headers-//'))"
	done
	step "downloading ${missing[*]}"
	mkdir -p "$DEBS"
	(cd "$DEBS" && debian_apt apt-get download -qq "${missing[@]}") ||
		die "apt-get download ${missing[*]} failed"
}

# DEB_612: Debian's newest 6.12 arm64 headers (trixie's own kernel), for
# the skip.
download_headers_6_12() {
	local deb
	deb=$(compgen -G "$DEBS/linux-headers-6.12.*+deb13-arm64_*_arm64.deb" | head -n 1) || true
	if [ -z "$deb" ]; then
		apt_update_once
		local pkg
		pkg=$(debian_apt apt-cache depends linux-headers-arm64:arm64 |
			sed -n 's/^ *Depends: \(linux-headers-6\.12[^:]*\).*/\1/p' | head -n 1)
		[ -n "$pkg" ] || die "trixie's linux-headers-arm64 names no 6.12 headers"
		download "$pkg:arm64"
		deb=$(deb_of "$pkg:arm64")
	fi
	# shellcheck disable=SC2034 # read by the sourcing script
	DEB_612=$deb
}
