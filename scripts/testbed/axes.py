# SPDX-License-Identifier: GPL-2.0
"""The axes of a row, defined once: scripts/lib.sh checks the same names
for the shell scripts, and hyp/glue/KERNEL/variants says which handlers a
tree has."""

from .paths import ROOT

KERNELS = ("6.12", "7.3")
# minimal and hardened: the testbed's configurations of Debian's source;
# gcc: the minimal one built with GCC (scripts/lib.sh: profile_cc);
# debian: Debian's own kernel package (scripts/debian-build.sh).
PROFILES = ("minimal", "hardened", "gcc", "debian")
CPUS = ("max", "neoverse-n1", "cortex-a57")
MODES = ("hvhe", "nvhe", "vhe", "insmod", "pkvm-fail", "kvm", "kvm-vhe")
# Booted in this order, so that a C handler's row is there to compare the
# Rust one with.
HANDLER_ORDER = ("stock", "backport", "rust")
AXES = ("kernel", "handler", "profile", "cpu", "mode")


def handlers_of(kernel):
    """The handlers hyp/glue/KERNEL/variants defines, in its order."""
    path = ROOT / "hyp/glue" / kernel / "variants"
    return [line.split()[0] for line in path.read_text().splitlines()
            if line[:1].isalpha()]


def variant_name(kernel, handler, profile):
    """build/KERNEL-HANDLER[-PROFILE]: one build's outputs."""
    return f"{kernel}-{handler}" + ("" if profile == "minimal" else f"-{profile}")


def row_id(row):
    """A row as one word: 7.3-rust-hardened-max-hvhe."""
    return "-".join(row[k] for k in AXES)


def reference_handler(kernel):
    """The C handler a Rust row is compared with: the stable backport of
    upstream's checks where the tree needs one, else the tree's own."""
    return "backport" if "backport" in handlers_of(kernel) else "stock"
