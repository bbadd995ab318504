#!/usr/bin/env bash
# pvio-timeout: 240
# Teardown of a VM with a disk and a vif (pvio create, disk = [...],
# vif = [...]): whether the guest powers off, crashes (kernel panic) or is
# destroyed with `pvio destroy`, nothing is left behind: no TAP device, no
# blkback/netback device, no store node (/local/domain/N, /vm/<uuid>,
# backend/vbd/N, backend/vif/N), no domain in hv. Also: block-attach and
# network-attach to the running VM show up on the guest's bus (a frontend
# driver binds the new disk and hears its backend's state), and
# `pvio create -F` waits for the VM and cleans up after it.
set -eu
. "$PVIO_TOP/tests/lib/pvio-test.sh"
. "$PVIO_TOP/tests/guest/guest-lib.sh"
pt_init
pt_need_root
gt_init
br=pvb$PT_ID
pt_on_exit "ip link del $br"
gt_stack_up

cat >"$PT_RUNDIR/test.sh" <<'SCRIPT'
#!/bin/sh
B=/sys/bus/pvio/devices
seen() { [ -e $B/vbd-51712 ] && [ -e $B/vif-0 ]; }
i=0
while ! seen && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
seen || { ls $B; exit 1; }
echo "PVIO-TEST: devices $(ls $B | tr '\n' ' ')"
case $(cat /proc/cmdline) in
*pvio.crash*)
	echo "PVIO-TEST: crashing"
	echo c >/proc/sysrq-trigger ;;
*pvio.hold*)
	# a "vbd" frontend driver: probes the disks, follows their backend
	# (the image's own vbd driver, pvio_blkfront, makes way for it)
	# (rmmod fails while the disk is still busy, e.g. being probed for
	# partitions just after boot: try again for a while)
	i=0
	while grep -q '^pvio_blkfront ' /proc/modules && [ $i -lt 100 ]; do
		rmmod pvio_blkfront 2>/dev/null || sleep 0.1
		i=$((i + 1))
	done
	grep -q '^pvio_blkfront ' /proc/modules && exit 3
	insmod /pvio/modules/pvio_guest_test.ko remote=0 || exit 2
	P=/sys/module/pvio_guest_test/parameters
	# hot-plug: dom0 adds a second disk and vif, then destroys us
	i=0
	while { [ ! -e $B/vbd-51728 ] || [ ! -e $B/vif-1 ] ||
		[ "$(cat $P/probed)" -lt 2 ] || [ "$(cat $P/otherend)" != 2 ]; } &&
		[ $i -lt 300 ]; do
		sleep 0.1; i=$((i + 1))
	done
	echo "PVIO-TEST: hotplug $(ls $B | tr '\n' ' ')"
	echo "PVIO-TEST: probed=$(cat $P/probed) otherend=$(cat $P/otherend) driver=$(basename "$(readlink $B/vbd-51728/driver)") state=$(cat $B/vbd-51728/state)"
	while true; do sleep 1; done ;;
esac
exit 0
SCRIPT
gt_image "$PT_RUNDIR/test.sh" "$PT_RUNDIR/initrd"
truncate -s 32M "$PT_RUNDIR/a.img" "$PT_RUNDIR/b.img"

# vm NAME EXTRA: create a VM with a disk and a vif; sets dom, log, vm
vm() {
	gt_vm_cfg "$PT_RUNDIR/$1.cfg" "$1-$PT_ID" "$PT_RUNDIR/initrd" 512 2 \
		"extra = \"quiet $2\"" \
		"disk = [ '$PT_RUNDIR/a.img,raw,xvda,rw' ]" \
		"vif = [ 'bridge=$br,mac=00:16:3e:00:00:01' ]"
	dom=$(gt_vm_create "$PT_RUNDIR/$1.cfg")
	log=$(gt_vm_console "$dom")
	vm=$(pvio store read "/local/domain/$dom/vm")
	echo "$1: domain $dom"
	# netback makes the TAP and runs vif-bridge when it sees the backend dir
	pt_wait_for 10 test -d "/sys/class/net/$br/brif/vif$dom.0" ||
		pt_fail "$1: no TAP vif$dom.0 on $br"
	gt_store_has "/local/domain/0/backend/vbd/$dom/51712" || pt_fail "$1: no vbd backend dir"
	gt_store_has "/local/domain/0/backend/vif/$dom/0" || pt_fail "$1: no vif backend dir"
	pt_wait_for 90 grep -aq 'PVIO-TEST: devices\|PVIO-GUEST-RESULT' "$log" || {
		tail -n 30 "$log"
		pt_fail "$1: the guest's bus did not see its disk and vif"
	}
	grep -a 'PVIO-TEST: devices' "$log"
}

