# SPDX-License-Identifier: GPL-2.0
"""Turn scripts/bench.sh's measurements into a table, JSON and RST.

  python3 -m testbed bench-report DIR

Reads, for each build NAME (scripts/testbed/axes.py's variant_name: kernel-handler,
plus -gcc or -hardened for those profiles), DIR/raw-NAME.txt (one "bench: key=value
..." line per repetition) and DIR/build-NAME.json (the build's kernel,
handler, profile and whether the Rust objects took part in the hyp's LTO
link), and DIR/static.tsv (scripts/hyp-report.sh --tsv). Writes
DIR/bench.json and DIR/performance.rst (the body of the results page's
Performance section, see scripts/results-page.py; bench_rst.py) and prints
the table.

Under -icount shift=0 QEMU retires one instruction per virtual
nanosecond, so counter ticks convert to guest instructions; a round trip
covers the host's smc, the trap, the hyp's handling and the eret (and,
on the accept path, QEMU's emulated EL3).

Rust is compared with the C handler of the same tree and profile. Ratios
are of medians: an interrupt that lands in a batch inflates that batch
alone, which moves a mean but not a median.
"""

import json
import statistics
import sys
from pathlib import Path

from .axes import CONFIG_PROFILES, HANDLER_ORDER
from .bench_rst import fmt, rst, spread

PATHS = ("accept", "reject")
# Static targets are in instructions or bytes more than the C handler of
# the same tree and profile; None: reported, no target.
TARGETS = {
    # No LTO: the Rust handler stays a call away from handle_trap(). Its
    # size is reported, not judged: a function of its own costs a prologue
    # and an epilogue that no budget of ours would make less arbitrary.
    "minimal": {"round_trip_ratio": 1.00, "reject_static_extra_insns": 0,
                "accept_static_extra_insns": 0, "text_extra_bytes": None},
    # The same without LTO, the C side compiled by GCC.
    "gcc": {"round_trip_ratio": 1.00, "reject_static_extra_insns": 0,
            "accept_static_extra_insns": 0, "text_extra_bytes": None},
    # NVHE_RUST_LTO links the Rust objects into hyp-main.c's module, where
    # handle_host_smc is inlined into handle_trap() as the C one is.
    "hardened": {"round_trip_ratio": 1.00, "reject_static_extra_insns": 0,
                 "accept_static_extra_insns": None, "text_extra_bytes": 0},
}
MEDIANS = ("ratios of medians: an interrupt inflates the batch it lands in, "
           "which moves a mean but not a median")

# Why a static target can be missed, by whether the Rust objects were in
# the hyp's LTO link.
WHY = {
    False: {
        "reject": "the call into the out-of-line Rust handler (bl, ret and its "
                  "frame record) and its calls to the C helpers that read ESR_EL2 "
                  "and skip the smc, which the C handler, inlined into handle_trap(), "
                  "does not pay: without LTO no compiler sees both sides of a "
                  "call (Documentation/design.rst)",
        "accept": "the call boundary, the calls to the C helpers, the tail call to "
                  "the out-of-line accept path and that function's prologue",
        "text": "the Rust handler's own prologue, epilogue, the out-of-line "
                "accept path and the C helpers",
    },
    True: {
        "reject": "the Rust objects were linked into hyp-main.c's module, where "
                  "handle_host_smc is inlined into handle_trap() as the C handler is: "
                  "either it was not, or the code inlined is longer than the C's "
                  "(scripts/testbed/hyp_path.py names the functions the path runs through)",
        "accept": "the Rust objects were in the hyp's LTO link, yet the path to the "
                  "PSCI relay is longer than the C's, in code LTO kept out of line "
                  "or longer (scripts/testbed/hyp_path.py names the functions it runs through)",
        "text": "the Rust objects were in the hyp's LTO link, yet the functions the "
                "two paths run through are larger than the C's, in code LTO kept out "
                "of line or longer (scripts/testbed/hyp_path.py names them)",
    },
}


