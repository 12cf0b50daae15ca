// SPDX-License-Identifier: GPL-2.0
//! pKVM's handler for SMCs trapped from the host, at EL2.
//!
//! Built by Kbuild into `kvm_nvhe.o` like the hyp's C objects, so every
//! symbol here gets the `__kvm_nvhe_` prefix and may reference only hyp
//! symbols: EL2 cannot call into the kernel. Nothing here may panic, format
//! or allocate; `make` fails if `kvm_nvhe.o` gains an undefined symbol or
//! any `core::panicking` or `core::fmt` code.
//!
//! The decisions live in [`host_smc_policy`]; this file only connects them
//! to the host context, the system registers and the tree's C helpers.

pub mod host_smc_policy;

use core::arch::asm;
use core::mem::{offset_of, size_of};
use host_smc_policy::HostSmcEnv;

/// The head of `struct kvm_cpu_context`, which starts with the host's
/// `struct user_pt_regs` and so with `u64 regs[31]`. Only the GPRs are
/// reached from Rust; hyp-main.c asserts this layout at build time.
#[repr(C)]
pub struct KvmCpuContext {
    regs: [u64; 31],
}

const _: () = assert!(offset_of!(KvmCpuContext, regs) == 0);
const _: () = assert!(size_of::<KvmCpuContext>() == 31 * size_of::<u64>());

unsafe extern "C" {
    fn kvm_host_psci_handler(host_ctxt: *mut KvmCpuContext, func_id: u32) -> bool;
    fn kvm_host_ffa_handler(host_ctxt: *mut KvmCpuContext, func_id: u32) -> bool;
    fn default_host_smc_handler(host_ctxt: *mut KvmCpuContext);
}

/// The trapped host, as the policy sees it.
struct TrappedHost {
    /// Valid for the whole trap, see [`handle_host_smc`].
    ctxt: *mut KvmCpuContext,
}

impl HostSmcEnv for TrappedHost {
    #[inline(always)]
    fn esr(&self) -> u64 {
        let esr: u64;
        // SAFETY: reading ESR_EL2 has no side effect. Under hVHE too the EL2
        // encoding names ESR_EL2, so no VHE alternative is needed.
        unsafe { asm!("mrs {}, esr_el2", out(reg) esr, options(nomem, nostack, preserves_flags)) };
        esr
    }

    #[inline(always)]
    fn x0(&self) -> u64 {
        // SAFETY: `ctxt` is valid (struct invariant) and nothing else
        // touches the host context of this CPU during the trap.
        unsafe { (*self.ctxt).regs[0] }
    }

    #[inline(always)]
    fn set_x0(&mut self, value: u64) {
        // SAFETY: as in `x0()`.
        unsafe { (*self.ctxt).regs[0] = value };
    }

    #[inline(always)]
    fn psci_handler(&mut self, func_id: u32) -> bool {
        // SAFETY: the C relay takes the same host context handle_trap()
        // passed in, as the C handle_host_smc() does.
        unsafe { kvm_host_psci_handler(self.ctxt, func_id) }
    }

    #[inline(always)]
    fn ffa_handler(&mut self, func_id: u32) -> bool {
        // SAFETY: as in `psci_handler()`.
        unsafe { kvm_host_ffa_handler(self.ctxt, func_id) }
    }

    #[inline(always)]
    fn forward_to_el3(&mut self) {
        // SAFETY: as in `psci_handler()`.
        unsafe { default_host_smc_handler(self.ctxt) }
    }

    #[inline(always)]
    fn skip_host_instr(&mut self) {
        // SAFETY: the trap was taken on the `smc` at ELR_EL2; moving ELR_EL2
        // past it (every A64 instruction is 4 bytes) makes the eret resume
        // the host after the call, as kvm_skip_host_instr() does.
        unsafe {
            asm!(
                "mrs {elr}, elr_el2",
                "add {elr}, {elr}, #4",
                "msr elr_el2, {elr}",
                elr = out(reg) _,
                options(nomem, nostack, preserves_flags),
            )
        };
    }
}

/// Called by `handle_trap()` for every SMC64 trap from the host.
///
/// # Safety
///
/// `host_ctxt` is the context `handle_trap()` was given: the host's saved
/// registers, owned by this CPU until the eret back to the host.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn handle_host_smc(host_ctxt: *mut KvmCpuContext) {
    host_smc_policy::handle_host_smc(TrappedHost { ctxt: host_ctxt });
}
