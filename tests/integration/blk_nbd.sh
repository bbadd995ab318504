#!/usr/bin/env bash
# pvio-timeout: 150
# Disks on NBD servers in another network namespace (a veth between the
# "storage host" and blkback's): nbdkit serving a file over TCP carries
# the integrity and discard runs on 2 queues (it offers multi-conn);
# without multi-conn the disk gets one queue whatever the frontend asks; a
# server wanting 4 KiB blocks gives 4096-byte sectors; qemu-storage-daemon
# carries an integrity run too. nbdkit killed -9 twice during writes and
# restarted: every acknowledged write is on the file and the frontend never
# saw it (blkback reconnected and sent again what was unanswered); the same
# with reads in flight, each read checked as it completes. A
# read-only export refuses a read-write attach with a message and serves
# access=ro. With the server gone for good, requests fail after
# --reconnect-timeout, the disk is still removed and blkback lives on.
set -u
. "$(dirname "$0")/../lib/pvio-test.sh"
. "$(dirname "$0")/blk_lib.sh"
pt_need_root
command -v nbdkit >/dev/null || pt_skip "nbdkit not installed"
command -v qemu-storage-daemon >/dev/null || pt_skip "qemu-storage-daemon not installed"
pt_init
pt_on_exit "rm -f /var/tmp/pvio-blk-$PT_ID-*.img"
pt_start_hv
pt_start_store
BLK_TEST=$PVIO_TOP/build/tests/blk_test

# blkback in netns "be", the servers in netns "st", 10.78.0.1 <-> .2
pt_netns NS_BE be
pt_netns NS_ST st
ip link add "nb$PT_ID" netns "$NS_BE" type veth peer name "ns$PT_ID" netns "$NS_ST" ||
	pt_fail "cannot make the veth"
ip -n "$NS_BE" addr add 10.78.0.1/24 dev "nb$PT_ID"
ip -n "$NS_ST" addr add 10.78.0.2/24 dev "ns$PT_ID"
ip -n "$NS_BE" link set "nb$PT_ID" up
ip -n "$NS_ST" link set "ns$PT_ID" up

start_back() {
	pt_daemon blkback ip netns exec "$NS_BE" pvio-blkback --rundir "$PT_RUNDIR" -v "$@"
	pt_wait_for 10 grep -q "serving" "$PT_RUNDIR/blkback.log" ||
		pt_fail "pvio-blkback did not start"
}
start_back

