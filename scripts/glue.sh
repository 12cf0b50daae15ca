# SPDX-License-Identifier: GPL-2.0
# The glue of hyp/glue/KERNEL/ applied to a kernel tree by content, for
# scripts/prepare-tree.sh (the testbed's trees) and scripts/hyp-install.sh
# (a user's tree); sourced after lib.sh.
#
# A handler is a list of patches (hyp/glue/KERNEL/variants); some of them
# also add files of hyp/ to arch/arm64/kvm/hyp/nvhe/ (hyp/glue/files). The
# target state of every file the glue may touch is computed in a scratch
# directory first, so that a patch that does not apply leaves the tree
# untouched, and then only the files whose content differs are rewritten,
# each through a rename: unchanged files keep their mtimes (Make rebuilds
# exactly what changed) and an interrupted run is finished by the next.
# shellcheck shell=bash

GLUE_NVHE=arch/arm64/kvm/hyp/nvhe

# glue_patches KERNEL HANDLER: the patches HANDLER applies, in order.
glue_patches() {
	sed -n "s/^$2[[:space:]]\+//p" "$PROJECT_ROOT/hyp/glue/$1/variants"
}

# glue_new_files PATCH: the hyp/ files PATCH adds.
glue_new_files() {
	local stem=${1%.patch}
	stem=${stem#[0-9][0-9]-}
	sed -n "s/^${stem}[[:space:]]\+//p" "$PROJECT_ROOT/hyp/glue/files"
}

# The testbed's trees (scripts/prepare-tree.sh) also manage the files the
# mutants of host KVM (kvm-mutants/) change, so that every tree the glue
# prepares has them as Debian ships them unless a mutant is asked for; a
# user's tree (scripts/hyp-install.sh) does not.
GLUE_WITH_KVM_MUTANTS=false

# glue_managed_files KERNEL: every file a patch of KERNEL touches or adds.
glue_managed_files() {
	local patch file
	if $GLUE_WITH_KVM_MUTANTS; then
		sed -n 's|^+++ b/\([^[:space:]]*\).*|\1|p' "$PROJECT_ROOT"/kvm-mutants/*.patch
	fi
	for patch in "$PROJECT_ROOT/hyp/glue/$1"/*.patch; do
		sed -n 's|^+++ b/\([^[:space:]]*\).*|\1|p' "$patch"
		for file in $(glue_new_files "$(basename "$patch")"); do
			echo "$GLUE_NVHE/$file"
		done
	done | sort -u
}

# glue_copy_managed KERNEL FROM STAGE: the managed files FROM has.
glue_copy_managed() {
	local file
	while read -r file; do
		if [ -f "$2/$file" ]; then
			mkdir -p "$3/$(dirname "$file")"
			cp "$2/$file" "$3/$file"
		fi
	done < <(glue_managed_files "$1")
}

# glue_apply KERNEL STAGE PATCH...: apply PATCHes to STAGE and add their
# files; fails, with the patch named, if one does not apply.
glue_apply() {
	local kernel=$1 stage=$2 patch file
	shift 2
	for patch in "$@"; do
		patch -d "$stage" -p1 -F0 -s --no-backup-if-mismatch \
			<"$PROJECT_ROOT/hyp/glue/$kernel/$patch" >/dev/null 2>&1 || {
			echo "hyp/glue/$kernel/$patch does not apply" >&2
			return 1
		}
		for file in $(glue_new_files "$patch"); do
			mkdir -p "$stage/$GLUE_NVHE"
			cp "$PROJECT_ROOT/hyp/$file" "$stage/$GLUE_NVHE/$file"
		done
	done
}

# glue_revert KERNEL STAGE PATCH...: undo PATCHes, last first, and remove
# their files; fails if one is not applied.
glue_revert() {
	local kernel=$1 stage=$2 i patch file
	shift 2
	local patches=("$@")
	for ((i = ${#patches[@]} - 1; i >= 0; i--)); do
		patch=${patches[i]}
		for file in $(glue_new_files "$patch"); do
			rm -f "$stage/$GLUE_NVHE/$file"
		done
		patch -d "$stage" -p1 -R -F0 -s --no-backup-if-mismatch \
			<"$PROJECT_ROOT/hyp/glue/$kernel/$patch" >/dev/null 2>&1 || return 1
	done
}

# glue_sync KERNEL STAGE TREE: make TREE's managed files what STAGE has
# (absent from STAGE: removed); prints how many changed.
glue_sync() {
	local stage=$2 tree=$3 file changed=0
	while read -r file; do
		if [ -f "$stage/$file" ]; then
			if ! cmp -s "$stage/$file" "$tree/$file"; then
				mkdir -p "$tree/$(dirname "$file")"
				cp "$stage/$file" "$tree/$file.pkvm-smc-new"
				mv "$tree/$file.pkvm-smc-new" "$tree/$file"
				changed=$((changed + 1))
			fi
		elif [ -e "$tree/$file" ]; then
			rm -f "$tree/$file"
			changed=$((changed + 1))
		fi
	done < <(glue_managed_files "$1")
	echo "$changed"
}
