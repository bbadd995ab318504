#!/usr/bin/env bash
# pvio-timeout: 90
# Multi-queue vifs: two queues per vif (one ring pair, one netback thread and
# one TAP queue each), split event channels; parallel TCP streams and a
# checked transfer go through.
set -u
. "$(dirname "$0")/net_lib.sh"
net_setup
br=br$PT_ID
net_guest a "bridge=$br" 10.82.0.1/24 --queues 2
net_guest b "bridge=$br" 10.82.0.2/24 --queues 2
da=$(net_domid a)
grep -q "vif$da.0 connected: 2 queue(s)" "$PT_RUNDIR/netback.log" ||
	pt_fail "netback did not connect 2 queues"
pvio store read "/local/domain/$da/device/vif/0/multi-queue-num-queues" 2>/dev/null |
	grep -qx 2 || xenstore-read "/local/domain/$da/device/vif/0/multi-queue-num-queues" |
	grep -qx 2 || pt_fail "frontend did not publish 2 queues"
ip netns exec "$NS_b" iperf3 -s -1 -p 5210 >/dev/null 2>&1 &
pt_on_exit "kill $!"
pt_wait_for 5 sh -c "ip netns exec $NS_b ss -ltn | grep -q :5210" || pt_fail "iperf3 server"
ip netns exec "$NS_a" iperf3 -c 10.82.0.2 -p 5210 -t 2 -P 4 >"$PT_RUNDIR/iperf.out" ||
	pt_fail "4 TCP streams over 2 queues failed"
grep SUM "$PT_RUNDIR/iperf.out" | tail -2
data=$PT_RUNDIR/data
head -c $((32 << 20)) /dev/urandom >"$data"
ip netns exec "$NS_b" timeout 30 nc -l -N 5211 >"$PT_RUNDIR/out" &
lpid=$!
pt_wait_for 5 sh -c "ip netns exec $NS_b ss -ltn | grep -q :5211" || pt_fail "listener"
ip netns exec "$NS_a" timeout 30 nc -N 10.82.0.2 5211 <"$data" || pt_fail "sender"
wait $lpid || pt_fail "receiver"
cmp -s "$data" "$PT_RUNDIR/out" || pt_fail "data differs"
pt_pass
