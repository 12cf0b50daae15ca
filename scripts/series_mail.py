#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""What scripts/patches.sh checks of a series as mail, without a kernel.

  series_mail.py apply-check BASE_FILE CACHE_ROOT JSON_OUT PATCH...
  series_mail.py applies APPLY_JSON
  series_mail.py status APPLY_JSON
  series_mail.py base-text APPLY_JSON
  series_mail.py check-out OUT_DIR KIND [BASE_COMMIT]

apply-check: does the series apply to the upstream tree that BASE_FILE
(hyp/glue/KERNEL/kvmarm-base) names? BASE_FILE gives the commit and, for
every file the series touches, the git blob id of the copy read at that
commit, or "unread" when no copy could be read. The copies are kept out
of the repository, in CACHE_ROOT/<commit>/<path> (kernel sources are not
committed here). The patches, the series as mailed (git format-patch),
are applied in order with git apply to a scratch directory holding the
copies whose blob id is the one BASE_FILE records; a file that was not
read is not checked, and the result says so. Prints the result, one
"apply:" line first, and writes it as JSON to JSON_OUT for the cover
letter and the base-commit.

applies: exit 0 if that check found that the series applies to every file
it touches, else 1.

status: that check's result in one word (applies, partial, fails, unchecked).

base-text: the cover letter's sentences on that check, and on why there is
a base-commit or none.

