# SPDX-License-Identifier: GPL-2.0
"""build/results.json: this run's rows and steps as they come, with where
they came from (provenance), a schema it is validated against
(results.schema.json beside this file) and a JUnit XML copy for CI
systems (build/results.xml)."""

import datetime
import json
import re
import subprocess
import time
import xml.etree.ElementTree as ET
from pathlib import Path

from .axes import KERNELS
from .boots import row_name
from .paths import BUILD, CACHE, ROOT

SCHEMA_VERSION = 2
SCHEMA = Path(__file__).with_name("results.schema.json")
RESULTS = BUILD / "results.json"
JUNIT = BUILD / "results.xml"


def first_line(cmd):
    """The first line a version command prints, or why there is none."""
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"unavailable: {e}"
    text = (out.stdout or out.stderr).strip()
    return text.splitlines()[0] if text else f"unavailable: exit {out.returncode}"


def provenance(rust_toolchain):
    """What this run was made of: the project's commit, the Debian kernel
    sources, the toolchains and QEMU, each as the tool itself says it."""
    commit = first_line(["git", "-C", str(ROOT), "rev-parse", "HEAD"])
    dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain",
                            "--untracked-files=no"], capture_output=True, text=True).stdout
    sources = {}
    for kernel in KERNELS:
        version = CACHE / "src" / kernel / ".debian-version"
        sources[f"linux-source-{kernel}"] = (version.read_text().strip()
                                             if version.is_file() else None)
    return {
        "commit": commit,
        "dirty": bool(dirty.strip()),
        "debian_sources": sources,
        "tools": {
            "rustc": first_line(["rustup", "run", rust_toolchain, "rustc", "--version"]),
            "clang": first_line(["clang-19", "--version"]),
            "bindgen": first_line(["bindgen", "--version"]),
            "qemu": first_line(["qemu-system-aarch64", "--version"]),
        },
    }


def rust_toolchain():
    """KERNEL_RUST_TOOLCHAIN, as scripts/kbuild.sh sets it."""
    m = re.search(r"^KERNEL_RUST_TOOLCHAIN=(\S+)$",
                  (ROOT / "scripts/kbuild.sh").read_text(), re.M)
    return m.group(1) if m else "unknown"


class Run:
    """The results of this run, saved after every row and step."""

    def __init__(self, kernels):
        self.start = time.time()
        self.data = {"schema_version": SCHEMA_VERSION,
                     "started": datetime.datetime.now(datetime.timezone.utc)
                     .isoformat(timespec="seconds"),
                     "provenance": provenance(rust_toolchain()),
                     "kernels": list(kernels), "builds": {}, "rows": [], "steps": []}

    def all(self):
        return self.data["steps"] + self.data["rows"]

    def save(self):
        self.data["duration_s"] = round(time.time() - self.start)
        self.data["passed"] = sum(r["ok"] for r in self.all())
        self.data["failed"] = sum(not r["ok"] for r in self.all())
        BUILD.mkdir(exist_ok=True)
        tmp = RESULTS.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data, indent=1) + "\n")
        tmp.replace(RESULTS)
        write_junit(self.data, JUNIT)

    def step(self, name, ok, seconds, log=None, note=""):
        entry = {"name": name, "expected": "PASS", "got": "PASS" if ok else "FAIL",
                 "ok": ok, "seconds": round(seconds),
                 "log": str(log) if log else None, "note": note}
        self.data["steps"].append(entry)
        self.save()
        return entry

    def build(self, name, record):
        """A build's build.json: whether it came from the cache, and then
        the original build's seconds, marked as such."""
        self.data["builds"][name] = record
        self.save()

    def row(self, entry):
        """A row, after the rows of the kernels before its own: make
        check's lanes record two kernels' rows side by side, and the
        results, the JUnit file and the results page keep one order."""
        self.data["rows"].append(entry)
        order = {kernel: i for i, kernel in enumerate(self.data["kernels"])}
        self.data["rows"].sort(key=lambda r: order.get(r["kernel"], len(order)))
        self.save()


def summary(data):
    """The table make check prints last, from its results."""
    lines = [f"{'check':<58} {'expected':<8} {'got':<10} {'secs':>5}"]
    for step in data["steps"]:
        lines.append(f"{step['name']:<58} {step['expected']:<8} {step['got']:<10} "
                     f"{step['seconds']:>5}")
    for row in data["rows"]:
        lines.append(f"{row_name(row):<58} {row['expected']:<8} {row['got']:<10} "
                     f"{row.get('boot_s') or 0:>5}")
    lines.append("")
    lines.append(f"{data['passed']} passed, {data['failed']} failed, "
                 f"in {data['duration_s'] // 60} min {data['duration_s'] % 60} s")
    return "\n".join(lines) + "\n"


def problems(data, table):
    """What is wrong with results.json's data: its schema, rows not those
    of the table (their ids), a row with no case, a log that is gone."""
    found = validate(data)
    want = sorted(table)
    have = sorted(r["row"] for r in data["rows"])
    if want != have:
        found.append(f"rows {sorted(set(want) ^ set(have))} differ from the table")
    for row in data["rows"]:
        if row["got"] not in ("NOT BUILT", "ERROR") and not row.get("cases") \
                and not row.get("skip_reason"):
            found.append(f"{row['row']} holds no case")
        if not row.get("log") or not Path(row["log"]).is_file():
            found.append(f"{row['row']} names a log that is gone: {row.get('log')}")
    return found


def validate(data):
    """The problems of results.json against its schema, as text."""
    try:
        import jsonschema
    except ImportError:
        return ["python3-jsonschema is not installed; run 'make deps'"]
    schema = json.loads(SCHEMA.read_text())
    validator = jsonschema.Draft202012Validator(schema)
    return [f"{'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}"
            for e in sorted(validator.iter_errors(data), key=str)]


def write_junit(data, path):
    """One testsuite per kind (steps, rows), one testcase each."""
    suites = ET.Element("testsuites", name="make check", tests=str(len(data["rows"])
                        + len(data["steps"])), failures=str(data.get("failed", 0)),
                        time=str(data.get("duration_s", 0)))
    for kind, entries in (("steps", data["steps"]), ("rows", data["rows"])):
        suite = ET.SubElement(suites, "testsuite", name=f"pkvm-smc-imm {kind}",
                              tests=str(len(entries)),
                              failures=str(sum(not e["ok"] for e in entries)))
        for entry in entries:
            name = entry.get("name") or entry.get("row")
            case = ET.SubElement(suite, "testcase", classname=f"pkvm-smc-imm.{kind}",
                                 name=name, time=str(entry.get("seconds",
                                                               entry.get("boot_s", 0))))
            if not entry["ok"]:
                failure = ET.SubElement(case, "failure", message=(
                    "; ".join(entry.get("problems", [])) or entry.get("note") or "failed"))
                failure.text = f"expected {entry['expected']}, got {entry['got']}"
            if entry.get("log"):
                ET.SubElement(case, "system-out").text = f"log: {entry['log']}"
    ET.ElementTree(suites).write(path, encoding="unicode", xml_declaration=True)
