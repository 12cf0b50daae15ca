# SPDX-License-Identifier: GPL-2.0
# series-bisect.sh: scripts/patches.sh --bisect and --bisect-only: every
# patch built on its own. Sourced by patches.sh.
# shellcheck shell=bash
# The series' variables are patches.sh's, set before it sources this.
# shellcheck disable=SC2154,SC2034

# Every patch must build on its own, with the Rust handler's option off,
# and on as well once a patch has added it: vmlinux compiled and linked
# (build-kernel.sh --vmlinux-only; the hyp's partial links leave symbols
# for vmlinux's to resolve), incrementally in the shared tree, into
# build/bisect-KERNEL/, in the object directory of the first profile the
# matrix builds KERNEL in (bisect_profile). A step is not booted: the whole
# series is booted by the matrix's rows (the rust rows, and on 6.12 the
# backport rows, which are the stable series alone), the stable rules ask
# that each patch build, and a 6.12 step's boot cost about a minute of a
# cold make check.
bisect_builds() {
	local i patch applied option_exists option
	bisect_results=()
	bisect_profile=$(work_profile "$KERNEL")
	# Every step with the option off, then every step with it on: the
	# option flips the configuration once, not at every patch (each flip
	# reconfigures and rebuilds what reads the option). The order of the
	# builds does not change what each proves.
	for option in n y; do
		applied=()
		option_exists=false
		for i in "${!series_kinds[@]}"; do
			for patch in ${series_patches[i]}; do
				applied+=("$patch")
				grep -q '^+config NVHE_RUST_HOST_SMC$' "$glue/$KERNEL/$patch" && option_exists=true
				[ "$option" = n ] || $option_exists || continue
				bisect_build "$option" "${applied[@]}"
			done
		done
	done
	mkdir -p "$out"
	# Listed in the series' order, each patch's steps as they ran.
	for patch in $(all_patches); do
		printf '%s\n' "${bisect_results[@]}" | awk -v patch="$patch" '$NF == patch'
	done >"$out/BISECT"
	echo "bisect: ${#bisect_results[@]} steps, all OK (build/patches/$KERNEL/BISECT)"
}

bisect_build() {
	local option=$1 last
	shift
	last=${*: -1}
	step "bisect build after $last: $(message_subject "$last") (CONFIG_NVHE_RUST_HOST_SMC=$option)"
	"$PROJECT_ROOT/scripts/build-kernel.sh" --vmlinux-only --patches "$*" --rust-option "$option" \
		--into "bisect-$KERNEL" "$KERNEL" rust "$bisect_profile" >&2 ||
		die "the series does not build after $last with CONFIG_NVHE_RUST_HOST_SMC=$option; log in build/bisect-$KERNEL/; rerun that step with: scripts/build-kernel.sh --vmlinux-only --patches \"$*\" --rust-option $option --into bisect-$KERNEL $KERNEL rust $bisect_profile"
	bisect_results+=("built   vmlinux  CONFIG_NVHE_RUST_HOST_SMC=$option  after $last")
}
