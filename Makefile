# SPDX-License-Identifier: GPL-2.0
#
# pkvm-smc-imm: pKVM rejects host SMCs with a non-zero immediate.
#
# The targets are thin: each calls a script in scripts/ named after what it
# does. Kbuild does not read this file; `make -C <KDIR> M=$PWD` builds the
# test module from ./Kbuild.

KERNEL ?= 7.3
HANDLER ?= rust
MODE ?= hvhe
KDIR ?= /lib/modules/$(shell uname -r)/build

.PHONY: help deps build qemu check host-test hyp-report docs patches style \
	audit bench modules rust-analyzer hyp-install hyp-uninstall clean

help:
	@echo 'make qemu   KERNEL=6.12|7.3 HANDLER=rust|stock MODE=hvhe|nvhe|vhe'
	@echo '            build, boot under pKVM in QEMU, run the kselftest (KTAP)'
	@echo 'make check  all tests: host tests and the QEMU verdict matrix'
	@echo 'make deps   install what the above need (Debian packages, rust-src,'
	@echo '            bindgen-cli, arm64 busybox); idempotent'
	@echo 'make build  KERNEL=... HANDLER=...   build only'
	@echo 'make hyp-report   Rust vs C handler: .text bytes, path lengths'
	@echo 'make docs   build Documentation/ (Sphinx, warnings are errors)'
	@echo 'make patches KERNEL=...  upstream-style series in build/patches/,'
	@echo '            checkpatch --strict; BISECT=1 builds after every patch'
	@echo 'make style  KERNEL=...   rustfmt and clippy (CLIPPY=1) in the tree'
	@echo 'make audit  [AUDIT_KDIR=<build dir>]  list every SMC/HVC immediate'
	@echo 'make bench  [REPS=10]  Rust vs C handler round trips under -icount'
	@echo 'make modules KDIR=<kernel build dir>  build the test module'
	@echo 'make hyp-install|hyp-uninstall KDIR=<kernel source tree>'

deps:
	@scripts/deps.sh

build: deps
	@scripts/build-kernel.sh $(KERNEL) $(HANDLER)

qemu: deps
	@scripts/qemu.sh $(KERNEL) $(HANDLER) $(MODE)

check: deps
	@scripts/check.sh

host-test:
	@scripts/host-test.sh

hyp-report:
	@scripts/hyp-report.sh

docs: deps
	@scripts/docs.sh

patches: deps
	@scripts/patches.sh $(KERNEL) $(if $(BISECT),--bisect)

style: build
	@scripts/style.sh $(KERNEL)

audit:
	@scripts/audit.sh $(AUDIT_KDIR)

bench: deps
	@scripts/bench.sh $(or $(REPS),10)

modules:
	$(MAKE) -C $(KDIR) M=$(CURDIR) LLVM=-19 modules

rust-analyzer:
	$(MAKE) -C $(KDIR) M=$(CURDIR) LLVM=-19 rust-analyzer

hyp-install:
	@scripts/hyp-install.sh install $(KDIR)

hyp-uninstall:
	@scripts/hyp-install.sh uninstall $(KDIR)

clean:
	rm -rf build hyp/target
