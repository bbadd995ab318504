#!/usr/bin/env bash
# pvio-timeout: 60
# hv's QMP client (jansson, replies matched by id, events kept apart)
# against a real QEMU (-M none, paused) and against a hostile QMP peer.
. "$(dirname "$0")/../lib/pvio-test.sh"
pt_init
command -v qemu-system-x86_64 >/dev/null || pt_skip "qemu-system-x86_64 missing"
bin=$PVIO_BUILD/tests/qmp_client

qemu-system-x86_64 -M none -nodefaults -display none -S \
	-qmp "unix:$PT_RUNDIR/qmp.sock,server=on,wait=off" \
	>"$PT_RUNDIR/qemu.log" 2>&1 &
qpid=$!
pt_on_exit "kill -9 $qpid"
pt_wait_for 10 test -S "$PT_RUNDIR/qmp.sock" || pt_fail "QEMU did not open its QMP socket"
"$bin" qemu "$PT_RUNDIR/qmp.sock" || pt_fail "QMP client against QEMU"
# quit ends QEMU
pt_wait_for 10 sh -c "! kill -0 $qpid" || pt_fail "QEMU still runs after quit"

"$bin" evil "$PT_RUNDIR" || pt_fail "QMP client against a hostile peer"
pt_pass
