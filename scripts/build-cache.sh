# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
# build-cache.sh: sourced by scripts/build-kernel.sh. The cache of finished
# builds, $CACHE_DIR/builds/KEY/: each entry is the few files of one
# build/NAME/ directory (Image, vmlinux, kvm_nvhe.o, kselftest/,
# build.json), not an object tree, under the key build_key made of
# everything the build read. This file is not part of that key: it copies
# builds, it does not make them.

# The cache keeps the newest builds.
KEEP_BUILDS=80

# cache_has KEY [--remake-checked]: whether the cache holds a finished
# build under KEY; with --remake-checked, one whose hyp build-kernel.sh
# made a second time, finding nothing to remake. An entry found is made
# the newest, under the lock of the cache's pruning (cache_put's): make
# check's kernels build side by side, and another kernel's prune between
# this and cache_take would remove it.
cache_has() {
	with_lock builds has_locked "$@"
}

has_locked() {
	local cached=$CACHE_DIR/builds/$1
	[ -f "$cached/build.json" ] || return 1
	[ "${2:-}" != --remake-checked ] || testbed remake-checked "$cached/build.json" || return 1
	touch "$cached"
}

# cache_take KEY OUT: OUT becomes a copy of the cached build KEY, its
# build.json marked with the entry it came from, unless OUT holds that
# build already (OUT/build.key, written last): make check may be booting
# it, and scripts/debian-build.sh takes the stock build again. Call it as
# a command, not in a condition, so that errexit holds: a copy that failed
# (into a fresh clone's missing build/) once went on to say the build had
# been taken.
cache_take() {
	local cached=$CACHE_DIR/builds/$1 out=$2
	[ "$(cat "$out/build.key" 2>/dev/null)" != "$1" ] || return 0
	mkdir -p "${out%/*}"
	rm -rf "$out"
	cp -a "$cached" "$out"
	testbed from-cache "$out/build.json" "$cached"
	echo "$1" >"$out/build.key"
}

# cache_put KEY OUT: the cache gets a copy of OUT, the build just made
# there, under KEY, made whole before it is named; the oldest entries
# beyond KEEP_BUILDS go.
cache_put() {
	local cached=$CACHE_DIR/builds/$1 out=$2
	mkdir -p "$CACHE_DIR/builds"
	rm -rf "$cached" "$cached.partial"
	cp -a "$out" "$cached.partial"
	mv "$cached.partial" "$cached"
	echo "$1" >"$out/build.key"
	with_lock builds prune
}

# prune: the oldest entries beyond KEEP_BUILDS go; not one cache_has has
# just found (it made it the newest).
prune() {
	find "$CACHE_DIR/builds" -mindepth 1 -maxdepth 1 -type d -printf '%T@ %p\n' |
		sort -rn | tail -n +$((KEEP_BUILDS + 1)) | cut -d' ' -f2- | xargs -r rm -rf
}
