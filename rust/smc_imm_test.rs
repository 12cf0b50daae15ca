// SPDX-License-Identifier: GPL-2.0

//! Kselftest for pKVM's handling of host SMCs with a non-zero immediate.
//!
//! SMCCC (DEN0028) reserves every non-zero SMC immediate: such a call is not
//! an SMCCC call, and the hypervisor cannot know what EL3 firmware would do
//! with it. Under pKVM the host is untrusted and its SMCs trap to EL2, which
//! must answer them with `SMCCC_RET_NOT_SUPPORTED` and forward nothing.
//!
//! Loading the module runs every case and prints KTAP to the kernel log;
//! the load fails if any case fails, as kselftest modules do.
//!
//! An SMC with a non-zero immediate that reaches real EL3 firmware has
//! undefined results, so none is issued unless the kernel runs at EL1 with
//! pKVM in protected mode; otherwise every case is skipped.

use core::arch::{asm, global_asm};
use core::ffi::c_void;
use core::fmt;
use core::sync::atomic::{AtomicU32, Ordering};
use kernel::{bindings, prelude::*};

mod smc;
use smc::{call, counter, is_not_supported, pkvm_protected, smc, SmcRegs, PSCI_VERSION};

module! {
    type: SmcImmTest,
    name: "smc_imm_test",
    description: "pKVM rejects host SMCs with a non-zero immediate",
    license: "GPL",
}

const SMCCC_VERSION: u64 = 0x8000_0000;
const PSCI_CPU_OFF: u64 = 0x8400_0002;
const PSCI_CPU_ON_64: u64 = 0xc400_0003;
const PSCI_AFFINITY_INFO_64: u64 = 0xc400_0004;
const PSCI_SYSTEM_OFF: u64 = 0x8400_0008;
const PSCI_SYSTEM_RESET: u64 = 0x8400_0009;
const PSCI_FEATURES: u64 = 0x8400_000a;
const FFA_VERSION: u64 = 0x8400_0063;
const FFA_VERSION_1_1: u64 = 0x1_0001;
/// MPIDR_EL1 affinity fields Aff0..Aff3, as PSCI takes a target CPU.
const MPIDR_HWID_MASK: u64 = 0xff_00ff_ffff;

const CASES: u32 = 8;
const CONCURRENT_CALLS_PER_CPU: u32 = 2000;

// The immediate is part of the instruction, so sweeping all of them needs
// one stub per value: `bti c; smc #imm; ret`, 12 bytes each, for 1..=65535.
global_asm!(
    ".pushsection .text, \"ax\"",
    ".balign 4",
    ".globl smc_imm_test_stubs",
    "smc_imm_test_stubs:",
    ".set smc_imm, 1",
    ".rept 65535",
    "hint #34",
    "smc #smc_imm",
    "ret",
    ".set smc_imm, smc_imm + 1",
    ".endr",
    ".popsection",
);

const STUB_BYTES: usize = 12;

unsafe extern "C" {
    static smc_imm_test_stubs: [u8; 65535 * STUB_BYTES];
}

/// Issues `smc #imm` (imm != 0) with `function_id` in x0 and zeroes in
/// x1..x3, through the stub for `imm`; returns x0.
fn call_with_imm(imm: u16, function_id: u64) -> u64 {
    let index = usize::from(imm.saturating_sub(1));
    let base = core::ptr::addr_of!(smc_imm_test_stubs).cast::<u8>();
    let stub = base.wrapping_add(index * STUB_BYTES);
    let mut x0 = function_id;
    // SAFETY: `stub` is the stub for `imm`, which issues one SMC and
    // returns; as for `smc()`, callers establish `pkvm_protected()` first.
    // It may change x0..x17 (SMCCC) and the call itself x30: all are
    // declared clobbered. `blr` is not a CFI-checked indirect call.
    unsafe {
        asm!(
            "blr {stub}",
            stub = in(reg) stub,
            inout("x0") x0,
            inout("x1") 0u64 => _, inout("x2") 0u64 => _, inout("x3") 0u64 => _,
            out("x4") _, out("x5") _, out("x6") _, out("x7") _, out("x8") _,
            out("x9") _, out("x10") _, out("x11") _, out("x12") _, out("x13") _,
            out("x14") _, out("x15") _, out("x16") _, out("x17") _, out("x30") _,
        );
    }
    x0
}

