# SPDX-License-Identifier: GPL-2.0
#
# pkvm-smc-imm: pKVM rejects host SMCs with a non-zero immediate.
#
# The targets are thin: each calls a script in scripts/ named after what it
# does. Kbuild does not read this file; `make -C <KDIR> M=$PWD` builds the
# test modules from ./Kbuild.

# make check runs every kernel unless KERNEL is given.
KERNEL_GIVEN := $(filter command line environment,$(origin KERNEL))
KERNEL ?= 7.3
HANDLER ?= rust
# default: the profile make check builds KERNEL in first (scripts/lib.sh:
# resolve_profile), gcc for 7.3 and hardened for 6.12, so that what make
# qemu builds is what CI tests.
PROFILE ?= default
CPU ?= max
MODE ?= hvhe

# Every step of one `make` is timed from its start.
export PKVM_SMC_START := $(shell date +%s)

# The variables each target reads. One given on the command line that none
# of the goals reads is an error, not silently ignored: a misspelt KDIR
# must not audit the wrong kernel and say OK.
vars_qemu := KERNEL HANDLER PROFILE CPU MODE
vars_build := KERNEL HANDLER PROFILE
vars_boot := KERNEL HANDLER PROFILE CPU MODE
vars_audit := KDIR AUDIT_KDIR
vars_patches := KERNEL BISECT
vars_style := KERNEL
vars_check := KERNEL ROWS
vars_bench := REPS
vars_mutants := KERNEL
vars_debian-hyp := KERNEL
vars_modules := KDIR
vars_rust-analyzer := KDIR
vars_hyp-install := KDIR
vars_hyp-uninstall := KDIR
command_line_vars := $(foreach v,$(.VARIABLES),$(if $(filter command line,$(origin $(v))),$(v)))
allowed_vars := V $(sort $(foreach g,$(or $(MAKECMDGOALS),help),$(vars_$(g))))
unknown_vars := $(filter-out $(allowed_vars),$(command_line_vars))
ifneq ($(unknown_vars),)
$(error $(or $(MAKECMDGOALS),help) does not take $(unknown_vars); it takes: $(or $(filter-out V,$(allowed_vars)),no variables) (see 'make help'))
endif

.PHONY: help deps build qemu boot check host-test hyp-report docs patches style \
	audit bench mutants debian-hyp modules rust-analyzer hyp-install \
	hyp-uninstall clean

help:
	@echo 'make qemu   KERNEL=7.3|6.12 HANDLER=rust|stock|backport PROFILE=gcc|hardened|minimal|debian'
	@echo '            (PROFILE: by default the first make check builds KERNEL in: 7.3 gcc, 6.12 hardened)'
	@echo '            CPU=max|neoverse-n1|cortex-a57'
	@echo '            MODE=hvhe|nvhe|vhe|insmod|pkvm-fail|kvm|kvm-vhe|bench'
	@echo '            build, boot under pKVM in QEMU, run the kselftest (KTAP)'
	@echo 'make check  [KERNEL=...] [ROWS=pattern]  all tests: host tests, the QEMU'
	@echo '            matrix (scripts/matrix.tsv), series, mutants, benchmark, docs;'
	@echo '            build/results.json; ROWS runs only the matching rows'
	@echo '            (e.g. ROWS=rust, ROWS=6.12-stock-*-nvhe)'
	@echo 'make deps   install what the above need; idempotent'
	@echo 'make build  KERNEL=... HANDLER=... PROFILE=...   build only'
	@echo 'make boot   KERNEL=... HANDLER=... PROFILE=... CPU=... MODE=...  boot only'
	@echo 'make mutants KERNEL=...  deliberately broken handlers, each must be caught'
	@echo 'make debian-hyp KERNEL=...  the hyp built under Debian'"'"'s own arm64 config, with GCC'
	@echo 'make hyp-report   Rust vs C handler: .text bytes, path lengths'
	@echo 'make docs   build Documentation/ (Sphinx, warnings are errors)'
	@echo 'make patches KERNEL=...  upstream series in build/patches/,'
	@echo '            checkpatch --strict; BISECT=1 builds every patch'
	@echo 'make style  KERNEL=...   rustfmt and clippy in the tree (a pass is kept: the same inputs are not checked again)'
	@echo 'make audit  [KDIR=<build dir>]  list every SMC/HVC immediate (whole report in build/audit/)'
	@echo 'make bench  [REPS=10]  Rust vs C handler round trips under -icount'
	@echo 'make modules KDIR=<kernel build dir>  build the test modules'
	@echo 'make hyp-install|hyp-uninstall KDIR=<kernel source tree>'

deps:
	@scripts/deps.sh

build: deps
	@scripts/build-kernel.sh $(KERNEL) $(HANDLER) $(PROFILE)

qemu: deps
	@scripts/qemu.sh $(KERNEL) $(HANDLER) $(PROFILE) $(CPU) $(MODE)

boot:
	@scripts/boot.sh $(KERNEL) $(HANDLER) $(PROFILE) $(CPU) $(MODE)

check: deps
	@PYTHONPATH=scripts exec python3 -m testbed check $(if $(KERNEL_GIVEN),--kernels $(KERNEL)) $(if $(ROWS),--rows '$(ROWS)')

host-test:
	@scripts/host-test.sh

hyp-report:
	@scripts/hyp-report.sh

docs: deps
	@scripts/docs.sh

patches: deps
	@scripts/patches.sh $(KERNEL) $(if $(BISECT),--bisect)

style: deps
	@scripts/style.sh $(KERNEL)

audit:
	@scripts/audit.sh $(or $(KDIR),$(AUDIT_KDIR))

bench: deps
	@scripts/bench.sh $(or $(REPS),10)

mutants: deps
	@scripts/mutants.sh $(KERNEL)

debian-hyp: deps
	@scripts/debian-hyp-build.sh $(KERNEL)

modules:
	$(MAKE) -C $(or $(KDIR),/lib/modules/$(shell uname -r)/build) M=$(CURDIR) LLVM=-19 modules

rust-analyzer:
	$(MAKE) -C $(or $(KDIR),/lib/modules/$(shell uname -r)/build) M=$(CURDIR) LLVM=-19 rust-analyzer

hyp-install:
	@scripts/hyp-install.sh install $(KDIR)

hyp-uninstall:
	@scripts/hyp-install.sh uninstall $(KDIR)

clean:
	rm -rf build hyp/target
