#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# hyp-install.sh install|uninstall|status KDIR
#
# Integrates hyp/ into an arm64 kernel tree: copies the Rust handler and
# the symbol check into arch/arm64/kvm/hyp/nvhe/ and applies the small C,
# Makefile and Kconfig glue of hyp/glue/<version>/. Idempotent; files
# are rewritten only when they differ, so rebuilds stay incremental. The
# glue is checked before anything is written: a tree that is not what it
# expects is refused untouched.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

usage="usage: hyp-install.sh install|uninstall|status KDIR"
action=${1:?$usage}
kdir=${2:?$usage}
nvhe=arch/arm64/kvm/hyp/nvhe
hyp_files=(host_smc.rs host_smc_policy.rs check-hyp-symbols.sh)

if [ ! -f "$kdir/Makefile" ] || [ ! -d "$kdir/$nvhe" ]; then
	die "$kdir is not an arm64 kernel tree (no Makefile or $nvhe/)"
fi
need_tool patch

tree_version() {
	local version patchlevel
	version=$(sed -n 's/^VERSION = //p' "$kdir/Makefile")
	patchlevel=$(sed -n 's/^PATCHLEVEL = //p' "$kdir/Makefile")
	echo "$version.$patchlevel"
}

glue_dir=$PROJECT_ROOT/hyp/glue/$(tree_version)
# The first two patches of the series integrate the handler; the others
# (a C backport on 6.12) are for `make patches` only.
glue_patches=(01-build-rust-objects.patch 02-rust-host-smc-handler.patch)
glue="hyp/glue/$(tree_version)/{${glue_patches[0]},${glue_patches[1]}}"
[ -f "$glue_dir/${glue_patches[0]}" ] ||
	die "kernel $(tree_version) in $kdir is not supported; hyp/glue/ has: $(find "$PROJECT_ROOT/hyp/glue" -mindepth 1 -maxdepth 1 -type d -printf '%f ')"

# The glue patches touch disjoint lines, so they apply, and are checked,
# as one.
glue_patch() {
	(cd "$glue_dir" && cat "${glue_patches[@]}") |
		patch -d "$kdir" -p1 -F0 -s --no-backup-if-mismatch "$@"
}

glue_applied() {
	glue_patch -R --dry-run -f >/dev/null 2>&1
}

install() {
	if ! glue_applied; then
		glue_patch -N --dry-run >/dev/null 2>&1 ||
			die "$kdir does not match $glue (handle_host_smc(), the nVHE Makefile or the KVM Kconfig differ); nothing was changed"
		glue_patch -N
		echo "hyp-install: applied $glue to $kdir"
	fi
	local file
	for file in "${hyp_files[@]}"; do
		cmp -s "$PROJECT_ROOT/hyp/$file" "$kdir/$nvhe/$file" ||
			cp "$PROJECT_ROOT/hyp/$file" "$kdir/$nvhe/$file"
	done
}

uninstall() {
	if glue_applied; then
		glue_patch -R
		echo "hyp-install: reverted $glue in $kdir"
	fi
	local file
	for file in "${hyp_files[@]}"; do
		rm -f "$kdir/$nvhe/$file"
	done
}

status() {
	if glue_applied; then
		echo "installed ($glue)"
	else
		echo "not installed"
		return 1
	fi
}

case $action in
install | uninstall | status) "$action" ;;
*) die "$usage" ;;
esac