fn own_mpidr() -> u64 {
    let mpidr: u64;
    // SAFETY: MPIDR_EL1 is readable at EL1 and has no side effect.
    unsafe { asm!("mrs {}, mpidr_el1", out(reg) mpidr, options(nomem, nostack)) };
    mpidr & MPIDR_HWID_MASK
}

/// KTAP output, one line per `pr_info!`.
#[derive(Default)]
struct Totals {
    next: u32,
    pass: u32,
    fail: u32,
    skip: u32,
}

impl Totals {
    fn begin(plan: u32) -> Self {
        pr_info!("KTAP version 1\n");
        pr_info!("1..{}\n", plan);
        Self {
            next: 1,
            ..Self::default()
        }
    }

    fn diag(args: fmt::Arguments<'_>) {
        pr_info!("# {}\n", args);
    }

    fn result(&mut self, passed: bool, name: &str, detail: fmt::Arguments<'_>) {
        let status = if passed { "ok" } else { "not ok" };
        pr_info!("{} {} {} # {}\n", status, self.next, name, detail);
        self.next += 1;
        if passed {
            self.pass += 1;
        } else {
            self.fail += 1;
        }
    }

    fn skip(&mut self, name: &str, reason: &str) {
        pr_info!("ok {} {} # SKIP {}\n", self.next, name, reason);
        self.next += 1;
        self.skip += 1;
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

const NAMES: [&str; CASES as usize] = [
    "smc0_psci_version_baseline",
    "smc1_psci_version_not_supported",
    "smc_all_nonzero_imm_not_supported",
    "smc1_preserves_x1_to_x17",
    "smc_nonzero_imm_smc32_smc64_psci_ffa",
    "smc_nonzero_imm_destructive_psci_harmless",
    "smc1_concurrent_on_all_cpus",
    "smc0_upper_32_bit_function_id_rejected",
];

fn baseline(ktap: &mut Totals) -> bool {
    let version = call::<0>(PSCI_VERSION, [0; 3]);
    let major = (version >> 16) & 0x7fff;
    let passed = version >> 31 == 0 && major >= 1;
    ktap.result(
        passed,
        NAMES[0],
        format_args!("PSCI_VERSION = {:#x}", version),
    );
    passed
}

fn smc1_psci_version(ktap: &mut Totals) -> bool {
    let x0 = call::<1>(PSCI_VERSION, [0; 3]);
    let passed = is_not_supported(x0);
    ktap.result(passed, NAMES[1], format_args!("x0 = {:#x}", x0));
    passed
}

fn sweep(ktap: &mut Totals) -> bool {
    let (start, frequency) = counter();
    let mut offenders = 0u32;
    let mut first_offender = 0u16;
    for imm in 1..=u16::MAX {
        if !is_not_supported(call_with_imm(imm, PSCI_VERSION)) {
            if offenders == 0 {
                first_offender = imm;
            }
            offenders += 1;
        }
    }
    let (end, _) = counter();
    let ms = end.wrapping_sub(start) * 1000 / frequency.max(1);
    let passed = offenders == 0;
    if !passed {
        Totals::diag(format_args!("first offender: smc #{:#x}", first_offender));
    }
    ktap.result(
        passed,
        NAMES[2],
        format_args!("65535 immediates in {} ms, {} not rejected", ms, offenders),
    );
    passed
}

fn registers_preserved(ktap: &mut Totals) {
    let mut before: SmcRegs = [0; 18];
    for (i, reg) in before.iter_mut().enumerate() {
        // Distinct per register and per byte, so a swap or a partial
        // write shows.
        *reg = 0x5a5a_0000_0000_0000 | ((i as u64) << 40) | ((i as u64) * 0x0101_0101);
    }
    before[0] = PSCI_VERSION;
    let after = smc::<1>(before);
    let mut changed = 0;
    for i in 1..before.len() {
        if after[i] != before[i] {
            Totals::diag(format_args!(
                "x{} changed: {:#x} -> {:#x}",
                i, before[i], after[i]
            ));
            changed += 1;
        }
    }
    let passed = is_not_supported(after[0]) && changed == 0;
    ktap.result(
        passed,
        NAMES[3],
        format_args!("x0 = {:#x}, {} of x1..x17 changed", after[0], changed),
    );
}

/// Calls that succeed with imm 0 discriminate; the others (QEMU answers -1
/// to what it does not implement) still must not succeed with imm != 0.
fn function_classes(ktap: &mut Totals) {
    let mpidr = own_mpidr();
    let calls: [(&str, u64, [u64; 3]); 5] = [
        ("SMCCC_VERSION", SMCCC_VERSION, [0; 3]),
        (
            "PSCI_FEATURES(PSCI_VERSION)",
            PSCI_FEATURES,
            [PSCI_VERSION, 0, 0],
        ),
        (
            "PSCI_AFFINITY_INFO_64(self)",
            PSCI_AFFINITY_INFO_64,
            [mpidr, 0, 0],
        ),
        ("FFA_VERSION(1.1)", FFA_VERSION, [FFA_VERSION_1_1, 0, 0]),
        ("PSCI_VERSION", PSCI_VERSION, [0; 3]),
    ];
    let mut failures = 0;
    for (name, function_id, args) in calls {
        let imm0 = call::<0>(function_id, args);
        let imm1 = call::<1>(function_id, args);
        let imm_max = call::<0xffff>(function_id, args);
        let ok = is_not_supported(imm1) && is_not_supported(imm_max);
        if !ok {
            failures += 1;
        }
        Totals::diag(format_args!(
            "{}: imm 0 -> {:#x}{}, imm 1 -> {:#x}, imm 0xffff -> {:#x}",
            name,
            imm0,
            if is_not_supported(imm0) {
                " (not discriminating here)"
            } else {
                ""
            },
            imm1,
            imm_max
        ));
    }
    ktap.result(
        failures == 0,
        NAMES[4],
        format_args!("{} of {} not rejected", failures, calls.len()),
    );
}

/// Each of these would take a CPU or the machine down if it reached EL3.
fn destructive(ktap: &mut Totals) {
    let mpidr = own_mpidr();
    let calls: [(&str, u64, [u64; 3]); 4] = [
        ("CPU_OFF", PSCI_CPU_OFF, [0; 3]),
        ("CPU_ON_64(self)", PSCI_CPU_ON_64, [mpidr, 0, 0]),
        ("SYSTEM_RESET", PSCI_SYSTEM_RESET, [0; 3]),
        ("SYSTEM_OFF", PSCI_SYSTEM_OFF, [0; 3]),
    ];
    let mut failures = 0;
    for (name, function_id, args) in calls {
        let x0 = call::<1>(function_id, args);
        if !is_not_supported(x0) {
            failures += 1;
        }
        Totals::diag(format_args!("{} with imm 1 -> {:#x}", name, x0));
    }
    // Still here, and the channel still answers.
    let version = call::<0>(PSCI_VERSION, [0; 3]);
    let passed = failures == 0 && !is_not_supported(version);
    ktap.result(
        passed,
        NAMES[5],
        format_args!(
            "{} of {} not rejected, PSCI_VERSION after = {:#x}",
            failures,
            calls.len(),
            version
        ),
    );
}

struct ConcurrentRun {
    cpus: AtomicU32,
    wrong: AtomicU32,
}

/// Runs on every online CPU at once, in IPI context.
///
/// # Safety
///
/// `info` must point to a `ConcurrentRun` that outlives the call.
unsafe extern "C" fn concurrent_rejects(info: *mut c_void) {
    // SAFETY: `info` points to the `ConcurrentRun` that `concurrent()`
    // keeps alive until every CPU has returned (wait = true).
    let run = unsafe { &*info.cast::<ConcurrentRun>() };
    for _ in 0..CONCURRENT_CALLS_PER_CPU {
        if !is_not_supported(call::<1>(PSCI_VERSION, [0; 3])) {
            run.wrong.fetch_add(1, Ordering::Relaxed);
        }
    }
    run.cpus.fetch_add(1, Ordering::Relaxed);
}

fn concurrent(ktap: &mut Totals) {
    let run = ConcurrentRun {
        cpus: AtomicU32::new(0),
        wrong: AtomicU32::new(0),
    };
    // SAFETY: the callback only reads `run` through atomics, and with wait
    // = true the call returns after every CPU has finished with it.
    unsafe {
        bindings::on_each_cpu_cond_mask(
            None,
            Some(concurrent_rejects),
            core::ptr::addr_of!(run).cast_mut().cast(),
            true,
            core::ptr::addr_of!(bindings::__cpu_online_mask),
        )
    };
    let cpus = run.cpus.load(Ordering::Relaxed);
    let wrong = run.wrong.load(Ordering::Relaxed);
    ktap.result(
        cpus > 0 && wrong == 0,
        NAMES[6],
        format_args!(
            "{} CPUs x {} calls, {} not rejected",
            cpus, CONCURRENT_CALLS_PER_CPU, wrong
        ),
    );
}

fn upper_bits(ktap: &mut Totals) {
    let x0 = call::<0>(PSCI_VERSION | 1 << 32, [0; 3]);
    ktap.result(
        is_not_supported(x0),
        NAMES[7],
        format_args!("x0 = {:#x}", x0),
    );
}

fn skip_from(ktap: &mut Totals, first: usize, reason: &str) {
    for name in &NAMES[first..] {
        ktap.skip(name, reason);
    }
}

fn run() -> Result<Totals> {
    let mut ktap = Totals::begin(CASES);
    if let Err(reason) = pkvm_protected() {
        skip_from(&mut ktap, 0, reason);
        ktap.finish();
        return Ok(ktap);
    }

    if !baseline(&mut ktap) {
        skip_from(
            &mut ktap,
            1,
            "smc #0 PSCI_VERSION failed: nothing else is meaningful",
        );
    } else {
        let rejects_one = smc1_psci_version(&mut ktap);
        let rejects_all = sweep(&mut ktap);
        registers_preserved(&mut ktap);
        function_classes(&mut ktap);
        if rejects_one && rejects_all {
            destructive(&mut ktap);
        } else {
            // Without the enforcement these would power the machine off.
            ktap.skip(NAMES[5], "non-zero immediates are not rejected");
        }
        concurrent(&mut ktap);
        upper_bits(&mut ktap);
    }
    ktap.finish();
    if ktap.fail > 0 {
        return Err(EINVAL);
    }
    Ok(ktap)
}

#[pin_data(PinnedDrop)]
struct SmcImmTest {
    totals: Totals,
}

#[cfg(in_place_module)]
impl kernel::InPlaceModule for SmcImmTest {
    fn init(_module: &'static ThisModule) -> impl PinInit<Self, Error> {
        try_pin_init!(Self { totals: run()? })
    }
}

#[cfg(not(in_place_module))]
impl kernel::Module for SmcImmTest {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        Ok(Self { totals: run()? })
    }
}

#[pinned_drop]
impl PinnedDrop for SmcImmTest {
    fn drop(self: Pin<&mut Self>) {
        pr_info!(
            "# unloaded after pass:{} skip:{}\n",
            self.totals.pass,
            self.totals.skip
        );
    }
}
