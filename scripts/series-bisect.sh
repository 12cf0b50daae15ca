# SPDX-License-Identifier: GPL-2.0
# series-bisect.sh: scripts/patches.sh --bisect: every patch built on its
# own, a stable backport also booted with the kselftest. Sourced by
# patches.sh.
# shellcheck shell=bash
# The series' variables are patches.sh's, set before it sources this.
# shellcheck disable=SC2154,SC2034

# Every patch must build on its own, with the Rust handler's option off,
# and on as well once a patch has added it; a stable backport must also
# boot and run the kselftest under pKVM, and the whole stable series pass
# it. Each step is one incremental build of the shared tree into
# build/bisect-KERNEL/, in the object directory of the first profile the
# matrix builds KERNEL in (bisect_profile).
bisect_builds() {
	local i patch applied=() option_exists=false option last_stable
	bisect_results=()
	bisect_profile=$(work_profile "$KERNEL")
	for i in "${!series_kinds[@]}"; do
		last_stable=
		[ "${series_kinds[i]#stable}" = "${series_kinds[i]}" ] || last_stable=${series_patches[i]##* }
		for patch in ${series_patches[i]}; do
			applied+=("$patch")
			grep -q '^+config NVHE_RUST_HOST_SMC$' "$glue/$KERNEL/$patch" && option_exists=true
			for option in n y; do
				[ "$option" = n ] || $option_exists || continue
				bisect_build "$option" "${applied[@]}"
			done
			[ "${series_kinds[i]#stable}" = "${series_kinds[i]}" ] ||
				bisect_boot "$patch" "$([ "$patch" = "$last_stable" ] && echo PASS)"
		done
	done
	printf '%s\n' "${bisect_results[@]}" >"$out/BISECT"
	echo "bisect: ${#bisect_results[@]} steps, all OK (build/patches/$KERNEL/BISECT)"
}

bisect_build() {
	local option=$1 last
	shift
	last=${*: -1}
	step "bisect build after $last: $(message_subject "$last") (CONFIG_NVHE_RUST_HOST_SMC=$option)"
	"$PROJECT_ROOT/scripts/build-kernel.sh" --patches "$*" --rust-option "$option" \
		--into "bisect-$KERNEL" "$KERNEL" rust "$bisect_profile" >&2 ||
		die "the series does not build after $last with CONFIG_NVHE_RUST_HOST_SMC=$option; log in build/bisect-$KERNEL/; rerun that step with: scripts/build-kernel.sh --patches \"$*\" --rust-option $option --into bisect-$KERNEL $KERNEL rust $bisect_profile"
	bisect_results+=("built   CONFIG_NVHE_RUST_HOST_SMC=$option  after $last")
}

# bisect_boot PATCH [PASS]: boot what bisect_build just built under pKVM
# (hVHE) and run the kselftest; it must run to its end, and pass if asked.
bisect_boot() {
	local patch=$1 want=${2:-} log=$BUILD_ROOT/bisect-$KERNEL/max-hvhe.log outcome
	step "bisect boot after $patch (pKVM hVHE, kselftest)"
	"$PROJECT_ROOT/scripts/boot.sh" --build "bisect-$KERNEL" "$KERNEL" rust "$bisect_profile" max hvhe \
		>"$BUILD_ROOT/bisect-$KERNEL/boot.out" 2>&1 || true
	outcome=$(testbed summary "$BUILD_ROOT/bisect-$KERNEL/max-hvhe.verdict.json")
	case "${want:-any} ${outcome%% *}" in
	"PASS PASS" | "any PASS" | "any FAIL") ;;
	*) die "after $patch the kernel does not ${want:+pass }run the kselftest under pKVM (verdict: $outcome); console log: $log" ;;
	esac
	if grep -qE '^(ERROR|FAIL) .*(never started|never finished)' <<<"$outcome"; then
		die "after $patch the kernel does not boot to the end of the kselftest ($outcome); console log: $log"
	fi
	bisect_results+=("booted  kselftest ${outcome%% *} (failed: ${outcome#* })  after $patch")
}
