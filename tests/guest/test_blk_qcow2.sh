#!/usr/bin/env bash
# pvio-timeout: 240
# A VM whose disk is a qcow2 overlay on a qcow2 backing file (a qdisk:
# blkback starts a qemu-storage-daemon for it). The backing file holds an
# ext4 file system with a file of random data, made on the host. In the
# guest: the file reads back with its checksum through the overlay, 48 MiB
# more are written (checksum while writing), the file system is remounted
# with caches dropped and both files check out, e2fsck -fn is clean. On
# the host afterwards: `qemu-img check` is clean, the backing file is
# unchanged, the new data is in the overlay, the daemon is gone.
set -eu
. "$PVIO_TOP/tests/lib/pvio-test.sh"
. "$PVIO_TOP/tests/guest/guest-lib.sh"
pt_init
gt_init pvio_blkfront
command -v qemu-storage-daemon >/dev/null || pt_skip "qemu-storage-daemon not installed"
command -v qemu-img >/dev/null || pt_skip "qemu-img not installed"
gt_stack_up

# the backing file: ext4 with 8 MiB of random data, converted to qcow2
mkdir "$PT_RUNDIR/seed"
head -c 8M /dev/urandom >"$PT_RUNDIR/seed/base.bin"
base_sum=$(sha256sum <"$PT_RUNDIR/seed/base.bin" | cut -d' ' -f1)
mke2fs -q -t ext4 -d "$PT_RUNDIR/seed" "$PT_RUNDIR/fs.raw" 256M ||
	pt_fail "mke2fs -d"
qemu-img convert -O qcow2 "$PT_RUNDIR/fs.raw" "$PT_RUNDIR/base.qcow2"
rm -f "$PT_RUNDIR/fs.raw"
qemu-img create -q -f qcow2 -b "$PT_RUNDIR/base.qcow2" -F qcow2 "$PT_RUNDIR/top.qcow2"
base_file_sum=$(sha256sum <"$PT_RUNDIR/base.qcow2")

cat >"$PT_RUNDIR/test.sh" <<SCRIPT
#!/bin/sh
i=0
while [ ! -b /dev/xvda ] && [ \$i -lt 300 ]; do sleep 0.1; i=\$((i + 1)); done
[ -b /dev/xvda ] || { dmesg | tail -n 20; exit 1; }
modprobe ext4 || exit 2
mkdir -p /mnt
mount -t ext4 /dev/xvda /mnt || exit 3
s=\$(sha256sum </mnt/base.bin | cut -d' ' -f1)
echo "PVIO-TEST: base.bin from the backing file: \$s"
[ "\$s" = "$base_sum" ] || exit 4
dd if=/dev/urandom of=/tmp/chunk bs=1M count=4 2>/dev/null || exit 5
for n in \$(seq 1 12); do echo "chunk \$n"; cat /tmp/chunk; done |
	tee /mnt/new.bin | sha256sum | cut -d' ' -f1 >/tmp/sum.w
sync
umount /mnt || exit 6
echo 3 >/proc/sys/vm/drop_caches
mount -t ext4 /dev/xvda /mnt || exit 7
sha256sum </mnt/new.bin | cut -d' ' -f1 >/tmp/sum.r
echo "PVIO-TEST: new.bin \$(cat /tmp/sum.w) / \$(cat /tmp/sum.r)"
cmp -s /tmp/sum.w /tmp/sum.r || exit 8
[ "\$(sha256sum </mnt/base.bin | cut -d' ' -f1)" = "$base_sum" ] || exit 9
umount /mnt || exit 10
e2fsck -fn /dev/xvda || exit 11
dmesg | grep -a 'I/O error\|BUG:\|WARNING:\|Call Trace' && exit 12
echo "PVIO-TEST: ok"
exit 0
SCRIPT
gt_image "$PT_RUNDIR/test.sh" "$PT_RUNDIR/initrd"
gt_vm_cfg "$PT_RUNDIR/vm.cfg" "qcow-$PT_ID" "$PT_RUNDIR/initrd" 384 1 \
	"disk = [ 'tap:qcow2:$PT_RUNDIR/top.qcow2,xvda,rw' ]"
dom=$(gt_vm_create "$PT_RUNDIR/vm.cfg")
[ -n "$dom" ] || pt_fail "pvio create printed no domid"
[ "$(pvio store read "/local/domain/0/backend/vbd/$dom/51712/format")" = qcow2 ] ||
	pt_fail "the backend dir does not say qcow2"
gt_vm_wait_result "$dom" 200
grep -a 'PVIO-TEST' "$(gt_vm_console "$dom")"
gt_vm_wait_gone "$dom" 20 || pt_fail "domain $dom still listed after power-off"
pt_wait_for 15 sh -c "! ls '$PT_RUNDIR'/qdisk-*.pid >/dev/null 2>&1" ||
	pt_fail "the qemu-storage-daemon of the disk did not go"
grep -q "qcow2 image .*top.qcow2 served by qemu-storage-daemon" "$PT_RUNDIR/blkback.log" ||
	pt_fail "blkback did not serve the overlay through qemu-storage-daemon"
qemu-img check "$PT_RUNDIR/top.qcow2" || pt_fail "qemu-img check: the overlay is damaged"
[ "$(sha256sum <"$PT_RUNDIR/base.qcow2")" = "$base_file_sum" ] ||
	pt_fail "the backing file changed"
alloc=$(qemu-img map --output=json "$PT_RUNDIR/top.qcow2" |
	awk -F'"length": ' '/"depth": 0, .*"data": true/ { split($2, a, ","); s += a[1] } END { print s + 0 }')
echo "data in the overlay: $alloc bytes"
[ "$alloc" -ge $((48 << 20)) ] || pt_fail "the overlay holds $alloc bytes, want the 48 MiB written"
pt_pass
