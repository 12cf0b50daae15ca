# SPDX-License-Identifier: GPL-2.0
"""How each CPU and mode boots, as data (kunit's qemu_configs/ for one
machine): the kernel command line, the line that proves the mode took
effect, and what QEMU's exception log must not show
(scripts/qemu_int_scan.py). scripts/boot.sh asks for them by name.
Each mode's "proof" is a regular expression for its console line."""

from .axes import CPU_HAS_VHE

MACHINE = "virt,virtualization=on,gic-version=3"
# QEMU's -cpu for each CPU of the matrix. max computes its pointer
# authentication codes with QEMU's IMPLEMENTATION DEFINED algorithm rather
# than the architected QARMA5, as Linaro's TuxRun and LKFT boot arm64
# kernels: QEMU's documentation (docs/system/arm/cpu-features.rst,
# pauth-impdef) calls QARMA "quite slow to emulate", and a hardened kernel
# signs and authenticates the return address of every non-leaf function,
# at EL1 and at EL2. Measured at 28ff7d6, one after the other:
# 7.3-rust-hardened max hvhe 15.7 s against 7.4 s, max kvm 48.4 s against
# 9.5 s. The kernel and pKVM run the same PAC instructions and switch the
# same keys under either algorithm. What differs is ID_AA64ISAR1_EL1 (API
# and GPI instead of APA and GPA, for the host and for KVM's guests) and so
# the capabilities cpufeature reports ("Address authentication (IMP DEF
# algorithm)"): this project reads none of them, and the kernel's readers
# (its PAC key setup, the dynamic SCS check) take APA, API and APA3 alike.
QEMU_CPU = {"max": "max,pauth-impdef=on", "neoverse-n1": "neoverse-n1",
            "cortex-a57": "cortex-a57"}
MEMORY = "1G"
# Two CPUs: the boot CPU and a secondary brought up through pKVM's PSCI
# relay, which the selftest's per-CPU cases and the cpu-hotplug selftest
# need. Four vCPUs on a 2-core host made each boot about 30 % slower
# (measured: 13.9 s and 14.9 s against 10.8 s and 11.2 s for
# 6.12-rust-hardened max hvhe); scripts/debian-boot.sh boots Debian's
# image with two as well.
SMP = 2
TIMEOUT = 300

