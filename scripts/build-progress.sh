# SPDX-License-Identifier: GPL-2.0
# build-progress.sh: the one status line of a kernel build, for
# scripts/build-kernel.sh, which sources it and whose objdir, name,
# KERNEL and PROFILE it reads and whose full_build it asks. It only
# reports: nothing here changes what is built (so it is not part of the
# build key).
# shellcheck shell=bash
# shellcheck disable=SC2154 # build-kernel.sh's variables

# Kbuild prints one line per object it builds: count them against the
# previous build of this directory (or, on a first build, the estimate in
# configs/build-lines), and say how far the build is. A build of vmlinux
# alone (build-kernel.sh --vmlinux-only) has no such estimate, and leaves
# the full build's alone (build-kernel.sh's full_build).

progress_total() {
	full_build || return 0
	if [ -f "$objdir/.pkvm-smc-lines" ]; then
		cat "$objdir/.pkvm-smc-lines"
	else
		sed -n "s/^${KERNEL}[[:space:]]\+${PROFILE}[[:space:]]\+\([0-9]\+\).*/\1/p" \
			"$PROJECT_ROOT/configs/build-lines"
	fi
}

progress_line() {
	local done=$1 total=$2 elapsed=$3 eta=
	if [ -n "$total" ] && [ "$done" -gt 0 ] && [ "$done" -lt "$total" ]; then
		eta=", about $(((total - done) * elapsed / done))s left"
	fi
	printf '    %s: %d of ~%s objects, %ds%s' "$name" "$done" "${total:-?}" "$elapsed" "$eta"
}

# run_with_progress LOG COMMAND...: the build's own lines go to LOG; the
# terminal gets one status line updated in place, and a log file (CI) a
# plain line every 30 seconds.
run_with_progress() {
	local log=$1 pid status=0 start=$SECONDS last=$SECONDS total count
	shift
	total=$(progress_total)
	"$@" >"$log" 2>&1 &
	pid=$!
	while kill -0 "$pid" 2>/dev/null; do
		sleep 2
		count=$(grep -cE '^  [A-Z]' "$log" || true)
		if [ -t 2 ]; then
			printf '\r\033[K%s' "$(progress_line "$count" "$total" $((SECONDS - start)))" >&2
		elif [ $((SECONDS - last)) -ge 30 ]; then
			printf '%s\n' "$(progress_line "$count" "$total" $((SECONDS - start)))" >&2
			last=$SECONDS
		fi
	done
	[ -t 2 ] && printf '\r\033[K' >&2
	wait "$pid" || status=$?
	if [ "$status" -eq 0 ] && full_build; then
		grep -cE '^  [A-Z]' "$log" >"$objdir/.pkvm-smc-lines.new" || true
		# A no-op rebuild says nothing about the next full build.
		if [ "$(cat "$objdir/.pkvm-smc-lines.new")" -gt 100 ]; then
			mv "$objdir/.pkvm-smc-lines.new" "$objdir/.pkvm-smc-lines"
		fi
	fi
	return "$status"
}
