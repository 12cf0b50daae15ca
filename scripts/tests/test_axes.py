# SPDX-License-Identifier: GPL-2.0
"""scripts/testbed/axes.py: the one definition of the axes, which the shell
scripts check their arguments against (scripts/lib.sh: check_axes)."""

import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from testbed import axes, qemu_configs  # noqa: E402


class Invalid(unittest.TestCase):
    def test_a_handler_is_a_name_not_a_pattern(self):
        for handler in (".*", "#", "rus", "rust.*", ""):
            self.assertIn("unknown HANDLER", axes.invalid(kernel="7.3", handler=handler))
        self.assertIsNone(axes.invalid(kernel="7.3", handler="rust"))
        self.assertIsNone(axes.invalid(kernel="6.12", handler="backport"))
        self.assertIn("for KERNEL=7.3", axes.invalid(kernel="7.3", handler="backport"))

    def test_each_axis_names_its_values(self):
        self.assertEqual(axes.invalid(kernel="7.4"), "unknown KERNEL '7.4'; use KERNEL=6.12 or 7.3")
        self.assertIn("minimal, gcc, hardened or debian", axes.invalid(profile="x"))
        self.assertIn("CPU=max, neoverse-n1 or cortex-a57", axes.invalid(cpu="a53"))
        self.assertIn("MODE=hvhe, nvhe", axes.invalid(mode="protected"))

    def test_axes_are_checked_together(self):
        self.assertIn("use HANDLER=stock",
                      axes.invalid(kernel="7.3", handler="rust", profile="debian"))
        self.assertIn("has no VHE", axes.invalid(cpu="cortex-a57", mode="hvhe"))
        self.assertIsNone(axes.invalid(cpu="cortex-a57", mode="nvhe"))

    def test_every_mode_boots_as_the_data_says(self):
        self.assertEqual(set(axes.MODES), set(qemu_configs.MODES))
        machine = qemu_configs.MACHINE
        self.assertEqual(qemu_configs.machine("max", "bench"),
                         (machine, "max,pauth-impdef=on", 1, "1G", 300, "-icount", "shift=0"))
        self.assertEqual(qemu_configs.machine("cortex-a57", "nvhe"),
                         (machine, "cortex-a57", 2, "1G", 300))

    def test_every_cpu_has_its_qemu_model(self):
        self.assertEqual(set(axes.CPUS), set(qemu_configs.QEMU_CPU))

    def test_machine_fields_are_words(self):
        # boot.sh and debian-boot.sh split them with read -r.
        for cpu in axes.CPUS:
            for mode in axes.MODES:
                for field in qemu_configs.machine(cpu, mode):
                    self.assertRegex(str(field), r"^\S+$", (cpu, mode))


if __name__ == "__main__":
    unittest.main()
