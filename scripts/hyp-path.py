#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Count the instructions the hyp executes for one host SMC, statically.

Walks llvm-objdump's disassembly of kvm_nvhe.o from __kvm_nvhe_handle_trap,
evaluating just enough AArch64 (moves, bit fields, compares, branches) to
follow the path a given ESR_EL2 and host x0 take, into any function the
path calls inside the object. Every instruction on the path is counted; a
branch it cannot decide or an instruction it does not model is an error,
never a guess.

  hyp-path.py OBJDUMP KVM_NVHE_O {reject|accept}

reject: smc #1 with PSCI_VERSION; counted from handle_trap's entry to its
        return.
accept: smc #0 with PSCI_VERSION; counted from handle_trap's entry up to
        and including the call to the PSCI relay.

Prints the count, the functions the path runs through and the path, one
instruction a line, as JSON.
"""

import json
import re
import subprocess
import sys

MASK64 = (1 << 64) - 1
ESR_SMC64 = 0x17 << 26 | 1 << 25
PSCI_VERSION = 0x84000000
ENTRY = "__kvm_nvhe_handle_trap"
PSCI_RELAY = "__kvm_nvhe_kvm_host_psci_handler"
CTXT = "ctxt"  # symbolic base of the host context x0 points to


class Unfollowable(Exception):
    pass


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


def reg_name(operand):
    operand = operand.strip()
    if operand in ("sp", "wsp"):
        return "sp", 64
    if operand in ("xzr", "wzr"):
        return "zr", 32 if operand == "wzr" else 64
    m = re.fullmatch(r"([xw])(\d+)", operand)
    if not m:
        raise Unfollowable(f"not a register: {operand}")
    return "x" + m.group(2), 64 if m.group(1) == "x" else 32


def imm(operand):
    return int(operand.strip().lstrip("#"), 0)


def split_operands(operands):
    return [o.strip() for o in re.split(r",(?![^\[]*\])", operands) if o.strip()]


class Machine:
    def __init__(self, esr, x0_value):
        self.regs = {"x0": CTXT}
        self.memory = {(CTXT, 0): x0_value}
        self.esr = esr
        self.flags = None  # (n, z, c, v)

    def get(self, operand):
        if operand.startswith("#"):
            return imm(operand)
        name, width = reg_name(operand)
        if name == "zr":
            return 0
        value = self.regs.get(name)
        if isinstance(value, int) and width == 32:
            return value & 0xFFFFFFFF
        return value

    def set(self, operand, value):
        name, width = reg_name(operand)
        if name == "zr":
            return
        if isinstance(value, int):
            value &= MASK64 if width == 64 else 0xFFFFFFFF
        self.regs[name] = value

    def known(self, *values):
        return all(isinstance(v, int) for v in values)

    def compare(self, a, b, width, add=False):
        if not self.known(a, b):
            self.flags = None
            return
        mask = MASK64 if width == 64 else 0xFFFFFFFF
        sign = 1 << (width - 1)
        b_eff = b if add else (~b & mask)
        total = a + b_eff + (0 if add else 1)
        result = total & mask
        n = bool(result & sign)
        z = result == 0
        c = total > mask
        v = bool((~(a ^ b_eff) & (a ^ result)) & sign)
        self.flags = (n, z, c, v)

    def test(self, a, b, width):
        if not self.known(a, b):
            self.flags = None
            return
        result = a & b & (MASK64 if width == 64 else 0xFFFFFFFF)
        self.flags = (bool(result >> (width - 1)), result == 0, False, False)

    def condition(self, cond):
        if self.flags is None:
            raise Unfollowable(f"b.{cond} on unknown flags")
        n, z, c, v = self.flags
        return {
            "eq": z, "ne": not z, "hs": c, "cs": c, "lo": not c, "cc": not c,
            "mi": n, "pl": not n, "vs": v, "vc": not v,
            "hi": c and not z, "ls": not c or z,
            "ge": n == v, "lt": n != v, "gt": not z and n == v, "le": z or n != v,
        }[cond]


# Loads from these symbols are known: EL2 tracing's per-event "enabled"
# words, 0 while nothing has enabled the event, as at boot and in every run
# of this project (the hardened profile builds the tracing, nothing turns it
# on).
KNOWN_ZERO_SYMBOLS = re.compile(r"__kvm_nvhe_hyp_event_id_\w+")


def symbolic(reloc):
    """The value adrp or a :lo12: add gives: the symbol's address."""
    return ("sym", reloc.split("+")[0])


