# SPDX-License-Identifier: GPL-2.0
# Builds smc_imm_guest with the KVM selftests' own flags and library: read
# after the suite's Makefile, in its directory (scripts/kvm-selftests.sh):
#   make -C tools/testing/selftests/kvm -f Makefile -f .../smc_imm_guest.mk
SMC_IMM_DIR := $(dir $(lastword $(MAKEFILE_LIST)))

all: $(OUTPUT)/smc_imm_guest

$(OUTPUT)/smc_imm_guest.o: $(SMC_IMM_DIR)smc_imm_guest.c $(GEN_HDRS)
	$(CC) $(CFLAGS) $(CPPFLAGS) $(TARGET_ARCH) -c $< -o $@

$(OUTPUT)/smc_imm_guest: $(OUTPUT)/smc_imm_guest.o $(LIBKVM_OBJS)
	$(CC) $(CFLAGS) $(CPPFLAGS) $(LDFLAGS) $(TARGET_ARCH) $< $(LIBKVM_OBJS) $(LDLIBS) -o $@
