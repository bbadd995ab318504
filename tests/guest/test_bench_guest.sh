#!/usr/bin/env bash
# pvio-timeout: 360
# `pvio bench --guest --json` end to end with short runs: one guest, pvio
# against virtio at QEMU's best configuration here, both TCP directions, UDP
# round trips and QD1 latency. The JSON has the documented shape and names the baseline
# configuration; virtio figures are always measured; the pvio disk and NIC
# figures must be measured as soon as their frontend modules are built (null
# only without them); the PNG is written; the bench leaves no namespace, TAP
# or QEMU behind.
set -eu
. "$PVIO_TOP/tests/lib/pvio-test.sh"
. "$PVIO_TOP/tests/guest/guest-lib.sh"
pt_init
pt_need_root
gt_init

ns_before=$(ip netns list | grep -c '^pvbench-' || true)
# QEMUs of bench runs (their command lines name the bench's run directory)
bench_qemus() { pgrep -f 'qemu-system-x86_64.*/tmp/pvio-bench-' | sort; }
qemu_before=$(bench_qemus)
pvio bench --guest --json --rx --qd1 --runtime 3 --png "$PT_RUNDIR/bench.png" \
	>"$PT_RUNDIR/out.json" 2>"$PT_RUNDIR/bench.log" || {
	cat "$PT_RUNDIR/bench.log"
	pt_fail "pvio bench --guest failed"
}
cat "$PT_RUNDIR/bench.log"
cat "$PT_RUNDIR/out.json"
blk=0 net=0
ls "$PVIO_TOP"/build/modules/*blkfront*.ko >/dev/null 2>&1 && blk=1
ls "$PVIO_TOP"/build/modules/*netfront*.ko >/dev/null 2>&1 && net=1
python3 - "$PT_RUNDIR/out.json" "$blk" "$net" <<'PY' || pt_fail "JSON output is not as documented"
import json, sys
text = open(sys.argv[1]).read()
lines = [l for l in text.splitlines() if l.strip()]
assert len(lines) == 1, "stdout must be one JSON line, got %d lines" % len(lines)
d = json.loads(lines[0])
want = {"blk": {"pvio": ["iops", "mbps", "p50_us", "p99_us", "p999_us",
                         "qd1_p50_us", "qd1_p99_us", "qd1_p999_us",
                         "cpu_us", "seq_cpu_us", "qd1_cpu_us"]},
        "net": {"pvio": ["gbps", "rx_gbps", "rr_p50_us", "rr_p99_us", "rr_p999_us"]}}
assert sorted(d) == ["baseline", "blk", "net", "rounds", "runtime_s"], "top-level keys %s" % sorted(d)
assert d["rounds"] == 1 and d["runtime_s"] == 3, (d["rounds"], d["runtime_s"])
b = d["baseline"]
assert "iothread" in b["virtio_blk"] and "queue" in b["virtio_blk"], b
assert "queue pair" in b["virtio_net"] and "vhost" in b["virtio_net"], b
assert d["net"]["queues"]["virtio"] == "2", d["net"]["queues"]
for kind, paths in want.items():
    keys = paths["pvio"]
    assert sorted(d[kind]) == sorted(["pvio", "virtio", "ratio", "spread"] +
                                     (["queues"] if kind == "net" else ["per_request"])), \
        "%s keys %s" % (kind, sorted(d[kind]))
    for path in ("pvio", "virtio", "ratio"):
        assert sorted(d[kind][path]) == sorted(keys), "%s.%s keys %s" % (kind, path, sorted(d[kind][path]))
        for k in keys:
            v = d[kind][path][k]
            assert v is None or (isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0), \
                "%s.%s.%s = %r" % (kind, path, k, v)
    for k in keys:
        assert d[kind]["virtio"][k] is not None, "virtio %s %s not measured" % (kind, k)
        sp = d[kind]["spread"]["virtio"][k]
        assert sp[0] <= d[kind]["virtio"][k] <= sp[1], "virtio %s %s outside its spread %r" % (kind, k, sp)
    need = sys.argv[2] == "1" if kind == "blk" else sys.argv[3] == "1"
    for k in keys:
        pv, vi, r = d[kind]["pvio"][k], d[kind]["virtio"][k], d[kind]["ratio"][k]
        if need:
            assert pv is not None, "pvio %s %s not measured although its frontend is built" % (kind, k)
        if pv is None:
            assert r is None, "a ratio without a pvio figure"
        else:
            assert abs(r - pv / vi) <= 0.002 * max(1, pv / vi), "ratio %r != %r / %r" % (r, pv, vi)
# per request: host CPU by part, interrupts, and pvio's notifications
pr = d["blk"]["per_request"]
parts = ["vcpu", "main", "iothread", "blkback", "netback", "hv", "other"]
for path in ("pvio", "virtio"):
    if path == "pvio" and sys.argv[2] != "1":
        continue
    for pre in ("", "seq_", "qd1_"):
        c = pr[path]
        tot = c[pre + "cpu_us"]
        assert tot > 0, "%s %scpu_us %r" % (path, pre, tot)
        assert abs(sum(c[pre + "cpu_" + p] for p in parts) - tot) <= 0.1 * len(parts) + 0.01 * tot, \
            "%s %s: parts do not add up" % (path, pre)
        assert c[pre + "irqs"] > 0, "%s %sirqs %r" % (path, pre, c[pre + "irqs"])
        if path == "pvio":
            assert c[pre + "notifies"] > 0, "pvio %snotifies" % pre
            assert c[pre + "cpu_blkback"] > 0, "blkback did no work for pvio"
        else:
            assert c[pre + "cpu_iothread"] > 0, "the iothread did no work for virtio"
# round-trip percentiles in order on each path that measured them
for path in ("pvio", "virtio"):
    n = d["net"][path]
    if n["rr_p50_us"] is not None:
        assert n["rr_p50_us"] <= n["rr_p99_us"] <= n["rr_p999_us"], (path, n)
print("JSON ok")
PY
head -c 8 "$PT_RUNDIR/bench.png" | od -An -tx1 | grep -q '89 50 4e 47 0d 0a 1a 0a' ||
	pt_fail "no PNG written"
[ "$(ip netns list | grep -c '^pvbench-' || true)" -eq "$ns_before" ] ||
	pt_fail "the bench left a network namespace behind"
[ -z "$(comm -13 <(echo "$qemu_before") <(bench_qemus))" ] ||
	pt_fail "the bench left QEMU running"
pt_pass
