# SPDX-License-Identifier: GPL-2.0
"""scripts/testbed: which rows --rows selects, how a boot is judged, and
that make check takes the very verdict make qemu prints."""

import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from testbed import __main__ as cli  # noqa: E402
from testbed import boots, matrix, paths, verdict  # noqa: E402
from testbed.procs import Procs  # noqa: E402

NEGATIVE = ["smc1_psci_version_not_supported", "smc0_upper_32_bit_function_id_rejected"]


def row(kernel="7.3", handler="rust", profile="minimal", cpu="max", mode="hvhe",
        expect="PASS", must_fail=()):
    return {"kernel": kernel, "handler": handler, "profile": profile, "cpu": cpu,
            "mode": mode, "expect": expect, "must_fail": list(must_fail), "why": "test"}


def record(ktap_verdict, failed=(), errors=(), skipped=()):
    cases = [{"name": n, "status": "FAILURE"} for n in failed]
    cases += [{"name": n, "status": "SKIPPED"} for n in skipped]
    cases.append({"name": "smc0_psci_version_baseline", "status": "SUCCESS"})
    errors = list(errors)
    return {"verdict": verdict.outcome(ktap_verdict, errors), "errors": errors,
            "ktap_errors": [], "cases": cases, "selftests": {}, "ffa": [],
            "log_checks_failed": [c for c in map(verdict.log_check, errors) if c]}


class SelectRows(unittest.TestCase):
    rows = [row(), row(handler="stock"), row("6.12", "stock", mode="nvhe"),
            row(profile="hardened", cpu="neoverse-n1")]

    def test_a_word_matches_as_part_of_the_id(self):
        self.assertEqual([verdict.row_id(r) for r in matrix.select(self.rows, "rust")],
                         ["7.3-rust-minimal-max-hvhe", "7.3-rust-hardened-neoverse-n1-hvhe"])

    def test_a_glob_matches_the_whole_id(self):
        self.assertEqual(len(matrix.select(self.rows, "6.12-stock-*-nvhe")), 1)
        self.assertEqual(matrix.select(self.rows, "rust-*-hvhe-x"), [])

    def test_a_kernel_works_in_the_testbed_profiles_its_rows_use(self):
        rows = self.rows + [row("6.12", "stock", profile="hardened"),
                            row("6.12", "stock", profile="debian"), row(profile="gcc")]
        self.assertEqual(matrix.profiles("7.3", rows), ["minimal", "gcc", "hardened"])
        self.assertEqual(matrix.profiles("6.12", rows[3:]), ["hardened"])

    def test_the_reproducing_command_names_every_axis(self):
        self.assertEqual(matrix.reproduce(row("6.12", "stock", mode="nvhe")),
                         "make qemu KERNEL=6.12 HANDLER=stock PROFILE=minimal "
                         "CPU=max MODE=nvhe")

    def test_every_row_of_the_table_is_found_by_its_axes(self):
        rows = matrix.load()
        for r in rows:
            self.assertIs(matrix.find(r, rows), r)


