# Unit tests of the ABI headers (other unit tests register from their own
# directory's module.mk with TEST_PROGRAMS and UNIT_TESTS).
TEST_PROGRAMS += test_abi
test_abi_SRCS := tests/unit/test_abi.c
test_abi_LDLIBS := -lcmocka
UNIT_TESTS += $(TESTDIR)/test_abi
