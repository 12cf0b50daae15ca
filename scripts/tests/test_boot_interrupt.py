# SPDX-License-Identifier: GPL-2.0
"""boot.sh interrupted while its guest is silent: ^C at the terminal (SIGINT
to the foreground process group), make check stopping its boots (SIGTERM
to the boot's group, scripts/testbed/boots.py) and make passing SIGTERM to
boot.sh alone must end QEMU and boot.sh at once, without a verdict, and
boot.sh must die of the signal.

QEMU is a stand-in on PATH that says it started and then sleeps, as a guest
stuck in a broken handler does, and exits 0 on SIGINT, SIGTERM or SIGHUP, as
QEMU does; the build is a stand-in too (boot.sh only packs it into the
initramfs), under build/ with a name no make target uses."""

import os
import shutil
import signal
import subprocess
import sys
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


def default_sigint():
    """^C as at a terminal: a test run in the background (make check under
    nohup, a CI job) inherits SIGINT ignored, which bash cannot trap."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


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
        stand_in(self.tmp / "bin" / "qemu-system-aarch64", f"""#!{sys.executable}
import pathlib, signal, sys, time
for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
    signal.signal(signum, lambda *_: sys.exit(0))
print("Booting Linux", flush=True)
pathlib.Path("{self.started}").touch()
time.sleep(60)
""")
        self.env = dict(os.environ, PATH=f"{self.tmp / 'bin'}:{os.environ['PATH']}",
                        PKVM_SMC_CACHE=str(self.tmp / "cache"), BOOT_TIMEOUT="30")

    def interrupt(self, signum, group=True):
        with open(self.tmp / "boot.out", "w+") as output:
            boot = subprocess.Popen(
                [str(ROOT / "scripts" / "boot.sh"), "--build", self.name,
                 "7.3", "rust", "gcc", "max", "hvhe"],
                env=self.env, stdout=output, stderr=subprocess.STDOUT,
                start_new_session=True, preexec_fn=default_sigint)
            status, left = None, []
            try:
                deadline = time.monotonic() + 60
                while not self.started.exists():
                    if boot.poll() is not None or time.monotonic() > deadline:
                        break
                    time.sleep(0.1)
                if self.started.exists():
                    (os.killpg if group else os.kill)(boot.pid, signum)
                    try:
                        status = boot.wait(PROMPT)
                    except subprocess.TimeoutExpired:
                        pass
            finally:
                left = alive(boot.pid)
                subprocess.run(["pkill", "-KILL", "-s", str(boot.pid)], check=False)
                boot.wait()
            output.seek(0)
            printed = output.read()
        self.assertTrue(self.started.exists(), f"QEMU never started:\n{printed}")
        self.assertIsNotNone(status, f"boot.sh still running {PROMPT} s after "
                                     f"{signum.name}:\n{printed}")
        self.assertEqual(left, [], f"processes of the boot outlived boot.sh:\n{printed}")
        self.assertEqual(status, -signum, printed)
        self.assertIn(f"interrupted ({signum.name}); no verdict", printed)
        self.assertNotIn("verdict:", printed)

    def test_ctrl_c(self):
        self.interrupt(signal.SIGINT)

    def test_make_check_stops_its_boots(self):
        self.interrupt(signal.SIGTERM)

    def test_make_is_stopped(self):
        # make passes SIGTERM to its children's PIDs, not their group.
        self.interrupt(signal.SIGTERM, group=False)


if __name__ == "__main__":
    unittest.main()
