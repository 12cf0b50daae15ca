# SPDX-License-Identifier: GPL-2.0
"""The processes a part of make check starts and an interrupt ends: a
lane's steps (testbed/lanes.py), a kernel's boots (testbed/boots.py).
Each is the leader of a process group of its own, which make check's
group, the one a terminal's ^C reaches, does not hold."""

import os
import signal
import subprocess
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
        then kills what is left of their groups."""
        deadline = time.time() + seconds
        with self._lock:
            running = list(self._running)
        for proc in running:
            try:
                proc.wait(max(0.0, deadline - time.time()))
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait()
