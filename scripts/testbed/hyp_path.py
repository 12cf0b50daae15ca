# SPDX-License-Identifier: GPL-2.0
"""Count the instructions the hyp executes for one host SMC, statically.

Walks llvm-objdump's disassembly of kvm_nvhe.o from __kvm_nvhe_handle_trap,
evaluating just enough AArch64 (a64.py: moves, bit fields, compares,
branches) to follow the path a given ESR_EL2 and host x0 take, into any
function the path calls inside the object. Every instruction on the path
is counted; a branch it cannot decide or an instruction it does not model
is an error, never a guess.

  python3 -m testbed hyp-path KVM_NVHE_O {reject|accept}

reject: smc #1 with PSCI_VERSION; counted from handle_trap's entry to its
        return.
accept: smc #0 with PSCI_VERSION; counted from handle_trap's entry up to
        and including the call to the PSCI relay.

follow() returns the count, the functions the path runs through and the
path, one instruction a line.
"""

import os
import re
import subprocess

from .a64 import Machine, Unfollowable, imm, reg_name, split_operands, step

ESR_SMC64 = 0x17 << 26 | 1 << 25
PSCI_VERSION = 0x84000000
ENTRY = "__kvm_nvhe_handle_trap"
PSCI_RELAY = "__kvm_nvhe_kvm_host_psci_handler"
# scripts/kbuild.sh's, which scripts/lib.sh exports.
LLVM_SUFFIX = os.environ.get("LLVM_SUFFIX", "-19")
OBJDUMP = f"llvm-objdump{LLVM_SUFFIX}"


def disassemble(objdump, obj):
    """Instructions by address, symbol addresses, call relocations."""
    text = subprocess.run(
        [objdump, "-dr", "--no-show-raw-insn", "--section=.hyp.text", obj],
        check=True, capture_output=True, text=True).stdout
    insns, symbols, relocs = {}, {}, {}
    for line in text.splitlines():
        m = re.match(r"^([0-9a-f]+) <([^>]+)>:$", line)
        if m:
            symbols[m.group(2)] = int(m.group(1), 16)
            continue
        m = re.match(r"^\s+([0-9a-f]+):\s+R_AARCH64_\w+\s+(\S+)", line)
        if m:
            relocs[int(m.group(1), 16)] = m.group(2)
            continue
        m = re.match(r"^\s+([0-9a-f]+):\s+(\S+)\s*(.*?)\s*(//.*)?$", line)
        if m:
            insns[int(m.group(1), 16)] = (m.group(2), m.group(3))
    return insns, symbols, relocs


def trace(insns, symbols, relocs, esr, x0_value, stop_at_call=None):
    machine = Machine(esr, x0_value)
    width_of = lambda operand: reg_name(operand)[1]
    by_address = {address: name for name, address in symbols.items()}
    pc = symbols[ENTRY]
    stack = []
    path = []
    while True:
        if pc not in insns:
            raise Unfollowable(f"no instruction at {pc:#x}")
        mnemonic, ops = insns[pc]
        path.append(f"{pc:#x} {mnemonic} {ops}".strip())
        if len(path) > 10000:
            raise Unfollowable("path does not end")
        o = split_operands(ops)
        target = lambda: int(o[-1].split()[0], 16)
        if mnemonic == "ret":
            if not stack:
                return path
            pc = stack.pop()
            continue
        if mnemonic == "b":
            callee = relocs.get(pc)
            pc = symbols[callee] if callee else target()
            continue
        if mnemonic.startswith("b."):
            pc = target() if machine.condition(mnemonic[2:]) else pc + 4
            continue
        if mnemonic in ("cbz", "cbnz", "tbz", "tbnz"):
            value = machine.get(o[0])
            if not machine.known(value):
                raise Unfollowable(f"{mnemonic} on unknown {o[0]} at {pc:#x}")
            if mnemonic.startswith("t"):
                bit_set = bool(value >> imm(o[1]) & 1)
                taken = bit_set if mnemonic == "tbnz" else not bit_set
            else:
                taken = value != 0 if mnemonic == "cbnz" else value == 0
            pc = target() if taken else pc + 4
            continue
        if mnemonic == "bl":
            callee = relocs.get(pc) or by_address.get(target())
            if callee == stop_at_call:
                return path
            if callee not in symbols:
                raise Unfollowable(f"call to {callee} at {pc:#x}")
            stack.append(pc + 4)
            pc = symbols[callee]
            continue
        if mnemonic in ("blr", "br"):
            raise Unfollowable(f"indirect branch at {pc:#x}")
        step(machine, mnemonic, ops, width_of, relocs.get(pc))
        pc += 4


def functions_on(path, symbols):
    """The functions the path runs through, in order of first visit: its
    instructions are in them, inlined callees included."""
    starts = sorted((address, name) for name, address in symbols.items())
    seen = []
    for line in path:
        pc = int(line.split()[0], 16)
        owner = max(((a, n) for a, n in starts if a <= pc), default=(0, "?"))[1]
        if owner not in seen:
            seen.append(owner)
    return seen


def follow(obj, which, objdump=OBJDUMP, disassembly=None):
    """The reject or accept path through OBJ, as a dict; DISASSEMBLY, if
    given, is disassemble()'s of OBJ, for a caller that follows both."""
    insns, symbols, relocs = disassembly or disassemble(objdump, obj)
    if which == "reject":
        path = trace(insns, symbols, relocs, ESR_SMC64 | 1, PSCI_VERSION)
    elif which == "accept":
        path = trace(insns, symbols, relocs, ESR_SMC64, PSCI_VERSION,
                     stop_at_call=PSCI_RELAY)
    else:
        raise ValueError(f"unknown path {which}: use reject or accept")
    return {"path": which, "instructions": len(path),
            "functions": functions_on(path, symbols), "trace": path}
