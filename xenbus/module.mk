# xenbus: pvio-store (daemon), the xenstore client library and the xenbus
# state machine, their unit tests and integration tests.
STORE_CORE_SRCS := xenbus/store_core.c xenbus/store_tree.c xenbus/store_txn.c \
	xenbus/store_watch.c xenbus/store_conn.c xenbus/store_proto.c \
	xenbus/store_log.c

LIBPVIO_SRCS += xenbus/xs_client.c xenbus/xs_client_ops.c xenbus/xenbus_state.c

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
