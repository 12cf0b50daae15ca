# SPDX-License-Identifier: GPL-2.0
"""scripts/qemu_int_scan.py on small synthetic logs in QEMU 7.2's -d int format
(the excerpts are verbatim from boots of the testbed's 6.12 kernels)."""

import contextlib
import io
import json
import os
import subprocess
import sys
import tempfile
import threading
import unittest
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "qemu_int_scan.py"
sys.path.insert(0, str(SCRIPT.parent))
import qemu_int_scan  # noqa: E402

# 6.12 stock: the host's smc #1 PSCI_VERSION trapped on CPU 3, relayed to
# EL3 as smc #0 (QEMU's PSCI answers it), the eret after the smc.
STOCK_LEAK = """\
Taking exception 12 [Hypervisor Trap] on CPU 3
...from EL1 to EL2
...with ESR 0x17/0x5e000000
...with ELR 0xffff800078570c04
...to EL2 PC 0x800000044c400 PSTATE 0x3c9
Taking exception 13 [Secure Monitor Call] on CPU 3
...from EL2 to EL3
...with ESR 0x17/0x5e000000
...handled as PSCI call
Exception return from AArch64 EL2 to AArch64 EL1 PC 0xffff800078570c08
Taking exception 12 [Hypervisor Trap] on CPU 3
...from EL1 to EL2
...with ESR 0x17/0x5e000001
...with ELR 0xffff800078570cac
...to EL2 PC 0x800000044c400 PSTATE 0x3c9
Taking exception 13 [Secure Monitor Call] on CPU 3
...from EL2 to EL3
...with ESR 0x17/0x5e000000
...handled as PSCI call
Exception return from AArch64 EL2 to AArch64 EL1 PC 0xffff800078570cb0
"""

# 6.12 backport: the same smc #1 rejected by EL2, nothing forwarded; an IRQ
# that shows the SMC's stale ESR.
BACKPORT_REJECT = """\
Taking exception 12 [Hypervisor Trap] on CPU 1
...from EL1 to EL2
...with ESR 0x17/0x5e000001
...with ELR 0xffff800078570cac
...to EL2 PC 0x800000044c400 PSTATE 0x3c9
Exception return from AArch64 EL2 to AArch64 EL1 PC 0xffff800078570cb0
Taking exception 5 [IRQ] on CPU 1
...from EL1 to EL1
...with ESR 0x17/0x5e000001
...with ELR 0xffff800078570cb0
...to EL1 PC 0xffff800080010a80 PSTATE 0x3c5
Exception return from AArch64 EL1 to AArch64 EL1 PC 0xffff800078570cb0
"""

# A power-down CPU_SUSPEND: QEMU's PSCI suspends the CPU before it logs
# "...handled as PSCI call".
SUSPEND = """\
Taking exception 13 [Secure Monitor Call] on CPU 3
...from EL2 to EL3
...with ESR 0x17/0x5e000000
Taking exception 5 [IRQ] on CPU 1
...from EL1 to EL1
...with ESR 0x15/0x56000000
...with ELR 0xffff800080086e88
...to EL1 PC 0xffff800080010a80 PSTATE 0x3c5
"""


def trap(cpu, imm, elr):
    """A host smc #imm at elr, trapped to EL2 (HCR_EL2.TSC)."""
    return (f"Taking exception 12 [Hypervisor Trap] on CPU {cpu}\n...from EL1 to EL2\n"
            f"...with ESR 0x17/{0x5e000000 | imm:#x}\n...with ELR {elr:#x}\n"
            "...to EL2 PC 0x800000044c400 PSTATE 0x3c9\n")


def psci(cpu, from_el, imm=0, handled=True):
    """An SMC that QEMU answers as PSCI firmware."""
    return (f"Taking exception 13 [Secure Monitor Call] on CPU {cpu}\n...from EL{from_el} to EL3\n"
            f"...with ESR 0x17/{0x5e000000 | imm:#x}\n" + ("...handled as PSCI call\n" if handled else ""))


def eret(pc, to_el=1):
    return f"Exception return from AArch64 EL2 to AArch64 EL{to_el} PC {pc:#x}\n"


