#!/usr/bin/env bash
# Hostile clients (short, oversized, lying or unknown packets; forged
# handles and ports; domUs using dom0 ops) are refused or cut off while
# another client keeps being served; domain creation is validated.
# pvio-timeout: 60
. "$(dirname "$0")/../lib/pvio-test.sh"
pt_init
pt_start_hv
"$PVIO_BUILD/tests/hv_test" garbage || pt_fail "garbage checks"
kill -0 "$PT_PID_hv" || pt_fail "pvio-hv died"
pt_pass
