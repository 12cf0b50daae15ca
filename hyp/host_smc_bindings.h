/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What host_smc.rs shares with the hyp's C: bindgen turns the declarations
 * these headers make into host_smc_bindings.rs, with the hyp's own C flags
 * (see the nVHE Makefile), so the Rust side never spells a C prototype.
 */
#include <asm/kvm_hyp.h>
#include <nvhe/ffa.h>
#include <nvhe/trap_handler.h>
