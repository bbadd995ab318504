#!/usr/bin/env bash
# pvio-timeout: 90
# A process domain reaches pvio-store through the store ring of its
# platform region (real pvio-hv and pvio-store).
set -u
. "$(dirname "$0")/../lib/pvio-test.sh"
pt_init
pt_start_hv
pt_start_store
"$PVIO_BUILD/tests/test_xs_domain" || pt_fail "domain ring client"
pt_pass
