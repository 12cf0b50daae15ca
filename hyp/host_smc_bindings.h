/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What host_smc.rs shares with the hyp's C: bindgen turns the declarations
 * these headers make into host_smc_bindings.rs, with the hyp's own C flags
 * (see the nVHE Makefile), so the Rust side never spells a C prototype or
 * a C structure.
 */
#ifndef __ARM64_KVM_NVHE_HOST_SMC_BINDINGS_H__
#define __ARM64_KVM_NVHE_HOST_SMC_BINDINGS_H__

#include <asm/kvm_hyp.h>
#include <nvhe/ffa.h>
#include <nvhe/trap_handler.h>

/*
 * host_smc_helpers.c: read_sysreg_el2(SYS_ESR), kvm_skip_host_instr() and
 * default_host_smc_handler().
 */
u64 rust_helper_read_esr_el2(void);
void rust_helper_kvm_skip_host_instr(void);
void rust_helper_default_host_smc_handler(struct kvm_cpu_context *host_ctxt);

#endif /* __ARM64_KVM_NVHE_HOST_SMC_BINDINGS_H__ */
