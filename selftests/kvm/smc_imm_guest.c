// SPDX-License-Identifier: GPL-2.0-only
/*
 * smc_imm_guest - a guest's SMC and HVC with a non-zero immediate.
 *
 * SMCCC (DEN0028, "SMC and HVC immediate value") reserves every non-zero
 * immediate: such an instruction is not an SMCCC call. KVM's handle_smc()
 * answers a guest's "smc #imm", imm != 0, with SMCCC_RET_NOT_SUPPORTED in
 * x0, leaves x1-x3 alone and resumes the guest after the instruction, without
 * looking at the function ID. handle_hvc() ignores the immediate: "hvc #imm"
 * is the SMCCC call "hvc #0" would be.
 *
 * The function ID is SMCCC_VERSION, which KVM answers (1.1) with imm 0 for
 * every VM, so that the answer tells the immediate check from a call that was
 * handled.
 *
 * The test cases:
 *  - smc #0 and hvc #0: SMCCC_VERSION, 1.1;
 *  - smc #1: NOT_SUPPORTED, x1-x3 untouched;
 *  - hvc #1: the same answer as hvc #0;
 *  - a sweep of immediates, for smc and for hvc: each bit alone, all bits
 *    but one, and every multiple of 0x101 up to 0xffff (a guest exit under
 *    QEMU's TCG costs too much for all 65536);
 *  - with PSCI_VERSION forwarded to userspace by the SMCCC filter, smc #1 is
 *    still answered NOT_SUPPORTED by KVM itself, while smc #0 and hvc #1
 *    reach userspace.
 *
 * A normal VM only: the suite's library creates no protected VM
 * (Documentation/testing.rst says why).
 */
#include <linux/arm-smccc.h>
#include <linux/psci.h>
#include <stdint.h>

#include "kvm_util.h"
#include "processor.h"
#include "test_util.h"
#include "ucall_common.h"

#define NR_IMM		0x10000
/* What x1-x3 hold before a call, to see whether KVM wrote them. */
#define X1_SENTINEL	0x1111111111111111UL
#define X2_SENTINEL	0x2222222222222222UL
#define X3_SENTINEL	0x3333333333333333UL
/* What userspace answers to a call the SMCCC filter forwarded to it. */
#define USER_ANSWER	0x5ca1ab1eUL

enum test_case {
	SMC0_SMCCC_VERSION,
	HVC0_SMCCC_VERSION,
	SMC1_NOT_SUPPORTED,
	HVC1_IS_HVC0,
	SMC_IMM_SWEEP,
	HVC_IMM_SWEEP,
	SMC1_NOT_FORWARDED_TO_USER,
	NR_TEST_CASES,
};

static const char *const test_case_name[NR_TEST_CASES] = {
	[SMC0_SMCCC_VERSION]		= "smc0_smccc_version",
	[HVC0_SMCCC_VERSION]		= "hvc0_smccc_version",
	[SMC1_NOT_SUPPORTED]		= "smc1_not_supported",
	[HVC1_IS_HVC0]			= "hvc1_answered_as_hvc0",
	[SMC_IMM_SWEEP]			= "smc_nonzero_imm_sweep_not_supported",
	[HVC_IMM_SWEEP]			= "hvc_imm_sweep_answered_as_hvc0",
	[SMC1_NOT_FORWARDED_TO_USER]	= "smc1_not_forwarded_to_user",
};

struct smccc_regs {
	uint64_t x0, x1, x2, x3;
};

/*
 * The immediate is part of the instruction: the sweeps write "smc #imm" or
 * "hvc #imm", then "ret", into call_stub and call it. The library maps the
 * guest's image writable and executable.
 */
#define SMC_INSN(imm)	(0xd4000003U | ((uint32_t)(imm) << 5))
#define HVC_INSN(imm)	(0xd4000002U | ((uint32_t)(imm) << 5))
#define RET_INSN	0xd65f03c0U

static uint32_t call_stub[2] __attribute__((aligned(8)));

#define SMCCC_CLOBBERS							\
	"x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11", "x12", "x13",	\
	"x14", "x15", "x16", "x17", "memory"

static struct smccc_regs smc_1(uint32_t func_id)
{
	register uint64_t x0 asm("x0") = func_id;
	register uint64_t x1 asm("x1") = X1_SENTINEL;
	register uint64_t x2 asm("x2") = X2_SENTINEL;
	register uint64_t x3 asm("x3") = X3_SENTINEL;

	asm volatile("smc #1"
		     : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3)
		     :
		     : SMCCC_CLOBBERS);

	return (struct smccc_regs){ x0, x1, x2, x3 };
}

static struct smccc_regs hvc_1(uint32_t func_id)
{
	register uint64_t x0 asm("x0") = func_id;
	register uint64_t x1 asm("x1") = X1_SENTINEL;
	register uint64_t x2 asm("x2") = X2_SENTINEL;
	register uint64_t x3 asm("x3") = X3_SENTINEL;

