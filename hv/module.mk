# pvio-hv (the hypervisor daemon) and the client half of libpvio.
PROGRAMS += pvio-hv
pvio-hv_SRCS := hv/hv_main.c hv/hv_client.c hv/hv_domain.c hv/hv_gnttab.c hv/hv_evtchn.c \
	hv/hv_store.c hv/evtchn_table.c
LIBPVIO_SRCS += hv/libpvio_conn.c hv/libpvio_dom.c hv/libpvio_evtchn.c


TEST_PROGRAMS += hv_test
hv_test_SRCS := tests/integration/hv_test_main.c tests/integration/hv_test_grants.c \
	tests/integration/hv_test_evtchn.c tests/integration/hv_test_cleanup.c \
	tests/integration/hv_test_hostile.c
INTEGRATION_TESTS += tests/integration/hv_grants.sh tests/integration/hv_evtchn.sh \
	tests/integration/hv_cleanup.sh tests/integration/hv_garbage.sh \
	tests/integration/hv_cli.sh tests/integration/hv_store_release.sh

TEST_PROGRAMS += test_evtchn_table
test_evtchn_table_SRCS := tests/unit/test_evtchn_table.c hv/evtchn_table.c
test_evtchn_table_LDLIBS := -lcmocka
UNIT_TESTS += $(TESTDIR)/test_evtchn_table

# CLI verbs: daemon lifecycle and domain control
pvio_SRCS += tools/builtin_up.c tools/builtin_down.c tools/builtin_list.c \
	tools/builtin_info.c tools/builtin_domctl.c

# device_model_args: the check hv and the toolstack share, its refusals
LIBPVIO_SRCS += hv/libpvio_dm_args.c
TEST_PROGRAMS += hv_dm_args
hv_dm_args_SRCS := tests/integration/hv_dm_args.c
INTEGRATION_TESTS += tests/integration/create_dm_args.sh

# fuzz harnesses of hv as domains reach it: the control protocol of a
# process domain, and a VM's hypercall slots; without libFuzzer they run
# smoke campaigns as unit tests. (= not :=, HV_VM_SRCS comes later.)
FUZZ_HV_SRCS = tests/fuzz/fuzz_hv_world.c hv/hv_client.c hv/hv_domain.c \
	hv/hv_gnttab.c hv/hv_evtchn.c hv/hv_store.c hv/evtchn_table.c \
	hv/hv_vm.c $(HV_VM_SRCS)
TEST_PROGRAMS += fuzz_hv_proto fuzz_vm_slot
fuzz_hv_proto_SRCS = tests/fuzz/fuzz_hv_proto.c $(FUZZ_HV_SRCS)
fuzz_vm_slot_SRCS = tests/fuzz/fuzz_vm_slot.c $(FUZZ_HV_SRCS)
UNIT_TESTS += $(TESTDIR)/fuzz_hv_proto $(TESTDIR)/fuzz_vm_slot
FUZZ_TARGETS += fuzz_hv_proto fuzz_vm_slot
