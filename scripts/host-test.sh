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
# sure it can fail, on objects assembled to contain exactly those.
symcheck_case() {
	local name=$1 expect=$2 asm=$3 dir obj status=0
	dir=$(mktemp -d)
	obj=$dir/kvm_nvhe.o
	printf '%s\n' "$asm" | "llvm-mc$LLVM_SUFFIX" -triple=aarch64 -filetype=obj -o "$obj"
	printf 'KVM_NVHE_ALIAS(kvm_patch_vector_branch);\n' >"$dir/image-vars.h"
	sh "$PROJECT_ROOT/hyp/check-hyp-symbols.sh" "llvm-nm$LLVM_SUFFIX" "$obj" \
		"$dir/image-vars.h" 2>"$dir/err" || status=$?
	rm -rf "$dir"
	if [ "$expect" = pass ] && [ "$status" -ne 0 ]; then
		die "hyp symbol check rejected $name"
	elif [ "$expect" = fail ] && [ "$status" -eq 0 ]; then
		die "hyp symbol check accepted $name"
	fi
	echo "ok: hyp symbol check: $name -> $expect"
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