def load(machine, address_operand, reloc):
    """What a load reads: host x0 from the context, a known-zero symbol's
    word, or unknown."""
    m = re.fullmatch(r"\[(\w+)(?:, #(-?0x[0-9a-f]+|-?\d+))?\]", address_operand)
    if not m:
        return None
    base = machine.get(m.group(1))
    offset = int(m.group(2), 0) if m.group(2) else 0
    if isinstance(base, tuple) and KNOWN_ZERO_SYMBOLS.fullmatch(base[1]):
        return 0
    if reloc and KNOWN_ZERO_SYMBOLS.fullmatch(reloc.split("+")[0]):
        return 0
    return machine.memory.get((base, offset))


def step(machine, mnemonic, ops, width_of, reloc=None):
    """Executes a non-branch instruction; raises Unfollowable if unmodelled.
    reloc is the symbol a relocation at this instruction names, if any."""
    o = split_operands(ops)
    get, put = machine.get, machine.set
    if mnemonic == "adrp":
        put(o[0], symbolic(reloc) if reloc else None)
        return
    if mnemonic == "add" and reloc and isinstance(get(o[1]), tuple):
        put(o[0], symbolic(reloc))
        return
    if mnemonic in ("nop", "hint", "paciasp", "autiasp", "pacibsp", "autibsp",
                    "bti", "isb", "dsb", "msr", "stp", "str", "strb", "strh",
                    "stur", "prfm"):
        return
    if mnemonic in ("ldp", "ldur", "ldrsw"):
        for dest in o[:2 if mnemonic == "ldp" else 1]:
            put(dest, None)
        return
    if mnemonic in ("ldr", "ldrb", "ldrh", "ldar", "ldapr"):
        put(o[0], load(machine, o[1], reloc))
        return
    if mnemonic == "mrs":
        put(o[0], machine.esr if o[1] == "ESR_EL2" else None)
        return
    if mnemonic in ("mov", "movz"):
        put(o[0], get(o[1]))
        return
    if mnemonic == "movk":
        base, value = get(o[0]), imm(o[1])
        shift = imm(o[2].split()[-1]) if len(o) > 2 else 0
        put(o[0], None if base is None else
            (base & ~(0xFFFF << shift)) | (value << shift))
        return
    if mnemonic in ("cmp", "cmn"):
        machine.compare(get(o[0]), get(o[1]), width_of(o[0]), mnemonic == "cmn")
        return
    if mnemonic == "tst":
        machine.test(get(o[0]), get(o[1]), width_of(o[0]))
        return
    if mnemonic in ("ubfx", "lsr", "lsl", "and", "orr", "eor", "add", "sub"):
        a = get(o[1])
        b = get(o[2]) if len(o) > 2 else None
        if not machine.known(a) or (len(o) > 2 and not machine.known(b)):
            put(o[0], None)
            return
        result = {
            "ubfx": lambda: (a >> b) & ((1 << imm(o[3])) - 1),
            "lsr": lambda: a >> b,
            "lsl": lambda: a << b,
            "and": lambda: a & b,
            "orr": lambda: a | b,
            "eor": lambda: a ^ b,
            "add": lambda: a + b,
            "sub": lambda: a - b,
        }[mnemonic]()
        put(o[0], result)
        return
    raise Unfollowable(f"unmodelled instruction {mnemonic} {ops}")


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


def main():
    objdump, obj, which = sys.argv[1:4]
    insns, symbols, relocs = disassemble(objdump, obj)
    if which == "reject":
        path = trace(insns, symbols, relocs, ESR_SMC64 | 1, PSCI_VERSION)
    elif which == "accept":
        path = trace(insns, symbols, relocs, ESR_SMC64, PSCI_VERSION,
                     stop_at_call=PSCI_RELAY)
    else:
        sys.exit(f"unknown path {which}: use reject or accept")
    json.dump({"path": which, "instructions": len(path),
               "functions": functions_on(path, symbols), "trace": path},
              sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    try:
        main()
    except Unfollowable as error:
        sys.exit(f"hyp-path: cannot follow the path: {error}")
