# Unit tests of the ABI headers (other unit tests register from their own
# directory's module.mk with TEST_PROGRAMS and UNIT_TESTS).
TEST_PROGRAMS += test_abi
test_abi_SRCS := tests/unit/test_abi.c
test_abi_LDLIBS := -lcmocka
UNIT_TESTS += $(TESTDIR)/test_abi

# Extra QEMU arguments of a VM (device_model_args): hv's whitelist.
TEST_PROGRAMS += test_vm_dm_args
test_vm_dm_args_SRCS := tests/unit/test_vm_dm_args.c hv/hv_vm_launch.c
test_vm_dm_args_LDLIBS := -lcmocka
UNIT_TESTS += $(TESTDIR)/test_vm_dm_args