class Judge(unittest.TestCase):
    def test_a_leak_fails_a_row_that_passed_its_cases(self):
        problems = verdict.judge(row(), record("PASS", errors=["qemu-int: smc-leak: 3"]), None)
        self.assertIn("expected PASS, got FAIL", problems)

    def test_the_negative_control_must_show_the_leak(self):
        expected = row("6.12", "stock", expect="FAIL", must_fail=NEGATIVE + ["smc-leak"])
        self.assertEqual(verdict.judge(expected, record("FAIL", NEGATIVE,
                                                        ["qemu-int: smc-leak: 2"]), None), [])
        problems = verdict.judge(expected, record("FAIL", NEGATIVE), None)
        self.assertTrue(any(p.startswith("failed cases") for p in problems), problems)

    def test_an_unexpected_check_is_a_problem(self):
        expected = row("6.12", "stock", expect="FAIL", must_fail=NEGATIVE + ["smc-leak"])
        problems = verdict.judge(expected, record("FAIL", NEGATIVE, [
            "qemu-int: smc-leak: 2", "qemu-int: smc-stuck: x"]), None)
        self.assertIn("boot: qemu-int: smc-stuck: x", problems)

    def test_a_plain_insmod_may_leave_out_only_the_destructive_case(self):
        destructive = "smc_nonzero_imm_destructive_psci_harmless"
        self.assertEqual(verdict.judge(row(mode="insmod"),
                                       record("PASS", skipped=[destructive]), None), [])
        self.assertEqual(verdict.judge(row(), record("PASS", skipped=[destructive]), None),
                         [f"skipped: {destructive}"])
        self.assertEqual(verdict.judge(row(mode="insmod"), record(
            "PASS", skipped=["smc1_concurrent_on_all_cpus"]), None),
            ["skipped: smc1_concurrent_on_all_cpus"])

    def test_a_boot_that_went_wrong_has_no_verdict(self):
        got = record("PASS", errors=["the guest hung: no power-off within 300s"])
        self.assertEqual(got["verdict"], "ERROR")
        self.assertIn("boot: the guest hung: no power-off within 300s",
                      verdict.judge(row(), got, None))

    def test_the_console_names_what_went_wrong_first(self):
        proof = "kvm [1]: Protected hVHE mode initialized successfully\n"
        self.assertEqual(verdict.console_error(proof, "hvhe", 1, 300)[:25],
                         "QEMU exited with status 1")
        self.assertEqual(verdict.console_error(proof + "Kernel panic - x\n", "hvhe", 124, 300),
                         "the guest panicked or oopsed")
        self.assertEqual(verdict.console_error(proof, "nvhe", 0, 300),
                         "pKVM did not initialise in nVHE mode")
        self.assertEqual(verdict.console_error(proof, "hvhe", 0, 300),
                         "the test never finished (the VM powered off under it?)")
        self.assertEqual(verdict.console_error(proof, "bench", 0, 300),
                         "the benchmark never finished")
        self.assertIsNone(verdict.console_error(
            proof + "pkvm-smc-imm: bench begin\npkvm-smc-imm: bench end\n", "bench", 0, 300))
        # 137: a hang only after timeout's own SIGKILL (run_guest's --verbose).
        killed = "timeout: sending signal KILL to command 'qemu-system-aarch64'\n"
        self.assertEqual(verdict.console_error(proof + killed, "hvhe", 137, 300),
                         "the guest hung: no power-off within 300s")
        self.assertEqual(verdict.console_error(proof, "hvhe", 137, 300)[:27],
                         "QEMU exited with status 137")


class Bench(unittest.TestCase):
    """MODE=bench: the benchmark's lines, judged by the one verdict."""

    def judged(self, console):
        build = Path(tempfile.mkdtemp())
        self.addCleanup(shutil.rmtree, build)
        (build / "7.3-rust").mkdir()
        (build / "7.3-rust/max-bench.log").write_text(console)
        with mock.patch.object(paths, "BUILD", build):
            return verdict.judge_boot(row(mode="bench"), "7.3-rust", 0, 300, None)

    def test_the_lines_of_a_finished_benchmark(self):
        got = self.judged("kvm [1]: Protected hVHE mode initialized successfully\n"
                          "pkvm-smc-imm: bench begin\nbench: reject=1\nbench: reject=2\n"
                          "pkvm-smc-imm: bench end\n")
        self.assertEqual((got["verdict"], got["ok"], got["row"]), ("PASS", True, None))
        self.assertEqual(got["bench"], ["bench: reject=1", "bench: reject=2"])

    def test_an_unfinished_benchmark_is_an_error(self):
        got = self.judged("kvm [1]: Protected hVHE mode initialized successfully\n"
                          "pkvm-smc-imm: bench begin\nbench: reject=1\n")
        self.assertEqual((got["verdict"], got["ok"]), ("ERROR", False))
        self.assertEqual(got["errors"], ["the benchmark never finished"])


