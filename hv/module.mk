# pvio-hv (the hypervisor daemon) and the client half of libpvio.
PROGRAMS += pvio-hv
pvio-hv_SRCS := hv/hv_main.c hv/hv_domain.c hv/hv_gnttab.c hv/hv_evtchn.c \
	hv/hv_store.c hv/evtchn_table.c
LIBPVIO_SRCS += hv/libpvio_conn.c hv/libpvio_dom.c hv/libpvio_evtchn.c


TEST_PROGRAMS += hv_test
hv_test_SRCS := tests/integration/hv_test.c
INTEGRATION_TESTS += tests/integration/hv_grants.sh tests/integration/hv_evtchn.sh
