#!/usr/bin/env bash
# pvio block-attach / block-list / block-detach and `pvio create`/`destroy`:
# store dirs exactly as xl writes them (paths, keys, permissions), the
# backend picks the disk up; bad specs, missing files, a vdev in use and an
# unknown domain are refused with a clear message and change nothing.
# pvio-timeout: 60
. "$(dirname "$0")/../lib/pvio-test.sh"
. "$(dirname "$0")/blk_lib.sh"
blk_setup
command -v xenstore-read >/dev/null || pt_skip "xenstore-utils missing"

P() { pvio --rundir "$PT_RUNDIR" "$@"; }
img=$(blk_image at 8)
img2=$(blk_image at2 4)
name=att-$PT_ID
cat >"$PT_RUNDIR/att.cfg" <<CFG
# a process domain that just sleeps: only its devices matter here
name = "$name"
type = "process"
memory = 64
program = "sleep 60"
disk = [ '$img,raw,xvda,rw',
         'vdev=xvdc, access=ro, target=$img2' ]
CFG
P create "$PT_RUNDIR/att.cfg" || pt_fail "create"
pt_on_exit "pvio --rundir $PT_RUNDIR destroy $name"
domid=$(P block-list "$name" >/dev/null && xenstore-list /local/domain/0/backend/vbd)
[ -n "$domid" ] || pt_fail "no backend dir after create"
fe=/local/domain/$domid/device/vbd
be=/local/domain/0/backend/vbd/$domid

# the two disks of the config
[ "$(xenstore-read $be/51712/params)" = "$img" ] || pt_fail "xvda params"
[ "$(xenstore-read $be/51744/mode)" = "r" ] || pt_fail "xvdc mode"
pt_wait_for 5 test "$(xenstore-read $be/51712/state)" = 2 ||
	pt_fail "blkback did not take xvda (state $(xenstore-read $be/51712/state))"

# attach a third, positional spec
P block-attach "$name" "$img2,raw,xvdb,rw" || pt_fail "block-attach"
[ "$(xenstore-read $fe/51728/backend)" = "$be/51728" ] || pt_fail "frontend -> backend"
[ "$(xenstore-read $fe/51728/backend-id)" = 0 ] || pt_fail "backend-id"
[ "$(xenstore-read $fe/51728/virtual-device)" = 51728 ] || pt_fail "virtual-device"
[ "$(xenstore-read $fe/51728/device-type)" = disk ] || pt_fail "device-type"
[ "$(xenstore-read $fe/51728/state)" = 1 ] || pt_fail "frontend state"
[ "$(xenstore-read $be/51728/frontend)" = "$fe/51728" ] || pt_fail "backend -> frontend"
[ "$(xenstore-read $be/51728/frontend-id)" = "$domid" ] || pt_fail "frontend-id"
[ "$(xenstore-read $be/51728/params)" = "$img2" ] || pt_fail "params"
[ "$(xenstore-read $be/51728/mode)" = w ] || pt_fail "mode"
[ "$(xenstore-read $be/51728/type)" = file ] || pt_fail "type"
[ "$(xenstore-read $be/51728/online)" = 1 ] || pt_fail "online"
fperm=$(xenstore-ls -p $fe | grep '^51728 ' | sed 's/.*(\(.*\))$/\1/')
bperm=$(xenstore-ls -p $be | grep '^51728 ' | sed 's/.*(\(.*\))$/\1/')
[ "$fperm" = "n$domid,r0" ] || pt_fail "frontend perms '$fperm'"
[ "$bperm" = "n0,r$domid" ] || pt_fail "backend perms '$bperm'"
pt_wait_for 5 test "$(xenstore-read $be/51728/state)" = 2 || pt_fail "blkback state"
[ "$(xenstore-read $be/51728/sectors)" = 8192 ] || pt_fail "sectors"
[ "$(xenstore-read $be/51728/feature-persistent)" = 1 ] || pt_fail "feature-persistent"

P block-list "$name" >"$PT_RUNDIR/list.out" || pt_fail "block-list"
cat "$PT_RUNDIR/list.out"
[ "$(grep -c '^517' "$PT_RUNDIR/list.out")" = 3 ] || pt_fail "block-list shows 3 disks"

snapshot() { xenstore-ls -f /local/domain | sort; }
before=$(snapshot)
refuse() {	# EXPECTED-MESSAGE ARGS...
	local msg=$1; shift
	local out
	if out=$(P "$@" 2>&1); then
		pt_fail "accepted: $*"
	fi
	echo "refused: $* -> $out"
	echo "$out" | grep -q "$msg" || pt_fail "message for '$*' lacks '$msg': $out"
	[ "$(snapshot)" = "$before" ] || pt_fail "store changed by '$*'"
}
refuse "already in use" block-attach "$name" "$img,raw,xvdb,rw"
refuse "bad vdev" block-attach "$name" "$img,raw,vdz,rw"
refuse "unknown format" block-attach "$name" "$img,qcow9,xvde,rw"
refuse "No such file" block-attach "$name" "/var/tmp/nope-$PT_ID.img,raw,xvde,rw"
refuse "unknown access" block-attach "$name" "$img,raw,xvde,rx"
refuse "unknown parameter" block-attach "$name" "vdev=xvde,color=red,target=$img"
refuse "no domain" block-attach nosuchdomain-$PT_ID "$img,raw,xvde,rw"
refuse "no vbd" block-detach "$name" xvdf

P block-detach "$name" xvdb || pt_fail "block-detach"
xenstore-read $be/51728/state 2>/dev/null && pt_fail "backend dir still there"
xenstore-read $fe/51728/state 2>/dev/null && pt_fail "frontend dir still there"
pt_wait_for 5 grep -q "vbd/$domid/51728: removed" "$PT_RUNDIR/blkback.log" ||
	pt_fail "blkback did not drop the detached disk"
[ "$(P block-list "$name" | grep -c '^517')" = 2 ] || pt_fail "block-list after detach"

P destroy "$name" || pt_fail "destroy"
xenstore-list $be 2>/dev/null | grep -q . && pt_fail "vbds left after destroy"
P block-list "$name" 2>/dev/null && pt_fail "domain still listed after destroy"
pt_pass
