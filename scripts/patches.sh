#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# patches.sh KERNEL [--bisect]: the mail series for KERNEL, ready to send.
#
# hyp/glue/KERNEL/series names the series and their patches, in the order
# they apply. In a scratch git tree of Debian's pristine source
# ($CACHE_DIR/series/KERNEL), each patch is committed with the hyp/ files
# it adds (hyp/glue/files) and its message (hyp/glue/KERNEL/<patch>.txt,
# whose first line may be "From: NAME <EMAIL>", the upstream author of a
# backport), one branch per series. `git format-patch` writes every series
# with a cover letter (hyp/glue/cover-KIND.txt) and the To/Cc of the tree's
# get_maintainer.pl, with the people the messages' trailers name (the
# authors and reviewers of the upstream commits the series builds on), to
# build/patches/KERNEL/[DIRECTORY/]. Every patch must then pass
# checkpatch.pl --strict, and every file come back out of git mailinfo,
# git am, git send-email --dry-run and b4 as it went in.
#
# Where hyp/glue/KERNEL/kvmarm-base names an upstream kvmarm commit, the
# series is first checked to apply to the files of that commit kept in
# $CACHE_DIR/kvmarm/ (scripts/series_mail.py apply-check); the cover
# letter says against what the series was built, booted and checked, and
# names a base-commit only if the series applies to every file it touches
# as kvmarm has it. A stable series is proposed to the KVM/arm64
# maintainers first: it goes to them, not to stable@, with no send
# command, until hyp/glue/KERNEL/series marks it stable-acked.
# With --bisect, vmlinux is built after every patch (bisect_builds); with
# --bisect-only, that is all it does (make check builds the steps where the
# object directory is nearest to them, and its series step then finds them
# in the build cache).
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=scripts/glue.sh
. "$(dirname "$0")/glue.sh"

usage="usage: patches.sh KERNEL [--bisect|--bisect-only]"
KERNEL=${1:?$usage}
BISECT=${2:-}
case $BISECT in
'' | --bisect | --bisect-only) ;;
*) die "$usage" ;;
esac
check_axes --kernel "$KERNEL"
need_tool git
need_tool patch
need_tool perl

glue=$PROJECT_ROOT/hyp/glue
scratch=$CACHE_DIR/series/$KERNEL
am_repo=$CACHE_DIR/series/$KERNEL.am
out=$BUILD_ROOT/patches/$KERNEL
allowlist=$glue/checkpatch-allowlist
# The stable list, for backports the KVM/arm64 maintainers have agreed to;
# everyone else comes from MAINTAINERS and the messages' trailers.
STABLE_LIST=stable@vger.kernel.org
series_mail=$PROJECT_ROOT/scripts/series_mail.py
kvmarm_base=$glue/$KERNEL/kvmarm-base
# The result of the apply check (JSON), and the upstream base it gives.
apply_json=
base_commit=

# The series of hyp/glue/KERNEL/series, in order: kind, directory, patches.
series_kinds=()
series_dirs=()
series_patches=()
read_series() {
	local kind dir patches
	[ -f "$glue/$KERNEL/series" ] ||
		die "$glue/$KERNEL/series is missing: it names the series 'make patches' writes"
	while IFS=$'\t' read -r kind dir patches; do
		case $kind in
		'#'* | '') continue ;;
		rfc | stable | stable-acked) ;;
		*) die "$glue/$KERNEL/series: unknown kind '$kind' (rfc, stable or stable-acked)" ;;
		esac
		series_kinds+=("$kind")
		series_dirs+=("$dir")
		series_patches+=("$patches")
	done <"$glue/$KERNEL/series"
	[ ${#series_kinds[@]} -gt 0 ] || die "$glue/$KERNEL/series names no series"
}

all_patches() {
	printf '%s\n' "${series_patches[@]}" | tr ' ' '\n' | sed '/^$/d'
}

# What is sent must be what the testbed's rust handler builds: the series,
# in order, are the first patches of its variant; what follows them there
# (selftest-support.patch) is the testbed's own.
check_series_is_rust_variant() {
	local sent variant
	sent=$(all_patches | paste -sd' ' -)
	variant=$(glue_patches "$KERNEL" rust)
	case "$variant " in
	"$sent "*) ;;
	*) die "hyp/glue/$KERNEL/series sends '$sent' but the rust handler applies '$variant'; make one begin with the other" ;;
	esac
}

