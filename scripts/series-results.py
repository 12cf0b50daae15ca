#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The test results a cover letter of scripts/patches.sh quotes.

  series-results.py BUILD_DIR KERNEL KIND

Reads what this testbed's last runs left in BUILD_DIR: results.json
(scripts/testbed/check.py: the verdict of every QEMU boot of the matrix),
mutants.json (scripts/mutants.sh), bench/bench.json (scripts/bench.sh) and
hyp-report-KERNEL.tsv (scripts/hyp-report.sh --tsv over the builds that
BUILD_DIR holds) and audit-KERNEL.json (scripts/audit.sh with
AUDIT_ARGS=--json over the same builds), both written by scripts/patches.sh.
Prints the cover letter's test paragraph for KERNEL's series of KIND
(rfc or stable): the boots of KERNEL with the module's case totals, the
mutants and the round trips. Whatever was not run says so: a cover letter
must not claim a test nobody ran.
"""

import datetime
import json
import re
import sys
import textwrap
from pathlib import Path

from testbed import matrix
from testbed.qemu_configs import MACHINE, QEMU_CPU
from testbed.axes import variant_name

# The handlers a stable series is judged by: the tree as it is (the
# negative control) and with the backports.
STABLE_HANDLERS = ("stock", "backport")
# Mail bodies wrap at 72 columns.
WIDTH = 72


def item(text, indent=""):
    """One list item of the paragraph, wrapped."""
    return textwrap.fill(text, WIDTH, initial_indent=indent + "- ",
                         subsequent_indent=indent + "  ", break_on_hyphens=False)


def load(path):
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return None


def case_totals(cases):
    """KTAP totals of the module's cases, as kselftest prints them."""
    totals = {"pass": 0, "fail": 0, "skip": 0}
    for case in cases:
        status = case.get("status")
        if status == "SUCCESS":
            totals["pass"] += 1
        elif status == "SKIPPED":
            totals["skip"] += 1
        else:
            totals["fail"] += 1
    return totals


def matrix_lines(results, kernel, kind):
    if results is None:
        return ["- QEMU boots with the kselftest (make check): not run."]
    rows = [r for r in results.get("rows", []) if r.get("kernel") == kernel
            and (kind != "stable" or r.get("handler") in STABLE_HANDLERS)]
    if not rows:
        return [f"- QEMU boots with the kselftest (make check): not run for {kernel}."]
    lines = [item(f"QEMU boots with the kselftest (make check of "
                  f"{results.get('started', '?')}), the module's cases per boot:"), ""]
    for row in rows:
        totals = case_totals(row.get("cases", []))
        name = f"{row['handler']} {row['profile']} {row['cpu']} {row['mode']}"
        ok = "expected" if row.get("ok") else "NOT expected"
        lines.append(f"    {name:<30} {row.get('got', '?'):<4} ({ok})"
                     f" pass:{totals['pass']} fail:{totals['fail']} skip:{totals['skip']}")
    if any(r.get("expected") == "FAIL" for r in rows):
        lines += ["", item("The stock rows that FAIL are the negative control: "
                           "a C handler that relays \"smc #1\" must fail the "
                           "immediate cases, and only them.", "  ")]
    return lines


def mutant_lines(mutants, kind, when=""):
    if kind == "stable":
        return []
    if mutants is None:
        return ["- Mutation testing of the Rust handler (scripts/mutants.sh): not run."]
    everything = mutants.get("mutants", [])
    # kvm- mutants break host KVM's handle_smc() (a guest's smc #imm), not
    # the Rust handler.
    entries = [m for m in everything if not m["name"].startswith("kvm-")]
    kvm = len(everything) - len(entries)
    survived = [m["name"] for m in everything
                if m.get("host_tests", "").startswith("survived")
                or m.get("kselftest", "").startswith("survived")]
    line = (f"Mutation testing of the Rust handler on {mutants.get('kernel', '?')}: "
            f"{len(entries)} mutants, each killed by name by every test that "
            f"reaches it (host tests, kselftest)"
            + (f", and {kvm} of host KVM's handle_smc() killed by the guest "
               "test smc_imm_guest" if kvm else "")
            + f"; {len(survived)} survived")
    return [item(line + (f" ({', '.join(survived)})" if survived else "") + when + ".")]


