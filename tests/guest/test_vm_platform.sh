#!/usr/bin/env bash
# pvio-timeout: 200
# The platform contract between pvio_core and hv's VM units, checked from
# both sides with a real QEMU guest (see test_vm_platform.c).
set -eu
. "$PVIO_TOP/tests/lib/pvio-test.sh"
. "$PVIO_TOP/tests/guest/guest-lib.sh"
pt_init
gt_init

cat >"$PT_RUNDIR/test.sh" <<'SCRIPT'
#!/bin/sh
set -e
dmesg | grep 'pvio platform: domain 1, 2 vCPU vectors, hv version 1.0'
# the image's vbd driver (pvio_blkfront) makes way for the test's own
rmmod pvio_blkfront 2>/dev/null || true
insmod /pvio/modules/pvio_guest_test.ko remote=0
P=/sys/module/pvio_guest_test/parameters
echo "PVIO-TEST: port=$(cat $P/port) gref=$(cat $P/gref) store=$(cat $P/store)"
i=0
while [ "$(cat $P/events)" -lt 1 ] && [ $i -lt 100 ]; do
	sleep 0.1; i=$((i + 1))
done
echo "PVIO-TEST: events=$(cat $P/events)"
[ "$(cat $P/events)" -ge 1 ]
echo 1 >$P/notify
[ "$(cat $P/store)" = ok ] || exit 1
# the bus found device/vbd/51712, the frontend probed and went
# Initialising; the harness then moves the backend to Connected (4)
[ -e /sys/bus/pvio/devices/vbd-51712 ] || exit 1
[ "$(cat $P/probed)" = 1 ] || exit 1
i=0
while [ "$(cat $P/otherend)" != 4 ] && [ $i -lt 100 ]; do
	sleep 0.1; i=$((i + 1))
done
echo "PVIO-TEST: backend state seen by the frontend: $(cat $P/otherend)"
[ "$(cat $P/otherend)" = 4 ] || exit 1
rmmod pvio_guest_test
grep pvio-upcall /proc/interrupts
SCRIPT
gt_image "$PT_RUNDIR/test.sh" "$PT_RUNDIR/initrd"
rc=0
"$PVIO_TOP/build/tests/test_vm_platform" "$GT_KERNEL" "$PT_RUNDIR/initrd" "$PT_RUNDIR" || rc=$?
cat "$PT_RUNDIR/console.log"
cat "$PT_RUNDIR/console.log.qemu"
[ $rc -eq 0 ] || pt_fail "platform harness reported failures"
gt_check_result "$PT_RUNDIR/console.log"
pt_pass
