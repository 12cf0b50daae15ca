// SPDX-License-Identifier: GPL-2.0

//! SMC calls from the host, shared by the test and the benchmark modules.
//!
//! Outside pKVM an SMC from the host reaches EL3 firmware, where one with a
//! non-zero immediate has undefined results; with no EL2 and no EL3 an SMC
//! is UNDEFINED. So nothing here issues an SMC, whatever its immediate,
//! without a [`PkvmTrap`]: the proof that the host's SMCs trap to pKVM's
//! hypervisor, which [`PkvmTrap::check`] alone can give, from the kernel's
//! own state: no module parameter or loader can vouch for it.
//!
//! pKVM forwards to EL3 what it does not handle itself, so the safe calls
//! are also limited to [`Query`]: calls that change no state anywhere, even
//! if they reach the firmware.

use crate::sys;
use core::arch::asm;

const SMCCC_RET_NOT_SUPPORTED: u64 = u64::MAX;

pub(crate) const PSCI_VERSION: u64 = 0x8400_0000;

/// Where KVM's device appears once `kvm_init()` registered it.
#[cfg(not(kvm_pkvm_initialized))]
const KVM_DEVICE_IN_SYSFS: &core::ffi::CStr = c"/sys/class/misc/kvm";

/// x0..x17: SMCCC v1.2 passes arguments and results in these.
pub(crate) type SmcRegs = [u64; 18];

/// Proof that an SMC from this kernel traps to pKVM's hypervisor at EL2,
/// and so does an HVC: a kernel at EL1 under pKVM calls it with `hvc #0`.
///
/// Only [`PkvmTrap::check`] makes one, and only when every condition holds;
/// every function that issues an SMC or an HVC takes one.
pub(crate) struct PkvmTrap {
    _private: (),
}

impl PkvmTrap {
    /// Checks that SMCs from this kernel trap to pKVM; otherwise says why
    /// it cannot tell. Every condition is checked here, from state the
    /// kernel keeps for as long as it runs: nobody can vouch for one that
    /// failed, and no log line that may have scrolled away counts.
    pub(crate) fn check() -> Result<Self, &'static str> {
        let current_el: u64;
        // SAFETY: CurrentEL is readable at EL1 and EL2 and has no side
        // effect.
        unsafe { asm!("mrs {}, CurrentEL", out(reg) current_el, options(nomem, nostack)) };
        if (current_el >> 2) & 3 != 1 {
            return Err("kernel runs at EL2 (VHE): its SMCs go to EL3, not to pKVM");
        }

        // An HVC conduit means that another hypervisor serves this kernel.
        // With SMCCC v1.0 firmware (QEMU's, older TF-A) the kernel does not
        // tell the conduit, and pKVM's initialisation (checked below) has to
        // vouch for it: pKVM needs a kernel booted at EL2 with PSCI, whose
        // conduit is then SMC, and it traps the host's SMCs (HCR_EL2.TSC)
        // whether EL3 exists or not.
        if sys::smccc_conduit() == sys::SmcccConduit::Other {
            return Err("the SMCCC conduit is not SMC");
        }

        if !sys::protected_mode_capability() {
            return Err("pKVM protected mode is not enabled (boot with kvm-arm.mode=protected)");
        }

        // The capability follows the command line: it is set even if KVM
        // then failed to initialise, and then nothing traps the SMCs.
        #[cfg(kvm_pkvm_initialized)]
        if !sys::pkvm_initialized() {
            return Err("protected mode was requested but pKVM did not initialise");
        }
        #[cfg(not(kvm_pkvm_initialized))]
        if !kvm_device_registered() {
            return Err("protected mode was requested but KVM did not initialise \
                        (no /sys/class/misc/kvm): the host's SMCs may reach EL3");
        }

        Ok(Self { _private: () })
    }
}

/// Whether KVM registered its device. In protected mode `kvm_arm_init()`
/// gets that far only once every CPU runs pKVM's hypervisor with the
/// host's SMCs trapped (`HCR_EL2.TSC`, set when the hypervisor is
/// installed, before pKVM's finalisation): if the finalisation then fails,
/// the SMCs still trap; if the initialisation fails, there is no device.
/// Kernels without `kvm_pkvm_initialized()` (distributions', Android's)
/// keep no other trace of it that a module can read.
#[cfg(not(kvm_pkvm_initialized))]
fn kvm_device_registered() -> bool {
    sys::path_exists(KVM_DEVICE_IN_SYSFS)
}

/// An SMCCC call that changes no state, whatever immediate it is issued
/// with: pKVM forwards to EL3 what it does not reject, so a call is only safe
/// to issue from a test if it is read-only both in PSCI, SMCCC or FF-A terms
/// and in pKVM's PSCI relay and FF-A proxy.
#[derive(Clone, Copy)]
pub(crate) struct Query {
    function_id: u64,
    args: [u64; 3],
}

impl Query {
    /// PSCI_VERSION: the call of most cases, and of the benchmark.
    pub(crate) const fn psci_version() -> Self {
        // SAFETY: pKVM's relay forwards PSCI_VERSION to EL3 untouched, and
        // it returns the version and nothing else.
        unsafe { Self::new(PSCI_VERSION, [0; 3]) }
    }

    /// A call with `function_id` in x0, `args` in x1..x3, zeroes in x4..x17.
    ///
    /// # Safety
    ///
    /// The call must change no state, whatever immediate it is issued with,
    /// both where pKVM handles it (psci-relay.c, ffa.c in 6.12 and 7.3) and
    /// where pKVM forwards it to EL3 firmware.
    pub(crate) const unsafe fn new(function_id: u64, args: [u64; 3]) -> Self {
        Self { function_id, args }
    }

    /// x0..x17 for the call.
    pub(crate) fn regs(&self) -> SmcRegs {
        let mut regs = [0; 18];
        regs[0] = self.function_id;
        regs[1..4].copy_from_slice(&self.args);
        regs
    }
}

/// Issues `smc #IMM` with `regs` in x0..x17 and returns what comes back.
///
/// # Safety
///
/// pKVM forwards to EL3 the calls it does not reject, so `regs` must be a
/// call the system can afford to have executed by the firmware (see
/// [`Query`]), or one that the caller has seen pKVM reject with this
/// immediate.
pub(crate) unsafe fn smc<const IMM: u16>(_trap: &PkvmTrap, mut regs: SmcRegs) -> SmcRegs {
    // SAFETY: the `PkvmTrap` says this SMC traps to pKVM rather than being
    // UNDEFINED or reaching EL3 unchecked, and the caller vouches for the
    // call itself. An SMC may change x0..x17 and nothing else (SMCCC), and
    // all of them are operands here.
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

/// Issues `query` with `smc #IMM`; returns x0.
pub(crate) fn call<const IMM: u16>(trap: &PkvmTrap, query: Query) -> u64 {
    // SAFETY: a `Query` changes no state even if pKVM forwards it to EL3.
    let regs = unsafe { smc::<IMM>(trap, query.regs()) };
    regs[0]
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
