#!/usr/bin/env bash
# When a domain's process dies, pvio-hv sends XS_RELEASE to the real
# pvio-store, which fires @releaseDomain for its watchers.
# pvio-timeout: 60
. "$(dirname "$0")/../lib/pvio-test.sh"
pt_init
command -v pvio-store >/dev/null || pt_skip "pvio-store not built"
pt_start_store
pt_start_hv
"$PVIO_BUILD/tests/hv_test" release || pt_fail "release checks"
pt_pass
