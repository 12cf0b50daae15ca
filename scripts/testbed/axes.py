# SPDX-License-Identifier: GPL-2.0
"""The axes of a row, defined once: the shell scripts check their
arguments through `python3 -m testbed validate` (scripts/lib.sh), and
hyp/glue/KERNEL/variants says which handlers a tree has."""

from .paths import ROOT

# Debian's source package of each kernel: 7.3 from trixie-backports, 6.12
# from bookworm (scripts/kernel-source.sh).
KERNEL_PACKAGES = {"6.12": "linux-source-6.12", "7.3": "linux-source-7.3"}
KERNELS = tuple(KERNEL_PACKAGES)
# Whether Debian's own arm64 kernel of that version is built with Rust
# (CONFIG_RUST=y): 7.3 is, 6.12 is not (RUSTC_VERSION=0), so no Rust module
# loads into it and no Debian user runs a Rust hyp on it.
DEBIAN_HAS_RUST = {"6.12": False, "7.3": True}
# minimal and hardened: the testbed's configurations of Debian's source,
# built with clang; gcc: the minimal one built with GCC, as Debian builds
# its kernels (scripts/kbuild.sh: profile_cc); debian: Debian's own kernel
# package (scripts/debian-build.sh).
PROFILES = ("minimal", "gcc", "hardened", "debian")
# The profiles made from the testbed's configuration fragments: the ones
# the reports compare Rust and C in, in this order, and of which the first
# the matrix builds a kernel in is the kernel's default (scripts/lib.sh:
# work_profile).
CONFIG_PROFILES = PROFILES[:3]
# QEMU CPU models with EL2, and whether each has VHE: max has VHE, PAC and
# BTI; neoverse-n1 VHE without PAC (dynamic SCS patches the kernel);
# cortex-a57 no VHE (pKVM runs classic nVHE without any override).
CPU_HAS_VHE = {"max": True, "neoverse-n1": True, "cortex-a57": False}
CPUS = tuple(CPU_HAS_VHE)
# bench: the benchmark module instead of the selftest (scripts/bench.sh),
# not a row of the matrix.
MODES = ("hvhe", "nvhe", "vhe", "insmod", "pkvm-fail", "kvm", "kvm-vhe", "bench")
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


def _one_of(values):
    *rest, last = values
    return f"{', '.join(rest)} or {last}" if rest else last


def invalid(kernel=None, handler=None, profile=None, cpu=None, mode=None):
    """What is wrong with the axes given (None: not given), as the error
    a user reads, or None. Names are compared as strings: they come from
    the command line (HANDLER='.*' once matched a variant as a pattern)."""
    if kernel is not None and kernel not in KERNELS:
        return f"unknown KERNEL '{kernel}'; use KERNEL={_one_of(KERNELS)}"
    if handler is not None:
        handlers = handlers_of(kernel) if kernel else HANDLER_ORDER
        if handler not in handlers:
            return (f"unknown HANDLER '{handler}'" + (f" for KERNEL={kernel}" if kernel else "")
                    + f"; use one of: {' '.join(handlers)}")
    if profile is not None:
        if profile not in PROFILES:
            return f"unknown PROFILE '{profile}'; use PROFILE={_one_of(PROFILES)}"
        if profile == "debian" and handler not in (None, "stock"):
            return ("PROFILE=debian is Debian's own kernel, whose handler is its own: "
                    "use HANDLER=stock")
    if cpu is not None and cpu not in CPUS:
        return f"unknown CPU '{cpu}'; use CPU={_one_of(CPUS)}"
    if mode is not None:
        if mode not in MODES:
            return f"unknown MODE '{mode}'; use MODE={_one_of(MODES)}"
        # Every mode but nvhe boots hVHE or VHE (insmod and pkvm-fail boot
        # hVHE).
        if cpu is not None and not CPU_HAS_VHE[cpu] and mode != "nvhe":
            instead = ("MODE=nvhe" if mode != "bench"
                       else "a CPU with VHE: " + " or ".join(c for c in CPUS if CPU_HAS_VHE[c]))
            return f"CPU={cpu} has no VHE, so MODE={mode} cannot run on it; use {instead}"
    return None