def irq(cpu, from_el=1):
    return (f"Taking exception 5 [IRQ] on CPU {cpu}\n...from EL{from_el} to EL1\n...with ESR 0x17/0x5e000001\n"
            f"...with ELR 0xffff800080086e88\n...to EL1 PC 0xffff800080010a80 PSTATE 0x3c5\n")


def svc(cpu):
    return (f"Taking exception 2 [SVC] on CPU {cpu}\n...from EL0 to EL1\n...with ESR 0x15/0x56000000\n"
            "...with ELR 0x4a4f60\n...to EL1 PC 0xffff800080010e00 PSTATE 0x3c5\n")


def scan(log, mode="pkvm", nonzero_imm=False, stuck_after=1000, keep_tail=200, chunk=None):
    """The failed checks by name, and the scanner; chunk: bytes per read."""
    scanner = qemu_int_scan.Scanner(mode, nonzero_imm, stuck_after, keep_tail)
    data = io.BytesIO(log.encode() if isinstance(log, str) else log)
    failed = scanner.feed(data.read if chunk is None else lambda n: data.read(chunk))
    return {f["name"]: f["detail"] for f in failed}, scanner


def run_main(*argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = qemu_int_scan.main(list(argv))
        except SystemExit as e:
            status = e.code
    return status, out.getvalue(), err.getvalue()


class Leak(unittest.TestCase):
    def test_stock_relays_smc1(self):
        failed, s = scan(STOCK_LEAK)
        self.assertEqual(list(failed), ["smc-leak"])
        self.assertEqual(failed["smc-leak"], "1 host SMC(s) with a non-zero immediate forwarded to EL3, first "
                         "smc #0x1 at ELR 0xffff800078570cac on CPU 3 (EL1 to EL2)")
        self.assertEqual((s.counts["host_smcs"], s.counts["host_smcs_nonzero_imm"], s.counts["forwarded_to_el3"]),
                         (2, 1, 2))

    def test_rejected_smc1_and_stale_esr(self):
        failed, s = scan(BACKPORT_REJECT)
        self.assertEqual(failed, {})
        self.assertEqual((s.counts["exceptions"], s.counts["host_smcs"], s.counts["malformed"]), (2, 1, 0))

    def test_an_irq_between_does_not_clear(self):
        failed, _ = scan(trap(0, 7, 0x1000) + irq(0) + psci(0, 2))
        self.assertIn("first smc #0x7 at ELR 0x1000 on CPU 0", failed["smc-leak"])

    def test_relay_on_another_cpu(self):
        self.assertEqual(scan(trap(0, 1, 0x1000) + eret(0x1004) + trap(1, 0, 0x2000) + psci(1, 2))[0], {})

    def test_next_host_smc_clears(self):
        log = trap(0, 1, 0x1000) + eret(0x1004) + trap(0, 0, 0x2000) + psci(0, 2)
        self.assertEqual(scan(log)[0], {})

    def test_next_host_smc_with_an_immediate_is_pending_instead(self):
        log = trap(0, 1, 0x1000) + trap(0, 0x2a, 0x2000) + psci(0, 2) + psci(0, 2)
        self.assertIn("1 host SMC(s)", scan(log)[0]["smc-leak"])
        self.assertIn("smc #0x2a", scan(log)[0]["smc-leak"])

    def test_count_and_first(self):
        log = trap(2, 3, 0x3000) + psci(2, 2) + trap(1, 9, 0x9000) + psci(1, 2)
        self.assertTrue(scan(log)[0]["smc-leak"].startswith("2 host SMC(s) with a non-zero immediate forwarded to "
                                                            "EL3, first smc #0x3 at ELR 0x3000 on CPU 2"))

    def test_suspend_without_handled_line(self):
        failed, s = scan(SUSPEND)
        self.assertEqual((failed, s.counts["forwarded_to_el3"], s.counts["malformed"]), ({}, 1, 0))


class Stuck(unittest.TestCase):
    def loop(self, times, returns_to, imm=1, elr=0xffff800078570cac):
        return (trap(0, imm, elr) + eret(returns_to)) * times

    def test_elr_not_advanced(self):
        failed, _ = scan(self.loop(1002, 0xffff800078570cac))
        self.assertEqual(failed["smc-stuck"], "1 run(s) of more than 1000, first smc #0x1 at ELR 0xffff800078570cac "
                         "on CPU 0 (EL1 to EL2), longest 1001: trapped again after each eret to the smc itself, "
                         "EL2 did not advance ELR")

    def test_boundary(self):
        self.assertEqual(scan(self.loop(1001, 0xffff800078570cac))[0], {})  # 1000 times again
        self.assertIn("smc-stuck", scan(self.loop(4, 0x1000, elr=0x1000), stuck_after=2)[0])

    def test_one_smc_in_a_loop_on_purpose(self):
        # The selftest's concurrent case: 2000 smc #1 at one address per CPU.
        self.assertEqual(scan(self.loop(2000, 0xffff800078570cb0))[0], {})

    def test_counts_on_through_other_cpus_and_irqs(self):
        log = (trap(0, 1, 0x1000) + trap(1, 2, 0x2000) + eret(0x2004) + eret(0x1000) + irq(0)) * 30
        failed, _ = scan(log, stuck_after=20)
        self.assertIn("first smc #0x1 at ELR 0x1000 on CPU 0", failed["smc-stuck"])
        self.assertIn("longest 29", failed["smc-stuck"])

    def test_two_cpus_on_one_smc(self):
        # Erets name no CPU: with both CPUs awaiting one, the check still
        # fails, whichever CPU it names.
        log = (trap(0, 1, 0x1000) + trap(1, 1, 0x1000) + eret(0x1004) + eret(0x1000)) * 30
        self.assertIn("longest 29", scan(log, stuck_after=20)[0]["smc-stuck"])
        self.assertEqual(scan((trap(0, 1, 0x1000) + trap(1, 1, 0x1000) + eret(0x1004) * 2) * 30, stuck_after=0)[0],
                         {})

    def test_another_smc_breaks_the_run(self):
        log = (self.loop(15, 0x1000, elr=0x1000) + trap(0, 0, 0x2000) + eret(0x2004)) * 3
        self.assertEqual(scan(log, stuck_after=20)[0], {})
        self.assertEqual(scan(self.loop(50, 0x1000, imm=0, elr=0x1000), stuck_after=20)[0], {})

    def test_millions_cheaply(self):
        failed, s = scan(self.loop(200000, 0x1000, elr=0x1000))
        self.assertIn("longest 199999", failed["smc-stuck"])
        self.assertEqual(s.counts["host_smcs"], 200000)


class NonzeroImmediate(unittest.TestCase):
    LOG = psci(0, 1) + svc(0) + trap(0, 5, 0x1000) + eret(0x1004)

    def test_only_where_asked(self):
        self.assertEqual(scan(self.LOG)[0], {})
        self.assertEqual(scan(self.LOG, nonzero_imm=True)[0]["nonzero-imm-smc"],
                         "1 SMC(s) with a non-zero immediate, first smc #0x5 at ELR 0x1000 on CPU 0 (EL1 to EL2)")
        self.assertIn("nonzero-imm-smc", scan(self.LOG, mode="pkvm-fail")[0])

    def test_straight_to_el3(self):
        self.assertIn("smc #0xffff on CPU 2 (EL1 to EL3)", scan(psci(2, 1, 0xFFFF), nonzero_imm=True)[0]
                      ["nonzero-imm-smc"])

    def test_past_the_hypervisor_in_pkvm_mode(self):
        failed = scan(psci(0, 1) + trap(1, 1, 0x1000) + eret(0x1004) + psci(3, 1, 7))[0]
        self.assertEqual(list(failed), ["smc-bypass"])
        self.assertIn("smc #0x7 on CPU 3 (EL1 to EL3)", failed["smc-bypass"])
        self.assertNotIn("smc-bypass", scan(psci(3, 1, 7), nonzero_imm=True)[0])


class AfterUserspace(unittest.TestCase):
    BOOT = psci(0, 1) * 5 + psci(3, 1) + irq(1)

    def test_poweroff_trapped_and_relayed(self):
        # The hyp was installed before the failure: SYSTEM_OFF traps, EL2 relays it.
        failed, s = scan(self.BOOT + svc(1) + irq(2) + trap(0, 0, 0xffff80008001a3c4) + psci(0, 2), "pkvm-fail")
        self.assertEqual((failed, s.counts["from_el0"]), ({}, 1))

    def test_poweroff_straight_to_el3(self):
        self.assertEqual(scan(self.BOOT + svc(1) + svc(2) + psci(0, 1), "pkvm-fail")[0], {})

    def test_another_smc_after_userspace(self):
        failed, _ = scan(self.BOOT + svc(1) + psci(2, 1) + irq(0) + psci(0, 1), "pkvm-fail")
        self.assertEqual(failed["smc-after-userspace"], "1 SMC(s) from EL1 after userspace started, besides the "
                         "last, first smc #0x0 on CPU 2 (EL1 to EL3)")

    def test_not_in_pkvm_mode(self):
        self.assertEqual(scan(self.BOOT + svc(1) + psci(2, 1) + psci(0, 1))[0], {})

    def test_no_userspace_no_failure(self):
        self.assertEqual(scan(self.BOOT + psci(2, 1) + psci(0, 1), "pkvm-fail")[0], {})


class Malformed(unittest.TestCase):
    def test_never_crashes(self):
        garbage = [
            "...with ESR 0x17/0x5e000001\n",  # before any record
            "Taking exception 12 [Hypervisor Trap]\n...from EL1 to EL2\n",  # no CPU
            "Taking exception 12 [Hypervisor Trap] on CPU x\n",
            "Taking exception 12 [Hypervisor Trap] on CPU 0\n...from EL1 to EL2\n...with ESR 0x17/zz\n",
            "Taking exception 12 [Hypervisor Trap] on CPU 0\n...from\n...with ELR 0xfffg\n",
            "Taking exception 12 [Hypervisor Trap] on CPU 0\n...from EL1 to EL2\n...with ESR 0x17/0x5e000001\n",
            "Exception return from AArch64 EL2 to AArch64 EL1 PC banana\n",
            "Taking exception\n...\n\n[]\n\x00\xff...with ELR\n",
            "Exception return from AArch64 EL2 to AArch64 EL1 PC \n",
        ]
        failed, s = scan("".join(garbage) + irq(0))
        self.assertEqual(list(failed), [])
        self.assertEqual((s.counts["exceptions"], s.counts["host_smcs"]), (6, 0))
        self.assertGreaterEqual(s.counts["malformed"], 8)
        scan(bytes(range(256)) * 100)
        scan(b"\n" * 1000 + b"...from EL1 to EL2" * 3)

    def test_interleaved_cpus(self):
        # MTTCG: CPU 1's record begins inside CPU 0's smc #1. Both records
        # are dropped as malformed; nothing is attributed to the wrong CPU.
        log = ("Taking exception 12 [Hypervisor Trap] on CPU 0\n...from EL1 to EL2\n" + irq(1)[:-1].split("\n", 1)[0]
               + "\n...with ESR 0x17/0x5e000001\n...with ELR 0x1000\n...from EL1 to EL1\n"
               "...with ESR 0x17/0x5e000000\n" + psci(1, 2))
        failed, s = scan(log)
        self.assertEqual((failed, s.counts["malformed"], s.counts["exceptions"]), ({}, 2, 3))

    def test_endless_line_is_not_buffered(self):
        chunks = iter([b"x" * 65536] * 200 + [b"\n" + trap(0, 1, 0x1000).encode() + psci(0, 2).encode()])
        scanner = qemu_int_scan.Scanner()
        failed = scanner.feed(lambda n: next(chunks, b""))
        self.assertEqual([f["name"] for f in failed], ["smc-leak"])
        self.assertLess(max(len(line) for line in scanner.tail), 70000)

    def test_last_line_without_newline(self):
        failed, s = scan((trap(0, 1, 0x1000) + psci(0, 2)).rstrip("\n"))
        self.assertEqual(list(failed), ["smc-leak"])

    def test_any_chunking(self):
        log = STOCK_LEAK + SUSPEND + BACKPORT_REJECT + svc(2) + trap(1, 4, 0x40) + eret(0x40)
        whole = scan(log, nonzero_imm=True)
        for chunk in (1, 2, 7, 64):
            failed, s = scan(log, nonzero_imm=True, chunk=chunk)
            self.assertEqual((failed, s.counts, list(s.tail)), (whole[0], whole[1].counts, list(whole[1].tail)))


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
