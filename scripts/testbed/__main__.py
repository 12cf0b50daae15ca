# SPDX-License-Identifier: GPL-2.0
"""python3 -m testbed COMMAND: the testbed's commands (scripts/ on
PYTHONPATH; the Makefile and scripts/boot.sh call them)."""

import argparse
import json
import os
import sys
from pathlib import Path

from . import axes, ktap, matrix, qemu_configs, verdict
from .axes import AXES, CPUS, MODES
from .paths import kunit_dir


def cmd_verdict(args):
    """Judge one boot (scripts/boot.sh, when QEMU is gone): write
    CPU-MODE.verdict.json beside its console log, print the errors, the
    row's judgement and the verdict last; exit 1 unless it is good."""
    spec = {k: getattr(args, k) for k in AXES}
    record = verdict.judge_boot(spec, args.build, args.qemu_status, args.timeout,
                                args.scan_status)
    path = verdict.record_path(args.build, args.cpu, args.mode)
    path.write_text(json.dumps(record, indent=1) + "\n")
    for error in record["errors"]:
        print(f"error: {error}", file=sys.stderr)
    if record["row"]:
        musts = f" failing {','.join(record['must_fail'])}" if record["must_fail"] else ""
        print(f"matrix: row {record['row']} expects {record['expected']}{musts}: "
              + ("; ".join(record["problems"]) if record["problems"] else "as expected"))
    print(f"verdict: {record['verdict']}")
    return 0 if record["ok"] and record["verdict"] not in ("FAIL", "ERROR") else 1


def cmd_validate(args):
    """Check a script's axes (scripts/lib.sh: check_axes): exit 1 with the
    error a user reads unless they are valid together."""
    error = axes.invalid(**{k: getattr(args, k) for k in AXES})
    if error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


def cmd_axis(args):
    """What the shell scripts ask of the axes: a kernel's Debian source
    package, its handlers, the profiles the matrix builds it in (the
    first is the one its style gate, mutants and bisection work in), a
    build's directory name."""
    error = axes.invalid(kernel=args.kernel)
    if error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if args.what == "package":
        print(axes.KERNEL_PACKAGES[args.kernel])
    elif args.what == "handlers":
        print(*axes.handlers_of(args.kernel), sep="\n")
    elif args.what == "profiles":
        print(*matrix.profiles(args.kernel), sep="\n")
    else:
        print(axes.variant_name(args.kernel, args.handler, args.profile))
    return 0


def cmd_hyp_path(args):
    """One path through a kvm_nvhe.o, as JSON."""
    from .a64 import Unfollowable
    from .hyp_path import follow
    try:
        json.dump(follow(args.object, args.path), sys.stdout, indent=1)
    except Unfollowable as error:
        sys.exit(f"hyp-path: cannot follow the path: {error}")
    print()


def cmd_hyp_report(args):
    """make hyp-report: the table, or with --tsv its rows for bench.sh."""
    from .a64 import Unfollowable
    from .hyp_report import rows, table
    for error in filter(None, (axes.invalid(kernel=k) for k in args.kernels)):
        sys.exit(f"error: {error}")
    try:
        found = rows(args.kernels or axes.KERNELS)
    except Unfollowable as error:
        sys.exit(f"hyp-report: cannot follow a path: {error}")
    if not found:
        sys.exit("error: no build with a kvm_nvhe.o in build/; run 'make build' first")
    print(table(found, args.tsv), end="")


def cmd_handler_symbols(args):
    """The handler's symbol names, as an extended regular expression."""
    from .hyp_report import HANDLER_SYMBOLS
    print(HANDLER_SYMBOLS)


def cmd_bench_report(args):
    """scripts/bench.sh's measurements as a table, bench.json and RST."""
    from .bench_report import report
    report(args.dir)


def cmd_cmdline(args):
    print(qemu_configs.cmdline(args.cpu, args.mode))


def cmd_scan_args(args):
    print(" ".join(qemu_configs.MODES[args.mode]["scan"]))


