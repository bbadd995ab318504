#!/usr/bin/env bash
# pvio-timeout: 90
# Malformed tx requests from a hostile frontend are refused and counted, a
# ring-index violation disconnects that vif with an error node, and the
# other vifs on the same bridge keep working throughout.
set -u
. "$(dirname "$0")/net_lib.sh"
net_setup
br=br$PT_ID
net_guest a "bridge=$br" 10.80.0.1/24
net_guest b "bridge=$br" 10.80.0.2/24
ip netns exec "$NS_a" ping -c 1 -W 2 10.80.0.2 >/dev/null || pt_fail "no baseline ping"
ip netns exec "$NS_a" ping -c 60 -i 0.05 -W 1 10.80.0.2 >"$PT_RUNDIR/ping.out" 2>&1 &
ppid=$!
"$PVIO_BUILD/tests/net_hostile" "$br" || pt_fail "hostile frontend test failed"
wait $ppid
cat "$PT_RUNDIR/ping.out" | tail -3
received=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$PT_RUNDIR/ping.out")
[ "${received:-0}" -ge 59 ] || pt_fail "other vifs suffered: $received/60 pings"
kill -0 "$PT_PID_netback" || pt_fail "pvio-netback died"
ip netns exec "$NS_b" ping -c 2 -i 0.2 -W 2 10.80.0.1 >/dev/null || pt_fail "ping after the attack"
grep -q "out of range" "$PT_RUNDIR/netback.log" || pt_fail "no protocol violation logged"
pt_pass