def version(kernel):
    return tuple(int(part) for part in kernel.split("."))


def measurements(path):
    rows = []
    for line in path.read_text().splitlines():
        if line.startswith("bench: "):
            rows.append({k: int(v) for k, v in
                         (field.split("=") for field in line[7:].split())})
    if not rows:
        sys.exit(f"bench-report: no measurements in {path}")
    return rows


def per_call(rows, key):
    """Guest instructions per call, over the repetitions."""
    values = [r[key] * (1e9 / r["frequency"]) / r["calls"] for r in rows]
    # One counter tick in one batch, in instructions per call: a batch
    # starts at an arbitrary phase of the counter, so two batches of the
    # same code can read one tick apart.
    tick = max((1e9 / r["frequency"]) / r["calls"] for r in rows)
    return {"median": statistics.median(values), "mean": statistics.mean(values),
            "min": min(values), "max": max(values), "repetitions": len(values),
            "tick_per_call": tick}


def static_counts(path):
    table = {}
    for line in path.read_text().splitlines():
        kernel, handler, profile, _lto, text, reject, accept = line.split("\t")
        table[(kernel, handler, profile)] = {
            "text_bytes": int(text),
            "reject_insns": None if reject == "none" else int(reject),
            "accept_insns": int(accept),
        }
    return table


def load(out):
    """Every build measured: its build.json fields, round trips, static counts."""
    static = static_counts(out / "static.tsv")
    builds = {}
    for raw in sorted(out.glob("raw-*.txt")):
        name = raw.stem[4:]
        try:
            build = json.loads((out / f"build-{name}.json").read_text())
        except FileNotFoundError:
            sys.exit(f"bench-report: {out}/build-{name}.json missing (scripts/bench.sh copies it)")
        key = (build["kernel"], build["handler"], build["profile"])
        if key not in static:
            sys.exit(f"bench-report: {name} has no row in {out}/static.tsv")
        rows = measurements(raw)
        builds[key] = {"kernel": key[0], "handler": key[1], "profile": key[2],
                       "lto": bool(build["lto"]),
                       **{path: per_call(rows, f"{path}_ticks") for path in PATHS},
                       "raw": rows, "static": static[key]}
    if not builds:
        sys.exit(f"bench-report: no raw-*.txt in {out}")
    return builds


def verdict(value, target, why, resolution=0):
    """met, or missed by how much and why; resolution: how far above the
    target a value may lie and still be the same measurement."""
    if value is None:
        return "n/a"
    if target is None:
        return "no target"
    if value <= target:
        return "met"
    if value - target <= resolution:
        return f"met within the counter's resolution (+{value - target:.6f})"
    by = f"{value - target:.3f}" if isinstance(value, float) else f"{value - target}"
    return f"missed by {by}: {why}"


def round_trip_why(path, extra):
    if extra is not None and extra > 0:
        return f"the {extra} extra instructions counted statically on this path"
    outside = "the host's side" + (" or QEMU's emulated EL3" if path == "accept" else "")
    return (f"the hyp's path is not longer statically ({fmt(extra, '+')}), so the "
            f"difference lies outside it ({outside}) or in the spread of the "
            "repetitions (min-max)")


def c_reference(builds, rust):
    """The C handler Rust is measured against: of the same tree and
    profile, making the same decisions where the tree has such a C (6.12's
    stable backport), else the tree's own."""
    for handler in ("backport", "stock"):
        c = builds.get((rust["kernel"], handler, rust["profile"]))
        if c:
            return c
    return None