PKVM_SCAN = ("--mode", "pkvm")
MODES = {
    "hvhe": {
        "cmdline": "kvm-arm.mode=protected",
        "proof": "Protected hVHE mode initialized successfully",
        "missing": "pKVM did not initialise in hVHE mode",
        "scan": PKVM_SCAN,
    },
    # Without VHE, protected mode is classic nVHE by itself; with it, two
    # overrides turn hVHE off. The nVHE rows also refuse writes to
    # /dev/kmsg, as a device may: the selftest script must find its KTAP
    # without its marker.
    "nvhe": {
        "cmdline": "kvm-arm.mode=protected printk.devkmsg=off",
        "cmdline_vhe_cpu": "arm64_sw.hvhe=0 id_aa64mmfr1.vh=0",
        "proof": "Protected nVHE mode initialized successfully",
        "missing": "pKVM did not initialise in nVHE mode",
        "scan": PKVM_SCAN,
    },
    # Plain KVM: the host's SMCs reach EL3, so no SMC with a non-zero
    # immediate may be issued.
    "vhe": {
        "cmdline": "",
        "proof": r"\] kvm \[[0-9]+\]: VHE mode initialized successfully",
        "missing": "KVM did not initialise in plain VHE mode",
        "scan": PKVM_SCAN + ("--forbid-nonzero-imm",),
    },
    # The module loaded with a plain insmod, as a user would by hand.
    "insmod": {
        "cmdline": "kvm-arm.mode=protected",
        "proof": "Protected hVHE mode initialized successfully",
        "missing": "pKVM did not initialise in hVHE mode",
        "scan": PKVM_SCAN,
    },
    # KVM's initialisation failed by fault injection before the hypervisor
    # was installed (hyp/glue/*/selftest-support.patch): protected mode
    # requested, the host's SMCs going straight to EL3.
    "pkvm-fail": {
        "cmdline": "kvm-arm.mode=protected kvm-arm.pkvm_fail_init",
        "proof": "pkvm_smc_imm fault injection",
        "missing": "KVM's initialisation did not fail: no fault was injected",
        "scan": ("--mode", "pkvm-fail", "--forbid-nonzero-imm"),
    },
    # The kernel's own KVM selftests and smc_imm_guest (selftests/kvm/,
    # scripts/kvm-selftests.sh) under pKVM: guests run through the
    # hypervisor the handler is built into. No exception-log scan: a
    # guest's exits are EL1-to-EL2 exceptions the scanner would take for
    # the host's, and logging them slows the emulation.
    #
    # arm64.nolva: every selftest program first creates and destroys a VM
    # of the largest IPA size KVM offers (kvm_selftest_arch_init), and
    # 7.3's mmu.c, unlike 6.12's, destroys a stage 2 by walking that space
    # 1 GiB at a time (stage2_destroy_range(), "KVM: arm64: Reschedule as
    # needed when destroying the stage-2 page-tables"): 2^22 steps at
    # -cpu max's 52 bits (about a minute a program under TCG when the
    # hardened kernel's pointer authentication used QARMA5, before
    # QEMU_CPU), against 2^18 at the 48 bits arm64.nolva leaves. Neither
    # the SMC paths nor the tests' own VMs (40-bit IPA) depend on it.
    "kvm": {
        "cmdline": "kvm-arm.mode=protected arm64.nolva",
        "proof": "Protected hVHE mode initialized successfully",
        "missing": "pKVM did not initialise in hVHE mode",
        "scan": (),
        "guest": "kvm-selftests",
        "smp": 2, "memory": "2G", "timeout": 900,
    },
    # The same without pKVM: plain KVM's answers to the guest.
    "kvm-vhe": {
        "cmdline": "arm64.nolva",
        "proof": r"\] kvm \[[0-9]+\]: VHE mode initialized successfully",
        "missing": "KVM did not initialise in plain VHE mode",
        "scan": (),
        "guest": "kvm-selftests",
        "smp": 2, "memory": "2G", "timeout": 900,
    },
    # The benchmark module, loaded pkvm_smc_bench=N times instead of the
    # selftest (scripts/bench.sh, boot.sh --bench-reps): one CPU, and
    # -icount so that the guest's counter counts instructions. No
    # exception log: it would be slower, and the selftest rows scan.
    "bench": {
        "cmdline": "kvm-arm.mode=protected",
        "proof": "Protected hVHE mode initialized successfully",
        "missing": "pKVM did not initialise in hVHE mode",
        "scan": (),
        "guest": "bench",
        "finished": r"^pkvm-smc-imm: bench end$",
        "unfinished": "the benchmark never finished",
        "smp": 1, "qemu_args": ("-icount", "shift=0"),
    },
}

# The modes whose guest runs the KVM selftests rather than this project's
# kselftest, and whose verdict is a differential against the C handler.
KVM_MODES = {m for m, c in MODES.items() if c.get("guest") == "kvm-selftests"}

# The modes that load the module with a plain insmod and its default
# parameters, and the case those leave out (destructive=0).
PLAIN_INSMOD_MODES = {"insmod", "pkvm-fail"}
DEFAULT_OFF_CASES = {"smc_nonzero_imm_destructive_psci_harmless"}

# The modes in which pKVM does not run: plain KVM, or protected mode whose
# initialisation failed. pKVM's FF-A proxy gives no answers there.
NO_PKVM_MODES = {"vhe", "pkvm-fail", "kvm-vhe"}


def machine(cpu, mode):
    """QEMU's -M, -cpu, -smp and -m, the boot's timeout in seconds and
    QEMU's other arguments, for CPU and MODE."""
    config = MODES[mode]
    return (MACHINE, QEMU_CPU[cpu], config.get("smp", SMP), config.get("memory", MEMORY),
            config.get("timeout", TIMEOUT), *config.get("qemu_args", ()))


def cmdline(cpu, mode):
    """The kernel command line that selects MODE on CPU."""
    config = MODES[mode]
    words = [config["cmdline"]]
    if CPU_HAS_VHE[cpu] and "cmdline_vhe_cpu" in config:
        words.append(config["cmdline_vhe_cpu"])
    return " ".join(w for w in words if w)
