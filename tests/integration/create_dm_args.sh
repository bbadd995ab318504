#!/usr/bin/env bash
# device_model_args in a VM config: the toolstack refuses options that are
# not device options, a missing value, values that reach hv's chardev or
# platform device, and a process domain with them, naming the item; hv
# refuses the same on its own when asked straight through libpvio
# (tests/integration/hv_dm_args.c), before making anything. No refused
# create leaves a domain. (A full VM with extra devices:
# tests/guest/test_bench_guest.sh.)
# pvio-timeout: 60
. "$(dirname "$0")/../lib/pvio-test.sh"
pt_init
pt_on_exit "pvio down"
pvio up >/dev/null || pt_fail "pvio up"

cfg() {	# cfg NAME TYPE DM_ARGS_LIST
	cat >"$PT_RUNDIR/$1.cfg" <<CFG
name = "$1-$PT_ID"
type = "$2"
memory = 128
kernel = "/nonexistent/vmlinuz"
program = "sleep 30"
device_model_args = [ $3 ]
CFG
	echo "$PT_RUNDIR/$1.cfg"
}
refused() {	# refused CFG MESSAGE-REGEX
	pvio create "$1" >"$PT_RUNDIR/out" 2>&1 && { cat "$PT_RUNDIR/out"; pt_fail "$1 accepted"; }
	grep -qE "$2" "$PT_RUNDIR/out" || { cat "$PT_RUNDIR/out"; pt_fail "$1: no message matching '$2'"; }
}

refused "$(cfg mach pvh '"-machine", "pc"')" "'-machine' not allowed"
refused "$(cfg kern pvh '"-kernel", "/boot/x"')" "'-kernel' not allowed"
refused "$(cfg chr pvh '"-chardev", "socket,id=c,path=/tmp/x"')" "'-chardev' not allowed"
refused "$(cfg odd pvh '"-device"')" "needs its value"
refused "$(cfg neg pvh '"-device", "-m"')" "bad value"
refused "$(cfg proc process '"-device", "virtio-rng-pci"')" "needs a VM"
refused "$(cfg ivs pvh '"-device", "ivshmem-doorbell,chardev=pvio,vectors=1"')" "bad value 'ivshmem"
refused "$(cfg hij pvh '"-device", "virtio-serial", "-device", "virtconsole,chardev=pvio"')" "bad value 'virtconsole"
# past the toolstack (straight through libpvio), hv refuses on its own
hvcreate() { "$PVIO_BUILD/tests/hv_dm_args" "$@" | sed -n 's/^ret=//p'; }
for words in "-machine pc" "-device ivshmem-doorbell,chardev=pvio" \
	"-device virtio-serial -device virtconsole,chardev=pvio" "-device" \
	"-device -m" "-drive x -object y"; do
	# shellcheck disable=SC2086
	r=$(hvcreate $words)
	[ "$r" = -22 ] || pt_fail "hv answered '$r' to '$words', want -22 (EINVAL)"
done
# hv refused before making the VM's directory or starting QEMU
ls -d "$PT_RUNDIR"/vm-* 2>/dev/null && pt_fail "hv went on to start a VM"
[ "$(pvio list | wc -l)" -eq 2 ] || { pvio list; pt_fail "a refused create left a domain"; }
# and device options do pass hv's check (this create fails later, on the
# missing kernel, not with EINVAL)
r=$(hvcreate -device virtio-rng-pci)
[ -n "$r" ] && [ "$r" != -22 ] || pt_fail "hv refused a plain -device ($r)"
pt_pass
