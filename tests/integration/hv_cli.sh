#!/usr/bin/env bash
# The hv verbs of the pvio CLI: up (daemonized, pidfile, socket), list in
# xl's layout, info, pause/unpause/destroy/shutdown by name and id, down; bad
# arguments exit 2, a missing domain exits 1.
# pvio-timeout: 60
. "$(dirname "$0")/../lib/pvio-test.sh"
pt_init
pt_on_exit "pvio down"

expect_rc() {
	local want=$1; shift
	"$@" >"$PT_RUNDIR/out" 2>&1
	local rc=$?
	[ $rc -eq "$want" ] || { cat "$PT_RUNDIR/out"; pt_fail "'$*' exited $rc, want $want"; }
}

expect_rc 0 pvio up
test -S "$PT_RUNDIR/hv.sock" || pt_fail "no hv.sock after pvio up"
hvpid=$(cat "$PT_RUNDIR/hv.pid") || pt_fail "no hv.pid"
kill -0 "$hvpid" || pt_fail "pvio-hv not running"
expect_rc 0 pvio up		# idempotent
grep -q "already running" "$PT_RUNDIR/out" || pt_fail "second up restarted hv"

name="cli-$PT_ID"
coproc HOLD { exec "$PVIO_BUILD/tests/hv_test" hold "$name"; }
pt_on_exit "kill $HOLD_PID"
read -r -t 10 domid <&"${HOLD[0]}" || pt_fail "holder did not start"

pvio list >"$PT_RUNDIR/list" || pt_fail "list"
head -1 "$PT_RUNDIR/list" | grep -qxP 'Name {40}ID   Mem VCPUs\tState\tTime\(s\)' ||
	pt_fail "list header: $(head -1 "$PT_RUNDIR/list")"
sed -n 2p "$PT_RUNDIR/list" | grep -qE '^Domain-0 +0 ' || pt_fail "Domain-0 not first"
grep -qE "^$name +$domid +8 +1 +r-----" "$PT_RUNDIR/list" ||
	{ cat "$PT_RUNDIR/list"; pt_fail "domain not listed running"; }
expect_rc 0 pvio list "$name"
[ "$(wc -l <"$PT_RUNDIR/out")" -eq 2 ] || pt_fail "list DOM shows other domains"

expect_rc 0 pvio info
grep -qE '^nr_domains +: 1$' "$PT_RUNDIR/out" || { cat "$PT_RUNDIR/out"; pt_fail "info counts"; }
grep -qE '^hv_version +: 1\.0$' "$PT_RUNDIR/out" || pt_fail "info version"

expect_rc 0 pvio pause "$name"
pvio list "$domid" | grep -qE "^$name .* r?-?p|--p---" || pt_fail "not shown paused"
grep -q '^State:.*T' "/proc/$HOLD_PID/status" || pt_fail "process not stopped"
expect_rc 0 pvio unpause "$domid"
pvio list "$name" | grep -q "r-----" || pt_fail "not running after unpause"

# errors
expect_rc 2 pvio destroy
expect_rc 2 pvio pause a b
expect_rc 2 pvio up extra
expect_rc 2 pvio info extra
expect_rc 2 pvio list --bogus
expect_rc 2 pvio no-such-verb
expect_rc 1 pvio destroy "no-such-$PT_ID"
expect_rc 1 pvio destroy 0
expect_rc 1 pvio list 4000

expect_rc 0 pvio destroy "$name"
pvio list | grep -q "^$name " && pt_fail "destroyed domain still listed"
pt_wait_for 5 bash -c "! kill -0 $HOLD_PID 2>/dev/null" || pt_fail "domain's process survived destroy"
expect_rc 1 pvio destroy "$domid"

# shutdown -w: the process gets SIGTERM, exits, the domain goes
coproc HOLD2 { exec "$PVIO_BUILD/tests/hv_test" hold "sd-$PT_ID"; }
pt_on_exit "kill $HOLD2_PID"
read -r -t 10 _ <&"${HOLD2[0]}" || pt_fail "second holder did not start"
expect_rc 2 pvio shutdown
expect_rc 2 pvio shutdown -x "sd-$PT_ID"
expect_rc 1 pvio shutdown 0
expect_rc 0 pvio shutdown -w "sd-$PT_ID"
pvio list | grep -q "^sd-$PT_ID " && pt_fail "shut down domain still listed"

expect_rc 0 pvio down
pt_wait_for 5 bash -c "! kill -0 $hvpid 2>/dev/null" || pt_fail "pvio-hv still running"
[ -e "$PT_RUNDIR/hv.pid" ] && pt_fail "pidfile left"
[ -e "$PT_RUNDIR/hv.sock" ] && pt_fail "socket left"
expect_rc 1 pvio list
expect_rc 0 pvio down		# nothing to stop is fine

# an hv started by hand is left alone, not doubled
pt_start_hv
expect_rc 0 pvio up
grep -q "pvio-hv already serving" "$PT_RUNDIR/out" || { cat "$PT_RUNDIR/out"; pt_fail "up ignored a live hv"; }
pvio list >/dev/null || pt_fail "hand-started hv lost its socket"
expect_rc 0 pvio down
pt_pass