# The identity that signs the series off: git's, or a placeholder the
# user must replace. An address at a domain reserved for examples
# (RFC 2606) signs nothing either: no reviewer's reply can reach it.
ident_name=
ident_email=
ident_problem=
choose_identity() {
	ident_name=$(git -C "$PROJECT_ROOT" config user.name || true)
	ident_email=$(git -C "$PROJECT_ROOT" config user.email || true)
	if [ -z "$ident_name" ] || [ -z "$ident_email" ]; then
		ident_name="Your Name"
		ident_email=you@example.com
		ident_problem="git has no user.name or user.email, so the series is signed off by the placeholder '$ident_name <$ident_email>'"
	elif grep -qiE '@(.*\.)?(example|invalid|test|localhost)$|@example\.(com|net|org)$' <<<"$ident_email"; then
		ident_problem="git's user.email '$ident_email' is at a domain reserved for examples (RFC 2606): the series is signed off by an address no reply can reach"
	fi
	export GIT_COMMITTER_NAME=$ident_name GIT_COMMITTER_EMAIL=$ident_email
}

warn_identity() {
	[ -n "$ident_problem" ] || return 0
	printf 'warning: %s; set yours with git config --global user.name/user.email and rerun make patches KERNEL=%s\n' \
		"$ident_problem" "$KERNEL" >&2
}

# A series whose NOTES list what must be done before it is sent.
warn_notes() {
	local notes
	while read -r notes; do
		echo "warning: ${notes#"$PROJECT_ROOT"/}: this series is not ready to send as it is; do what it says first" >&2
	done < <(find "$out" \( -name NOTES -o -name ACK-NEEDED \) | sort)
}

write_identity_note() {
	[ -n "$ident_problem" ] || return 0
	cat >"$out/IDENTITY-PLACEHOLDER" <<-EOF
		The Signed-off-by of these patches is not a real identity:
		$ident_problem.

		Set yours and generate the series again before sending it:

		    git config --global user.name "Your Name"
		    git config --global user.email you@your.domain
		    make patches KERNEL=$KERNEL
	EOF
}

pristine_tree() {
	"$PROJECT_ROOT/scripts/kernel-source.sh" "$KERNEL"
}

# The pristine tree committed once as `baseline`; later runs only go back
# to it.
make_baseline() {
	local pristine
	pristine=$(pristine_tree)
	if [ -f "$scratch/.git/pkvm-smc-baseline" ]; then
		git -C "$scratch" checkout -q --detach baseline
		git -C "$scratch" reset -q --hard baseline
		git -C "$scratch" clean -fdxq
		return
	fi
	step "committing the pristine $KERNEL tree as the series baseline"
	rm -rf "$scratch" "$am_repo"
	mkdir -p "$(dirname "$scratch")"
	cp -a "$pristine" "$scratch"
	git -C "$scratch" init -q
	# No automatic gc: after the baseline's some 80,000 loose objects it
	# would repack the whole tree in the background, on cores the next
	# steps are using. The scratch tree is this machine's cache.
	git -C "$scratch" config gc.auto 0
	git -C "$scratch" config maintenance.auto false
	# -f: Debian's tarball ships a .gitignore that ignores everything.
	# Uncompressed: the scratch tree is a cache, and zlib was most of the
	# time (measured on 6.12's tree: 44 s, 25 s without).
	git -C "$scratch" -c core.looseCompression=0 add -A -f
	git -C "$scratch" -c user.name=pkvm-smc-imm -c user.email=pkvm-smc-imm@invalid \
		commit -q -m "Debian linux-source-$KERNEL $(cat "$pristine/.debian-version")"
	git -C "$scratch" tag -f baseline >/dev/null
	touch "$scratch/.git/pkvm-smc-baseline"
}

