# SPDX-License-Identifier: GPL-2.0
"""scripts/series_mail.py: the apply check against kvmarm's files, the
cover letter's base sentence, and what a generated series may contain
(no stable@ and no send command before the maintainers agree; no
base-commit but a 40-hex upstream one). No kernel is needed."""

import json
import re
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
import series_mail  # noqa: E402

COMMIT = "354d3c964091847ddfc7a34be4e7f182c56572dc"
ORIGINAL = "".join(f"line {n}\n" for n in range(1, 21))
PATCH = """--- a/dir/a.c
+++ b/dir/a.c
@@ -9,3 +9,4 @@
 line 9
 line 10
+added
 line 11
--- a/dir/b.c
+++ b/dir/b.c
@@ -1,2 +1,2 @@
-old
+new
 same
"""


def blob(text):
    return subprocess.run(["git", "hash-object", "--stdin"], input=text, check=True,
                          capture_output=True, text=True).stdout.strip()


class ApplyCheck(unittest.TestCase):
    def setUp(self):
        self.tmp = Path(tempfile.mkdtemp())
        self.cache = self.tmp / "kvmarm"
        self.patch = self.tmp / "01.patch"
        self.patch.write_text(PATCH)

    def tearDown(self):
        subprocess.run(["rm", "-rf", str(self.tmp)], check=True)

    def base(self, lines):
        path = self.tmp / "kvmarm-base"
        path.write_text(f"# test\ncommit\t{COMMIT}\n" + "".join(l + "\n" for l in lines))
        return path

    def cached(self, path, text):
        target = self.cache / COMMIT / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)

    def check_both_read(self, a_text):
        """The apply check where kvmarm's dir/a.c is a_text and dir/b.c is
        as the patch expects, both read: its result and report."""
        b_text = "old\nsame\n"
        self.cached("dir/a.c", a_text)
        self.cached("dir/b.c", b_text)
        base = self.base([f"file dir/a.c {blob(a_text)}", f"file dir/b.c {blob(b_text)}"])
        result = series_mail.apply_check(base, self.cache, [self.patch])
        return result, series_mail.report_lines(result)

    def test_applies_everywhere_names_the_commit(self):
        result, lines = self.check_both_read("intro\n" + ORIGINAL)
        self.assertEqual(result["status"], "applies")
        self.assertTrue(lines[0].startswith(f"apply: the series applies to kvmarm {COMMIT} "
                                            "(2 files as read"), lines)
        self.assertIn("offset 1 line", " ".join(lines))
        self.assertIn("base-commit below is that commit", series_mail.base_text(result))

    def test_unread_file_is_partial_and_gives_no_base(self):
        self.cached("dir/a.c", ORIGINAL)
        base = self.base([f"file dir/a.c {blob(ORIGINAL)}", "unread dir/b.c"])
        result = series_mail.apply_check(base, self.cache, [self.patch])
        self.assertEqual(result["status"], "partial")
        self.assertEqual(result["unread"], ["dir/b.c"])
        lines = series_mail.report_lines(result)
        self.assertNotIn("the series applies", lines[0])
        self.assertTrue(any("not checked, no copy read" in l and "dir/b.c" in l for l in lines))
        self.assertIn("no base-commit", series_mail.base_text(result))

    def test_failing_hunk_is_named(self):
        result, lines = self.check_both_read(ORIGINAL.replace("line 10\n", "line ten\n"))
        self.assertEqual(result["status"], "fails")
        self.assertIn("does NOT apply", lines[0])
        self.assertTrue(any("01.patch: error: patch failed: dir/a.c:9" in l for l in lines), lines)
        self.assertIn("no base-commit", series_mail.base_text(result))

    def test_absent_cache_says_how_to_get_it(self):
        base = self.base([f"file dir/a.c {blob(ORIGINAL)}", "unread dir/b.c"])
        result = series_mail.apply_check(base, self.cache, [self.patch])
        self.assertEqual(result["status"], "unchecked")
        text = "\n".join(series_mail.report_lines(result))
        self.assertIn(f"git show {COMMIT}:PATH", text)
        self.assertIn("dir/a.c", text)
        self.assertNotIn("base-commit:", series_mail.base_text(result))

    def test_copy_that_is_not_the_recorded_blob_is_not_trusted(self):
        self.cached("dir/a.c", ORIGINAL + "edited\n")
        base = self.base([f"file dir/a.c {blob(ORIGINAL)}", "unread dir/b.c"])
        result = series_mail.apply_check(base, self.cache, [self.patch])
        self.assertEqual(result["stale"], ["dir/a.c"])
        self.assertEqual(result["status"], "unchecked")

    def test_base_file_needs_a_full_commit_id(self):
        path = self.tmp / "kvmarm-base"
        path.write_text("commit 354d3c964091\n")
        with self.assertRaises(series_mail.BaseFileError):
            series_mail.read_base(path)

    def test_mail_as_format_patch_writes_it_is_checked(self):
        # What patches.sh passes: git format-patch's files, with the
        # message, the diffstat and git's diff headers around the diff.
        mail = self.tmp / "0001-dir-add-a-line.patch"
        mail.write_text("From 0123456789abcdef0123456789abcdef01234567 Mon Sep 17 00:00:00 2001\n"
                        "From: A U Thor <author@example.org>\n"
                        "Subject: [RFC PATCH 1/1] dir: add a line\n\n"
                        "Why, in a paragraph.\n\n"
                        "Signed-off-by: A U Thor <author@example.org>\n"
                        "---\n dir/a.c | 1 +\n dir/b.c | 2 +-\n 2 files changed\n\n"
                        + PATCH.replace("--- a/dir/a.c", "diff --git a/dir/a.c b/dir/a.c\n"
                                        "index 1111111..2222222 100644\n--- a/dir/a.c")
                        + "-- \n2.47.3\n")
        self.cached("dir/a.c", ORIGINAL)
        self.cached("dir/b.c", "old\nsame\n")
        base = self.base([f"file dir/a.c {blob(ORIGINAL)}",
                          f"file dir/b.c {blob('old' + chr(10) + 'same' + chr(10))}"])
        result = series_mail.apply_check(base, self.cache, [mail])
        self.assertEqual((result["files"], result["status"]), (2, "applies"), result)
        out = self.tmp / "apply.json"
        out.write_text(json.dumps(result))
        run = subprocess.run([sys.executable, str(ROOT / "scripts/series_mail.py"), "status",
                              str(out)], capture_output=True, text=True, check=True)
        self.assertEqual(run.stdout, "applies\n")

    def test_a_file_the_series_creates_is_named_not_taken_for_unlisted(self):
        new = self.tmp / "02.patch"
        new.write_text("--- /dev/null\n+++ b/dir/new.rs\n@@ -0,0 +1 @@\n+fn f() {}\n")
        self.cached("dir/a.c", ORIGINAL)
        base = self.base([f"file dir/a.c {blob(ORIGINAL)}", "unread dir/b.c"])
        result = series_mail.apply_check(base, self.cache, [self.patch, new])
        self.assertEqual((result["created"], result["unlisted"], result["status"]),
                         (["dir/new.rs"], [], "partial"))
        self.assertIn("dir/new.rs", series_mail.base_text(result))

    def test_cli_writes_json(self):
        base = self.base(["unread dir/a.c", "unread dir/b.c"])
        out = self.tmp / "apply.json"
        run = subprocess.run([sys.executable, str(ROOT / "scripts/series_mail.py"), "apply-check",
                              str(base), str(self.cache), str(out), str(self.patch)],
                             capture_output=True, text=True)
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assertTrue(run.stdout.startswith("apply: "))
        self.assertEqual(json.loads(out.read_text())["commit"], COMMIT)


