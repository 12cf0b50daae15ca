#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# patches.sh KERNEL [--bisect]: the upstream-style series for KERNEL.
#
# Commits hyp/glue/KERNEL/*.patch, with the hyp/ files each introduces and
# the message of hyp/glue/messages/, on top of the pristine Debian tree in
# a scratch git tree, writes `git format-patch` output to
# build/patches/KERNEL/ and runs checkpatch.pl --strict on it. With
# --bisect, builds the kernel after every patch (see bisect_build).
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

KERNEL=${1:?usage: patches.sh KERNEL [--bisect]}
BISECT=${2:-}
kernel_package "$KERNEL" >/dev/null
need_tool git
need_tool patch

glue=$PROJECT_ROOT/hyp/glue
scratch=$CACHE_DIR/series/$KERNEL
out=$BUILD_ROOT/patches/$KERNEL
allowlist=$glue/checkpatch-allowlist

# The hyp/ files each patch adds to arch/arm64/kvm/hyp/nvhe/.
new_files() {
	case $1 in
	01-*) echo check-hyp-symbols.sh ;;
	02-*) echo host_smc.rs host_smc_policy.rs ;;
	esac
}

# Signed-off-by comes from the user's git configuration; without one the
# series carries a placeholder for the user to fill in.
use_git_identity() {
	if ! git config user.name >/dev/null || ! git config user.email >/dev/null; then
		export GIT_AUTHOR_NAME="Your Name" GIT_COMMITTER_NAME="Your Name"
		export GIT_AUTHOR_EMAIL=you@example.com GIT_COMMITTER_EMAIL=you@example.com
		echo "note: no git user.name/user.email: Signed-off-by is a placeholder" >&2
	fi
}

make_baseline() {
	local pristine
	pristine=$("$PROJECT_ROOT/scripts/kernel-source.sh" "$KERNEL")
	if [ -f "$scratch/.git/pkvm-smc-baseline" ]; then
		git -C "$scratch" checkout -q --detach baseline
		git -C "$scratch" reset -q --hard baseline
		git -C "$scratch" clean -fdq
		return
	fi
	step "committing the pristine $KERNEL tree as the series baseline"
	rm -rf "$scratch"
	mkdir -p "$(dirname "$scratch")"
	cp -a "$pristine" "$scratch"
	git -C "$scratch" init -q
	# -f: Debian's tarball ships a .gitignore that ignores everything.
	git -C "$scratch" add -A -f
	git -C "$scratch" -c user.name=pkvm-smc-imm -c user.email=pkvm-smc-imm@invalid \
		commit -q -m "Debian linux-source-$KERNEL $(cat "$pristine/.debian-version")"
	git -C "$scratch" tag -f baseline >/dev/null
	touch "$scratch/.git/pkvm-smc-baseline"
}

# apply_patch TREE PATCH: one step of the series, with the files it adds.
apply_patch() {
	local tree=$1 patch=$2 file
	patch -d "$tree" -p1 -F0 -s --no-backup-if-mismatch <"$patch" ||
		die "$patch does not apply to $tree"
	for file in $(new_files "$(basename "$patch" .patch)"); do
		cp "$PROJECT_ROOT/hyp/$file" "$tree/arch/arm64/kvm/hyp/nvhe/$file"
	done
}

commit_series() {
	local patch
	use_git_identity
	for patch in "$glue/$KERNEL"/*.patch; do
		apply_patch "$scratch" "$patch"
		git -C "$scratch" add -A -f
		git -C "$scratch" commit -q -s -F "$glue/messages/$(basename "$patch" .patch).txt"
	done
}

format_series() {
	rm -rf "$out"
	mkdir -p "$out"
	git -C "$scratch" format-patch -q -o "$out" baseline..HEAD
	step "series: $(find "$out" -name '*.patch' | wc -l) patches in $out"
}

# checkpatch types allowed, each with its reason, in the allowlist file.
allowed_types() {
	sed -n 's/^\([A-Z_]*\)[[:space:]].*/\1/p' "$allowlist" | paste -sd, -
}

run_checkpatch() {
	local patch report status=0
	step "checkpatch.pl --strict"
	for patch in "$out"/*.patch; do
		# checkpatch runs scripts/spdxcheck.py with the first python3 on
		# PATH; Debian's has the ply module that deps.sh installs.
		report=$(cd "$scratch" && PATH=/usr/bin:$PATH ./scripts/checkpatch.pl \
			--strict --show-types --ignore "$(allowed_types)" "$patch" 2>&1) || true
		if ! grep -q 'total: 0 errors, 0 warnings, 0 checks' <<<"$report" ||
			grep -q Traceback <<<"$report"; then
			printf '%s\n' "$report" >&2
			status=1
		fi
		echo "checkpatch: $(basename "$patch"): $(grep '^total:' <<<"$report")"
	done
	[ "$status" -eq 0 ] || die "checkpatch found problems (see above); fix them or justify them in $allowlist"
}

# The patches that change only the C handler (the 6.12 backport): their
# code is compiled only with the Rust handler off, so build them that way.
c_handler_patch() {
	case $1 in
	03-*) true ;;
	*) false ;;
	esac
}

build_step() {
	local name=$1 subject rust_handler=y
	subject=$(head -n 1 "$glue/messages/$name.txt")
	! c_handler_patch "$name" || rust_handler=n
	step "bisect build: $subject (Rust handler: $rust_handler)"
	RUST_HANDLER=$rust_handler "$PROJECT_ROOT/scripts/build-kernel.sh" \
		--tree "$rust_tree" "$KERNEL" rust >&2 ||
		die "the series does not build after: $subject"
}

# Every patch must build on its own. The rust tree of the testbed is the
# series' end state (01 and 02 are what hyp-install applies), so the
# steps are built there, incrementally in build/KERNEL-rust/: back to the
# pristine tree, then one patch at a time, then back to the installed state.
bisect_build() {
	local patch series=("$glue/$KERNEL"/*.patch)
	rust_tree=$("$PROJECT_ROOT/scripts/prepare-tree.sh" "$KERNEL" rust)
	"$PROJECT_ROOT/scripts/hyp-install.sh" uninstall "$rust_tree" >&2
	for patch in "${series[@]}"; do
		apply_patch "$rust_tree" "$patch"
		build_step "$(basename "$patch" .patch)"
	done
	# Undo what hyp-install does not apply (the 6.12 C backport).
	for patch in "${series[@]:2}"; do
		patch -d "$rust_tree" -p1 -R -F0 -s --no-backup-if-mismatch <"$patch"
	done
	"$PROJECT_ROOT/scripts/hyp-install.sh" status "$rust_tree" >/dev/null ||
		die "$rust_tree is not back in its installed state"
	"$PROJECT_ROOT/scripts/build-kernel.sh" "$KERNEL" rust >&2
}

make_baseline
commit_series
format_series
run_checkpatch
if [ "$BISECT" = --bisect ]; then
	bisect_build
fi
