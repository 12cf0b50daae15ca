#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# docs.sh: build Documentation/ to HTML with Sphinx, warnings as errors.
#
# The results page is generated, not written: the verdict matrix from the
# last `make check` (build/check-summary.txt) and the performance section
# from the last `make bench` (build/bench/performance.rst).
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

need_tool sphinx-build
src=$BUILD_ROOT/docs-src
rm -rf "$src"
cp -r "$PROJECT_ROOT/Documentation" "$src"

# SC2016: the backquotes are RST literals, not command substitutions.
# shellcheck disable=SC2016
results_page() {
	printf '.. SPDX-License-Identifier: GPL-2.0\n\n=======\nResults\n=======\n\n'
	printf 'Verdict matrix\n--------------\n\n'
	if [ -f "$BUILD_ROOT/check-summary.txt" ]; then
		printf 'From the last ``make check``::\n\n'
		sed 's/^/  /' "$BUILD_ROOT/check-summary.txt"
	else
		printf 'Not generated yet: run ``make check``.\n'
	fi
	printf '\n'
	if [ -f "$BUILD_ROOT/bench/performance.rst" ]; then
		cat "$BUILD_ROOT/bench/performance.rst"
	else
		printf 'Performance\n-----------\n\nNot generated yet: run ``make bench``.\n'
	fi
}

results_page >"$src/results.rst"
step "sphinx-build Documentation/ -> build/docs/"
sphinx-build -q -W --keep-going -b html "$src" "$BUILD_ROOT/docs"
step "docs: $BUILD_ROOT/docs/index.html"
