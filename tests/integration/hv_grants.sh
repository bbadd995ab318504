#!/usr/bin/env bash
# Grants between two process domains and dom0 through a real pvio-hv:
# map/unmap, flags, end-access while mapped, refusals, copy, batches; the
# same from four threads sharing one connection; the mapping cap per
# (client, granting domain) refuses that domain alone.
# pvio-timeout: 60
. "$(dirname "$0")/../lib/pvio-test.sh"
pt_init
pt_start_hv
"$PVIO_BUILD/tests/hv_test" grants || pt_fail "grant checks"
"$PVIO_BUILD/tests/hv_test" threads || pt_fail "grant/event checks from 4 threads on one connection"
"$PVIO_BUILD/tests/hv_test" caps || pt_fail "mapping caps per (client, granting domain)"
pt_pass
