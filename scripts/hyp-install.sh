#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# hyp-install.sh install|uninstall|status KDIR
#
# Integrates hyp/ into an arm64 kernel tree: applies the series of
# hyp/glue/<version>/ that the testbed's rust handler builds (its
# `variants` file: on 6.12 the stable backports of upstream's C checks
# first), with the Rust handler and the symbol check it adds to
# arch/arm64/kvm/hyp/nvhe/. Idempotent; files are rewritten only when their
# content changes, so rebuilds stay incremental. The whole series is applied
# to a scratch copy first: a tree that is not what it expects (a vendor's
# handle_host_smc(), say) is refused untouched.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=scripts/glue.sh
. "$(dirname "$0")/glue.sh"

usage="usage: hyp-install.sh install|uninstall|status KDIR"
action=${1:?$usage}
kdir=${2:?$usage}

if [ ! -f "$kdir/Makefile" ] || [ ! -d "$kdir/$GLUE_NVHE" ]; then
	die "$kdir is not an arm64 kernel tree (no Makefile or $GLUE_NVHE/)"
fi
need_tool patch

tree_version() {
	local version patchlevel
	version=$(sed -n 's/^VERSION = //p' "$kdir/Makefile")
	patchlevel=$(sed -n 's/^PATCHLEVEL = //p' "$kdir/Makefile")
	echo "$version.$patchlevel"
}

version=$(tree_version)
[ -f "$PROJECT_ROOT/hyp/glue/$version/variants" ] ||
	die "kernel $version in $kdir is not supported; hyp/glue/ has: $(find "$PROJECT_ROOT/hyp/glue" -mindepth 1 -maxdepth 1 -type d -printf '%f ')"
read -r -a series <<<"$(glue_patches "$version" rust)"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

# Installed: the series reverts cleanly from what the tree has.
installed() {
	local check=$stage/check
	rm -rf "$check"
	mkdir -p "$check"
	glue_copy_managed "$version" "$kdir" "$check"
	glue_revert "$version" "$check" "${series[@]}"
}

install() {
	if installed; then
		# Only hyp/'s own files can have changed since.
		glue_copy_managed "$version" "$kdir" "$stage"
		glue_revert "$version" "$stage" "${series[@]}"
	else
		glue_copy_managed "$version" "$kdir" "$stage"
	fi
	glue_apply "$version" "$stage" "${series[@]}" ||
		die "$kdir does not match hyp/glue/$version (handle_host_smc(), the nVHE Makefile, the KVM Kconfig or rust/Makefile's bindgen flags differ); nothing was changed"
	echo "hyp-install: $(glue_sync "$version" "$stage" "$kdir") file(s) of $kdir changed (hyp/glue/$version: ${series[*]})"
}

uninstall() {
	installed || die "hyp/glue/$version is not installed in $kdir; nothing was changed"
	glue_copy_managed "$version" "$kdir" "$stage"
	glue_revert "$version" "$stage" "${series[@]}"
	echo "hyp-install: $(glue_sync "$version" "$stage" "$kdir") file(s) of $kdir restored"
}

status() {
	if installed; then
		echo "installed (hyp/glue/$version: ${series[*]})"
	else
		echo "not installed"
		return 1
	fi
}

case $action in
install | uninstall | status) "$action" ;;
*) die "$usage" ;;
esac
