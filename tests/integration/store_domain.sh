#!/usr/bin/env bash
# pvio-timeout: 90
# A process domain reaches pvio-store through the store ring of its
# platform region (real pvio-hv and pvio-store), across a kill -9 of the
# store.
set -u
. "$(dirname "$0")/../lib/pvio-test.sh"
pt_init
pt_start_hv
pt_start_store
PVIO_STORE_PID=$PT_PID_store "$PVIO_BUILD/tests/test_xs_domain" ||
	pt_fail "domain ring client"
pt_pass
