# SPDX-License-Identifier: GPL-2.0
"""make check: every test, each a row of one summary, all of it as data.

  python3 -m testbed check [--kernels "6.12 7.3"] [--only-matrix] [--rows PATTERN]

Runs the host tests and gates, then, per kernel, builds every handler and
profile scripts/matrix.tsv names and boots each of its rows with
scripts/boot.sh (testbed/boots.py: in the background, while the next
variant builds), whose verdict and judgement (testbed/verdict.py, the same
make qemu prints) the row takes as it is, with the series' bisection
before the first rust variant; then the kernel's style and build-only
checks. The kernels' steps run side by side, each kernel in a lane of its
own (testbed/lanes.py). Then the benchmark, the series and the
documentation.

Every line any step prints goes to stdout, so `make check > f 2>&1` keeps
all of it: the main lane's steps' as they come; a step of another lane,
a boot and each of the series (run side by side) whole once it is done;
each step's own output is also kept in its log under build/. The results are
written to build/results.json (and build/results.xml, JUnit) as they come
(a row once the rows before it are in); the summary printed last, and
saved in build/check-summary.txt, is made from them.
"""

import argparse
import json
import os
import sys
import threading
import time
import traceback

from . import matrix, procs, results
from .boots import Boots, boot_pool, row_name, say
from .lanes import BESIDE_NICENESS, Lane, stop_all
from .steps import record_step, run_step, run_steps_together, step_log, stream
from .axes import AXES, DEBIAN_HAS_RUST, HANDLER_ORDER, PROFILES, row_id, variant_name
from . import paths
from .paths import SCRIPTS

# The mutants need one tree: the newest, whose C handler the Rust one
# re-implements.
MUTANTS_KERNEL = "7.3"


def build_record(name):
    try:
        return json.loads((paths.BUILD / name / "build.json").read_text())
    except (FileNotFoundError, ValueError):
        return None


def build_variant(lane, kernel, handler, profile):
    """Builds one variant: (built, why it skipped). A build that exits 4
    says the variant cannot exist (Debian's 6.12 has no Rust): its rows
    skip with that reason, and only a row that expects SKIP passes."""
    name = variant_name(kernel, handler, profile)
    log = step_log(f"build-{name}")
    lane.announce(f"build {name}", log)
    start = time.time()
    status, lines = stream(lane, NICE + [str(SCRIPTS / "build-kernel.sh"), kernel, handler,
                                         profile], log)
    skips = [line.strip()[6:] for line in lines if line.startswith("skip: ")]
    if status == 4 and skips:
        lane.step(f"build {name} (skipped)", True, time.time() - start, log, skips[-1])
        return False, skips[-1]
    return record_step(lane, f"build {name}", status, lines, time.time() - start, log), None


def not_built(boots, row, name, skipped):
    """The row of a variant that was not built: SKIP with the build's
    reason, or NOT BUILT."""
    got = "SKIP" if skipped else "NOT BUILT"
    problems = [] if got == row["expect"] else [
        f"expected {row['expect']}, got {got}: " + (skipped or f"build {name} failed")]
    boots.add({**{k: row[k] for k in AXES}, "row": row_id(row), "why": row["why"],
               "expected": row["expect"], "got": got, "ok": not problems, "cases": [],
               "problems": problems, "skip_reason": skipped,
               "log": str(step_log(f"build-{name}"))})
    if problems:
        say(f"check: {row_name(row)}: {'; '.join(problems)}\n")


# The builds and the bisection yield to the boots beside them: a boot's
# timeouts (the module's load, the kselftest's, the KVM selftests') are
# the ones a busy machine can break, as scripts/mutants.sh's builds do.
NICE = ["nice", "-n", "10"]


def kernel_phase(lane, kernel, rows, args, pool):
    """Builds, boots and checks of one kernel, handler by handler, so that
    the shared tree switches as little as it can, and the C handler's rows
    come before the Rust ones compared with them. A variant's rows boot
    in the background (testbed/boots.py) while the next variant builds;
    every row is in before the kernel's checks, style.sh's rebuild among
    them, replace any build/ directory."""
    boots = Boots(pool)
    lane.at_stop(boots)
    try:
        mine = [r for r in rows if r["kernel"] == kernel]
        for profile in PROFILES:
            for handler in HANDLER_ORDER:
                variant = [r for r in mine
                           if r["profile"] == profile and r["handler"] == handler]
                if variant:
                    variant_phase(lane, boots, variant, args)
                    boots.flush(lane)
        boots.collect(lane)
    finally:
        # After an interrupt, no boot starts and the running ones are told
        # to end (kernel_lanes waits for them).
        boots.stop()


