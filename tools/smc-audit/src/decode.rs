// SPDX-License-Identifier: GPL-2.0
//! Decoding of the two AArch64 instructions the audit is about.
//!
//! SMC and HVC are "exception generation" instructions (Arm ARM, C6.2):
//! bits [31:21] are 0b11010100_000, [20:5] hold imm16, [4:2] are zero and
//! [1:0] pick the instruction (0b10 HVC, 0b11 SMC). Masking out imm16
//! leaves a fixed pattern per instruction.

use std::fmt;

/// The bits of an SMC/HVC word that are not the immediate.
const FIXED_BITS_MASK: u32 = 0xFFE0_001F;
const SMC_PATTERN: u32 = 0xD400_0003;
const HVC_PATTERN: u32 = 0xD400_0002;
const IMM16_SHIFT: u32 = 5;

/// Which of the two instructions a word encodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Smc,
    Hvc,
}

impl Kind {
    pub fn mnemonic(self) -> &'static str {
        match self {
            Kind::Smc => "smc",
            Kind::Hvc => "hvc",
        }
    }
}

/// What pKVM makes of a call, and the bucket it is counted in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// SMCCC reserves every non-zero SMC immediate, so pKVM refuses it.
    SmcImmNonZero,
    /// An ordinary SMCCC call.
    SmcImmZero,
    /// HVCs are handled elsewhere and are not affected by the SMC policy.
    Hvc,
    /// SMCCC designates non-zero HVC immediates for the hypervisor vendor
    /// (Xen's are 0xEA1); pKVM defines none and dispatches a host HVC by
    /// x0, unless NVHE_HOST_HVC_IMM_REJECT is set.
    HvcImmNonZero,
}

impl Class {
    pub fn verdict(self) -> &'static str {
        match self {
            Class::SmcImmNonZero => "returns NOT_SUPPORTED under pKVM",
            Class::SmcImmZero => "SMCCC call",
            Class::Hvc => "hypervisor call (not affected)",
            Class::HvcImmNonZero => {
                "hypervisor call, vendor-defined immediate (pKVM: dispatched by x0, or NOT_SUPPORTED with NVHE_HOST_HVC_IMM_REJECT)"
            }
        }
    }
}

/// A decoded SMC or HVC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Insn {
    pub kind: Kind,
    pub imm16: u16,
}

impl Insn {
    pub fn class(self) -> Class {
        match self.kind {
            Kind::Hvc if self.imm16 == 0 => Class::Hvc,
            Kind::Hvc => Class::HvcImmNonZero,
            Kind::Smc if self.imm16 == 0 => Class::SmcImmZero,
            Kind::Smc => Class::SmcImmNonZero,
        }
    }
}

impl fmt::Display for Insn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} #{:#x}", self.kind.mnemonic(), self.imm16)
    }
}

/// Decodes one instruction word (already converted from its little-endian
/// bytes); `None` for anything that is not SMC or HVC.
#[inline]
pub fn decode(word: u32) -> Option<Insn> {
    let kind = match word & FIXED_BITS_MASK {
        SMC_PATTERN => Kind::Smc,
        HVC_PATTERN => Kind::Hvc,
        _ => return None,
    };
    // The mask keeps 16 bits, so the narrowing cannot lose any.
    let imm16 = ((word >> IMM16_SHIFT) & 0xFFFF) as u16;
    Some(Insn { kind, imm16 })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn smc(imm16: u16) -> Option<Insn> {
        Some(Insn {
            kind: Kind::Smc,
            imm16,
        })
    }

    fn hvc(imm16: u16) -> Option<Insn> {
        Some(Insn {
            kind: Kind::Hvc,
            imm16,
        })
    }

    #[test]
    fn decodes_smc_and_hvc_immediates() {
        // Encodings as produced by llvm-mc for the same mnemonics.
        assert_eq!(decode(0xD400_0003), smc(0));
        assert_eq!(decode(0xD400_0023), smc(1));
        assert_eq!(decode(0xD41F_FFE3), smc(0xFFFF));
        assert_eq!(decode(0xD400_0002), hvc(0));
        assert_eq!(decode(0xD402_4682), hvc(0x1234));
    }

    #[test]
    fn rejects_other_exception_generating_instructions() {
        assert_eq!(decode(0xD400_0001), None, "svc #0");
        assert_eq!(decode(0xD420_0000), None, "brk #0");
        assert_eq!(decode(0xD440_0000), None, "hlt #0");
        assert_eq!(decode(0xD4A0_0001), None, "dcps1");
        assert_eq!(decode(0xD503_201F), None, "nop");
        assert_eq!(decode(0), None, "udf #0");
    }

    #[test]
    fn rejects_words_with_reserved_bits_set() {
        // opc2 (bits [4:2]) must be zero.
        assert_eq!(decode(0xD400_0007), None);
        assert_eq!(decode(0xD400_0013), None);
        // Bits [23:21] select the instruction group.
        assert_eq!(decode(0xD420_0003), None);
    }

    #[test]
    fn classifies_and_prints() {
        let insn = |word| decode(word).expect("test word is SMC or HVC");
        assert_eq!(insn(0xD400_0003).class(), Class::SmcImmZero);
        assert_eq!(insn(0xD400_0023).class(), Class::SmcImmNonZero);
        assert_eq!(insn(0xD400_0002).class(), Class::Hvc);
        assert_eq!(insn(0xD402_4682).class(), Class::HvcImmNonZero);
        assert_eq!(insn(0xD400_0023).to_string(), "smc #0x1");
        assert_eq!(insn(0xD402_4682).to_string(), "hvc #0x1234");
        assert_eq!(insn(0xD400_0003).to_string(), "smc #0x0");
        assert_eq!(
            Class::SmcImmNonZero.verdict(),
            "returns NOT_SUPPORTED under pKVM"
        );
        assert_eq!(Class::SmcImmZero.verdict(), "SMCCC call");
        assert_eq!(Class::Hvc.verdict(), "hypervisor call (not affected)");
    }
}
