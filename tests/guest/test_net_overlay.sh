#!/usr/bin/env bash
# pvio-timeout: 240
# Two hosts (network namespaces, each running its own pvio stack) joined by
# a VXLAN overlay (`pvio network-overlay create` on both, over an underlay
# veth), a VM on each with a vif on the overlay and one on a plain segment
# between the hosts: they ping each other over both, the overlay vif got
# MTU 1450 from the toolstack and 1450-byte packets cross unfragmented,
# iperf3 runs guest to guest over both paths (figures printed; the
# benchmark is `pvio bench overlay`), with a sanity floor far below what
# works.
set -eu
. "$PVIO_TOP/tests/lib/pvio-test.sh"
. "$PVIO_TOP/tests/guest/guest-lib.sh"
. "$PVIO_TOP/tests/guest/overlay-lib.sh"
pt_init
gt_init pvio_netfront
ov_hosts
ov_guest_script "$PT_RUNDIR/a.sh" a 1 3
ov_guest_script "$PT_RUNDIR/b.sh" b 1 3
mapfile -t va < <(ov_vifs a)
mapfile -t vb < <(ov_vifs b)
db=$(ov_vm B ovb "$PT_RUNDIR/b.sh" 320 1 "${vb[@]}")
da=$(ov_vm A ova "$PT_RUNDIR/a.sh" 320 1 "${va[@]}")
[ -n "$da" ] && [ -n "$db" ] || pt_fail "pvio create printed no domid"
echo "host A domain $da, host B domain $db"
[ "$(ov_pvio A store read "/local/domain/0/backend/vif/$da/0/mtu")" = 1450 ] ||
	pt_fail "the overlay vif did not get MTU 1450"
ufrag() { ip netns exec "$OV_NS_A" awk '/^Ip: [0-9]/ { print $(NF - 1) }' /proc/net/snmp; }
f0=$(ufrag)
ov_wait_result A "$da" 200
[ "$(ufrag)" = "$f0" ] || pt_fail "host A fragmented VXLAN packets on the underlay"
grep -a 'PVIO-TEST\|PVIO-BENCH' "$(ov_console A "$da")" "$(ov_console B "$db")"
grep -a "PVIO-BENCH: overlay" "$(ov_console A "$da")" |
	awk '{ if ($4 + 0 < 20) exit 1 }' || pt_fail "overlay TCP under 20 Mbit/s: a lossy path"
for h in A B; do
	log=$(ov_console $h "$([ $h = A ] && echo "$da" || echo "$db")")
	if grep -aE 'BUG:|WARNING:|Oops|Call Trace' "$log"; then
		pt_fail "kernel report in the console of host $h's guest"
	fi
done
bridge -n "$OV_NS_A" fdb show dev "vx-$OV_BR" | grep -q "$OV_MAC_B:01" ||
	pt_fail "host A's VXLAN device did not learn guest b's MAC"
pt_pass
