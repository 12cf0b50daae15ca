#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# testbed-test.sh: the testbed's own tests, run by scripts/host-test.sh. Each
# shell test below is a defect the testbed once had, rebuilt with stand-ins
# (no kernel, no QEMU) so that it fails on the code that had it; then the
# Python package's unit tests.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

# make deps installs python3, and sources lib.sh first: lib.sh once died
# there resolving python3 (exit 127) on a machine without it.
step "lib.sh on a machine without python3"
work=$(mktemp -d)
for tool in bash dirname date; do ln -s "$(command -v "$tool")" "$work/"; done
# shellcheck disable=SC2016 # the inner bash expands them
got=$(env -u PKVM_SMC_PYTHON PATH="$work" "$work/bash" -c \
	'. "$1/scripts/lib.sh" && echo "$PKVM_SMC_PYTHON"' lib "$PROJECT_ROOT" 2>&1 || true)
[ "$got" = python3 ] || die "lib.sh without python3: $got"
rm -rf "$work"
echo "ok: lib.sh without python3 leaves the name for make deps to install"

# An interrupted copy of a kernel tree must not be taken for a tree: the
# next run starts the copy over (it used to nest the source inside the
# leftover and stamp that as complete).
step "tree copies survive an interruption"
work=$(mktemp -d)
mkdir -p "$work/src/arch"
echo pristine >"$work/src/Makefile"
mkdir -p "$work/tree.partial/arch"
echo "half-copied" >"$work/tree.partial/arch/leftover"
copy_tree_once "$work/src" "$work/tree" 2>/dev/null
[ "$(cat "$work/tree/Makefile" 2>/dev/null)" = pristine ] ||
	die "copy_tree_once after an interrupted copy: no Makefile at the top of the tree"
if [ -e "$work/tree/src" ] || [ -e "$work/tree/arch/leftover" ] || [ -e "$work/tree.partial" ]; then
	die "copy_tree_once after an interrupted copy: the leftover survived"
fi
rm -rf "$work"
echo "ok: an interrupted tree copy is redone, not nested"

# A fresh clone has no build/ yet, and a build the cache holds must land in
# build/NAME/ all the same: the copy once failed there, in a condition where
# errexit did not hold, and the build went on to say it had been taken
# from the cache, leaving nothing to boot. Each take runs in a shell of its
# own, so that errexit holds as it does in build-kernel.sh.
step "a build taken from the cache lands in a fresh clone's build/"
work=$(mktemp -d)
mkdir -p "$work/cache/builds/KEY/kselftest"
printf '{"kernel": "7.3", "from_cache": null}\n' >"$work/cache/builds/KEY/build.json"
# take DEST: cache_take KEY DEST, from the stand-in cache.
take() {
	PKVM_SMC_CACHE=$work/cache bash -c 'set -euo pipefail
		. "$1/scripts/lib.sh"
		. "$1/scripts/build-cache.sh"
		cache_has KEY
		cache_take KEY "$2"' take "$PROJECT_ROOT" "$1"
}
take "$work/clone/build/7.3-rust-gcc" 2>"$work/err" ||
	die "cache_take into a clone with no build/: $(cat "$work/err")"
[ -d "$work/clone/build/7.3-rust-gcc/kselftest" ] ||
	die "cache_take into a clone with no build/ left no build/7.3-rust-gcc/"
[ "$(testbed cache-entry "$work/clone/build/7.3-rust-gcc/build.json")" = KEY ] ||
	die "cache_take did not mark build.json with the entry it came from"
# Taken again, a build already in place stays as it is: a boot may be
# reading it.
touch "$work/clone/build/7.3-rust-gcc/max-hvhe.log"
take "$work/clone/build/7.3-rust-gcc" 2>"$work/err" || die "cache_take again: $(cat "$work/err")"
[ -f "$work/clone/build/7.3-rust-gcc/max-hvhe.log" ] ||
	die "cache_take replaced a build/NAME/ that already held the build"
# A cp that fails, as on a full disk.
mkdir "$work/bin"
printf '#!/bin/sh\necho "cp: stand-in: No space left on device" >&2\nexit 1\n' >"$work/bin/cp"
chmod +x "$work/bin/cp"
if PATH=$work/bin:$PATH take "$work/clone/build/7.3-stock-gcc" 2>"$work/err"; then
	die "cache_take succeeded although its copy failed"
fi
grep -q 'stand-in: No space left' "$work/err" || die "cache_take with a failing cp: $(cat "$work/err")"
rm -rf "$work"
echo "ok: build/NAME/ made in a fresh clone, marked from the cache, left alone when taken again; a copy that fails fails the take"

