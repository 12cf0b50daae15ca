// SPDX-License-Identifier: GPL-2.0

//! Benchmark of pKVM's host SMC handler: the round-trip cost of `smc #0`
//! PSCI_VERSION (the accept path: PSCI relay, forwarded to EL3) and of
//! `smc #1` PSCI_VERSION (the reject path), in virtual counter ticks.
//!
//! Each load measures one batch of each and prints one line; the caller
//! loads it as many times as it wants repetitions (scripts/bench.sh boots
//! QEMU with -icount, so the counter follows executed instructions). It
//! issues no SMC unless they trap to pKVM (see [`PkvmTrap`]).
//!
//! Unlike the test, it issues the `smc #1` batch even where pKVM does not
//! reject it (6.12 as Debian ships it: the C baseline of that tree), and
//! there the batch reaches EL3: QEMU's in the testbed. Do not load it on
//! hardware whose kernel does not pass the kselftest.

use kernel::prelude::*;

#[macro_use]
mod module_params;
mod smc;
// The benchmark needs only what `PkvmTrap::check()` uses of it.
#[allow(dead_code, unused_imports)]
mod sys;
use smc::{call, counter, is_not_supported, PkvmTrap, Query};

// No parameters, but the same macro as the test: `module!` takes `authors:`
// since 7.1 and `author:` before.
module_with_params! {
    type: SmcImmBench,
    name: "smc_imm_bench",
    authors: ["pkvm-smc-imm developers"],
    description: "Round-trip cost of host SMCs under pKVM",
    license: "GPL",
    params: {},
}

const CALLS_PER_BATCH: u64 = 2000;

/// Ticks for `CALLS_PER_BATCH` calls of `smc #IMM` PSCI_VERSION, and how
/// many of them were rejected.
fn batch<const IMM: u16>(trap: &PkvmTrap) -> (u64, u64) {
    // One call first, so that the batch does not pay for cold TLBs.
    call::<IMM>(trap, Query::psci_version());
    let (start, _) = counter();
    let mut rejected = 0;
    for _ in 0..CALLS_PER_BATCH {
        if is_not_supported(call::<IMM>(trap, Query::psci_version())) {
            rejected += 1;
        }
    }
    let (end, _) = counter();
    (end.wrapping_sub(start), rejected)
}

struct SmcImmBench;

impl kernel::Module for SmcImmBench {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let trap = match PkvmTrap::check() {
            Ok(trap) => trap,
            Err(reason) => {
                pr_err!("bench: not run: {}\n", reason);
                return Err(ENODEV);
            }
        };
        let (accept_ticks, accepted_rejects) = batch::<0>(&trap);
        let (reject_ticks, rejects) = batch::<1>(&trap);
        let (_, frequency) = counter();
        pr_info!(
            "bench: calls={} frequency={} accept_ticks={} reject_ticks={} rejected={} accept_rejected={}\n",
            CALLS_PER_BATCH,
            frequency,
            accept_ticks,
            reject_ticks,
            rejects,
            accepted_rejects
        );
        Ok(Self)
    }
}
