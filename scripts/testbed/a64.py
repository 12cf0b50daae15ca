# SPDX-License-Identifier: GPL-2.0
"""Just enough AArch64 to follow one path through the hyp (hyp_path.py):
registers with known or symbolic values, moves, bit fields, compares,
loads from the host context. An instruction it does not model, or a value
it cannot know, raises Unfollowable: never a guess."""

import re

MASK64 = (1 << 64) - 1
CTXT = "ctxt"  # symbolic base of the host context x0 points to


class Unfollowable(Exception):
    pass


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
