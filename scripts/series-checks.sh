# SPDX-License-Identifier: GPL-2.0
# series-checks.sh: what scripts/patches.sh checks of the mail it wrote:
# checkpatch.pl --strict against the allowlist, git mailinfo, git am,
# git send-email --dry-run, b4, the apply check against kvmarm, and the
# output's own rules (no stable@ before an ack). Sourced by patches.sh.
# shellcheck shell=bash
# The series' variables are patches.sh's, set before it sources this.
# shellcheck disable=SC2154,SC2034

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
	local i dir work msgid log count
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
# touches as kvmarm has it. What is checked is the mail: the commits
# formatted as format_series formats them (three lines of context), not
# the glue patches, whose context is wider. No kvmarm-base, no check
# (6.12: stable series are rebased onto linux-6.12.y when they are sent).
check_kvmarm_apply() {
	local mail report
	[ -f "$kvmarm_base" ] || return 0
	mail=$(mktemp -d)
	git -C "$scratch" format-patch -q --no-cover-letter -o "$mail" \
		"baseline..series-$((${#series_kinds[@]} - 1))"
	apply_json=$CACHE_DIR/series/$KERNEL.apply.json
	mkdir -p "${apply_json%/*}"
	report=$("$PKVM_SMC_PYTHON" "$series_mail" apply-check "$kvmarm_base" "$CACHE_DIR/kvmarm" \
		"$apply_json" "$mail"/*.patch) || {
		rm -rf "$mail"
		die "the apply check could not run (see above); fix ${kvmarm_base#"$PROJECT_ROOT"/}"
	}
	rm -rf "$mail"
	printf '%s\n' "$report"
	if "$PKVM_SMC_PYTHON" "$series_mail" applies "$apply_json"; then
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
		"$PKVM_SMC_PYTHON" "$series_mail" check-out "$(series_out "$i")" "${series_kinds[i]}" \
			${base_commit:+"$base_commit"} ||
			die "build/patches/$KERNEL: the series ${series_dirs[i]} is not what a ${series_kinds[i]} series may be (see above)"
	done
	[ -z "$apply_report" ] || printf '%s\n' "$apply_report" >"$out/APPLY-CHECK"
	check_mailed_apply
	echo "mail: every series is addressed as its kind allows, base-commit ${base_commit:-none}"
}

# The apply check's result must be that of the files written, which are
# what is sent: the check before them formatted the same commits.
check_mailed_apply() {
	local mailed=() patch json got want
	[ -n "$apply_json" ] || return 0
	while IFS= read -r patch; do
		mailed+=("$patch")
	done < <(find "$out" -name '[0-9][0-9][0-9][0-9]-*.patch' ! -name '0000-*' | sort)
	json=$CACHE_DIR/series/$KERNEL.apply-mailed.json
	"$PKVM_SMC_PYTHON" "$series_mail" apply-check "$kvmarm_base" "$CACHE_DIR/kvmarm" "$json" \
		"${mailed[@]}" >/dev/null ||
		die "the apply check of build/patches/$KERNEL could not run (see above)"
	got=$("$PKVM_SMC_PYTHON" "$series_mail" status "$json")
	want=$("$PKVM_SMC_PYTHON" "$series_mail" status "$apply_json")
	[ "$got" = "$want" ] ||
		die "build/patches/$KERNEL: the mailed patches do not give the apply check's result ($got against $want); see $json"
}
