#!/usr/bin/env bash
# pvio-timeout: 180
# A VM made by the toolstack: `pvio create` with an xl config starts it,
# introduces its store ring and writes its /local/domain/N nodes; inside,
# pvio_core's store client reads the domain's own name and domid, and its
# bus sees a disk appear when dom0 runs block-attach (no frontend driver:
# the device shows in sysfs) and go away on block-detach; pvio-store is
# killed and restarted under the guest, whose ring reconnects (a value and
# a new disk are seen afterwards). `pvio shutdown -w` powers the guest off
# through control/shutdown; then hv has no such domain and the store no
# node of it (/local/domain/N, backend/vbd/N), removed by its monitor.
set -eu
. "$PVIO_TOP/tests/lib/pvio-test.sh"
. "$PVIO_TOP/tests/guest/guest-lib.sh"
pt_init
gt_init
gt_stack_up

cat >"$PT_RUNDIR/test.sh" <<'SCRIPT'
#!/bin/sh
D=$(dmesg | sed -n 's/.*pvio platform: domain \([0-9]*\),.*/\1/p' | head -n 1)
[ -n "$D" ] || exit 1
insmod /pvio/modules/pvio_guest_test.ko remote=0 frontend=0 || exit 2
P=/sys/module/pvio_guest_test/parameters
rd() { echo "$1" >$P/store_read && cat $P/store_read; }
echo "PVIO-TEST: store=$(cat $P/store) batch=$(cat $P/store_batch) name=$(rd /local/domain/$D/name) domid=$(rd /local/domain/$D/domid)"
[ "$(cat $P/store)" = ok ] || exit 3
[ "$(cat $P/store_batch)" = ok ] || exit 3
[ "$(rd /local/domain/$D/domid)" = "$D" ] || exit 4
# the domain may not write its own home, only below data/ (libxl's model)
echo "PVIO-TEST: target=$(rd /local/domain/$D/memory/target)"
echo "PVIO-TEST: ready"
V=/sys/bus/pvio/devices/vbd-51712
i=0
while [ ! -e $V ] && [ $i -lt 200 ]; do sleep 0.1; i=$((i + 1)); done
[ -e $V ] || { dmesg | grep pvio | tail -n 20; exit 5; }
echo "PVIO-TEST: device nodename=$(cat $V/nodename) backend=$(cat $V/backend) driver=$(basename "$(readlink $V/driver 2>/dev/null)" 2>/dev/null)"
dmesg | grep -q "pvio_core: device /local/domain/$D/device/vbd/51712 " || exit 6
echo "PVIO-TEST: wait-detach"
i=0
while [ -e $V ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
[ ! -e $V ] || exit 7
echo "PVIO-TEST: detached"
# dom0 restarts pvio-store (kill -9): our ring reconnects, the request in
# flight is resent and the bus watch is registered again
i=0
while [ "$(rd /local/domain/$D/data/after-restart)" != yes ] && [ $i -lt 60 ]; do
	sleep 0.5; i=$((i + 1))
done
echo "PVIO-TEST: after-restart=$(rd /local/domain/$D/data/after-restart)"
[ "$(rd /local/domain/$D/data/after-restart)" = yes ] || exit 8
V=/sys/bus/pvio/devices/vbd-51728
i=0
while [ ! -e $V ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
[ -e $V ] || { echo w >/proc/sysrq-trigger; dmesg | tail -n 150; exit 9; }
dmesg | grep -q 'pvio_core: the store asks for a reconnection' || exit 10
echo "PVIO-TEST: watch after restart ok"
# `pvio shutdown` asks through control/shutdown; our /init ignores the
# signal a plain poweroff sends to PID 1, so the helper powers off itself
[ "$(rd /local/domain/$D/control/feature-poweroff)" = 1 ] || exit 11
echo "/sbin/poweroff -f" >/proc/sys/kernel/poweroff_cmd
echo "PVIO-TEST: waiting for shutdown"
sleep 60
exit 12
SCRIPT
gt_image "$PT_RUNDIR/test.sh" "$PT_RUNDIR/initrd"
gt_vm_cfg "$PT_RUNDIR/vm.cfg" "vmc-$PT_ID" "$PT_RUNDIR/initrd" 512 2

dom=$(gt_vm_create "$PT_RUNDIR/vm.cfg")
[ -n "$dom" ] || pt_fail "pvio create printed no domid"
log=$(gt_vm_console "$dom")
echo "domain $dom, console $log"
gt_fail() { echo "--- guest console"; tail -n 60 "$log"; pt_fail "$@"; }

pvio list | grep -q "^vmc-$PT_ID  *$dom " || gt_fail "pvio list does not show the VM"
[ "$(pvio store read /local/domain/$dom/name)" = "vmc-$PT_ID" ] || gt_fail "name node"
[ "$(pvio store read /local/domain/$dom/memory/target)" = $((512 * 1024)) ] || gt_fail "memory/target node"
vm=$(pvio store read /local/domain/$dom/vm)
gt_store_has "$vm/uuid" || gt_fail "no $vm/uuid"

pt_wait_for 90 grep -aq 'PVIO-TEST: ready\|PVIO-GUEST-RESULT' "$log" ||
	gt_fail "guest did not read its store nodes"
grep -a 'PVIO-TEST: store=' "$log"
grep -aq "PVIO-TEST: store=ok batch=ok name=vmc-$PT_ID domid=$dom" "$log" ||
	gt_fail "guest did not read its own name/domid through the store"
grep -aq "PVIO-TEST: target=$((512 * 1024))" "$log" || gt_fail "guest could not read memory/target"

# the guest's RAM in 2 MiB pages where the host has shmem huge pages
# (hv_vm.c): hv says so, and QEMU maps it with 2 MiB entries (align=2M)
qpid=$(pgrep -f -- "$PT_RUNDIR/vm-$dom/qmp.sock" | head -n 1)
[ -n "$qpid" ] || gt_fail "no QEMU for domain $dom"
ram_pmd_kib() {	# PID: KiB of its guest RAM mapping mapped by 2 MiB entries
	awk '/^[0-9a-f]+-[0-9a-f]+ /{ ram = / \/#[0-9]+ \(deleted\)$/ || /memfd:pvio-ram-/ }
	     ram && /^ShmemPmdMapped:/{ s += $2 } END { print s + 0 }' "/proc/$1/smaps"
}
if [ -d /sys/kernel/mm/transparent_hugepage ] &&
   ! grep -q '\[deny\]' /sys/kernel/mm/transparent_hugepage/shmem_enabled &&
   [ -z "${PVIO_RAM_PAGES:-}" ]; then
	grep -q 'guest RAM in 2 MiB pages' "$PT_RUNDIR/hv.log" ||
		gt_fail "hv did not put the guest's RAM in huge pages: $(grep 'guest RAM' "$PT_RUNDIR/hv.log")"
	pmd=$(ram_pmd_kib "$qpid")
	echo "QEMU maps $pmd KiB of the guest's RAM with 2 MiB entries"
	[ "$pmd" -ge 2048 ] || gt_fail "QEMU maps none of the guest's RAM with 2 MiB entries"
else
	grep -q 'guest RAM in 4 KiB pages' "$PT_RUNDIR/hv.log" ||
		gt_fail "hv says nothing of the guest RAM's pages"
fi

# hot-plug: a disk appears on the guest's bus (no frontend driver loaded)
truncate -s 64M "$PT_RUNDIR/disk.img"
pvio block-attach "$dom" "$PT_RUNDIR/disk.img,raw,xvda,rw" || gt_fail "block-attach failed"
pt_wait_for 40 grep -aq 'PVIO-TEST: device\|PVIO-GUEST-RESULT' "$log" || gt_fail "the guest's bus did not see the disk"
grep -a 'PVIO-TEST: device' "$log" || gt_fail "the guest's bus did not see the disk"
grep -aq "PVIO-TEST: device nodename=/local/domain/$dom/device/vbd/51712 backend=/local/domain/0/backend/vbd/$dom/51712" "$log" ||
	gt_fail "device attributes wrong"
pvio block-detach "$dom" xvda || gt_fail "block-detach failed"
gt_store_has "/local/domain/0/backend/vbd/$dom/51712" && gt_fail "backend dir left after detach"

# pvio-store dies and comes back while the guest uses its ring
pt_wait_for 30 grep -aq 'PVIO-TEST: detached' "$log" || gt_fail "guest did not see the detach"
kill -9 "$(cat "$PT_RUNDIR/store.pid")"
sleep 0.5
pvio up >/dev/null || gt_fail "pvio up could not restart pvio-store"
pvio store write "/local/domain/$dom/data/after-restart" yes || gt_fail "store write after restart"
pvio block-attach "$dom" "$PT_RUNDIR/disk.img,raw,xvdb,rw" || gt_fail "block-attach after restart failed"
pt_wait_for 60 grep -aq 'PVIO-TEST: watch after restart ok\|PVIO-GUEST-RESULT' "$log" || {
	echo "--- the store: the guest's devices"
	pvio store ls "/local/domain/$dom/device" || true
	echo "--- pvio-store's log"
	tail -n 20 "$PT_RUNDIR/store.log" || true
	gt_fail "the guest's store did not come back after the store restart"
}
grep -a 'PVIO-TEST: after-restart' "$log"

# pvio shutdown: through control/shutdown (the guest advertises it)
pt_wait_for 30 grep -aq 'PVIO-TEST: waiting for shutdown\|PVIO-GUEST-RESULT' "$log" ||
	gt_fail "guest did not get to the shutdown step"
# the guest ended its script early: it failed a step, its console says which
grep -aq 'PVIO-GUEST-RESULT' "$log" && {
	echo "--- guest console"
	tail -n 200 "$log"
	gt_vm_wait_result "$dom" 1
}
t0=$(date +%s)
timeout 40 pvio shutdown -w "$dom" || gt_fail "pvio shutdown -w failed"
echo "shutdown took $(( $(date +%s) - t0 )) s"
grep -aq 'PVIO-GUEST-RESULT' "$log" && gt_fail "the guest ended its script instead of shutting down"
t0=$(date +%s)
gt_vm_wait_gone "$dom" 20 || gt_fail "domain $dom still listed after power-off"
gone() { ! gt_store_has "/local/domain/$dom" && ! gt_store_has "$vm"; }
pt_wait_for 10 gone || {
	pvio store ls "/local/domain/$dom"
	cat "$PT_RUNDIR/vm-$dom/monitor.log"
	pt_fail "store nodes of domain $dom left after power-off"
}
gt_store_has "/local/domain/0/backend/vbd/$dom" && pt_fail "backend/vbd/$dom left"
echo "domain and store nodes gone $(( $(date +%s) - t0 )) s after the result"
cat "$PT_RUNDIR/vm-$dom/monitor.log"
pt_pass
