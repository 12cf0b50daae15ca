# SPDX-License-Identifier: GPL-2.0
"""scripts/check.py: which rows --rows selects, and how a row is judged."""

import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import check  # noqa: E402

NEGATIVE = ["smc1_psci_version_not_supported", "smc0_upper_32_bit_function_id_rejected"]


def row(kernel="7.3", handler="rust", profile="minimal", cpu="max", mode="hvhe",
        expect="PASS", must_fail=()):
    return {"kernel": kernel, "handler": handler, "profile": profile, "cpu": cpu,
            "mode": mode, "expect": expect, "must_fail": list(must_fail)}


def parsed(verdict, failed=()):
    cases = [{"name": n, "status": "FAILURE"} for n in failed]
    cases.append({"name": "smc0_psci_version_baseline", "status": "SUCCESS"})
    return {"verdict": verdict, "errors": [],
            "tests": [{"name": "smc_imm_test (insmod)", "status": "SUCCESS", "cases": cases}]}


class SelectRows(unittest.TestCase):
    rows = [row(), row(handler="stock"), row("6.12", "stock", mode="nvhe"),
            row(profile="hardened", cpu="neoverse-n1")]

    def test_a_word_matches_as_part_of_the_id(self):
        self.assertEqual([check.row_id(r) for r in check.select_rows(self.rows, "rust")],
                         ["7.3-rust-minimal-max-hvhe", "7.3-rust-hardened-neoverse-n1-hvhe"])

    def test_a_glob_matches_the_whole_id(self):
        self.assertEqual(len(check.select_rows(self.rows, "6.12-stock-*-nvhe")), 1)
        self.assertEqual(check.select_rows(self.rows, "rust-*-hvhe-x"), [])

    def test_the_reproducing_command_names_every_axis(self):
        self.assertEqual(check.reproduce(row("6.12", "stock", mode="nvhe")),
                         "make qemu KERNEL=6.12 HANDLER=stock PROFILE=minimal "
                         "CPU=max MODE=nvhe")


class Judge(unittest.TestCase):
    def test_a_leak_fails_a_row_that_passed_its_cases(self):
        problems = check.judge(row(), parsed("PASS"),
                               ["qemu-int: smc-leak: 3 host SMCs forwarded"], None)
        self.assertIn("expected PASS, got FAIL", problems)

    def test_the_negative_control_must_show_the_leak(self):
        expected = row("6.12", "stock", expect="FAIL", must_fail=NEGATIVE + ["smc-leak"])
        self.assertEqual(check.judge(expected, parsed("FAIL", NEGATIVE),
                                     ["qemu-int: smc-leak: 2 host SMCs forwarded"], None), [])
        problems = check.judge(expected, parsed("FAIL", NEGATIVE), [], None)
        self.assertTrue(any(p.startswith("failed cases") for p in problems), problems)

    def test_an_unexpected_check_is_a_problem(self):
        expected = row("6.12", "stock", expect="FAIL", must_fail=NEGATIVE + ["smc-leak"])
        problems = check.judge(expected, parsed("FAIL", NEGATIVE),
                               ["qemu-int: smc-leak: 2", "qemu-int: smc-stuck: x"], None)
        self.assertIn("boot: qemu-int: smc-stuck: x", problems)

    def test_a_plain_insmod_may_leave_out_only_the_destructive_case(self):
        def skipping(*names):
            result = parsed("PASS")
            result["tests"][0]["cases"] += [{"name": n, "status": "SKIPPED"} for n in names]
            return result
        destructive = "smc_nonzero_imm_destructive_psci_harmless"
        self.assertEqual(check.judge(row(mode="insmod"), skipping(destructive), [], None), [])
        self.assertEqual(check.judge(row(), skipping(destructive), [], None),
                         [f"skipped: {destructive}"])
        self.assertEqual(check.judge(row(mode="insmod"), skipping("smc1_concurrent_on_all_cpus"),
                                     [], None), ["skipped: smc1_concurrent_on_all_cpus"])

    def test_other_boot_errors_are_problems(self):
        problems = check.judge(row(), parsed("PASS"), ["the guest hung"], None)
        self.assertIn("boot: the guest hung", problems)


if __name__ == "__main__":
    unittest.main()