def written(path, results):
    """When PATH was written, if not during the make check that wrote
    results.json: a letter quotes this run, or says that it does not."""
    try:
        mtime = datetime.datetime.fromtimestamp(path.stat().st_mtime, datetime.timezone.utc)
    except FileNotFoundError:
        return ""
    started = (results or {}).get("started")
    if started and mtime >= datetime.datetime.fromisoformat(started):
        return ""
    return f" (from an earlier run, written {mtime.isoformat(timespec='seconds')})"


def provenance_lines(results):
    """The run these results come from: its commit and date."""
    if results is None:
        return []
    prov = results.get("provenance") or {}
    commit = prov.get("commit", "unknown")[:12]
    dirty = " with uncommitted changes" if prov.get("dirty") else ""
    return [item(f"All from one make check of pkvm-smc-imm at commit {commit}{dirty}, "
                 f"started {results.get('started', '?')} (QEMU: "
                 f"{prov.get('tools', {}).get('qemu', '?')})."), ""]


def ratio(value):
    return "n/a" if value is None else f"{value:.3f}"


def bench_lines(bench, kernel, kind, when=""):
    if kind == "stable":
        return []
    if bench is None:
        return ["- Round trips, Rust vs C (make bench): not run."]
    parts = []
    for comparison in bench.get("comparisons", []):
        if comparison.get("kernel") != kernel:
            continue
        lto = ", LTO" if comparison.get("lto") else ""
        parts.append(f"{comparison.get('profile', '?')} config{lto}: accept "
                     f"{ratio(comparison.get('accept_round_trip_ratio'))}, reject "
                     f"{ratio(comparison.get('reject_round_trip_ratio'))}, the "
                     f"handler's .text {comparison.get('text_extra_bytes', '?'):+} bytes")
    if not parts:
        return [f"- Round trips, Rust vs C (make bench): not run for {kernel}."]
    return [item("Round trips of an SMC from the host, Rust/C (ratios of the "
                 "medians of guest instructions under QEMU -icount; make bench): "
                 + "; ".join(parts) + when + ".")]


def hyp_report_lines(path, kernel, kind):
    """The handler's .hyp.text bytes and path lengths, Rust against the C
    of the same tree and profile (make hyp-report)."""
    if kind == "stable":
        return []
    try:
        rows = [line.split("\t") for line in path.read_text().splitlines() if line]
    except FileNotFoundError:
        return [item(f"Size and path length, Rust vs C (make hyp-report): not run "
                     f"for {kernel} (no build of both handlers in {path.parent}).")]
    by = {(r[1], r[2]): r for r in rows if len(r) == 7 and r[0] == kernel}
    parts = []
    # Only the profiles this run's matrix builds: a build/ directory of
    # another profile is an older run's.
    for profile in matrix.profiles(kernel):
        rust = by.get(("rust", profile))
        c = by.get(("backport", profile)) or by.get(("stock", profile))
        if not rust or not c:
            continue
        lto = ", LTO" if rust[3] == "yes" else ""
        config = path.parent / variant_name(kernel, "rust", profile) / ".config"
        hvc = (" (the Rust build's handle_trap also holds the series' HVC check)"
               if config.is_file() and "CONFIG_NVHE_HOST_HVC_IMM_REJECT=y\n"
               in config.read_text() else "")
        parts.append(f"{profile} config{lto}: .hyp.text of the handling code "
                     f"{rust[4]} bytes against C's {c[4]} ({int(rust[4]) - int(c[4]):+}){hvc}; "
                     f"instructions for a rejected smc #1 {rust[5]} against {c[5]}, "
                     f"for smc #0 up to the PSCI relay {rust[6]} against {c[6]}")
    if not parts:
        return [item(f"Size and path length, Rust vs C (make hyp-report): no pair of "
                     f"Rust and C builds of one profile of {kernel} to compare.")]
    return [item("Size and path length, Rust vs C, from the kvm_nvhe.o of each build "
                 "(make hyp-report): " + "; ".join(parts) + ".")]


HVC_CASE = "hvc_nonzero_imm_host_hypercall"
# Its diagnostic: how the non-zero immediates (each bit, 0xffff) fared.
HVC_ANSWERS = re.compile(r"(\d+) ran, (\d+) rejected, (\d+) other")


