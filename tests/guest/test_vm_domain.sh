#!/usr/bin/env bash
# pvio-timeout: 240
# A VM domain through pvio-hv: pvio_domain_create starts QEMU with our
# image; inside, pvio_core probes the platform device and gets hv's
# version; bad hypercalls get errors; the guest offers dom0 an event channel and a grant, a dom0
# client binds, exchanges events both ways and maps the grant; the guest
# moves the port to vCPU 1 (EVTCHNOP_bind_vcpu) and dom0's next event is
# taken on CPU 1, the guest's next one still reaches dom0; pause and
# unpause go through QMP; dom0's events reach the guest with hv stopped; killing QEMU releases the domain and its ports;
# a second VM is destroyed while it boots. The VM is made with `pvio create`
# on the whole stack, so its store ring is served and its nodes go with it.
set -eu
. "$PVIO_TOP/tests/lib/pvio-test.sh"
. "$PVIO_TOP/tests/guest/guest-lib.sh"
pt_init
gt_init
client=$PVIO_TOP/build/tests/vm_client
# the whole stack: the guest's store ring is served (pvio create introduces it)
gt_stack_up
hv_pid=$(cat "$PT_RUNDIR/hv.pid")

cat >"$PT_RUNDIR/test.sh" <<'SCRIPT'
#!/bin/sh
dmesg | grep -q 'pvio platform: domain .*hv version 1.0' || exit 1
insmod /pvio/modules/pvio_guest_test.ko remote=0 || exit 1
P=/sys/module/pvio_guest_test/parameters
# bad hypercalls get errors and hv keeps serving us
echo 1 >$P/hostile
echo "PVIO-TEST: hostile=$(cat $P/hostile_result)"
[ "$(cat $P/hostile_result)" = ok ] || exit 1
echo "PVIO-TEST: port=$(cat $P/port) gref=$(cat $P/gref) store=$(cat $P/store)"
[ "$(cat $P/store)" = ok ] || exit 1
# a counter of the module reaches 1 within 60 s; its value is printed
one_event() {
	i=0
	while [ "$(cat $P/$1)" -lt 1 ] && [ $i -lt 600 ]; do
		sleep 0.1; i=$((i + 1))
	done
	echo "PVIO-TEST: $1=$(cat $P/$1)"
	[ "$(cat $P/$1)" -ge 1 ]
}
one_event events || exit 1
echo 1 >$P/notify
# dom0's end is bound: the port's events move to vCPU 1 (none came there yet)
c0=$(cat $P/events_cpu1)
echo 1 >$P/bind_vcpu
echo "PVIO-TEST: rebound=$(cat $P/bind_vcpu) events_cpu1 before=$c0"
one_event events_cpu1 || exit 1
echo 1 >$P/notify
# tick until dom0 is done with us (pause/unpause, then QEMU is killed)
n=0
while true; do echo "PVIO-TICK $n"; n=$((n + 1)); sleep 0.2; done
SCRIPT
gt_image "$PT_RUNDIR/test.sh" "$PT_RUNDIR/initrd"

gt_vm_cfg "$PT_RUNDIR/vm.cfg" "guest-$PT_ID" "$PT_RUNDIR/initrd" 512 2
dom=$(gt_vm_create "$PT_RUNDIR/vm.cfg")
log=$PT_RUNDIR/vm-$dom/console.log
echo "domain $dom, console $log"
# on failure, the guest's console is the first thing to read
pt_fail() { echo "--- guest console"; grep -av PVIO-TICK "$log" | tail -n 40; echo "FAIL: $*" >&2; exit 1; }
pt_wait_for 120 grep -q 'PVIO-TEST: port=' "$log" || pt_fail "guest test module did not start"
line=$(grep -a 'PVIO-TEST: port=' "$log" | head -1)
port=$(echo "$line" | sed 's/.*port=\([0-9]*\).*/\1/')
gref=$(echo "$line" | sed 's/.*gref=\([0-9]*\).*/\1/')
echo "guest offers port $port, grant $gref"
# dom0 -> VM goes without hv: hv is stopped while the event goes in
"$client" peer "$dom" "$port" "$gref" "$hv_pid" "$log" >"$PT_RUNDIR/peer.out" 2>&1 ||
	pt_fail "event/grant exchange with the guest failed: $(cat "$PT_RUNDIR/peer.out")"
