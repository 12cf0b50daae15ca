# SPDX-License-Identifier: GPL-2.0
# series-mail.sh: how scripts/patches.sh turns each series into mail:
# subject prefixes, recipients (get_maintainer.pl and the messages'
# trailers), cover letters with this run's results, git format-patch.
# Sourced by patches.sh, whose variables it reads.
# shellcheck shell=bash
# The series' variables are patches.sh's, set before it sources this.
# shellcheck disable=SC2154,SC2034

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
		text+=" $("$PKVM_SMC_PYTHON" "$series_mail" base-text "$apply_json")"
	else
		text+=" It was not checked against an upstream tree, and has no base-commit; Debian's tree is no upstream commit. Before it is sent to be applied, it must be rebased onto the current linux-$KERNEL.y and checked there."
	fi
	if [ "$i" -gt 0 ]; then
		text+=" It applies on top of the series before it."
	fi
	fold -s -w 72 <<<"$text" | sed 's/ *$//'
}

# The cover letter, from hyp/glue/cover-KIND.txt with the tree's own
# paragraph, this testbed's last results and the base.
cover_text() {
	local i=$1 kind=${series_kinds[$1]%-acked} text tree_part results base audited
	if [ ! -f "$glue/cover-$kind.txt" ] || [ ! -f "$glue/$KERNEL/cover-$kind.txt" ]; then
		die "a $kind series needs its cover letter: $glue/cover-$kind.txt and $glue/$KERNEL/cover-$kind.txt"
	fi
	text=$(<"$glue/cover-$kind.txt")
	tree_part=$(<"$glue/$KERNEL/cover-$kind.txt")
	# make hyp-report's numbers, from the builds this checkout holds (it
	# reads their kvm_nvhe.o; it builds nothing).
	rm -f "$BUILD_ROOT/hyp-report-$KERNEL.tsv" "$BUILD_ROOT/audit-$KERNEL.json"
	if [ "$kind" = rfc ]; then
		"$PROJECT_ROOT/scripts/hyp-report.sh" --tsv "$KERNEL" >"$BUILD_ROOT/hyp-report-$KERNEL.tsv.new" 2>/dev/null &&
			mv "$BUILD_ROOT/hyp-report-$KERNEL.tsv.new" "$BUILD_ROOT/hyp-report-$KERNEL.tsv"
		rm -f "$BUILD_ROOT/hyp-report-$KERNEL.tsv.new"
		# Every SMC and HVC of this kernel's builds (the HVC patch's
		# evidence).
		mapfile -t audited < <(find "$BUILD_ROOT" -maxdepth 2 -path "$BUILD_ROOT/$KERNEL-*/vmlinux" -printf '%h\n' | sort)
		if [ ${#audited[@]} -gt 0 ] && AUDIT_ARGS=--json "$PROJECT_ROOT/scripts/audit.sh" "${audited[@]}" \
			>"$BUILD_ROOT/audit-$KERNEL.json.new" 2>/dev/null; then
			mv "$BUILD_ROOT/audit-$KERNEL.json.new" "$BUILD_ROOT/audit-$KERNEL.json"
		fi
		rm -f "$BUILD_ROOT/audit-$KERNEL.json.new"
	fi
	results=$("$PKVM_SMC_PYTHON" "$PROJECT_ROOT/scripts/series-results.py" "$BUILD_ROOT" "$KERNEL" "$kind")
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
