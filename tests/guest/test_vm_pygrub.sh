#!/usr/bin/env bash
# pvio-timeout: 150
# bootloader = "pygrub": the test builds an ext4 file system on partition 1
# of a GPT disk (mke2fs -d, no mount) holding the Debian guest kernel and
# the test initramfs in /boot and a grub.cfg whose default entry (set
# default=1) carries a marker on its command line; `pvio create` boots
# what that entry names. On the running VM: qemu-monitor-command,
# sysrq (SysRq-h reaches the guest's kernel), vcpu-set 2 (QEMU CPU
# hotplug, maxvcpus = 2) and back to 1, top -b showing the disk's writes
# and their rate; after the guest powers off nothing is left: no QEMU, no
# boot files, only logs in the VM's directory.
set -eu
. "$PVIO_TOP/tests/lib/pvio-test.sh"
. "$PVIO_TOP/tests/guest/guest-lib.sh"
pt_init
gt_init pvio_blkfront
command -v parted >/dev/null || pt_skip "parted missing"
gt_stack_up

cat >"$PT_RUNDIR/test.sh" <<'SCRIPT'
#!/bin/sh
echo 1 >/proc/sys/kernel/sysrq
echo "PVIO-TEST: cmdline $(cat /proc/cmdline)"
i=0
while [ ! -b /dev/xvda ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
[ -b /dev/xvda ] || exit 1
echo "PVIO-TEST: disk ready"
i=0
while [ ! -d /sys/devices/system/cpu/cpu1 ] && [ $i -lt 900 ]; do sleep 0.1; i=$((i + 1)); done
[ -d /sys/devices/system/cpu/cpu1 ] || exit 2
echo 1 >/sys/devices/system/cpu/cpu1/online 2>/dev/null
echo "PVIO-TEST: cpu1 plugged, online $(cat /sys/devices/system/cpu/online)"
# writes past the file system (it ends at 88 MiB) for the host's top
for n in $(seq 1 40); do
	dd if=/dev/zero of=/dev/xvda bs=256k seek=$((356 + n % 8)) count=1 conv=fsync 2>/dev/null
	sleep 0.2
done
echo "PVIO-TEST: io done"
i=0
while [ -d /sys/devices/system/cpu/cpu1 ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
[ -d /sys/devices/system/cpu/cpu1 ] && exit 3
echo "PVIO-TEST: cpu1 gone"
exit 0
SCRIPT
gt_image "$PT_RUNDIR/test.sh" "$PT_RUNDIR/initrd"

# the guest's own /boot: GRUB's default is entry 1
tree=$PT_RUNDIR/tree
mkdir -p "$tree/boot/grub"
cp "$GT_KERNEL" "$tree/boot/vmlinuz-6.1-pvio"
cp "$PT_RUNDIR/initrd" "$tree/boot/initrd.img-6.1-pvio"
cat >"$tree/boot/grub/grub.cfg" <<'CFG'
set default="1"
set timeout=5
menuentry 'Not this one' {
	linux /boot/vmlinuz-missing
}
menuentry 'Debian GNU/Linux, pvio' --class debian $menuentry_id_option 'pvio-entry' {
	insmod ext2
	linux /boot/vmlinuz-6.1-pvio pygrub_marker=entry1 ro
	initrd /boot/initrd.img-6.1-pvio
}
CFG
img=$PT_RUNDIR/disk.img
truncate -s 96M "$img"
parted -s "$img" mklabel gpt mkpart root ext4 1MiB 88MiB >/dev/null 2>&1
mke2fs -q -F -t ext4 -E offset=1048576 -d "$tree" "$img" 87M || pt_fail "mke2fs"

name=pg-$PT_ID
cat >"$PT_RUNDIR/vm.cfg" <<CFG
name = "$name"
type = "pvh"
bootloader = "pygrub"
extra = "quiet"
memory = 512
vcpus = 1
maxvcpus = 2
on_poweroff = "destroy"
disk = [ '$img,raw,xvda,w' ]
CFG
pvio create "$PT_RUNDIR/vm.cfg" >"$PT_RUNDIR/create.out" 2>&1 ||
	{ cat "$PT_RUNDIR/create.out"; pt_fail "pvio create"; }
cat "$PT_RUNDIR/create.out"
grep -q 'pygrub: booting "Debian GNU/Linux, pvio"' "$PT_RUNDIR/create.out" ||
	pt_fail "pygrub did not pick the default entry"
dom=$(sed -n 's/.*(id=\([0-9]*\)).*/\1/p' "$PT_RUNDIR/create.out")
log=$(gt_vm_console "$dom")
ls -d "$PT_RUNDIR"/boot-* 2>/dev/null && pt_fail "pygrub's files were left behind"

pt_wait_for 60 grep -aq "PVIO-TEST: disk ready" "$log" ||
	{ tail -n 30 "$log"; pt_fail "the guest did not boot"; }
grep -a "PVIO-TEST: cmdline" "$log"
grep -aq "PVIO-TEST: cmdline.*pygrub_marker=entry1 ro quiet" "$log" ||
	pt_fail "the command line is not grub.cfg's plus extra"

out=$(pvio qemu-monitor-command "$dom" info version) || pt_fail "qemu-monitor-command"
echo "QEMU: $out"
[[ "$out" =~ ^[0-9]+\.[0-9]+ ]] || pt_fail "info version: '$out'"

pvio sysrq "$dom" h || pt_fail "sysrq"
pt_wait_for 20 grep -aq "sysrq: HELP" "$log" || pt_fail "SysRq-h did not reach the guest"

pvio vcpu-set "$dom" 3 2>"$PT_RUNDIR/err" && pt_fail "vcpu-set above maxvcpus"
grep -q "at most 2 vCPUs" "$PT_RUNDIR/err" || pt_fail "vcpu-set 3: $(cat "$PT_RUNDIR/err")"
pvio vcpu-set "$dom" 2 || pt_fail "vcpu-set 2"
pt_wait_for 30 grep -aq "PVIO-TEST: cpu1 plugged" "$log" || pt_fail "the guest saw no new vCPU"
pvio list "$dom" | awk 'NR == 2 { exit $4 != 2 }' || { pvio list; pt_fail "list: not 2 vCPUs"; }
[ "$(pvio vcpu-list "$dom" | awk 'NR > 1' | wc -l)" -eq 2 ] || { pvio vcpu-list; pt_fail "vcpu-list"; }
[ "$(pvio store read "/local/domain/$dom/cpu/1/availability")" = online ] || pt_fail "cpu/1/availability"

# the guest writes for about 8 s: top sees the totals and the rate
pvio top -b -i 2 -d 2 >"$PT_RUNDIR/top.out" || pt_fail "top"
cat "$PT_RUNDIR/top.out"
awk -v n="${name:0:10}" '$1 == n { wr = $15; rate = $19 } END { exit !(wr > 0 && rate > 0) }' \
	"$PT_RUNDIR/top.out" || pt_fail "top shows no vbd writes or no write rate"
pt_wait_for 30 grep -aq "PVIO-TEST: io done" "$log" || pt_fail "the guest's writes did not end"

pvio vcpu-set "$dom" 1 || pt_fail "vcpu-set 1"
gt_vm_wait_result "$dom" 60
qemu=$(awk 'NR == 2' <(pvio list) >/dev/null; cat "$PT_RUNDIR/hv.log" | sed -n "s/.*domain $dom ($name): QEMU pid \([0-9]*\).*/\1/p")
gt_vm_wait_gone "$dom" 20 || pt_fail "domain $dom still listed after power-off"
[ -n "$qemu" ] && kill -0 "$qemu" 2>/dev/null && pt_fail "QEMU $qemu survived its domain"
# the domain's monitor detaches its devices, then goes with its pid file
pt_wait_for 20 sh -c "! test -e $PT_RUNDIR/vm-$dom/monitor.pid" ||
	pt_fail "the monitor of domain $dom did not finish"
left=$(cd "$PT_RUNDIR/vm-$dom" && ls | grep -v '\.log\(\.qemu\)\?$' || true)
[ -z "$left" ] || pt_fail "left in vm-$dom: $left"
pt_pass