class RepoData(unittest.TestCase):
    """The data patches.sh works from."""

    def test_kvmarm_base_names_a_full_kvmarm_commit_and_every_7_3_file(self):
        base = series_mail.read_base(ROOT / "hyp/glue/7.3/kvmarm-base")
        self.assertRegex(base["commit"], r"^[0-9a-f]{40}$")
        for patch in sorted((ROOT / "hyp/glue/7.3").glob("0*.patch")):
            for path in series_mail.touched(patch)[0]:
                self.assertIn(path, base["files"], f"{patch.name} touches {path}")

    def test_6_12_sends_only_the_stable_backports(self):
        rows = [line.split("\t") for line in
                (ROOT / "hyp/glue/6.12/series").read_text().splitlines()
                if line and not line.startswith("#")]
        self.assertEqual([r[0] for r in rows], ["stable"])
        self.assertEqual(rows[0][2].split(), ["01-stable-reject-smc-imm16.patch",
                                              "02-stable-reject-upper-32-bit-function-ids.patch"])

    def test_backport_messages_cite_upstream_as_stable_does(self):
        for name in ("01-stable-reject-smc-imm16.txt",
                     "02-stable-reject-upper-32-bit-function-ids.txt"):
            text = (ROOT / "hyp/glue/6.12" / name).read_text()
            self.assertRegex(text, r"^From: .+ <.+@.+>\n\n", name)
            self.assertRegex(text, r"\ncommit [0-9a-f]{40} upstream\.\n", name)

    def test_rfc_messages_do_not_rest_on_no_functional_change(self):
        for path in (ROOT / "hyp/glue/7.3").glob("0*.txt"):
            self.assertNotIn("No functional change", path.read_text(), path.name)


