#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# check-hyp-symbols.sh NM KVM_NVHE_O IMAGE_VARS_H
#
# EL2 code can call only EL2 code. kvm_nvhe.o may leave undefined only the
# __kvm_nvhe_ symbols that image-vars.h aliases for the hyp; anything else
# (typically a Rust panic, overflow or bounds check pulling in core's
# panicking and formatting code) would fail much later, at the vmlinux link,
# or worse be called at EL2. Run by the nVHE Makefile when the Rust host SMC
# handler is built.
set -eu

nm=$1
obj=$2
image_vars=$3

# Names image-vars.h makes available to the hyp, with the hyp prefix.
allowed=$(sed -n 's/^KVM_NVHE_ALIAS(\([A-Za-z0-9_]*\));.*/__kvm_nvhe_\1/p;
		   s/^KVM_NVHE_ALIAS_HYP(\([A-Za-z0-9_]*\),.*/__kvm_nvhe_\1/p' "$image_vars")

status=0

unknown=$("$nm" -u "$obj" | awk '{ print $NF }' | while read -r sym; do
	printf '%s\n' "$allowed" | grep -qxF "$sym" || printf '%s\n' "$sym"
done)
if [ -n "$unknown" ]; then
	echo "error: $obj references symbols the hypervisor cannot reach:" >&2
	printf '%s\n' "$unknown" | sed 's/^/  /' >&2
	echo "EL2 code may call only hyp code and the symbols image-vars.h aliases." >&2
	status=1
fi

# Raw and demangled names both, for legacy and v0 mangling alike.
pattern='4core(9panicking|3fmt)|core::(panicking|fmt)'
pattern="$pattern|rust_begin_unwind|panic_bounds_check"
panics=$({ "$nm" "$obj"; "$nm" --demangle "$obj"; } | grep -E "$pattern" | sort -u || true)
if [ -n "$panics" ]; then
	echo "error: $obj contains Rust panic or formatting machinery:" >&2
	printf '%s\n' "$panics" | sed 's/^/  /' >&2
	echo "EL2 cannot panic through core: avoid checked arithmetic, indexing and unwrap()." >&2
	status=1
fi

exit $status