check-out: the generated series in OUT_DIR, of KIND (rfc, stable, or
stable-acked), is what it must be: a stable series not yet acked by the
KVM/arm64 maintainers is addressed to nobody at stable@ and has no send
command; a base-commit, if any, is BASE_COMMIT, a 40-hex upstream id.
"""

import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

STABLE_LIST = "stable@vger.kernel.org"
HEX40 = re.compile(r"^[0-9a-f]{40}$")


class BaseFileError(Exception):
    pass


def read_base(path):
    """BASE_FILE: {"commit": ID, "files": {path: blob id or None}}."""
    commit, files = None, {}
    for number, line in enumerate(Path(path).read_text().splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        fields = line.split()
        if fields[0] == "commit" and len(fields) == 2 and HEX40.match(fields[1]):
            commit = fields[1]
        elif fields[0] == "file" and len(fields) == 3 and HEX40.match(fields[2]):
            files[fields[1]] = fields[2]
        elif fields[0] == "unread" and len(fields) == 2:
            files[fields[1]] = None
        else:
            raise BaseFileError(f"{path}:{number}: not 'commit ID', 'file PATH BLOB' "
                                f"or 'unread PATH': {line}")
    if commit is None:
        raise BaseFileError(f"{path}: no 'commit ID' line (a 40-hex upstream commit)")
    return {"commit": commit, "files": files}


def touched(patch):
    """The files PATCH changes, in order, and those it creates."""
    files, created, old = [], set(), None
    for line in Path(patch).read_text().splitlines():
        if line.startswith("--- "):
            old = line[4:].split("\t")[0]
        elif line.startswith("+++ ") and old is not None:
            new = line[4:].split("\t")[0]
            path = new[2:] if new.startswith("b/") else old[2:]
            if path not in files:
                files.append(path)
            if old == "/dev/null":
                created.add(path)
            old = None
    return files, created


def blob_id(path):
    return subprocess.run(["git", "hash-object", "--no-filters", str(path)],
                          check=True, capture_output=True, text=True).stdout.strip()


def apply_check(base_file, cache_root, patches):
    base = read_base(base_file)
    commit = base["commit"]
    tree = Path(cache_root) / commit
    series_files, created = [], set()
    for patch in patches:
        files, new = touched(patch)
        series_files += [f for f in files if f not in series_files]
        created |= new
    result = {"commit": commit, "cache": str(tree), "files": len(series_files),
              "checked": [], "unread": [], "missing": [], "stale": [],
              "unlisted": [], "created": [], "failures": [], "hunks": []}
    for path in series_files:
        if path in created and path not in base["files"]:
            # The mail creates the files of hyp/ that the glue patches
            # leave to hyp-install; none could be listed as read there.
            result["created"].append(path)
        elif path not in base["files"]:
            result["unlisted"].append(path)
        elif base["files"][path] is None:
            result["unread"].append(path)
        elif not (tree / path).is_file():
            result["missing"].append(path)
        elif blob_id(tree / path) != base["files"][path]:
            result["stale"].append(path)
        else:
            result["checked"].append(path)
    if result["checked"]:
        with tempfile.TemporaryDirectory() as scratch:
            for path in result["checked"]:
                (Path(scratch) / path).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(tree / path, Path(scratch) / path)
            includes = [f"--include={path}" for path in result["checked"]]
            for patch in patches:
                run = subprocess.run(["git", "apply", "-v", *includes, str(Path(patch).resolve())],
                                     cwd=scratch, capture_output=True, text=True)
                name = Path(patch).name
                for line in (run.stdout + run.stderr).splitlines():
                    if line.startswith("Hunk #") or line.startswith("error:"):
                        result["failures" if line.startswith("error:") or "FAILED" in line
                               else "hunks"].append(f"{name}: {line}")
                if run.returncode != 0 and not any(f.startswith(name) for f in result["failures"]):
                    result["failures"].append(f"{name}: git apply exited {run.returncode}")
                if run.returncode != 0:
                    break
    result["status"] = ("fails" if result["failures"] else "unchecked" if not result["checked"]
                        else "applies" if len(result["checked"]) == len(series_files)
                        else "partial")
    return result


def report_lines(result):
    """The result as patches.sh prints it: the "apply:" line first."""
    commit, short = result["commit"], result["commit"][:12]
    checked = ", ".join(result["checked"])
    n, total = len(result["checked"]), result["files"]
    status = result["status"]
    if status == "applies":
        lines = [f"apply: the series applies to kvmarm {commit} ({n} files as read "
                 f"at that commit: {checked})"]
    elif status == "partial":
        lines = [f"apply: the series' changes to the {n} of its {total} files read at "
                 f"kvmarm {commit} apply there ({checked}); the other "
                 f"{total - n} are not checked (below)"]
    elif status == "fails":
        lines = [f"apply: the series does NOT apply to kvmarm {commit}:"]
        lines += [f"apply:   {failure}" for failure in result["failures"]]
    else:
        lines = [f"apply: not checked against kvmarm {commit}: none of the series' "
                 f"{total} files is there to check (below)"]
    lines += [f"apply:   {hunk}" for hunk in result["hunks"]]
    if result["unread"]:
        lines.append(f"apply: not checked, no copy read at {short}: "
                     + ", ".join(result["unread"]))
    if result["missing"]:
        lines.append(f"apply: not checked, read at {short} but not in {result['cache']}: "
                     + ", ".join(result["missing"]) + "; put each there as "
                     f"'git show {commit}:PATH' prints it (a kvmarm clone), then rerun")
    if result["stale"]:
        lines.append(f"apply: not checked, the copy in {result['cache']} is not the blob "
                     "the base file records: " + ", ".join(result["stale"]))
    if result["created"]:
        lines.append("apply: not checked, created by the series (whether kvmarm has a file "
                     "of that name was not read): " + ", ".join(result["created"]))
    if result["unlisted"]:
        lines.append("apply: not checked, the base file does not list: "
                     + ", ".join(result["unlisted"]) + "; add a 'file' or 'unread' line")
    return lines


def listing(items):
    items = list(items)
    if len(items) < 2:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def base_text(result):
    """The cover letter's sentences on the apply check and the base."""
    commit = result["commit"]
    hunks = [re.sub(r"Hunk #(\d+) succeeded at (\d+) \(offset (-?\d+) lines?\)",
                    r"hunk \1 at line \2, offset \3 lines", h.split(": ", 1)[1].rstrip("."))
             for h in result["hunks"]]
    where = f" ({'; '.join(hunks)})" if hunks else ""
    unchecked = (result["unread"] + result["missing"] + result["stale"] + result["unlisted"]
                 + result.get("created", []))
    status = result["status"]
    if status == "applies":
        return (f"It was checked with git apply against kvmarm at commit {commit}: it "
                f"applies to every file it touches as kvmarm has them there{where}. "
                "The base-commit below is that commit.")
    if status == "partial":
        return (f"It was checked with git apply against kvmarm at commit {commit}, "
                "whose files were read one by one, without a clone: of the "
                f"{result['files']} files the series touches, {listing(result['checked'])} "
                f"could be read there, and the series' changes to "
                f"{'it' if len(result['checked']) == 1 else 'them'} apply{where}; "
                f"{listing(unchecked)} could not, and were not checked. So there is "
                "no base-commit; the series has not been shown to apply to any "
                "upstream commit as a whole.")
    if status == "fails":
        failures = "; ".join(f.split(": ", 1)[1] for f in result["failures"])
        return (f"It does not apply to kvmarm as of commit {commit} ({failures}), "
                "so it has no base-commit; a version rebased onto kvmarm will follow "
                "if the approach is acceptable.")
    return (f"It could not be checked against kvmarm at commit {commit}: none of "
            f"the files it touches could be read there ({listing(unchecked)}). So "
            "there is no base-commit; Debian's tree is no upstream commit.")