def audit_documents(path):
    """The JSON documents scripts/audit.sh wrote with AUDIT_ARGS=--json, one
    per build, one after the other."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    docs, decoder, at = [], json.JSONDecoder(), 0
    while text[at:].strip():
        at += len(text[at:]) - len(text[at:].lstrip())
        doc, at = decoder.raw_decode(text, at)
        docs.append(doc)
    return docs


def hvc_lines(results, audit, kernel, kind):
    """The other half of the question: what pKVM did with the kselftest's
    host hvc #1 and #0xffff in each boot of KERNEL, by handler and profile
    (the series' HVC option is off in the hardened builds), and the HVCs
    smc-audit found in the kernels' own code."""
    if kind == "stable":
        return []
    seen = {}
    for row in (results or {}).get("rows", []):
        if row.get("kernel") != kernel:
            continue
        for case in row.get("cases", []):
            if case.get("name") == HVC_CASE and case.get("status") != "SKIPPED":
                m = HVC_ANSWERS.search(case.get("diagnostic", ""))
                ran, rejected, other = map(int, m.groups()) if m else (0, 0, 1)
                what = ("ran" if not rejected and not other else
                        "rejected" if not ran and not other else "neither")
                build = f"{row['handler']} {row['profile']}"
                seen.setdefault(build, {}).setdefault(what, 0)
                seen[build][what] += 1
    if not seen:
        return [item(f"Host \"hvc #imm\" ({HVC_CASE}): not run for {kernel}.")]
    parts = [f"{build}: " + ", ".join(f"{what} in {n}" for what, n in sorted(counts.items()))
             + f" of {sum(counts.values())} boots" for build, counts in sorted(seen.items())]
    text = (f"Host \"hvc #imm\" (the kselftest's {HVC_CASE}: __kvm_flush_vm_context "
            "with hvc #0, then with each one-bit immediate and #0xffff; \"ran\": pKVM "
            "ran it for all of them, the immediate ignored; "
            "\"rejected\": SMCCC_RET_NOT_SUPPORTED for all; the series' "
            "NVHE_HOST_HVC_IMM_REJECT is on in the rust builds but the hardened "
            "ones): " + "; ".join(parts) + ".")
    vmlinux = [f for doc in audit or [] for f in doc.get("files", [])
               if f.get("file", "").endswith("/vmlinux")]
    if vmlinux:
        hvc = [f["summary"].get("hvc", 0) for f in vmlinux]
        nonzero = sum(f["summary"].get("hvc_imm_nonzero", 0) for f in vmlinux)
        text += (f" smc-audit: the vmlinux of each of the {len(vmlinux)} {kernel} builds "
                 f"holds {min(hvc)} to {max(hvc)} hvc instructions, "
                 + ("none" if nonzero == 0 else f"{nonzero} in all")
                 + " with a non-zero immediate.")
    else:
        text += f" smc-audit of the {kernel} builds: not run."
    return [item(text)]


def main():
    if len(sys.argv) != 4 or sys.argv[3] not in ("rfc", "stable"):
        sys.exit(__doc__.strip().splitlines()[2].strip())
    build, kernel, kind = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    lines = [textwrap.fill(
        f"The pkvm-smc-imm testbed builds Debian's linux-source-{kernel} with "
        "clang (LLVM 19) or GCC, by profile, boots it under QEMU "
        f"(-M {MACHINE}; -cpu {' or '.join(QEMU_CPU.values())}) with "
        "kvm-arm.mode=protected, in hVHE and in nVHE, and runs a kselftest that "
        "issues \"smc #imm\" from the host for every non-zero immediate. Its "
        "last runs:", WIDTH, break_on_hyphens=False), ""]
    results = load(build / "results.json")
    lines += provenance_lines(results)
    lines += matrix_lines(results, kernel, kind)
    lines += mutant_lines(load(build / "mutants.json"), kind,
                          written(build / "mutants.json", results))
    lines += bench_lines(load(build / "bench" / "bench.json"), kernel, kind,
                         written(build / "bench" / "bench.json", results))
    lines += hyp_report_lines(build / f"hyp-report-{kernel}.tsv", kernel, kind)
    lines += hvc_lines(results, audit_documents(build / f"audit-{kernel}.json"), kernel, kind)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