def cmd_machine(args):
    """MACHINE CPU SMP MEMORY TIMEOUT [QEMU ARGUMENTS...] of a CPU and mode,
    for scripts/boot.sh."""
    print(*qemu_configs.machine(args.cpu, args.mode))


def cmd_killers(args):
    """What killed a mutant, from its boot's verdict record."""
    with open(args.record) as f:
        print(verdict.killers(json.load(f)))


def cmd_mutants_record(args):
    """build/mutants.json from scripts/mutants.sh's verdicts: NAME HOST
    KSELFTEST, for each mutant."""
    if len(args.verdicts) % 3:
        sys.exit("mutants-record: give NAME HOST_TESTS KSELFTEST for each mutant")
    triples = [args.verdicts[i:i + 3] for i in range(0, len(args.verdicts), 3)]
    mutants = [dict(zip(("name", "host_tests", "kselftest"), t)) for t in triples]
    with open(args.out, "w") as f:
        json.dump({"kernel": args.kernel, "mutants": mutants}, f, indent=1)


def cmd_parse(args):
    """The KTAP of a console log, parsed (as `kunit.py parse`)."""
    with open(args.log, errors="replace") as f:
        json.dump(ktap.parse_console(kunit_dir(args.kernel), f.read().splitlines()),
                  sys.stdout, indent=1)
    print()


def cmd_build_record(args):
    """build.json of a build just made (scripts/build-kernel.sh)."""
    record = {"kernel": args.kernel, "handler": args.handler, "profile": args.profile,
              "rust_option": args.rust_option == "y", "lto": args.lto == "true",
              "mutant": args.mutant or None, "rust_toolchain": args.rust_toolchain,
              "seconds": args.seconds, "from_cache": None,
              "remake_checked": args.remake_checked == "true"}
    with open(args.out, "w") as f:
        json.dump(record, f, indent=1)


def cmd_from_cache(args):
    """Marks a build.json copied out of the cache with the entry it came
    from: its seconds are the original build's."""
    with open(args.record) as f:
        record = json.load(f)
    record["from_cache"] = args.entry
    with open(args.record, "w") as f:
        json.dump(record, f, indent=1)


def cmd_remake_checked(args):
    """Exits 0 if a build.json's build passed the second make of its hyp
    that must remake nothing (scripts/build-kernel.sh), 1 if that was
    skipped (make qemu). A record older than the field had the check."""
    with open(args.record) as f:
        sys.exit(0 if json.load(f).get("remake_checked", True) else 1)


def cmd_hung(args):
    """Exits 0 if timeout ended a guest that exited STATUS (its console
    log, with timeout's notes, in LOG), else 1: verdict.hung()."""
    sys.exit(0 if verdict.hung(args.status, Path(args.log).read_text(errors="replace")) else 1)


