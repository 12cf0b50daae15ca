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
        """proc's group gets SIGTERM, and 10 s later SIGKILL if its leader
        is still there."""
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(10)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            kill_group(proc.pid)

    def stop(self, sig=signal.SIGTERM):
        """Nothing starts any more, and every process group running gets sig."""
        with self._lock:
            self._stopped = True
            running = list(self._running)
        for proc in running:
            try:
                os.killpg(proc.pid, sig)
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
            try:
                proc.wait(max(0.0, deadline - time.time()))
            except subprocess.TimeoutExpired:
                pass
            kill_group(proc.pid)
            proc.wait()


def kill_group(pgid):
    """SIGKILL to what is left of a process group."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass


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
