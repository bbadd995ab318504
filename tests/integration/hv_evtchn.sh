#!/usr/bin/env bash
# Event channels between two process domains (two processes): 100 000
# round trips with none lost, masking, and no event after close even from
# a peer that kept copies of its eventfds; a domain's open ports are
# capped (hv's fds), for that domain alone.
# pvio-timeout: 120
. "$(dirname "$0")/../lib/pvio-test.sh"
pt_init
pt_start_hv
"$PVIO_BUILD/tests/hv_test" evtchn 100000 || pt_fail "event channel checks"
"$PVIO_BUILD/tests/hv_test" portcap || pt_fail "open ports per domain capped"
pt_pass
