#!/usr/bin/env bash
# pvio bench net, as a user runs it (one short round): the JSON has the
# documented keys, every figure of both paths is positive, the round-trip
# percentiles are ordered, the host's busy share is a fraction, the ratios
# are pvio / veth, and nothing of the
# bench is left (namespaces, bridges, daemons, iperf3). No timing is
# asserted: the figures are the benchmark's business.
# pvio-timeout: 150
. "$(dirname "$0")/../lib/pvio-test.sh"
pt_need_root
pt_init
for t in iperf3 python3; do
	command -v $t >/dev/null || pt_skip "$t missing"
done

# what a bench leaves would show up here (names of bench-net's namespaces,
# its netfront processes and iperf3 servers); compared before and after so
# that another run on the host does not count
leftovers() {
	ip netns list | awk '{ print $1 }' | grep -E '^b(pa|pb|nb|va|vb|vbr)-' | sort
	pgrep -f "pvio-netfront-tap --create bench|iperf3 -s -D -p 5301|pvio-perf-rr --server" | sort
}
before=$(leftovers)
pvio bench net --rounds 1 --runtime 2 --json >"$PT_RUNDIR/bench.json" \
	2>"$PT_RUNDIR/bench.err" ||
	pt_fail "bench net failed: $(tail -n 20 "$PT_RUNDIR/bench.err")"
python3 - "$PT_RUNDIR/bench.json" <<'EOF' || pt_fail "bench net JSON: $(cat "$PT_RUNDIR/bench.json")"
import json, sys
j = json.load(open(sys.argv[1]))
for k in ("pvio", "veth", "ratio", "udp_rate"):
    assert k in j, "no key %s" % k
for k in ("gbps", "pps", "cpu_us_per_frame", "tcp_host_busy"):
    assert k in j["pvio"], "no pvio.%s" % k
for t in ("pvio", "veth"):
    for k in ("gbps", "pps"):
        assert j[t][k] > 0, "%s.%s = %s" % (t, k, j[t][k])
assert j["pvio"]["cpu_us_per_frame"] > 0, j["pvio"]
assert 0 < j["pvio"]["tcp_host_busy"] <= 1, j["pvio"]
for k in ("gbps", "pps"):
    want = j["pvio"][k] / j["veth"][k]
    assert abs(j["ratio"][k] - want) <= 0.002 + want * 0.002, (k, j["ratio"], want)
# round-trip percentiles: positive, ordered, and their ratios pvio / veth
for t in ("pvio", "veth"):
    l = j[t]["rtt_us"]
    assert 0 < l["p50"] <= l["p99"] <= l["p999"], (t, l)
for k in ("p50", "p99", "p999"):
    want = j["pvio"]["rtt_us"][k] / j["veth"]["rtt_us"][k]
    got = j["ratio"]["rtt_" + k]
    assert abs(got - want) <= 0.002 + want * 0.002, (k, got, want)
assert j["udp_rate"] == "0", j["udp_rate"]
EOF
# the bench's own cleanup: nothing of it is left
after=$(leftovers)
[ "$after" = "$before" ] ||
	pt_fail "bench net left: $(comm -13 <(echo "$before") <(echo "$after") | tr '\n' ' ')"
pt_pass
