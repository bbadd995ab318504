# Unit tests (cmocka): each links the code under test through the variable
# of the folder that owns it.
UNIT_LDLIBS := -lcmocka

TEST_PROGRAMS += test_abi test_gnttab_entry test_gnttab_pin test_evtchn_table \
	test_vm_dm_args test_blkif_req test_blkback_engine \
	test_blkback_pgrant test_netif_tx \
	test_netif_offload test_netspec test_store test_xlcfg test_mig_kept
test_abi_SRCS := tests/unit/test_abi.c
test_gnttab_entry_SRCS := tests/unit/test_gnttab_entry.c
test_gnttab_pin_SRCS := tests/unit/test_gnttab_pin.c
test_evtchn_table_SRCS = tests/unit/test_evtchn_table.c $(HV_EVTCHN_SRCS)
test_vm_dm_args_SRCS := tests/unit/test_vm_dm_args.c hv/hv_vm_launch.c
test_blkif_req_SRCS := tests/unit/test_blkif_req.c
test_blkback_engine_SRCS = tests/unit/test_blkback_engine.c $(BLKBACK_CORE_SRCS)
test_blkback_pgrant_SRCS := tests/unit/test_blkback_pgrant.c \
	backends/blkback/blkback_pgrant.c
test_blkback_engine_LDLIBS = $(UNIT_LDLIBS) $(BLKBACK_LDLIBS)
test_netif_tx_SRCS := tests/unit/test_netif_tx.c
test_netif_offload_SRCS := tests/unit/test_netif_offload.c
test_netspec_SRCS = tests/unit/test_netspec.c $(TOOLS_VIF_SPEC_SRCS)
test_store_SRCS = tests/unit/test_store.c $(STORE_CORE_SRCS)
test_xlcfg_SRCS = tests/unit/test_xlcfg.c $(XLCFG_SRCS)
test_mig_kept_SRCS := tests/unit/test_mig_kept.c tools/migrate_kept_text.c
$(foreach t,test_abi test_gnttab_entry test_gnttab_pin test_evtchn_table \
	test_vm_dm_args \
	test_blkif_req test_blkback_pgrant test_netif_tx test_netif_offload \
	test_netspec test_store test_xlcfg test_mig_kept,$(eval $(t)_LDLIBS := $(UNIT_LDLIBS)))

UNIT_TESTS += $(addprefix $(TESTDIR)/,test_abi test_gnttab_entry test_gnttab_pin \
	test_evtchn_table test_vm_dm_args test_blkif_req test_blkback_engine \
	test_blkback_pgrant \
	test_netif_tx test_netif_offload test_netspec test_store test_xlcfg \
	test_mig_kept)

# pygrub on images mke2fs builds (pygrub_probe drives it); the xl corpus
# through `pvio create -n`, and against Debian's libxlutil where libxen-dev
# is installed (xl_oracle)
TEST_PROGRAMS += pygrub_probe
pygrub_probe_SRCS = tests/unit/pygrub_probe.c $(PYGRUB_SRCS)
UNIT_TESTS += tests/unit/test_pygrub.sh tests/unit/xl_corpus.py
ifneq ($(wildcard /usr/include/libxlutil.h),)
TEST_PROGRAMS += xl_oracle
xl_oracle_SRCS := tests/unit/xl_oracle.c
xl_oracle_LDLIBS := -lxlutil -lxenlight -ljansson
endif
