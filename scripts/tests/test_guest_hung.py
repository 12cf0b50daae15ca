# SPDX-License-Identifier: GPL-2.0
"""testbed hung STATUS LOG: the one reading of a guest's exit status that
scripts/debian-boot.sh and the verdict (testbed/verdict.py) share."""

import shutil
import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from testbed import __main__ as cli  # noqa: E402

NOTE = "timeout: sending signal KILL to command 'qemu-system-aarch64'\n"


class Hung(unittest.TestCase):
    def setUp(self):
        self.tmp = Path(tempfile.mkdtemp())
        self.addCleanup(shutil.rmtree, self.tmp)

    def hung(self, status, console):
        log = self.tmp / "console.log"
        log.write_text(console)
        with self.assertRaises(SystemExit) as exit_:
            cli.main(["hung", str(status), str(log)])
        return exit_.exception.code == 0

    def test_timeout_ended_it(self):
        self.assertTrue(self.hung(124, "booting\n"))
        self.assertTrue(self.hung(137, "booting\n" + NOTE))

    def test_anything_else_did(self):
        # 137 without timeout's note: another's SIGKILL (the OOM killer's).
        self.assertFalse(self.hung(137, "booting\n"))
        self.assertFalse(self.hung(0, "reboot: Power down\n"))
        self.assertFalse(self.hung(1, "qemu-system-aarch64: -cpu foo: unknown\n"))


if __name__ == "__main__":
    unittest.main()
