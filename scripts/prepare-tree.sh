#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# prepare-tree.sh [--patches "P..."] [--mutant PATCH] KERNEL HANDLER:
# bring the testbed's source tree of KERNEL to what HANDLER builds and print
# its path.
#
# There is one tree per kernel version, shared by every handler and profile,
# so that a handler switch rebuilds only what the glue touches. HANDLER
# names a list of patches of hyp/glue/KERNEL/ (its `variants` file);
# --patches gives the list instead (a bisect step), and --mutant applies one
# more patch to the hyp's Rust sources (scripts/mutants.sh), --kvm-mutant
# one to host KVM (kvm-mutants/, patched from the tree's root). --hash changes
# nothing and prints a hash of what the tree would hold. --quiet does not
# name the source package again (build-kernel.sh asks for the hash first).
#
# The switch is by content (scripts/glue.sh): Make rebuilds exactly what
# the switch changed, and an interrupted switch is finished by the next run.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=scripts/glue.sh
. "$(dirname "$0")/glue.sh"

usage="usage: prepare-tree.sh [--hash] [--quiet] [--patches LIST] [--mutant PATCH] [--kvm-mutant PATCH] KERNEL HANDLER"
hash_only=false
patches_given=false
quiet=()
patches=()
mutant=
kvm_mutant=
GLUE_WITH_KVM_MUTANTS=true
while [ $# -gt 0 ]; do
	case $1 in
	--patches)
		patches_given=true
		read -r -a patches <<<"${2?$usage}"
		shift 2
		;;
	--kvm-mutant)
		kvm_mutant=${2:?$usage}
		shift 2
		;;
	--mutant)
		mutant=${2:?$usage}
		shift 2
		;;
	--hash)
		hash_only=true
		shift
		;;
	--quiet)
		quiet=(--quiet)
		shift
		;;
	*) break ;;
	esac
done
KERNEL=${1:?$usage}
HANDLER=${2:?$usage}
check_handler "$KERNEL" "$HANDLER"

pristine=$("$PROJECT_ROOT/scripts/kernel-source.sh" "${quiet[@]}" "$KERNEL")
tree=$CACHE_DIR/trees/$KERNEL

$patches_given || read -r -a patches <<<"$(glue_patches "$KERNEL" "$HANDLER")"
$hash_only || copy_tree_once "$pristine" "$tree"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
glue_copy_managed "$KERNEL" "$pristine" "$stage"
glue_apply "$KERNEL" "$stage" "${patches[@]}" ||
	die "the glue does not apply to Debian's $KERNEL tree (see above)"
if [ -n "$mutant" ]; then
	patch -d "$stage/$GLUE_NVHE" -p1 -F0 -s --no-backup-if-mismatch <"$mutant" >/dev/null ||
		die "mutant $mutant does not apply to hyp/"
fi
if [ -n "$kvm_mutant" ]; then
	patch -d "$stage" -p1 -F0 -s --no-backup-if-mismatch <"$kvm_mutant" >/dev/null ||
		die "mutant $kvm_mutant does not apply to Debian's $KERNEL tree"
	mutant=$kvm_mutant
fi
if $hash_only; then
	# Without a mutant of host KVM its files are Debian's, which the
	# package version already stands for: the key stays what it was.
	if [ -z "$kvm_mutant" ]; then
		sed -n 's|^+++ b/\([^[:space:]]*\).*|\1|p' "$PROJECT_ROOT"/kvm-mutants/*.patch |
			while read -r file; do rm -f "$stage/$file"; done
	fi
	(cd "$stage" && find . -type f -print0 | sort -z | xargs -0 sha256sum) |
		cat - "$pristine/.debian-version" | sha256sum | cut -d' ' -f1
	exit 0
fi
changed=$(glue_sync "$KERNEL" "$stage" "$tree")
if [ "$changed" -gt 0 ]; then
	step "$KERNEL tree: $changed file(s) changed for $HANDLER${mutant:+ + $(basename "$mutant")}"
fi
echo "$tree"
