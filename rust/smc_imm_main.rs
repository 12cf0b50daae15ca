// SPDX-License-Identifier: GPL-2.0

//! Kselftest for pKVM's handling of host SMCs with a non-zero immediate.
//!
//! SMCCC (DEN0028) reserves every non-zero SMC immediate: such a call is not
//! an SMCCC call, and the hypervisor cannot know what EL3 firmware would do
//! with it. Under pKVM the host is untrusted and its SMCs trap to EL2, which
//! must answer them with `SMCCC_RET_NOT_SUPPORTED` and forward nothing.
//!
//! Loading the module runs the cases and prints KTAP to the kernel log,
//! which is the verdict. Unlike kselftest_module.h's modules, the load
//! succeeds whatever the cases say: busybox's insmod answers a failed
//! finit_module() by loading the module again with init_module(), and the
//! cases, some of which reach the firmware where the check is missing,
//! must run once. The parameters `sweep` and `all_cpus` leave cases out;
//! `destructive`, off by default, adds one that only QEMU can afford (they
//! are reported as skipped).
//!
//! An SMC with a non-zero immediate that reaches real EL3 firmware has
//! undefined results, so the module issues no SMC at all unless SMCs trap
//! to pKVM (see [`PkvmTrap`]), and no further non-zero immediate once
//! `smc #1` was not rejected. By default every call it issues, with any
//! immediate, changes no state even if a broken hypervisor forwards it to
//! the firmware: nothing it does can power off, reset or suspend a device.

use core::arch::{asm, global_asm};
use core::ffi::c_void;
use core::fmt;
use core::num::NonZeroU16;
use kernel::prelude::*;

mod hvc;
#[macro_use]
mod module_params;
mod smc;
mod sys;
use smc::{call, counter, is_not_supported, smc, PkvmTrap, Query, SmcRegs, PSCI_VERSION};
use sys::{AtomicU32, AtomicU64, Relaxed};

module_with_params! {
    type: SmcImmTest,
    name: "smc_imm_test",
    authors: ["pkvm-smc-imm developers"],
    description: "pKVM rejects host SMCs with a non-zero immediate",
    license: "GPL",
    params: {
        sweep: bool {
            default: true,
            description: "Issue every immediate 1..=65535 (case 3; the destructive case needs it)",
        },
        destructive: bool {
            default: false,
            description: "QEMU only: also issue CPU_OFF, CPU_ON, SYSTEM_RESET, SYSTEM_OFF with immediate 1 (a handler that rejects and forwards powers the machine off)",
        },
        all_cpus: bool {
            default: true,
            description: "Issue smc #1 from every online CPU at once",
        },
    },
}

const PSCI_CPU_OFF: u64 = 0x8400_0002;
const PSCI_CPU_ON_64: u64 = 0xc400_0003;
const PSCI_AFFINITY_INFO_64: u64 = 0xc400_0004;
const PSCI_SYSTEM_OFF: u64 = 0x8400_0008;
const PSCI_SYSTEM_RESET: u64 = 0x8400_0009;
const PSCI_FEATURES: u64 = 0x8400_000a;
/// `ARM_SMCCC_CALL_HINTS`: SMCCC 1.3's "SVE state not live" hint, which the
/// host kernel sets on its own SMCs and pKVM masks before dispatching.
const SMCCC_CALL_HINTS: u64 = 1 << 16;
const SMCCC_RET_SUCCESS: u64 = 0;
const SMCCC_VERSION: u64 = 0x8000_0000;
const SMCCC_ARCH_FEATURES: u64 = 0x8000_0001;
const SMCCC_ARCH_WORKAROUND_1: u64 = 0x8000_8000;
const FFA_VERSION: u64 = 0x8400_0063;
const FFA_FEATURES: u64 = 0x8400_0064;
/// MPIDR_EL1 affinity fields Aff0..Aff3, as PSCI takes a target CPU.
const MPIDR_HWID_MASK: u64 = 0xff_00ff_ffff;
/// SMCCC's general service query "Call UID" (function number 0xff01),
/// fast call, SMC32, without the owner (bits 29:24).
const SMCCC_CALL_UID_QUERY: u64 = 0x8000_ff01;
/// Every SMCCC owner that has general service queries: Arm architecture,
/// CPU, SiP, OEM, standard secure, standard hypervisor, vendor hypervisor,
/// vendor EL3 monitor (0..=7), trusted applications (48, 49) and trusted
/// OSes (50..=63). SiP, OEM and trusted OS calls are what TrustZone
/// software outside SMCCC's own services answers, and what a handler that
/// checks the immediate only for the owners it relays would let through.
const SMCCC_OWNERS: [u64; 24] = [
    0, 1, 2, 3, 4, 5, 6, 7, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63,
];

