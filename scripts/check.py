#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""make check: every test, each a row of one summary, all of it as data.

  check.py [--kernels "6.12 7.3"] [--only-matrix] [--rows PATTERN]

Runs the host tests and gates, then, per kernel, builds every handler and
profile scripts/matrix.tsv names, boots each of its rows in QEMU and judges
it from its parsed KTAP (scripts/ktap.py) against the verdict the table
gives, then the kernel's style, series and build-only checks; then the
benchmark and the documentation.

Every line any step prints goes to stdout, in order, so `make check > f
2>&1` keeps all of it; each step's own output is also kept in its log under
build/. The results are written to build/results.json as they come (rows:
one per matrix row, with every case; steps: everything else), and the
summary printed last, and saved in build/check-summary.txt, is made from it.
"""

import argparse
import csv
import datetime
import fnmatch
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build"
SCRIPTS = ROOT / "scripts"
MATRIX = SCRIPTS / "matrix.tsv"
RESULTS = BUILD / "results.json"
HANDLER_ORDER = ["stock", "backport", "rust"]
# The mutants need one tree: the newest, whose C handler the Rust one
# re-implements.
MUTANTS_KERNEL = "7.3"
PROFILE_ORDER = ["minimal", "hardened", "gcc"]
# The modes that load the module with a plain insmod, with its default
# parameters, and the cases those leave out (destructive=0).
PLAIN_INSMOD_MODES = {"insmod", "pkvm-fail"}
DEFAULT_OFF_CASES = {"smc_nonzero_imm_destructive_psci_harmless"}


def load_matrix(path=MATRIX):
    """The rows of the table, each a dict keyed by its header."""
    lines = [line for line in path.read_text().splitlines()
             if line and not line.startswith("#")]
    rows = list(csv.DictReader(lines, delimiter="\t"))
    for row in rows:
        # The table's "cases" column: what a FAIL row must fail.
        cases = row.pop("cases")
        row["must_fail"] = [] if cases == "-" else cases.split(",")
        if row["expect"] not in ("PASS", "SKIP", "FAIL"):
            sys.exit(f"check: {path}: bad expect {row['expect']!r}")
    return rows


def row_id(row):
    """The row as one word, for --rows: 7.3-rust-hardened-max-hvhe."""
    return "-".join(row[k] for k in ("kernel", "handler", "profile", "cpu", "mode"))


def select_rows(rows, pattern):
    """The rows whose id matches the glob PATTERN; one without a wildcard
    matches as a part of the id (rust: every rust row)."""
    if not any(c in pattern for c in "*?["):
        pattern = f"*{pattern}*"
    return [r for r in rows if fnmatch.fnmatchcase(row_id(r), pattern)]


def reproduce(row):
    """The one command that boots this row as make check does."""
    return (f"make qemu KERNEL={row['kernel']} HANDLER={row['handler']} "
            f"PROFILE={row['profile']} CPU={row['cpu']} MODE={row['mode']}")


def variant_name(kernel, handler, profile):
    return f"{kernel}-{handler}" + ("" if profile == "minimal" else f"-{profile}")


class Run:
    """The results of this run, kept in build/results.json as they come."""

    def __init__(self):
        self.start = time.time()
        self.data = {"started": datetime.datetime.now(datetime.timezone.utc)
                     .isoformat(timespec="seconds"),
                     "rows": [], "steps": []}

    def save(self):
        self.data["duration_s"] = round(time.time() - self.start)
        self.data["passed"] = sum(r["ok"] for r in self.all())
        self.data["failed"] = sum(not r["ok"] for r in self.all())
        BUILD.mkdir(exist_ok=True)
        tmp = RESULTS.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data, indent=1) + "\n")
        tmp.replace(RESULTS)

    def all(self):
        return self.data["steps"] + self.data["rows"]

    def step(self, name, got, seconds, log=None, note=""):
        entry = {"name": name, "expected": "PASS", "got": got,
                 "ok": got == "PASS", "seconds": round(seconds),
                 "log": str(log) if log else None, "note": note}
        self.data["steps"].append(entry)
        self.save()
        if not entry["ok"]:
            print(f"check: {name}: FAILED{': ' + note if note else ''}"
                  f"{' (log: ' + str(log) + ')' if log else ''}", flush=True)
        return entry["ok"]

    def row(self, entry):
        self.data["rows"].append(entry)
        self.save()
        if not entry["ok"]:
            print(f"check: {row_name(entry)}: {'; '.join(entry['problems'])}\n"
                  f"check:   reproduce: {reproduce(entry)}", flush=True)


def stream(cmd, log, env=None):
    """Runs cmd with its stdout and stderr to our stdout and to log."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as f:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True,
                                errors="replace", env=env)
        lines = []
        for line in proc.stdout:
            sys.stdout.write(line)
            sys.stdout.flush()
            f.write(line)
            lines.append(line)
        return proc.wait(), lines


