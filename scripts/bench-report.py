#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Turn scripts/bench.sh's measurements into a table, JSON and RST.

  bench-report.py DIR

Reads DIR/raw-<kernel>-<handler>.txt (one "bench: key=value ..." line per
repetition) and DIR/static.tsv (scripts/hyp-report.sh --tsv); writes
DIR/bench.json and DIR/performance.rst (a section of the Documentation
results page, see scripts/docs.sh) and prints the table.

Under -icount shift=0 QEMU retires one instruction per virtual
nanosecond, so counter ticks convert to guest instructions; a round trip
covers the host's smc, the trap, the hyp's handling and the eret (and,
on the accept path, QEMU's emulated EL3).
"""

import json
import statistics
import sys
from pathlib import Path

# Static path lengths have the C handler's own count as their target.
TARGETS = {
    "round_trip_ratio": 1.00,
    "text_extra_bytes": 64,
}

# Why a target can be missed, for the report to say.
WHY = {
    "reject_static": "the call into the out-of-line Rust handler (bl, ret and "
                     "its frame record), which the C handler, inlined into "
                     "handle_trap(), does not pay (Documentation/design.rst)",
    "accept_static": "the call boundary, the tail call to the out-of-line "
                     "accept path and that function's prologue",
    "round_trip": "the extra instructions counted statically for the same path",
    "text": "the Rust handler's own prologue, epilogue and the out-of-line "
            "accept path",
}


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
    return {"mean": statistics.mean(values), "min": min(values),
            "max": max(values), "repetitions": len(values)}


def static_counts(path):
    table = {}
    for line in path.read_text().splitlines():
        kernel, handler, text, reject, accept = line.split("\t")
        table[(kernel, handler)] = {
            "text_bytes": int(text),
            "reject_insns": None if reject == "none" else int(reject),
            "accept_insns": int(accept),
        }
    return table


def verdict(value, target, why):
    if value is None:
        return "n/a"
    if value <= target:
        return "met"
    return f"missed by {value - target:.2f}: {why}" if isinstance(value, float) \
        else f"missed by {value - target}: {why}"


def compare(kernel, dyn, static):
    c, rust = dyn[(kernel, "stock")], dyn[(kernel, "rust")]
    sc, sr = static[(kernel, "stock")], static[(kernel, "rust")]
    c_has_reject = all(r["rejected"] == r["calls"] for r in c["rows"])
    result = {"kernel": kernel, "c_rejects_nonzero_imm": c_has_reject}
    accept_ratio = rust["accept"]["mean"] / c["accept"]["mean"]
    result["accept_round_trip_ratio"] = accept_ratio
    result["accept_round_trip"] = verdict(accept_ratio, TARGETS["round_trip_ratio"],
                                          WHY["round_trip"])
    if c_has_reject:
        reject_ratio = rust["reject"]["mean"] / c["reject"]["mean"]
        result["reject_round_trip_ratio"] = reject_ratio
        result["reject_round_trip"] = verdict(reject_ratio, TARGETS["round_trip_ratio"],
                                              WHY["round_trip"])
    else:
        result["reject_round_trip_ratio"] = None
        result["reject_round_trip"] = "n/a: the C handler of this tree forwards smc #1"
    if sc["reject_insns"] is not None:
        result["reject_static_extra_insns"] = sr["reject_insns"] - sc["reject_insns"]
        result["reject_static"] = verdict(sr["reject_insns"], sc["reject_insns"],
                                          WHY["reject_static"])
    else:
        result["reject_static_extra_insns"] = None
        result["reject_static"] = "n/a: no reject path in this tree's C handler"
    result["accept_static_extra_insns"] = sr["accept_insns"] - sc["accept_insns"]
    result["accept_static"] = verdict(sr["accept_insns"], sc["accept_insns"],
                                      WHY["accept_static"])
    result["text_extra_bytes"] = sr["text_bytes"] - sc["text_bytes"]
    result["text"] = verdict(result["text_extra_bytes"], TARGETS["text_extra_bytes"],
                             WHY["text"])
    return result


def fmt(x):
    return "-" if x is None else (f"{x:.3f}" if isinstance(x, float) else str(x))


def main():
    out = Path(sys.argv[1])
    static = static_counts(out / "static.tsv")
    dyn = {}
    for raw in sorted(out.glob("raw-*.txt")):
        kernel, handler = raw.stem[4:].rsplit("-", 1)
        rows = measurements(raw)
        dyn[(kernel, handler)] = {"rows": rows, "accept": per_call(rows, "accept_ticks"),
                                  "reject": per_call(rows, "reject_ticks")}
    kernels = sorted({k for k, _ in dyn}, reverse=True)

    lines = ["kernel handler  accept/call (min-max)   reject/call (min-max)   "
             "static reject  static accept  text bytes"]
    for kernel in kernels:
        for handler in ("stock", "rust"):
            d, s = dyn[(kernel, handler)], static[(kernel, handler)]
            lines.append(
                f"{kernel:<6} {handler:<7} "
                f"{d['accept']['mean']:7.1f} ({d['accept']['min']:.1f}-{d['accept']['max']:.1f})  "
                f"{d['reject']['mean']:7.1f} ({d['reject']['min']:.1f}-{d['reject']['max']:.1f})  "
                f"{fmt(s['reject_insns']):>13}  {s['accept_insns']:>13}  {s['text_bytes']:>10}")
    comparisons = [compare(k, dyn, static) for k in kernels]
    lines.append("")
    for c in comparisons:
        lines.append(f"{c['kernel']}: rust/C round trip: accept "
                     f"{fmt(c['accept_round_trip_ratio'])} ({c['accept_round_trip']}), reject "
                     f"{fmt(c['reject_round_trip_ratio'])} ({c['reject_round_trip']})")
        lines.append(f"{c['kernel']}: static reject path: {c['reject_static']}; "
                     f"accept path: {c['accept_static']}; .text +{c['text_extra_bytes']} B: {c['text']}")
    print("\n".join(lines))

    document = {
        "unit": "guest instructions per call (-icount shift=0)",
        "targets": TARGETS,
        "measurements": [
            {"kernel": k, "handler": h, "accept": d["accept"], "reject": d["reject"],
             "raw": d["rows"], "static": static[(k, h)]}
            for (k, h), d in sorted(dyn.items())],
        "comparisons": comparisons,
    }
    (out / "bench.json").write_text(json.dumps(document, indent=1) + "\n")
    (out / "performance.rst").write_text(rst(document))


def rst(doc):
    rows = []
    for m in doc["measurements"]:
        rows.append((m["kernel"], m["handler"], f"{m['accept']['mean']:.1f}",
                     f"{m['reject']['mean']:.1f}", fmt(m["static"]["reject_insns"]),
                     str(m["static"]["accept_insns"]), str(m["static"]["text_bytes"])))
    header = ("kernel", "handler", "accept/call", "reject/call", "static reject",
              "static accept", "text bytes")
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(len(header))]
    rule = "  ".join("=" * w for w in widths)
    table = [rule, "  ".join(h.ljust(w) for h, w in zip(header, widths)), rule]
    table += ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows]
    table.append(rule)
    notes = []
    for c in doc["comparisons"]:
        notes.append(f"- {c['kernel']}: round trip rust/C, accept "
                     f"{fmt(c['accept_round_trip_ratio'])} ({c['accept_round_trip']}); "
                     f"reject {fmt(c['reject_round_trip_ratio'])} ({c['reject_round_trip']})")
        notes.append(f"- {c['kernel']}: static reject path {c['reject_static']}; accept path "
                     f"{c['accept_static']}; .text +{c['text_extra_bytes']} bytes "
                     f"({c['text']})")
    return "\n".join([
        "Performance", "-----------", "",
        "Generated by ``make bench`` (``scripts/bench-report.py``).", "",
        "Round trips are in " + doc["unit"] + ", the mean over the repetitions; "
        "static counts are instructions on the path through ``kvm_nvhe.o`` "
        "(``make hyp-report``).", "",
        *table, "", *notes, ""])


if __name__ == "__main__":
    main()
