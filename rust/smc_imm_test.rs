// SPDX-License-Identifier: GPL-2.0
//! placeholder
use kernel::prelude::*;
module! { type: T, name: "smc_imm_test", license: "GPL", }
struct T;
impl kernel::Module for T { fn init(_m: &'static ThisModule) -> Result<Self> { Ok(T) } }
