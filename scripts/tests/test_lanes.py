# SPDX-License-Identifier: GPL-2.0
"""testbed.lanes: a kernel's steps beside the main lane's, niced, printed
whole once each is done, and ended whole by an interrupt."""

import contextlib
import io
import os
import re
import signal
import subprocess
import sys
import threading
import time
import unittest
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from testbed import check, lanes, procs, steps  # noqa: E402
from stand_ins import InBuildDir, StandInRun  # noqa: E402


def wait_for(path, seconds=20):
    """A command that ends 0 once path exists, 9 after seconds."""
    tries = seconds * 10
    return ["sh", "-c", f"i=0; until [ -e {path} ]; do i=$((i+1)); "
                        f"[ $i -lt {tries} ] || exit 9; sleep 0.1; done; echo saw it"]


class Lanes(InBuildDir):
    def setUp(self):
        super().setUp()
        self.run_ = StandInRun()
        self.main = lanes.Lane(self.run_)
        self.beside = lanes.Lane(self.run_, "6.12", lanes.BESIDE_NICENESS)

    def assert_gone(self, pidfile, after):
        """The process whose PID is in pidfile ends within 5 s."""
        child = int(pidfile.read_text())
        for _ in range(100):
            try:
                os.kill(child, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)
        self.fail(f"the step's child {child} still runs after {after}")

    def test_beside_the_main_lane_niced_and_printed_whole(self):
        # The lane's step waits for a file only the main lane's step
        # makes: one after the other, it gives up after 20 s and fails.
        flag = self.tmp / "main-ran"
        printed = io.StringIO()
        # pid, process group and session, from /proc/PID/stat.
        ids = "echo ids $$ $(cut -d' ' -f5,6 /proc/$$/stat)"
        with contextlib.redirect_stdout(printed):
            self.beside.start(lambda lane: steps.run_step(
                lane, "beside", ["sh", "-c", f"echo niceness $(nice); {ids}; "
                                             f"{wait_for(flag)[2]}"], "beside"))
            steps.run_step(self.main, "main", ["sh", "-c", f"echo main; touch {flag}"], "main")
            self.beside.join()
        self.assertEqual([(s["name"], s["ok"]) for s in self.run_.data["steps"]],
                         [("main", True), ("beside", True)])
        text = printed.getvalue()
        base = os.nice(0)
        self.assertIn(f"niceness {min(19, base + lanes.BESIDE_NICENESS)}\n", text)
        self.assertIn("saw it\n", text)
        # The lane's step said it started, and printed whole once done:
        # after the main lane's line, printed as it came, which it waited
        # for.
        self.assertLess(text.index("==> 6.12: beside: started"), text.index("niceness"))
        self.assertLess(text.index("main\n"), text.index("niceness"))
        self.assertNotIn("==> main", text)
        # A process group of its own (stop() ends it whole) in make check's
        # session: a session of its own would be an autogroup of its own,
        # whose share of the cores no nice value lowers.
        pid, pgrp, sid = text.split("ids ")[1].split("\n")[0].split()
        self.assertEqual((pgrp, sid), (pid, str(os.getsid(0))))

    def test_stopped_ends_the_step_whole_and_records_nothing(self):
        # The step's child stays in the step's process group: stop() ends
        # it too.
        pidfile = self.tmp / "child"
        cmd = ["sh", "-c", f"sleep 60 & echo $! > {pidfile}; wait"]
        with contextlib.redirect_stdout(io.StringIO()):
            self.beside.start(lambda lane: (steps.run_step(lane, "long", cmd, "long"),
                                            steps.run_step(lane, "next", ["true"], "next")))
            for _ in range(100):
                if pidfile.is_file() and pidfile.read_text().strip():
                    break
                time.sleep(0.05)
            start = time.time()
            lanes.stop_all([self.beside])
        self.assertLess(time.time() - start, 10)
        self.assertEqual(self.run_.data["steps"], [])
        self.assert_gone(pidfile, "stop()")

    def test_a_lane_that_breaks_is_a_failed_step_and_the_run_goes_on(self):
        # A defect of a lane's code (here kernel_phase's) is a failed step
        # of its own, recorded once the main lane is done, not a crash
        # before the summary.
        def phase(lane, kernel, rows, args, pool):
            if kernel == "6.12":
                raise ValueError("a defect of the lane's body")
            steps.run_step(lane, f"phase {kernel}", ["true"], f"phase-{kernel}")
        args = mock.Mock(only_matrix=True)
        with mock.patch.object(check, "kernel_phase", phase), \
                contextlib.redirect_stdout(io.StringIO()), \
                contextlib.redirect_stderr(io.StringIO()) as err:
            check.kernel_lanes(self.main, ["6.12", "7.3"], [], args)
        self.assertEqual([(s["name"], s["ok"], s["note"]) for s in self.run_.data["steps"]],
                         [("phase 7.3", True, ""),
                          ("lane 6.12", False, "ValueError: a defect of the lane's body")])
        self.assertIn("ValueError", err.getvalue())
    def test_the_mutants_wait_for_the_other_kernels_boots_not_its_checks(self):
        # The mutants' boots run outside the boots' pool: not beside the
        # 6.12 rows' boots, but beside 6.12's checks (its style step).
        events = []
        mutants_ran = threading.Event()

        def phase(lane, kernel, rows, args, pool):
            if kernel == "6.12":
                time.sleep(0.5)
            events.append(f"{kernel} booted")

        def kernel_checks(lane, kernel):
            if kernel == "6.12":
                mutants_ran.wait(10)
                events.append("6.12 checked")

        def run_step(lane, name, cmd, log_name):
            events.append(name.split()[0])
            mutants_ran.set()
        args = mock.Mock(only_matrix=False)
        with mock.patch.object(check, "kernel_phase", phase), \
                mock.patch.object(check, "kernel_checks", kernel_checks), \
                mock.patch.object(check, "run_step", run_step):
            check.kernel_lanes(self.main, ["6.12", "7.3"], [], args)
        order = [e for e in events if e != "7.3 booted"]
        self.assertEqual(order, ["6.12 booted", "mutants", "6.12 checked"])
    def test_an_interrupt_ends_the_main_lanes_step_whole(self):
        # make passes SIGTERM to make check alone: the main lane's step,
        # in a process group of its own, ends with its children.
        pidfile = self.tmp / "child"
        cmd = ["sh", "-c", f"sleep 60 & echo $! > {pidfile}; wait"]

        def signal_once_started():
            for _ in range(200):
                if pidfile.is_file() and pidfile.read_text().strip():
                    os.kill(os.getpid(), signal.SIGUSR1)
                    return
                time.sleep(0.05)

        def terminated(signum, frame):
            sys.exit(143)
        old = signal.signal(signal.SIGUSR1, terminated)
        self.addCleanup(signal.signal, signal.SIGUSR1, old)
        threading.Thread(target=signal_once_started).start()
        with self.assertRaises(SystemExit), contextlib.redirect_stdout(io.StringIO()):
            steps.run_step(self.main, "long", cmd, "long")
        self.assert_gone(pidfile, "the interrupt")

    def test_an_interrupt_leaves_no_signal_ignored(self):
        # A second SIGTERM is dropped by a handler, not ignored: a process
        # started during the clean-up can still be ended with SIGTERM.
        saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM,
                                                          signal.SIGHUP)}
        for sig, handler in saved.items():
            self.addCleanup(signal.signal, sig, handler)
        with self.assertRaises(SystemExit) as exit_:
            procs.interrupted(signal.SIGTERM, None)
        self.assertEqual(exit_.exception.code, 143)
        status = subprocess.run(["cat", "/proc/self/status"], capture_output=True,
                                text=True).stdout
        ignored = int(re.search(r"^SigIgn:\s*([0-9a-f]+)$", status, re.M).group(1), 16)
        self.assertFalse(ignored & (1 << (signal.SIGTERM - 1)))
        os.kill(os.getpid(), signal.SIGTERM)  # taken and dropped

if __name__ == "__main__":
    unittest.main()