class HardenedReference(unittest.TestCase):
    """A hardened row: CPU hotplug where the selftest runner ran, and
    pKVM's FF-A answers like the C handler's where pKVM runs."""

    @staticmethod
    def boot(ffa=(), hotplug=True):
        got = record("PASS")
        got["ffa"] = list(ffa)
        if hotplug:
            got["selftests"] = {"cpu-hotplug:cpu-on-off-test.sh": "SUCCESS"}
        return got

    def test_the_selftest_rows_need_cpu_hotplug(self):
        problems = verdict.judge(row(profile="hardened"), self.boot(hotplug=False), None)
        self.assertEqual(problems, ["cpu-hotplug selftest: not run"])

    def test_a_plain_insmod_runs_no_selftest(self):
        for mode in ("insmod", "pkvm-fail"):
            with self.subTest(mode=mode):
                spec = row("6.12", "stock", profile="hardened", mode=mode)
                self.assertEqual(verdict.judge(spec, self.boot(hotplug=False), None), [])

    def test_cpu_hotplug_does_not_make_a_skipping_row_pass(self):
        parsed = {"errors": [], "verdict": "PASS", "tests": [
            {"name": "selftests: cpu-hotplug: cpu-on-off-test.sh", "status": "SUCCESS"},
            {"name": "selftests: pkvm_smc_imm: smc_imm.sh", "status": "SKIPPED",
             "cases": [{"name": "smc0_psci_version_baseline", "status": "SKIPPED"}]}]}
        self.assertEqual(verdict.row_ktap_verdict(parsed), "SKIP")
        parsed["errors"] = ["the test never finished"]
        parsed["verdict"] = "FAIL"
        self.assertEqual(verdict.row_ktap_verdict(parsed), "FAIL")

    def test_ffa_answers_are_compared_only_where_pkvm_runs(self):
        reference = self.boot(ffa=["ffa: version 1.1"])
        problems = verdict.judge(row(profile="hardened"), self.boot(), reference)
        self.assertTrue(problems and problems[0].startswith("pKVM's FF-A proxy answered"))
        spec = row(profile="hardened", mode="vhe", expect="SKIP")
        self.assertNotIn("pKVM's FF-A", " ".join(verdict.judge(spec, self.boot(), reference)))


class JudgeKvm(unittest.TestCase):
    """The kvm rows: smc_imm_guest must pass, and a Rust row every test
    that passed behind the C handler (the differential)."""

    @staticmethod
    def kvm(statuses, ktap_verdict="PASS"):
        return {"verdict": ktap_verdict, "errors": [], "ktap_errors": [],
                "cases": [{"name": n, "status": s} for n, s in statuses.items()]}

    def test_a_test_lost_behind_rust_is_named(self):
        reference = self.kvm({"smc_imm_guest": "SUCCESS", "hypercalls": "SUCCESS"})
        rust = self.kvm({"smc_imm_guest": "SUCCESS", "hypercalls": "FAILURE"}, "FAIL")
        problems = verdict.judge(row(profile="hardened", mode="kvm"), rust, reference)
        self.assertIn("passed behind the C handler, not behind the Rust one: "
                      "hypercalls (FAILURE)", problems)

    def test_a_test_failing_behind_both_is_no_regression_but_still_a_fail(self):
        both = {"smc_imm_guest": "SUCCESS", "arch_timer": "FAILURE"}
        problems = verdict.judge(row(profile="hardened", mode="kvm"),
                                 self.kvm(both, "FAIL"), self.kvm(both, "FAIL"))
        self.assertEqual(problems, ["expected PASS, got FAIL"])

    def test_smc_imm_guest_must_run(self):
        problems = verdict.judge(row(handler="stock", mode="kvm"),
                                 self.kvm({"hypercalls": "SUCCESS"}), None)
        self.assertEqual(problems, ["smc_imm_guest: not run"])

    def test_a_rust_row_without_its_reference_says_so(self):
        problems = verdict.judge(row(mode="kvm"), self.kvm({"smc_imm_guest": "SUCCESS"}), None)
        self.assertTrue(problems and problems[0].startswith("no record of the C handler"))


