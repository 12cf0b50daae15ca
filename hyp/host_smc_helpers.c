// SPDX-License-Identifier: GPL-2.0
/*
 * The hyp's static inlines and macros that host_smc.rs needs, as functions
 * it can call, so that the Rust handler reads and moves the trapped host's
 * registers, and forwards an SMC to EL3, with the very code the C handler
 * uses. Under NVHE_RUST_LTO they are linked, with the Rust objects, into
 * hyp-main.c's module and inlined with the handler into handle_trap() (see
 * the Makefile); otherwise each is a call.
 */

#include <hyp/adjust_pc.h>

#include "host_smc_bindings.h"

/*
 * __always_inline: each is still emitted as a function for the calls of a
 * build without LTO, but under LTO the inliner may not leave a local copy
 * of one, as it did of the traced forward on 7.3 (224 bytes), because it
 * judged it too large to inline.
 */
__always_inline u64 rust_helper_read_esr_el2(void)
{
	return read_sysreg_el2(SYS_ESR);
}

__always_inline void rust_helper_kvm_skip_host_instr(void)
{
	kvm_skip_host_instr();
}

__always_inline void
rust_helper_default_host_smc_handler(struct kvm_cpu_context *host_ctxt)
{
	default_host_smc_handler(host_ctxt);
}
