// SPDX-License-Identifier: GPL-2.0

//! Host HVCs to pKVM's hypervisor, for the other half of the question: an
//! `hvc` with a non-zero immediate. SMCCC reserves those too, but pKVM's
//! `handle_host_hcall()` dispatches a host HVC by x0 alone, so `hvc #1`
//! runs whatever hypercall x0 names.
//!
//! The one hypercall issued here comes from this kernel's own header
//! (`kvm_hcall.c`) and changes no state, so whatever pKVM makes of the
//! immediate, the call is harmless.

use crate::smc::PkvmTrap;
use core::arch::asm;

unsafe extern "C" {
    /// `KVM_HOST_SMCCC_FUNC(__kvm_flush_vm_context)` (kvm_hcall.c).
    static smc_imm_test_hcall_flush_vm_context: core::ffi::c_ulong;
}

/// Issues `hvc #IMM` with x0 naming `__kvm_flush_vm_context`; returns x0.
///
/// The [`PkvmTrap`] says the kernel runs at EL1 under pKVM's hypervisor,
/// which takes the host's HVCs (`HCR_EL2.HCD` is clear: the kernel itself
/// calls pKVM with `hvc #0`).
pub(crate) fn flush_vm_context<const IMM: u16>(_trap: &PkvmTrap) -> u64 {
    // SAFETY: a constant that kvm_hcall.c initialises; never written.
    let mut x0 = u64::from(unsafe { smc_imm_test_hcall_flush_vm_context });
    // SAFETY: the hypercall x0 names invalidates TLBs and the I-cache and
    // takes no argument; under pKVM (the `PkvmTrap`) the HVC goes to the
    // hypervisor, which either runs it or rejects it. An HVC may change
    // x0..x17 (SMCCC), all declared clobbered; the return address is the
    // next instruction, as for any HVC.
    unsafe {
        asm!(
            "hvc #{imm}",
            imm = const IMM,
            inout("x0") x0,
            out("x1") _, out("x2") _, out("x3") _, out("x4") _, out("x5") _,
            out("x6") _, out("x7") _, out("x8") _, out("x9") _, out("x10") _,
            out("x11") _, out("x12") _, out("x13") _, out("x14") _, out("x15") _,
            out("x16") _, out("x17") _,
            options(nostack),
        );
    }
    x0
}