	asm volatile("hvc #1"
		     : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3)
		     :
		     : SMCCC_CLOBBERS);

	return (struct smccc_regs){ x0, x1, x2, x3 };
}

/* The call "insn" makes, with x1-x3 set to the sentinels. */
static struct smccc_regs call_insn(uint32_t insn, uint32_t func_id)
{
	register uint64_t x0 asm("x0") = func_id;
	register uint64_t x1 asm("x1") = X1_SENTINEL;
	register uint64_t x2 asm("x2") = X2_SENTINEL;
	register uint64_t x3 asm("x3") = X3_SENTINEL;

	WRITE_ONCE(call_stub[0], insn);
	WRITE_ONCE(call_stub[1], RET_INSN);
	/* Both words are in one cache line (8-byte aligned). */
	asm volatile("dc	cvau, %0\n"
		     "dsb	ish\n"
		     "ic	ivau, %0\n"
		     "dsb	ish\n"
		     "isb"
		     : : "r"(call_stub) : "memory");

	asm volatile("blr	%[stub]"
		     : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3)
		     : [stub] "r"(call_stub)
		     : SMCCC_CLOBBERS, "x30");

	return (struct smccc_regs){ x0, x1, x2, x3 };
}

/* What KVM answers to SMCCC_VERSION: 1.1, x1-x3 zeroed. */
static void guest_assert_smccc_version(const char *insn, uint32_t imm,
				       struct smccc_regs r)
{
	__GUEST_ASSERT(r.x0 == ARM_SMCCC_VERSION_1_1 && !r.x1 && !r.x2 && !r.x3,
		       "%s #%u: x0-x3 = 0x%lx 0x%lx 0x%lx 0x%lx, expected 0x%x 0 0 0",
		       insn, imm, r.x0, r.x1, r.x2, r.x3, ARM_SMCCC_VERSION_1_1);
}

/* handle_smc()'s answer to a non-zero immediate: x0 = -1, x1-x3 untouched. */
static void guest_assert_not_supported(const char *insn, uint32_t imm,
				       struct smccc_regs r)
{
	__GUEST_ASSERT(r.x0 == (uint64_t)SMCCC_RET_NOT_SUPPORTED &&
		       r.x1 == X1_SENTINEL && r.x2 == X2_SENTINEL &&
		       r.x3 == X3_SENTINEL,
		       "%s #%u: x0-x3 = 0x%lx 0x%lx 0x%lx 0x%lx, expected NOT_SUPPORTED (-1) and x1-x3 untouched",
		       insn, imm, r.x0, r.x1, r.x2, r.x3);
}

/* Each bit alone, all bits but one, every multiple of 0x101 (0 and 0xffff). */
static bool imm_in_sweep(uint32_t imm)
{
	uint32_t inverse = ~imm & (NR_IMM - 1);

	return !(imm & (imm - 1)) || !(inverse & (inverse - 1)) || !(imm % 0x101);
}

static void guest_test_case(enum test_case test_case)
{
	struct smccc_regs r;
	uint32_t imm;

	switch (test_case) {
	case SMC0_SMCCC_VERSION:
		r = call_insn(SMC_INSN(0), ARM_SMCCC_VERSION_FUNC_ID);
		guest_assert_smccc_version("smc", 0, r);
		break;
	case HVC0_SMCCC_VERSION:
		r = call_insn(HVC_INSN(0), ARM_SMCCC_VERSION_FUNC_ID);
		guest_assert_smccc_version("hvc", 0, r);
		break;
	case SMC1_NOT_SUPPORTED:
		guest_assert_not_supported("smc", 1, smc_1(ARM_SMCCC_VERSION_FUNC_ID));
		break;
	case HVC1_IS_HVC0:
		guest_assert_smccc_version("hvc", 1, hvc_1(ARM_SMCCC_VERSION_FUNC_ID));
		break;
	case SMC_IMM_SWEEP:
		for (imm = 1; imm < NR_IMM; imm++) {
			if (!imm_in_sweep(imm))
				continue;
			r = call_insn(SMC_INSN(imm), ARM_SMCCC_VERSION_FUNC_ID);
			guest_assert_not_supported("smc", imm, r);
		}
		/* After all of them, imm 0 is still an SMCCC call. */
		r = call_insn(SMC_INSN(0), ARM_SMCCC_VERSION_FUNC_ID);
		guest_assert_smccc_version("smc", 0, r);
		break;
	case HVC_IMM_SWEEP:
		for (imm = 0; imm < NR_IMM; imm++) {
			if (!imm_in_sweep(imm))
				continue;
			r = call_insn(HVC_INSN(imm), ARM_SMCCC_VERSION_FUNC_ID);
			guest_assert_smccc_version("hvc", imm, r);
		}
		break;
	case SMC1_NOT_FORWARDED_TO_USER:
		/*
		 * PSCI_VERSION goes to userspace, which would answer
		 * USER_ANSWER: an smc #1 that KVM took for an SMCCC call
		 * would exit to userspace, which fails the test.
		 */
		guest_assert_not_supported("smc", 1, smc_1(PSCI_0_2_FN_PSCI_VERSION));
		r = call_insn(SMC_INSN(0), PSCI_0_2_FN_PSCI_VERSION);
		__GUEST_ASSERT(r.x0 == USER_ANSWER,
			       "smc #0 with PSCI_VERSION filtered to userspace: x0 = 0x%lx, expected 0x%lx",
			       r.x0, USER_ANSWER);
		r = call_insn(HVC_INSN(1), PSCI_0_2_FN_PSCI_VERSION);
		__GUEST_ASSERT(r.x0 == USER_ANSWER,
			       "hvc #1 with PSCI_VERSION filtered to userspace: x0 = 0x%lx, expected 0x%lx",
			       r.x0, USER_ANSWER);
		break;
	default:
		GUEST_FAIL("no test case %u", test_case);
	}
}