def run_step(run, name, cmd, log_name):
    """One row of the summary: PASS if cmd exits 0."""
    log = BUILD / "check" / f"{log_name}.log"
    start = time.time()
    status, lines = stream(cmd, log)
    errors = [l.strip()[7:] for l in lines if l.startswith("error: ")]
    return run.step(name, "PASS" if status == 0 else "FAIL",
                    time.time() - start, log, errors[-1] if errors else "")


def row_name(row):
    return (f"qemu {row['kernel']} {row['handler']} {row['profile']} "
            f"{row['cpu']} {row['mode']}")


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


def selftest_statuses(parsed):
    return {t["name"]: t["status"] for t in parsed.get("tests", [])}


def guest_section(log, name):
    """Lines the guest printed between `pkvm-smc-imm: NAME begin/end`."""
    try:
        text = log.read_text(errors="replace").replace("\r", "")
    except FileNotFoundError:
        return []
    m = re.search(rf"^pkvm-smc-imm: {name} begin\n(.*?)^pkvm-smc-imm: {name} end$",
                  text, re.S | re.M)
    return m.group(1).splitlines() if m else []


def exception_log_check(error):
    """The name of the check of QEMU's exception log (scripts/qemu_int_scan.py)
    that a boot error reports, or None for any other error."""
    m = re.match(r"qemu-int: ([a-z0-9-]+): ", error)
    return m.group(1) if m else None


def outcome(verdict, boot_errors):
    """The row's verdict: a failed exception-log check fails it whatever
    the KTAP says; any other boot error leaves no verdict (ERROR) unless
    the KTAP failed."""
    if any(exception_log_check(e) for e in boot_errors):
        return "FAIL"
    if boot_errors and verdict != "FAIL":
        return "ERROR"
    return verdict


def judge(row, parsed, boot_errors, reference):
    """What is wrong with this row's outcome, if anything. A FAIL row names
    the module's cases and the exception-log checks that must fail."""
    problems = []
    got = outcome(parsed["verdict"], boot_errors)
    failed_checks = {exception_log_check(e) for e in boot_errors} - {None}
    if got != row["expect"]:
        problems.append(f"expected {row['expect']}, got {got}")
    problems += [f"boot: {e}" for e in boot_errors
                 if exception_log_check(e) not in row["must_fail"]]
    problems += [f"ktap: {e}" for e in parsed.get("errors", [])]
    cases = module_cases(parsed)
    if not cases and not parsed.get("errors"):
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
        failed = {c["name"] for c in cases if c["status"] != "SUCCESS"
                  and c["status"] != "SKIPPED"} | failed_checks
        if failed != set(row["must_fail"]):
            problems.append("failed cases " + (", ".join(sorted(failed)) or "none")
                            + ", expected " + ", ".join(row["must_fail"]))
    if row["profile"] == "hardened":
        problems += compare_with_reference(row, parsed, reference)
    return problems


def compare_with_reference(row, parsed, reference):
    """Hotplug must pass; what pKVM's FF-A proxy answered must be what it
    answered the C handler of the same tree and profile."""
    problems = []
    hotplug = [s for n, s in selftest_statuses(parsed).items() if "cpu-hotplug" in n]
    if hotplug != ["SUCCESS"]:
        problems.append(f"cpu-hotplug selftest: {hotplug or 'not run'}")
    if reference is None or row["handler"] != "rust":
        return problems
    if row["ffa"] != reference["ffa"]:
        problems.append("pKVM's FF-A proxy answered otherwise than behind the C handler: "
                        + "; ".join(row["ffa"]))
    return problems


