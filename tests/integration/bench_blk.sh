#!/usr/bin/env bash
# pvio bench blk, as a user runs it, on daemons of this test's run dir
# (blkback with a non-default --submit-batch): the JSON has the documented
# keys, the pvio and native figures are positive, each target names the
# faster of its two ways and the other's figure, the round-by-round ratios
# are ordered and as many as the rounds, and the ratio is pvio / native.
# With the pid files `pvio up` writes, the bench charges pvio-blkback's
# and pvio-hv's CPU time to pvio's requests: those figures are there and
# blkback's is not zero (it did every request's I/O).
# No timing is asserted: the figures are the benchmark's business.
# pvio-timeout: 120
. "$(dirname "$0")/../lib/pvio-test.sh"
pt_need_root
pt_init
command -v python3 >/dev/null || pt_skip "python3 missing"

pt_start_hv
pt_start_store
pt_daemon blkback pvio-blkback --rundir "$PT_RUNDIR" --submit-batch 3
pt_wait_for 10 grep -q "serving" "$PT_RUNDIR/blkback.log" ||
	pt_fail "pvio-blkback did not start: $(cat "$PT_RUNDIR/blkback.log")"

# as `pvio up` leaves them: the bench finds the daemons by these
echo "$PT_PID_hv" >"$PT_RUNDIR/hv.pid"
echo "$PT_PID_blkback" >"$PT_RUNDIR/blkback.pid"

# an out-of-range batch or polling time is refused with a message,
# nothing started
for opt_bad in "submit-batch 0" "submit-batch 65" "submit-batch x" \
	"spin-us 1001" "spin-us -1" "vm-spin-us 1001" "vm-spin-us 5x"; do
	read -r opt bad <<<"$opt_bad"
	if pvio-blkback --rundir "$PT_RUNDIR/none" "--$opt" "$bad" \
		>"$PT_RUNDIR/bad.out" 2>&1; then
		pt_fail "pvio-blkback accepted --$opt $bad"
	fi
	grep -q "bad value '$bad'" "$PT_RUNDIR/bad.out" ||
		pt_fail "no message for --$opt $bad: $(cat "$PT_RUNDIR/bad.out")"
done

# on disk, not in a tmpfs /tmp: native io_uring opens it with O_DIRECT
img=$(mktemp /var/tmp/pvio-bench-blk-test.XXXXXX) || pt_fail "mktemp in /var/tmp"
pt_on_exit "rm -f '$img'"
pvio bench blk --runtime 3 --size 32M --file "$img" --no-fio --json \
	>"$PT_RUNDIR/bench.json" 2>"$PT_RUNDIR/bench.err" ||
	pt_fail "bench blk failed: $(cat "$PT_RUNDIR/bench.err")"
python3 - "$PT_RUNDIR/bench.json" <<'EOF' || pt_fail "bench blk JSON: $(cat "$PT_RUNDIR/bench.json")"
import json, sys
j = json.load(open(sys.argv[1]))
for k in ("pvio", "native", "fio", "ratio", "native_baseline", "ratio_rounds",
          "pvio_way", "per_request", "cpu_us_per_request", "config"):
    assert k in j, "no key %s" % k
for t in ("pvio", "native"):
    for k in ("iops", "mbps", "lat_p50_us", "lat_p99_us", "lat_p999_us"):
        assert j[t][k] > 0, "%s.%s = %s" % (t, k, j[t][k])
    assert j[t]["lat_p50_us"] <= j[t]["lat_p99_us"] <= j[t]["lat_p999_us"], t
for t, w in (("native", "native_baseline"), ("pvio", "pvio_way")):
    b = j[w]
    assert {b["reap_batch"], b["other_reap_batch"]} == {1, 8}, b
    assert b["other_iops"] > 0, b
    # each is its faster way (rounding of the printed figures aside)
    assert j[t]["iops"] >= b["other_iops"] - 1, (j[t], b)
r = j["ratio_rounds"]
assert r["rounds"] == 3, r
assert 0 < r["iops_min"] <= r["iops_median"] <= r["iops_max"], r
want = j["pvio"]["iops"] / j["native"]["iops"]
assert abs(j["ratio"]["iops"] - want) <= 0.002 + want * 0.002, (j["ratio"], want)
c = j["cpu_us_per_request"]
assert c["pvio_blkback"] > 0 and c["pvio_frontend"] > 0 and c["native"] > 0, c
assert c["pvio_hv"] >= 0, c
assert j["config"]["bs"] == 4096 and j["config"]["iodepth"] == 32, j["config"]
EOF
# the bench used this run dir's blkback, which is still serving
kill -0 "$PT_PID_blkback" 2>/dev/null || pt_fail "pvio-blkback died"
grep -q "$img (raw, file store)" "$PT_RUNDIR/blkback.log" ||
	pt_fail "the bench's disk was not served by this blkback"
pt_wait_for 10 grep -q "vbd/.*: removed" "$PT_RUNDIR/blkback.log" ||
	pt_fail "the bench's disk was not removed"
grep -qi "error\|broken" "$PT_RUNDIR/blkback.log" &&
	pt_fail "blkback logged a problem: $(cat "$PT_RUNDIR/blkback.log")"
pt_pass
