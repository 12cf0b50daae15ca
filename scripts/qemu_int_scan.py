#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Read QEMU's -d int log (a file, or a FIFO QEMU writes with -D) as a stream
until EOF, in constant memory, and turn it into named checks.

A record is a "Taking exception K [NAME] on CPU C" line and the "..." lines
after it. An SMC is a record named Secure Monitor Call or Hypervisor Trap (a
trapped SMC) with ESR.EC 0x17 (others can show a stale ESR), imm ESR[15:0]."""

import argparse
import collections
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

SMC_NAMES = frozenset((b"Secure Monitor Call", b"Hypervisor Trap"))
ERET_TO_EL1 = b"Exception return from AArch64 EL2 to AArch64 EL1 PC "
SMC_COUNTS = {(1, 2): "host_smcs", (2, 3): "forwarded_to_el3", (1, 3): "el1_to_el3"}
COUNTS = ("lines", "exceptions", "exception_returns", "from_el0", "malformed", "host_smcs_nonzero_imm", "other_smcs",
          *SMC_COUNTS.values())


@dataclass(slots=True)
class Record:
    """One exception as logged (imm is set once it is known to be an SMC)."""
    cpu: int
    smc: bool
    bad: bool = False
    from_el: int = -1
    to_el: int = -1
    esr: int = -1
    elr: int | None = None
    imm: int = 0

    def __str__(self) -> str:
        at = "" if self.elr is None else f" at ELR {self.elr:#x}"
        return f"smc #{self.imm:#x}{at} on CPU {self.cpu} (EL{self.from_el} to EL{self.to_el})"


@dataclass
class Check:
    """Counts the SMCs it objects to, keeps the first. on_smc(smc) sees each SMC; optional:
    on_el0() the first exception from EL0, on_return(pc) each eret from EL2 to EL1 (no CPU)."""
    name, what = "", ""
    count: int = 0
    first: Record | None = None

    def hit(self, smc: Record) -> None:
        self.count, self.first = self.count + 1, self.first or smc

    def failure(self) -> str | None:
        return f"{self.count} {self.what}, first {self.first}" if self.count else None


@dataclass
class SmcLeak(Check):
    """smc-leak: SMCCC (DEN0028) reserves every non-zero SMC immediate and EL2
    cannot know what EL3 would make of one: pKVM must answer -1 and forward
    nothing. EL2 calls EL3 only for the host, so if CPU k's next SMC after a
    trapped smc #imm, imm != 0, goes from EL2 to EL3, pKVM relayed it (an IRQ
    between changes nothing; CPU k's next SMC from EL1 ends the wait)."""
    name, what = "smc-leak", "host SMC(s) with a non-zero immediate forwarded to EL3"
    pending: dict[int, Record] = field(default_factory=dict)

    def on_smc(self, smc: Record) -> None:
        host = self.pending.pop(smc.cpu, None)
        if smc.from_el == 1 and smc.to_el == 2 and smc.imm:
            self.pending[smc.cpu] = smc
        elif host is not None and smc.from_el == 2 and smc.to_el == 3:
            self.hit(host)


@dataclass
class SmcStuck(Check):
    """smc-stuck: the ELR of a trapped SMC is the smc itself (an HVC's is the next
    instruction): EL2 must advance it by 4 before its eret, or the host runs the
    smc again, forever. Fails when a CPU traps on the same smc again more than N
    times in a row, each time after an eret to the smc itself (a loop issuing one
    smc on purpose, as the selftest's 2000 per CPU, is returned to after it)."""
    name = "smc-stuck"
    after: int = 1000
    longest: int = 0
    last: dict[int, list] = field(default_factory=dict)  # cpu: [ELR, imm, times again, eret to it? None: unseen]

    def on_return(self, pc: int) -> None:
        for last in self.last.values():  # QEMU names no CPU: the first awaiting pc
            if last[3] is None and pc - last[0] in (0, 4):
                last[3] = pc == last[0]
                return

    def on_smc(self, smc: Record) -> None:
        prev = self.last.pop(smc.cpu, None)
        if smc.from_el != 1 or smc.to_el != 2 or not smc.imm or smc.elr is None:
            return
        n = prev[2] + 1 if prev and prev[3] and prev[:2] == [smc.elr, smc.imm] else 0
        self.last[smc.cpu] = [smc.elr, smc.imm, n, None]
        if n == self.after + 1:
            self.hit(smc)
        self.longest = max(self.longest, n if n > self.after else 0)

    def failure(self) -> str | None:
        return (f"{self.count} run(s) of more than {self.after}, first {self.first}, longest {self.longest}:"
                " trapped again after each eret to the smc itself, EL2 did not advance ELR") if self.count else None


