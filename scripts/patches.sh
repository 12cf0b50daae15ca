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
# With --bisect, the kernel is built after every patch, and a stable
# backport also booted with the kselftest (bisect_builds).
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=scripts/glue.sh
. "$(dirname "$0")/glue.sh"

usage="usage: patches.sh KERNEL [--bisect]"
KERNEL=${1:?$usage}
BISECT=${2:-}
[ -z "$BISECT" ] || [ "$BISECT" = --bisect ] || die "$usage"
kernel_package "$KERNEL" >/dev/null
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
	# -f: Debian's tarball ships a .gitignore that ignores everything.
	git -C "$scratch" add -A -f
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

subject_prefix() {
	case ${series_kinds[$1]} in
	stable | stable-acked) echo "PATCH $KERNEL.y" ;;
	rfc) echo "RFC PATCH" ;;
	esac
}

# Whether series I may be sent as it is: a stable series only once the
# KVM/arm64 maintainers have agreed to it (kind stable-acked).
sendable() {
	[ "${series_kinds[$1]}" != stable ]
}

# The people the messages of series I name in their trailers (From: of a
# backport, Signed-off-by, Reviewed-by, Acked-by, Suggested-by, Cc), but
# the sender: the authors and reviewers of the upstream commits the series
# builds on. get_maintainer.pl cannot find them: the scratch tree has no
# history (--nogit).
trailer_people() {
	local patch
	for patch in ${series_patches[$1]}; do
		message_author "$patch"
		message_body "$patch" |
			sed -n 's/^\(Signed-off-by\|Reviewed-by\|Acked-by\|Suggested-by\|Cc\): *\(.*<[^>]*@[^>]*>\)$/\2/p'
	done | grep -vF "<$ident_email>" | awk '!seen[$0]++' || true
}

# get_maintainer.pl ROLE-OPTIONS PATCH...: addresses, one a line. No git
# history: the scratch tree has one commit, which says nothing about who
# maintains what.
get_maintainer() {
	(cd "$scratch" && ./scripts/get_maintainer.pl --nogit --nogit-fallback \
		--norolestats --multiline "$@")
}

