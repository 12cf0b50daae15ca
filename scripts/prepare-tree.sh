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
# one to host KVM (kvm-mutants/, patched from the tree's root).
#
# The tree's files are first made in a staging directory: Debian's files
# that the glue manages, with the patches applied. --stage DIR keeps them in
# DIR (an empty directory of the caller's), changes nothing else and prints a
# hash of what the tree would hold: scripts/build-kernel.sh's build key.
# --from-stage DIR, with the same arguments, then brings the tree to that
# staging, without making it again; only to a staging that was completed.
#
# The switch is by content (scripts/glue.sh): Make rebuilds exactly what
# the switch changed, and an interrupted switch is finished by the next run.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=scripts/glue.sh
. "$(dirname "$0")/glue.sh"

# The last thing --stage writes; glue_sync copies only managed files.
STAGED=.pkvm-smc-staged
usage="usage: prepare-tree.sh [--stage DIR | --from-stage DIR] [--patches LIST] [--mutant PATCH] [--kvm-mutant PATCH] KERNEL HANDLER"
stage=
staged=false
patches_given=false
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
	--stage | --from-stage)
		[ -z "$stage" ] || die "$usage"
		stage=${2:?$usage}
		[ -d "$stage" ] || die "$1 $stage: no such directory"
		if [ "$1" = --stage ]; then
			[ -z "$(ls -A "$stage")" ] || die "--stage $stage: not empty"
		else
			staged=true
			[ -f "$stage/$STAGED" ] ||
				die "--from-stage $stage: not a complete staging (prepare-tree.sh --stage failed?)"
		fi
		shift 2
		;;
	*) break ;;
	esac
done
KERNEL=${1:?$usage}
HANDLER=${2:?$usage}
check_handler "$KERNEL" "$HANDLER"

pristine=$("$PROJECT_ROOT/scripts/kernel-source.sh" "$KERNEL")
tree=$CACHE_DIR/trees/$KERNEL

# make_stage: Debian's managed files, the glue and the mutant, in $stage.
make_stage() {
	$patches_given || read -r -a patches <<<"$(glue_patches "$KERNEL" "$HANDLER")"
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
	fi
}

# stage_hash: what the tree would hold, as one hash: every file the glue
# manages (those a kvm-mutant touches as well, Debian's where there is no
# mutant), and the Debian version of the rest.
stage_hash() {
	(cd "$stage" && find . -type f -print0 | sort -z | xargs -0 sha256sum) |
		cat - "$pristine/.debian-version" | sha256sum | cut -d' ' -f1
}

if [ -z "$stage" ]; then
	stage=$(mktemp -d)
	trap 'rm -rf "$stage"' EXIT
	make_stage
elif ! $staged; then
	make_stage
	stage_hash
	touch "$stage/$STAGED"
	exit 0
fi
copy_tree_once "$pristine" "$tree"
mutant=${kvm_mutant:-$mutant}
changed=$(glue_sync "$KERNEL" "$stage" "$tree")
if [ "$changed" -gt 0 ]; then
	step "$KERNEL tree: $changed file(s) changed for $HANDLER${mutant:+ + $(basename "$mutant")}"
fi
echo "$tree"
