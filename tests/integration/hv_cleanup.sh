#!/usr/bin/env bash
# A domain that dies (kill -9) or is destroyed leaves no mapping, pin or
# port behind; the survivors see their ports unbound and grants unpinned.
# pvio-timeout: 60
. "$(dirname "$0")/../lib/pvio-test.sh"
pt_init
pt_start_hv
"$PVIO_BUILD/tests/hv_test" cleanup || pt_fail "cleanup checks"
kill -0 "$PT_PID_hv" || pt_fail "pvio-hv died"
pt_pass
