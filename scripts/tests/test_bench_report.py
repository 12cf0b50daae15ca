# SPDX-License-Identifier: GPL-2.0
"""scripts/testbed/bench_report.py: a round trip is judged against the C
handler's to the counter's resolution, no finer."""

import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from testbed import bench_report  # noqa: E402

# 62.5 MHz, 2000 calls a batch: one tick is 16 instructions, 0.008 a call.
FREQUENCY, CALLS = 62_500_000, 2000


def build(handler, accept_ticks, reject_ticks, static_accept, static_reject):
    rows = [{"calls": CALLS, "frequency": FREQUENCY, "accept_ticks": accept_ticks,
             "reject_ticks": reject_ticks, "rejected": CALLS, "accept_rejected": 0}]
    return {"kernel": "6.12", "handler": handler, "profile": "hardened",
            "lto": handler == "rust", "raw": rows,
            **{path: bench_report.per_call(rows, f"{path}_ticks")
               for path in bench_report.PATHS},
            "static": {"text_bytes": 312, "reject_insns": static_reject,
                       "accept_insns": static_accept}}


class RoundTrip(unittest.TestCase):
    def test_one_tick_in_a_batch_is_the_same_code(self):
        # Measured so at 412dd9c: 6.12 hardened, backport 27500 ticks,
        # Rust 27501, both paths 22 instructions statically.
        c = build("backport", 27500, 19125, 22, 25)
        rust = build("rust", 27501, 19125, 22, 25)
        result = bench_report.compare(c, rust)
        self.assertGreater(result["accept_round_trip_ratio"], 1.0)
        self.assertTrue(result["accept_round_trip"].startswith(
            "met within the counter's resolution"), result["accept_round_trip"])
        self.assertEqual(result["reject_round_trip"], "met")

    def test_one_instruction_a_call_is_missed(self):
        # One more instruction per call: 2000 more, 125 more ticks.
        c = build("backport", 27500, 19125, 22, 25)
        rust = build("rust", 27625, 19125, 23, 25)
        result = bench_report.compare(c, rust)
        self.assertTrue(result["accept_round_trip"].startswith("missed by"),
                        result["accept_round_trip"])

    def test_two_ticks_are_missed(self):
        c = build("backport", 27500, 19125, 22, 25)
        rust = build("rust", 27502, 19125, 22, 25)
        self.assertTrue(bench_report.compare(c, rust)["accept_round_trip"]
                        .startswith("missed by"))


if __name__ == "__main__":
    unittest.main()
