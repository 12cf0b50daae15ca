# SPDX-License-Identifier: GPL-2.0
"""Where things are: as scripts/lib.sh says, for the Python side."""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
SCRIPTS = ROOT / "scripts"
BUILD = ROOT / "build"
CACHE = Path(os.environ.get("PKVM_SMC_CACHE", Path.home() / ".cache/pkvm-smc-imm"))


def tree(kernel):
    """The kernel's shared source tree (scripts/prepare-tree.sh)."""
    return CACHE / "trees" / kernel


def kunit_dir(kernel):
    """Where the kernel tree keeps kunit_parser, the one KTAP parser."""
    return tree(kernel) / "tools/testing/kunit"
