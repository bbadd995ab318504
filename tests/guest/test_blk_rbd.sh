#!/usr/bin/env bash
# pvio-timeout: 300
# A VM whose disk is a Ceph RBD image (make check-ceph): a single-node
# cluster from scripts/ceph-cluster (cephx on), the image named as QEMU
# spells it (rbd:pool/image:conf=...:id=admin). In the guest: mkfs.ext4,
# 64 MiB written with their checksum, remount with caches dropped, the
# checksum reads back, fstrim, e2fsck -fn clean. On the host: the image
# holds the data (rbd du), and a snapshot of it, exported, is a clean ext4.
set -eu
. "$PVIO_TOP/tests/lib/pvio-test.sh"
. "$PVIO_TOP/tests/guest/guest-lib.sh"
pt_init
gt_init pvio_blkfront
for t in ceph-mon ceph-osd rbd; do
	command -v $t >/dev/null || pt_skip "$t not installed"
done
grep -q rbd_aio_readv "$PVIO_BIN/pvio-blkback" || pt_skip "pvio-blkback built without librbd"
cdir=$PT_RUNDIR/ceph
pt_on_exit "$PVIO_TOP/scripts/ceph-cluster stop $cdir"
out=$("$PVIO_TOP/scripts/ceph-cluster" start "$cdir" --cephx) ||
	pt_fail "the Ceph cluster did not start: $out"
eval "$out"
export CEPH_CONF
rbd create "$CEPH_POOL/vm1" --size 512M || pt_fail "rbd create"
gt_stack_up

cat >"$PT_RUNDIR/test.sh" <<'SCRIPT'
#!/bin/sh
i=0
while [ ! -b /dev/xvda ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
[ -b /dev/xvda ] || { dmesg | tail -n 20; exit 1; }
modprobe ext4 || exit 2
mkfs.ext4 -q -F /dev/xvda || exit 3
mkdir -p /mnt
mount -t ext4 /dev/xvda /mnt || exit 4
dd if=/dev/urandom of=/tmp/chunk bs=1M count=4 2>/dev/null || exit 5
for n in $(seq 1 16); do echo "chunk $n"; cat /tmp/chunk; done |
	tee /mnt/data | sha256sum >/tmp/sum.w
sync
umount /mnt || exit 6
echo 3 >/proc/sys/vm/drop_caches
mount -t ext4 /dev/xvda /mnt || exit 7
sha256sum </mnt/data >/tmp/sum.r
echo "PVIO-TEST: $(cat /tmp/sum.w) / $(cat /tmp/sum.r)"
cmp -s /tmp/sum.w /tmp/sum.r || exit 8
fstrim -v /mnt || exit 9
umount /mnt || exit 10
e2fsck -fn /dev/xvda || exit 11
dmesg | grep -a 'I/O error\|BUG:\|WARNING:\|Call Trace' && exit 12
echo "PVIO-TEST: ok"
exit 0
SCRIPT
gt_image "$PT_RUNDIR/test.sh" "$PT_RUNDIR/initrd"
gt_vm_cfg "$PT_RUNDIR/vm.cfg" "rbd-$PT_ID" "$PT_RUNDIR/initrd" 384 2 \
	"disk = [ 'vdev=xvda,target=rbd:$CEPH_POOL/vm1:conf=$CEPH_CONF:id=admin' ]"
dom=$(gt_vm_create "$PT_RUNDIR/vm.cfg")
[ -n "$dom" ] || pt_fail "pvio create printed no domid"
gt_vm_wait_result "$dom" 240
grep -a 'PVIO-TEST' "$(gt_vm_console "$dom")"
gt_vm_wait_gone "$dom" 20 || pt_fail "domain $dom still listed after power-off"
grep -q "engine rbd" "$PT_RUNDIR/blkback.log" || pt_fail "the rbd engine did not serve the disk"
used=$(rbd du "$CEPH_POOL/vm1" 2>/dev/null | awk '$1 == "vm1" { print $4, $5 }')
echo "rbd du vm1: $used"
rbd snap create "$CEPH_POOL/vm1@end" || pt_fail "rbd snap create"
rbd export "$CEPH_POOL/vm1@end" "$PT_RUNDIR/vm1.raw" >/dev/null 2>&1 || pt_fail "rbd export"
e2fsck -fn "$PT_RUNDIR/vm1.raw" || pt_fail "the exported snapshot is not a clean ext4"
pt_pass
