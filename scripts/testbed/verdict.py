# SPDX-License-Identifier: GPL-2.0
"""One boot's verdict, and its judgement against its row of the matrix.

judge_boot() is the one function that decides: scripts/boot.sh runs it
when QEMU is gone (so make qemu, make boot, and through boot.sh make check,
the mutants and the series all get it), writes what it returns beside the
console log as CPU-MODE.verdict.json and prints it. Nothing else reads the
console log for a verdict (scripts/debian-boot.sh asks hung()).

The verdict is PASS, SKIP or FAIL from the KTAP as the tree's kunit_parser
reads it, FAIL whatever the KTAP says if a check of QEMU's exception log
failed, and ERROR if the boot itself went wrong (QEMU failed, the guest
panicked or hung, the mode did not take effect, the test never finished)
without a failed test to show for it. A row of scripts/matrix.tsv is then
judged: the verdict it expects, what a FAIL row must fail and nothing
else, no skipped case where everything can run, and on the hardened rows
the CPU-hotplug selftest and pKVM's FF-A answers against the C handler.
"""

import json
import re
from pathlib import Path

from . import ktap, matrix, paths
from .axes import AXES, reference_handler, row_id, variant_name
from .qemu_configs import (DEFAULT_OFF_CASES, KVM_MODES, MODES, NO_PKVM_MODES,
                            PLAIN_INSMOD_MODES)

UNFINISHED = "the test never finished (the VM powered off under it?)"
PANICS = ("Kernel panic", "HYP panic", "hyp panic", "Internal error:")
TEST_EXIT = re.compile(r"^pkvm-smc-imm: (selftest|insmod) exit=([0-9]+)$", re.M)
LOG_CHECK = re.compile(r"qemu-int: ([a-z0-9-]+): ")
OK_STATUSES = ("SUCCESS", "SKIPPED")


def hung(qemu_status, text):
    """Whether timeout ended the guest (lib.sh's run_guest): 124, or 137 and its KILL note."""
    return qemu_status == 124 or (qemu_status == 137 and "sending signal KILL" in text)


def console_error(text, mode, qemu_status, timeout):
    """The first thing wrong with the boot itself, or None."""
    timed_out = hung(qemu_status, text)
    if qemu_status != 0 and not timed_out:
        # The guest powers off (PSCI SYSTEM_OFF) or, on a panic, reboots,
        # which -no-reboot turns into an exit: QEMU exits 0 either way.
        said = re.search(r"^qemu-system-aarch64: .*$", text, re.M)
        last = text.rstrip("\n").rsplit("\n", 1)[-1]
        return (f"QEMU exited with status {qemu_status} before the guest powered off: "
                f"{said.group(0) if said else last}")
    if any(p in text for p in PANICS):
        return "the guest panicked or oopsed"
    if timed_out:
        return f"the guest hung: no power-off within {timeout}s"
    # A mode whose command line did not take effect would pass or skip
    # under the wrong name.
    if not re.search(MODES[mode]["proof"], text):
        return MODES[mode]["missing"]
    finished = MODES[mode].get("finished")
    if finished:
        done = re.search(finished, text, re.M)
    else:
        done = TEST_EXIT.search(text)
    if not done:
        return MODES[mode].get("unfinished", UNFINISHED)
    return None


def scan_errors(scan_json, scan_status, scan_text):
    """The exception-log checks that failed, as `qemu-int: NAME: detail`,
    or the scanner's own failure; none where the mode has no scan (None)."""
    if scan_status is None:
        return []
    if scan_status in (0, 1) and scan_json.is_file():
        failed = json.loads(scan_json.read_text())["failed"]
        return [f"qemu-int: {f['name']}: {f['detail']}" for f in failed]
    return [f"scripts/qemu_int_scan.py failed (exit {scan_status}): {scan_text}"]


def log_check(error):
    """The name of the exception-log check an error reports, or None."""
    return m.group(1) if (m := LOG_CHECK.match(error)) else None


def outcome(ktap_verdict, errors):
    """A failed exception-log check fails the boot whatever the KTAP says;
    any other error leaves no verdict (ERROR) unless the KTAP failed."""
    if any(log_check(e) for e in errors):
        return "FAIL"
    if errors and ktap_verdict != "FAIL":
        return "ERROR"
    return ktap_verdict


def module_cases(parsed):
    """The module's cases, from a parsed selftest or insmod run."""
    for test in parsed.get("tests", []):
        if "pkvm_smc_imm" in test["name"] or test["name"].startswith("smc_imm_test"):
            cases = test.get("cases", [])
            # The selftest script reports one test whose subtests are the
            # module's cases; a plain insmod reports the cases themselves.
            if len(cases) == 1 and cases[0].get("cases"):
                return cases[0]["cases"]
            return cases
    return []