message_file() {
	echo "$glue/$KERNEL/${1%.patch}.txt"
}

# The upstream author a message names on its first line, if any.
message_author() {
	sed -n '1s/^From: //p' "$(message_file "$1")"
}

# The message without its From: line and the blank line after it.
message_body() {
	local file
	file=$(message_file "$1")
	if [ -n "$(message_author "$1")" ]; then
		sed '1,2d' "$file"
	else
		cat "$file"
	fi
}

message_subject() {
	message_body "$1" | head -n 1
}

commit_patch() {
	local patch=$1 author file
	[ -f "$(message_file "$patch")" ] ||
		die "$(message_file "$patch") is missing: every patch of hyp/glue/$KERNEL/series needs its message"
	patch -d "$scratch" -p1 -F0 -s --no-backup-if-mismatch <"$glue/$KERNEL/$patch" >/dev/null ||
		die "hyp/glue/$KERNEL/$patch does not apply on top of the patches before it"
	for file in $(glue_new_files "$patch"); do
		cp "$PROJECT_ROOT/hyp/$file" "$scratch/$GLUE_NVHE/$file"
	done
	git -C "$scratch" add -A -f
	author=$(message_author "$patch")
	git -C "$scratch" commit -q -s --cleanup=whitespace \
		--author="${author:-$ident_name <$ident_email>}" -F <(message_body "$patch")
}

# One branch per series, each on top of the one before it.
commit_series() {
	local i patch
	for i in "${!series_kinds[@]}"; do
		for patch in ${series_patches[i]}; do
			commit_patch "$patch"
		done
		git -C "$scratch" branch -f "series-$i" HEAD
	done
}

series_start() {
	if [ "$1" -eq 0 ]; then echo baseline; else echo "series-$(($1 - 1))"; fi
}

series_out() {
	if [ "${series_dirs[$1]}" = . ]; then echo "$out"; else echo "$out/${series_dirs[$1]}"; fi
}

# The mail, its checks and the bisection, each in a file of its own.
# shellcheck source=scripts/series-mail.sh
. "$PROJECT_ROOT/scripts/series-mail.sh"
# shellcheck source=scripts/series-checks.sh
. "$PROJECT_ROOT/scripts/series-checks.sh"
# shellcheck source=scripts/series-bisect.sh
. "$PROJECT_ROOT/scripts/series-bisect.sh"

main() {
	# One run at a time writes the scratch trees and build/patches/KERNEL/
	# (--bisect-only its BISECT).
	hold_lock "series-$KERNEL"
	read_series
	check_series_is_rust_variant
	if [ "$BISECT" = --bisect-only ]; then
		bisect_builds
		return
	fi
	# A git lock file found in the scratch trees now was left by a run
	# that was killed.
	clear_stale_git_locks "$scratch"
	clear_stale_git_locks "$am_repo"
	choose_identity
	make_baseline
	commit_series
	check_kvmarm_apply
	format_series
	run_checkpatch
	check_mailinfo
	check_am
	check_send_email
	check_b4
	check_output
	[ "$BISECT" != --bisect ] || bisect_builds
	find "$out" -type f -printf '%P\n' | sort | sed "s|^|patches: build/patches/$KERNEL/|"
	warn_identity
	warn_notes
	[ -z "$apply_report" ] || printf '%s\n' "$apply_report" | grep '^apply: [^ ]' | head -n 1 >&2
}

# On one line, so that bash has read all it will run before main runs: an
# edit of this file during a long --bisect cannot change what follows.
main; exit
