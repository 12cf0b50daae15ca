// SPDX-License-Identifier: GPL-2.0
//! The host SMC policy against a recording environment: exhaustive over
//! the immediate, randomised over everything else.

use host_smc_policy::{handle_host_smc, smc_imm16, HostSmcEnv};
use proptest::prelude::*;

// The values as the kernel's headers and SMCCC define them, spelled out
// here rather than taken from the crate under test, so that a wrong
// constant in the handler cannot agree with itself.
/// `ESR_ELx_xVC_IMM_MASK`
const ESR_IMM16_MASK: u64 = (1 << 16) - 1;
/// `ARM_SMCCC_CALL_HINTS`
const SMCCC_CALL_HINTS: u64 = 1 << 16;
/// `SMCCC_RET_NOT_SUPPORTED`, -1 in the 64-bit x0.
const SMCCC_RET_NOT_SUPPORTED: u64 = -1i64 as u64;

const ESR_EC_SHIFT: u64 = 26;
const ESR_EC_SMC64: u64 = 0x17;
const ESR_IL: u64 = 1 << 25;
const PSCI_VERSION: u64 = 0x8400_0000;

/// What the handler asked of the hypervisor, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Event {
    Psci(u32),
    Ffa(u32),
    Forward,
    Skip,
}

/// A host context and the services the handler may call, which record
/// what they were asked and claim the calls they are told to.
#[derive(Clone, Debug)]
struct Recorder {
    esr: u64,
    regs: [u64; 18],
    psci_claims: bool,
    ffa_claims: bool,
    events: Vec<Event>,
}

impl Recorder {
    fn new(esr: u64, regs: [u64; 18]) -> Self {
        Self {
            esr,
            regs,
            psci_claims: false,
            ffa_claims: false,
            events: Vec::new(),
        }
    }

    fn run(mut self) -> Self {
        handle_host_smc(&mut self);
        self
    }

    fn skips(&self) -> usize {
        self.events.iter().filter(|e| **e == Event::Skip).count()
    }
}

impl HostSmcEnv for Recorder {
    fn esr(&self) -> u64 {
        self.esr
    }
    fn x0(&self) -> u64 {
        self.regs[0]
    }
    fn set_x0(&mut self, value: u64) {
        self.regs[0] = value;
    }
    fn psci_handler(&mut self, func_id: u32) -> bool {
        self.events.push(Event::Psci(func_id));
        self.psci_claims
    }
    fn ffa_handler(&mut self, func_id: u32) -> bool {
        self.events.push(Event::Ffa(func_id));
        self.ffa_claims
    }
    fn forward_to_el3(&mut self) {
        self.events.push(Event::Forward);
    }
    fn skip_host_instr(&mut self) {
        self.events.push(Event::Skip);
    }
}

fn smc64_esr(imm: u16) -> u64 {
    ESR_EC_SMC64 << ESR_EC_SHIFT | ESR_IL | u64::from(imm)
}

fn regs_with_x0(x0: u64) -> [u64; 18] {
    let mut regs: [u64; 18] = core::array::from_fn(|i| 0x1111_0000_0000_0000 * i as u64 + i as u64);
    regs[0] = x0;
    regs
}

/// Upstream 7.3.4's C handle_host_smc(), transcribed as the oracle the Rust
/// policy must match call for call.
fn upstream_c_handler(env: &mut Recorder) {
    let mut func_id = env.regs[0];
    if env.esr & ESR_IMM16_MASK != 0 {
        env.regs[0] = SMCCC_RET_NOT_SUPPORTED;
    } else {
        func_id &= !SMCCC_CALL_HINTS;
        if func_id >> 32 != 0 {
            env.regs[0] = SMCCC_RET_NOT_SUPPORTED;
        } else {
            // The C passes the u64 to a u32 parameter: truncation.
            let mut handled = env.psci_handler(func_id as u32);
            if !handled {
                handled = env.ffa_handler(func_id as u32);
            }
            if !handled {
                env.forward_to_el3();
            }
        }
    }
    env.skip_host_instr();
}

#[test]
fn every_nonzero_immediate_is_rejected_without_side_effects() {
    for imm in 1..=u16::MAX {
        let before = regs_with_x0(PSCI_VERSION);
        let after = Recorder::new(smc64_esr(imm), before).run();
        assert_eq!(after.regs[0], SMCCC_RET_NOT_SUPPORTED, "imm {imm:#x}");
        assert_eq!(after.regs[1..], before[1..], "imm {imm:#x}");
        assert_eq!(after.events, [Event::Skip], "imm {imm:#x}");
    }
}

