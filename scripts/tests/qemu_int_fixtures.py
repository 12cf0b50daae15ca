# SPDX-License-Identifier: GPL-2.0
"""What the tests of scripts/qemu_int_scan.py feed it: excerpts of QEMU
7.2's -d int log, verbatim from boots of the testbed's 6.12 kernels
(qemu-int/), and the pieces of synthetic logs."""

import contextlib
import io
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "qemu_int_scan.py"
sys.path.insert(0, str(SCRIPT.parent))
import qemu_int_scan  # noqa: E402

EXCERPTS = Path(__file__).resolve().parent / "qemu-int"

# 6.12 stock: the host's smc #1 PSCI_VERSION trapped on CPU 3, relayed to
# EL3 as smc #0 (QEMU's PSCI answers it), the eret after the smc.
STOCK_LEAK = (EXCERPTS / "6.12-stock-leak.log").read_text()

# 6.12 backport: the same smc #1 rejected by EL2, nothing forwarded; an IRQ
# that shows the SMC's stale ESR.
BACKPORT_REJECT = (EXCERPTS / "6.12-backport-reject.log").read_text()

# A power-down CPU_SUSPEND: QEMU's PSCI suspends the CPU before it logs
# "...handled as PSCI call".
SUSPEND = (EXCERPTS / "psci-suspend.log").read_text()


def trap(cpu, imm, elr):
    """A host smc #imm at elr, trapped to EL2 (HCR_EL2.TSC)."""
    return (f"Taking exception 12 [Hypervisor Trap] on CPU {cpu}\n...from EL1 to EL2\n"
            f"...with ESR 0x17/{0x5e000000 | imm:#x}\n...with ELR {elr:#x}\n"
            "...to EL2 PC 0x800000044c400 PSTATE 0x3c9\n")


def psci(cpu, from_el, imm=0, handled=True):
    """An SMC that QEMU answers as PSCI firmware."""
    return (f"Taking exception 13 [Secure Monitor Call] on CPU {cpu}\n...from EL{from_el} to EL3\n"
            f"...with ESR 0x17/{0x5e000000 | imm:#x}\n" + ("...handled as PSCI call\n" if handled else ""))


def eret(pc, to_el=1):
    return f"Exception return from AArch64 EL2 to AArch64 EL{to_el} PC {pc:#x}\n"


def irq(cpu, from_el=1):
    return (f"Taking exception 5 [IRQ] on CPU {cpu}\n...from EL{from_el} to EL1\n...with ESR 0x17/0x5e000001\n"
            f"...with ELR 0xffff800080086e88\n...to EL1 PC 0xffff800080010a80 PSTATE 0x3c5\n")


def svc(cpu):
    return (f"Taking exception 2 [SVC] on CPU {cpu}\n...from EL0 to EL1\n...with ESR 0x15/0x56000000\n"
            "...with ELR 0x4a4f60\n...to EL1 PC 0xffff800080010e00 PSTATE 0x3c5\n")


def scan(log, mode="pkvm", nonzero_imm=False, stuck_after=1000, keep_tail=200, chunk=None):
    """The failed checks by name, and the scanner; chunk: bytes per read."""
    scanner = qemu_int_scan.Scanner(mode, nonzero_imm, stuck_after, keep_tail)
    data = io.BytesIO(log.encode() if isinstance(log, str) else log)
    failed = scanner.feed(data.read if chunk is None else lambda n: data.read(chunk))
    return {f["name"]: f["detail"] for f in failed}, scanner


def run_main(*argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = qemu_int_scan.main(list(argv))
        except SystemExit as e:
            status = e.code
    return status, out.getvalue(), err.getvalue()
