#!/usr/bin/env bash
# pvio-timeout: 120
# 100 MiB over TCP (GSO, checksum offload) between two process domains, and
# between a domain and dom0's bridge address, each checked with sha256.
set -u
. "$(dirname "$0")/net_lib.sh"
net_setup
br=br$PT_ID
net_guest a "bridge=$br" 10.78.0.1/24
net_guest b "bridge=$br" 10.78.0.2/24
# dom0's side: the bridge (inside netback's namespace) gets a test address
ip -n "$NB_NS" addr add 10.78.0.254/24 dev "$br" || pt_fail "cannot address $br"

data=$PT_RUNDIR/data
head -c $((100 << 20)) /dev/urandom >"$data"
want=$(sha256sum <"$data" | cut -d' ' -f1)

# transfer NS_SRC NS_DST DST_IP PORT
transfer() {
	local src=$1 dst=$2 ip=$3 port=$4 out=$PT_RUNDIR/out.$4
	ip netns exec "$dst" timeout 60 nc -l -N "$port" >"$out" &
	local lpid=$!
	pt_wait_for 5 sh -c "ip netns exec $dst ss -ltn | grep -q :$port" ||
		pt_fail "listener on $ip:$port did not start"
	ip netns exec "$src" timeout 60 nc -N "$ip" "$port" <"$data" ||
		pt_fail "sender to $ip:$port failed"
	wait $lpid || pt_fail "receiver on $ip:$port failed"
	got=$(sha256sum <"$out" | cut -d' ' -f1)
	[ "$got" = "$want" ] || pt_fail "sha256 mismatch to $ip ($(stat -c %s "$out") bytes)"
	rm -f "$out"
	echo "100 MiB to $ip: sha256 ok"
}
transfer "$NS_a" "$NS_b" 10.78.0.2 5001
transfer "$NS_b" "$NS_a" 10.78.0.1 5002
transfer "$NS_a" "$NB_NS" 10.78.0.254 5003
transfer "$NB_NS" "$NS_b" 10.78.0.2 5004
# the frames above went to the TAPs in io_uring batches (netback's tx, the
# process domains' small frames), not through the write()-per-frame fallback
if grep -l 'no io_uring' "$PT_RUNDIR"/*.log; then
	pt_fail "TAP writes fell back to one write() per frame"
fi
pt_pass
