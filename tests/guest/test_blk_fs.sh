#!/usr/bin/env bash
# pvio-timeout: 240
# A VM with a pvio disk (a sparse file served by pvio-blkback) created by
# `pvio create` with disk=[...]: inside, pvio_blkfront exposes /dev/xvda;
# mkfs.ext4, mount, write 200 MiB (sha256 computed while writing), umount,
# drop caches, mount again and check the sha256 read back from the disk,
# umount, e2fsck -fn clean; then the file is removed and fstrim run: the
# discards reach the host as holes. e2fsck on the host's image is clean.
set -eu
. "$PVIO_TOP/tests/lib/pvio-test.sh"
. "$PVIO_TOP/tests/guest/guest-lib.sh"
pt_init
gt_init pvio_blkfront
gt_stack_up

cat >"$PT_RUNDIR/test.sh" <<'SCRIPT'
#!/bin/sh
i=0
while [ ! -b /dev/xvda ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
[ -b /dev/xvda ] || { dmesg | tail -n 20; exit 1; }
dmesg | grep -a 'xvda:'
echo "PVIO-TEST: size=$(cat /sys/block/xvda/size) ro=$(cat /sys/block/xvda/ro)"
modprobe ext4 || exit 2
mkfs.ext4 -q -F /dev/xvda || exit 3
mkdir -p /mnt
mount -t ext4 /dev/xvda /mnt || exit 4
# 200 MiB: 50 chunks of 4 MiB random data, each led by its number
dd if=/dev/urandom of=/tmp/chunk bs=1M count=4 2>/dev/null || exit 5
t0=$(date +%s)
for n in $(seq 1 50); do echo "chunk $n"; cat /tmp/chunk; done |
	tee /mnt/data | sha256sum >/tmp/sum.w
sync
t1=$(date +%s)
echo "PVIO-TEST: wrote $(stat -c %s /mnt/data) bytes in $((t1 - t0)) s"
umount /mnt || exit 6
echo 3 >/proc/sys/vm/drop_caches
mount -t ext4 /dev/xvda /mnt || exit 7
sha256sum </mnt/data >/tmp/sum.r
t2=$(date +%s)
echo "PVIO-TEST: read back in $((t2 - t1)) s: $(cat /tmp/sum.w) / $(cat /tmp/sum.r)"
cmp -s /tmp/sum.w /tmp/sum.r || exit 8
umount /mnt || exit 9
e2fsck -fn /dev/xvda || exit 10
# discard end to end: the freed blocks become holes in the host's file
mount -t ext4 /dev/xvda /mnt || exit 11
rm /mnt/data && sync
fstrim -v /mnt || exit 12
umount /mnt || exit 13
dmesg | grep -ai 'pvio_blkfront\|xvd\|BUG:\|WARNING:\|Call Trace' | tail -n 20
echo "PVIO-TEST: ok"
exit 0
SCRIPT
gt_image "$PT_RUNDIR/test.sh" "$PT_RUNDIR/initrd"
img="$PT_RUNDIR/disk.img"
truncate -s 1G "$img"
gt_vm_cfg "$PT_RUNDIR/vm.cfg" "blkfs-$PT_ID" "$PT_RUNDIR/initrd" 512 2 \
	"disk = [ '$img,raw,xvda,rw' ]"

dom=$(gt_vm_create "$PT_RUNDIR/vm.cfg")
[ -n "$dom" ] || pt_fail "pvio create printed no domid"
log=$(gt_vm_console "$dom")
echo "domain $dom, console $log"
gt_vm_wait_result "$dom" 200
grep -a 'PVIO-TEST\|xvda\|pvio_blkfront\|BUG:\|WARNING:' "$log"
gt_vm_wait_gone "$dom" 20 || pt_fail "domain $dom still listed after power-off"
e2fsck -fn "$img" || pt_fail "e2fsck on the host finds the image unclean"
used=$(du -k "$img" | cut -f1)
echo "blocks in use on the host after fstrim: $used KiB"
[ "$used" -lt 102400 ] || pt_fail "fstrim in the guest did not free the 200 MiB on the host ($used KiB in use)"
pt_pass