const CONCURRENT_CALLS_PER_CPU: u32 = 2000;

// Read-only calls that do something with immediate 0, so that their
// rejection with a non-zero immediate means something (case 6). Each is
// safe on hardware, where pKVM forwards to EL3 firmware what it does not
// handle itself (psci-relay.c and ffa.c, the same in 6.12 and 7.3):

// SAFETY: PSCI_FEATURES is a query of what the firmware implements, and the
// PSCI relay forwards it to EL3 untouched.
const PSCI_FEATURES_OF_VERSION: Query = unsafe { Query::new(PSCI_FEATURES, [PSCI_VERSION, 0, 0]) };
// SAFETY: neither PSCI nor FF-A, so pKVM forwards it; SMCCC_VERSION returns
// the version the kernel itself read at boot.
const SMCCC_VERSION_QUERY: Query = unsafe { Query::new(SMCCC_VERSION, [0; 3]) };
// SAFETY: forwarded like SMCCC_VERSION; the Spectre-v2 probe that the
// kernel itself issues at boot.
const SMCCC_ARCH_FEATURES_OF_WORKAROUND_1: Query =
    unsafe { Query::new(SMCCC_ARCH_FEATURES, [SMCCC_ARCH_WORKAROUND_1, 0, 0]) };
// SAFETY: never FFA_VERSION itself, which negotiates the version in pKVM's
// FF-A proxy and may lock it before the host's FF-A driver spoke. Before
// that negotiation the proxy answers FFA_FEATURES itself (an FFA_ERROR);
// after it, FFA_FEATURES(FFA_VERSION) goes on to the SPMC, for which it is
// a query.
const FFA_FEATURES_OF_VERSION: Query = unsafe { Query::new(FFA_FEATURES, [FFA_VERSION, 0, 0]) };
// SAFETY: pKVM either rejects a function ID with bits above 31 (7.1 and
// later) or relays it as PSCI_VERSION (the relay keeps the low 32 bits, and
// SMCCC has the firmware read w0 only): read-only either way. Case 9.
const PSCI_VERSION_UPPER_BIT: Query = unsafe { Query::new(PSCI_VERSION | 1 << 32, [0; 3]) };

/// PSCI_AFFINITY_INFO_64(this CPU, level 0): whether this CPU is on.
fn affinity_info_self() -> Query {
    let mpidr: u64;
    // SAFETY: MPIDR_EL1 is readable at EL1 and has no side effect.
    unsafe { asm!("mrs {}, mpidr_el1", out(reg) mpidr, options(nomem, nostack)) };
    // SAFETY: the relay forwards AFFINITY_INFO_64 to EL3 untouched, and it
    // only reports a CPU's state.
    unsafe { Query::new(PSCI_AFFINITY_INFO_64, [mpidr & MPIDR_HWID_MASK, 0, 0]) }
}

// The immediate is part of the instruction, so sweeping all of them needs
// one stub per value: `bti c; smc #imm; ret`, 12 bytes each, for 1..=65535.
global_asm!(
    ".pushsection .text, \"ax\"",
    ".balign 4",
    ".globl smc_imm_test_stubs",
    ".type smc_imm_test_stubs, %function",
    "smc_imm_test_stubs:",
    ".set smc_imm, 1",
    ".rept 65535",
    "hint #34",
    "smc #smc_imm",
    "ret",
    ".set smc_imm, smc_imm + 1",
    ".endr",
    ".size smc_imm_test_stubs, . - smc_imm_test_stubs",
    ".popsection",
);

const STUB_BYTES: usize = 12;

unsafe extern "C" {
    /// The stubs above.
    static smc_imm_test_stubs: [u8; 65535 * STUB_BYTES];
}

/// Issues `query` with `smc #imm`, through the stub for `imm`; returns x0.
fn call_with_imm(_trap: &PkvmTrap, imm: NonZeroU16, query: Query) -> u64 {
    let index = usize::from(imm.get() - 1);
    let base = core::ptr::addr_of!(smc_imm_test_stubs).cast::<u8>();
    let stub = base.wrapping_add(index * STUB_BYTES);
    let regs = query.regs();
    let mut x0 = regs[0];
    // SAFETY: `stub` is the stub for `imm`, which issues one SMC and
    // returns. The `PkvmTrap` says it traps to pKVM, and a `Query` changes
    // no state even if pKVM forwards it. The SMC may change x0..x17
    // (SMCCC), the call x30: all are declared clobbered. `blr` is not a
    // CFI-checked indirect call.
    unsafe {
        asm!(
            "blr {stub}",
            stub = in(reg) stub,
            inout("x0") x0,
            inout("x1") regs[1] => _, inout("x2") regs[2] => _, inout("x3") regs[3] => _,
            out("x4") _, out("x5") _, out("x6") _, out("x7") _, out("x8") _,
            out("x9") _, out("x10") _, out("x11") _, out("x12") _, out("x13") _,
            out("x14") _, out("x15") _, out("x16") _, out("x17") _, out("x30") _,
        );
    }
    x0
}