def boot_row(run, row, reference):
    name = variant_name(row["kernel"], row["handler"], row["profile"])
    log = BUILD / name / f"{row['cpu']}-{row['mode']}.log"
    # What the row keeps: boot.sh's output, the console included. The
    # console log beside the build goes when a later step of this run
    # takes the variant's build again (from the cache or rebuilt).
    kept_log = BUILD / "check" / f"boot-{name}-{row['cpu']}-{row['mode']}.log"
    start = time.time()
    status, lines = stream([str(SCRIPTS / "boot.sh"), row["kernel"], row["handler"],
                            row["profile"], row["cpu"], row["mode"]], kept_log)
    boot_seconds = time.time() - start
    boot_errors = [l.strip()[7:] for l in lines if l.startswith("error: ")]
    # boot.sh exits 1 for a FAIL verdict, which it prints last; any other
    # failure of its own must not pass for a verdict.
    said_fail = any(l.strip() == "verdict: FAIL" for l in lines)
    if status != 0 and not boot_errors and not said_fail:
        boot_errors.append(f"boot.sh exited {status} without saying why")
    parsed = parse_ktap(row["kernel"], log)
    entry = {k: row[k] for k in ("kernel", "handler", "profile", "cpu", "mode", "why")}
    entry.update(expected=row["expect"], got=parsed["verdict"],
                 cases=module_cases(parsed), selftests=selftest_statuses(parsed),
                 ffa=guest_section(log, "ffa"), boot_s=round(boot_seconds),
                 build_s=build_seconds(name), log=str(kept_log))
    entry["got"] = outcome(parsed["verdict"], boot_errors)
    entry["problems"] = judge({**row, **entry}, parsed, boot_errors, reference)
    entry["ok"] = not entry["problems"]
    run.row(entry)
    return entry


