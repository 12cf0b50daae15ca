#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Install everything the testbed needs on a Debian 12 host. Idempotent: a
# second run checks, finds nothing missing and says so.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

DEBIAN_PACKAGES=(
	bc bison flex make cpio xz-utils kmod file python3 perl
	libelf-dev libssl-dev
	clang-19 lld-19 llvm-19 libclang-19-dev
	qemu-system-arm ccache shellcheck
	debian-archive-keyring dpkg-dev
	python3-sphinx python3-ply python3-git python3-jsonschema
	# scripts/patches.sh checks the series it writes as mail with these.
	git-email b4
	# the docs results chart; kselftest install (lib.mk); pkvm-fail device tree
	python3-matplotlib rsync device-tree-compiler
	mmdebstrap qemu-efi-aarch64 # Debian's kernel: debian-image.sh's trixie chroot, debian-boot.sh's UEFI
	# PROFILE=gcc, make debian-hyp (kernels built as Debian builds them) and
	# scripts/kvm-selftests.sh (the kernel's KVM selftests, static arm64 programs)
	gcc-aarch64-linux-gnu libc6-dev-arm64-cross
)
BINDGEN_VERSION=0.73.2
BUSYBOX_DIR=$CACHE_DIR/busybox

installed_something=false

# One dpkg-query for them all (it exits 1 when one is unknown to dpkg):
# make qemu runs this check before every build. A package counts by its
# name or its name with the architecture (libc6:amd64), held or not.
missing_debian_packages() {
	local pkg binary name status
	local -A installed=()
	while read -r binary name status; do
		[ "$status" != installed ] || installed[$binary]=1 installed[$name]=1
	done < <(dpkg-query -W -f='${binary:Package} ${Package} ${db:Status-Status}\n' \
		"${DEBIAN_PACKAGES[@]}" 2>/dev/null || true)
	for pkg in "${DEBIAN_PACKAGES[@]}"; do
		[ -n "${installed[$pkg]:-}" ] || echo "$pkg"
	done
}

install_debian_packages() {
	local missing
	mapfile -t missing < <(missing_debian_packages)
	[ ${#missing[@]} -eq 0 ] && return
	step "installing Debian packages: ${missing[*]}"
	[ "$(id -u)" -eq 0 ] || die "installing packages needs root: sudo make deps"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		"${missing[@]}" >/dev/null
	installed_something=true
}

# The kernels' Rust toolchain (KERNEL_RUST_TOOLCHAIN, scripts/kbuild.sh), with
# what Kbuild needs of it: the standard library's sources, rustfmt, clippy.
install_kernel_rust() {
	local component installed missing=()
	need_tool rustup
	installed=$(rustup component list --toolchain "$KERNEL_RUST_TOOLCHAIN" --installed 2>/dev/null || true)
	for component in rust-src rustfmt clippy; do
		grep -q "^$component" <<<"$installed" || missing+=("$component")
	done
	[ ${#missing[@]} -eq 0 ] && return
	step "installing Rust $KERNEL_RUST_TOOLCHAIN with ${missing[*]} (rustup)"
	rustup toolchain install "$KERNEL_RUST_TOOLCHAIN" --profile minimal \
		--component rust-src --component rustfmt --component clippy ||
		die "rustup could not install Rust $KERNEL_RUST_TOOLCHAIN; check the network and retry 'make deps'"
	installed_something=true
}

install_bindgen() {
	if command -v bindgen >/dev/null 2>&1 &&
		bindgen --version | grep -q " $BINDGEN_VERSION\$"; then
		return
	fi
	step "installing bindgen-cli $BINDGEN_VERSION (cargo install, a few minutes)"
	cargo install --locked --quiet bindgen-cli --version "$BINDGEN_VERSION"
	installed_something=true
}

# The guest's userspace: Debian's static arm64 busybox, unpacked into the
# cache rather than installed, so the host's dpkg state stays amd64-only
# except for the added architecture apt needs to resolve the download.
install_busybox() {
	[ -x "$BUSYBOX_DIR/bin/busybox" ] && return
	step "downloading busybox-static:arm64"
	if ! dpkg --print-foreign-architectures | grep -qx arm64; then
		dpkg --add-architecture arm64
		apt-get update -qq
	fi
	local tmp
	tmp=$(mktemp -d)
	(cd "$tmp" && apt-get download -qq -o APT::Sandbox::User=root busybox-static:arm64) ||
		die "apt-get download busybox-static:arm64 failed; run 'apt-get update' and retry"
	mkdir -p "$BUSYBOX_DIR.tmp"
	dpkg-deb -x "$tmp"/busybox-static_*_arm64.deb "$BUSYBOX_DIR.tmp"
	rm -rf "$tmp" "$BUSYBOX_DIR"
	mkdir -p "$BUSYBOX_DIR/bin"
	mv "$BUSYBOX_DIR.tmp/bin/busybox" "$BUSYBOX_DIR/bin/busybox"
	rm -rf "$BUSYBOX_DIR.tmp"
	file "$BUSYBOX_DIR/bin/busybox" | grep -q 'ARM aarch64' ||
		die "unpacked busybox is not an arm64 binary"
	installed_something=true
}

main() {
	mkdir -p "$CACHE_DIR" || die "cannot create cache dir $CACHE_DIR; set PKVM_SMC_CACHE"
	install_debian_packages
	install_kernel_rust
	install_bindgen
	install_busybox
	if $installed_something; then
		step "dependencies installed"
	else
		step "dependencies: nothing missing"
	fi
}

main "$@"
