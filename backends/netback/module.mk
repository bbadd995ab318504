# Networking (one fragment for the whole area): pvio-netback, the user-space
# netfront library and pvio-netfront-tap, the vif device class and network
# verbs of `pvio`, and their tests.

TEST_PROGRAMS += test_netspec test_netback_tx
test_netspec_SRCS := tests/unit/test_netspec.c tools/builtin_network_spec.c
test_netspec_LDLIBS := -lcmocka
test_netback_tx_SRCS := tests/unit/test_netback_tx.c backends/netback/netback_validate.c
test_netback_tx_LDLIBS := -lcmocka
UNIT_TESTS += $(TESTDIR)/test_netspec $(TESTDIR)/test_netback_tx