class NonzeroImm(Check):
    """nonzero-imm-smc: where the host's SMCs are not known to trap to pKVM they
    reach EL3, where a non-zero immediate has undefined results; the kernel's
    own SMCs all have immediate 0, and the module must issue none."""
    name, what = "nonzero-imm-smc", "SMC(s) with a non-zero immediate"

    def on_smc(self, smc: Record) -> None:
        if smc.imm:
            self.hit(smc)


@dataclass
class SmcAfterUserspace(Check):
    """smc-after-userspace: with pKVM failed, the module must issue no SMC. The
    kernel makes its PSCI calls while it boots; once userspace runs the only SMC
    from EL1 allowed is poweroff's SYSTEM_OFF, the log's last SMC from EL1 (an
    EL2 relay of it may follow, if the hyp was installed)."""
    name, what = "smc-after-userspace", "SMC(s) from EL1 after userspace started, besides the last"
    userspace: bool = False
    held: Record | None = None  # allowed if it stays the last

    def on_el0(self) -> None:
        self.userspace = True

    def on_smc(self, smc: Record) -> None:
        if smc.from_el == 1:
            if self.held is not None:
                self.hit(self.held)
            self.held = smc if self.userspace else None


class SmcBypass(Check):
    """smc-bypass: where pKVM traps the host's SMCs, one with a non-zero
    immediate that reaches EL3 straight from EL1 went past the hypervisor
    (a CPU whose HCR_EL2.TSC is clear); the kernel's own SMCs all have
    immediate 0. QEMU answers -1 to what it does not implement, as pKVM
    would, so only this log can tell."""
    name, what = "smc-bypass", "SMC(s) with a non-zero immediate from EL1 straight to EL3"

    def on_smc(self, smc: Record) -> None:
        if smc.imm and smc.from_el == 1 and smc.to_el == 3:
            self.hit(smc)


def empty_log(counts: dict[str, int]) -> str | None:
    """empty-log: with no exception at all, QEMU did not log -d int to LOG."""
    return None if counts["exceptions"] else f"no exception record in {counts['lines']} lines: not a -d int log?"


