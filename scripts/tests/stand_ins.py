# SPDX-License-Identifier: GPL-2.0
"""What the tests of make check's steps and lanes stand in with: a Run
that keeps the steps it is given, and a build/ of their own."""

import shutil
import sys
import tempfile
import unittest
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from testbed import paths  # noqa: E402


class StandInRun:
    """What results.Run.step records, kept in data["steps"]."""

    def __init__(self):
        self.data = {"steps": []}

    def step(self, name, ok, seconds, log=None, note=""):
        entry = {"name": name, "ok": ok, "seconds": seconds, "log": log, "note": note}
        self.data["steps"].append(entry)
        return entry


class InBuildDir(unittest.TestCase):
    """A test whose build/ (testbed.paths.BUILD) is a directory of its own,
    self.tmp, removed after it."""

    def setUp(self):
        self.tmp = Path(tempfile.mkdtemp())
        self.addCleanup(shutil.rmtree, self.tmp)
        patcher = mock.patch.object(paths, "BUILD", self.tmp)
        patcher.start()
        self.addCleanup(patcher.stop)
