#!/usr/bin/env bash
# pvio-timeout: 180
# A hostile backend in front of pvio_blkfront: pvio-blkback is stopped and
# build/tests/blk_evil_backend serves the VM's xvda instead. Requests in
# the first 32 MiB get honest answers; each one beyond gets the next bad
# answer: an unknown status, a response id beyond the ring, a double
# completion, a wrong operation, rsp_prod far beyond req_prod, and at last
# no answer at all. After each answer that breaks the ring protocol the
# backend goes back to InitWait (as a restarted backend would). The guest
# must log every rejection, never hit BUG/Oops, keep serving honest reads,
# and print its PASS marker; a panic (panic=-1, -no-reboot) ends QEMU and
# no PASS comes.
set -eu
. "$PVIO_TOP/tests/lib/pvio-test.sh"
. "$PVIO_TOP/tests/guest/guest-lib.sh"
pt_init
gt_init pvio_blkfront
evil=$PVIO_TOP/build/tests/blk_evil_backend
[ -x "$evil" ] || pt_fail "$evil missing: run make"
gt_stack_up

# the disk is served by the hostile backend alone
bpid=$(cat "$PT_RUNDIR/blkback.pid")
kill "$bpid"
pt_wait_for 10 sh -c "! kill -0 $bpid 2>/dev/null" || pt_fail "pvio-blkback $bpid did not stop"

cat >"$PT_RUNDIR/test.sh" <<'SCRIPT'
#!/bin/sh
i=0
while [ ! -b /dev/xvda ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
[ -b /dev/xvda ] || { dmesg | tail -n 20; exit 1; }
# honest region (below 32 MiB): must work
honest_read() {
	dd if=/dev/xvda of=/dev/null bs=4096 count=4 skip=$1 iflag=direct 2>/tmp/dd.err
}
honest_read 16 || { cat /tmp/dd.err; exit 2; }
echo "PVIO-TEST: honest read ok"
want="unknown response status
response id out of range
response for an idle id
response operation differs from request
rsp_prod beyond the requests"
all_seen() {
	echo "$want" | while read -r m; do
		dmesg | grep -aq "$m" || { echo "missing"; break; }
	done | grep -q missing && return 1
	[ "$(dmesg | grep -ac 'xvda: backend restarted')" -ge 4 ]
}
# each background read past 32 MiB meets the next bad answer
n=0
while [ $n -lt 40 ] && ! all_seen; do
	dd if=/dev/xvda of=/dev/null bs=4096 count=1 skip=$((8192 + n)) \
		iflag=direct 2>/dev/null &
	n=$((n + 1))
	sleep 1
done
echo "PVIO-TEST: hostile reads issued: $n"
dmesg | grep -a 'xvda' | tail -n 20
all_seen || { echo "PVIO-TEST: not every rejection logged"; exit 3; }
# the backend now never answers past 32 MiB; the guest goes on
dd if=/dev/xvda of=/dev/null bs=4096 count=1 skip=9000 iflag=direct 2>/dev/null &
sleep 2
i=0
honest_read 32 &
hp=$!
while kill -0 $hp 2>/dev/null && [ $i -lt 200 ]; do sleep 0.1; i=$((i + 1)); done
kill -0 $hp 2>/dev/null && { echo "PVIO-TEST: honest read hangs"; exit 4; }
wait $hp || { echo "PVIO-TEST: honest read failed after the attack"; exit 5; }
echo "PVIO-TEST: honest read after the attack ok"
if dmesg | grep -aq 'BUG:\|Oops\|general protection\|WARNING:\|Call Trace'; then
	dmesg | grep -a -A5 'BUG:\|Oops\|general protection\|WARNING:' | head -n 30
	exit 6
fi
echo "PVIO-TEST: uptime $(cut -d' ' -f1 /proc/uptime)"
exit 0
SCRIPT
gt_image "$PT_RUNDIR/test.sh" "$PT_RUNDIR/initrd"
gt_vm_cfg "$PT_RUNDIR/vm.cfg" "blkevil-$PT_ID" "$PT_RUNDIR/initrd" 512 2 \
	"disk = [ '$PT_RUNDIR/unused.img,raw,xvda,rw' ]"
truncate -s 64M "$PT_RUNDIR/unused.img"

dom=$(gt_vm_create "$PT_RUNDIR/vm.cfg")
[ -n "$dom" ] || pt_fail "pvio create printed no domid"
log=$(gt_vm_console "$dom")
echo "domain $dom, console $log"
pt_daemon evil "$evil" "$PT_RUNDIR" "$dom"
# stop it before the VM goes (cleanups run last-registered first)
pt_on_exit "kill $PT_PID_evil"

# a guest that panics (panic=-1, -no-reboot) ends QEMU: fail at once
pt_wait_for 150 sh -c "grep -aq 'PVIO-GUEST-RESULT:' '$log' || ! pvio list $dom >/dev/null 2>&1" ||
	true
if ! grep -aq 'PVIO-GUEST-RESULT:' "$log"; then
	echo "--- guest console (domain $dom, tail)"
	tail -n 40 "$log"
	pt_fail "domain $dom gave no result (gone: guest panic or QEMU exit, or timeout)"
fi
gt_vm_wait_result "$dom" 5
grep -a 'PVIO-TEST\|xvda' "$log" | tail -n 30
grep -aq 'backend broke the ring protocol' "$log" ||
	pt_fail "no blkfront rejection on the console"
grep -q 'case silent' "$PT_RUNDIR/evil.log" ||
	pt_fail "the hostile backend never reached its silent case"
grep -a 'evil:' "$PT_RUNDIR/evil.log"
pt_pass