/// What one call answered with immediates 0, 1 and 0xffff.
struct ImmAnswers {
    imm0: u64,
    imm1: u64,
    imm_max: u64,
}

impl ImmAnswers {
    fn of(trap: &PkvmTrap, query: Query) -> Self {
        Self {
            imm0: call::<0>(trap, query),
            imm1: call::<1>(trap, query),
            imm_max: call::<0xffff>(trap, query),
        }
    }

    /// Both non-zero immediates got NOT_SUPPORTED.
    fn rejected(&self) -> bool {
        is_not_supported(self.imm1) && is_not_supported(self.imm_max)
    }
}

/// SMCCC's Call UID query of `owner`.
fn call_uid_query(owner: u64) -> Query {
    // SAFETY: a general service query returns a constant identifier of the
    // service; SMCCC defines it for every owner, and pKVM's PSCI relay and
    // FF-A proxy forward it to EL3 untouched (it is neither PSCI nor FF-A).
    unsafe { Query::new(SMCCC_CALL_UID_QUERY | owner << 24, [0; 3]) }
}

/// KTAP output, one line per `pr_info!`.
#[derive(Default)]
struct Ktap {
    /// Cases reported so far: `run()` reports them in `CASES` order.
    reported: usize,
    pass: u32,
    fail: u32,
    skip: u32,
}

impl Ktap {
    fn begin() -> Self {
        pr_info!("KTAP version 1\n");
        pr_info!("1..{}\n", CASES.len());
        Self::default()
    }

    fn diag(args: fmt::Arguments<'_>) {
        pr_info!("# {}\n", args);
    }

    /// `ok N name # detail`; the detail of a skipped case starts with SKIP.
    fn line(&mut self, index: usize, passed: bool, detail: fmt::Arguments<'_>) {
        let status = if passed { "ok" } else { "not ok" };
        pr_info!("{} {} {} # {}\n", status, index + 1, CASES[index], detail);
        self.reported = index + 1;
    }

    fn result(&mut self, case: Case, passed: bool, detail: fmt::Arguments<'_>) {
        self.line(case as usize, passed, detail);
        if passed {
            self.pass += 1;
        } else {
            self.fail += 1;
        }
    }

    fn skip(&mut self, case: Case, reason: &str) {
        self.line(case as usize, true, format_args!("SKIP {}", reason));
        self.skip += 1;
    }

    fn skip_rest(&mut self, reason: &str) {
        for index in self.reported..CASES.len() {
            self.line(index, true, format_args!("SKIP {}", reason));
            self.skip += 1;
        }
    }

    fn finish(&self) {
        pr_info!(
            "# Totals: pass:{} fail:{} xfail:0 xpass:0 skip:{} error:0\n",
            self.pass,
            self.fail,
            self.skip
        );
    }
}

/// The cases, in KTAP order.
#[derive(Clone, Copy)]
enum Case {
    Baseline,
    ResumesAfterSmc,
    Smc1PsciVersion,
    Sweep,
    PreservesX4ToX17,
    PreservesX1ToX3,
    ReadOnlyCalls,
    Destructive,
    AllCpus,
    UpperBits,
    CallHints,
    GeneralQueries,
    HvcImmediate,
}

const CASES: [&str; 13] = [
    "smc0_psci_version_baseline",
    "smc1_resumes_at_the_next_instruction",
    "smc1_psci_version_not_supported",
    "smc_all_nonzero_imm_not_supported",
    "smc1_preserves_x4_to_x17_smccc",
    "smc1_preserves_x1_to_x3_as_upstream",
    "smc_nonzero_imm_read_only_calls_not_supported",
    "smc_nonzero_imm_destructive_psci_harmless",
    "smc1_concurrent_on_all_cpus",
    "smc0_upper_32_bit_function_id_rejected",
    "smc0_call_hint_masked_before_the_relay",
    "smc_nonzero_imm_general_queries_of_every_owner",
    "hvc_nonzero_imm_host_hypercall",
];