# make qemu skips the second make of the hyp that must remake nothing
# (build-kernel.sh --no-remake-check); a build that checks must not take
# such a build from the cache, and takes one recorded before the field.
step "a build that checks its hyp's rules does not take make qemu's from the cache"
work=$(mktemp -d)
mkdir -p "$work/builds/QEMU" "$work/builds/OLD"
testbed build-record --out "$work/builds/QEMU/build.json" --kernel 7.3 --handler rust \
	--profile gcc --rust-option y --lto false --rust-toolchain 1.86.0 --seconds 1 \
	--remake-checked false
printf '{"kernel": "7.3", "from_cache": null}\n' >"$work/builds/OLD/build.json"
# has KEY [--remake-checked]: cache_has from the stand-in cache.
has() {
	PKVM_SMC_CACHE=$work bash -c '. "$1/scripts/lib.sh"; . "$1/scripts/build-cache.sh"
		shift; cache_has "$@"' has "$PROJECT_ROOT" "$@"
}
has QEMU || die "cache_has: make qemu's build is not there for make qemu"
! has QEMU --remake-checked || die "cache_has --remake-checked took a build that skipped the check"
has OLD --remake-checked || die "cache_has --remake-checked refused a build recorded before the field"
rm -rf "$work"
echo "ok: make qemu's unchecked build serves make qemu only"

# A run killed in the middle of a git command (a session's end, ^C) left
# index.lock in the series' scratch repository, and every later make
# patches and make check failed on it until it was removed by hand.
step "a git lock file left by an interrupted run is cleared"
work=$(mktemp -d)
git -C "$work" init -q
echo one >"$work/file"
touch "$work/.git/index.lock"
if git -C "$work" add file 2>/dev/null; then
	die "the stand-in for an interrupted run did not lock the repository"
fi
clear_stale_git_locks "$work" 2>"$work.err"
grep -q "index.lock" "$work.err" || die "clear_stale_git_locks did not say what it removed"
git -C "$work" add file || die "clear_stale_git_locks left the repository locked"
rm -rf "$work" "$work.err"
echo "ok: an interrupted run's git lock is removed, and said"

# A mutant that no longer applies would not be a test of anything.
step "every mutant applies to hyp/ as it is"
for mutant in "$PROJECT_ROOT"/hyp/mutants/*.patch; do
	patch --dry-run -d "$PROJECT_ROOT/hyp" -p1 -F0 -s <"$mutant" >/dev/null ||
		die "hyp/mutants/${mutant##*/} no longer applies to hyp/: update it with the code it mutates"
done
echo "ok: $(find "$PROJECT_ROOT/hyp/mutants" -name '*.patch' | wc -l) mutants apply"

# A handler's name comes from the command line and is compared as a string:
# HANDLER='.*' once matched the first variant as a regular expression.
step "HANDLER is a name, not a pattern"
for handler in '.*' '#' 'rus' 'rust.*'; do
	if (check_handler 7.3 "$handler") 2>/dev/null; then
		die "check_handler accepted HANDLER='$handler'"
	fi
done
(check_handler 7.3 rust && check_handler 6.12 backport) ||
	die "check_handler refused a handler that hyp/glue/*/variants names"
echo "ok: HANDLER='.*', '#', 'rus', 'rust.*' refused; rust, backport accepted"

# A build syncs the shared tree from the staging its key was made of: a
# staging that failed half-way must not be taken (it once was, silently).
step "prepare-tree.sh takes only a complete staging"
work=$(mktemp -d)
if "$PROJECT_ROOT/scripts/prepare-tree.sh" --from-stage "$work" 7.3 rust >/dev/null 2>"$work.err"; then
	die "prepare-tree.sh --from-stage took a directory that no --stage completed"
fi
grep -q 'not a complete staging' "$work.err" || die "prepare-tree.sh --from-stage: $(cat "$work.err")"
touch "$work/leftover"
if "$PROJECT_ROOT/scripts/prepare-tree.sh" --stage "$work" 7.3 rust >/dev/null 2>"$work.err"; then
	die "prepare-tree.sh --stage staged into a directory that was not empty"
fi
grep -q 'not empty' "$work.err" || die "prepare-tree.sh --stage: $(cat "$work.err")"
rm -rf "$work" "$work.err"
echo "ok: --from-stage refuses an incomplete staging, --stage a used directory"

