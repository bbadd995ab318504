#!/usr/bin/env bash
# Grants between two process domains and dom0 through a real pvio-hv:
# map/unmap, flags, end-access while mapped, refusals, copy, batches; the
# same from four threads sharing one connection; the mapping cap per
# (client, granting domain) refuses that domain alone; dom0 mapping without
# hv (pin tables shared with hv): the same checks, pins shared with hv's
# own, a dead mapper's pins and locks dropped by hv, frames registered
# again, a dying granter.
# pvio-timeout: 60
. "$(dirname "$0")/../lib/pvio-test.sh"
pt_init
pt_start_hv
"$PVIO_BUILD/tests/hv_test" grants || pt_fail "grant checks"
"$PVIO_BUILD/tests/hv_test" threads || pt_fail "grant/event checks from 4 threads on one connection"
"$PVIO_BUILD/tests/hv_test" caps || pt_fail "mapping caps per (client, granting domain)"
"$PVIO_BUILD/tests/hv_test" local || pt_fail "dom0 maps without hv: checks, shared pins, dead mappers"
# every check again with dom0 asking hv for each map, unmap and copy
PVIO_GNTTAB_LOCAL=0 "$PVIO_BUILD/tests/hv_test" grants || pt_fail "grant checks through hv"
PVIO_GNTTAB_LOCAL=0 "$PVIO_BUILD/tests/hv_test" caps || pt_fail "mapping caps through hv"
pt_pass
