# SPDX-License-Identifier: GPL-2.0
# isolated_apt STATE SOURCES CMD ARGS...: apt-get or apt-cache CMD against
# only the .sources files in the directory SOURCES, with package lists and
# archives of its own under STATE, so that the host's apt configuration
# never sees another suite. Sourced, never run.
# shellcheck shell=bash

isolated_apt() {
	local state=$1 sources=$2 cmd=$3
	shift 3
	mkdir -p "$state/lists/partial" "$state/cache/archives/partial"
	"$cmd" -q -o APT::Sandbox::User=root \
		-o Dir::Etc::SourceList=/dev/null \
		-o Dir::Etc::SourceParts="$sources" \
		-o Dir::State::Lists="$state/lists" \
		-o Dir::Cache="$state/cache" \
		-o APT::Get::List-Cleanup=0 \
		"$@"
}