def check_out(out_dir, kind, base_commit=None):
    """Problems of the generated series in OUT_DIR, as sentences."""
    out = Path(out_dir)
    problems = []
    mails = sorted(out.glob("[0-9][0-9][0-9][0-9]-*.patch"))
    if not mails:
        return [f"{out}: no mail"]
    if base_commit is not None and not HEX40.match(base_commit):
        problems.append(f"base-commit '{base_commit}' is not a 40-hex commit id")
    for mail in mails:
        text = mail.read_text()
        header = text.split("\n\n", 1)[0]
        # RFC 5322 unfolding: a header continues on lines that start with
        # white space.
        header = re.sub(r"\n[ \t]+", " ", header)
        for line in header.splitlines():
            name, _, value = line.partition(":")
            if name.lower() in ("to", "cc") and STABLE_LIST in value.lower() \
                    and kind != "stable-acked":
                problems.append(f"{mail.name}: {name}: {STABLE_LIST}, but the KVM/arm64 "
                                "maintainers have not agreed to the backport")
        # The trailer alone on its line: prose may wrap to start a line with
        # the words (it did without kvmarm's files, failing a cold run).
        for found in re.findall(r"^base-commit: *(\S*) *$", text, re.M):
            if base_commit is None:
                problems.append(f"{mail.name}: base-commit: {found}, but the series "
                                "has no upstream base")
            elif found != base_commit:
                problems.append(f"{mail.name}: base-commit: {found}, not {base_commit}")
    if base_commit is not None and "base-commit: " + base_commit not in mails[0].read_text():
        problems.append(f"{mails[0].name}: no base-commit: {base_commit}")
    send = out / "SEND-EMAIL"
    if kind == "stable" and send.exists():
        problems.append(f"{send}: a send command for a stable series the KVM/arm64 "
                        "maintainers have not agreed to")
    if kind == "stable" and not (out / "ACK-NEEDED").exists():
        problems.append(f"{out}/ACK-NEEDED is missing: it says why the series is not sent")
    if kind in ("rfc", "stable-acked") and not send.exists():
        problems.append(f"{send} is missing")
    if send.exists() and kind != "stable-acked" and STABLE_LIST in send.read_text():
        problems.append(f"{send}: addresses {STABLE_LIST}")
    return problems


def main(argv):
    if len(argv) >= 5 and argv[1] == "apply-check":
        try:
            result = apply_check(argv[2], argv[3], argv[5:])
        except BaseFileError as error:
            print(f"apply: {error}", file=sys.stderr)
            return 2
        Path(argv[4]).write_text(json.dumps(result, indent=1) + "\n")
        print("\n".join(report_lines(result)))
        return 0
    if len(argv) == 3 and argv[1] == "applies":
        return 0 if json.loads(Path(argv[2]).read_text())["status"] == "applies" else 1
    if len(argv) == 3 and argv[1] == "status":
        print(json.loads(Path(argv[2]).read_text())["status"])
        return 0
    if len(argv) == 3 and argv[1] == "base-text":
        print(base_text(json.loads(Path(argv[2]).read_text())))
        return 0
    if len(argv) in (4, 5) and argv[1] == "check-out" and \
            argv[3] in ("rfc", "stable", "stable-acked"):
        problems = check_out(argv[2], argv[3], argv[4] if len(argv) == 5 else None)
        for problem in problems:
            print(problem, file=sys.stderr)
        return 1 if problems else 0
    print("usage:\n" + "\n".join(__doc__.strip().splitlines()[2:7]), file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
