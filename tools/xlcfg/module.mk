# xl config and disk-spec parsers, the create/destroy and block-* verbs and
# the "disk" device class (blk helper).
XLCFG_SRCS := tools/xlcfg/xlcfg.c tools/xlcfg/xlcfg_disk.c
pvio_SRCS += $(XLCFG_SRCS)

TEST_PROGRAMS += test_xlcfg
test_xlcfg_SRCS := tests/unit/test_xlcfg.c $(XLCFG_SRCS)
test_xlcfg_LDLIBS := -lcmocka
UNIT_TESTS += $(TESTDIR)/test_xlcfg
pvio_SRCS += tools/builtin_block.c tools/builtin_create.c tools/domain_store.c \
	tools/create_config.c

# The xl corpus (tests/corpus): disk and vif specs and whole configs
# through `pvio create -n`, compared with Debian's libxlutil where
# libxen-dev is installed (xl_oracle).
UNIT_TESTS += tests/unit/xl_corpus.py
ifneq ($(wildcard /usr/include/libxlutil.h),)
TEST_PROGRAMS += xl_oracle
xl_oracle_SRCS := tests/unit/xl_oracle.c
xl_oracle_LDLIBS := -lxlutil -lxenlight -ljansson
endif
