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
# get_maintainer.pl to build/patches/KERNEL/[DIRECTORY/]. Every patch must
# then pass checkpatch.pl --strict, and every file come back out of
# git mailinfo, git am, git send-email --dry-run and b4 as it went in.
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
# The stable list, for the backports; everyone else comes from MAINTAINERS.
STABLE_LIST=stable@vger.kernel.org

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
		rfc | stable) ;;
		*) die "$glue/$KERNEL/series: unknown kind '$kind' (rfc or stable)" ;;
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
	done < <(find "$out" -name NOTES | sort)
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
	stable) echo "PATCH $KERNEL.y" ;;
	rfc) echo "RFC PATCH" ;;
	esac
}

# get_maintainer.pl ROLE-OPTIONS PATCH...: addresses, one a line. No git
# history: the scratch tree has one commit, which says nothing about who
# maintains what.
get_maintainer() {
	(cd "$scratch" && ./scripts/get_maintainer.pl --nogit --nogit-fallback \
		--norolestats --multiline "$@")
}

# The recipients of series I, into the arrays `to` and `cc`: for a
# backport, the stable list, Cc the maintainers, reviewers, lists and the
# upstream authors; for the RFC, the maintainers of the files it touches,
# Cc their reviewers, the lists, and the maintainers of the subsystems
# MAINTAINERS ties to its content by keyword (Rust, clang).
to=()
cc=()
series_to=()
recipients() {
	local i=$1 tmp patch
	tmp=$(mktemp -d)
	git -C "$scratch" format-patch -q -o "$tmp" "$(series_start "$i")..series-$i"
	if [ "${series_kinds[i]}" = stable ]; then
		mapfile -t to <<<"$STABLE_LIST"
		mapfile -t cc < <({
			get_maintainer --m --r --l "$tmp"/*.patch
			for patch in ${series_patches[i]}; do message_author "$patch"; done
		} | awk '!seen[$0]++')
	else
		mapfile -t to < <(get_maintainer --m --nor --nol --nokeywords "$tmp"/*.patch)
		mapfile -t cc < <(get_maintainer --m --r --l "$tmp"/*.patch |
			grep -vxF -f <(printf '%s\n' "${to[@]}"))
	fi
	rm -rf "$tmp"
	if [ -z "${to[0]:-}" ]; then
		die "get_maintainer.pl found no maintainer for series ${series_dirs[i]}; run it by hand in $scratch to see why"
	fi
	series_to[i]=$(printf '%s\n' "${to[@]}")
}

# The sentence about the base: Debian's tree, not an upstream commit.
base_text() {
	local i=$1 pristine text
	pristine=$(pristine_tree 2>/dev/null)
	text="The series is against Debian's linux-source-$KERNEL $(cat "$pristine/.debian-version") (Linux $(make -s -C "$pristine" kernelversion) with Debian's changes). The base-commit below is that tree committed as-is into a scratch git tree: it is not an upstream commit."
	if [ "$i" -gt 0 ]; then
		text="$text The prerequisite-patch-id lines are the patches of the series this one applies on top of."
	fi
	fold -s -w 72 <<<"$text" | sed 's/ *$//'
}

# The cover letter, from hyp/glue/cover-KIND.txt with the tree's own
# paragraph, this testbed's last results and the base.
cover_text() {
	local i=$1 kind=${series_kinds[$1]} text tree_part results base
	if [ ! -f "$glue/cover-$kind.txt" ] || [ ! -f "$glue/$KERNEL/cover-$kind.txt" ]; then
		die "a $kind series needs its cover letter: $glue/cover-$kind.txt and $glue/$KERNEL/cover-$kind.txt"
	fi
	text=$(<"$glue/cover-$kind.txt")
	tree_part=$(<"$glue/$KERNEL/cover-$kind.txt")
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
	git -C "$scratch" format-patch -q -o "$dir" --cover-letter \
		--cover-from-description=subject --subject-prefix="$(subject_prefix "$i")" \
		--base=baseline --thread=shallow "${args[@]}" \
		"$(series_start "$i")..series-$i"
	[ ! -f "$glue/$KERNEL/notes-${series_kinds[i]}.txt" ] ||
		cp "$glue/$KERNEL/notes-${series_kinds[i]}.txt" "$dir/NOTES"
	# What a sender runs, with the recipients spelled out, less --dry-run.
	{
		printf 'git send-email \\\n'
		printf '\t--to=%q \\\n' "${to[@]}"
		printf '\t%s/*.patch\n' "${dir#"$PROJECT_ROOT"/}"
	} >"$dir/SEND-EMAIL"
	step "series ${series_kinds[i]}: $(find "$dir" -name '*.patch' | wc -l) files in $dir (To: ${#to[@]}, Cc: ${#cc[@]})"
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
		base=$(git -C "$scratch" rev-parse baseline)
		if ! grep -q "^Total patches: $count\$" <<<"$log" || grep -qE 'WARNING|ERROR|Traceback' <<<"$log" ||
			! grep -q "base-commit $base" <<<"$log"; then
			printf '%s\n' "$log" >&2
			die "b4 am does not see ${dir#"$PROJECT_ROOT"/} as a complete series of $count patches on base-commit $base (see above)"
		fi
		rm -rf "$work/out"
	done
	rm -rf "$work"
	echo "mail: b4 am reads every series as a complete thread with its base-commit"
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
		[ "${series_kinds[i]}" != stable ] || last_stable=${series_patches[i]##* }
		for patch in ${series_patches[i]}; do
			applied+=("$patch")
			grep -q '^+config NVHE_RUST_HOST_SMC$' "$glue/$KERNEL/$patch" && option_exists=true
			for option in n y; do
				[ "$option" = n ] || $option_exists || continue
				bisect_build "$option" "${applied[@]}"
			done
			[ "${series_kinds[i]}" != stable ] ||
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
	make_baseline
	commit_series
	format_series
	run_checkpatch
	check_mailinfo
	check_am
	check_send_email
	check_b4
	[ "$BISECT" != --bisect ] || bisect_builds
	find "$out" -type f -printf '%P\n' | sort | sed "s|^|patches: build/patches/$KERNEL/|"
	warn_identity
	warn_notes
}

# On one line, so that bash has read all it will run before main runs: an
# edit of this file during a long --bisect cannot change what follows.
main; exit
