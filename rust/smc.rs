// SPDX-License-Identifier: GPL-2.0

//! SMC calls from the host, shared by the test and the benchmark modules.
//!
//! Nothing here may issue an SMC with a non-zero immediate before
//! [`pkvm_protected`] has said yes: outside pKVM such a call reaches EL3
//! firmware with undefined results.

use core::arch::asm;
use kernel::bindings;

pub(crate) const SMCCC_RET_NOT_SUPPORTED: u64 = u64::MAX;

pub(crate) const PSCI_VERSION: u64 = 0x8400_0000;

/// x0..x17: SMCCC v1.2 passes arguments and results in these.
pub(crate) type SmcRegs = [u64; 18];

/// Issues `smc #IMM` with `regs` in x0..x17 and returns what comes back.
pub(crate) fn smc<const IMM: u16>(mut regs: SmcRegs) -> SmcRegs {
    // SAFETY: callers issue a non-zero IMM only once `pkvm_protected()`
    // holds, so the call traps to pKVM rather than reaching EL3 firmware.
    // An SMC may change x0..x17 and nothing else (SMCCC), and all of them
    // are operands here.
    unsafe {
        asm!(
            "smc #{imm}",
            imm = const IMM,
            inout("x0") regs[0], inout("x1") regs[1], inout("x2") regs[2],
            inout("x3") regs[3], inout("x4") regs[4], inout("x5") regs[5],
            inout("x6") regs[6], inout("x7") regs[7], inout("x8") regs[8],
            inout("x9") regs[9], inout("x10") regs[10], inout("x11") regs[11],
            inout("x12") regs[12], inout("x13") regs[13], inout("x14") regs[14],
            inout("x15") regs[15], inout("x16") regs[16], inout("x17") regs[17],
            options(nostack),
        );
    }
    regs
}

/// An SMC call with arguments in x0..x3 and the rest zero; returns x0.
pub(crate) fn call<const IMM: u16>(function_id: u64, args: [u64; 3]) -> u64 {
    let mut regs = [0; 18];
    regs[0] = function_id;
    regs[1..4].copy_from_slice(&args);
    smc::<IMM>(regs)[0]
}

/// True when SMCs from this kernel trap to pKVM in protected mode, so that
/// a non-zero immediate cannot reach EL3 firmware; otherwise why not.
pub(crate) fn pkvm_protected() -> core::result::Result<(), &'static str> {
    let current_el: u64;
    // SAFETY: CurrentEL is readable at EL1 and EL2 and has no side effect.
    unsafe { asm!("mrs {}, CurrentEL", out(reg) current_el, options(nomem, nostack)) };
    if (current_el >> 2) & 3 != 1 {
        return Err("kernel runs at EL2 (VHE): its SMCs go to EL3, not to pKVM");
    }

    let cap = bindings::ARM64_KVM_PROTECTED_MODE as usize;
    let bits = c_ulong_bits();
    // SAFETY: system_cpucaps is finalised before modules can load and is
    // never written afterwards; the index is below ARM64_NCAPS.
    let word = unsafe { (*core::ptr::addr_of!(bindings::system_cpucaps))[cap / bits] };
    if word & (1 << (cap % bits)) == 0 {
        return Err("pKVM protected mode is not active (boot with kvm-arm.mode=protected)");
    }
    Ok(())
}

const fn c_ulong_bits() -> usize {
    core::mem::size_of::<core::ffi::c_ulong>() * 8
}

pub(crate) fn is_not_supported(x0: u64) -> bool {
    x0 == SMCCC_RET_NOT_SUPPORTED
}

/// The virtual counter and its frequency, for timing the sweep.
pub(crate) fn counter() -> (u64, u64) {
    let (count, frequency): (u64, u64);
    // SAFETY: the kernel gives EL1 access to the virtual counter.
    unsafe {
        asm!(
            "isb",
            "mrs {count}, cntvct_el0",
            "mrs {frequency}, cntfrq_el0",
            count = out(reg) count,
            frequency = out(reg) frequency,
            options(nomem, nostack),
        )
    };
    (count, frequency)
}
