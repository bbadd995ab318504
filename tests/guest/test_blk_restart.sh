#!/usr/bin/env bash
# pvio-timeout: 300
# fio randwrite with verify=crc32c on a pvio disk while pvio-blkback is
# killed with SIGKILL and restarted, twice: the guest's pvio_blkfront sees
# the new backend's InitWait, re-issues every unanswered request on new
# rings, and fio finishes with no I/O or verify error. Then the same with
# pvio_blkfront reloaded with persistent grants.
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
run_fio() { # run_fio LABEL
	echo "PVIO-TEST: fio $1 start"
	fio --name=restart --filename=/dev/xvda --ioengine=libaio --direct=1 \
		--rw=randwrite --bsrange=4k-128k --iodepth=16 --size=640M \
		--verify=crc32c --do_verify=1 --verify_fatal=1 --minimal >/tmp/fio.out 2>&1
	rc=$?
	echo "PVIO-TEST: fio $1 rc=$rc"
	echo "PVIO-TEST: fio $(cut -d";" -f3,5,48,49,50 /tmp/fio.out)"
	grep -ai 'verify\|error\|bad' /tmp/fio.out | head -n 10
	[ $rc -eq 0 ] || { dmesg | tail -n 20; exit 2; }
}
run_fio per-request
n=$(dmesg | grep -c 'xvda: backend restarted')
echo "PVIO-TEST: restarts seen $n"
[ "$n" -ge 1 ] || exit 3
# the same with persistent grants (the pool is rebuilt on the new rings)
rmmod pvio_blkfront || exit 4
insmod /pvio/modules/pvio_blkfront.ko persistent=1 || exit 5
i=0
while [ ! -b /dev/xvda ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
dmesg | grep -q 'xvda: .*persistent grants' || { dmesg | tail; exit 6; }
run_fio persistent
m=$(dmesg | grep -c 'xvda: backend restarted')
echo "PVIO-TEST: restarts seen $m"
[ "$m" -gt "$n" ] || exit 7
dmesg | grep -ai 'xvda\|pvio_blkfront\|BUG:\|WARNING:\|Call Trace' | tail -n 20
dmesg | grep -aq 'BUG:\|WARNING:\|Call Trace' && exit 8
exit 0
SCRIPT
gt_image "$PT_RUNDIR/test.sh" "$PT_RUNDIR/initrd"
img="$PT_RUNDIR/disk.img"
truncate -s 1G "$img"
gt_vm_cfg "$PT_RUNDIR/vm.cfg" "blkrs-$PT_ID" "$PT_RUNDIR/initrd" 512 2 \
	"disk = [ '$img,raw,xvda,rw' ]"

dom=$(gt_vm_create "$PT_RUNDIR/vm.cfg")
[ -n "$dom" ] || pt_fail "pvio create printed no domid"
log=$(gt_vm_console "$dom")
echo "domain $dom, console $log"
restart_blkback() {
	local pid
	pid=$(cat "$PT_RUNDIR/blkback.pid")
	kill -9 "$pid"
	pt_wait_for 10 sh -c "! kill -0 $pid 2>/dev/null" || pt_fail "blkback $pid survived SIGKILL"
	pvio up >>"$PT_RUNDIR/up.out" 2>&1 || pt_fail "pvio up could not restart pvio-blkback"
	echo "pvio-blkback $pid killed, now $(cat "$PT_RUNDIR/blkback.pid")"
}
for mode in per-request persistent; do
	pt_wait_for 120 grep -aq "PVIO-TEST: fio $mode start\|PVIO-GUEST-RESULT" "$log" ||
		pt_fail "guest did not start fio ($mode)"
	grep -aq "PVIO-TEST: fio $mode start" "$log" || break
	sleep 2
	restart_blkback
	sleep 4
	if ! grep -aq "PVIO-TEST: fio $mode rc" "$log"; then
		restart_blkback
	else
		echo "fio ($mode) finished before the second restart"
	fi
done
gt_vm_wait_result "$dom" 200
grep -a 'PVIO-TEST\|restart\|xvda' "$log"
pt_pass
