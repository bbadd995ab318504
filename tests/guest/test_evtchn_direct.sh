#!/usr/bin/env bash
# pvio-timeout: 180
# A guest's notifications reach pvio-blkback without passing through hv:
# hv gives QEMU each port blkback bound as a doorbell peer whose eventfd is
# blkback's own (a fresh peer id each time), and publishes the peer in the
# shared info (evtchn_peer) once QEMU has read it.
# The guest reads xvda with O_DIRECT at queue depth 1 (a notification per
# request), then a disk attached later (a port bound while it runs), then
# that disk again after a detach and an attach (the port taken away and
# bound anew). Every read returns the host's data, the guest counts its
# notifications sent straight to the backend (pvio_core's notify_direct),
# and hv relays next to none (`pvio info` nr_events_relayed).
# The guest has two vCPUs and xvda a queue each; blkfront is loaded again
# with queue_vcpu=1: the reads run on CPU 1, and blkfront's queue 1 has its
# completions raised on vCPU 1's vector, so nearly every read's interrupt
# is taken on CPU 1.
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
P=/sys/module/pvio_core/parameters
reads() { awk '{ print $1 }' "/sys/block/$1/stat"; }
# pvio upcalls taken on CPU 1 (the third column of /proc/interrupts)
up1() { awk '/pvio-upcall/ { s += $3 } END { print s + 0 }' /proc/interrupts; }
# 1000 blocks of 4 KiB one at a time; the sum must be the host's
readall() { # readall DEV
	r0=$(reads "$1") d0=$(cat $P/notify_direct) h0=$(cat $P/notify_hv) u0=$(up1)
	sum=$(taskset -c 1 dd if="/dev/$1" bs=4k count=1000 iflag=direct 2>/dev/null | sha256sum | cut -c1-16)
	echo "PVIO-TEST: $1 reads=$(( $(reads "$1") - r0 )) direct=$(( $(cat $P/notify_direct) - d0 )) hv=$(( $(cat $P/notify_hv) - h0 )) cpu1=$(( $(up1) - u0 )) sum=$sum"
}
wait_dev /dev/xvda present || fail 1
# the disk may still be held by its first scan for a moment
i=0
until rmmod pvio_blkfront 2>/dev/null; do
	i=$((i + 1)); [ $i -lt 100 ] || fail 6; sleep 0.1
done
insmod /pvio/modules/pvio_blkfront.ko queue_vcpu=1 || fail 7
wait_dev /dev/xvda present || fail 8
readall xvda
echo "PVIO-TEST: phase1"
wait_dev /dev/xvdb present || fail 2
readall xvdb
echo "PVIO-TEST: phase2"
wait_dev /dev/xvdb absent || fail 3
wait_dev /dev/xvdb present || fail 4
readall xvdb
dmesg | grep -aq 'BUG:\|WARNING:\|Call Trace' && fail 5
echo "PVIO-TEST: ok"
exit 0
SCRIPT
gt_image "$PT_RUNDIR/test.sh" "$PT_RUNDIR/initrd"
for d in a b; do
	head -c $((16 << 20)) /dev/urandom >"$PT_RUNDIR/$d.img"
done
suma=$(head -c $((1000 * 4096)) "$PT_RUNDIR/a.img" | sha256sum | cut -c1-16)
sumb=$(head -c $((1000 * 4096)) "$PT_RUNDIR/b.img" | sha256sum | cut -c1-16)
relayed() { pvio info | awk -F': ' '/^nr_events_relayed/ { print $2 }'; }

gt_vm_cfg "$PT_RUNDIR/vm.cfg" "evd-$PT_ID" "$PT_RUNDIR/initrd" 384 2 \
	"disk = [ '$PT_RUNDIR/a.img,raw,xvda,rw' ]"
r0=$(relayed)
dom=$(gt_vm_create "$PT_RUNDIR/vm.cfg")
[ -n "$dom" ] || pt_fail "pvio create printed no domid"
log=$(gt_vm_console "$dom")
echo "domain $dom, console $log"
step() {
	pt_wait_for "$2" grep -aq "PVIO-TEST: $1\|PVIO-GUEST-RESULT" "$log" || {
		tail -n 30 "$log"; pt_fail "guest did not reach '$1'"; }
	grep -aq "PVIO-TEST: $1" "$log" || { tail -n 30 "$log"; pt_fail "guest ended before '$1'"; }
}
step phase1 120
pvio block-attach "$dom" "$PT_RUNDIR/b.img,raw,xvdb,rw" || pt_fail "block-attach"
step phase2 60
pvio block-detach "$dom" xvdb || pt_fail "block-detach"
sleep 1
pvio block-attach "$dom" "$PT_RUNDIR/b.img,raw,xvdb,rw" || pt_fail "block-attach again"
gt_vm_wait_result "$dom" 90
r1=$(relayed)
grep -a 'PVIO-TEST' "$log"
grep -aq "xvda reads=.* sum=$suma" "$log" || pt_fail "xvda data"
[ "$(grep -ac "xvdb reads=.* sum=$sumb" "$log")" = 2 ] || pt_fail "xvdb data"
direct=$(grep -a 'PVIO-TEST: xvd. reads=' "$log" | sed 's/.*direct=\([0-9]*\).*/\1/' | awk '{ s += $1 } END { print s + 0 }')
echo "3000 reads at QD1: $direct notifications straight to blkback, $((r1 - r0)) relayed by hv in all"
[ "$direct" -ge 1500 ] || pt_fail "only $direct notifications went straight to the backend"
[ $((r1 - r0)) -lt 300 ] || pt_fail "hv relayed $((r1 - r0)) events"
cpu1=$(grep -a 'PVIO-TEST: xvda reads=' "$log" | sed 's/.*cpu1=\([0-9]*\).*/\1/')
echo "1000 reads of xvda on CPU 1: $cpu1 pvio upcalls taken on CPU 1"
[ "${cpu1:-0}" -ge 900 ] || pt_fail "only ${cpu1:-0} of xvda's completions came on the CPU that issued the reads"
pt_pass