cat "$PT_RUNDIR/peer.out"
pt_wait_for 30 grep -q 'PVIO-TICK 2' "$log" || pt_fail "guest did not go on after the exchange"
grep -aq 'PVIO-TEST: rebound=0 events_cpu1 before=0' "$log" ||
	pt_fail "events came on CPU 1 before the port was moved there, or the move failed"

# pause: the guest stops ticking; unpause: it goes on
"$client" pause "$dom" || pt_fail "pause failed"
"$client" info "$dom" | grep -q 'state=0x4' || pt_fail "paused state not shown: $("$client" info "$dom")"
before=$(grep -ac PVIO-TICK "$log")
sleep 1.5
after=$(grep -ac PVIO-TICK "$log")
[ "$before" -eq "$after" ] || pt_fail "guest ticked while paused ($before -> $after)"
"$client" unpause "$dom" || pt_fail "unpause failed"
ticks_beyond() { [ "$(grep -ac PVIO-TICK "$log")" -gt "$1" ]; }
pt_wait_for 20 ticks_beyond "$after" || pt_fail "guest did not resume"

# vCPUs: two QEMU vCPU threads; pinning vCPU 1 to host CPU 0 shows
pvio vcpu-list "$dom"
[ "$(pvio vcpu-list "$dom" | grep -c "^guest-$PT_ID ")" -eq 2 ] || pt_fail "vcpu-list does not show 2 vCPUs"
pvio vcpu-pin "$dom" 1 0 || pt_fail "vcpu-pin failed"
[ "$(pvio vcpu-list "$dom" | awk '$3 == 1 { print $7 }')" = 0 ] || pt_fail "vCPU 1 not pinned to CPU 0"
pvio vcpu-pin "$dom" 1 all || pt_fail "vcpu-pin all failed"

# pvio console: by id without following, and by name following until the
# domain goes away (below)
pvio console -n "$dom" | grep -q 'PVIO-TEST: port=' || pt_fail "pvio console -n printed no console"
pvio console "guest-$PT_ID" >"$PT_RUNDIR/follow.out" 2>&1 &
follow_pid=$!

# QEMU killed: hv releases the domain and the guest's ports
ports_before=$("$client" ports)
qpid=$("$client" info "$dom" | sed 's/.*pid=//')
kill -9 "$qpid"
pt_wait_for 10 sh -c "! '$client' info $dom" || pt_fail "domain $dom still listed after QEMU died"
ports_after=$("$client" ports)
echo "ports: $ports_before with the guest, $ports_after after"
[ "$ports_after" -lt "$ports_before" ] || pt_fail "guest's ports not released"
pt_wait_for 5 sh -c "! kill -0 $follow_pid" || pt_fail "pvio console kept following a dead domain"
grep -q 'PVIO-TICK' "$PT_RUNDIR/follow.out" || pt_fail "pvio console (follow) printed no ticks"

# destroy while booting: QEMU goes away with the domain
dom2=$("$client" create "guest2-$PT_ID" "$GT_KERNEL" "$PT_RUNDIR/initrd" 256 1) ||
	pt_fail "second VM creation failed"
qpid2=$("$client" info "$dom2" | sed 's/.*pid=//')
"$client" destroy "$dom2" || pt_fail "destroy failed"
! "$client" info "$dom2" >/dev/null || pt_fail "domain $dom2 still listed after destroy"
pt_wait_for 5 sh -c "! kill -0 $qpid2" || pt_fail "QEMU $qpid2 survived destroy"
grep -a "pvio-hv" "$PT_RUNDIR/hv.log" | tail -n 12
# the first VM died with its QEMU: its monitor removed its store nodes
pt_wait_for 10 sh -c "! pvio store ls /local/domain/$dom" || pt_fail "store nodes of domain $dom left after QEMU was killed"

pt_pass
