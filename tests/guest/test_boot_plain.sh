#!/usr/bin/env bash
# pvio-timeout: 120
# A plain QEMU guest (no pvio-hv) boots Debian's kernel with our image: the
# modules load, the ext4 module from the kernel package loads, the tools run.
set -eu
. "$PVIO_TOP/tests/lib/pvio-test.sh"
. "$PVIO_TOP/tests/guest/guest-lib.sh"
pt_init
gt_init

cat >"$PT_RUNDIR/test.sh" <<'SCRIPT'
#!/bin/sh
set -e
dmesg | grep -q 'pvio_core: loaded'
lsmod | grep -q '^pvio_core '
modprobe ext4
fio --version
iperf3 --version
mkfs.ext4 -V
echo abc | sha256sum
# frontend modules hold pvio_core: they go first
for m in $(lsmod | awk '/^pvio_/ && $1 != "pvio_core" { print $1 }'); do
	rmmod "$m"
done
rmmod pvio_core
dmesg | grep -q 'pvio_core: unloaded'
SCRIPT
gt_image "$PT_RUNDIR/test.sh" "$PT_RUNDIR/initrd"
gt_qemu_plain "$PT_RUNDIR/console.log" "$PT_RUNDIR/initrd"
cat "$PT_RUNDIR/console.log"
gt_check_result "$PT_RUNDIR/console.log"
grep -q 'PVIO-GUEST: loaded pvio_core' "$PT_RUNDIR/console.log" || pt_fail "pvio_core not loaded"
pt_pass