def mail(name, to, cc="", body="", base=None):
    tail = f"\nbase-commit: {base}\n" if base else "\n"
    return (f"From 1234 Mon Sep 17 00:00:00 2001\nFrom: A <a@b.org>\nTo: {to}\n"
            + (f"Cc: {cc}\n" if cc else "") + f"Subject: {name}\n\n{body}{tail}-- \n2.39\n")


class CheckOut(unittest.TestCase):
    def setUp(self):
        self.out = Path(tempfile.mkdtemp())

    def tearDown(self):
        subprocess.run(["rm", "-rf", str(self.out)], check=True)

    def write(self, files):
        for name, text in files.items():
            (self.out / name).write_text(text)

    def test_unacked_stable_series_is_clean(self):
        self.write({"0000-cover-letter.patch": mail("c", "Marc <maz@kernel.org>"),
                    "0001-x.patch": mail("x", "Marc <maz@kernel.org>", "a@b.org"),
                    "ACK-NEEDED": "ask first\n"})
        self.assertEqual(series_mail.check_out(self.out, "stable"), [])

    def test_unacked_stable_series_must_not_go_to_stable(self):
        self.write({"0000-cover-letter.patch": mail("c", "stable@vger.kernel.org"),
                    "0001-x.patch": mail("x", "maz@kernel.org",
                                         "x@y.org,\n Stable@vger.kernel.org"),
                    "ACK-NEEDED": "ask first\n"})
        problems = series_mail.check_out(self.out, "stable")
        self.assertEqual(len([p for p in problems if "stable@" in p]), 2, problems)

    def test_unacked_stable_series_has_no_send_command(self):
        self.write({"0000-cover-letter.patch": mail("c", "maz@kernel.org"),
                    "SEND-EMAIL": "git send-email --to=maz@kernel.org x/*.patch\n"})
        problems = series_mail.check_out(self.out, "stable")
        self.assertTrue(any("send command" in p for p in problems), problems)
        self.assertTrue(any("ACK-NEEDED" in p for p in problems), problems)

    def test_acked_stable_series_goes_to_stable(self):
        self.write({"0000-cover-letter.patch": mail("c", "stable@vger.kernel.org"),
                    "SEND-EMAIL": "git send-email --to=stable@vger.kernel.org x\n"})
        self.assertEqual(series_mail.check_out(self.out, "stable-acked"), [])

    def test_base_commit_only_an_upstream_id(self):
        self.write({"0000-cover-letter.patch": mail("c", "m@k.org", base="deadbeef"),
                    "SEND-EMAIL": "git send-email --to=m@k.org x\n"})
        problems = series_mail.check_out(self.out, "rfc")
        self.assertTrue(any("no upstream base" in p for p in problems), problems)
        self.assertTrue(any("not a 40-hex" in p for p in
                            series_mail.check_out(self.out, "rfc", "deadbeef")))
        self.write({"0000-cover-letter.patch": mail("c", "m@k.org", base=COMMIT)})
        self.assertEqual(series_mail.check_out(self.out, "rfc", COMMIT), [])

    def test_prose_about_the_base_is_no_base_commit(self):
        # The cover letter of a machine without kvmarm's files wrapped its
        # sentence so that a line began "base-commit: Debian's tree".
        body = "So there is no\nbase-commit: Debian's tree is no upstream commit.\n"
        self.write({"0000-cover-letter.patch": mail("c", "m@k.org", body=body),
                    "SEND-EMAIL": "git send-email --to=m@k.org x\n"})
        self.assertEqual(series_mail.check_out(self.out, "rfc"), [])

    def test_base_commit_missing_when_expected(self):
        self.write({"0000-cover-letter.patch": mail("c", "m@k.org"),
                    "SEND-EMAIL": "git send-email --to=m@k.org x\n"})
        problems = series_mail.check_out(self.out, "rfc", COMMIT)
        self.assertTrue(any(re.search("no base-commit", p) for p in problems), problems)


if __name__ == "__main__":
    unittest.main()