# nothing_left WHAT: no trace of $dom anywhere
nothing_left() {
	local t0=$(date +%s)
	gt_vm_wait_gone "$dom" 30 || pt_fail "$1: domain $dom still in hv"
	left() {
		ip link show "vif$dom.0" >/dev/null 2>&1 ||
			gt_store_has "/local/domain/$dom" || gt_store_has "$vm" ||
			gt_store_has "/local/domain/0/backend/vbd/$dom" ||
			gt_store_has "/local/domain/0/backend/vif/$dom"
	}
	clean() { ! left; }
	if ! pt_wait_for 15 clean; then
		ip link show "vif$dom.0" 2>&1 | head -n 1
		pvio store ls "/local/domain/$dom" 2>&1 | head
		pvio store ls "/local/domain/0/backend" 2>&1 | head
		cat "$PT_RUNDIR/vm-$dom/monitor.log"
		pt_fail "$1: domain $dom left something behind"
	fi
	pt_wait_for 5 grep -q "backend/vbd/$dom/51712: removed" "$PT_RUNDIR/blkback.log" ||
		pt_fail "$1: blkback did not drop vbd $dom/51712"
	pt_wait_for 5 grep -q "vif $dom.0 .*removed" "$PT_RUNDIR/netback.log" ||
		pt_fail "$1: netback did not drop vif $dom.0"
	echo "$1: domain $dom gone without a trace $(( $(date +%s) - t0 )) s after"
}

# 1. the guest powers off
vm off ""
gt_vm_wait_result "$dom" 60
nothing_left "power-off"

# 2. the guest kernel panics (panic=-1 and -no-reboot end QEMU)
vm crash "pvio.crash"
pt_wait_for 60 grep -aq 'Kernel panic' "$log" || pt_fail "crash: the guest did not panic"
nothing_left "crash"

# 3. hot-plug into the running guest, then pvio destroy
vm hold "pvio.hold"
pvio block-attach "$dom" "$PT_RUNDIR/b.img,raw,xvdb,rw" || pt_fail "block-attach failed"
pvio network-attach "$dom" "bridge=$br" || pt_fail "network-attach failed"
pt_wait_for 40 grep -aq 'PVIO-TEST: probed' "$log" || pt_fail "hot-plugged devices not seen"
grep -a 'PVIO-TEST: hotplug' "$log"
grep -aq 'PVIO-TEST: hotplug.*vbd-51728.*vif-1' "$log" || pt_fail "hot-plugged devices not seen by the guest"
# the test module's frontend driver bound both disks, switched them to
# Initialising and was told the backend's state (blkback: InitWait)
grep -a 'PVIO-TEST: probed' "$log" || true
grep -aq 'PVIO-TEST: probed=2 otherend=2 driver=pvio_guest_test state=1' "$log" ||
	pt_fail "frontend driver did not bind the hot-plugged disk"
[ "$(pvio store read "/local/domain/$dom/device/vbd/51728/state")" = 1 ] ||
	pt_fail "frontend state of the hot-plugged disk not written"
pt_wait_for 10 test -d "/sys/class/net/$br/brif/vif$dom.1" || pt_fail "no TAP vif$dom.1 on $br"
pvio destroy "$dom" || pt_fail "pvio destroy failed"
# destroy is synchronous: everything is gone when it returns
! pvio list "$dom" >/dev/null 2>&1 || pt_fail "destroy: domain still listed"
! gt_store_has "/local/domain/$dom" || pt_fail "destroy: /local/domain/$dom left"
nothing_left "destroy"
# netback drops the TAPs once their backend dirs are gone (asynchronously)
pt_wait_for 10 sh -c "! ip link show vif$dom.1" || pt_fail "destroy: vif$dom.1 left"

# 4. pvio create -F: stays until the VM powers off, then cleans up itself
gt_vm_cfg "$PT_RUNDIR/fg.cfg" "fg-$PT_ID" "$PT_RUNDIR/initrd" 512 2 \
	"disk = [ '$PT_RUNDIR/a.img,raw,xvda,rw' ]" \
	"vif = [ 'bridge=$br' ]"
pvio create -F "$PT_RUNDIR/fg.cfg" >"$PT_RUNDIR/fg.out" 2>&1 &
fg_pid=$!
pt_on_exit "kill $fg_pid"
pt_wait_for 10 grep -q 'id=' "$PT_RUNDIR/fg.out" || pt_fail "create -F: no domain"
dom=$(sed -n 's/.*(id=\([0-9]*\)).*/\1/p' "$PT_RUNDIR/fg.out")
vm=$(pvio store read "/local/domain/$dom/vm")
[ ! -f "$PT_RUNDIR/vm-$dom/monitor.pid" ] || pt_fail "create -F started a monitor"
gt_vm_wait_result "$dom" 60
wait "$fg_pid" || pt_fail "create -F exited with $?"
! gt_store_has "/local/domain/$dom" || pt_fail "create -F: /local/domain/$dom left"
nothing_left "create -F"
pt_pass
