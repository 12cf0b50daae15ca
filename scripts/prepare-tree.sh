#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# prepare-tree.sh KERNEL HANDLER: make the source tree for one handler and
# print its path. "stock" is Debian's tree untouched; "rust" is the same
# tree with hyp/ integrated by scripts/hyp-install.sh.
#
# Each handler gets its own copy, made once: rebuilding it would touch
# every file and turn the next incremental build into a full one.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

KERNEL=${1:?usage: prepare-tree.sh KERNEL HANDLER}
HANDLER=${2:?usage: prepare-tree.sh KERNEL HANDLER}
check_handler "$HANDLER"

pristine=$("$PROJECT_ROOT/scripts/kernel-source.sh" "$KERNEL")
tree=$CACHE_DIR/trees/$KERNEL-$HANDLER

if [ ! -f "$tree/.pkvm-smc-copied" ]; then
	step "copying the pristine $KERNEL tree for HANDLER=$HANDLER"
	rm -rf "$tree"
	mkdir -p "$(dirname "$tree")"
	cp -a "$pristine" "$tree.partial"
	mv "$tree.partial" "$tree"
	touch "$tree/.pkvm-smc-copied"
fi

if [ "$HANDLER" = rust ]; then
	# Idempotent, and rewrites only what changed, so a hyp/ edit costs an
	# incremental hyp rebuild.
	"$PROJECT_ROOT/scripts/hyp-install.sh" install "$tree" >&2
fi

echo "$tree"
