# SPDX-License-Identifier: GPL-2.0
"""testbed.boots: make check's boots side by side, a Rust row only after
the C handler's row it is compared with, the rows recorded in order."""

import sys
import threading
import time
import unittest
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from testbed import boots  # noqa: E402
from testbed.axes import row_id  # noqa: E402


def row(handler, mode, cpu="max", kernel="7.3", profile="gcc"):
    return {"kernel": kernel, "handler": handler, "profile": profile, "cpu": cpu, "mode": mode}


class Boots(unittest.TestCase):
    def setUp(self):
        self.lock = threading.Lock()
        self.events = []
        self.running = 0
        self.most = 0

    def stand_in_boot(self, r, running):
        """A boot of 0.2 s that notes when it ran and how many ran at once."""
        with self.lock:
            self.events.append(("start", row_id(r)))
            self.running += 1
            self.most = max(self.most, self.running)
        time.sleep(0.2)
        with self.lock:
            self.running -= 1
            self.events.append(("end", row_id(r)))
        return {"row": row_id(r)}

    def run_boots(self, rows, jobs=2):
        recorded = mock.Mock()
        pool = boots.Boots(boots.boot_pool(jobs))
        with mock.patch.object(boots, "boot", self.stand_in_boot):
            for r in rows:
                pool.submit(r)
            pool.add({"row": "not-built"})
            pool.collect(recorded)
            pool.stop()
        return [c.args[0]["row"] for c in recorded.row.call_args_list]

    def test_rust_row_waits_for_its_reference(self):
        stock, rust = row("stock", "hvhe", profile="hardened"), row("rust", "hvhe", profile="hardened")
        order = self.run_boots([stock, rust])
        self.assertLess(self.events.index(("end", row_id(stock))),
                        self.events.index(("start", row_id(rust))))
        self.assertEqual(order, [row_id(stock), row_id(rust), "not-built"])

    def test_independent_rows_boot_side_by_side(self):
        rows = [row("stock", "hvhe"), row("stock", "nvhe"), row("stock", "vhe")]
        order = self.run_boots(rows)
        self.assertEqual(self.most, 2)
        self.assertEqual(order, [row_id(r) for r in rows] + ["not-built"])

    def test_a_rust_row_compared_with_nothing_does_not_wait(self):
        # Outside the hardened profile and the KVM modes judge() compares
        # a Rust row with no C row.
        stock, rust = row("stock", "hvhe"), row("rust", "hvhe")
        self.run_boots([stock, rust])
        self.assertLess(self.events.index(("start", row_id(rust))),
                        self.events.index(("end", row_id(stock))))

    def test_a_failing_boot_is_an_error_row_not_an_exception(self):
        def broken(r, running):
            raise FileNotFoundError("boot.sh")
        recorded = mock.Mock()
        pool = boots.Boots(boots.boot_pool(1))
        with mock.patch.object(boots, "boot", broken), mock.patch.object(boots, "say"):
            pool.submit(row("stock", "hvhe"))
            pool.collect(recorded)
            pool.stop()
        entry = recorded.row.call_args.args[0]
        self.assertEqual((entry["got"], entry["ok"]), ("ERROR", False))
        self.assertIn("boot.sh", "; ".join(entry["problems"]))

    def test_finished_rows_are_recorded_before_the_rest(self):
        recorded = mock.Mock()
        pool = boots.Boots(boots.boot_pool(1))
        release = threading.Event()

        def slow(r, running):
            if r["mode"] == "nvhe":
                release.wait(5)
            return {"row": row_id(r)}
        with mock.patch.object(boots, "boot", slow):
            pool.submit(row("stock", "hvhe"))
            pool.submit(row("stock", "nvhe"))
            for _ in range(50):
                pool.flush(recorded)
                if recorded.row.called:
                    break
                time.sleep(0.05)
            self.assertEqual([c.args[0]["row"] for c in recorded.row.call_args_list],
                             [row_id(row("stock", "hvhe"))])
            release.set()
            pool.collect(recorded)
            pool.stop()
        self.assertEqual(recorded.row.call_count, 2)

    def test_a_rust_row_with_its_reference_not_submitted_does_not_wait(self):
        # --rows can leave the C handler's row out: the Rust row boots,
        # compared with whatever record the reference has (verdict.py).
        order = self.run_boots([row("rust", "nvhe")], jobs=1)
        self.assertEqual(order, [row_id(row("rust", "nvhe")), "not-built"])

    def test_two_kernels_share_the_pool_and_stop_apart(self):
        # Two kernels' lanes: their boots are as many at once as one
        # kernel's, and stopping one kernel's leaves the other's.
        pool = boots.boot_pool(2)
        recorded = mock.Mock()
        first, second = boots.Boots(pool), boots.Boots(pool)
        rows = [row("stock", m, kernel="6.12") for m in ("hvhe", "nvhe", "vhe")]
        with mock.patch.object(boots, "boot", self.stand_in_boot):
            for r in rows:
                first.submit(r)
            second.submit(row("stock", "hvhe"))
            second.submit(row("stock", "nvhe"))
            second.stop()
            first.collect(recorded)
        pool.shutdown()
        self.assertEqual(self.most, 2)
        self.assertEqual([c.args[0]["row"] for c in recorded.row.call_args_list],
                         [row_id(r) for r in rows])
        # The second kernel's last row was still queued behind the
        # first's: stopped, it never booted.
        self.assertNotIn(("start", row_id(row("stock", "nvhe"))), self.events)

    def test_stopped_while_a_rust_row_waits_for_its_reference(self):
        # The reference row's boot is running and the Rust row waits for
        # it: stop() ends the first, and the second never starts (it
        # would run unseen, with make check gone).
        started = []

        def stand_in(r, procs):
            proc = procs.popen(["sleep", "30"], start_new_session=True)
            started.append(row_id(r))
            try:
                proc.wait()
            finally:
                procs.done(proc)
            return {"row": row_id(r)}
        pool = boots.boot_pool(2)
        kernel = boots.Boots(pool)
        stock, rust = row("stock", "hvhe", profile="hardened"), row("rust", "hvhe", profile="hardened")
        with mock.patch.object(boots, "boot", stand_in):
            kernel.submit(stock)
            kernel.submit(rust)
            for _ in range(100):
                if started:
                    break
                time.sleep(0.05)
            start = time.time()
            kernel.stop()
            pool.shutdown()
        self.assertLess(time.time() - start, 10)
        self.assertEqual(started, [row_id(stock)])


if __name__ == "__main__":
    unittest.main()
