#!/usr/bin/env bash
# pvio-timeout: 120
# Images in QEMU's formats (a qdisk: blkback starts a qemu-storage-daemon
# per disk and serves its NBD export). A qcow2 overlay on a qcow2 backing
# file takes an integrity run on 2 queues: the backing file is untouched,
# `qemu-img check` is clean, the daemon, its socket and pid file are gone
# once the disk is. vmdk, vhdx, vhd (vpc), qed take a features run each
# (1 MiB written and read back through every queue).
# A file that is not qcow2 opened as qcow2 is refused with QEMU's message.
# A raw qdisk whose daemon is killed -9 during writes: blkback starts it
# again and every acknowledged write is on the file. blkback killed -9:
# its daemon goes too.
set -u
. "$(dirname "$0")/../lib/pvio-test.sh"
. "$(dirname "$0")/blk_lib.sh"
command -v qemu-storage-daemon >/dev/null || pt_skip "qemu-storage-daemon not installed"
command -v qemu-img >/dev/null || pt_skip "qemu-img not installed"
blk_setup
pt_on_exit "rm -f /var/tmp/pvio-blk-$PT_ID-*"
v=/var/tmp/pvio-blk-$PT_ID

qsd_pids() {	# the daemons serving this run dir's sockets
	pgrep -f "qemu-storage-daemon .*$PT_RUNDIR/qdisk-"
}
has_daemon() { [ -n "$(qsd_pids)" ]; }
no_daemon_running() { [ -z "$(qsd_pids)" ]; }
no_daemon_left() {	# (its log stays, for a person to read)
	[ -z "$(qsd_pids)" ] && ! ls "$PT_RUNDIR"/qdisk-*.sock "$PT_RUNDIR"/qdisk-*.pid \
		>/dev/null 2>&1
}

# qcow2 overlay on a qcow2 backing file with data in it (zeroes: blk_test
# wants a disk that reads zero where it has not written)
qemu-img create -q -f qcow2 "$v-base.qcow2" 32M || pt_fail "qemu-img create"
qemu-io -f qcow2 -c "write -P 0 0 8M" "$v-base.qcow2" >/dev/null ||
	pt_fail "qemu-io on the base image"
qemu-img create -q -f qcow2 -b "$v-base.qcow2" -F qcow2 "$v-top.qcow2" ||
	pt_fail "qemu-img create (overlay)"
base_sum=$(sha256sum <"$v-base.qcow2")
blk_run q-top "'vdev=xvda,format=qcow2,target=$v-top.qcow2'" "$BLK_TEST" \
	--file "$v-top.qcow2" --no-file-check --queues 2 integrity ||
	pt_fail "integrity on a qcow2 overlay"
grep -q "qcow2 image .* served by qemu-storage-daemon" "$PT_RUNDIR/blkback.log" ||
	pt_fail "no qemu-storage-daemon served the qcow2 image"
pt_wait_for 15 no_daemon_left || pt_fail "daemon, socket or pid file left after the disk went: $(qsd_pids) $(ls "$PT_RUNDIR")"
qemu-img check -q "$v-top.qcow2" || pt_fail "qemu-img check finds the overlay damaged"
[ "$(sha256sum <"$v-base.qcow2")" = "$base_sum" ] || pt_fail "the backing file changed"
qemu-img map --output=json "$v-top.qcow2" | grep -q '"depth": 0, .*"data": true' ||
	pt_fail "no data allocated in the overlay"

# other formats
for fmt in vmdk vhdx vhd qed; do
	qfmt=$fmt
	[ $fmt = vhd ] && qfmt=vpc
	qemu-img create -q -f "$qfmt" "$v-f.$fmt" 16M || pt_fail "qemu-img create $fmt"
	blk_run "q-$fmt" "'vdev=xvda,format=$fmt,target=$v-f.$fmt'" "$BLK_TEST" \
		--file "$v-f.$fmt" --no-file-check features ||
		pt_fail "integrity on a $fmt image"
	qemu-img check -q -f "$qfmt" "$v-f.$fmt" 2>/dev/null
	rc=$?
	# vmdk and vpc have no checker (63): nothing to say then
	[ $rc -eq 0 ] || [ $rc -eq 63 ] || pt_fail "qemu-img check: $fmt image damaged (rc $rc)"
done

# refused with a message: a raw file called qcow2
truncate -s 16M "$v-raw.img"
blk_run q-bad "'vdev=xvda,format=qcow2,target=$v-raw.img'" "$BLK_TEST" \
	--file "$v-raw.img" readonly >/dev/null 2>&1 && pt_fail "a raw file opened as qcow2"
pt_wait_for 10 grep -q "qemu-storage-daemon on .* failed: Image is not in qcow2 format" \
	"$PT_RUNDIR/blkback.log" ||
	pt_fail "no message naming the qcow2 problem"
pt_wait_for 10 no_daemon_left || pt_fail "a failed open left a daemon"

# raw qdisk, daemon killed -9 during writes: restarted, nothing lost
blk_zero "$v-raw.img"
blk_run q-kill "'vdev=xvda,backendtype=qdisk,target=$v-raw.img'" "$BLK_TEST" \
	--file "$v-raw.img" --seconds 4 outage >"$PT_RUNDIR/kill.out" 2>&1 &
prog=$!
pt_wait_for 10 has_daemon || pt_fail "no daemon for the raw qdisk"
sleep 1
kill -9 $(qsd_pids)
wait $prog
rc=$?
cat "$PT_RUNDIR/kill.out"
[ $rc -eq 0 ] || pt_fail "writes across a qemu-storage-daemon crash (rc $rc)"
grep -q "qemu-storage-daemon for .* killed by signal 9: starting it again" \
	"$PT_RUNDIR/blkback.log" || pt_fail "the daemon was not restarted"
grep -q "reconnected to nbd+unix" "$PT_RUNDIR/blkback.log" || pt_fail "no reconnect"

# blkback killed -9 with a qdisk attached: the daemon goes with it
blk_run q-hold "'vdev=xvda,format=qcow2,target=$v-top.qcow2'" "$BLK_TEST" \
	--file "$v-top.qcow2" --no-file-check --seconds 3 outage >/dev/null 2>&1 &
prog=$!
pt_wait_for 10 has_daemon || pt_fail "no daemon for the qcow2 disk"
kill -9 "$PT_PID_blkback"
pt_wait_for 5 no_daemon_running ||
	pt_fail "qemu-storage-daemon outlived blkback"
blk_start_back
wait $prog
qemu-img check -q "$v-top.qcow2" || pt_fail "qemu-img check after the blkback crash"
pt_pass