CONSOLE = """\
[    1.0] kvm [1]: Protected hVHE mode initialized successfully
pkvm-smc-imm: insmod begin
KTAP version 1
1..3
ok 1 smc0_psci_version_baseline # PSCI_VERSION = 0x10001
{case3}
{case10}
pkvm-smc-imm: insmod exit=0
"""


class SameVerdict(unittest.TestCase):
    """make qemu (boot.sh -> python3 -m testbed verdict) and make check
    (boots.boot) on the row that passes and on the negative control."""

    def setUp(self):
        if not all((paths.kunit_dir(k) / "kunit_parser.py").is_file() for k in ("6.12", "7.3")):
            # make check runs this class again once the trees are there,
            # with PKVM_SMC_TREES=required: then a missing tree fails.
            why = "no kunit_parser in the kernel trees yet: run 'make build' first"
            if os.environ.get("PKVM_SMC_TREES") == "required":
                self.fail(why)
            self.skipTest(why)
        self.build = Path(tempfile.mkdtemp())
        self.addCleanup(shutil.rmtree, self.build)
        patcher = mock.patch.object(paths, "BUILD", self.build)
        patcher.start()
        self.addCleanup(patcher.stop)

    def boot(self, spec, console, scan_failed):
        """What boot.sh leaves before it asks for the verdict."""
        out = self.build / verdict.variant_name(spec["kernel"], spec["handler"], spec["profile"])
        out.mkdir(parents=True, exist_ok=True)
        base = out / f"{spec['cpu']}-{spec['mode']}"
        Path(f"{base}.log").write_text(console)
        Path(f"{base}.qemu-int.json").write_text(json.dumps({"failed": scan_failed}))
        Path(f"{base}.qemu-int.txt").write_text("qemu-int: counts\n")
        argv = ["verdict", "--build", out.name, "--qemu-status", "0",
                "--scan-status", "1" if scan_failed else "0", "--timeout", "300"]
        argv += [spec[k] for k in verdict.AXES]
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(io.StringIO()):
            status = cli.main(argv)
        return status, printed.getvalue().strip().splitlines()[-1]

    def both(self, spec, console, scan_failed):
        status, line = self.boot(spec, console, scan_failed)

        def stand_in_boot_sh(cmd, **kwargs):
            return subprocess.CompletedProcess(cmd, status)
        table_row = matrix.find(spec)
        with mock.patch.object(boots.subprocess, "run", stand_in_boot_sh), \
                contextlib.redirect_stdout(io.StringIO()):
            entry = boots.boot(table_row, Procs())
        return status, line, entry

    def test_the_row_that_passes(self):
        spec = row(handler="stock", profile="gcc", mode="insmod")
        console = CONSOLE.format(case3="ok 2 smc1_psci_version_not_supported # x0 = -1",
                                 case10="ok 3 smc0_upper_32_bit_function_id_rejected # -1")
        status, line, entry = self.both(spec, console, [])
        self.assertEqual((status, line), (0, "verdict: PASS"))
        self.assertEqual((entry["got"], entry["ok"]), ("PASS", True))

    def test_the_negative_control_that_fails(self):
        spec = row("6.12", "stock", profile="hardened", mode="insmod")
        console = CONSOLE.format(case3="not ok 2 smc1_psci_version_not_supported # x0 = 0x10001",
                                 case10="not ok 3 smc0_upper_32_bit_function_id_rejected # 0x10001")
        status, line, entry = self.both(spec, console, [{"name": "smc-leak", "detail": "2"}])
        self.assertEqual((status, line), (1, "verdict: FAIL"))
        self.assertEqual((entry["got"], entry["ok"], entry["problems"]), ("FAIL", True, []))


if __name__ == "__main__":
    unittest.main()
