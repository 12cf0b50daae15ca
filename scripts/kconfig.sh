# SPDX-License-Identifier: GPL-2.0
# The kconfig stage of scripts/build-kernel.sh, sourced by it: the profile's
# fragments, the configuration made from them (tinyconfig, kept in the
# cache; merge_config.sh, olddefconfig) and the check that Kconfig dropped
# none of their options.
# Reads build-kernel.sh's KERNEL, PROFILE, KERNEL_CC, rust_option, stage
# (the staged tree), tree, objdir and name.
# shellcheck shell=bash
# shellcheck disable=SC2154 # build-kernel.sh's variables

# The fragments, in the order they are merged.
fragments() {
	echo "$PROJECT_ROOT/configs/minimal.config"
	if [ "$PROFILE" != minimal ]; then
		echo "$PROJECT_ROOT/configs/$PROFILE.config"
		[ ! -f "$PROJECT_ROOT/configs/$PROFILE-$KERNEL.config" ] ||
			echo "$PROJECT_ROOT/configs/$PROFILE-$KERNEL.config"
	fi
	if [ "$rust_option" = y ]; then
		echo "$PROJECT_ROOT/configs/rust-handler.config"
	fi
	# The series' HVC check, wherever the tree being built has its option
	# (the staging holds the Kconfig the build will see), but for the
	# hardened profile: a hardened build is the Rust SMC handler's
	# comparison with C under LTO (make hyp-report, make bench), and the
	# option's three instructions in handle_trap() would be counted as the
	# handler's (Documentation/design.rst: "Size").
	if [ "$PROFILE" != hardened ] &&
		grep -qx 'config NVHE_HOST_HVC_IMM_REJECT' "$stage/arch/arm64/kvm/Kconfig" 2>/dev/null; then
		echo "$PROJECT_ROOT/configs/host-hvc-imm-reject.config"
	fi
}

# Every CONFIG_ line of every fragment must have survived olddefconfig:
# Kconfig drops an option whose dependencies fail without a word, and
# turns one back on that another selects.
check_config() {
	local config=$1 fragment line missing=() back=()
	while read -r fragment; do
		while IFS= read -r line; do
			case $line in
			CONFIG_*) grep -qxF "$line" "$config" || missing+=("$line") ;;
			# An option turned off must stay off: another may select it.
			"# CONFIG_"*" is not set")
				line=${line#\# }
				line=${line%% *}
				! grep -q "^$line=" "$config" || back+=("$line")
				;;
			esac
		done <"$fragment"
	done < <(fragments)
	[ ${#missing[@]} -eq 0 ] && [ ${#back[@]} -eq 0 ] && return
	if ! grep -qx 'CONFIG_RUST_IS_AVAILABLE=y' "$config"; then
		kernel_make "$tree" "$objdir.config" rustavailable >&2 || true
		die "Rust is not available to this kernel (see above); run 'make deps'"
	fi
	[ ${#back[@]} -eq 0 ] ||
		die "Kconfig turned ${back[*]} back on in the $KERNEL $PROFILE config, which a fragment turns off (an option selects it: see which with 'make -C $tree O=$objdir.config menuconfig')"
	die "Kconfig dropped ${missing[*]} from the $KERNEL $PROFILE config (unmet dependencies: see them with 'make -C $tree O=$objdir.config menuconfig')"
}

# What the configuration is made from: when none of it changed since the
# last build of this directory, its .config still stands.
config_inputs() {
	local files
	mapfile -t files < <(fragments)
	{
		toolchains
		cat "${files[@]}" "$tree/arch/arm64/kvm/Kconfig" "$tree/.debian-version"
	} | sha256sum
}

# The toolchains Kconfig's tests see: compilers, linker and assembler,
# bindgen, pahole, and whether GCC's plugin headers are there
# (GCC_PLUGINS is on by default where they are).
toolchains() {
	local plugins
	echo "rustc $KERNEL_RUST_TOOLCHAIN, clang $("clang$LLVM_SUFFIX" -dumpversion)"
	bindgen --version
	pahole --version 2>/dev/null || echo "no pahole"
	if [ "$KERNEL_CC" = clang ]; then
		"ld.lld$LLVM_SUFFIX" --version
	else
		kernel_cc_version
		aarch64-linux-gnu-ld --version | head -n 1
		plugins=$(aarch64-linux-gnu-gcc -print-file-name=plugin)
		if [ -f "$plugins/include/plugin-version.h" ]; then
			echo "gcc plugins"
		else
			echo "no gcc plugins"
		fi
	fi
}

# tinyconfig into DIR, made once per tree and toolchain: it parses the
# Kconfig twice, with a compiler run for each of its tests (4 to 10 s more
# a configuration, measured on two cores), and it is the same for every
# handler and bisection step of a tree. The key is what it can see: the
# toolchains, the source package and the tree's Kconfig files, but for
# what the handlers' patches change in arch/arm64/kvm/Kconfig, all of it
# under VIRTUALIZATION, which tinyconfig turns off.
tiny_config() {
	local dir=$1 kvm=$tree/arch/arm64/kvm/Kconfig key cached
	key=$({
		toolchains
		cat "$tree/.debian-version"
		find "$tree" -name 'Kconfig*' -type f ! -path "$kvm" -print0 | sort -z | xargs -0 cat
		cat "$tree"/kernel/configs/tiny*.config
		# Without both markers the whole file, not the rest of it.
		if grep -qx 'if VIRTUALIZATION' "$kvm" && grep -qx 'endif # VIRTUALIZATION' "$kvm"; then
			sed '/^if VIRTUALIZATION$/,/^endif # VIRTUALIZATION$/d' "$kvm"
		else
			cat "$kvm"
		fi
	} | sha256sum | cut -c1-16)
	cached=$CACHE_DIR/tinyconfig/$KERNEL-$KERNEL_CC-$key.config
	if [ -f "$cached" ]; then
		cp "$cached" "$dir/.config"
		return
	fi
	kernel_make "$tree" "$dir" -s tinyconfig >/dev/null
	mkdir -p "${cached%/*}"
	cp "$dir/.config" "$cached.$$"
	mv "$cached.$$" "$cached"
}

# The configuration is made in a directory of its own and copied over only
# when it differs, so that an unchanged handler does not make Kbuild
# re-sync its configuration.
configure() {
	local scratch=$objdir.config inputs
	inputs=$(config_inputs)
	# The stamp names the inputs and the .config they gave: a .config
	# changed since (by hand, or by Kbuild under another handler's
	# Kconfig) is made again.
	if [ -f "$objdir/.config" ] &&
		[ "$(cat "$objdir/.pkvm-smc-config" 2>/dev/null)" = "$(config_stamp "$inputs")" ]; then
		return
	fi
	mkdir -p "$scratch" "$objdir"
	tiny_config "$scratch"
	mapfile -t fragment_files < <(fragments)
	"$tree/scripts/kconfig/merge_config.sh" -m -O "$scratch" "$scratch/.config" \
		"${fragment_files[@]}" >/dev/null
	kernel_make "$tree" "$scratch" -s olddefconfig >/dev/null
	check_config "$scratch/.config"
	if ! cmp -s "$scratch/.config" "$objdir/.config"; then
		step "configured $KERNEL $PROFILE for $name (tinyconfig + ${fragment_files[*]##*/})"
		cp "$scratch/.config" "$objdir/.config"
	fi
	config_stamp "$inputs" >"$objdir/.pkvm-smc-config"
}

# config_stamp INPUTS: what configure() records of the object directory's
# configuration.
config_stamp() {
	printf '%s\n' "$1"
	sha256sum <"$objdir/.config"
}
