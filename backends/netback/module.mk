# Networking (one fragment for the whole area): pvio-netback, the user-space
# netfront library and pvio-netfront-tap, the vif device class and network
# verbs of `pvio`, and their tests.

TEST_PROGRAMS += test_netspec test_netback_tx test_netfront_offload
test_netspec_SRCS := tests/unit/test_netspec.c tools/builtin_network_spec.c
test_netspec_LDLIBS := -lcmocka
test_netback_tx_SRCS := tests/unit/test_netback_tx.c backends/netback/netback_validate.c
test_netback_tx_LDLIBS := -lcmocka
test_netfront_offload_SRCS := tests/unit/test_netfront_offload.c
test_netfront_offload_LDLIBS := -lcmocka
UNIT_TESTS += $(TESTDIR)/test_netspec $(TESTDIR)/test_netback_tx \
	$(TESTDIR)/test_netfront_offload

PROGRAMS += pvio-netback
pvio-netback_SRCS := backends/netback/netback_main.c \
	backends/netback/netback_xenbus.c backends/netback/netback_queue.c \
	backends/netback/netback_tx.c backends/netback/netback_rx.c \
	backends/netback/netback_tap.c backends/netback/netback_validate.c

LIBPVIO_SRCS += frontends/user/netfront_offload.c
LIBPVIO_SRCS += frontends/user/netfront_ring.c frontends/user/netfront_xenbus.c \
	frontends/user/netfront_state.c

PROGRAMS += pvio-netfront-tap
pvio-netfront-tap_SRCS := frontends/user/netfront_tap_main.c \
	tools/builtin_network_spec.c tools/builtin_network_store.c

pvio_SRCS += tools/builtin_network.c tools/builtin_network_spec.c \
	tools/builtin_bench.c \
	tools/builtin_network_store.c

INTEGRATION_TESTS += tests/integration/net_ping.sh tests/integration/net_transfer.sh \
	tests/integration/net_mtu_isolation.sh

TEST_PROGRAMS += net_hostile
net_hostile_SRCS := tests/integration/net_hostile.c tools/builtin_network_spec.c \
	tools/builtin_network_store.c
INTEGRATION_TESTS += tests/integration/net_hostile.sh tests/integration/net_restart.sh \
	tests/integration/net_multiqueue.sh tests/integration/net_cli.sh

# fuzz harness of the network parsers; without libFuzzer it runs a smoke
# campaign as a unit test
TEST_PROGRAMS += fuzz_net
fuzz_net_SRCS := tests/fuzz/fuzz_net.c backends/netback/netback_validate.c \
	tools/builtin_network_spec.c
UNIT_TESTS += $(TESTDIR)/fuzz_net
FUZZ_TARGETS += fuzz_net

# fuzz harness of the tx and rx passes over simulated guest memory; without
# libFuzzer it runs a smoke campaign as a unit test
TEST_PROGRAMS += fuzz_netback_ring
fuzz_netback_ring_SRCS := tests/fuzz/fuzz_netback_ring.c tests/fuzz/fuzz_guest.c \
	backends/netback/netback_tx.c backends/netback/netback_rx.c \
	backends/netback/netback_validate.c backends/netback/netback_queue.c \
	frontends/user/netfront_offload.c grant/gnttab_entry.c
UNIT_TESTS += $(TESTDIR)/fuzz_netback_ring
FUZZ_TARGETS += fuzz_netback_ring
