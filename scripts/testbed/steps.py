# SPDX-License-Identifier: GPL-2.0
"""How a step of make check runs and becomes a row of its summary: its
output printed as it comes (or, for steps run side by side, whole once
it is done) and kept in its log under build/check/."""

import subprocess
import time

from . import paths
from .boots import error_lines, say
from .procs import Procs


def step_log(log_name):
    """Where a step of this run keeps its output: build/check/LOG_NAME.log."""
    return paths.BUILD / "check" / f"{log_name}.log"


def stream(lane, cmd, log):
    """Runs cmd with its stdout and stderr to our stdout and to log: as
    they come in the main lane, whole once done in another
    (testbed/lanes.py)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    lines = []
    with open(log, "w") as f:
        proc = lane.popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          errors="replace")
        # Not `with proc`: on an exception it would wait for the command.
        # An interrupt (^C, SIGTERM, SIGHUP) ends it instead: its group is
        # its own (Lane.popen).
        try:
            for line in proc.stdout:
                if lane.live:
                    say(line)
                f.write(line)
                lines.append(line)
            status = proc.wait()
        except BaseException:
            lane.end(proc)
            raise
        finally:
            proc.stdout.close()
            lane.done(proc)
    if not lane.live:
        say("".join(lines))
    return status, lines


def record_step(lane, name, status, lines, seconds, log):
    """One row of the summary: PASS if the command exited 0; its last
    `error:` line is the note."""
    errors = error_lines(lines)
    entry = lane.step(name, status == 0, seconds, log, errors[-1] if errors else "")
    if not entry["ok"]:
        say(f"check: {name}: FAILED{': ' + entry['note'] if entry['note'] else ''}"
            f" (log: {log})\n")
    return entry["ok"]


def run_step(lane, name, cmd, log_name):
    """Runs cmd as one row of the summary."""
    log = step_log(log_name)
    lane.announce(name, log)
    start = time.time()
    status, lines = stream(lane, cmd, log)
    return record_step(lane, name, status, lines, time.time() - start, log)


def run_steps_together(run, steps):
    """Runs steps, (name, cmd, log_name) each, side by side: for steps that
    share nothing (trees, files, locks) and leave a core idle alone. Each
    step's output is printed whole once it is done, in the order given.
    Each runs in a session of its own, ended whole if this one is (^C, a
    CI's SIGTERM): its git and make would otherwise run on, holding the
    step's lock."""
    running = []
    procs = Procs()
    try:
        for name, cmd, log_name in steps:
            log = step_log(log_name)
            log.parent.mkdir(parents=True, exist_ok=True)
            say(f"==> {name}: started beside the others, printed once done ({log})\n")
            with open(log, "w") as out:
                proc = procs.popen(cmd, stdin=subprocess.DEVNULL, stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True)
            running.append((name, log, proc, time.time()))
        ended = {}
        while len(ended) < len(running):
            for i, (_, _, proc, _) in enumerate(running):
                if i not in ended and proc.poll() is not None:
                    ended[i] = time.time()
                    procs.done(proc)
            time.sleep(0.2)
    finally:
        # Those still running (an interrupt): ended, killed after 30 s.
        procs.stop()
        procs.wait(30)
    for i, (name, log, proc, start) in enumerate(running):
        lines = log.read_text(errors="replace").splitlines(keepends=True)
        for line in lines:
            say(line)
        record_step(run, name, proc.returncode, lines, ended[i] - start, log)