def kvm_selftests(parsed):
    """The KVM selftests a kvm row ran, as cases: each test's status and,
    where it printed KTAP, its own cases' (smc_imm_guest's)."""
    return [{"name": t["name"].rsplit(": ", 1)[-1], "status": t["status"],
             "diagnostic": "", "cases": t.get("cases", [])} for t in parsed.get("tests", [])]


def common_problems(row, record):
    """What any row checks first: the verdict it expects, and every boot
    error or KTAP error, but an exception-log check a FAIL row must fail."""
    problems = []
    if record["verdict"] != row["expect"]:
        problems.append(f"expected {row['expect']}, got {record['verdict']}")
    problems += [f"boot: {e}" for e in record["errors"] if log_check(e) not in row["must_fail"]]
    problems += [f"ktap: {e}" for e in record["ktap_errors"]]
    return problems


def judge_kvm(row, record, reference):
    """A KVM-selftest row: smc_imm_guest passes, and every test that
    passed behind the C handler of the same tree passes behind the Rust
    one (the differential)."""
    problems = common_problems(row, record)
    status = {c["name"]: c["status"] for c in record["cases"]}
    if status.get("smc_imm_guest") != "SUCCESS":
        problems.append(f"smc_imm_guest: {status.get('smc_imm_guest', 'not run')}")
    if row["handler"] == "rust":
        if reference is None:
            problems.append("no record of the C handler's row to compare with: "
                            "boot it first (make qemu HANDLER=stock or backport)")
        else:
            lost = [c["name"] for c in reference["cases"] if c["status"] == "SUCCESS"
                    and status.get(c["name"]) != "SUCCESS"]
            if lost:
                problems.append("passed behind the C handler, not behind the Rust one: "
                                + ", ".join(f"{n} ({status.get(n, 'not run')})" for n in lost))
    return problems


def guest_section(text, name):
    """Lines the guest printed between `pkvm-smc-imm: NAME begin/end`."""
    m = re.search(rf"^pkvm-smc-imm: {name} begin\n(.*?)^pkvm-smc-imm: {name} end$",
                  text, re.S | re.M)
    return m.group(1).splitlines() if m else []


def judge(row, record, reference):
    """What is wrong with a boot's record against its row, if anything."""
    if row["mode"] in KVM_MODES:
        return judge_kvm(row, record, reference)
    problems = common_problems(row, record)
    checks_failed = set(record["log_checks_failed"])
    cases = record["cases"]
    if not cases and not record["ktap_errors"]:
        problems.append("the module reported no case")
    if row["expect"] == "PASS":
        # A case skipped where everything can run would hide a handler that
        # broke a premise of the later cases. A plain insmod loads the
        # module as a user would, with its defaults: the destructive case
        # is off.
        default_off = DEFAULT_OFF_CASES if row["mode"] in PLAIN_INSMOD_MODES else set()
        skipped = [c["name"] for c in cases if c["status"] == "SKIPPED"
                   and c["name"] not in default_off]
        if skipped:
            problems.append("skipped: " + ", ".join(skipped))
    if row["expect"] == "FAIL":
        failed = {c["name"] for c in cases if c["status"] not in OK_STATUSES} | checks_failed
        if failed != set(row["must_fail"]):
            problems.append("failed cases " + (", ".join(sorted(failed)) or "none")
                            + ", expected " + ", ".join(row["must_fail"]))
    if row["profile"] == "hardened":
        problems += compare_with_reference(row, record, reference)
    elif any(is_hotplug(n) for n in record["selftests"]):
        # Debian's kernel has CPU hotplug too: where the selftest ran, it
        # must pass.
        problems += [f"cpu-hotplug selftest: {s}" for n, s in record["selftests"].items()
                     if is_hotplug(n) and s != "SUCCESS"]
    return problems


def compare_with_reference(row, record, reference):
    """CPU hotplug must pass where the selftest runner ran (a plain insmod
    runs no selftest); what pKVM's FF-A proxy answered must be what it
    answered behind the C handler of the same tree and profile, where pKVM
    runs."""
    problems = []
    hotplug = [s for n, s in record["selftests"].items() if is_hotplug(n)]
    if row["mode"] not in PLAIN_INSMOD_MODES and hotplug != ["SUCCESS"]:
        problems.append(f"cpu-hotplug selftest: {hotplug or 'not run'}")
    if reference is not None and row["handler"] == "rust" and \
            row["mode"] not in NO_PKVM_MODES and record["ffa"] != reference["ffa"]:
        problems.append("pKVM's FF-A proxy answered otherwise than behind the C handler: "
                        + "; ".join(record["ffa"]))
    return problems


def record_path(build_name, cpu, mode):
    return paths.BUILD / build_name / f"{cpu}-{mode}.verdict.json"