def variant_phase(lane, boots, variant, args):
    """One variant: its build, its rows handed to the boots, its checks."""
    kernel, handler, profile = (variant[0][k] for k in ("kernel", "handler", "profile"))
    # The series' bisection builds in the object directory of the kernel's
    # first profile: here, after the C handlers' builds there, the stable
    # steps are a patch or two from what it holds, and the Rust ones build
    # from there before the rust variant does. The series step at the end
    # takes every step from the build cache.
    if profile == matrix.profiles(kernel)[0] and handler == "rust" and not args.only_matrix:
        run_step(lane, f"bisect {kernel} (vmlinux after every patch of the series)",
                 NICE + [str(SCRIPTS / "patches.sh"), kernel, "--bisect-only"],
                 f"bisect-{kernel}")
    name = variant_name(kernel, handler, profile)
    built, skipped = build_variant(lane, kernel, handler, profile)
    lane.build(name, build_record(name) if built else None)
    for row in variant:
        if built:
            boots.submit(row)
        else:
            not_built(boots, row, name, skipped)
    # Debian's kernel comes without its vmlinux: nothing to audit.
    if built and not args.only_matrix and profile != "debian":
        run_step(lane, f"smc-audit {name}",
                 [str(SCRIPTS / "audit.sh"), str(paths.BUILD / name)], f"audit-{name}")
        if handler == "rust":
            run_step(lane, f"hyp symbols {name}",
                     [str(SCRIPTS / "check-hyp-build.sh"), str(paths.BUILD / name)],
                     f"hyp-symbols-{name}")


def check_results(run, rows):
    """build/results.json against its schema and the table: every row
    there, each with the module's cases and the log it names still there
    at the end of the run."""
    start = time.time()
    problems = results.problems(json.loads(results.RESULTS.read_text()),
                                [row_id(r) for r in rows if r["kernel"] in run.data["kernels"]])
    run.step("results.json against its schema and scripts/matrix.tsv", not problems,
             time.time() - start, results.RESULTS, "; ".join(problems))
    if problems:
        print("check: results.json: " + "; ".join(problems), flush=True)


def kernel_checks(lane, kernel):
    """What is checked once per kernel, after its builds and boots."""
    # style.sh brings the kernel's object directory (the first profile the
    # matrix builds it in) to the rust build itself and checks that it did:
    # it follows any step.
    run_step(lane, f"style {kernel} (rustfmt, clippy)", [str(SCRIPTS / "style.sh"), kernel],
             f"style-{kernel}")
    # Under the configuration of a Debian kernel that has Rust: Debian's
    # 6.12 has none, so the Rust hyp under its configuration (make
    # debian-hyp KERNEL=6.12 still builds it) is no Debian user's kernel,
    # and cost two minutes of a cold run (issue 18).
    if DEBIAN_HAS_RUST[kernel]:
        run_step(lane, f"hyp under Debian's {kernel} arm64 config",
                 [str(SCRIPTS / "debian-hyp-build.sh"), kernel], f"debian-hyp-{kernel}")


