# SPDX-License-Identifier: GPL-2.0
"""The QEMU rows of make check, each booted by scripts/boot.sh, in the
background while make check goes on with the next variant's build.

Boots run side by side, JOBS at a time: on this project's 2-core machine
two boots of 7.3's gcc kernels (stock and rust, max hVHE) took 14.7 s side
by side and 18.5 s one after the other, and a kernel build leaves a core
idle in its links. A Rust row waits for its reference row
(verdict.reference_row: the C handler's row it is compared with), which
make check submits first; nothing else orders them.

Each boot's output is printed whole when it is done, so that two boots'
lines do not interleave; the rows are recorded in the order they were
submitted, each as soon as the rows before it are (Boots.flush), and all
of them before make check goes on to a step that replaces a variant's
build/ directory (Boots.collect). A build that the cache already holds
in build/NAME/ leaves it as it is (scripts/build-cache.sh), so that
debian-build.sh's take of the stock build does not pull it from under
that variant's boots.
"""

import json
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor

from . import matrix, paths, verdict
from .axes import AXES, row_id, variant_name
from .paths import SCRIPTS
from .procs import Procs, Stopped
from .qemu_configs import SMP

# One boot per SMP vCPUs the CPUs this process may use have room for, and
# at least two: the guest's vCPUs idle much of a boot, and two side by
# side were measured faster on two cores (above).
JOBS = max(2, len(os.sched_getaffinity(0)) // SMP)

_PRINT = threading.Lock()


def say(text):
    """Writes text to stdout whole, between other threads' writes."""
    with _PRINT:
        sys.stdout.write(text)
        sys.stdout.flush()


def row_name(row):
    return "qemu " + " ".join(row[k] for k in AXES)


def kept_log_path(row):
    """What the row keeps: boot.sh's output, the console included. The
    console log beside the build goes when a later step of this run takes
    the variant's build again (rebuilt, or from the cache into another
    checkout's build/)."""
    return paths.BUILD / "check" / f"boot-{row_id(row)}.log"


def error_lines(lines):
    """What the lines' `error: ` lines say, in order."""
    return [line.strip()[7:] for line in lines if line.startswith("error: ")]


def error_entry(row, problems, errors=()):
    """The record of a row that has no verdict of its own (ERROR)."""
    return {**{k: row[k] for k in AXES}, "row": row_id(row), "verdict": "ERROR",
            "got": "ERROR", "expected": row.get("expect"), "why": row.get("why"), "cases": [],
            "errors": list(errors), "problems": problems, "ok": False,
            "log": str(kept_log_path(row))}


def boot(row, procs):
    """Boots one row with scripts/boot.sh and returns its verdict record,
    boot.sh's output printed and kept in build/check/boot-ROW.log. boot.sh
    runs in a session of its own, one of procs (testbed/procs.py), which
    an interrupt ends (Boots.stop)."""
    name = variant_name(row["kernel"], row["handler"], row["profile"])
    kept_log = kept_log_path(row)
    kept_log.parent.mkdir(parents=True, exist_ok=True)
    start = time.time()
    with open(kept_log, "w") as f:
        proc = procs.popen([str(SCRIPTS / "boot.sh")] + [row[k] for k in AXES],
                           stdin=subprocess.DEVNULL, stdout=f,
                           stderr=subprocess.STDOUT, start_new_session=True)
        try:
            status = proc.wait()
        finally:
            procs.done(proc)
    output = kept_log.read_text(errors="replace")
    path = verdict.record_path(name, row["cpu"], row["mode"])
    if path.is_file():
        entry = json.loads(path.read_text())
    else:
        # boot.sh stopped before QEMU ran: its own error says why.
        errors = error_lines(output.splitlines())
        entry = error_entry(row, errors or [f"boot.sh exited {status} without a verdict"],
                            errors)
    entry.update(got=entry["verdict"], boot_s=round(time.time() - start),
                 log=str(kept_log), console_log=entry.get("log"))
    if not entry["ok"]:
        output += (f"check: {row_name(row)}: {'; '.join(entry['problems'])}\n"
                   f"check:   reproduce: {matrix.reproduce(row)}\n")
    say(output)
    return entry


def boot_pool(jobs=JOBS):
    """The JOBS boots at a time of a whole make check: its kernels' lanes
    (testbed/lanes.py) share them, so that the boots, whose timeouts a
    busy machine can break, are as many as with one kernel at a time."""
    return ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="boot")


class Boots:
    """The boots one kernel's steps have submitted to the pool and not
    yet collected."""

    def __init__(self, pool):
        self._pool = pool
        self._pending = []
        self._by_row = {}
        self._procs = Procs()

    def submit(self, row):
        """Boots row once its reference row, if submitted, is booted. A
        row waits only for one submitted before it, and the pool takes
        them in order, so the wait always ends."""
        ref = verdict.reference_row(row)
        before = self._by_row.get(row_id(ref)) if ref else None

        def run():
            if before is not None:
                before.exception()
            try:
                return boot(row, self._procs)
            except Stopped:
                raise
            except Exception as e:  # noqa: BLE001 -- a row, not a lost run
                problem = f"the boot could not be run or read: {type(e).__name__}: {e}"
                say(f"check: {row_name(row)}: {problem}\n")
                return error_entry(row, [problem])

        future = self._pool.submit(run)
        self._by_row[row_id(row)] = future
        self._pending.append(future)

    def add(self, entry):
        """A row that was not booted, recorded in its place among the
        others."""
        done = Future()
        done.set_result(entry)
        self._pending.append(done)

    def flush(self, run):
        """Records the rows done so far that no earlier row is still
        booting before, so that results.json has them as they come."""
        while self._pending and self._pending[0].done():
            run.row(self._pending.pop(0).result())

    def collect(self, run):
        """Waits for every boot submitted and records every row, in the
        order submitted or added."""
        for future in self._pending:
            run.row(future.result())
        self._pending.clear()
        self._by_row.clear()

    def stop(self):
        """On an interrupt: none of these boots starts (not even a Rust
        row's whose reference row ends now), and the running ones are told
        to end. Another kernel's in the same pool go on."""
        self._procs.stop()
        for future in self._pending:
            future.cancel()

    def wait(self):
        """After stop(): the boots that were running, ended (killed if
        they take over 30 s)."""
        self._procs.wait(30)
