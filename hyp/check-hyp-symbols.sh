#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# check-hyp-symbols.sh NM KVM_NVHE_O HYP_ALIASES
#
# EL2 code can call only EL2 code. kvm_nvhe.o may leave undefined only the
# __kvm_nvhe_ symbols that vmlinux.lds aliases for the hyp; anything else
# (typically a Rust panic, overflow or bounds check pulling in core's
# panicking and formatting code) would fail much later, at the vmlinux link,
# or worse be called at EL2. HYP_ALIASES is arch/arm64/kernel/image-vars.h
# preprocessed as vmlinux.lds.S preprocesses it, so that only the aliases
# this configuration really makes count. Run by the nVHE Makefile when the
# hyp has Rust objects.
#
# Every command's failure fails the check: sh has no pipefail, so nothing
# whose status matters runs inside a pipeline.
set -eu

nm=$1
obj=$2
aliases=$3

fail() {
	echo "error: $*" >&2
	exit 1
}

# "__kvm_nvhe_sym = sym;" and "__kvm_nvhe_a = __kvm_nvhe_b;": the names
# vmlinux.lds defines for the hyp.
allowed=$(sed -n 's/^[[:space:]]*\(__kvm_nvhe_[A-Za-z0-9_]*\)[[:space:]]*=.*/\1/p' "$aliases") ||
	fail "cannot read $aliases"
[ -n "$allowed" ] ||
	fail "$aliases defines no __kvm_nvhe_ alias:" \
		"not image-vars.h as vmlinux.lds.S preprocesses it"

undefined=$("$nm" -u "$obj") || fail "'$nm -u $obj' failed"
symbols=$("$nm" "$obj") || fail "'$nm $obj' failed"
demangled=$("$nm" --demangle "$obj") || fail "'$nm --demangle $obj' failed"

status=0

unknown=$(printf '%s\n' "$undefined" | awk '{ print $NF }' |
	grep -vxF -e "$allowed" -e '') || true
if [ -n "$unknown" ]; then
	echo "error: $obj references symbols the hypervisor cannot reach:" >&2
	printf '%s\n' "$unknown" | sed 's/^/  /' >&2
	echo "EL2 code may call only hyp code and the symbols image-vars.h aliases." >&2
	status=1
fi

# Raw and demangled names both, for legacy and v0 mangling alike.
pattern='4core(9panicking|3fmt)|core::(panicking|fmt)'
pattern="$pattern|rust_begin_unwind|panic_bounds_check"
panics=$(printf '%s\n%s\n' "$symbols" "$demangled" | grep -E "$pattern" | sort -u) || true
if [ -n "$panics" ]; then
	echo "error: $obj contains Rust panic or formatting machinery:" >&2
	printf '%s\n' "$panics" | sed 's/^/  /' >&2
	echo "EL2 cannot panic through core: avoid checked arithmetic, indexing and unwrap()." >&2
	status=1
fi

exit $status