img=$(blk_image n 32)
port=$(( 20000 + (0x$PT_ID % 20000) ))
nbdkit_start() {	# [OPTIONS AND FILTERS [-- FILTER PARAMETERS]]
	local pre=() post=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do pre+=("$1"); shift; done
	[ $# -gt 0 ] && shift
	post=("$@")
	pt_daemon nbdkit ip netns exec "$NS_ST" nbdkit -f -i 10.78.0.2 -p "$port" \
		"${pre[@]}" file "$img" "${post[@]}"
	pt_wait_for 10 ip netns exec "$NS_ST" sh -c "ss -ltn | grep -q ':$port '" ||
		pt_fail "nbdkit did not start"
}
nbdkit_kill() {
	kill -9 "$PT_PID_nbdkit" 2>/dev/null
	wait "$PT_PID_nbdkit" 2>/dev/null
	pt_wait_for 5 sh -c "! ip netns exec $NS_ST ss -ltn | grep -q ':$port '"
}
uri="nbd://10.78.0.2:$port/"

nbdkit_start
for mode in integrity discard; do
	blk_zero "$img"
	blk_run "n-$mode" "'vdev=xvda,target=$uri'" "$BLK_TEST" --file "$img" \
		--queues 2 "$mode" >"$PT_RUNDIR/$mode.out" 2>&1 ||
		{ cat "$PT_RUNDIR/$mode.out"; pt_fail "$mode over NBD"; }
	cat "$PT_RUNDIR/$mode.out"
done
grep -q "engine nbd" "$PT_RUNDIR/blkback.log" || pt_fail "the nbd engine did not serve the disk"
grep -q "multi-conn" "$PT_RUNDIR/blkback.log" || pt_fail "nbdkit's multi-conn not seen"

# outage: the server killed -9 twice while writes run, restarted
blk_zero "$img"
blk_run n-outage "'vdev=xvda,target=$uri'" "$BLK_TEST" --file "$img" --queues 2 \
	--seconds 5 outage >"$PT_RUNDIR/outage.out" 2>&1 &
prog=$!
for k in 1 2; do
	sleep 1.2
	nbdkit_kill
	sleep 0.3
	nbdkit_start
done
wait $prog
rc=$?
cat "$PT_RUNDIR/outage.out"
[ $rc -eq 0 ] || pt_fail "writes across NBD server restarts (rc $rc)"
n=$(grep -c "reconnected to" "$PT_RUNDIR/blkback.log")
[ "$n" -ge 2 ] || pt_fail "blkback reconnected $n time(s), want 2 or more"
grep "lost\|reconnected" "$PT_RUNDIR/blkback.log" | head -n 8

# the same while reads run (single- and multi-page, 8 in flight per queue)
nr=$(grep -c "reconnected to" "$PT_RUNDIR/blkback.log")
blk_zero "$img"
blk_run n-outage-read "'vdev=xvda,target=$uri'" "$BLK_TEST" --file "$img" \
	--queues 2 --seconds 5 outage-read >"$PT_RUNDIR/outage-read.out" 2>&1 &
prog=$!
for k in 1 2; do
	sleep 1.2
	nbdkit_kill
	sleep 0.3
	nbdkit_start
done
wait $prog
rc=$?
cat "$PT_RUNDIR/outage-read.out"
[ $rc -eq 0 ] || pt_fail "reads across NBD server restarts (rc $rc)"
n=$(grep -c "reconnected to" "$PT_RUNDIR/blkback.log")
[ "$n" -ge $((nr + 2)) ] || pt_fail "blkback reconnected $((n - nr)) time(s) during reads, want 2 or more"

# read-only export
nbdkit_kill
nbdkit_start -r
blk_run n-rw "'vdev=xvda,target=$uri'" "$BLK_TEST" --file "$img" readonly \
	>"$PT_RUNDIR/rw.out" 2>&1 && pt_fail "read-write attach of a read-only export"
grep -q "read-only export: attach it with access=ro" "$PT_RUNDIR/blkback.log" ||
	pt_fail "no clear message for a read-write attach of a read-only export"
grep -q "the backend refused the disk: .*read-only export" "$PT_RUNDIR/rw.out" || {
	cat "$PT_RUNDIR/rw.out"
	pt_fail "the frontend did not report the backend's reason"
}
blk_run n-ro "'vdev=xvda,access=ro,target=$uri'" "$BLK_TEST" --file "$img" readonly ||
	pt_fail "read-only export, access=ro"
nbdkit_kill

# no multi-conn offered: one queue whatever the frontend asks
nbdkit_start --filter=multi-conn -- multi-conn-mode=disable
blk_zero "$img"
blk_run n-1q "'vdev=xvda,target=$uri'" "$BLK_TEST" --file "$img" --queues 4 \
	--expect-queues 1 features || pt_fail "features without multi-conn"
nbdkit_kill
# a server that wants 4 KiB blocks: the disk gets 4096-byte sectors
nbdkit_start --filter=blocksize-policy -- blocksize-minimum=4096 \
	blocksize-preferred=4096 blocksize-error-policy=error
blk_zero "$img"
blk_run n-4k "'vdev=xvda,target=$uri'" "$BLK_TEST" --file "$img" sectors4k ||
	pt_fail "4 KiB blocks over NBD"
nbdkit_kill

# qemu-storage-daemon over TCP
qport=$((port + 1))
pt_daemon qsd ip netns exec "$NS_ST" qemu-storage-daemon \
	--blockdev "driver=file,node-name=f0,filename=$img" \
	--nbd-server "addr.type=inet,addr.host=10.78.0.2,addr.port=$qport" \
	--export "type=nbd,id=e0,node-name=f0,name=exp,writable=on"
pt_wait_for 10 ip netns exec "$NS_ST" sh -c "ss -ltn | grep -q ':$qport '" ||
	pt_fail "qemu-storage-daemon did not start"
blk_zero "$img"
blk_run n-qsd "'vdev=xvda,target=nbd://10.78.0.2:$qport/exp'" "$BLK_TEST" \
	--file "$img" --queues 2 integrity || pt_fail "integrity over qemu-storage-daemon"
kill "$PT_PID_qsd"

# the server gone for good: errors after the timeout, the disk still goes
kill "$PT_PID_blkback"
wait "$PT_PID_blkback" 2>/dev/null
start_back --reconnect-timeout 2
nbdkit_start
# the server goes once the disk is connected and the writes run
conn=$(grep -c ": connected:" "$PT_RUNDIR/blkback.log")
( pt_wait_for 30 sh -c "[ \$(grep -c ': connected:' '$PT_RUNDIR/blkback.log') -gt $conn ]"
  sleep 1; nbdkit_kill ) &
killer=$!
blk_zero "$img"
removed=$(grep -c "51712: removed" "$PT_RUNDIR/blkback.log")
start=$(date +%s)
blk_run n-gone "'vdev=xvda,target=$uri'" "$BLK_TEST" --file "$img" \
	--seconds 5 outage >"$PT_RUNDIR/gone.out" 2>&1 && pt_fail "writes to a dead server succeeded"
wait $killer
cat "$PT_RUNDIR/gone.out" | tail -n 3
[ $(( $(date +%s) - start )) -lt 40 ] || pt_fail "requests to a dead server took too long to fail"
grep -q "unreachable for 2 s" "$PT_RUNDIR/blkback.log" || pt_fail "no timeout message"
pt_wait_for 15 sh -c "[ \$(grep -c '51712: removed' '$PT_RUNDIR/blkback.log') -gt $removed ]" ||
	pt_fail "the disk on the dead server was not removed"
kill -0 "$PT_PID_blkback" || pt_fail "blkback died"
nbdkit_start
blk_zero "$img"
blk_run n-after "'vdev=xvda,target=$uri'" "$BLK_TEST" --file "$img" integrity ||
	pt_fail "blkback no longer serves NBD disks"
pt_pass
