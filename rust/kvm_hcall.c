// SPDX-License-Identifier: GPL-2.0
/*
 * The host hypercall the test module issues with a non-zero immediate, as
 * this kernel numbers it: the order of enum __kvm_host_smccc_func differs
 * between kernel versions and vendor trees, so a number written into the
 * Rust could name another hypercall. Taken from this kernel's own header,
 * it cannot.
 */
#include <linux/arm-smccc.h>
#include <asm/kvm_asm.h>

/*
 * __kvm_flush_vm_context: invalidates the TLBs of every VMID and the
 * instruction cache, which changes no state that software can see (KVM
 * issues it whenever VMIDs roll over). pKVM dispatches it for the host
 * after finalisation, in 6.12 and 7.3 alike, and answers SMCCC_RET_SUCCESS.
 */
const unsigned long smc_imm_test_hcall_flush_vm_context =
	KVM_HOST_SMCCC_FUNC(__kvm_flush_vm_context);
