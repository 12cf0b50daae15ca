// SPDX-License-Identifier: GPL-2.0
/*
 * The host hypercall the test module issues with non-zero immediates, as
 * the kernel it was built against numbers it: the order of enum
 * __kvm_host_smccc_func differs between kernel versions and vendor trees,
 * so a number written into the Rust could name another hypercall. The
 * number is only used on the kernel release it was built for
 * (smc_imm_test_hcall_numbers_valid()): a module built against another
 * build of the same branch may still load where module versioning leaves
 * the release string out of the check.
 */
#include <generated/utsrelease.h>
#include <linux/arm-smccc.h>
#include <linux/string.h>
#include <linux/utsname.h>
#include <asm/kvm_asm.h>

extern const unsigned long smc_imm_test_hcall_flush_vm_context;
bool smc_imm_test_hcall_numbers_valid(void);

/*
 * __kvm_flush_vm_context: invalidates the EL1&0 stage-1 and stage-2 TLB
 * entries of every VMID, broadcast to the inner-shareable domain, which
 * costs performance and changes nothing else (KVM issues it whenever VMIDs
 * roll over); it takes no argument. Upstream pKVM dispatches it for the
 * host after finalisation (6.12, 7.3, kvmarm); Android's trees refuse it
 * then, which the test takes as a reason to skip.
 */
const unsigned long smc_imm_test_hcall_flush_vm_context =
	KVM_HOST_SMCCC_FUNC(__kvm_flush_vm_context);

/* The running kernel is the release this object was built against. */
bool smc_imm_test_hcall_numbers_valid(void)
{
	return !strcmp(init_utsname()->release, UTS_RELEASE);
}
