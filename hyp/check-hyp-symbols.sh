#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# check-hyp-symbols.sh NM KVM_NVHE_O HYP_ALIASES READELF "LD [LDFLAGS]" HYP_LDS RUST_OBJECT...
#
# What EL2 code must not contain, checked on the hypervisor object the
# nVHE Makefile built, when the hyp has Rust objects:
#
# - Symbols. EL2 code can call only EL2 code. kvm_nvhe.o may leave
#   undefined only the __kvm_nvhe_ symbols that vmlinux.lds aliases for
#   the hyp; anything else (typically a Rust panic, overflow or bounds check
#   pulling in core's panicking and formatting code) would fail much later,
#   at the vmlinux link, or worse be called at EL2. HYP_ALIASES is
#   arch/arm64/kernel/image-vars.h preprocessed as vmlinux.lds.S
#   preprocesses it, so that only the aliases this configuration really
#   makes count.
#
# - Sections. Every allocated section of a Rust object must be one that
#   HYP_LDS places in a .hyp.* section: anything else would be linked
#   into the kernel's image outside the hyp's, or, for unwind tables
#   (.eh_frame), read by the boot-time SCS patcher (DYNAMIC_SCS), which
#   would rewrite the Rust code's PAC instructions into shadow call stack
#   pushes, through the host's x18, at EL2. rustc decides itself which
#   sections it emits (a new default or a kernel flag may add some), so
#   the objects are linked alone with HYP_LDS, as kvm_nvhe.tmp.o is, and
#   what it left in place is named. Bitcode (LTO) is compiled by that link
#   as it is by the hyp's.
#
# Every command's failure fails the check: sh has no pipefail, so nothing
# whose status matters runs inside a pipeline.
set -eu

[ $# -ge 7 ] || {
	echo "usage: check-hyp-symbols.sh NM KVM_NVHE_O HYP_ALIASES READELF" \
		"\"LD [LDFLAGS]\" HYP_LDS RUST_OBJECT..." >&2
	exit 1
}
nm=$1
obj=$2
aliases=$3
readelf=$4
ld=$5
lds=$6
shift 6

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

linked=$(mktemp)
trap 'rm -f "$linked"' EXIT
for rust in "$@"; do
	# LD carries its flags: split it into words.
	# shellcheck disable=SC2086
	$ld -r -T "$lds" -o "$linked" "$rust" || fail "'$ld -r -T $lds $rust' failed"
	headers=$("$readelf" -S -W "$linked") || fail "'$readelf -S -W $linked' failed"
	# "[Nr] Name Type Address Off Size ES Flg Lk Inf Al": ten fields when
	# the section has flags. .note.gnu.property is the linker's record of
	# BTI and PAC, which vmlinux.lds discards.
	unplaced=$(printf '%s\n' "$headers" | sed -n 's/^ *\[ *[0-9]*\] //p' |
		awk 'NF == 10 && $7 ~ /A/ && $1 !~ /^\.hyp\./ &&
			$1 != ".note.gnu.property" { print $1 }') || true
	[ -n "$unplaced" ] || continue
	echo "error: $rust has allocated sections that ${lds##*/} does not place:" >&2
	printf '%s\n' "$unplaced" | sed 's/^/  /' >&2
	case $unplaced in
	*eh_frame*)
		echo "Unwind tables at EL2: with DYNAMIC_SCS the boot-time patcher would" \
			"turn the PAC instructions they describe into shadow call stack" \
			"pushes (-Cforce-unwind-tables=n)." >&2
		;;
	esac
	status=1
done

exit $status
