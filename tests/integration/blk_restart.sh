#!/usr/bin/env bash
# pvio-blkback killed -9 in the middle of writes and restarted: the
# frontend reconnects by itself, re-issues what was in flight, every
# request completes and every acknowledged write is on the file. Both
# engines; the second run also restarts the backend twice.
# pvio-timeout: 120
. "$(dirname "$0")/../lib/pvio-test.sh"
. "$(dirname "$0")/blk_lib.sh"
blk_setup

img=$(blk_image r 32)

restart_run() {	# NAME SPEC KILLS
	local name=$1 spec=$2 kills=$3
	blk_zero "$img"
	blk_run "$name" "'$spec'" "$BLK_TEST" --file "$img" --seconds 6 restart \
		>"$PT_RUNDIR/$name.out" 2>&1 &
	local prog=$!
	for ((k = 0; k < kills; k++)); do
		sleep 1.5
		kill -0 $prog 2>/dev/null || break
		kill -9 "$PT_PID_blkback"
		wait "$PT_PID_blkback" 2>/dev/null
		sleep 0.3
		blk_start_back
	done
	wait $prog
	local rc=$?
	cat "$PT_RUNDIR/$name.out"
	[ $rc -eq 0 ] || pt_fail "$name: blk_test restart failed (rc $rc)"
	grep -q "reconnect" "$PT_RUNDIR/$name.out" || pt_fail "$name: no reconnect reported"
}

restart_run rs1 "$img,raw,xvda,rw" 1
restart_run rs2 "vdev=xvda,engine=aio,target=$img" 2
pt_pass
