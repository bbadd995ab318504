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