/* Every case in turn, in one VM: a VM costs seconds under QEMU's TCG. */
static void guest_code(void)
{
	enum test_case test_case;

	for (test_case = 0; test_case < NR_TEST_CASES; test_case++) {
		guest_test_case(test_case);
		GUEST_SYNC(test_case);
	}
	GUEST_DONE();
}

static void forward_psci_version_to_user(struct kvm_vm *vm)
{
	struct kvm_smccc_filter filter = {
		.base		= PSCI_0_2_FN_PSCI_VERSION,
		.nr_functions	= 1,
		.action		= KVM_SMCCC_FILTER_FWD_TO_USER,
	};

	kvm_device_attr_set(vm->fd, KVM_ARM_VM_SMCCC_CTRL,
			    KVM_ARM_VM_SMCCC_FILTER, &filter);
}

/* Userspace's half of SMC1_NOT_FORWARDED_TO_USER. */
static void handle_hypercall(struct kvm_vcpu *vcpu, unsigned int *nr_exits)
{
	struct kvm_run *run = vcpu->run;
	/* The guest's calls that reach userspace: smc #0, then hvc #1. */
	bool smc = *nr_exits == 0;

	TEST_ASSERT(*nr_exits < 2, "more than two calls reached userspace");
	TEST_ASSERT(run->hypercall.nr == PSCI_0_2_FN_PSCI_VERSION,
		    "userspace got function 0x%llx, expected PSCI_VERSION",
		    run->hypercall.nr);
	TEST_ASSERT(!!(run->hypercall.flags & KVM_HYPERCALL_EXIT_SMC) == smc,
		    "exit %u to userspace: flags 0x%llx, expected the %s",
		    *nr_exits, run->hypercall.flags, smc ? "smc #0" : "hvc #1");
	vcpu_set_reg(vcpu, ARM64_CORE_REG(regs.regs[0]), USER_ANSWER);
	(*nr_exits)++;
}

int main(void)
{
	enum test_case test_case = 0;
	unsigned int nr_exits = 0;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct ucall uc;

	ksft_print_header();
	ksft_set_plan(NR_TEST_CASES);

	vm = vm_create_with_one_vcpu(&vcpu, guest_code);
	/* Only SMC1_NOT_FORWARDED_TO_USER calls PSCI_VERSION. */
	forward_psci_version_to_user(vm);

	for (;;) {
		vcpu_run(vcpu);
		if (vcpu->run->exit_reason == KVM_EXIT_HYPERCALL) {
			TEST_ASSERT(test_case == SMC1_NOT_FORWARDED_TO_USER,
				    "%s: a call reached userspace (function 0x%llx, flags 0x%llx)",
				    test_case_name[test_case], vcpu->run->hypercall.nr,
				    vcpu->run->hypercall.flags);
			handle_hypercall(vcpu, &nr_exits);
			continue;
		}
		switch (get_ucall(vcpu, &uc)) {
		case UCALL_SYNC:
			TEST_ASSERT(uc.args[1] == test_case,
				    "guest finished case %lu, expected %u",
				    uc.args[1], test_case);
			if (test_case == SMC1_NOT_FORWARDED_TO_USER)
				TEST_ASSERT(nr_exits == 2,
					    "%u calls reached userspace, expected 2",
					    nr_exits);
			ksft_test_result_pass("%s\n", test_case_name[test_case]);
			test_case++;
			break;
		case UCALL_ABORT:
			ksft_test_result_fail("%s\n", test_case_name[test_case]);
			REPORT_GUEST_ASSERT(uc);
			break;
		case UCALL_DONE:
			TEST_ASSERT(test_case == NR_TEST_CASES,
				    "guest done after %u cases", test_case);
			kvm_vm_free(vm);
			ksft_finished();
			return 0;
		default:
			TEST_FAIL("unexpected exit: %s, ucall %lu",
				  exit_reason_str(vcpu->run->exit_reason),
				  uc.cmd);
		}
	}
}
