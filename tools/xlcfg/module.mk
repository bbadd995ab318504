# xl config and disk-spec parsers, the create/destroy and block-* verbs and
# the "disk" device class (blk helper).
XLCFG_SRCS := tools/xlcfg/xlcfg.c tools/xlcfg/xlcfg_disk.c
pvio_SRCS += $(XLCFG_SRCS)

TEST_PROGRAMS += test_xlcfg
test_xlcfg_SRCS := tests/unit/test_xlcfg.c $(XLCFG_SRCS)
test_xlcfg_LDLIBS := -lcmocka
UNIT_TESTS += $(TESTDIR)/test_xlcfg
pvio_SRCS += tools/builtin_block.c tools/builtin_create.c tools/domain_store.c

# fuzz harness of the config and disk-spec parsers; without libFuzzer it
# runs a smoke campaign as a unit test
TEST_PROGRAMS += fuzz_xlcfg
fuzz_xlcfg_SRCS := tests/fuzz/fuzz_xlcfg.c $(XLCFG_SRCS)
UNIT_TESTS += $(TESTDIR)/fuzz_xlcfg
FUZZ_TARGETS += fuzz_xlcfg
