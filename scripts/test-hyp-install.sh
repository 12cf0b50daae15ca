#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# test-hyp-install.sh [KERNEL...]: hyp-install on copies of the pristine
# trees' arch/arm64/kvm: install twice (idempotent), uninstall (back to
# pristine, byte for byte), and refusal, untouched, of a tree whose
# handle_host_smc() is not what the glue expects.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

[ $# -gt 0 ] || set -- 6.12 7.3
install=$PROJECT_ROOT/scripts/hyp-install.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Just what hyp-install reads and writes: the version, arch/arm64/kvm, the
# arm64 headers the glue declares things in, and rust/Makefile, whose
# bindgen flags the glue moves to scripts/Makefile.bindgen.
copy_tree() {
	mkdir -p "$2/arch/arm64" "$2/rust" "$2/scripts"
	cp "$1/Makefile" "$2/"
	cp "$1/rust/Makefile" "$2/rust/"
	cp -a "$1/arch/arm64/kvm" "$1/arch/arm64/include" "$2/arch/arm64/"
}

for kernel in "$@"; do
	pristine=$("$PROJECT_ROOT/scripts/kernel-source.sh" "$kernel")
	tree=$work/$kernel
	copy_tree "$pristine" "$tree"

	"$install" install "$tree" >/dev/null
	cp -a "$tree" "$work/once"
	"$install" install "$tree" >/dev/null
	diff -r "$work/once" "$tree" >/dev/null || die "$kernel: a second install changed the tree"
	"$install" status "$tree" >/dev/null || die "$kernel: status does not say installed"
	"$install" uninstall "$tree" >/dev/null
	for dir in arch/arm64/kvm arch/arm64/include; do
		diff -r "$pristine/$dir" "$tree/$dir" >/dev/null ||
			die "$kernel: uninstall did not restore the pristine $dir"
	done
	echo "ok: hyp-install $kernel: install, reinstall (no change), uninstall (pristine)"

	sed -i 's/func_id &= ~ARM_SMCCC_CALL_HINTS;/func_id \&= ~ARM_SMCCC_CALL_HINTS; \/* vendor *\//' \
		"$tree/arch/arm64/kvm/hyp/nvhe/hyp-main.c"
	rm -rf "$work/once"
	cp -a "$tree" "$work/once"
	if "$install" install "$tree" 2>"$work/err"; then
		die "$kernel: a modified handle_host_smc() was not refused"
	fi
	grep -q 'nothing was changed' "$work/err" || die "$kernel: refusal without its reason: $(cat "$work/err")"
	diff -r "$work/once" "$tree" >/dev/null || die "$kernel: a refused install changed the tree"
	rm -rf "$work/once" "$tree"
	echo "ok: hyp-install $kernel: refuses a modified handle_host_smc(), tree untouched"
done