class Scanner:
    def __init__(self, mode: str = "pkvm", nonzero_imm: bool = False, stuck_after: int = 1000, keep_tail: int = 200):
        fail = mode == "pkvm-fail"
        # NonzeroImm, where asked for, covers what SmcBypass would see.
        forbid = nonzero_imm or fail
        self.checks: list[Check] = [SmcLeak(), SmcStuck(after=stuck_after)]
        self.checks += [NonzeroImm()] if forbid else [SmcBypass()]
        self.checks += [SmcAfterUserspace()] * fail
        self.on_el0 = [c.on_el0 for c in self.checks if hasattr(c, "on_el0")]
        self.on_return = [c.on_return for c in self.checks if hasattr(c, "on_return")]
        self.counts = dict.fromkeys(COUNTS, 0)
        self.tail: collections.deque[bytes] = collections.deque(maxlen=keep_tail)

    def end_record(self, rec: Record) -> None:
        c = self.counts
        smc = rec.smc and rec.esr >> 26 == 0x17
        if rec.bad or rec.from_el < 0 or rec.smc and rec.esr < 0 or smc and rec.to_el < 3 and rec.elr is None:
            c["malformed"] += 1
            return
        for on_el0 in self.on_el0 if rec.from_el == 0 and not c["from_el0"] else ():
            on_el0()
        c["from_el0"] += rec.from_el == 0
        if smc:
            rec.imm, key = rec.esr & 0xFFFF, SMC_COUNTS.get((rec.from_el, rec.to_el), "other_smcs")
            c[key] += 1
            c["host_smcs_nonzero_imm"] += key == "host_smcs" and rec.imm != 0
            for check in self.checks:
                check.on_smc(rec)

    def feed(self, read: Callable[[int], bytes]) -> list[dict[str, str]]:
        """Reads read(64 KiB) until b""; the failed checks. Most lines: a slice, two tests."""
        rec, on_return, carry, n_lines, taking, returns = None, self.on_return, b"", 0, 0, 0
        while chunk := read(1 << 16) or carry and b"\n":  # the last line may lack its "\n"
            lines = (carry + chunk).split(b"\n")
            carry = tail if len(tail := lines.pop()) < 4096 else b"#"  # an endless line: buffer no more of it
            n_lines += len(lines)
            self.tail.extend(lines)
            for line in lines:
                try:
                    if line[:3] == b"...":
                        kind = line[3:12]
                        if rec is None:
                            self.counts["malformed"] += 1
                        elif kind == b"with ESR ":
                            rec.bad, rec.esr = rec.bad or rec.esr >= 0, int(line.partition(b"/")[2], 16)
                        elif kind == b"with ELR ":
                            rec.bad, rec.elr = rec.bad or rec.elr is not None, int(line[12:], 16)
                        elif kind[:5] == b"from ":  # ...from EL1 to EL2
                            rec.bad |= rec.from_el >= 0 or len(line) != 18
                            rec.from_el, rec.to_el = line[10] - 48, line[17] - 48
                        elif kind[:3] == b"to ":  # ...to EL2 PC 0x... PSTATE 0x...: the last line, before any eret
                            self.end_record(rec)
                            rec = None
                    elif line[:17] == b"Taking exception ":
                        if rec is not None:
                            self.end_record(rec)
                        taking, lb, rb = taking + 1, line.find(b"[", 17), line.rfind(b"]")
                        ok = 0 < lb < rb and line[rb + 1:rb + 9] == b" on CPU " and line[rb + 9:].isdigit()
                        rec = Record(int(line[rb + 9:]) if ok else -1, line[lb + 1:rb] in SMC_NAMES, not ok)
                    elif line[:17] == b"Exception return ":
                        returns += 1
                        if line.startswith(ERET_TO_EL1):
                            pc = int(line[len(ERET_TO_EL1):], 16)
                            for hook in on_return:
                                hook(pc)
                except (ValueError, IndexError):  # a field left unset: its record is malformed
                    self.counts["malformed"] += 1
        if rec is not None:
            self.end_record(rec)
        self.counts.update(lines=n_lines, exceptions=taking, exception_returns=returns)
        failures = [(c.name, c.failure()) for c in self.checks] + [("empty-log", empty_log(self.counts))]
        return [{"name": name, "detail": detail} for name, detail in failures if detail]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--mode", choices=("pkvm", "pkvm-fail"), default="pkvm",
                   help="pkvm: smc-leak, smc-stuck, smc-bypass; pkvm-fail: also nonzero-imm-smc, smc-after-userspace")
    p.add_argument("--forbid-nonzero-imm", action="store_true",
                   help="add nonzero-imm-smc: no SMC may have a non-zero immediate (vhe; implied by pkvm-fail)")
    p.add_argument("--keep-tail", type=int, default=200, metavar="N", help="lines kept for --tail-out")
    p.add_argument("--tail-out", metavar="FILE", help="write the log's last N lines there")
    p.add_argument("--stuck-after", type=int, default=1000, metavar="N", help="see smc-stuck")
    p.add_argument("--json-out", metavar="FILE", help="write the counts and the failed checks there")
    p.add_argument("log", metavar="LOG", help="the log, or - for standard input")
    args = p.parse_args(argv)
    if min(args.keep_tail, args.stuck_after) < 0:
        p.error("--keep-tail and --stuck-after take a count, not a negative number")
    scanner = Scanner(args.mode, args.forbid_nonzero_imm, args.stuck_after, args.keep_tail)
    try:
        # "-": standard input, where boot.sh hands over the FIFO's reading end.
        with open(sys.stdin.fileno() if args.log == "-" else args.log, "rb", buffering=0,
                  closefd=args.log != "-") as log:
            failed = scanner.feed(log.read)
    except OSError as e:
        p.error(f"cannot read {args.log}: {e.strerror}")
    for f in failed:
        print(f"error: qemu-int: {f['name']}: {f['detail']}", file=sys.stderr, flush=True)
    n = scanner.counts
    print(f"qemu-int: {n['exceptions']} exceptions, {n['host_smcs']} host SMCs ({n['host_smcs_nonzero_imm']} with a"
          f" non-zero immediate), {n['forwarded_to_el3']} forwarded to EL3, {n['el1_to_el3']} from EL1 straight"
          f" to EL3, {n['exception_returns']} exception returns, {n['malformed']} malformed, {n['lines']} lines")
    checks = [c.name for c in scanner.checks] + ["empty-log"]
    if args.json_out:
        Path(args.json_out).write_text(json.dumps({"mode": args.mode, "checks": checks, "counts": n, "failed": failed}))
    if args.tail_out:
        Path(args.tail_out).write_bytes(b"".join(line + b"\n" for line in scanner.tail))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
