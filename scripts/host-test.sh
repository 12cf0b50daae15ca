#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# host-test.sh: the tests that need no kernel: the hyp policy's cargo tests
# and the hyp symbol check against objects made to fail it.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

need_tool cargo
export CARGO_TARGET_DIR=$CACHE_DIR/cargo-target

step "cargo test: hyp/ (host SMC policy)"
cargo test --quiet --release --manifest-path "$PROJECT_ROOT/hyp/Cargo.toml"
step "cargo test: tools/smc-audit"
cargo test --quiet --release --manifest-path "$PROJECT_ROOT/tools/smc-audit/Cargo.toml"

# The hyp check (hyp/check-hyp-symbols.sh) guards EL2 against kernel
# symbols, Rust panics and sections the hyp's linker script does not place;
# make sure it can fail, on objects made to contain exactly those, and that
# it fails closed when it cannot read its inputs.
ALIASES='__kvm_nvhe_kvm_patch_vector_branch = kvm_patch_vector_branch;'
# A stand-in for hyp.lds: what it places is renamed .hyp.*.
HYP_LDS='SECTIONS {
	.hyp.text : { *(.text .text.*) }
	.hyp.rodata : { *(.rodata .rodata.*) }
	.hyp.data : { *(.data .data.*) }
	.hyp.bss : { *(.bss .bss.*) }
}'
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# assemble NAME ASM: an object for the check, made by llvm-mc.
assemble() {
	printf '%s\n' "$2" | "llvm-mc$LLVM_SUFFIX" -triple=aarch64 -filetype=obj -o "$work/$1"
}

# rust_object NAME RUSTFLAGS...: a Rust object as the hyp's Makefile makes
# one (target, panic=abort, opt-level=s, branch protection), with no core
# so that no kernel tree is needed: a function calling a C one, as
# handle_host_smc calls the relay.
rust_object() {
	local name=$1
	shift
	printf '%s\n' '#![feature(no_core, lang_items)]' '#![allow(internal_features)]' \
		'#![no_core]' '#[lang = "sized"]' 'pub trait Sized {}' \
		'extern "C" { fn kvm_host_psci_handler(); }' \
		'#[no_mangle]' 'pub unsafe extern "C" fn handle_host_smc() {' \
		'    kvm_host_psci_handler();' '    kvm_host_psci_handler();' '}' >"$work/hyp_rust.rs"
	RUSTC_BOOTSTRAP=1 rustup run "$KERNEL_RUST_TOOLCHAIN" rustc --edition=2021 \
		--crate-type=rlib --crate-name=host_smc --target=aarch64-unknown-none-softfloat \
		-Cpanic=abort -Copt-level=s -Zbranch-protection=bti,pac-ret --emit=obj \
		"$@" -o "$work/$name" "$work/hyp_rust.rs"
}

# hyp_check NAME pass|fail[:TEXT] KVM_NVHE_O RUST_OBJECT [ALIASES [NM [LDS]]]:
# run the check as the nVHE Makefile runs it; a failure must print TEXT.
hyp_check() {
	local name=$1 expect=$2 obj=$work/$3 rust=$work/$4 aliases=${5:-$ALIASES}
	local nm=${6:-llvm-nm$LLVM_SUFFIX} lds=${7:-$work/hyp.lds} status=0
	printf '%s\n' "$aliases" >"$work/hyp-aliases.lds"
	sh "$PROJECT_ROOT/hyp/check-hyp-symbols.sh" "$nm" "$obj" "$work/hyp-aliases.lds" \
		"llvm-readelf$LLVM_SUFFIX" "ld.lld$LLVM_SUFFIX" "$lds" "$rust" \
		2>"$work/err" || status=$?
	case $expect in
	pass)
		[ "$status" -eq 0 ] || {
			cat "$work/err" >&2
			die "hyp check rejected $name"
		}
		;;
	fail*)
		[ "$status" -ne 0 ] || die "hyp check accepted $name"
		grep -qF -- "${expect#fail:}" "$work/err" || {
			cat "$work/err" >&2
			die "hyp check failed $name without naming ${expect#fail:}"
		}
		;;
	esac
	echo "ok: hyp check: $name -> $expect"
}

# symcheck_case NAME pass|fail ASM [ALIASES [NM]]: kvm_nvhe.o made of ASM.
symcheck_case() {
	assemble kvm_nvhe.o "$3"
	hyp_check "$1" "$2" kvm_nvhe.o clean.o "${4:-}" "${5:-}"
}

