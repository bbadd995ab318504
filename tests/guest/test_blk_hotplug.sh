#!/usr/bin/env bash
# pvio-timeout: 240
# Disks attached and detached while the guest runs: block-attach xvdb,
# mkfs/mount/write/remount/check it, block-detach (the disk goes away
# cleanly); attach it again read-only (ro=1, writes refused), then detach
# it with fio reading from it (in-flight I/O drains, later I/O fails, the
# guest kernel stays clean). xvda, present from boot, keeps working.
set -eu
. "$PVIO_TOP/tests/lib/pvio-test.sh"
. "$PVIO_TOP/tests/guest/guest-lib.sh"
pt_init
gt_init pvio_blkfront
gt_stack_up

cat >"$PT_RUNDIR/test.sh" <<'SCRIPT'
#!/bin/sh
fail() { dmesg | grep -av 'PVIO-TEST' | tail -n 25; exit "$1"; }
wait_dev() { # wait_dev DEV present|absent
	i=0
	while [ $i -lt 600 ]; do
		if [ "$2" = present ]; then [ -b "$1" ] && return 0
		else [ -b "$1" ] || return 0; fi
		sleep 0.1; i=$((i + 1))
	done
	return 1
}
wait_dev /dev/xvda present || fail 1
modprobe ext4 || fail 2
dd if=/dev/urandom of=/dev/xvda bs=1M count=8 2>/dev/null || fail 3
A=$(dd if=/dev/xvda bs=1M count=8 2>/dev/null | sha256sum)
echo "PVIO-TEST: ready"
wait_dev /dev/xvdb present || fail 4
echo "PVIO-TEST: xvdb ro=$(cat /sys/block/xvdb/ro) size=$(cat /sys/block/xvdb/size)"
mkfs.ext4 -q -F /dev/xvdb || fail 5
mkdir -p /mnt
mount -t ext4 /dev/xvdb /mnt || fail 6
dd if=/dev/urandom of=/mnt/f bs=1M count=32 2>/dev/null || fail 7
W=$(sha256sum </mnt/f)
umount /mnt && echo 3 >/proc/sys/vm/drop_caches
mount -t ext4 /dev/xvdb /mnt || fail 8
R=$(sha256sum </mnt/f)
umount /mnt || fail 9
[ "$W" = "$R" ] || fail 10
echo "PVIO-TEST: xvdb used"
wait_dev /dev/xvdb absent || fail 11
echo "PVIO-TEST: xvdb detached"
wait_dev /dev/xvdb present || fail 12
ro=$(cat /sys/block/xvdb/ro)
echo "PVIO-TEST: xvdb again ro=$ro"
[ "$ro" = 1 ] || fail 13
if dd if=/dev/zero of=/dev/xvdb bs=4k count=1 oflag=direct 2>/dev/null; then fail 14; fi
fio --name=busy --filename=/dev/xvdb --ioengine=libaio --direct=1 --readonly \
	--rw=randread --bs=16k --iodepth=32 --time_based --runtime=15 \
	--minimal >/tmp/fio.out 2>&1 &
fp=$!
sleep 1
echo "PVIO-TEST: fio running"
wait_dev /dev/xvdb absent || fail 15
wait $fp
echo "PVIO-TEST: detached under I/O, fio rc=$? (an error is expected)"
B=$(dd if=/dev/xvda bs=1M count=8 2>/dev/null | sha256sum)
[ "$A" = "$B" ] || fail 16
dmesg | grep -ai 'xvd\|pvio_blkfront\|BUG:\|WARNING:\|Call Trace' | tail -n 25
dmesg | grep -aq 'BUG:\|WARNING:\|Call Trace' && exit 17
echo "PVIO-TEST: ok"
exit 0
SCRIPT
gt_image "$PT_RUNDIR/test.sh" "$PT_RUNDIR/initrd"
truncate -s 64M "$PT_RUNDIR/a.img"
truncate -s 256M "$PT_RUNDIR/b.img"
gt_vm_cfg "$PT_RUNDIR/vm.cfg" "blkhp-$PT_ID" "$PT_RUNDIR/initrd" 512 2 \
	"disk = [ '$PT_RUNDIR/a.img,raw,xvda,rw' ]"

dom=$(gt_vm_create "$PT_RUNDIR/vm.cfg")
[ -n "$dom" ] || pt_fail "pvio create printed no domid"
log=$(gt_vm_console "$dom")
echo "domain $dom, console $log"
step() { # step MARKER TIMEOUT
	pt_wait_for "$2" grep -aq "PVIO-TEST: $1\|PVIO-GUEST-RESULT" "$log" || {
		tail -n 30 "$log"; pt_fail "guest did not reach '$1'"; }
	grep -aq "PVIO-TEST: $1" "$log" || { tail -n 30 "$log"; pt_fail "guest ended before '$1'"; }
}
step ready 90
pvio block-attach "$dom" "$PT_RUNDIR/b.img,raw,xvdb,rw" || pt_fail "block-attach failed"
step "xvdb used" 90
t0=$(date +%s%N)
pvio block-detach "$dom" xvdb || pt_fail "block-detach failed"
echo "detach took $(( ($(date +%s%N) - t0) / 1000000 )) ms"
step "xvdb detached" 30
gt_store_has "/local/domain/0/backend/vbd/$dom/51728" && pt_fail "backend dir left after detach"
pvio block-attach "$dom" "vdev=xvdb,access=ro,target=$PT_RUNDIR/b.img" ||
	pt_fail "second block-attach failed"
step "fio running" 60
sleep 2
pvio block-detach "$dom" xvdb || pt_fail "block-detach under I/O failed"
gt_vm_wait_result "$dom" 90
grep -a 'PVIO-TEST' "$log"
pt_pass
