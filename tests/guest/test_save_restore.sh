#!/usr/bin/env bash
# pvio-timeout: 240
# Save and restore of a VM with a disk: `pvio save -c` checkpoints it (the
# guest suspends, QEMU's stream goes to a file, the guest resumes on the
# same host and its disk reconnects); `pvio save` then writes a second file
# and destroys the domain (nothing of it left: no QEMU, no store nodes);
# `pvio restore` brings it back as a new domain: a file in the guest's
# tmpfs (RAM only) has the same checksum, and the disk works on the new
# backend connection.
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
[ -b /dev/xvda ] || exit 1
dd if=/dev/urandom of=/tmp/ram.bin bs=1M count=8 2>/dev/null
S1=$(sha256sum /tmp/ram.bin | cut -d' ' -f1)
echo "PVIO-TEST: sum=$S1"
disk_io() {
	dd if=/dev/urandom of=/tmp/blk.bin bs=64k count=16 2>/dev/null
	dd if=/tmp/blk.bin of=/dev/xvda bs=64k count=16 oflag=direct 2>/dev/null || return 1
	dd if=/dev/xvda of=/tmp/blk.rd bs=64k count=16 iflag=direct 2>/dev/null || return 1
	cmp /tmp/blk.bin /tmp/blk.rd
}
disk_io || exit 2
echo "PVIO-TEST: ready"
i=0
until dmesg | grep -q 'pvio_core: resumed on the same host'; do
	sleep 0.2; i=$((i + 1)); [ $i -lt 600 ] || exit 3
done
disk_io || exit 4
echo "PVIO-TEST: checkpoint-ok"
i=0
until dmesg | grep -q 'pvio_core: resumed on a new host'; do
	sleep 0.2; i=$((i + 1)); [ $i -lt 900 ] || exit 5
done
S2=$(sha256sum /tmp/ram.bin | cut -d' ' -f1)
echo "PVIO-TEST: sum-after=$S2"
[ "$S1" = "$S2" ] || exit 6
disk_io || exit 7
dmesg | grep 'pvio_core: resumed\|xvda:' | tail -n 4
echo "PVIO-TEST: restored-ok"
exit 0
SCRIPT
gt_image "$PT_RUNDIR/test.sh" "$PT_RUNDIR/initrd"
truncate -s 64M "$PT_RUNDIR/disk.img"
gt_vm_cfg "$PT_RUNDIR/vm.cfg" "vsr-$PT_ID" "$PT_RUNDIR/initrd" 512 1 \
	"disk = [ '$PT_RUNDIR/disk.img,raw,xvda,rw' ]"

dom=$(gt_vm_create "$PT_RUNDIR/vm.cfg")
[ -n "$dom" ] || pt_fail "pvio create printed no domid"
log=$(gt_vm_console "$dom")
gt_fail() { echo "--- guest console"; tail -n 40 "$1"; pt_fail "$2"; }
pt_wait_for 120 grep -aq 'PVIO-TEST: ready\|PVIO-GUEST-RESULT' "$log" ||
	gt_fail "$log" "guest not ready"
grep -aq 'PVIO-TEST: ready' "$log" || gt_fail "$log" "guest failed early"
sum=$(sed -n 's/.*PVIO-TEST: sum=\([0-9a-f]*\).*/\1/p' "$log" | head -n 1)

pvio save -c "$dom" "$PT_RUNDIR/ckpt.sav" || gt_fail "$log" "pvio save -c failed"
pt_wait_for 60 grep -aq 'PVIO-TEST: checkpoint-ok\|PVIO-GUEST-RESULT' "$log" ||
	gt_fail "$log" "no disk I/O after the checkpoint"
grep -aq 'PVIO-TEST: checkpoint-ok' "$log" || gt_fail "$log" "checkpoint broke the guest"
pvio list | grep -q "^vsr-$PT_ID  *$dom " || pt_fail "domain gone after save -c"

pvio save "$dom" "$PT_RUNDIR/vm.sav" || gt_fail "$log" "pvio save failed"
pvio list | grep -q "vsr-$PT_ID" && pt_fail "pvio list still shows the saved domain"
pvio store read "/local/domain/$dom/name" >/dev/null 2>&1 &&
	pt_fail "/local/domain/$dom left in the store"
pgrep -f "$PT_RUNDIR/vm-$dom/qmp" >/dev/null && pt_fail "QEMU of domain $dom still runs"

out=$(pvio restore "$PT_RUNDIR/vm.sav") || pt_fail "pvio restore failed: $out"
echo "$out"
new=$(pvio list | awk -v n="vsr-$PT_ID" '$1 == n { print $2 }')
[ -n "$new" ] || pt_fail "restored domain not listed"
nlog=$(gt_vm_console "$new")
pt_wait_for 90 grep -aq 'PVIO-GUEST-RESULT' "$nlog" || gt_fail "$nlog" "no result after restore"
grep -aq "PVIO-TEST: sum-after=$sum" "$nlog" || gt_fail "$nlog" "RAM file checksum changed"
gt_vm_wait_result "$new" 10
pt_pass
