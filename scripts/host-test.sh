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

# The symbol check guards EL2 against kernel symbols and Rust panics; make
# sure it can fail, on objects assembled to contain exactly those, and that
# it fails closed when it cannot read its inputs.
ALIASES='__kvm_nvhe_kvm_patch_vector_branch = kvm_patch_vector_branch;'

# symcheck_case NAME pass|fail ASM [ALIASES [NM]]
symcheck_case() {
	local name=$1 expect=$2 asm=$3 aliases=${4:-$ALIASES} nm=${5:-llvm-nm$LLVM_SUFFIX}
	local dir obj status=0
	dir=$(mktemp -d)
	obj=$dir/kvm_nvhe.o
	printf '%s\n' "$asm" | "llvm-mc$LLVM_SUFFIX" -triple=aarch64 -filetype=obj -o "$obj"
	printf '%s\n' "$aliases" >"$dir/hyp-aliases.lds"
	sh "$PROJECT_ROOT/hyp/check-hyp-symbols.sh" "$nm" "$obj" "$dir/hyp-aliases.lds" \
		2>"$dir/err" || status=$?
	rm -rf "$dir"
	if [ "$expect" = pass ] && [ "$status" -ne 0 ]; then
		die "hyp symbol check rejected $name"
	elif [ "$expect" = fail ] && [ "$status" -eq 0 ]; then
		die "hyp symbol check accepted $name"
	fi
	echo "ok: hyp symbol check: $name -> $expect"
}

# The aliases as the nVHE Makefile makes them: image-vars.h preprocessed
# like vmlinux.lds.S, here with a stand-in for it and for hyp_image.h.
preprocessed_aliases() {
	printf '%s\n' '#define KVM_NVHE_ALIAS(sym) __kvm_nvhe_##sym = sym;' \
		'KVM_NVHE_ALIAS(kvm_patch_vector_branch)' \
		'#ifdef CONFIG_NVHE_EL2_TRACING' 'KVM_NVHE_ALIAS(hyp_trace_clock)' '#endif' |
		"clang$LLVM_SUFFIX" -E -P -x c -D__ASSEMBLY__ -DLINKER_SCRIPT "$@" -
}

step "hyp symbol check"
need_tool "llvm-mc$LLVM_SUFFIX"
symcheck_case "a call to an aliased symbol" pass \
	"bl __kvm_nvhe_kvm_patch_vector_branch"
symcheck_case "a call to a kernel symbol" fail "bl __kvm_nvhe_printk"
symcheck_case "core's panic code (v0 mangling)" fail \
	"bl __kvm_nvhe__RNvNtCs1a2b3c_4core9panicking5panic"
symcheck_case "core's formatting code, defined in the object" fail \
	"$(printf '%s\n' '.globl _ZN4core3fmt5write17h0123456789abcdefE' \
		'_ZN4core3fmt5write17h0123456789abcdefE:' 'ret')"
symcheck_case "an nm that fails" fail "bl __kvm_nvhe_kvm_patch_vector_branch" \
	"$ALIASES" false
symcheck_case "image-vars.h not preprocessed" fail \
	"bl __kvm_nvhe_kvm_patch_vector_branch" 'KVM_NVHE_ALIAS(kvm_patch_vector_branch);'
symcheck_case "an alias of a config that is on" pass "bl __kvm_nvhe_hyp_trace_clock" \
	"$(preprocessed_aliases -DCONFIG_NVHE_EL2_TRACING)"
symcheck_case "an alias under an #ifdef of a config that is off" fail \
	"bl __kvm_nvhe_hyp_trace_clock" "$(preprocessed_aliases)"

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