# The module's sources are Rust and C; what Kbuild writes beside them
# (modpost's NAME.mod.c) must survive a reinstall, or every build
# regenerates it.
step "selftest-install.sh removes stale sources only"
work=$(mktemp -d)
mkdir -p "$work/tools/testing/selftests"
touch "$work/tools/testing/selftests/lib.mk"
"$PROJECT_ROOT/scripts/selftest-install.sh" "$work" >/dev/null 2>&1
modules=$work/tools/testing/selftests/pkvm_smc_imm/test_modules
touch "$modules/smc_imm_test.mod.c" "$modules/stale.rs" "$modules/stale.c"
"$PROJECT_ROOT/scripts/selftest-install.sh" "$work" >/dev/null 2>&1
[ -f "$modules/smc_imm_test.mod.c" ] || die "selftest-install.sh removed modpost's smc_imm_test.mod.c"
if [ -e "$modules/stale.rs" ] || [ -e "$modules/stale.c" ]; then
	die "selftest-install.sh left a source the project no longer has"
fi
[ -f "$modules/kvm_hcall.c" ] || die "selftest-install.sh did not install rust/kvm_hcall.c"
rm -rf "$work"
echo "ok: stale .rs and .c removed, NAME.mod.c kept, kvm_hcall.c installed"

# The build key hashes what --list names: every file of rust/ and
# selftests/ but selftests/kvm/, which no kernel build reads (a change to
# its test list once rebuilt every kernel) and scripts/kvm-selftests.sh
# keys itself.
step "the build key's kselftest sources: rust/ and selftests/, not selftests/kvm/"
if git -C "$PROJECT_ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	listed=$("$PROJECT_ROOT/scripts/selftest-install.sh" --list | sed "s|^$PROJECT_ROOT/||" | LC_ALL=C sort)
	tracked=$(git -C "$PROJECT_ROOT" ls-files rust selftests ':!selftests/kvm' | LC_ALL=C sort)
	[ "$listed" = "$tracked" ] ||
		die "selftest-install.sh --list differs from git's rust/ and selftests/ but selftests/kvm/: $(diff <(echo "$tracked") <(echo "$listed") | grep '^[<>]' | paste -sd' ' -)"
	echo "ok: --list names the $(wc -l <<<"$listed") files git has in rust/ and selftests/ but selftests/kvm/"
else
	echo "skip: $PROJECT_ROOT is not a git work tree, so there is no file list to compare --list with"
fi

# A fragment's "# CONFIG_X is not set" must hold after olddefconfig: an
# option another one selects comes back without a word.
step "kconfig.sh: an option a fragment turns off must stay off"
work=$(mktemp -d)
printf 'CONFIG_KVM=y\n# CONFIG_VT is not set\n' >"$work/fragment"
printf 'CONFIG_RUST_IS_AVAILABLE=y\nCONFIG_KVM=y\n# CONFIG_VT is not set\n' >"$work/off"
printf 'CONFIG_RUST_IS_AVAILABLE=y\nCONFIG_KVM=y\nCONFIG_VT=y\n' >"$work/on"
(
	# shellcheck source=scripts/kconfig.sh
	. "$PROJECT_ROOT/scripts/kconfig.sh"
	fragments() { echo "$work/fragment"; }
	KERNEL=7.3 PROFILE=test tree=$work objdir=$work/obj
	check_config "$work/off"
	if (check_config "$work/on") 2>"$work/err"; then
		die "check_config took CONFIG_VT=y from a fragment that turns it off"
	fi
	grep -q 'turned CONFIG_VT back on' "$work/err" || die "check_config: $(cat "$work/err")"
)
rm -rf "$work"
echo "ok: '# CONFIG_VT is not set' holds; CONFIG_VT=y after olddefconfig is refused"

# style.sh KERNEL's gates, in a copy of the project whose build-kernel.sh
# and prepare-tree.sh are stand-ins (the second fails, so that no gate
# ever reaches a kernel tree): style_with BUILD_SCRIPT, output in
# $work/out.
style_with() {
	rm -rf "$work/project"
	mkdir -p "$work/project/hyp"
	cp -a "$PROJECT_ROOT/scripts" "$work/project/"
	cp -a "$PROJECT_ROOT/hyp/glue" "$work/project/hyp/"
	printf '#!/bin/sh\n%s\n' "$1" >"$work/project/scripts/build-kernel.sh"
	printf '#!/bin/sh\necho "error: stand-in prepare-tree.sh" >&2\nexit 1\n' \
		>"$work/project/scripts/prepare-tree.sh"
	PKVM_SMC_CACHE=$work/cache "$work/project/scripts/style.sh" 7.3 >"$work/out" 2>&1
}

# style.sh once built its kernel inside $(...), where errexit does not
# hold: a failed build went on to the gates, on whatever the object
# directory held.
step "style.sh stops at a failed build"
work=$(mktemp -d)
if style_with 'echo "error: stand-in build failure" >&2; exit 1'; then
	die "style.sh passed after a failed build"
