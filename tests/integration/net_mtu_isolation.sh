#!/usr/bin/env bash
# pvio-timeout: 120
# mtu=9000 end to end (unfragmented jumbo frames, TCP), two bridges that
# stay isolated even with addresses in one subnet, and rate= honoured.
set -u
. "$(dirname "$0")/net_lib.sh"
net_setup
br1=bj$PT_ID
br2=bk$PT_ID
net_guest a "bridge=$br1,mtu=9000" 10.79.0.1/24
net_guest b "bridge=$br1,mtu=9000" 10.79.0.2/24
net_guest c "bridge=$br2" 10.79.0.3/24
da=$(net_domid a)

[ "$(ip -n "$NS_a" -o link show eth0 | sed -n 's/.* mtu \([0-9]*\).*/\1/p')" = 9000 ] ||
	pt_fail "guest MTU is not 9000"
[ "$(cat /sys/class/net/lo/mtu)" ] # (root ns untouched)
ip -n "$NB_NS" -o link show "vif$da.0" | grep -q "mtu 9000" || pt_fail "TAP MTU is not 9000"
ip netns exec "$NS_a" ping -c 3 -i 0.2 -W 2 -M do -s 8972 10.79.0.2 ||
	pt_fail "9000-byte frames do not pass unfragmented"
ip netns exec "$NS_a" ping -c 1 -W 1 -M do -s 8973 10.79.0.2 >/dev/null 2>&1 &&
	pt_fail "a frame above the MTU passed"

# TCP at mtu 9000
ip netns exec "$NS_b" iperf3 -s -1 -p 5201 >/dev/null 2>&1 &
pt_on_exit "kill $!"
pt_wait_for 5 sh -c "ip netns exec $NS_b ss -ltn | grep -q :5201" || pt_fail "iperf3 server"
ip netns exec "$NS_a" iperf3 -c 10.79.0.2 -p 5201 -t 2 -J >"$PT_RUNDIR/j.json" ||
	pt_fail "iperf3 at mtu 9000 failed"

# isolation: c is on another bridge, same subnet
ip netns exec "$NS_c" ping -c 2 -i 0.2 -W 1 10.79.0.1 >/dev/null 2>&1 &&
	pt_fail "c reached a across bridges"
ip netns exec "$NS_a" ping -c 2 -i 0.2 -W 1 10.79.0.3 >/dev/null 2>&1 &&
	pt_fail "a reached c across bridges"
ip netns exec "$NS_a" ping -c 1 -W 2 10.79.0.2 >/dev/null || pt_fail "a lost b"

# rate: 8 Mb/s on a fresh vif of c; TCP must stay near it
net_guest d "bridge=$br2,rate=8Mb/s@20ms" 10.79.0.4/24
ip netns exec "$NS_c" iperf3 -s -1 -p 5202 >/dev/null 2>&1 &
pt_on_exit "kill $!"
pt_wait_for 5 sh -c "ip netns exec $NS_c ss -ltn | grep -q :5202" || pt_fail "iperf3 server"
bps=$(ip netns exec "$NS_d" iperf3 -c 10.79.0.3 -p 5202 -t 3 -J |
	python3 -c 'import json,sys; print(int(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]))') ||
	pt_fail "iperf3 through the rate limit failed"
echo "rate-limited vif: $bps bit/s (limit 8000000)"
[ "$bps" -le 9600000 ] || pt_fail "rate limit not honoured: $bps bit/s"
[ "$bps" -ge 2000000 ] || pt_fail "rate-limited vif far too slow: $bps bit/s"
pt_pass