def reference_row(spec):
    """The row judge() compares a Rust row of a KVM-selftest mode, or a
    hardened one where pKVM runs, with: the C handler of the same tree and
    profile, CPU max, hVHE or the same KVM-selftest mode; else None."""
    if spec["handler"] != "rust" or spec["mode"] not in KVM_MODES and \
            (spec["profile"] != "hardened" or spec["mode"] in NO_PKVM_MODES):
        return None
    return {"kernel": spec["kernel"], "handler": reference_handler(spec["kernel"]),
            "profile": spec["profile"], "cpu": "max",
            "mode": spec["mode"] if spec["mode"] in KVM_MODES else "hvhe"}


def reference_record(spec):
    """The record of spec's reference_row, if it has been booted."""
    ref = reference_row(spec)
    path = ref and record_path(variant_name(ref["kernel"], ref["handler"], ref["profile"]),
                               ref["cpu"], ref["mode"])
    return json.loads(path.read_text()) if path and path.is_file() else None


def is_hotplug(name):
    return "cpu-hotplug" in name


def row_ktap_verdict(parsed):
    """The verdict of the tests a row is about: all but the tree's
    cpu-hotplug selftest, which judge() judges on its own wherever it ran,
    so that it cannot make a row whose module skipped everything pass."""
    own = [t for t in parsed["tests"] if not is_hotplug(t["name"])]
    if parsed["errors"] or not own:
        # A broken run, the benchmark's (no KTAP) or one that ran no test.
        return parsed["verdict"]
    return ktap.verdict(own)


def judge_boot(spec, build_name, qemu_status, timeout, scan_status):
    """The verdict of the boot of build/BUILD_NAME on spec's CPU and mode,
    judged against spec's row of the matrix when build_name is the row's
    own build (a mutant's or the series' build is judged by its caller)."""
    out = paths.BUILD / build_name
    log = out / f"{spec['cpu']}-{spec['mode']}.log"
    text = log.read_text(errors="replace").replace("\r", "") if log.is_file() else ""
    scan = f"{out}/{spec['cpu']}-{spec['mode']}.qemu-int"
    scan_txt = Path(f"{scan}.txt")
    scan_text = scan_txt.read_text().strip().rsplit("\n", 1)[-1] if scan_txt.is_file() else ""
    errors = scan_errors(Path(f"{scan}.json"), scan_status, scan_text)
    error = console_error(text, spec["mode"], qemu_status, timeout)
    if error:
        errors.append(error)
    bench = []
    if MODES[spec["mode"]].get("guest") == "bench":
        # No KTAP: one `bench:` line per load, which console_error saw end.
        bench = [line for line in guest_section(text, "bench") if line.startswith("bench: ")]
        if not bench and not errors:
            errors.append("the benchmark printed no measurement (every load failed?)")
        parsed = {"verdict": "PASS", "errors": [], "tests": [], "failed": [],
                  "exit_status": None}
    else:
        parsed = ktap.parse_console(paths.kunit_dir(spec["kernel"]), text.splitlines())
    ktap_verdict = row_ktap_verdict(parsed)
    record = {k: spec[k] for k in AXES}
    record.update(
        build=build_name, log=str(log),
        verdict=outcome(ktap_verdict, errors), ktap_verdict=ktap_verdict,
        errors=errors, ktap_errors=parsed["errors"],
        log_checks_failed=[c for c in map(log_check, errors) if c],
        cases=(kvm_selftests(parsed) if spec["mode"] in KVM_MODES
               else module_cases(parsed)), failed=parsed["failed"],
        selftests={t["name"]: t["status"] for t in parsed["tests"]},
        ffa=guest_section(text, "ffa"), guest_exit=parsed["exit_status"], bench=bench)
    row = matrix.find(spec) if build_name == variant_name(
        spec["kernel"], spec["handler"], spec["profile"]) else None
    record["row"] = row_id(spec) if row else None
    record["expected"] = row["expect"] if row else None
    record["must_fail"] = row["must_fail"] if row else []
    record["why"] = row["why"] if row else None
    record["problems"] = judge(row, record, reference_record(spec)) if row else []
    record["ok"] = (not record["problems"]) if row else record["verdict"] in ("PASS", "SKIP")
    return record


def killers(record):
    """What killed a mutant: the module's cases that failed, the selftest
    script's watch of a load that never returned, the exception-log checks.
    A mutant that only a hang or a dead VM gives away is not killed."""
    # The selftest's own name fails with any of its cases: not a killer.
    named = [f for f in record["failed"] if "selftests:" not in f] + record["log_checks_failed"]
    if record["verdict"] == "PASS" and not record["errors"]:
        return "survived"
    if not named:
        why = [f"boot: {e}" for e in record["errors"]] + record["ktap_errors"]
        return "survived: no named check, only " + "; ".join(why or [record["verdict"]])
    return "killed: " + ", ".join(dict.fromkeys(named))