def kernel_lanes(main_lane, kernels, rows, args):
    """Each kernel's builds, boots and checks: the last kernel's in the
    main lane, each other's in a lane beside it (testbed/lanes.py); then
    the mutants, once no other kernel boots."""
    booted = {kernel: threading.Event() for kernel in kernels}

    def steps_of(kernel, first=()):
        def body(lane):
            try:
                for name, cmd, log_name in first:
                    run_step(lane, name, cmd, log_name)
                kernel_phase(lane, kernel, rows, args, pool)
            finally:
                booted[kernel].set()
            if not args.only_matrix:
                kernel_checks(lane, kernel)
        return body

    # Debian's packages, chroot and module (scripts/debian-image.sh, some
    # 3 minutes from nothing, mostly downloads and one core) are made
    # first in the lane beside the main one, not in the main lane when its
    # debian variant comes: that lane's steps are the longest.
    debian = [("Debian's kernel packages, trixie chroot and module (debian-image.sh)",
               [str(SCRIPTS / "debian-image.sh")], "debian-image")]
    wants_debian = not args.only_matrix and any(
        r["profile"] == "debian" and r["kernel"] in kernels for r in rows)
    pool = boot_pool()
    beside = [Lane(main_lane.run, kernel, BESIDE_NICENESS) for kernel in kernels[:-1]]
    try:
        for i, lane in enumerate(beside):
            lane.start(steps_of(lane.name, debian if i == 0 and wants_debian else ()))
        steps_of(kernels[-1])(main_lane)
        if not args.only_matrix and MUTANTS_KERNEL in kernels:
            # The mutants boot two at a time beside their builds, outside
            # the boots' pool, with timeouts set for that
            # (scripts/mutants.sh), which another kernel's boots would
            # break; its checks (style, Debian's) may run beside them.
            for event in booted.values():
                event.wait()
            run_step(main_lane, f"mutants {MUTANTS_KERNEL} (host tests and kselftest kill each)",
                     [str(SCRIPTS / "mutants.sh"), MUTANTS_KERNEL], f"mutants-{MUTANTS_KERNEL}")
        for lane in beside:
            error = lane.join()
            if error is not None:
                # A defect of the lane's code, not a step that failed: said,
                # and the run goes on to its summary.
                traceback.print_exception(error)
                main_lane.step(f"lane {lane.name}", False, 0,
                               note=f"{type(error).__name__}: {error}")
    except BaseException:
        # An interrupt: every lane's steps and boots are told to end, then
        # waited for (up to 30 s each, then killed).
        pool.shutdown(wait=False, cancel_futures=True)
        stop_all([main_lane] + beside)
        raise
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python3 -m testbed check",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--kernels", default="6.12 7.3")
    parser.add_argument("--only-matrix", action="store_true", help="builds and QEMU rows only")
    parser.add_argument("--rows", metavar="PATTERN",
                        help="only the QEMU rows whose id (7.3-rust-hardened-max-hvhe) "
                             "matches; implies --only-matrix")
    args = parser.parse_args(argv)
    # ^C, a CI's timeout (SIGTERM), SIGHUP: the lanes' steps and boots
    # stop (kernel_lanes) rather than run on in their own process groups.
    procs.catch_interrupts()
    # Every step is timed from the start of this run (make check sets it).
    os.environ.setdefault("PKVM_SMC_START", str(int(time.time())))
    # The scripts' Python is this one (scripts/lib.sh).
    os.environ["PKVM_SMC_PYTHON"] = sys.executable
    rows = matrix.load()
    kernels = list(dict.fromkeys(args.kernels.split()))
    if args.rows:
        rows = matrix.select(rows, args.rows)
        args.only_matrix = True
        # A kernel with no row to boot would be a lane with nothing to do.
        kernels = [k for k in kernels if any(r["kernel"] == k for r in rows)]
    if not [r for r in rows if r["kernel"] in kernels]:
        sys.exit(f"check: no row of {matrix.MATRIX} matches kernels {kernels}"
                 + (f" and --rows {args.rows!r}" if args.rows else ""))
    main_lane = Lane(results.Run(kernels))
    if not args.only_matrix:
        # Before any lane: host-test.sh reads the object directories'
        # hyp.lds, which a build beside it would be writing.
        run_step(main_lane, "host tests", [str(SCRIPTS / "host-test.sh")], "host-tests")
        run_step(main_lane, "shellcheck", [str(SCRIPTS / "shellcheck.sh")], "shellcheck")
        run_step(main_lane, "hyp-install (round trip, refusal)",
                 [str(SCRIPTS / "test-hyp-install.sh")], "hyp-install")
    kernel_lanes(main_lane, kernels, rows, args)
    if not args.only_matrix:
        # The host tests ran before any tree was there: the one that needs
        # the trees' kunit_parser runs now.
        run_step(main_lane, "make qemu and make check agree on a row (test_verdict.SameVerdict)",
                 ["env", "PKVM_SMC_TREES=required", sys.executable, "-m", "unittest",
                  "discover", "-v", "-s", str(SCRIPTS / "tests"), "-p", "test_verdict.py",
                  "-k", "SameVerdict"], "same-verdict")
        run_step(main_lane, "bench (1 repetition, each profile the matrix builds)",
                 [str(SCRIPTS / "bench.sh"), "1"], "bench")
        run_step(main_lane, "hyp-report (static path lengths)", [str(SCRIPTS / "hyp-report.sh")],
                 "hyp-report")
        # The series last: its cover letter quotes this run's rows, mutants
        # and benchmark, which must all be there by then. Each kernel's has
        # its own trees, lock and build/patches/KERNEL/, and is mostly one
        # git process (the baseline's commit, git am): side by side.
        run_steps_together(main_lane, [
            (f"patches {kernel} (checkpatch, mail round trip, bisect on/off)",
             [str(SCRIPTS / "patches.sh"), kernel, "--bisect"], f"patches-{kernel}")
            for kernel in kernels])
        check_results(main_lane, rows)
        (paths.BUILD / "check-summary.txt").write_text(results.summary(main_lane.data))
        run_step(main_lane, "docs (sphinx -W, results page from results.json)",
                 [str(SCRIPTS / "docs.sh")], "docs")
    text = results.summary(main_lane.data)
    (paths.BUILD / "check-summary.txt").write_text(text)
    print()
    print(text, end="")
    return 0 if main_lane.data["failed"] == 0 else 1
