#!/usr/bin/env bash
# pvio-timeout: 120
# pvio-netback is killed -9 in the middle of a TCP transfer and restarted:
# the frontends reconnect by themselves, TCP recovers, and the data that
# arrives is exactly what was sent (sha256).
set -u
. "$(dirname "$0")/net_lib.sh"
net_setup
br=br$PT_ID
# a rate limit on the sender keeps the transfer long enough to cut it
net_guest a "bridge=$br,rate=240Mb/s@10ms" 10.81.0.1/24
net_guest b "bridge=$br" 10.81.0.2/24

data=$PT_RUNDIR/data
head -c $((100 << 20)) /dev/urandom >"$data"
want=$(sha256sum <"$data" | cut -d' ' -f1)
out=$PT_RUNDIR/out
ip netns exec "$NS_b" timeout 90 nc -l -N 5010 >"$out" &
lpid=$!
pt_wait_for 5 sh -c "ip netns exec $NS_b ss -ltn | grep -q :5010" || pt_fail "listener"
ip netns exec "$NS_a" timeout 90 nc -N 10.81.0.2 5010 <"$data" &
spid=$!
pt_wait_for 10 sh -c "[ \$(stat -c %s $out) -gt $((10 << 20)) ]" ||
	pt_fail "transfer did not start"
kill -KILL "$PT_PID_netback"
wait "$PT_PID_netback" 2>/dev/null
at_kill=$(stat -c %s "$out")
echo "netback killed with $at_kill bytes received"
[ "$at_kill" -lt $((100 << 20)) ] || pt_fail "transfer ended before the kill"
sleep 1
mv "$PT_RUNDIR/netback.log" "$PT_RUNDIR/netback-1.log"
net_start_netback
wait $spid || pt_fail "sender failed after the restart"
wait $lpid || pt_fail "receiver failed after the restart"
got=$(sha256sum <"$out" | cut -d' ' -f1)
[ "$got" = "$want" ] || pt_fail "data corrupted across the restart ($(stat -c %s "$out") bytes)"
grep -q "connected" "$PT_RUNDIR/netback.log" || pt_fail "no reconnection logged"
ip netns exec "$NS_b" ping -c 2 -i 0.2 -W 2 10.81.0.1 >/dev/null || pt_fail "no ping after restart"
echo "transfer completed across the restart, sha256 ok"
pt_pass
