# SPDX-License-Identifier: GPL-2.0
"""scripts/matrix.tsv: the QEMU rows of make check, and what each must give."""

import csv
import fnmatch

from .axes import AXES, CONFIG_PROFILES, row_id
from .paths import SCRIPTS

MATRIX = SCRIPTS / "matrix.tsv"
VERDICTS = ("PASS", "SKIP", "FAIL")


class MatrixError(Exception):
    pass


def load(path=MATRIX):
    """The rows of the table, each a dict keyed by its header; `cases`
    becomes must_fail, the list of what a FAIL row must fail."""
    lines = [line for line in path.read_text().splitlines()
             if line and not line.startswith("#")]
    rows = list(csv.DictReader(lines, delimiter="\t"))
    for row in rows:
        cases = row.pop("cases")
        row["must_fail"] = [] if cases == "-" else cases.split(",")
        if row["expect"] not in VERDICTS:
            raise MatrixError(f"{path}: {row_id(row)}: bad expect {row['expect']!r}")
    return rows


def profiles(kernel, rows=None):
    """The testbed's own configurations (CONFIG_PROFILES) the table
    builds KERNEL in, in their order: the object directories the kernel's
    style gate, benchmark, mutants and series bisection work in, so that
    they build nothing the rows do not."""
    have = {r["profile"] for r in (load() if rows is None else rows) if r["kernel"] == kernel}
    return [p for p in CONFIG_PROFILES if p in have]


def select(rows, pattern):
    """The rows whose id matches the glob PATTERN; one without a wildcard
    matches as a part of the id (rust: every rust row)."""
    if not any(c in pattern for c in "*?["):
        pattern = f"*{pattern}*"
    return [r for r in rows if fnmatch.fnmatchcase(row_id(r), pattern)]


def find(spec, rows=None):
    """The row of the table for this kernel, handler, profile, CPU and
    mode, or None: make qemu can boot what the table does not list."""
    for row in load() if rows is None else rows:
        if all(row[k] == spec[k] for k in AXES):
            return row
    return None


def reproduce(row):
    """The one command that boots this row and judges it as make check does."""
    return (f"make qemu KERNEL={row['kernel']} HANDLER={row['handler']} "
            f"PROFILE={row['profile']} CPU={row['cpu']} MODE={row['mode']}")