# The aliases as the nVHE Makefile makes them: image-vars.h preprocessed
# like vmlinux.lds.S, here with a stand-in for it and for hyp_image.h.
preprocessed_aliases() {
	printf '%s\n' '#define KVM_NVHE_ALIAS(sym) __kvm_nvhe_##sym = sym;' \
		'KVM_NVHE_ALIAS(kvm_patch_vector_branch)' \
		'#ifdef CONFIG_NVHE_EL2_TRACING' 'KVM_NVHE_ALIAS(hyp_trace_clock)' '#endif' |
		"clang$LLVM_SUFFIX" -E -P -x c -D__ASSEMBLY__ -DLINKER_SCRIPT "$@" -
}

step "hyp symbol and section check"
need_tool "llvm-mc$LLVM_SUFFIX"
need_tool rustup
printf '%s\n' "$HYP_LDS" >"$work/hyp.lds"
assemble clean.o "$(printf '%s\n' '.text' '.globl f' 'f:' 'ret')"
symcheck_case "a call to an aliased symbol" pass \
	"bl __kvm_nvhe_kvm_patch_vector_branch"
symcheck_case "a call to a kernel symbol" fail:__kvm_nvhe_printk "bl __kvm_nvhe_printk"
symcheck_case "core's panic code (v0 mangling)" fail:4core9panicking \
	"bl __kvm_nvhe__RNvNtCs1a2b3c_4core9panicking5panic"
symcheck_case "core's formatting code, defined in the object" fail:core::fmt::write \
	"$(printf '%s\n' '.globl _ZN4core3fmt5write17h0123456789abcdefE' \
		'_ZN4core3fmt5write17h0123456789abcdefE:' 'ret')"
symcheck_case "an nm that fails" fail:"'false -u" "bl __kvm_nvhe_kvm_patch_vector_branch" \
	"$ALIASES" false
symcheck_case "image-vars.h not preprocessed" fail:"no __kvm_nvhe_ alias" \
	"bl __kvm_nvhe_kvm_patch_vector_branch" 'KVM_NVHE_ALIAS(kvm_patch_vector_branch);'
symcheck_case "an alias of a config that is on" pass "bl __kvm_nvhe_hyp_trace_clock" \
	"$(preprocessed_aliases -DCONFIG_NVHE_EL2_TRACING)"
symcheck_case "an alias under an #ifdef of a config that is off" fail:__kvm_nvhe_hyp_trace_clock \
	"bl __kvm_nvhe_hyp_trace_clock" "$(preprocessed_aliases)"

# Sections: Rust objects as rustc makes them, with and without unwind
# tables, native and as LTO bitcode, against the stand-in hyp.lds and the
# hyp.lds of each object directory in the cache.
assemble kvm_nvhe.o "bl __kvm_nvhe_kvm_patch_vector_branch"
rust_object unwind.o -Cforce-unwind-tables=y
rust_object unwind-lto.o -Cforce-unwind-tables=y -Clinker-plugin-lto
rust_object no-unwind.o -Cforce-unwind-tables=n
rust_object no-unwind-lto.o -Cforce-unwind-tables=n -Clinker-plugin-lto
assemble except.o "$(printf '%s\n' '.text' 'ret' '.section .gcc_except_table,"a"' '.byte 0xff')"
for lds in "$work/hyp.lds" "$CACHE_DIR"/obj/*-{minimal,gcc,hardened}/arch/arm64/kvm/hyp/nvhe/hyp.lds; do
	[ -f "$lds" ] || continue
	tree=${lds#"$CACHE_DIR"/obj/}
	tree=${tree%%/*}
	[ "$lds" != "$work/hyp.lds" ] || tree=stand-in
	hyp_check "Rust without unwind tables ($tree hyp.lds)" pass kvm_nvhe.o no-unwind.o \
		"" "" "$lds"
	hyp_check "Rust LTO bitcode without unwind tables ($tree hyp.lds)" pass kvm_nvhe.o \
		no-unwind-lto.o "" "" "$lds"
	hyp_check "Rust with -Cforce-unwind-tables=y ($tree hyp.lds)" fail:.eh_frame \
		kvm_nvhe.o unwind.o "" "" "$lds"
	hyp_check "Rust LTO bitcode with -Cforce-unwind-tables=y ($tree hyp.lds)" \
		fail:.eh_frame kvm_nvhe.o unwind-lto.o "" "" "$lds"
	hyp_check "a section hyp.lds does not place ($tree hyp.lds)" \
		fail:.gcc_except_table kvm_nvhe.o except.o "" "" "$lds"
done
rm -rf "$work"
trap - EXIT

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

step "python unit tests (scripts/tests)"
python3 -m unittest discover -s "$PROJECT_ROOT/scripts/tests"

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
