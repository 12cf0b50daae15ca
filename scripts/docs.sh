#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# docs.sh: build Documentation/ to HTML with Sphinx, warnings as errors.
#
# The results page is generated, not written: scripts/results-page.py makes
# it, with the benchmark's chart, from the last `make check`
# (build/results.json), `make mutants` (build/mutants.json) and `make bench`
# (build/bench/), into a copy of Documentation/; whatever has not run, the
# page says so.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

# Sphinx and matplotlib are Debian packages (scripts/deps.sh): the page is
# made by Debian's python3, which has them, whatever python3 PATH finds first.
python=/usr/bin/python3
need_tool sphinx-build
need_tool "$python"
src=$BUILD_ROOT/docs-src
rm -rf "$src"
cp -r "$PROJECT_ROOT/Documentation" "$src"

step "results page from build/results.json, build/mutants.json, build/bench/"
"$python" "$PROJECT_ROOT/scripts/results-page.py" "$BUILD_ROOT" "$src"
step "sphinx-build Documentation/ -> build/docs/"
sphinx-build -q -W --keep-going -b html "$src" "$BUILD_ROOT/docs"
step "docs: $BUILD_ROOT/docs/index.html"
