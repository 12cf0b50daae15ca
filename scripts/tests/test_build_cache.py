# SPDX-License-Identifier: GPL-2.0
"""scripts/build-cache.sh: an entry cache_has finds is not the one another
kernel's cache_put prunes before cache_take copies it (make check builds
its kernels side by side, testbed/lanes.py)."""

import os
import shutil
import subprocess
import tempfile
import unittest
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parent.parent


def shell(cache, script):
    """Runs script with lib.sh and build-cache.sh sourced, against cache."""
    return subprocess.run(
        ["bash", "-c", 'set -euo pipefail; . "$1/lib.sh"; . "$1/build-cache.sh"; ' + script,
         "shell", str(SCRIPTS)],
        env={**os.environ, "PKVM_SMC_CACHE": str(cache)}, capture_output=True, text=True)


class Prune(unittest.TestCase):
    def setUp(self):
        self.cache = Path(tempfile.mkdtemp())
        self.addCleanup(shutil.rmtree, self.cache)
        keep = int(shell(self.cache, 'echo "$KEEP_BUILDS"').stdout)
        # As many entries as the cache keeps, the first the oldest.
        self.builds = self.cache / "builds"
        for i in range(keep):
            entry = self.builds / f"key{i:03}"
            entry.mkdir(parents=True)
            (entry / "build.json").write_text("{}\n")
            os.utime(entry, (1_000_000 + i, 1_000_000 + i))
        self.out = self.cache / "out"
        self.out.mkdir()

    def test_an_entry_found_outlives_another_kernels_put(self):
        # Found as the oldest, then another kernel puts a build: the prune
        # takes the next oldest, not the one about to be copied.
        found = shell(self.cache, "cache_has key000")
        self.assertEqual(found.returncode, 0, found.stderr)
        put = shell(self.cache, f"cache_put newkey {self.out}")
        self.assertEqual(put.returncode, 0, put.stderr)
        self.assertTrue((self.builds / "key000" / "build.json").is_file())
        self.assertFalse((self.builds / "key001").exists())
        self.assertTrue((self.builds / "newkey").is_dir())

    def test_an_entry_not_there_is_not_made(self):
        self.assertEqual(shell(self.cache, "cache_has nokey").returncode, 1)
        self.assertFalse((self.builds / "nokey").exists())


if __name__ == "__main__":
    unittest.main()
