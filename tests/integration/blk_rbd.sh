#!/usr/bin/env bash
# pvio-timeout: 240
# Disks on Ceph RBD images (make check-ceph): a single-node cluster
# (scripts/ceph-cluster, cephx on) serves an image through librbd. The
# integrity, discard and flush runs pass on 2 queues (client id and conf
# from the target string); a snapshot attaches read-only and refuses
# read-write with a message; a missing image is refused with librbd's
# error. The OSD killed -9 during writes and restarted: librbd sends again,
# every acknowledged write reads back and the frontend never reconnects.
set -u
. "$(dirname "$0")/../lib/pvio-test.sh"
. "$(dirname "$0")/blk_lib.sh"
for t in ceph-mon ceph-osd rbd; do
	command -v $t >/dev/null || pt_skip "$t not installed"
done
blk_setup
grep -q rbd_aio_readv "$PVIO_BIN/pvio-blkback" || pt_skip "pvio-blkback built without librbd"
cdir=$PT_RUNDIR/ceph
pt_on_exit "$PVIO_TOP/scripts/ceph-cluster stop $cdir"
out=$("$PVIO_TOP/scripts/ceph-cluster" start "$cdir" --cephx) ||
	pt_fail "the Ceph cluster did not start: $out"
eval "$out"
export CEPH_CONF
rbd create "$CEPH_POOL/d1" --size 64M || pt_fail "rbd create"
target="rbd:$CEPH_POOL/d1:conf=$CEPH_CONF:id=admin"

for mode in integrity discard flush; do
	blk_run "r-$mode" "'vdev=xvda,target=$target'" "$BLK_TEST" --file /dev/null \
		--no-file-check --queues 2 "$mode" || pt_fail "$mode on RBD"
	rbd rm "$CEPH_POOL/d1" >/dev/null 2>&1 && rbd create "$CEPH_POOL/d1" --size 64M
done
grep -q "engine rbd" "$PT_RUNDIR/blkback.log" || pt_fail "the rbd engine did not serve the disk"

# a snapshot: read-only
rbd snap create "$CEPH_POOL/d1@s1" >/dev/null || pt_fail "rbd snap create"
blk_run r-snap "'vdev=xvda,access=ro,target=rbd:$CEPH_POOL/d1@s1:conf=$CEPH_CONF'" \
	"$BLK_TEST" --file /dev/null --no-file-check readonly || pt_fail "snapshot, access=ro"
blk_run r-snaprw "'vdev=xvda,target=rbd:$CEPH_POOL/d1@s1:conf=$CEPH_CONF'" \
	"$BLK_TEST" --file /dev/null --no-file-check readonly >/dev/null 2>&1 &&
	pt_fail "a snapshot attached read-write"
grep -q "snapshot s1 is read-only: attach it with access=ro" "$PT_RUNDIR/blkback.log" ||
	pt_fail "no clear message for a read-write snapshot"
rbd snap rm "$CEPH_POOL/d1@s1" >/dev/null 2>&1
blk_run r-none "'vdev=xvda,target=rbd:$CEPH_POOL/nope:conf=$CEPH_CONF'" \
	"$BLK_TEST" --file /dev/null --no-file-check readonly >/dev/null 2>&1 &&
	pt_fail "a missing image attached"
grep -q "image nope in pool $CEPH_POOL: No such file or directory" "$PT_RUNDIR/blkback.log" ||
	pt_fail "no clear message for a missing image"

# the OSD killed -9 during writes, then started again
rbd rm "$CEPH_POOL/d1" >/dev/null 2>&1 && rbd create "$CEPH_POOL/d1" --size 64M
blk_run r-osd "'vdev=xvda,target=$target'" "$BLK_TEST" --file /dev/null --no-file-check \
	--queues 2 --seconds 8 outage >"$PT_RUNDIR/osd.out" 2>&1 &
prog=$!
sleep 3
osd=$(cat "$cdir/run/osd.0.pid")
kill -9 "$osd"
pt_wait_for 10 sh -c "! kill -0 $osd 2>/dev/null" || pt_fail "the OSD survived SIGKILL"
sleep 1
ceph-osd -i 0 >>"$cdir/log/start-osd.log" 2>&1 || pt_fail "the OSD did not restart"
wait $prog
rc=$?
cat "$PT_RUNDIR/osd.out"
[ $rc -eq 0 ] || pt_fail "writes across an OSD restart (rc $rc)"
pt_pass