def cmd_cache_entry(args):
    """The build cache's entry a build.json was copied from (its key), or
    nothing for a build made in this run."""
    with open(args.record) as f:
        entry = json.load(f).get("from_cache")
    if entry:
        print(os.path.basename(entry))


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python3 -m testbed", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("verdict", help=cmd_verdict.__doc__.split("\n")[0])
    p.add_argument("--build", required=True, help="the build/ directory's name")
    p.add_argument("--qemu-status", type=int, required=True)
    p.add_argument("--scan-status", required=True, type=lambda v: None if v == "none" else int(v),
                   help="the exception-log scanner's exit status, or none where there was no scan")
    p.add_argument("--timeout", type=int, required=True)
    for axis in AXES:
        p.add_argument(axis)
    p.set_defaults(func=cmd_verdict)
    p = sub.add_parser("validate", help=cmd_validate.__doc__.split("\n")[0])
    for axis in AXES:
        p.add_argument(f"--{axis}")
    p.set_defaults(func=cmd_validate)
    p = sub.add_parser("axis", help="a kernel's package, handlers or profiles, a build's name")
    p.add_argument("what", choices=("package", "handlers", "profiles", "variant"))
    p.add_argument("kernel")
    p.add_argument("handler", nargs="?")
    p.add_argument("profile", nargs="?", default="minimal")
    p.set_defaults(func=cmd_axis)
    p = sub.add_parser("hyp-path", help=cmd_hyp_path.__doc__)
    p.add_argument("object")
    p.add_argument("path", choices=("reject", "accept"))
    p.set_defaults(func=cmd_hyp_path)
    p = sub.add_parser("hyp-report", help=cmd_hyp_report.__doc__.split("\n")[0])
    p.add_argument("--tsv", action="store_true", help="tab-separated rows, no header")
    p.add_argument("kernels", nargs="*", metavar="KERNEL")
    p.set_defaults(func=cmd_hyp_report)
    p = sub.add_parser("handler-symbols", help=cmd_handler_symbols.__doc__)
    p.set_defaults(func=cmd_handler_symbols)
    p = sub.add_parser("bench-report", help=cmd_bench_report.__doc__)
    p.add_argument("dir")
    p.set_defaults(func=cmd_bench_report)
    p = sub.add_parser("cmdline", help="the kernel command line of a CPU and mode")
    p.add_argument("cpu", choices=CPUS)
    p.add_argument("mode", choices=MODES)
    p.set_defaults(func=cmd_cmdline)
    p = sub.add_parser("scan-args", help="scripts/qemu_int_scan.py's options for a mode")
    p.add_argument("mode", choices=MODES)
    p.set_defaults(func=cmd_scan_args)
    p = sub.add_parser("machine",
                       help="QEMU's -M, -cpu, -smp, -m, the boot's timeout and its other arguments")
    p.add_argument("cpu", choices=CPUS)
    p.add_argument("mode", choices=MODES)
    p.set_defaults(func=cmd_machine)
    p = sub.add_parser("killers", help="what killed a mutant, from its CPU-MODE.verdict.json")
    p.add_argument("record")
    p.set_defaults(func=cmd_killers)
    p = sub.add_parser("mutants-record", help="build/mutants.json from the mutants' verdicts")
    p.add_argument("--out", required=True)
    p.add_argument("--kernel", required=True)
    p.add_argument("verdicts", nargs="*", metavar="NAME HOST KSELFTEST")
    p.set_defaults(func=cmd_mutants_record)
    p = sub.add_parser("parse", help="a console log's KTAP, parsed, as JSON")
    p.add_argument("kernel")
    p.add_argument("log")
    p.set_defaults(func=cmd_parse)
    p = sub.add_parser("build-record", help=cmd_build_record.__doc__)
    for opt in ("out", "kernel", "handler", "profile", "rust-option", "lto", "mutant",
                "rust-toolchain"):
        p.add_argument(f"--{opt}", required=opt != "mutant", default="")
    p.add_argument("--remake-checked", choices=("true", "false"), default="true")
    p.add_argument("--seconds", type=int, required=True)
    p.set_defaults(func=cmd_build_record)
    p = sub.add_parser("from-cache", help="mark a build.json taken from the cache")
    p.add_argument("record")
    p.add_argument("entry")
    p.set_defaults(func=cmd_from_cache)
    p = sub.add_parser("remake-checked", help=cmd_remake_checked.__doc__.split("\n")[0])
    p.add_argument("record")
    p.set_defaults(func=cmd_remake_checked)
    p = sub.add_parser("hung", help=cmd_hung.__doc__.split("\n")[0])
    p.add_argument("status", type=int)
    p.add_argument("log")
    p.set_defaults(func=cmd_hung)
    p = sub.add_parser("cache-entry", help=cmd_cache_entry.__doc__.split("\n")[0])
    p.add_argument("record")
    p.set_defaults(func=cmd_cache_entry)
    p = sub.add_parser("check", help="make check: every test, one summary", add_help=False)
    p.set_defaults(func=None)
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["check"]:
        # The runner parses its own options.
        from . import check
        try:
            return check.main(argv[1:])
        except KeyboardInterrupt:
            # Its steps and boots stopped (check.kernel_lanes); as make does.
            print("check: interrupted (SIGINT); no summary", file=sys.stderr)
            return 130
    args = parser.parse_args(argv)
    return args.func(args) or 0


if __name__ == "__main__":
    sys.exit(main())
