# SPDX-License-Identifier: GPL-2.0
"""make check's lanes: one kernel's steps run beside another kernel's, so
that each fills the cores the other leaves idle.

A cold make check, one step after another, left the two cores of this
project's machine idle 15 % of its 46 minutes (vmstat, 182f795): in the
series' bisection, the style gates, Debian's chroot, the mutants, which
are mostly one process each. Two kernels share no tree, object directory
or lock (scripts/lib.sh's with_lock is per kernel; Debian's chroot and
the project's apt lists have locks of their own), so each kernel but the
last has a lane of its own, in a thread, beside the main one. The main
lane's steps print as they run; another lane's print whole once each is
done, and yield the CPUs to the main lane's (nice): the last kernel's
(7.3's: three builds from nothing, the mutants) are the longest.
"""

import subprocess
import threading

from .boots import say
from .procs import Procs, Stopped

# How much more a lane beside the main one is niced: its builds then get
# about a quarter of the CPUs the main lane's want, and all they leave.
BESIDE_NICENESS = 5


class Lane:
    """Steps that run one after another, recorded in a Run that other
    lanes share (under one lock)."""

    _RECORD = threading.Lock()

    def __init__(self, run, name=None, niceness=0):
        self.run = run
        self.name = name
        self.niceness = niceness
        self._procs = Procs()
        self._boots = []
        self._thread = None
        self._error = None

    @property
    def live(self):
        """Whether a step's lines are printed as they come: the main lane's."""
        return self.name is None

    @property
    def data(self):
        return self.run.data

    def _recording(self):
        """An interrupted step is not recorded as a failed one."""
        if self._procs.stopped:
            raise Stopped()
        return self._RECORD

    def step(self, name, ok, seconds, log=None, note=""):
        with self._recording():
            return self.run.step(name, ok, seconds, log, note)

    def build(self, name, record):
        with self._recording():
            self.run.build(name, record)

    def row(self, entry):
        with self._recording():
            self.run.row(entry)

    def announce(self, name, log):
        """Says that a step of a lane beside the main one started."""
        if not self.live:
            say(f"==> {self.name}: {name}: started beside the main lane, "
                f"printed once done ({log})\n")

    def popen(self, cmd, **kwargs):
        """Starts a step's command, niced as the lane is, in a process group
        of its own, which end() or stop() ends whole: a terminal's ^C
        reaches only make check's group, a SIGTERM to make check alone
        (make's to its child) not even that. Not in a session of its own:
        with the scheduler's autogroups (Debian's default), a session is a
        group that gets its fair share whatever its processes' nice values,
        and a lane beside the main one took half the cores from the main
        lane's (measured: the 6.12 and 7.3 builds from nothing side by
        side, as many objects each). With no terminal to read: a process
        group in the background that read it would stop."""
        if self.niceness:
            cmd = ["nice", "-n", str(self.niceness)] + cmd
        return self._procs.popen(cmd, process_group=0, stdin=subprocess.DEVNULL, **kwargs)

    def end(self, proc):
        """Ends a step that make check stops waiting for (an interrupt)."""
        self._procs.end(proc)

    def done(self, proc):
        self._procs.done(proc)

    def at_stop(self, boots):
        """boots (a testbed.boots.Boots: the lane's boots, in the pool the
        lanes share) stop and are waited for with the lane."""
        self._boots.append(boots)

    def start(self, body):
        """Runs body(self) in a thread of its own."""
        def run():
            try:
                body(self)
            except Stopped:
                pass
            except BaseException as e:  # noqa: BLE001 -- returned by join()
                self._error = e
        self._thread = threading.Thread(target=run, name=f"lane-{self.name}", daemon=True)
        self._thread.start()

    def join(self):
        """Waits for the lane's steps; returns the exception that ended
        the lane early (a defect of its steps' code), or None."""
        self._thread.join()
        return self._error

    def stop(self):
        """On an interrupt: no other step starts, and the running step's
        processes and the lane's boots are told to end (wait() then waits
        for them)."""
        self._procs.stop()
        for boots in self._boots:
            boots.stop()

    def wait(self):
        """After stop(): waits 30 s for the lane's processes (their locks,
        flock's, go with them), then kills what is left, and for its
        thread."""
        self._procs.wait(30)
        for boots in self._boots:
            boots.wait()
        if self._thread is not None:
            self._thread.join(30)


def stop_all(lanes):
    """An interrupt: every lane's steps and boots are told to end, then
    waited for (up to 30 s each, then killed)."""
    for lane in lanes:
        lane.stop()
    for lane in lanes:
        lane.wait()
