# xenbus: pvio-store (daemon), the xenstore client library and the xenbus
# state machine, their unit tests and integration tests.
STORE_CORE_SRCS := xenbus/store_core.c xenbus/store_tree.c xenbus/store_txn.c \
	xenbus/store_watch.c xenbus/store_conn.c xenbus/store_proto.c \
	xenbus/store_log.c

LIBPVIO_SRCS += xenbus/xs_client.c xenbus/xs_client_ops.c xenbus/xs_client_ring.c \
	xenbus/xenbus_state.c

PROGRAMS += pvio-store
pvio-store_SRCS := $(STORE_CORE_SRCS) xenbus/store_domain.c xenbus/store_main.c

pvio_SRCS += tools/builtin_store.c

TEST_PROGRAMS += test_store
test_store_SRCS := tests/unit/test_store.c $(STORE_CORE_SRCS)
test_store_LDLIBS := -lcmocka
UNIT_TESTS += $(TESTDIR)/test_store

TEST_PROGRAMS += test_xs_client
test_xs_client_SRCS := tests/integration/test_xs_client.c
INTEGRATION_TESTS += $(TESTDIR)/test_xs_client
INTEGRATION_TESTS += tests/integration/store_xen_tools.sh \
	tests/integration/store_hostile.sh tests/integration/store_durability.sh

# Store benchmark (lives in perf/, registered here to keep perf/module.mk
# free of merge conflicts between components).
PROGRAMS += pvio-perf-store
pvio-perf-store_SRCS := perf/store_bench.c

TEST_PROGRAMS += test_xs_domain
test_xs_domain_SRCS := tests/integration/test_xs_domain.c
INTEGRATION_TESTS += tests/integration/store_domain.sh

# libFuzzer harness of the request path (clang -fsanitize=fuzzer; see
# docs/store.md).
FUZZ_TARGETS += fuzz_store
TEST_PROGRAMS += fuzz_store
UNIT_TESTS += $(TESTDIR)/fuzz_store
fuzz_store_SRCS := tests/fuzz/fuzz_store.c $(STORE_CORE_SRCS)

# fuzz harness of recovery from a corrupt or truncated snapshot and log;
# without libFuzzer it runs a smoke campaign as a unit test
FUZZ_TARGETS += fuzz_store_log
TEST_PROGRAMS += fuzz_store_log
UNIT_TESTS += $(TESTDIR)/fuzz_store_log
fuzz_store_log_SRCS := tests/fuzz/fuzz_store_log.c $(STORE_CORE_SRCS)
