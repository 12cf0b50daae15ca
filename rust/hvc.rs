// SPDX-License-Identifier: GPL-2.0

//! Host HVCs to pKVM's hypervisor, for the other half of the question: an
//! `hvc` with a non-zero immediate. SMCCC reserves non-zero SMC immediates
//! but designates non-zero HVC immediates for the hypervisor vendor, and
//! pKVM's `handle_host_hcall()` dispatches a host HVC by x0 alone: `hvc #1`
//! runs whatever hypercall x0 names.
//!
//! The one hypercall issued here is numbered by the kernel's own header
//! (`kvm_hcall.c`), only on the release it was built for, and changes no
//! state, so whatever pKVM makes of the immediate, the call is harmless.

use crate::smc::PkvmTrap;
use core::arch::asm;

// Both are defined in kvm_hcall.c with these types. The constant is
// initialised there and never written, and the function takes no argument
// and only compares two strings: neither can be used unsafely, so both are
// declared safe.
unsafe extern "C" {
    /// `KVM_HOST_SMCCC_FUNC(__kvm_flush_vm_context)` (kvm_hcall.c).
    safe static smc_imm_test_hcall_flush_vm_context: core::ffi::c_ulong;

    /// Whether the running kernel is the release kvm_hcall.c was built
    /// against.
    safe fn smc_imm_test_hcall_numbers_valid() -> bool;
}

/// Proof that this kernel numbers its host hypercalls as the module does.
pub(crate) struct HcallNumbers {
    _private: (),
}

impl HcallNumbers {
    /// Checks that the running kernel is the release the module was built
    /// against.
    pub(crate) fn check() -> Option<Self> {
        smc_imm_test_hcall_numbers_valid().then_some(Self { _private: () })
    }
}

/// Issues `hvc #IMM` with x0 naming `__kvm_flush_vm_context` and zeroes in
/// x1..x17; returns x0.
///
/// The [`PkvmTrap`] says the kernel runs at EL1 under pKVM's hypervisor,
/// which takes the host's HVCs (`HCR_EL2.HCD` is clear: the kernel itself
/// calls pKVM with `hvc #0`).
pub(crate) fn flush_vm_context<const IMM: u16>(_trap: &PkvmTrap, _numbers: &HcallNumbers) -> u64 {
    // `unsigned long` is 64 bits wide on arm64.
    let mut x0: u64 = smc_imm_test_hcall_flush_vm_context;
    // SAFETY: x0 names, on the release the module was built for
    // (`HcallNumbers`), the hypercall that invalidates TLB entries and
    // nothing else; the arguments are zero, so were it another one it would
    // get no stale kernel value. Under pKVM (the `PkvmTrap`) the HVC goes
    // to the hypervisor, which runs or rejects it and returns to the next
    // instruction. pKVM restores x4..x29; SMCCC lets a call change x0..x17,
    // all operands here.
    unsafe {
        asm!(
            "hvc #{imm}",
            imm = const IMM,
            inout("x0") x0,
            inout("x1") 0u64 => _, inout("x2") 0u64 => _, inout("x3") 0u64 => _,
            inout("x4") 0u64 => _, inout("x5") 0u64 => _, inout("x6") 0u64 => _,
            inout("x7") 0u64 => _, inout("x8") 0u64 => _, inout("x9") 0u64 => _,
            inout("x10") 0u64 => _, inout("x11") 0u64 => _, inout("x12") 0u64 => _,
            inout("x13") 0u64 => _, inout("x14") 0u64 => _, inout("x15") 0u64 => _,
            inout("x16") 0u64 => _, inout("x17") 0u64 => _,
            options(nostack),
        );
    }
    x0
}
