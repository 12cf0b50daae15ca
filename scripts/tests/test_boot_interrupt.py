# SPDX-License-Identifier: GPL-2.0
"""boot.sh interrupted while its guest is silent: ^C at the terminal (SIGINT
to the foreground process group) and make check stopping its boots
(SIGTERM to the boot's group, scripts/testbed/boots.py) must end QEMU and
boot.sh at once, without a verdict, and boot.sh must die of the signal.

QEMU is a stand-in on PATH that says it started and then sleeps, as a guest
stuck in a broken handler does; the build is a stand-in too (boot.sh only
packs it into the initramfs), under build/ with a name no make target
uses."""

import os
import shutil
import signal
import subprocess
import tempfile
import time
import unittest
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Well under the boot timeout given below: an interrupt that waits for the
# timeout fails the test rather than passing late.
PROMPT = 8


def stand_in(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o755)


def alive(session):
    """The processes left in SESSION, zombies aside: those whose parent
    died of the signal are init's to reap."""
    ps = subprocess.run(["ps", "-o", "stat=,args=", "-s", str(session)],
                        capture_output=True, text=True).stdout
    return [line for line in ps.splitlines() if not line.startswith("Z")]


class BootInterrupt(unittest.TestCase):
    def setUp(self):
        self.tmp = Path(tempfile.mkdtemp())
        self.addCleanup(shutil.rmtree, self.tmp)
        self.name = f"test-interrupt-{os.getpid()}"
        out = ROOT / "build" / self.name
        self.addCleanup(shutil.rmtree, out, True)
        for path in ("Image", ".config"):
            stand_in(out / path, "")
        stand_in(out / "kselftest" / "run_kselftest.sh", "#!/bin/sh\n")
        stand_in(out / "gen_init_cpio", "#!/bin/sh\n")
        stand_in(self.tmp / "cache" / "busybox" / "bin" / "busybox", "")
        self.started = self.tmp / "qemu-started"
        stand_in(self.tmp / "bin" / "qemu-system-aarch64",
                 f"#!/bin/sh\necho 'Booting Linux'\ntouch {self.started}\nexec sleep 60\n")
        self.env = dict(os.environ, PATH=f"{self.tmp / 'bin'}:{os.environ['PATH']}",
                        PKVM_SMC_CACHE=str(self.tmp / "cache"), BOOT_TIMEOUT="30")

    def interrupt(self, signum):
        with open(self.tmp / "boot.out", "w+") as output:
            boot = subprocess.Popen(
                [str(ROOT / "scripts" / "boot.sh"), "--build", self.name,
                 "7.3", "rust", "gcc", "max", "hvhe"],
                env=self.env, stdout=output, stderr=subprocess.STDOUT,
                start_new_session=True)
            deadline = time.monotonic() + 60
            while not self.started.exists():
                self.assertIsNone(boot.poll(), "boot.sh ended before QEMU started")
                self.assertLess(time.monotonic(), deadline, "QEMU never started")
                time.sleep(0.1)
            os.killpg(boot.pid, signum)
            try:
                status = boot.wait(PROMPT)
            except subprocess.TimeoutExpired:
                subprocess.run(["pkill", "-KILL", "-s", str(boot.pid)], check=False)
                boot.wait()
                self.fail(f"boot.sh still running {PROMPT} s after {signum.name}: "
                          "QEMU outside its process group")
            finally:
                left = alive(boot.pid)
                if left:
                    subprocess.run(["pkill", "-KILL", "-s", str(boot.pid)], check=False)
            output.seek(0)
            printed = output.read()
        self.assertEqual(left, [], "processes of the boot outlived boot.sh")
        self.assertEqual(status, -signum, printed)
        self.assertIn(f"interrupted ({signum.name}); no verdict", printed)
        self.assertNotIn("verdict:", printed)

    def test_ctrl_c(self):
        self.interrupt(signal.SIGINT)

    def test_make_check_stops_its_boots(self):
        self.interrupt(signal.SIGTERM)


if __name__ == "__main__":
    unittest.main()
