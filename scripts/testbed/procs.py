# SPDX-License-Identifier: GPL-2.0
"""The processes a part of make check starts and an interrupt ends: a
lane's steps (testbed/lanes.py), a kernel's boots (testbed/boots.py).
Each leads a process group of its own, which make check's group, the
one a terminal's ^C reaches, does not hold."""

import os
import signal
import subprocess
import sys
import threading
import time


class Stopped(Exception):
    """The run was interrupted: nothing more starts."""


class Procs:
    """Processes started here and still running. Once stop() is called
    none starts: the check and the start are one step under a lock that
    stop() takes too, so that no process starts unseen after it."""

    def __init__(self):
        self._lock = threading.Lock()
        self._stopped = False
        self._running = set()

    @property
    def stopped(self):
        return self._stopped

    def popen(self, cmd, **kwargs):
        """subprocess.Popen(cmd, **kwargs). For stop() to end it whole,
        kwargs put it in a group of its own (process_group=0 or
        start_new_session=True)."""
        with self._lock:
            if self._stopped:
                raise Stopped()
            proc = subprocess.Popen(cmd, **kwargs)
            self._running.add(proc)
        return proc

    def done(self, proc):
        with self._lock:
            self._running.discard(proc)

    def end(self, proc):
        """proc's group gets SIGTERM, and what is left of it 10 s later
        SIGKILL, as wait() does."""
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        settle(proc, 10)

    def stop(self):
        """Nothing starts any more, and every process group running gets
        SIGTERM."""
        with self._lock:
            self._stopped = True
            running = list(self._running)
        for proc in running:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    def wait(self, seconds):
        """Waits up to seconds for the processes stop() signalled to end,
        then kills what is left of their groups, a leader that ended
        before the rest of its group (holding a flock) included."""
        deadline = time.time() + seconds
        with self._lock:
            running = list(self._running)
        for proc in running:
            settle(proc, max(0.0, deadline - time.time()))


def settle(proc, seconds):
    """Waits up to seconds for proc, the leader of a process group, then
    SIGKILLs what is left of the group, a leader that ended before the
    rest of it (holding a flock) included."""
    try:
        proc.wait(seconds)
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def catch_interrupts():
    """^C, SIGTERM (a CI's timeout), SIGHUP end make check as ^C does:
    KeyboardInterrupt or SystemExit, whose clean-up stops what runs."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, interrupted)


def interrupted(signum, frame):
    """The first of them ends the run. Another (make passes SIGTERM on to
    make check, whose process group got it too; a second ^C) would cut
    the clean-up short: it is taken and dropped. Not ignored (SIG_IGN):
    the processes started until everything stops would inherit that, and
    bash cannot trap a signal ignored when it started."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda *_: None)
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    sys.exit(128 + signum)