fn baseline(trap: &PkvmTrap, ktap: &mut Ktap) -> bool {
    let version = call::<0>(trap, Query::psci_version());
    let major = (version >> 16) & 0x7fff;
    let passed = version >> 31 == 0 && major >= 1;
    ktap.result(
        Case::Baseline,
        passed,
        format_args!("PSCI_VERSION = {:#x}", version),
    );
    passed
}

fn smc1_psci_version(trap: &PkvmTrap, ktap: &mut Ktap) -> bool {
    let x0 = call::<1>(trap, Query::psci_version());
    let passed = is_not_supported(x0);
    ktap.result(
        Case::Smc1PsciVersion,
        passed,
        format_args!("x0 = {:#x}", x0),
    );
    passed
}

fn sweep(trap: &PkvmTrap, ktap: &mut Ktap) -> bool {
    let (start, frequency) = counter();
    let mut offenders = 0u32;
    let mut first_offender = None;
    for imm in (1..=u16::MAX).filter_map(NonZeroU16::new) {
        if !is_not_supported(call_with_imm(trap, imm, Query::psci_version())) {
            first_offender.get_or_insert(imm);
            offenders += 1;
        }
    }
    let (end, _) = counter();
    let ms = end.wrapping_sub(start) * 1000 / frequency.max(1);
    if let Some(imm) = first_offender {
        Ktap::diag(format_args!("first offender: smc #{:#x}", imm));
    }
    ktap.result(
        Case::Sweep,
        offenders == 0,
        format_args!("65535 immediates in {} ms, {} not rejected", ms, offenders),
    );
    offenders == 0
}

/// Cases 4 and 5, from one `smc #1` PSCI_VERSION with a distinct value in
/// each of x1..x17. SMCCC (v1.1 on) has a call return x4..x17 unchanged
/// unless it defines results there; x1..x3 it may corrupt when the result
/// is in x0 only. Upstream's C handler writes only x0 when it rejects, and
/// this project pins that as well.
fn registers_preserved(trap: &PkvmTrap, ktap: &mut Ktap) {
    let mut before: SmcRegs = [0; 18];
    for (i, reg) in before.iter_mut().enumerate() {
        // Distinct per register and per byte, so a swap or a partial
        // write shows.
        *reg = 0x5a5a_0000_0000_0000 | ((i as u64) << 40) | ((i as u64) * 0x0101_0101);
    }
    before[0] = PSCI_VERSION;
    // SAFETY: PSCI_VERSION is read-only whatever x1..x17 hold, and the
    // caller has seen `smc #1` PSCI_VERSION rejected.
    let after = unsafe { smc::<1>(trap, before) };
    let changed = |range: core::ops::RangeInclusive<usize>| {
        let mut changed = 0;
        for i in range {
            if after[i] != before[i] {
                Ktap::diag(format_args!(
                    "x{} changed: {:#x} -> {:#x}",
                    i, before[i], after[i]
                ));
                changed += 1;
            }
        }
        changed
    };
    let rejected = is_not_supported(after[0]);
    let high = changed(4..=17);
    ktap.result(
        Case::PreservesX4ToX17,
        rejected && high == 0,
        format_args!("x0 = {:#x}, {} of x4..x17 changed (SMCCC)", after[0], high),
    );
    let low = changed(1..=3);
    ktap.result(
        Case::PreservesX1ToX3,
        rejected && low == 0,
        format_args!("{} of x1..x3 changed (upstream writes x0 only)", low),
    );
}

/// Each call must be rejected with immediates 1 and 0xffff; with immediate
/// 0 it is reported, and discriminates where it does not return -1 (QEMU
/// answers -1 to what it does not implement).
fn read_only_calls(trap: &PkvmTrap, ktap: &mut Ktap) {
    let calls = [
        ("PSCI_VERSION", Query::psci_version()),
        ("PSCI_FEATURES(PSCI_VERSION)", PSCI_FEATURES_OF_VERSION),
        ("PSCI_AFFINITY_INFO_64(self)", affinity_info_self()),
        ("SMCCC_VERSION", SMCCC_VERSION_QUERY),
        (
            "SMCCC_ARCH_FEATURES(WORKAROUND_1)",
            SMCCC_ARCH_FEATURES_OF_WORKAROUND_1,
        ),
        ("FFA_FEATURES(FFA_VERSION)", FFA_FEATURES_OF_VERSION),
    ];
    let mut failures = 0;
    for (name, query) in calls {
        let answers = ImmAnswers::of(trap, query);
        if !answers.rejected() {
            failures += 1;
        }
        Ktap::diag(format_args!(
            "{}: imm 0 -> {:#x}{}, imm 1 -> {:#x}, imm 0xffff -> {:#x}",
            name,
            answers.imm0,
            if is_not_supported(answers.imm0) {
                " (not discriminating here)"
            } else {
                ""
            },
            answers.imm1,
            answers.imm_max
        ));
    }
    ktap.result(
        Case::ReadOnlyCalls,
        failures == 0,
        format_args!("{} of {} not rejected", failures, calls.len()),
    );
}