#[test]
fn immediate_zero_reaches_the_relay() {
    let after = Recorder::new(smc64_esr(0), regs_with_x0(PSCI_VERSION)).run();
    assert_eq!(
        after.events,
        [
            Event::Psci(PSCI_VERSION as u32),
            Event::Ffa(PSCI_VERSION as u32),
            Event::Forward,
            Event::Skip
        ]
    );
    assert_eq!(after.regs[0], PSCI_VERSION, "x0 is left for EL3 to answer");
}

#[test]
fn immediate_is_decoded_from_iss_only() {
    for imm in 0..=u16::MAX {
        // Every EC and the IL bit around the same ISS must decode alike.
        for ec in 0..64u64 {
            let esr = ec << ESR_EC_SHIFT | ESR_IL | 0xffff_0000_0000_0000 | u64::from(imm);
            assert_eq!(smc_imm16(esr), imm);
        }
    }
}

#[test]
fn call_hints_are_masked_before_dispatch() {
    let after = Recorder::new(smc64_esr(0), regs_with_x0(PSCI_VERSION | SMCCC_CALL_HINTS)).run();
    assert_eq!(after.events[0], Event::Psci(PSCI_VERSION as u32));
}

#[test]
fn upper_32_bits_are_rejected() {
    let after = Recorder::new(smc64_esr(0), regs_with_x0(PSCI_VERSION | 1 << 32)).run();
    assert_eq!(after.regs[0], SMCCC_RET_NOT_SUPPORTED);
    assert_eq!(after.events, [Event::Skip]);
}

#[test]
fn first_claiming_service_ends_dispatch() {
    let mut env = Recorder::new(smc64_esr(0), regs_with_x0(PSCI_VERSION));
    env.psci_claims = true;
    assert_eq!(
        env.run().events,
        [Event::Psci(PSCI_VERSION as u32), Event::Skip]
    );

    let mut env = Recorder::new(smc64_esr(0), regs_with_x0(PSCI_VERSION));
    env.ffa_claims = true;
    let id = PSCI_VERSION as u32;
    assert_eq!(
        env.run().events,
        [Event::Psci(id), Event::Ffa(id), Event::Skip]
    );
}

fn any_esr() -> impl Strategy<Value = u64> {
    prop_oneof![
        any::<u64>(),
        any::<u16>().prop_map(smc64_esr),
        Just(smc64_esr(0)),
    ]
}

fn any_x0() -> impl Strategy<Value = u64> {
    prop_oneof![
        any::<u64>(),
        any::<u32>().prop_map(u64::from),
        any::<u32>().prop_map(|id| u64::from(id) | SMCCC_CALL_HINTS),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(20_000))]

    #[test]
    fn matches_upstream_c(esr in any_esr(), x0 in any_x0(), regs in any::<[u64; 18]>(),
                          psci in any::<bool>(), ffa in any::<bool>()) {
        let mut regs = regs;
        regs[0] = x0;
        let mut env = Recorder::new(esr, regs);
        env.psci_claims = psci;
        env.ffa_claims = ffa;
        let mut oracle = env.clone();
        upstream_c_handler(&mut oracle);
        let rust = env.run();
        prop_assert_eq!(&rust.events, &oracle.events);
        prop_assert_eq!(rust.regs, oracle.regs);
    }

    #[test]
    fn rejects_touch_only_x0_and_skip_once(esr in any_esr(), x0 in any_x0(),
                                           regs in any::<[u64; 18]>()) {
        let mut regs = regs;
        regs[0] = x0;
        let after = Recorder::new(esr, regs).run();
        prop_assert_eq!(after.skips(), 1);
        prop_assert_eq!(after.events.last(), Some(&Event::Skip));
        let rejected = smc_imm16(esr) != 0 || (x0 & !SMCCC_CALL_HINTS) >> 32 != 0;
        if rejected {
            prop_assert_eq!(after.regs[0], SMCCC_RET_NOT_SUPPORTED);
            prop_assert_eq!(&after.events, &[Event::Skip]);
        } else {
            prop_assert_eq!(after.regs[0], x0);
        }
        prop_assert_eq!(&after.regs[1..], &regs[1..]);
    }
}
