# SPDX-License-Identifier: GPL-2.0
"""scripts/qemu_int_scan.py as boot.sh runs it: its command line, its
files, its exit status, a FIFO (qemu_int_fixtures.py holds the logs)."""

import json
import os
import subprocess
import sys
import tempfile
import threading
import unittest
from pathlib import Path

from qemu_int_fixtures import BACKPORT_REJECT, SCRIPT, STOCK_LEAK, run_main


class Cli(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.addCleanup(self.dir.cleanup)

    def path(self, name, text=None):
        path = os.path.join(self.dir.name, name)
        if text is not None:
            Path(path).write_text(text)
        return path

    def test_failed_check(self):
        log, js, tail = self.path("int.log", STOCK_LEAK), self.path("s.json"), self.path("tail")
        status, out, err = run_main("--json-out", js, "--tail-out", tail, "--keep-tail", "3", log)
        self.assertEqual(status, 1)
        self.assertEqual(err, "error: qemu-int: smc-leak: 1 host SMC(s) with a non-zero immediate forwarded to EL3, "
                         "first smc #0x1 at ELR 0xffff800078570cac on CPU 3 (EL1 to EL2)\n")
        self.assertEqual(out, "qemu-int: 4 exceptions, 2 host SMCs (1 with a non-zero immediate), 2 forwarded to EL3, "
                         "0 from EL1 straight to EL3, 2 exception returns, 0 malformed, 20 lines\n")
        report = json.loads(Path(js).read_text())
        self.assertEqual((report["mode"], report["checks"]), ("pkvm", ["smc-leak", "smc-stuck", "smc-bypass", "empty-log"]))
        self.assertEqual([f["name"] for f in report["failed"]], ["smc-leak"])
        self.assertEqual(report["counts"]["lines"], 20)
        self.assertEqual(Path(tail).read_text(), "...with ESR 0x17/0x5e000000\n...handled as PSCI call\n"
                         "Exception return from AArch64 EL2 to AArch64 EL1 PC 0xffff800078570cb0\n")

    def test_pass(self):
        tail = self.path("tail")
        status, out, err = run_main("--mode", "pkvm-fail", "--keep-tail", "0", "--tail-out", tail,
                                    self.path("int.log", BACKPORT_REJECT.replace("5e000001", "5e000000")))
        self.assertEqual((status, err, Path(tail).read_text()), (0, "", ""))
        self.assertTrue(out.startswith("qemu-int: 2 exceptions, 1 host SMCs (0 with a non-zero immediate)"))

    def test_empty_log(self):
        status, _, err = run_main(self.path("int.log", ""))
        self.assertEqual((status, err), (1, "error: qemu-int: empty-log: no exception record in 0 lines: "
                                            "not a -d int log?\n"))

    def test_usage_errors(self):
        log = self.path("int.log", BACKPORT_REJECT)
        for argv in (["--mode", "vhe", log], ["--keep-tail", "-1", log], ["--stuck-after", "x", log], [],
                     [self.path("missing")]):
            self.assertEqual(run_main(*argv)[0], 2, argv)

    def test_fifo(self):
        fifo = self.path("fifo")
        os.mkfifo(fifo)
        log = (BACKPORT_REJECT * 5000 + STOCK_LEAK).encode()

        def qemu():
            with open(fifo, "wb") as f:
                for i in range(0, len(log), 4000):
                    f.write(log[i:i + 4000])
                    f.flush()

        writer = threading.Thread(target=qemu)
        writer.start()
        status, out, err = run_main("--stuck-after", "10", fifo)
        writer.join()
        self.assertEqual((status, err.split(":")[2]), (1, " smc-leak"))
        self.assertIn("10004 exceptions", out)

    def test_as_a_program(self):
        r = subprocess.run([sys.executable, str(SCRIPT), self.path("int.log", STOCK_LEAK)],
                           capture_output=True, text=True, check=False)
        self.assertEqual((r.returncode, r.stderr.startswith("error: qemu-int: smc-leak: ")), (1, True))


if __name__ == "__main__":
    unittest.main()
