#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# audit.sh [KDIR...]: lists every SMC and HVC in the built kernels and their
# modules with tools/smc-audit, and fails if an SMC with a non-zero
# immediate (which pKVM answers with NOT_SUPPORTED) turns up anywhere but in
# this project's own modules, which issue them on purpose and are
# allowlisted (their hits are still listed and counted).
#
# KDIR defaults to every build of build/ that has a vmlinux. A KDIR that
# holds neither a vmlinux nor a module is an error: auditing nothing must
# not come out clean.
# The report is kept in build/audit/ and printed without the
# allowlisted hits (counted in each file's summary). AUDIT_ARGS adds
# smc-audit options and prints its whole output, e.g. AUDIT_ARGS=--json
# for one JSON document per KDIR on stdout.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

# The test module issues every non-zero immediate on purpose, the benchmark
# module smc #1.
OWN_MODULES=(smc_imm_test.ko smc_imm_bench.ko)

need_tool cargo
export CARGO_TARGET_DIR=$CACHE_DIR/cargo-target

default_kdirs() {
	local dir
	for dir in "$BUILD_ROOT"/*/; do
		# A build that has not linked vmlinux yet would audit as clean.
		if [ -f "$dir/vmlinux" ]; then
			printf '%s\n' "${dir%/}"
		fi
	done
}

# Something to audit: a vmlinux or a .ko somewhere under KDIR.
check_kdir() {
	[ -d "$1" ] || die "KDIR=$1 is not a directory"
	[ -n "$(find "$1" \( -name vmlinux -o -name '*.ko' \) -type f -print -quit)" ] ||
		die "KDIR=$1 holds no vmlinux and no *.ko: give a kernel build directory (make audit KDIR=<build dir>)"
}

kdirs=("$@")
if [ ${#kdirs[@]} -eq 0 ]; then
	mapfile -t kdirs < <(default_kdirs)
	[ ${#kdirs[@]} -gt 0 ] ||
		die "no kernel build with a vmlinux in $BUILD_ROOT; run 'make build KERNEL=... HANDLER=...' first"
fi
for kdir in "${kdirs[@]}"; do
	check_kdir "$kdir"
done
read -r -a extra_args <<<"${AUDIT_ARGS:-}"

step "cargo build: tools/smc-audit"
cargo build --release --quiet --manifest-path "$PROJECT_ROOT/tools/smc-audit/Cargo.toml"
audit=$CARGO_TARGET_DIR/release/smc-audit
allow=("${OWN_MODULES[@]/#/--allow=}")

# The whole report of KDIR goes to build/audit/ (a user's kernel build
# stays untouched), and to stdout but for the allowlisted hits: the test
# module's 65,535 stubs, one for each non-zero immediate, made make
# check's log a hundred megabytes. Returns smc-audit's status.
report() {
	local kdir=$1 path file status=0
	path=$(realpath "$kdir")
	path=${path#"$(realpath "$BUILD_ROOT")"/}
	path=${path#/}
	file=$BUILD_ROOT/audit/${path//\//_}.txt
	mkdir -p "$BUILD_ROOT/audit" || return 2
	"$audit" "${allow[@]}" "$kdir" >"$file.$$" || status=$?
	mv "$file.$$" "$file" || return 2
	REPORT=$file awk '
		/allowlisted\]$/ && !/: summary: / { hidden++; next }
		/^result: / && hidden {
			printf "(%d allowlisted hits not shown: %s)\n", hidden, ENVIRON["REPORT"]
		}
		{ print }
	' "$file" || return 2
	return "$status"
}

failed=()
for kdir in "${kdirs[@]}"; do
	step "smc-audit: $kdir"
	if [ ${#extra_args[@]} -gt 0 ]; then
		"$audit" "${allow[@]}" "${extra_args[@]}" "$kdir" || failed+=("$kdir")
	else
		report "$kdir" || failed+=("$kdir")
	fi
done

if [ ${#failed[@]} -gt 0 ]; then
	die "smc-audit failed for: ${failed[*]}"
fi
step "smc-audit: no SMC with a non-zero immediate outside ${OWN_MODULES[*]}"