def compare(c, rust):
    """Rust against the C handler of the same tree and profile."""
    targets = TARGETS[rust["profile"]]
    why = WHY[rust["lto"]]
    sc, sr = c["static"], rust["static"]
    c_has_reject = all(r["rejected"] == r["calls"] for r in c["raw"])
    result = {"kernel": rust["kernel"], "profile": rust["profile"], "lto": rust["lto"],
              "c_handler": c["handler"], "compared": "median", "targets": targets,
              "c_rejects_nonzero_imm": c_has_reject}
    extra = {"reject": None if sc["reject_insns"] is None
             else sr["reject_insns"] - sc["reject_insns"],
             "accept": sr["accept_insns"] - sc["accept_insns"]}
    for path in PATHS:
        result[f"{path}_static_extra_insns"] = extra[path]
        result[f"{path}_static"] = verdict(extra[path],
                                           targets[f"{path}_static_extra_insns"], why[path])
        if path == "reject" and not c_has_reject:
            result["reject_round_trip_ratio"] = None
            result["reject_round_trip"] = "n/a: the C handler of this tree forwards smc #1"
            continue
        ratio = rust[path]["median"] / c[path]["median"]
        result[f"{path}_round_trip_ratio"] = ratio
        # Less than one tick per batch apart is no difference in the code
        # run (one more instruction per call is calls/16 more ticks in a
        # batch at 62.5 MHz: 125 in 2000 calls), only where in a tick each
        # batch began.
        resolution = rust[path]["tick_per_call"] / c[path]["median"]
        result[f"{path}_round_trip"] = verdict(ratio, targets["round_trip_ratio"],
                                               round_trip_why(path, extra[path]),
                                               resolution)
    if sc["reject_insns"] is None:
        result["reject_static"] = "n/a: no reject path in this tree's C handler"
    result["text_extra_bytes"] = sr["text_bytes"] - sc["text_bytes"]
    result["text"] = verdict(result["text_extra_bytes"], targets["text_extra_bytes"],
                             why["text"])
    return result


def order(builds):
    """Newest tree first, then the profiles in CONFIG_PROFILES' order, C
    before Rust."""
    return sorted(builds, key=lambda m: ([-part for part in version(m["kernel"])],
                                         CONFIG_PROFILES.index(m["profile"]),
                                         HANDLER_ORDER.index(m["handler"])))


def report(out):
    """Print the table, write DIR/bench.json and DIR/performance.rst."""
    out = Path(out)
    builds = load(out)
    measured = order(builds.values())
    comparisons = [compare(c_reference(builds, m), m) for m in measured
                   if m["handler"] == "rust" and c_reference(builds, m)]

    lines = ["kernel profile  handler lto  accept/call median (min-max)  "
             "reject/call median (min-max)  static reject  static accept  text bytes"]
    for m in measured:
        s = m["static"]
        lines.append(f"{m['kernel']:<6} {m['profile']:<8} {m['handler']:<7} "
                     f"{'yes' if m['lto'] else 'no':<4} {spread(m['accept']):>28}  "
                     f"{spread(m['reject']):>28}  {fmt(s['reject_insns']):>13}  "
                     f"{s['accept_insns']:>13}  {s['text_bytes']:>10}")
    lines += ["", f"rust/C round trips are {MEDIANS}."]
    for c in comparisons:
        tree = f"{c['kernel']} {c['profile']} (C: {c['c_handler']})"
        lines.append(f"{tree}: rust/C round trip: accept "
                     f"{fmt(c['accept_round_trip_ratio'])} ({c['accept_round_trip']}), reject "
                     f"{fmt(c['reject_round_trip_ratio'])} ({c['reject_round_trip']})")
        lines.append(f"{tree}: static reject path {fmt(c['reject_static_extra_insns'], '+')}: "
                     f"{c['reject_static']}; accept path {c['accept_static_extra_insns']:+}: "
                     f"{c['accept_static']}; .text {c['text_extra_bytes']:+} B: {c['text']}")
    print("\n".join(lines))

    document = {
        "unit": "guest instructions per call (-icount shift=0)",
        "compared": MEDIANS,
        "targets": TARGETS,
        "measurements": measured,
        "comparisons": comparisons,
    }
    (out / "bench.json").write_text(json.dumps(document, indent=1) + "\n")
    (out / "performance.rst").write_text(rst(document))
