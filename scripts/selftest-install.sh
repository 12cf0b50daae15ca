#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# selftest-install.sh KERNEL_TREE | --list: put the kselftest target into a
# kernel tree, as tools/testing/selftests/pkvm_smc_imm/: selftests/'s files, and
# the modules' sources (rust/Kbuild, rust/*.rs, rust/*.c) in its test_modules/, which
# lib.mk builds through TEST_GEN_MODS_DIR. Then, in the tree,
#
#   make -C tools/testing/selftests TARGETS=pkvm_smc_imm ARCH=arm64 LLVM=-19 \
#        KDIR=<kernel build dir> INSTALL_PATH=<dir> install
#
# A file is rewritten only if it differs, so that Kbuild's next build stays
# incremental; sources no longer in the project are removed. Prints the
# target's directory.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

usage="usage: selftest-install.sh KERNEL_TREE | --list"
# The globs' order is the build key's: the same in every locale.
export LC_ALL=C

# sources: what the target is made of, as "SOURCE<tab>DESTINATION" lines, the
# destination relative to the target's directory. --list prints the
# sources alone: what scripts/build-kernel.sh's build key hashes, and
# nothing else of selftests/ (selftests/kvm/ is scripts/kvm-selftests.sh's,
# keyed there).
sources() {
	local file
	for file in Makefile config settings smc_imm.sh; do
		printf '%s\t%s\n' "$PROJECT_ROOT/selftests/$file" "$file"
	done
	printf '%s\t%s\n' "$PROJECT_ROOT/selftests/test_modules/Makefile" test_modules/Makefile
	printf '%s\t%s\n' "$PROJECT_ROOT/rust/Kbuild" test_modules/Kbuild
	for file in "$PROJECT_ROOT"/rust/*.rs "$PROJECT_ROOT"/rust/*.c; do
		printf '%s\ttest_modules/%s\n' "$file" "${file##*/}"
	done
}

[ $# -eq 1 ] || die "$usage"
if [ "$1" = --list ]; then
	sources | cut -f1
	exit 0
fi
tree=$1
[ -f "$tree/tools/testing/selftests/lib.mk" ] ||
	die "$tree is not a kernel tree (no tools/testing/selftests/lib.mk)"
target=$(cd "$tree/tools/testing/selftests" && pwd)/pkvm_smc_imm
mkdir -p "$target/test_modules"

updated=0
installed=()

# install_file SRC DEST: DEST gets SRC's content and mode.
install_file() {
	local src=$1 dest=$2
	if ! cmp -s "$src" "$dest"; then
		cp "$src" "$dest"
		updated=$((updated + 1))
	fi
	chmod --reference="$src" "$dest"
	installed+=("$dest")
}

while IFS=$'\t' read -r src dest; do
	install_file "$src" "$target/$dest"
done < <(sources)

# What an earlier version installed and this one does not: only sources,
# never what Kbuild built next to them.
removed=0
for file in "$target"/*.sh "$target"/test_modules/*.rs "$target"/test_modules/*.c; do
	[ -e "$file" ] || continue
	# modpost writes NAME.mod.c beside the sources.
	case $file in
	*.mod.c) continue ;;
	esac
	case " ${installed[*]} " in
	*" $file "*) ;;
	*)
		rm -f "$file"
		removed=$((removed + 1))
		;;
	esac
done

step "selftest-install: $target ($updated updated, $removed removed, ${#installed[@]} in all)"
echo "$target"