/// Each of these would take a CPU or the machine down if it reached EL3.
///
/// # Safety
///
/// pKVM must have rejected `smc #1` and every other non-zero immediate.
unsafe fn destructive(trap: &PkvmTrap, ktap: &mut Ktap) {
    let mpidr: u64;
    // SAFETY: MPIDR_EL1 is readable at EL1 and has no side effect.
    unsafe { asm!("mrs {}, mpidr_el1", out(reg) mpidr, options(nomem, nostack)) };
    let calls: [(&str, u64, u64); 4] = [
        ("CPU_OFF", PSCI_CPU_OFF, 0),
        ("CPU_ON_64(self)", PSCI_CPU_ON_64, mpidr & MPIDR_HWID_MASK),
        ("SYSTEM_RESET", PSCI_SYSTEM_RESET, 0),
        ("SYSTEM_OFF", PSCI_SYSTEM_OFF, 0),
    ];
    let mut failures = 0;
    for (name, function_id, target) in calls {
        let mut regs: SmcRegs = [0; 18];
        regs[0] = function_id;
        regs[1] = target;
        // SAFETY: with immediate 1 the call is rejected (the caller's
        // guarantee), so it never reaches the relay or EL3.
        let x0 = unsafe { smc::<1>(trap, regs) }[0];
        if !is_not_supported(x0) {
            failures += 1;
        }
        Ktap::diag(format_args!("{} with imm 1 -> {:#x}", name, x0));
    }
    // Still here, and the channel still answers.
    let version = call::<0>(trap, Query::psci_version());
    ktap.result(
        Case::Destructive,
        failures == 0 && !is_not_supported(version),
        format_args!(
            "{} of {} not rejected, PSCI_VERSION after = {:#x}",
            failures,
            calls.len(),
            version
        ),
    );
}

/// What the CPUs of one `on_each_online_cpu()` share.
struct ConcurrentRun<'a> {
    trap: &'a PkvmTrap,
    cpus: AtomicU32,
    wrong: AtomicU32,
    last_answer: AtomicU64,
}

impl<'a> ConcurrentRun<'a> {
    fn new(trap: &'a PkvmTrap) -> Self {
        Self {
            trap,
            cpus: AtomicU32::new(0),
            wrong: AtomicU32::new(0),
            last_answer: AtomicU64::new(0),
        }
    }

    /// Runs `func` on every online CPU at once, in IPI context, with this
    /// run as its argument; returns how many CPUs ran it and how many were
    /// online.
    ///
    /// # Safety
    ///
    /// `func` must take its argument for a `&ConcurrentRun` and only read
    /// it, and be safe to run in IPI context.
    unsafe fn on_each_online_cpu(&self, func: unsafe extern "C" fn(*mut c_void)) -> (u32, u32) {
        let hotplug = sys::HotplugLock::new();
        let info = core::ptr::from_ref(self).cast_mut().cast();
        // SAFETY: `func` only reads this run and its atomics (the caller's
        // guarantee), which outlives the call.
        unsafe { hotplug.on_each_online_cpu(func, info) };
        (self.cpus.load(Relaxed), hotplug.online_cpus())
    }
}