# The recipients of series I, into the arrays `to` and `cc`: for a
# backport the maintainers have agreed to, the stable list, Cc the
# maintainers, reviewers, lists and the upstream authors and reviewers; for
# one they have not (kind stable), the same but for the stable list: it is
# a question to the maintainers; for the RFC, the maintainers of the files
# it touches, Cc their reviewers, the lists, the maintainers of the
# subsystems MAINTAINERS ties to its content by keyword (Rust, clang) and
# the people its messages name.
to=()
cc=()
series_to=()
recipients() {
	local i=$1 tmp
	tmp=$(mktemp -d)
	git -C "$scratch" format-patch -q -o "$tmp" "$(series_start "$i")..series-$i"
	if [ "${series_kinds[i]}" = stable-acked ]; then
		mapfile -t to <<<"$STABLE_LIST"
	else
		mapfile -t to < <(get_maintainer --m --nor --nol --nokeywords "$tmp"/*.patch)
	fi
	mapfile -t cc < <({
		get_maintainer --m --r --l "$tmp"/*.patch
		trailer_people "$i"
	} | awk '!seen[$0]++' | grep -vxF -f <(printf '%s\n' "${to[@]}") || true)
	rm -rf "$tmp"
	if [ -z "${to[0]:-}" ]; then
		die "get_maintainer.pl found no maintainer for series ${series_dirs[i]}; run it by hand in $scratch to see why"
	fi
	series_to[i]=$(printf '%s\n' "${to[@]}")
}

# The paragraph about the base: what the series was built and booted on
# (Debian's tree), what upstream tree it was checked to apply to, and why
# there is a base-commit or none.
base_text() {
	local i=$1 pristine text
	pristine=$(pristine_tree 2>/dev/null)
	text="Built and booted on Debian's linux-source-$KERNEL $(cat "$pristine/.debian-version") (Linux $(make -s -C "$pristine" kernelversion) with Debian's changes), the tree the testbed builds."
	if [ -n "$apply_json" ]; then
		text+=" $(python3 "$series_mail" base-text "$apply_json")"
	else
		text+=" It was not checked against an upstream tree, and has no base-commit: Debian's tree is no upstream commit. Before it is sent to be applied, it must be rebased onto the current linux-$KERNEL.y and checked there."
	fi
	if [ "$i" -gt 0 ]; then
		text+=" It applies on top of the series before it."
	fi
	fold -s -w 72 <<<"$text" | sed 's/ *$//'
}

# The cover letter, from hyp/glue/cover-KIND.txt with the tree's own
# paragraph, this testbed's last results and the base.
cover_text() {
	local i=$1 kind=${series_kinds[$1]%-acked} text tree_part results base
	if [ ! -f "$glue/cover-$kind.txt" ] || [ ! -f "$glue/$KERNEL/cover-$kind.txt" ]; then
		die "a $kind series needs its cover letter: $glue/cover-$kind.txt and $glue/$KERNEL/cover-$kind.txt"
	fi
	text=$(<"$glue/cover-$kind.txt")
	tree_part=$(<"$glue/$KERNEL/cover-$kind.txt")
	# make hyp-report's numbers, from the builds this checkout holds (it
	# reads their kvm_nvhe.o; it builds nothing).
	rm -f "$BUILD_ROOT/hyp-report-$KERNEL.tsv"
	if [ "$kind" = rfc ]; then
		"$PROJECT_ROOT/scripts/hyp-report.sh" --tsv "$KERNEL" >"$BUILD_ROOT/hyp-report-$KERNEL.tsv.new" 2>/dev/null &&
			mv "$BUILD_ROOT/hyp-report-$KERNEL.tsv.new" "$BUILD_ROOT/hyp-report-$KERNEL.tsv"
		rm -f "$BUILD_ROOT/hyp-report-$KERNEL.tsv.new"
	fi
	results=$(python3 "$PROJECT_ROOT/scripts/series-results.py" "$BUILD_ROOT" "$KERNEL" "$kind")
	base=$(base_text "$i")
	text=${text//@TREE@/$tree_part}
	text=${text//@RESULTS@/$results}
	text=${text//@BASE@/$base}
	printf '%s\n' "$text"
}

format_one() {
	local i=$1 dir args=() address
	dir=$(series_out "$i")
	recipients "$i"
	for address in "${to[@]}"; do args+=(--to="$address"); done
	for address in "${cc[@]}"; do args+=(--cc="$address"); done
	# format-patch takes the cover letter's subject and body from the
	# description of the branch it formats.
	git -C "$scratch" config "branch.series-$i.description" "$(cover_text "$i")"
	mkdir -p "$dir"
	# No --base: the scratch tree's baseline is Debian's tarball committed
	# as-is, which no bot or maintainer can find. An upstream base-commit,
	# if the apply check gives one, goes where format-patch puts it.
	git -C "$scratch" format-patch -q -o "$dir" --cover-letter \
		--cover-from-description=subject --subject-prefix="$(subject_prefix "$i")" \
		--no-base --thread=shallow "${args[@]}" \
		"$(series_start "$i")..series-$i"
	[ -z "$base_commit" ] || add_base_commit "$dir/0000-cover-letter.patch"
	[ ! -f "$glue/$KERNEL/notes-${series_kinds[i]%-acked}.txt" ] ||
		cp "$glue/$KERNEL/notes-${series_kinds[i]%-acked}.txt" "$dir/NOTES"
	if sendable "$i"; then
		# What a sender runs, with the recipients spelled out, less --dry-run.
		{
			printf 'git send-email \\\n'
			printf '\t--to=%q \\\n' "${to[@]}"
			printf '\t%s/*.patch\n' "${dir#"$PROJECT_ROOT"/}"
		} >"$dir/SEND-EMAIL"
	else
		write_ack_needed "$dir"
	fi
	step "series ${series_kinds[i]}: $(find "$dir" -name '*.patch' | wc -l) files in $dir (To: ${#to[@]}, Cc: ${#cc[@]})"
}

# add_base_commit COVER: the base-commit line, after the diffstat and
# before the signature, as format-patch --base writes it.
add_base_commit() {
	local cover=$1
	awk -v base="$base_commit" '
		!done && $0 == "-- " { print "base-commit: " base; done = 1 }
		{ print }
		END { if (!done) exit 1 }' "$cover" >"$cover.new" ||
		die "$cover has no signature line to put the base-commit before"
	mv "$cover.new" "$cover"
}

# Why a stable series the KVM/arm64 maintainers have not agreed to has no
# send command, and what makes it sendable.
write_ack_needed() {
	cat >"$1/ACK-NEEDED" <<-EOF
		This stable series is not to be sent to $STABLE_LIST yet.

		Stable takes a backport of a KVM/arm64 change when the KVM/arm64
		maintainers agree that it belongs there; the upstream commits carry
		no Cc: stable tag. So the series is addressed to them (To:, from
		get_maintainer.pl) with the upstream authors and reviewers in Cc,
		as a question: do you want these in $KERNEL.y? It has no send
		command until they have answered yes.

		Once they have:
		  1. add their Acked-by to each message in hyp/glue/$KERNEL/*.txt;
		  2. change the series' kind from 'stable' to 'stable-acked' in
		     hyp/glue/$KERNEL/series;
		  3. do what NOTES says, if there is one;
		  4. make patches KERNEL=$KERNEL, which then addresses the series
		     to $STABLE_LIST and writes its SEND-EMAIL.
	EOF
}

format_series() {
	local i
	rm -rf "$out"
	mkdir -p "$out"
	for i in "${!series_kinds[@]}"; do
		format_one "$i"
	done
	write_identity_note
}

# The generated files of series I, cover letter first.
series_files() {
	find "$(series_out "$1")" -maxdepth 1 -name '[0-9][0-9][0-9][0-9]-*.patch' | sort
}

patch_files() {
	series_files "$1" | grep -v '/0000-cover-letter\.patch$'
}

# allowed_types PATCH: the checkpatch types the allowlist file justifies
# for PATCH of hyp/glue/KERNEL/: those of every patch (TYPE), and those
# of this one (TYPE:KERNEL/PATCH).
allowed_types() {
	sed -n -e 's/^\([A-Z0-9_]*\)[[:space:]].*/\1/p' \
		-e "s|^\\([A-Z0-9_]*\\):$KERNEL/$1[[:space:]].*|\\1|p" "$allowlist"
}

# Every patch passes checkpatch --strict; what it still reports must be of
# a type the allowlist justifies. Cover letters are not patches.
run_checkpatch() {
	local i patch report found bad count=0 status=0 all_found="" glue_patches n
	step "checkpatch.pl --strict"
	for i in "${!series_kinds[@]}"; do
		read -r -a glue_patches <<<"${series_patches[i]}"
		n=0
		while read -r patch; do
			# checkpatch runs scripts/spdxcheck.py with the first python3
			# on PATH; Debian's has the ply module that deps.sh installs.
			report=$(cd "$scratch" && PATH=/usr/bin:$PATH ./scripts/checkpatch.pl \
				--strict --show-types "$patch" 2>&1) || true
			found=$(sed -n 's/^\(ERROR\|WARNING\|CHECK\):\([A-Z0-9_]*\):.*/\2/p' <<<"$report")
			bad=$(grep -vxF -f <(allowed_types "${glue_patches[n]}") <<<"$found" |
				sed '/^$/d' || true)
			n=$((n + 1))
			if [ -n "$bad" ] || grep -q Traceback <<<"$report" ||
				! grep -q '^total: ' <<<"$report"; then
				printf '%s\n' "$report" >&2
				status=1
			fi
			echo "checkpatch: ${patch#"$out"/}: $(grep '^total:' <<<"$report")${found:+ (types: $(paste -sd, - <<<"$found"))}"
			all_found+=$found$'\n'
			count=$((count + 1))
		done < <(patch_files "$i")
	done
	[ "$status" -eq 0 ] ||
		die "checkpatch found problems (see above); fix them in hyp/glue/$KERNEL/ or justify their type in $allowlist, then rerun make patches KERNEL=$KERNEL"
	echo "checkpatch: $count patches, 0 errors, 0 warnings, 0 checks outside the allowlist; allowed: $(sed '/^$/d' <<<"$all_found" | sort | uniq -c | awk '{ printf "%s%s x%s", sep, $2, $1; sep = ", " }')"
}

# mailinfo_field INFO FIELD: one line of git mailinfo's summary.
mailinfo_field() {
	sed -n "s/^$2: //p" "$1"
}

# Each file parses back into the commit it came from: subject, author,
# message and diff (compared by patch ID); a cover letter into its subject,
# the sender and no diff.
check_mailinfo() {
	local i file commit work commits=() n=0 problem=""
	work=$(mktemp -d)
	for i in "${!series_kinds[@]}"; do
		mapfile -t commits < <(git -C "$scratch" rev-list --reverse "$(series_start "$i")..series-$i")
		n=0
		while read -r file; do
			git mailinfo "$work/msg" "$work/diff" <"$file" >"$work/info" ||
				die "git mailinfo cannot parse $file"
			if [ "${file##*/}" = 0000-cover-letter.patch ]; then
				[ "$(mailinfo_field "$work/info" Subject)" = "$(git -C "$scratch" config "branch.series-$i.description" | head -n 1)" ] ||
					problem+="$file: the cover letter's subject does not come back"$'\n'
				[ ! -s "$work/diff" ] || problem+="$file: the cover letter has a diff"$'\n'
				continue
			fi
			commit=${commits[n]:-}
			n=$((n + 1))
			if [ -z "$commit" ]; then
				problem+="$file: more files than commits in series ${series_dirs[i]}"$'\n'
				continue
			fi
			[ "$(mailinfo_field "$work/info" Subject)" = "$(git -C "$scratch" log -1 --format=%s "$commit")" ] ||
				problem+="$file: the subject does not come back"$'\n'
			[ "$(mailinfo_field "$work/info" Author) <$(mailinfo_field "$work/info" Email)>" = "$(git -C "$scratch" log -1 --format='%an <%ae>' "$commit")" ] ||
				problem+="$file: the author does not come back"$'\n'
			cmp -s <(sed -e :a -e '/^\n*$/{$d;N;ba' -e '}' "$work/msg") \
				<(git -C "$scratch" log -1 --format=%b "$commit" | sed -e :a -e '/^\n*$/{$d;N;ba' -e '}') ||
				problem+="$file: the message body does not come back"$'\n'
			[ "$(git patch-id --stable <"$work/diff" | cut -d' ' -f1)" = \
				"$(git -C "$scratch" show "$commit" | git patch-id --stable | cut -d' ' -f1)" ] ||
				problem+="$file: the diff does not come back"$'\n'
		done < <(series_files "$i")
		[ "$n" -eq "${#commits[@]}" ] ||
			problem+="series ${series_dirs[i]}: ${#commits[@]} commits but $n patch files"$'\n'
	done
	rm -rf "$work"
	[ -z "$problem" ] || die "the mails do not round-trip through git mailinfo:"$'\n'"$problem""fix scripts/patches.sh or hyp/glue/$KERNEL/, then rerun make patches KERNEL=$KERNEL"
	echo "mail: git mailinfo gives back every subject, author, message and diff"
}

# A fresh clone of the baseline, checked out once and reset afterwards,
# takes every series with git am and must end on the scratch tree's tree.
check_am() {
	local i files=()
	if [ ! -d "$am_repo/.git" ]; then
		step "checking out a fresh copy of the baseline for git am"
		rm -rf "$am_repo"
		git -c init.defaultBranch=am clone -q --shared --no-checkout "$scratch" "$am_repo"
	fi
	git -C "$am_repo" fetch -q "$scratch" "+refs/tags/baseline:refs/tags/baseline"
	git -C "$am_repo" am --abort >/dev/null 2>&1 || true
	git -C "$am_repo" checkout -q -f --detach baseline
	git -C "$am_repo" clean -fdxq
	for i in "${!series_kinds[@]}"; do
		mapfile -t -O "${#files[@]}" files < <(patch_files "$i")
	done
	git -C "$am_repo" -c user.name="$ident_name" -c user.email="$ident_email" \
		am -q "${files[@]}" >&2 ||
		die "git am of build/patches/$KERNEL onto the baseline failed (see above; state in $am_repo)"
	[ "$(git -C "$am_repo" rev-parse 'HEAD^{tree}')" = "$(git -C "$scratch" rev-parse "series-$((${#series_kinds[@]} - 1))^{tree}")" ] ||
		die "git am of build/patches/$KERNEL gives another tree than the series' commits: compare with git -C $am_repo diff HEAD $(git -C "$scratch" rev-parse "series-$((${#series_kinds[@]} - 1))")"
	echo "mail: git am of all ${#files[@]} patches onto a fresh baseline gives the series' tree"
}

# git send-email parses and validates every mail as it would send it. The
# sendmail it is given fails, so that no mail could leave even if
# --dry-run did not hold.
check_send_email() {
	local i dir to_args=() address log files=() help
	help=$(git send-email -h 2>&1 || true)
	if ! grep -q -- --dry-run <<<"$help"; then
		echo "mail: git send-email not installed (Debian's git-email; run make deps): not checked"
		return
	fi
	for i in "${!series_kinds[@]}"; do
		dir=$(series_out "$i")
		to_args=()
		while IFS= read -r address; do
			to_args+=(--to="$address")
		done <<<"${series_to[i]}"
		mapfile -t files < <(series_files "$i")
		log=$(cd "$scratch" && git send-email --dry-run --confirm=never \
			--smtp-server=/bin/false "${to_args[@]}" "${files[@]}" </dev/null 2>&1) || {
			printf '%s\n' "$log" >&2
			die "git send-email --dry-run rejects ${dir#"$PROJECT_ROOT"/} (see above)"
		}
		if [ "$(grep -c '^Result: OK' <<<"$log")" -ne "${#files[@]}" ] ||
			grep -qi '^error' <<<"$log"; then
			printf '%s\n' "$log" >&2
			die "git send-email --dry-run did not accept every mail of ${dir#"$PROJECT_ROOT"/} (see above)"
		fi
	done
	echo "mail: git send-email --dry-run accepts every mail"
}

# b4 reads each series as a thread from a local mbox, as it would from
# lore: complete, in order, with its base. Debian's b4 0.12 cannot copy a
# folded header, which git writes for a long From:, so headers are
# unfolded for it (RFC 5322 unfolding changes no header's value).
check_b4() {
	local i dir work msgid log count base
	if ! command -v b4 >/dev/null 2>&1; then
		echo "mail: b4 not installed (run make deps): not checked"
		return
	fi
	work=$(mktemp -d)
	for i in "${!series_kinds[@]}"; do
		dir=$(series_out "$i")
		series_files "$i" | xargs cat | awk '
			/^From [0-9a-f]+ Mon Sep 17 00:00:00 2001$/ { header = 1 }
			header && /^$/ { header = 0 }
			header && /^[ \t]/ { sub(/^[ \t]+/, " "); printf "%s", $0; next }
			{ if (NR > 1) printf "\n"; printf "%s", $0 }
			END { printf "\n" }' >"$work/series.mbox"
		msgid=$(sed -n 's/^Message-ID: <\(.*\)>$/\1/p' "$dir/0000-cover-letter.patch")
		mkdir -p "$work/out"
		log=$(cd "$work" && b4 --offline-mode -n am -C -m series.mbox -o out "$msgid" 2>&1) || {
			printf '%s\n' "$log" >&2
			die "b4 am cannot read ${dir#"$PROJECT_ROOT"/} as a thread (see above)"
		}
		count=$(patch_files "$i" | wc -l)
		if [ -n "$base_commit" ]; then
			base_ok() { grep -q "$base_commit" <<<"$log"; }
		else
			base_ok() { ! grep -qE 'base-commit:? *[0-9a-f]{40}' <<<"$log"; }
		fi
		if ! grep -q "^Total patches: $count\$" <<<"$log" || grep -qE 'WARNING|ERROR|Traceback' <<<"$log" ||
			! base_ok; then
			printf '%s\n' "$log" >&2
			die "b4 am does not see ${dir#"$PROJECT_ROOT"/} as a complete series of $count patches on base-commit ${base_commit:-(none)} (see above)"
		fi
		rm -rf "$work/out"
	done
	rm -rf "$work"
	echo "mail: b4 am reads every series as a complete thread, base-commit ${base_commit:-none}"
}

# The series against kvmarm's files at the commit hyp/glue/KERNEL/kvmarm-base
# names (scripts/series_mail.py): the result is printed, kept in
# build/patches/KERNEL/APPLY-CHECK, and said in the cover letter; the commit
# becomes the base-commit only if the series applies to every file it
# touches as kvmarm has it. No kvmarm-base, no check (6.12: stable series
# are rebased onto linux-6.12.y when they are sent).
check_kvmarm_apply() {
	local patches=() patch report
	[ -f "$kvmarm_base" ] || return 0
	for patch in $(all_patches); do patches+=("$glue/$KERNEL/$patch"); done
	apply_json=$CACHE_DIR/series/$KERNEL.apply.json
	mkdir -p "${apply_json%/*}"
	report=$(python3 "$series_mail" apply-check "$kvmarm_base" "$CACHE_DIR/kvmarm" \
		"$apply_json" "${patches[@]}") ||
		die "the apply check could not run (see above); fix ${kvmarm_base#"$PROJECT_ROOT"/}"
	printf '%s\n' "$report"
	if [ "$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["status"])' "$apply_json")" = applies ]; then
		base_commit=$(sed -n 's/^commit[[:space:]]*//p' "$kvmarm_base")
	fi
	apply_report=$report
}
apply_report=

# The series as generated must be what its kind allows (scripts/series_mail.py
# check-out): no stable@ and no send command before the maintainers agree,
# no base-commit but an upstream one.
check_output() {
	local i
	for i in "${!series_kinds[@]}"; do
		python3 "$series_mail" check-out "$(series_out "$i")" "${series_kinds[i]}" \
			${base_commit:+"$base_commit"} ||
			die "build/patches/$KERNEL: the series ${series_dirs[i]} is not what a ${series_kinds[i]} series may be (see above)"
	done
	[ -z "$apply_report" ] || printf '%s\n' "$apply_report" >"$out/APPLY-CHECK"
	echo "mail: every series is addressed as its kind allows, base-commit ${base_commit:-none}"
}

# Every patch must build on its own, with the Rust handler's option off,
# and on as well once a patch has added it; a stable backport must also
# boot and run the kselftest under pKVM, and the whole stable series pass
# it. Each step is one incremental build of the shared tree into
# build/bisect-KERNEL/; the tree ends as the testbed's rust handler has it.
bisect_builds() {
	local i patch applied=() option_exists=false option last_stable
	bisect_results=()
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
	"$PROJECT_ROOT/scripts/prepare-tree.sh" "$KERNEL" rust >/dev/null
	printf '%s\n' "${bisect_results[@]}" >"$out/BISECT"
	echo "bisect: ${#bisect_results[@]} steps, all OK (build/patches/$KERNEL/BISECT); the $KERNEL tree is back to the rust handler"
}

bisect_build() {
	local option=$1 last
	shift
	last=${*: -1}
	step "bisect build after $last: $(message_subject "$last") (CONFIG_NVHE_RUST_HOST_SMC=$option)"
	"$PROJECT_ROOT/scripts/build-kernel.sh" --patches "$*" --rust-option "$option" \
		--into "bisect-$KERNEL" "$KERNEL" rust minimal >&2 ||
		die "the series does not build after $last with CONFIG_NVHE_RUST_HOST_SMC=$option; log in build/bisect-$KERNEL/; rerun that step with: scripts/build-kernel.sh --patches \"$*\" --rust-option $option --into bisect-$KERNEL $KERNEL rust minimal"
	bisect_results+=("built   CONFIG_NVHE_RUST_HOST_SMC=$option  after $last")
}

# bisect_boot PATCH [PASS]: boot what bisect_build just built under pKVM
# (hVHE) and run the kselftest; it must run to its end, and pass if asked.
bisect_boot() {
	local patch=$1 want=${2:-} log=$BUILD_ROOT/bisect-$KERNEL/max-hvhe.log outcome
	step "bisect boot after $patch (pKVM hVHE, kselftest)"
	"$PROJECT_ROOT/scripts/boot.sh" --build "bisect-$KERNEL" "$KERNEL" rust minimal max hvhe \
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

main() {
	read_series
	check_series_is_rust_variant
	choose_identity
	check_kvmarm_apply
	make_baseline
	commit_series
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
