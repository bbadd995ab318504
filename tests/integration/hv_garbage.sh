#!/usr/bin/env bash
# Hostile clients (short, oversized, lying or unknown packets; forged
# handles and ports; domUs using dom0 ops) are refused or cut off while
# another client keeps being served; domain creation is validated; 20 000
# random well-framed requests from dom0 and from a domain do not hurt hv.
# pvio-timeout: 60
. "$(dirname "$0")/../lib/pvio-test.sh"
pt_init
pt_start_hv
"$PVIO_BUILD/tests/hv_test" garbage || pt_fail "garbage checks"
"$PVIO_BUILD/tests/hv_test" storm 20000 || pt_fail "random request storm"
kill -0 "$PT_PID_hv" || pt_fail "pvio-hv died"
pt_pass
