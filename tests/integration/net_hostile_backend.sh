#!/usr/bin/env bash
# pvio-timeout: 120
# A hostile backend in front of the user-space netfront: no pvio-netback;
# build/tests/net_evil_backend (the one the guest test uses against the
# kernel's netfront) serves a process domain's vif: after a few honest
# answers, each packet sent meets the next bad answer (unknown tx status,
# tx id out of range, a tx id answered twice, rx longer than a page, rx
# past its page, an unknown rx extra, rx and tx rsp_prod jumps), the
# backend restarting after each protocol break, then honest with one
# valid frame. The domain's program (net_test --hostile, under valgrind
# when it is installed) must count the bad answers as errors, survive every
# restart, receive the valid frame and still send at the end.
set -u
. "$(dirname "$0")/../lib/pvio-test.sh"
pt_init
pt_start_hv
pt_start_store
evil=$PVIO_TOP/build/tests/net_evil_backend
test=$PVIO_TOP/build/tests/net_test
[ -x "$evil" ] && [ -x "$test" ] || pt_fail "build/tests programs missing: make"
vg=
command -v valgrind >/dev/null &&
	vg="valgrind -q --error-exitcode=99 --track-fds=no"
name=nhb-$PT_ID
cat >"$PT_RUNDIR/d.cfg" <<CFG
name = "$name"
type = "process"
memory = 64
program = "$vg $test --ip 10.99.99.2 --peer 10.99.99.1 --hostile"
vif = [ 'bridge=nh$PT_ID' ]
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
[ $rc -eq 0 ] || pt_fail "net_test --hostile exited $rc (99: valgrind found an error)"
grep -q 'case tx-index-jump' "$PT_RUNDIR/evil.log" ||
	pt_fail "the hostile backend did not get through its script"
grep -q 'sending works after the attack' "$PT_RUNDIR/prog.out" ||
	pt_fail "no traffic after the attack"
pt_pass
