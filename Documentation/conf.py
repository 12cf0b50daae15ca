# SPDX-License-Identifier: GPL-2.0
# Sphinx configuration for `make docs` (warnings are errors there).
project = "pkvm-smc-imm"
copyright = "The pkvm-smc-imm authors"
master_doc = "index"
exclude_patterns = ["_build"]
html_theme = "alabaster"