def parse_ktap(kernel, log):
    kunit = Path(os.environ.get("CACHE_DIR", Path.home() / ".cache/pkvm-smc-imm")) \
        / "trees" / kernel / "tools/testing/kunit"
    proc = subprocess.run([sys.executable, str(SCRIPTS / "ktap.py"), str(kunit), str(log)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        return {"verdict": "ERROR", "errors": [proc.stderr.strip()[-300:]], "tests": []}
    return json.loads(proc.stdout)


def build_seconds(name):
    try:
        return json.loads((BUILD / name / "build.json").read_text())["seconds"]
    except (FileNotFoundError, KeyError, ValueError):
        return None


def kernel_phase(run, kernel, rows, args):
    """Builds, boots and checks of one kernel, handler by handler, so that
    the shared tree switches as little as it can."""
    mine = [r for r in rows if r["kernel"] == kernel]
    for profile in PROFILE_ORDER:
        reference = None
        for handler in HANDLER_ORDER:
            variant = [r for r in mine if r["profile"] == profile and r["handler"] == handler]
            if not variant:
                continue
            name = variant_name(kernel, handler, profile)
            if not run_step(run, f"build {name}",
                            [str(SCRIPTS / "build-kernel.sh"), kernel, handler, profile],
                            f"build-{name}"):
                for row in variant:
                    run.row({**{k: row[k] for k in ("kernel", "handler", "profile",
                                                    "cpu", "mode", "why")},
                             "expected": row["expect"], "got": "NOT BUILT", "ok": False,
                             "problems": [f"build {name} failed"], "cases": []})
                continue
            for row in variant:
                entry = boot_row(run, row, reference)
                # The rust rows' reference: the C handler of the same tree
                # and profile that passes, the backport where there is one.
                if handler != "rust" and row["mode"] == "hvhe" and row["cpu"] == "max":
                    reference = entry
            if not args.only_matrix:
                run_step(run, f"smc-audit {name}", [str(SCRIPTS / "audit.sh"),
                                                    str(BUILD / name)], f"audit-{name}")
                if handler == "rust":
                    run_step(run, f"hyp symbols {name}",
                             [str(SCRIPTS / "check-hyp-build.sh"), str(BUILD / name)],
                             f"hyp-symbols-{name}")


def check_results(run, rows):
    """build/results.json against the table: every row there, in order,
    each with the module's cases and the log it names still there at the
    end of the run."""
    start = time.time()
    data = json.loads(RESULTS.read_text())
    want = [(r["kernel"], r["handler"], r["profile"], r["cpu"], r["mode"]) for r in rows
            if r["kernel"] in data.get("kernels", [r["kernel"]])]
    have = [(r["kernel"], r["handler"], r["profile"], r["cpu"], r["mode"]) for r in data["rows"]]
    problems = []
    if sorted(want) != sorted(have):
        problems.append(f"rows {sorted(set(want) ^ set(have))} differ from the table")
    for row in data["rows"]:
        if row["got"] not in ("NOT BUILT", "ERROR") and not row.get("cases"):
            problems.append(f"{row_name(row)} holds no case")
        if not row.get("log") or not Path(row["log"]).is_file():
            problems.append(f"{row_name(row)} names a log that is gone: {row.get('log')}")
    run.step("results.json against scripts/matrix.tsv", "FAIL" if problems else "PASS",
             time.time() - start, RESULTS, "; ".join(problems))


def kernel_checks(run, kernel):
    """What is checked once per kernel, after its builds and boots."""
    # The style gate works in the minimal object directory, which builds
    # taken from the cache leave as the last real build left it. Leave it
    # at another handler's build first: the state in which clippy once
    # failed on correct code (bindgen ran with the Rust option off).
    # style.sh does the same on every tree, so one tree, the mutants' one,
    # tests it (each costs a stock and a rust rebuild, a minute and a half).
    if kernel == MUTANTS_KERNEL:
        run_step(run, f"object directory at {kernel}-stock before style",
                 [str(SCRIPTS / "build-kernel.sh"), "--rebuild", kernel, "stock"],
                 f"objdir-stock-{kernel}")
    run_step(run, f"style {kernel} (rustfmt, clippy)", [str(SCRIPTS / "style.sh"), kernel],
             f"style-{kernel}")
    run_step(run, f"patches {kernel} (checkpatch, mail round trip, bisect on/off)",
             [str(SCRIPTS / "patches.sh"), kernel, "--bisect"], f"patches-{kernel}")
    run_step(run, f"hyp under Debian's {kernel} arm64 config",
             [str(SCRIPTS / "debian-hyp-build.sh"), kernel], f"debian-hyp-{kernel}")
    if kernel == MUTANTS_KERNEL:
        run_step(run, f"mutants {kernel} (host tests and kselftest kill each)",
                 [str(SCRIPTS / "mutants.sh"), kernel], f"mutants-{kernel}")


def summary(data):
    lines = [f"{'check':<58} {'expected':<8} {'got':<10} {'secs':>5}"]
    for step in data["steps"]:
        lines.append(f"{step['name']:<58} {step['expected']:<8} {step['got']:<10} "
                     f"{step['seconds']:>5}")
    for row in data["rows"]:
        secs = (row.get("boot_s") or 0)
        lines.append(f"{row_name(row):<58} {row['expected']:<8} {row['got']:<10} {secs:>5}")
    lines.append("")
    lines.append(f"{data['passed']} passed, {data['failed']} failed, "
                 f"in {data['duration_s'] // 60} min {data['duration_s'] % 60} s")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kernels", default="6.12 7.3")
    parser.add_argument("--only-matrix", action="store_true",
                        help="builds and QEMU rows only")
    parser.add_argument("--rows", metavar="PATTERN",
                        help="only the QEMU rows whose id (7.3-rust-hardened-max-hvhe) "
                             "matches; implies --only-matrix")
    args = parser.parse_args()
    # Every step is timed from the start of this run (make check sets it).
    os.environ.setdefault("PKVM_SMC_START", str(int(time.time())))
    rows = load_matrix()
    if args.rows:
        rows = select_rows(rows, args.rows)
        args.only_matrix = True
        if not rows:
            sys.exit(f"check: no row of {MATRIX} matches --rows {args.rows!r}")
    run = Run()
    kernels = args.kernels.split()
    run.data["kernels"] = kernels
    if not args.only_matrix:
        run_step(run, "host tests", [str(SCRIPTS / "host-test.sh")], "host-tests")
        run_step(run, "shellcheck", [str(SCRIPTS / "shellcheck.sh")], "shellcheck")
        run_step(run, "hyp-install (round trip, refusal)",
                 [str(SCRIPTS / "test-hyp-install.sh")], "hyp-install")
    for kernel in kernels:
        kernel_phase(run, kernel, rows, args)
        if not args.only_matrix:
            kernel_checks(run, kernel)
    if not args.only_matrix:
        run_step(run, "bench (1 repetition, both profiles)", [str(SCRIPTS / "bench.sh"), "1"],
                 "bench")
        run_step(run, "hyp-report (static path lengths)", [str(SCRIPTS / "hyp-report.sh")],
                 "hyp-report")
        check_results(run, rows)
        (BUILD / "check-summary.txt").write_text(summary(run.data))
        run_step(run, "docs (sphinx -W, results page from results.json)",
                 [str(SCRIPTS / "docs.sh")], "docs")
    text = summary(run.data)
    (BUILD / "check-summary.txt").write_text(text)
    print()
    print(text, end="")
    sys.exit(0 if run.data["failed"] == 0 else 1)


if __name__ == "__main__":
    main()