/// Runs on every online CPU at once, in IPI context.
///
/// # Safety
///
/// `info` must point to a `ConcurrentRun` that outlives the call.
unsafe extern "C" fn concurrent_rejects(info: *mut c_void) {
    // SAFETY: `info` points to the `ConcurrentRun` that `all_cpus()` keeps
    // alive until every CPU has returned (wait = true).
    let run = unsafe { &*info.cast::<ConcurrentRun<'_>>() };
    for _ in 0..CONCURRENT_CALLS_PER_CPU {
        if !is_not_supported(call::<1>(run.trap, Query::psci_version())) {
            run.wrong.fetch_add(1, Relaxed);
        }
    }
    run.cpus.fetch_add(1, Relaxed);
}

fn all_cpus(trap: &PkvmTrap, ktap: &mut Ktap) {
    let run = ConcurrentRun::new(trap);
    // SAFETY: concurrent_rejects() reads its argument as this run's
    // reference.
    let (cpus, online) = unsafe { run.on_each_online_cpu(concurrent_rejects) };
    let wrong = run.wrong.load(Relaxed);
    ktap.result(
        Case::AllCpus,
        cpus == online && wrong == 0,
        format_args!(
            "{} of {} online CPUs x {} calls, {} not rejected",
            cpus, online, CONCURRENT_CALLS_PER_CPU, wrong
        ),
    );
}

fn upper_bits(trap: &PkvmTrap, ktap: &mut Ktap) {
    let x0 = call::<0>(trap, PSCI_VERSION_UPPER_BIT);
    ktap.result(
        Case::UpperBits,
        is_not_supported(x0),
        format_args!("x0 = {:#x}", x0),
    );
}

/// CPU_ON_64 of the CPU that issues it: the PSCI relay passes it on to EL3
/// with the hypervisor's own entry point, and PSCI answers ALREADY_ON.
fn cpu_on_self_with_hint() -> Query {
    let mpidr: u64;
    // SAFETY: MPIDR_EL1 is readable at EL1 and has no side effect.
    unsafe { asm!("mrs {}, mpidr_el1", out(reg) mpidr, options(nomem, nostack)) };
    // SAFETY: the target is the calling CPU, which is on: PSCI changes
    // nothing and answers ALREADY_ON, whether the relay sees the call
    // (hint masked) or the firmware does (a firmware that knows SMCCC 1.3
    // masks the hint itself; one that does not answers NOT_SUPPORTED).
    // Callers run it with interrupts off, so that it cannot migrate to
    // another CPU, which might be off, between the read and the call.
    unsafe {
        Query::new(
            PSCI_CPU_ON_64 | SMCCC_CALL_HINTS,
            [mpidr & MPIDR_HWID_MASK, 0, 0],
        )
    }
}

/// One CPU's probe of the call hint; runs in IPI context, interrupts off.
///
/// # Safety
///
/// `info` must point to a `ConcurrentRun` that outlives the call.
unsafe extern "C" fn hint_probe(info: *mut c_void) {
    // SAFETY: `info` points to the `ConcurrentRun` that `call_hint()` keeps
    // alive until every CPU has returned (wait = true).
    let run = unsafe { &*info.cast::<ConcurrentRun<'_>>() };
    let x0 = call::<0>(run.trap, cpu_on_self_with_hint());
    if is_not_supported(x0) {
        run.wrong.fetch_add(1, Relaxed);
    } else {
        run.last_answer.store(x0, Relaxed);
    }
    run.cpus.fetch_add(1, Relaxed);
}

/// The call hint must be masked before pKVM dispatches on the function ID:
/// only then does the PSCI relay see the PSCI call. What the relay does not
/// know goes to EL3 as it is, where a function ID with the hint bit set is
/// not one (QEMU answers NOT_SUPPORTED). CPU_ON of the calling CPU changes
/// no state on either path, unlike the CPU_SUSPEND that needs the relay
/// most (a real CPU powers down).
fn call_hint(trap: &PkvmTrap, ktap: &mut Ktap) {
    let run = ConcurrentRun::new(trap);
    // SAFETY: hint_probe() reads its argument as this run's reference.
    let (cpus, online) = unsafe { run.on_each_online_cpu(hint_probe) };
    let wrong = run.wrong.load(Relaxed);
    ktap.result(
        Case::CallHints,
        cpus == online && wrong == 0,
        format_args!(
            "CPU_ON_64(self) | hint on {} of {} CPUs: {} NOT_SUPPORTED, else x0 = {:#x} (ALREADY_ON: -4)",
            cpus,
            online,
            wrong,
            run.last_answer.load(Relaxed)
        ),
    );
}

/// The Call UID query of every owner, with immediates 1 and 0xffff, must be
/// rejected. With immediate 0 each is reported; under QEMU, whose firmware
/// answers NOT_SUPPORTED to all but its own PSCI, it does not discriminate,
/// and a leak shows only in QEMU's exception log (the testbed checks it);
/// on hardware the firmware answers, and x0 tells too.
fn general_queries(trap: &PkvmTrap, ktap: &mut Ktap) {
    let mut failures = 0;
    let mut discriminating = 0;
    for owner in SMCCC_OWNERS {
        let answers = ImmAnswers::of(trap, call_uid_query(owner));
        if !answers.rejected() {
            failures += 1;
            Ktap::diag(format_args!(
                "owner {}: imm 1 -> {:#x}, imm 0xffff -> {:#x}",
                owner, answers.imm1, answers.imm_max
            ));
        }
        if !is_not_supported(answers.imm0) {
            discriminating += 1;
        }
    }
    ktap.result(
        Case::GeneralQueries,
        failures == 0,
        format_args!(
            "{} of {} owners not rejected; {} answer with imm 0",
            failures,
            SMCCC_OWNERS.len(),
            discriminating
        ),
    );
}

/// Issues `query` with `smc #1` followed by two instructions that add 1
/// and 2 to x20; returns x0 and x20. The host must resume right after the
/// `smc`, so both run and x20 is 3: 2 means the hypervisor moved ELR past
/// one more instruction than the `smc` (x20 because an SMC may change
/// x0..x17, and x18, x19, x29 and x30 are not for inline assembly).
fn smc1_then_count(_trap: &PkvmTrap, query: Query) -> (u64, u64) {
    let regs = query.regs();
    let (x0, count): (u64, u64);
    // SAFETY: the `PkvmTrap` says this SMC traps to pKVM, and a `Query`
    // changes no state even if pKVM forwards it to EL3. x0..x17 may change
    // (SMCCC) and are all operands here.
    unsafe {
        asm!(
            "smc #1",
            "add x20, x20, #1",
            "add x20, x20, #2",
            inout("x0") regs[0] => x0, inout("x1") regs[1] => _,
            inout("x2") regs[2] => _, inout("x3") regs[3] => _,
            out("x4") _, out("x5") _, out("x6") _, out("x7") _, out("x8") _,
            out("x9") _, out("x10") _, out("x11") _, out("x12") _, out("x13") _,
            out("x14") _, out("x15") _, out("x16") _, out("x17") _,
            inout("x20") 0u64 => count,
            options(nostack),
        );
    }
    (x0, count)
}

/// The host resumes at the instruction after an `smc #1`: exactly one
/// instruction skipped (ELR_EL2 + 4), whatever pKVM made of the call. Every
/// later case runs code after an `smc`, so it comes first.
fn resumes_after_smc(trap: &PkvmTrap, ktap: &mut Ktap) -> bool {
    let (x0, count) = smc1_then_count(trap, Query::psci_version());
    ktap.result(
        Case::ResumesAfterSmc,
        count == 3,
        format_args!(
            "x0 = {:#x}, x20 = {} (3: both instructions after the smc ran)",
            x0, count
        ),
    );
    count == 3
}

/// Whether this kernel's hypervisor must reject a host `hvc` with a
/// non-zero immediate: `CONFIG_NVHE_HOST_HVC_IMM_REJECT`, which this
/// project's 7.3 series proposes.
const HVC_IMM_REJECT_REQUIRED: bool = cfg!(CONFIG_NVHE_HOST_HVC_IMM_REJECT);

/// `hvc::flush_vm_context::<IMM>` for each immediate given, with it.
macro_rules! hvc_calls {
    ($($imm:expr),+ $(,)?) => {
        [$(($imm, hvc::flush_vm_context::<{ $imm }> as fn(&PkvmTrap, &hvc::HcallNumbers) -> u64)),+]
    };
}

/// What pKVM makes of a host `hvc` with a non-zero immediate. SMCCC
/// designates those for the hypervisor vendor; pKVM defines none and
/// dispatches by x0. With immediate 0 the hypercall must succeed, or the
/// case skips without another HVC (Android's pKVM refuses it to the host
/// once finalised). Then each immediate of one bit, and 0xffff: "ran"
/// means that pKVM ran the hypercall x0 names, the immediate ignored
/// (Linux up to 7.3), "rejected" that it answered NOT_SUPPORTED. Answers
/// that differ between immediates fail (a check of part of the
/// immediate), and so does anything but rejections where the kernel has
/// the option that requires them.
fn hvc_immediate(trap: &PkvmTrap, ktap: &mut Ktap) {
    let Some(numbers) = hvc::HcallNumbers::check() else {
        ktap.skip(
            Case::HvcImmediate,
            "the module was built for another kernel release: its hypercall number may name another hypercall",
        );
        return;
    };
    let imm0 = hvc::flush_vm_context::<0>(trap, &numbers);
    if imm0 != SMCCC_RET_SUCCESS {
        ktap.skip(
            Case::HvcImmediate,
            "hvc #0 __kvm_flush_vm_context did not succeed: not a host hypercall after pKVM's finalisation here",
        );
        return;
    }
    // One bit at a time, as smc_imm_guest sweeps a guest's: a check of
    // part of the immediate shows.
    let calls = hvc_calls!(
        1 << 0,
        1 << 1,
        1 << 2,
        1 << 3,
        1 << 4,
        1 << 5,
        1 << 6,
        1 << 7,
        1 << 8,
        1 << 9,
        1 << 10,
        1 << 11,
        1 << 12,
        1 << 13,
        1 << 14,
        1 << 15,
        0xffff,
    );
    let (mut ran, mut rejected, mut other) = (0u32, 0u32, 0u32);
    for (imm, call) in calls {
        match call(trap, &numbers) {
            SMCCC_RET_SUCCESS => ran += 1,
            x0 if is_not_supported(x0) => rejected += 1,
            x0 => {
                other += 1;
                Ktap::diag(format_args!("hvc #{:#x} -> {:#x}", imm, x0));
            }
        }
    }
    let all = calls.len() as u32;
    let outcome = if ran == all {
        "pKVM ignores the immediate of a host hvc"
    } else if rejected == all {
        "pKVM rejects a host hvc with a non-zero immediate"
    } else {
        "neither ignored nor rejected throughout"
    };
    let (passed, judged) = if HVC_IMM_REJECT_REQUIRED {
        (rejected == all, "required: NVHE_HOST_HVC_IMM_REJECT=y")
    } else {
        (ran == all || rejected == all, "documented")
    };
    ktap.result(
        Case::HvcImmediate,
        passed,
        format_args!(
            "__kvm_flush_vm_context: hvc #0 -> {:#x}; hvc #(1 << 0..=15), #0xffff: {} ran, {} rejected, {} other: {} ({})",
            imm0, ran, rejected, other, outcome, judged
        ),
    );
}

fn run(trap: &PkvmTrap, ktap: &mut Ktap) {
    if !baseline(trap, ktap) {
        ktap.skip_rest("smc #0 PSCI_VERSION failed: nothing else is meaningful");
        return;
    }
    if !resumes_after_smc(trap, ktap) {
        ktap.skip_rest("the host did not resume right after the smc: nothing else is meaningful");
        return;
    }

    // Where smc #1 is not rejected it reached the firmware: issue no other
    // non-zero immediate.
    let rejects_one = smc1_psci_version(trap, ktap);
    let not_rejected = "smc #1 was not rejected: no more non-zero immediates";
    let rejects_all = if !rejects_one {
        ktap.skip(Case::Sweep, not_rejected);
        false
    } else if !module_parameters::sweep.value() {
        ktap.skip(Case::Sweep, "disabled by sweep=0");
        false
    } else {
        sweep(trap, ktap)
    };

    if rejects_one {
        registers_preserved(trap, ktap);
        read_only_calls(trap, ktap);
    } else {
        ktap.skip(Case::PreservesX4ToX17, not_rejected);
        ktap.skip(Case::PreservesX1ToX3, not_rejected);
        ktap.skip(Case::ReadOnlyCalls, not_rejected);
    }

    // Without the enforcement these would take the machine down.
    if !module_parameters::destructive.value() {
        ktap.skip(Case::Destructive, "disabled by destructive=0");
    } else if !rejects_one {
        ktap.skip(Case::Destructive, not_rejected);
    } else if !module_parameters::sweep.value() {
        ktap.skip(Case::Destructive, "needs the sweep, disabled by sweep=0");
    } else if !rejects_all {
        ktap.skip(
            Case::Destructive,
            "not every non-zero immediate was rejected",
        );
    } else {
        // SAFETY: smc #1 and the whole sweep were rejected.
        unsafe { destructive(trap, ktap) };
    }

    if !module_parameters::all_cpus.value() {
        ktap.skip(Case::AllCpus, "disabled by all_cpus=0");
    } else if !rejects_one {
        ktap.skip(Case::AllCpus, not_rejected);
    } else {
        all_cpus(trap, ktap);
    }

    upper_bits(trap, ktap);
    call_hint(trap, ktap);

    if rejects_one {
        general_queries(trap, ktap);
    } else {
        ktap.skip(Case::GeneralQueries, not_rejected);
    }

    // An HVC never reaches EL3: pKVM runs or rejects it whatever the SMC
    // cases found.
    hvc_immediate(trap, ktap);
}

struct SmcImmTest;

impl kernel::Module for SmcImmTest {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        // As tools/testing/selftests/kselftest_module.h: a kernel that ran
        // a test module says so in its taint flags.
        sys::taint_test();

        let mut ktap = Ktap::begin();
        match PkvmTrap::check() {
            Ok(trap) => run(&trap, &mut ktap),
            Err(reason) => ktap.skip_rest(reason),
        }
        ktap.finish();
        Ok(Self)
    }
}
