#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# host-test.sh: the tests that need no kernel: the hyp policy's cargo tests,
# the hyp symbol check against objects made to fail it, then the testbed's
# own (scripts/testbed-test.sh).
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

"$PROJECT_ROOT/scripts/testbed-test.sh"
