#!/usr/bin/env bash
# pvio-timeout: 120
# A hostile backend in front of the user-space blkfront: no pvio-blkback;
# build/tests/blk_evil_backend (the one the guest test uses against the
# kernel's blkfront) serves a process domain's disk, honest below 32 MiB
# and with the next bad answer beyond: an unknown status, a response id
# beyond the ring, a double completion, a wrong operation, rsp_prod far
# beyond req_prod, then silence. The domain's program (blk_test hostile,
# under valgrind when it is installed: no access outside what the program
# owns, no use of freed memory) must see the unknown status as EIO, count
# and log every protocol break, survive each restart of the backend, and
# still read the honest region at the end.
set -u
. "$(dirname "$0")/../lib/pvio-test.sh"
pt_init
pt_start_hv
pt_start_store
evil=$PVIO_TOP/build/tests/blk_evil_backend
test=$PVIO_TOP/build/tests/blk_test
[ -x "$evil" ] && [ -x "$test" ] || pt_fail "build/tests programs missing: make"
vg=
command -v valgrind >/dev/null &&
	vg="valgrind -q --error-exitcode=99 --track-fds=no"
img=$PT_RUNDIR/unused.img
truncate -s 64M "$img"
name=bhb-$PT_ID
cat >"$PT_RUNDIR/d.cfg" <<CFG
name = "$name"
type = "process"
memory = 64
program = "$vg $test --file $img hostile"
disk = [ '$img,raw,xvda,rw' ]
CFG
pvio --rundir "$PT_RUNDIR" create -F "$PT_RUNDIR/d.cfg" >"$PT_RUNDIR/prog.out" 2>&1 &
prog=$!
pt_on_exit "kill $prog"
domid=
for _ in $(seq 100); do
	domid=$(pvio --rundir "$PT_RUNDIR" list 2>/dev/null | awk -v n="$name" '$1 == n {print $2}')
	[ -n "$domid" ] && break
	sleep 0.1
done
[ -n "$domid" ] || pt_fail "domain $name did not appear"
pt_daemon evil "$evil" "$PT_RUNDIR" "$domid"
pt_on_exit "kill $PT_PID_evil"
rc=0
wait $prog || rc=$?
cat "$PT_RUNDIR/prog.out"
grep -a 'evil:' "$PT_RUNDIR/evil.log" | tail -n 12
[ $rc -eq 0 ] || pt_fail "blk_test hostile exited $rc (99: valgrind found an error)"
grep -q 'case silent' "$PT_RUNDIR/evil.log" ||
	pt_fail "the hostile backend never reached its silent case"
for m in "response id out of range" "response for an idle id" \
	 "response operation differs from request" "rsp_prod beyond the requests" \
	 "unknown response status"; do
	grep -q "$m" "$PT_RUNDIR/prog.out" || pt_fail "no '$m' reported"
done
pt_pass
