#!/usr/bin/env bash
# pvio-timeout: 90
# Two process domains on one bridge ping each other through
# netfront -> netback -> bridge -> netback -> netfront; TAPs are named
# vif<dom>.<dev>, sit on the bridge, and go away on detach.
set -u
. "$(dirname "$0")/net_lib.sh"
net_setup
br=br$PT_ID
net_guest a "bridge=$br" 10.77.0.1/24
net_guest b "bridge=$br" 10.77.0.2/24
da=$(net_domid a); db=$(net_domid b)
ip -n "$NB_NS" link show "vif$da.0" >/dev/null || pt_fail "no TAP vif$da.0"
[ "$(cat /proc/sys/net/ipv4/conf/all/forwarding 2>/dev/null)" ] || true
ip -n "$NB_NS" -d link show "vif$da.0" | grep -q "master $br" ||
	pt_fail "vif$da.0 is not on $br"
[ "$(ip -n "$NB_NS" -br link show "vif$db.0" | awk '{print $3}')" = fe:ff:ff:ff:ff:ff ] ||
	pt_fail "TAP MAC is not fe:ff:ff:ff:ff:ff"
ip netns exec "$NS_a" ping -c 3 -i 0.2 -W 2 10.77.0.2 || pt_fail "a cannot ping b"
ip netns exec "$NS_b" ping -c 3 -i 0.2 -W 2 10.77.0.1 || pt_fail "b cannot ping a"
# large pings: fragments and multi-slot frames both ways
ip netns exec "$NS_a" ping -c 2 -s 8000 -W 2 10.77.0.2 || pt_fail "big ping failed"
# xl's columns: Idx BE Mac handle state evt-ch tx-/rx-ring-ref BE-path
pvio network-list "$da" | awk -v d="$da" 'NR == 2 && $1 == 0 && $5 == 4 &&
	$8 == "/local/domain/0/backend/vif/" d "/0" { ok = 1 } END { exit !ok }' ||
	{ pvio network-list "$da"; pt_fail "network-list does not show the connected vif"; }
# detach: the TAP and its bridge port disappear
pvio network-detach "$da" 0 || pt_fail "network-detach failed"
pt_wait_for 10 sh -c "! ip -n $NB_NS link show vif$da.0" || pt_fail "TAP still there after detach"
ip -n "$NB_NS" link show master "$br" | grep -q "vif$da.0" && pt_fail "bridge port still there"
pt_pass
