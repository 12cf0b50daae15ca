// SPDX-License-Identifier: GPL-2.0
//! What pKVM does with an SMC trapped from the host.
//!
//! The control flow of the host SMC handler, written against [`HostSmcEnv`]
//! rather than against registers, so that the EL2 entry point
//! (`host_smc.rs`) and the host-side tests share one implementation. At EL2
//! the trait is implemented by a zero-sized wrapper around the host context
//! and everything here inlines into the entry point.

/// ESR_ELx ISS bits [15:0] hold the immediate of a trapped SMC or HVC
/// (`ESR_ELx_xVC_IMM_MASK`).
pub const ESR_IMM16_MASK: u64 = 0xffff;

/// The SMCCC 1.3 "SVE state not live" hint (`ARM_SMCCC_CALL_HINTS`): a
/// caller may set it on any call, and it does not change the function.
pub const SMCCC_CALL_HINTS: u64 = 1 << 16;

/// `SMCCC_RET_NOT_SUPPORTED` (-1) as the host sees it in x0.
pub const SMCCC_RET_NOT_SUPPORTED: u64 = u64::MAX;

/// The pieces of the hypervisor the handler drives.
///
/// Every method maps to one thing the C handler of the same tree does, so
/// that the Rust handler can match it call for call.
pub trait HostSmcEnv {
    /// ESR_EL2 of the trap being handled.
    fn esr(&self) -> u64;
    /// The host's x0: the SMCCC function ID on entry.
    fn x0(&self) -> u64;
    /// Sets the host's x0: the SMCCC return value.
    fn set_x0(&mut self, value: u64);
    /// The PSCI relay (`kvm_host_psci_handler()`); true if it handled the call.
    fn psci_handler(&mut self, func_id: u32) -> bool;
    /// The FF-A proxy (`kvm_host_ffa_handler()`); true if it handled the call.
    fn ffa_handler(&mut self, func_id: u32) -> bool;
    /// Forwards the unmodified call to EL3 (`default_host_smc_handler()`).
    fn forward_to_el3(&mut self);
    /// Moves the host's ELR past the trapped `smc` (`kvm_skip_host_instr()`).
    fn skip_host_instr(&mut self);
}

impl<T: HostSmcEnv + ?Sized> HostSmcEnv for &mut T {
    fn esr(&self) -> u64 {
        (**self).esr()
    }
    fn x0(&self) -> u64 {
        (**self).x0()
    }
    fn set_x0(&mut self, value: u64) {
        (**self).set_x0(value)
    }
    fn psci_handler(&mut self, func_id: u32) -> bool {
        (**self).psci_handler(func_id)
    }
    fn ffa_handler(&mut self, func_id: u32) -> bool {
        (**self).ffa_handler(func_id)
    }
    fn forward_to_el3(&mut self) {
        (**self).forward_to_el3()
    }
    fn skip_host_instr(&mut self) {
        (**self).skip_host_instr()
    }
}

/// The immediate of the trapped `smc #imm`.
#[inline(always)]
pub fn smc_imm16(esr: u64) -> u16 {
    // Lossless: the mask keeps 16 bits.
    (esr & ESR_IMM16_MASK) as u16
}

/// The SMCCC function ID in `x0`, with the call hints removed, or `None` if
/// any of the upper 32 bits is set: SMCCC function IDs are 32 bits wide,
/// and EL3 firmware may or may not ignore the rest.
#[inline(always)]
pub fn smccc_function_id(x0: u64) -> Option<u32> {
    u32::try_from(x0 & !SMCCC_CALL_HINTS).ok()
}

/// Handles one SMC trapped from the host.
///
/// SMCCC (DEN0028) reserves every non-zero SMC immediate. Such a call is not
/// an SMCCC call at all, and EL2 cannot know what EL3 firmware would do with
/// it, so it is answered with `SMCCC_RET_NOT_SUPPORTED` before the PSCI relay
/// or the FF-A proxy look at it and nothing reaches EL3. Only x0 changes.
///
/// Otherwise the call goes to the PSCI relay, then the FF-A proxy, then EL3,
/// exactly as upstream's C `handle_host_smc()` does. On every path the host
/// resumes after the `smc`, once.
#[inline(always)]
pub fn handle_host_smc<E: HostSmcEnv>(mut env: E) {
    match function_id_to_relay(&env) {
        Some(func_id) => relay(env, func_id),
        None => {
            env.set_x0(SMCCC_RET_NOT_SUPPORTED);
            env.skip_host_instr();
        }
    }
}

/// The function ID to hand to the relays, or `None` if the call must be
/// rejected.
#[inline(always)]
fn function_id_to_relay<E: HostSmcEnv>(env: &E) -> Option<u32> {
    if smc_imm16(env.esr()) != 0 {
        return None;
    }
    smccc_function_id(env.x0())
}

/// The accept path, kept out of line so that the reject path, which calls
/// nothing but the two C helpers, stays short. `env` is taken by
/// value so that at EL2 it stays in a register.
///
/// When the Rust objects join the hyp's LTO link (`CONFIG_NVHE_RUST_LTO`,
/// passed to rustc as a `--cfg`) the whole handler is inlined into
/// handle_trap(), which has a frame anyway, and so is this, as in C
/// (see `handle_host_smc` in host_smc.rs).
#[cfg_attr(not(CONFIG_NVHE_RUST_LTO), inline(never))]
#[cfg_attr(CONFIG_NVHE_RUST_LTO, inline(always))]
fn relay<E: HostSmcEnv>(mut env: E, func_id: u32) {
    if !env.psci_handler(func_id) && !env.ffa_handler(func_id) {
        env.forward_to_el3();
    }
    env.skip_host_instr();
}
