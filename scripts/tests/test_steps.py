# SPDX-License-Identifier: GPL-2.0
"""testbed.steps.run_steps_together: the steps run side by side, each
printed whole and recorded in the order given, with its own status."""

import contextlib
import io
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from testbed import steps  # noqa: E402
from stand_ins import InBuildDir, StandInRun  # noqa: E402


class Together(InBuildDir):
    def test_side_by_side_in_order(self):
        # The first waits for a file only the second makes: run one after
        # the other, it gives up after 20 s and fails.
        flag = self.tmp / "second-ran"
        first = ["sh", "-c", f"i=0; until [ -e {flag} ]; do i=$((i+1)); "
                             "[ $i -lt 200 ] || exit 9; sleep 0.1; done; echo first done"]
        second = ["sh", "-c", f"echo second; touch {flag}; echo 'error: it broke'; exit 3"]
        run = StandInRun()
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            steps.run_steps_together(run, [("first", first, "one"), ("second", second, "two")])
        self.assertEqual([(s["name"], s["ok"], s["note"]) for s in run.data["steps"]],
                         [("first", True, ""), ("second", False, "it broke")])
        text = printed.getvalue()
        # Each says it started, then each prints whole, in order.
        self.assertLess(text.index("==> second: started"), text.index("first done"))
        self.assertLess(text.index("first done"), text.index("error: it broke"))
        self.assertEqual((self.tmp / "check" / "two.log").read_text(),
                         "second\nerror: it broke\n")


if __name__ == "__main__":
    unittest.main()
