#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# docs.sh: build Documentation/ to HTML with Sphinx, warnings as errors.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

need_tool sphinx-build
step "sphinx-build Documentation/ -> build/docs/"
sphinx-build -q -W --keep-going -b html "$PROJECT_ROOT/Documentation" "$BUILD_ROOT/docs"
step "docs: $BUILD_ROOT/docs/index.html"