fi
[ "$(cat "$work/out")" = "error: stand-in build failure" ] ||
	die "style.sh went on after a failed build: $(head -c 600 "$work/out")"
echo "ok: style.sh exits at its build's failure"

# A pass is stamped under the build's key, which build.key holds whether
# the build was made in this run or taken from the cache: the stamp was
# once stored for taken builds only, so a run after one that built its
# kernels ran the gates again. A stand-in build made now, and the stamp
# a pass on it would have left.
step "style.sh takes a pass on a build made in this run"
out=$work/project/build/$(variant_name 7.3 rust "$(work_profile 7.3)")
made="mkdir -p '$out' && echo KEY >'$out/build.key' && echo '{}' >'$out/build.json'"
mkdir -p "$work/cache/style"
touch "$work/cache/style/$({ echo KEY && cat "$PROJECT_ROOT/scripts/style.sh" \
	"$PROJECT_ROOT/scripts/kbuild.sh"; } | sha256sum | cut -d' ' -f1)"
style_with "$made" || die "style.sh after a build made in this run: $(head -c 600 "$work/out")"
grep -q '^==> .*style: passed before' "$work/out" ||
	die "style.sh ran its gates again after a pass on the same build: $(head -c 600 "$work/out")"
echo "ok: a pass on a build made in this run is not checked again"

# The gates run in the object directory, which must hold the rust build:
# it is built again unless the directory's vmlinux is the build's.
step "style.sh builds again when the object directory holds another build"
objdir=$work/cache/obj/7.3-$(work_profile 7.3)
# gates VMLINUX: the build calls style.sh makes when the object directory
# links VMLINUX and the build's vmlinux is "rust".
gates() {
	rm -rf "$work/cache/style" "$work/calls"
	mkdir -p "$objdir"
	echo "$1" >"$objdir/vmlinux"
	style_with "$made && echo rust >'$out/vmlinux' && echo \"\$*\" >>'$work/calls'" || true
	tr '\n' ';' <"$work/calls"
}
[ "$(gates rust)" = "7.3 rust gcc;" ] ||
	die "style.sh built again over the build it needs: $(gates rust)"
[ "$(gates mutant)" = "7.3 rust gcc;--rebuild 7.3 rust gcc;" ] ||
	die "style.sh ran its gates over another build: $(gates mutant)"
rm -rf "$work"
echo "ok: rebuilt over a mutant's vmlinux, not over the build's own"

step "python unit tests (scripts/tests)"
"$PKVM_SMC_PYTHON" -m unittest discover -s "$PROJECT_ROOT/scripts/tests"

# A QEMU that cannot start must say so, not read as a kernel that booted
# without pKVM: boot.sh against a stand-in build and a QEMU that fails.
step "boot.sh names a QEMU that fails to start"
work=$(mktemp -d)
fake=fake-boot-$$
mkdir -p "$BUILD_ROOT/$fake/kselftest" "$work/bin" "$work/cache/busybox/bin"
touch "$BUILD_ROOT/$fake/Image" "$BUILD_ROOT/$fake/.config" "$work/cache/busybox/bin/busybox"
chmod +x "$work/cache/busybox/bin/busybox"
printf '#!/bin/sh\n' >"$BUILD_ROOT/$fake/kselftest/run_kselftest.sh"
printf '#!/bin/sh\ncat >/dev/null\n' >"$BUILD_ROOT/$fake/gen_init_cpio"
printf '#!/bin/sh\necho "qemu-system-aarch64: stand-in: cannot start" >&2\nexit 1\n' \
	>"$work/bin/qemu-system-aarch64"
chmod +x "$BUILD_ROOT/$fake/kselftest/run_kselftest.sh" "$BUILD_ROOT/$fake/gen_init_cpio" \
	"$work/bin/qemu-system-aarch64"
status=0
PATH=$work/bin:$PATH PKVM_SMC_CACHE=$work/cache BOOT_TIMEOUT=20 \
	"$PROJECT_ROOT/scripts/boot.sh" --build "$fake" 7.3 stock minimal max hvhe \
	>"$work/out" 2>&1 || status=$?
rm -rf "${BUILD_ROOT:?}/$fake"
if [ "$status" -eq 0 ] || ! grep -q '^error: QEMU exited with status 1' "$work/out"; then
	cat "$work/out" >&2
	die "boot.sh did not name a QEMU that failed to start"
fi
rm -rf "$work"
echo "ok: boot.sh: 'QEMU exited with status 1 ...'"
