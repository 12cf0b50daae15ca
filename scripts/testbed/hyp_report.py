# SPDX-License-Identifier: GPL-2.0
"""What the Rust handler costs against the C one of the same tree and
profile (make hyp-report), from the kvm_nvhe.o each build kept: the
instructions executed for a rejected smc #1 (handle_trap's entry to its
return) and for smc #0 up to the PSCI relay call (hyp_path.py), and the
.hyp.text bytes of the functions those paths run through. With the
hardened profile's ThinLTO the Rust objects join the hyp's LTO link, and
handle_host_smc can be inlined into handle_trap like the C one is. Every
build of build/KERNEL-{stock,backport,rust}[-gcc|-hardened] that exists
is shown."""

import json
import re
import subprocess

from . import paths
from .axes import CONFIG_PROFILES, HANDLER_ORDER, KERNELS, variant_name
from .hyp_path import LLVM_SUFFIX, OBJDUMP, disassemble, follow

HEADER = ("kernel", "handler", "profile", "lto", "text bytes", "reject insns", "accept insns")
# The handler's functions, as an extended regular expression a symbol
# name must match whole: here every one the object holds is counted, on a
# path or not (a copy that nothing calls still takes room in .hyp.text);
# scripts/check-hyp-build.sh refuses any of them under NVHE_RUST_LTO
# (python3 -m testbed handler-symbols).
HANDLER_SYMBOLS = (r"__kvm_nvhe_(handle_host_smc|default_host_smc_handler|rust_helper_.*)"
                   r"|.*host_smc_policy5relay.*")
HANDLER_FUNCTIONS = re.compile(f"^({HANDLER_SYMBOLS})$")


def sizes(obj):
    """Each symbol's size in OBJ, by name (llvm-nm -S)."""
    out = subprocess.run([f"llvm-nm{LLVM_SUFFIX}", "-S", "--radix=d", str(obj)],
                         check=True, capture_output=True, text=True).stdout
    found = {}
    for line in out.splitlines():
        fields = line.split()
        if len(fields) == 4:
            found[fields[3]] = found.get(fields[3], 0) + int(fields[1])
    return found


def text_bytes(obj, functions):
    """The bytes of FUNCTIONS and of every function of the handler."""
    return sum(size for name, size in sizes(obj).items()
               if name in functions or HANDLER_FUNCTIONS.search(name))


def row(kernel, handler, profile):
    """One build's figures, or None where it has not been built."""
    out = paths.BUILD / variant_name(kernel, handler, profile)
    obj = out / "kvm_nvhe.o"
    if not obj.is_file():
        return None
    # Both paths run through the same disassembly.
    disassembly = disassemble(OBJDUMP, obj)
    accept = follow(obj, "accept", disassembly=disassembly)
    functions = set(accept["functions"])
    # 6.12's own C handler has no reject path: smc #1 is relayed.
    reject = "none"
    if (kernel, handler) != ("6.12", "stock"):
        path = follow(obj, "reject", disassembly=disassembly)
        functions |= set(path["functions"])
        reject = path["instructions"]
    lto = json.loads((out / "build.json").read_text()).get("lto")
    return (kernel, handler, profile, "yes" if lto else "no", text_bytes(obj, functions),
            reject, accept["instructions"])


def rows(kernels=KERNELS):
    found = [row(k, h, p) for k in kernels for p in CONFIG_PROFILES for h in HANDLER_ORDER]
    return [r for r in found if r]


def table(found, tsv=False):
    if tsv:
        return "".join("\t".join(map(str, r)) + "\n" for r in found)
    fmt = "{:<6} {:<8} {:<8} {:<4} {:>10} {:>13} {:>13}\n"
    return "".join(fmt.format(*r) for r in [HEADER] + found)
