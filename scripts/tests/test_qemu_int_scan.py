# SPDX-License-Identifier: GPL-2.0
"""scripts/qemu_int_scan.py's checks on small logs in QEMU 7.2's -d int
format: excerpts of real boots and synthetic pieces (qemu_int_fixtures.py)."""

import unittest

from qemu_int_fixtures import (BACKPORT_REJECT, STOCK_LEAK, SUSPEND, eret, irq, psci,
                               qemu_int_scan, scan, svc, trap)


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


if __name__ == "__main__":
    unittest.main()
