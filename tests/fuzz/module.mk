# libFuzzer harnesses of every parser of untrusted input. `make fuzz` runs
# them with libFuzzer, ASan and UBSan; make check runs each as a
# deterministic smoke campaign (built without libFuzzer).
FUZZ_TARGETS += fuzz_store fuzz_blk fuzz_net
TEST_PROGRAMS += fuzz_store fuzz_blk fuzz_net
fuzz_store_SRCS = tests/fuzz/fuzz_store.c $(STORE_CORE_SRCS)
fuzz_blk_SRCS = tests/fuzz/fuzz_blk.c $(XLCFG_SRCS)
fuzz_net_SRCS = tests/fuzz/fuzz_net.c $(TOOLS_VIF_SPEC_SRCS)
UNIT_TESTS += $(TESTDIR)/fuzz_store $(TESTDIR)/fuzz_blk $(TESTDIR)/fuzz_net

# pygrub's ext2/3/4 reader, partition tables and GRUB configs: the smoke
# campaign runs on seed images tests/unit/fuzz_pygrub.sh makes
FUZZ_TARGETS += fuzz_pygrub
TEST_PROGRAMS += fuzz_pygrub
fuzz_pygrub_SRCS = tests/fuzz/fuzz_pygrub.c $(PYGRUB_SRCS)
UNIT_TESTS += tests/unit/fuzz_pygrub.sh

# Harnesses of what an attacker reaches, over simulated guest memory
# (fuzz_guest.c) or a pvio-hv without its loop (fuzz_hv_world.c), with an
# honest domain's memory guarded; docs/security.md.
FUZZ_GUEST_SRCS := tests/fuzz/fuzz_guest.c grant/gnttab_entry.c
FUZZ_TARGETS += fuzz_blkback_ring fuzz_netback_ring fuzz_hv_proto \
	fuzz_vm_slot fuzz_front_rsp fuzz_store_log fuzz_xlcfg
TEST_PROGRAMS += fuzz_blkback_ring fuzz_netback_ring fuzz_hv_proto \
	fuzz_vm_slot fuzz_front_rsp fuzz_store_log fuzz_xlcfg
fuzz_blkback_ring_SRCS = tests/fuzz/fuzz_blkback_ring.c $(FUZZ_GUEST_SRCS) \
	$(BLKBACK_RING_SRCS)
fuzz_netback_ring_SRCS = tests/fuzz/fuzz_netback_ring.c $(FUZZ_GUEST_SRCS) \
	$(NETBACK_RING_SRCS)
fuzz_netback_ring_LDLIBS = -luring
fuzz_hv_proto_SRCS = tests/fuzz/fuzz_hv_proto.c tests/fuzz/fuzz_hv_world.c \
	$(HV_CORE_SRCS)
fuzz_hv_proto_LDLIBS = $(HV_VM_LDLIBS)
fuzz_vm_slot_SRCS = tests/fuzz/fuzz_vm_slot.c tests/fuzz/fuzz_hv_world.c \
	$(HV_CORE_SRCS)
fuzz_vm_slot_LDLIBS = $(HV_VM_LDLIBS)
fuzz_front_rsp_SRCS = tests/fuzz/fuzz_front_rsp.c \
	frontends/user/blkfront_ring.c frontends/user/netfront_ring.c
fuzz_store_log_SRCS = tests/fuzz/fuzz_store_log.c $(STORE_CORE_SRCS)
fuzz_xlcfg_SRCS = tests/fuzz/fuzz_xlcfg.c $(XLCFG_SRCS)
UNIT_TESTS += $(addprefix $(TESTDIR)/,fuzz_blkback_ring fuzz_netback_ring \
	fuzz_hv_proto fuzz_vm_slot fuzz_front_rsp fuzz_store_log fuzz_xlcfg)
