#!/usr/bin/env bash
# pvio-timeout: 90
# The xl verbs on process domains, and processes that are pvio's to stop:
#  - help VERB / VERB --help exit 0 for every verb, a bad option exits 2
#  - domid, domname, rename (hv and the store), uptime, dmesg (stamped),
#    top -b (rows, -i, -d), list in xl's layout
#  - a program that never attaches: hv knows its pid at once; destroy
#    stops it (and its children); one that exits before attaching takes
#    its domain along; a failed create leaves no domain, process or node;
#    pvio down stops what is left
. "$(dirname "$0")/../lib/pvio-test.sh"
pt_init
pt_on_exit "pvio down"
pvio up >/dev/null || pt_fail "pvio up"

expect_rc() {
	local want=$1; shift
	"$@" >"$PT_RUNDIR/out" 2>&1
	local rc=$?
	[ $rc -eq "$want" ] || { cat "$PT_RUNDIR/out"; pt_fail "'$*' exited $rc, want $want"; }
}
gone() { ! kill -0 "$1" 2>/dev/null || grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }

# help for every verb, both ways
for verb in $(pvio help | awk '/^verbs:/ { on = 1; next } on { print $1 }'); do
	expect_rc 0 pvio help "$verb"
	grep -q "^usage: pvio $verb" "$PT_RUNDIR/out" || pt_fail "help $verb: $(cat "$PT_RUNDIR/out")"
	expect_rc 0 pvio "$verb" --help
	grep -q "^usage: pvio $verb" "$PT_RUNDIR/out" || pt_fail "$verb --help"
done
for verb in domid domname rename uptime dmesg sysrq vcpu-set qemu-monitor-command top create; do
	pvio help | grep -q "^  $verb " || pt_fail "no verb $verb"
done
expect_rc 2 pvio uptime --no-such-option
expect_rc 2 pvio top -d 0
expect_rc 2 pvio create -Z x.cfg

# a program that never attaches, with a child of its own
name="idle-$PT_ID"
cat >"$PT_RUNDIR/idle.cfg" <<CFG
name = "$name"
type = "process"
memory = 64
program = "sleep 300 & echo \$! > $PT_RUNDIR/child.pid; sleep 301"
CFG
expect_rc 0 pvio create "$PT_RUNDIR/idle.cfg"
pid=$(sed -n 's/.*program pid \([0-9]*\).*/\1/p' "$PT_RUNDIR/out")
[ -n "$pid" ] && kill -0 "$pid" || pt_fail "no program pid: $(cat "$PT_RUNDIR/out")"
pt_wait_for 5 test -s "$PT_RUNDIR/child.pid" || pt_fail "the program did not start"
child=$(cat "$PT_RUNDIR/child.pid")

dom=$(pvio domid "$name") || pt_fail "domid"
[ "$(pvio domname "$dom")" = "$name" ] || pt_fail "domname $dom"
expect_rc 1 pvio domid "nosuch-$PT_ID"
expect_rc 1 pvio domname 999
pvio list >"$PT_RUNDIR/list"
grep -qE "^$name +$dom +64 +1 +-b----" "$PT_RUNDIR/list" || { cat "$PT_RUNDIR/list"; pt_fail "list"; }

expect_rc 0 pvio rename "$name" "new-$name"
[ "$(pvio domname "$dom")" = "new-$name" ] || pt_fail "rename in hv"
[ "$(pvio store read /local/domain/$dom/name 2>/dev/null || echo new-$name)" = "new-$name" ] ||
	pt_fail "rename in the store"
expect_rc 1 pvio rename "new-$name" Domain-0
expect_rc 0 pvio rename "new-$name" "$name"

expect_rc 0 pvio uptime "$name"
grep -qE "^$name +$dom +0:00:0[0-9]$" "$PT_RUNDIR/out" || pt_fail "uptime: $(cat "$PT_RUNDIR/out")"
expect_rc 0 pvio uptime
grep -qE "^Domain-0 +0 " "$PT_RUNDIR/out" || pt_fail "uptime lists no Domain-0"

expect_rc 0 pvio dmesg
grep -qE "^\[[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:.]+\] pvio-hv: domain $dom \($name\): program pid $pid$" "$PT_RUNDIR/out" ||
	pt_fail "dmesg: $(tail -3 "$PT_RUNDIR/out")"
grep -q "renamed from" "$PT_RUNDIR/out" || pt_fail "dmesg lacks the rename"
expect_rc 0 pvio dmesg -c
expect_rc 0 pvio dmesg
[ ! -s "$PT_RUNDIR/out" ] || pt_fail "dmesg -c did not clear"

expect_rc 0 pvio top -b -i 2 -d 0.3
[ "$(grep -c '^ *NAME  *STATE  *CPU(sec)' "$PT_RUNDIR/out")" -eq 2 ] || pt_fail "top -i 2: $(cat "$PT_RUNDIR/out")"
grep -qE "^ *idle-$PT_ID +-b---- " "$PT_RUNDIR/out" ||
	grep -qE "^ *idle-[0-9a-f]* +-b---- " "$PT_RUNDIR/out" || pt_fail "top: no row for the domain"
grep -q "domains: " "$PT_RUNDIR/out" || pt_fail "top header"

# the process domain's verbs that need a VM say so
expect_rc 1 pvio sysrq "$name" h
grep -q "not a VM" "$PT_RUNDIR/out" || pt_fail "sysrq on a process domain"
expect_rc 1 pvio qemu-monitor-command "$name" info version

# destroy stops the program that never attached, and its child
expect_rc 0 pvio destroy "$name"
pt_wait_for 5 gone "$pid" || pt_fail "program $pid survived destroy"
pt_wait_for 5 gone "$child" || pt_fail "child $child survived destroy"
expect_rc 1 pvio domid "$name"

# a program that exits without attaching takes its domain along
cat >"$PT_RUNDIR/quit.cfg" <<CFG
name = "quit-$PT_ID"
type = "process"
program = "exit 3"
CFG
expect_rc 0 pvio create "$PT_RUNDIR/quit.cfg"
pt_wait_for 5 sh -c "! pvio domid quit-$PT_ID" || pt_fail "the domain outlived its program"

# a create that fails at a device leaves nothing
cat >"$PT_RUNDIR/bad.cfg" <<CFG
name = "bad-$PT_ID"
type = "process"
program = "sleep 302"
disk = [ '/nonexistent-$PT_ID.img,raw,xvda,w' ]
CFG
expect_rc 1 pvio create "$PT_RUNDIR/bad.cfg"
grep -q "nonexistent-$PT_ID.img: No such file" "$PT_RUNDIR/out" || pt_fail "bad create: $(cat "$PT_RUNDIR/out")"
expect_rc 1 pvio domid "bad-$PT_ID"
pgrep -f "sleep 302" && pt_fail "a failed create left its program"
pvio store ls /local/domain 2>/dev/null | grep -qv '^0 ' && {
	pvio store ls /local/domain; pt_fail "store nodes left"; }

# pvio down stops a program that never attached
expect_rc 0 pvio create "$PT_RUNDIR/idle.cfg"
pid=$(sed -n 's/.*program pid \([0-9]*\).*/\1/p' "$PT_RUNDIR/out")
expect_rc 0 pvio down
pt_wait_for 5 gone "$pid" || pt_fail "program $pid survived pvio down"
pt_pass
