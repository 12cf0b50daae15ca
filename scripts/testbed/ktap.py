# SPDX-License-Identifier: GPL-2.0
"""The KTAP of one testbed boot, parsed by the kernel tree's own parser.

The tree's tools/testing/kunit/kunit_parser reads any KTAP (it is what
`kunit.py parse` runs; paths.kunit_dir() says where). Of a console log
saved by scripts/boot.sh, the part between the guest's markers is parsed:

- `pkvm-smc-imm: selftest begin/exit=N`: run_kselftest.sh's TAP (one
  document per collection in 6.12's runner, one in all later). The runner
  prefixes each selftest's own output with "# ", so kunit_parser sees it as
  that test's log; it is parsed again, unprefixed, as the selftest's KTAP,
  whose subtest is the module's KTAP.
- `pkvm-smc-imm: insmod begin/exit=N`: the module's KTAP alone (a plain
  insmod, without the selftest script).

Each test keeps its status and the text after `#` on its result line
(kunit_parser keeps only SKIP reasons, so that text is read from the
result line itself).
"""

import contextlib
import io
import re
import sys

RESULT = re.compile(r"^\s*(ok|not ok) ([0-9]+) (?:- )?([^#]*?)\s*(?:# (.*))?$")
BEGIN = re.compile(r"^pkvm-smc-imm: (selftest|insmod) begin$")
EXIT = re.compile(r"^pkvm-smc-imm: (selftest|insmod) exit=([0-9]+)$")


def load_parser(kunit_dir):
    if kunit_dir not in sys.path:
        sys.path.insert(0, kunit_dir)
    import kunit_parser  # noqa: E402 (from the tree, found at run time)
    return kunit_parser


def parse(kunit_parser, lines):
    """kunit_parser.parse_run_tests(), across the trees' two signatures,
    with its progress output kept off stdout."""
    with contextlib.redirect_stdout(io.StringIO()):
        # 6.12 has kunit_printer too, but its Printer takes no `print`
        # and its parse_run_tests() no printer: the older signature. It
        # prints through kunit_parser.stdout, a Printer bound to the real
        # stdout when imported, which redirect_stdout cannot reach.
        try:
            from kunit_printer import Printer
            printer = Printer(print=False)
        except (ImportError, TypeError):
            old_printer = getattr(kunit_parser, "stdout", None)
            if hasattr(old_printer, "_output"):
                old_printer._output = io.StringIO()
            return kunit_parser.parse_run_tests(lines)
        return kunit_parser.parse_run_tests(lines, printer)


def section(log_lines):
    """The lines between the guest's markers, the run's kind and exit."""
    kind, body, status = None, [], None
    for line in log_lines:
        line = line.rstrip("\n")
        if kind is None:
            m = BEGIN.match(line)
            if m:
                kind = m.group(1)
            continue
        m = EXIT.match(line)
        if m:
            status = int(m.group(2))
            break
        body.append(line)
    return kind, body, status


def documents(lines):
    """The runner's TAP documents: one per collection in 6.12's
    run_kselftest.sh, one in all in later ones."""
    docs = []
    for line in lines:
        if line.startswith("TAP version") or not docs:
            docs.append([])
        docs[-1].append(line)
    return docs


def directives(lines):
    """The text after '#' on each result line, by test name, in order."""
    found = {}
    for line in lines:
        m = RESULT.match(line)
        if m:
            found.setdefault(m.group(3).strip(), []).append(m.group(4) or "")
    return found


def unprefix(log):
    """A selftest's own output, as run_kselftest.sh relays it."""
    return [line[2:] if line.startswith("# ") else line[1:] if line == "#" else line
            for line in log]


def take(texts, name):
    """The next result line's text for a test of this name."""
    queue = texts.get(name)
    return queue.pop(0) if queue else ""


def to_json(test, texts):
    name = test.name.strip()
    node = {"name": name, "status": test.status.name,
            "diagnostic": take(texts, name)}
    if test.subtests:
        node["cases"] = [to_json(t, texts) for t in test.subtests]
    return node


def selftest_node(test, kunit_parser):
    """A runner-level test with its own KTAP parsed out of its log."""
    own = unprefix(test.log)
    node = {"name": test.name.strip(), "status": test.status.name,
            "diagnostic": "", "log": own}
    if any(re.match(r"^\s*(K?TAP version)", line) for line in own):
        inner = parse(kunit_parser, own)
        texts = directives(own)
        node["cases"] = [to_json(t, texts) for t in inner.subtests]
    return node


def failed_leaves(nodes):
    """The names of the tests that failed themselves, not through a
    subtest: the module's cases, a selftest that printed no KTAP, the
    selftest script's watch of a load that never returned (whose subtests,
    the cases reported before, passed)."""
    failed = []
    ok = ("SUCCESS", "SKIPPED")

    def walk(node):
        cases = node.get("cases", [])
        if node["status"] not in ok and all(c["status"] in ok for c in cases):
            failed.append(node["name"])
        for case in node.get("cases", []):
            walk(case)
    for node in nodes:
        walk(node)
    return [name for name in failed if name]


def verdict(nodes):
    """FAIL if any test failed or crashed, SKIP if nothing but skips."""
    statuses = []

    def walk(node):
        statuses.append(node["status"])
        for case in node.get("cases", []):
            walk(case)
    for node in nodes:
        walk(node)
    if not statuses or any(s not in ("SUCCESS", "SKIPPED") for s in statuses):
        return "FAIL"
    return "SKIP" if all(s == "SKIPPED" for s in statuses) else "PASS"


def parse_console(kunit_dir, log_lines):
    """The run between the guest's markers in a console log, parsed: the
    verdict (PASS, SKIP or FAIL), the exit status the guest printed, every
    test down to the module's cases and the names of the tests that
    failed."""
    kind, body, status = section(log_lines)
    result = {"kind": kind, "exit_status": status, "tests": [], "errors": []}
    if kind is None:
        result["errors"].append("the guest never started a test")
    elif status is None:
        result["errors"].append("the test never finished")
    try:
        kunit_parser = load_parser(str(kunit_dir)) if kind else None
    except ImportError:
        result["errors"].append(f"no kunit_parser in {kunit_dir}: run 'make build' "
                                "for this kernel first")
        kind = None
    if kind == "selftest":
        for document in documents(body):
            runner = parse(kunit_parser, document)
            result["tests"] += [selftest_node(t, kunit_parser) for t in runner.subtests]
    elif kind == "insmod":
        module = parse(kunit_parser, body)
        texts = directives(body)
        result["tests"] = [{"name": "smc_imm_test (insmod)",
                            "status": module.status.name, "diagnostic": "",
                            "cases": [to_json(t, texts) for t in module.subtests]}]
    result["verdict"] = "FAIL" if result["errors"] else verdict(result["tests"])
    result["failed"] = failed_leaves(result["tests"])
    return result
