#!/usr/bin/env bash
# pvio-timeout: 60
# Block hotplug scripts (script= and the iscsi:/nbd:... prefixes): pvio
# runs SCRIPT add once the backend dir exists, with libxl's environment
# (XENBUS_PATH, XENBUS_TYPE, XENBUS_BASE_PATH, script); the script reads
# params with Xen's own xenstore-read and answers physical-device-path,
# which pvio-blkback then serves; SCRIPT remove runs at detach. A script
# that fails (hotplug-error, non-zero exit) fails the create, leaving no
# domain, device dir or program. A domain in the background gets its
# remove from its monitor when it ends.
. "$(dirname "$0")/../lib/pvio-test.sh"
. "$(dirname "$0")/blk_lib.sh"
command -v xenstore-read >/dev/null || pt_skip "xenstore-utils missing"
blk_setup
export PVIO_SCRIPT_DIR=$PT_RUNDIR/scripts
mkdir -p "$PVIO_SCRIPT_DIR"
cat >"$PVIO_SCRIPT_DIR/block-testvol" <<'SH'
#!/bin/sh
# A volume manager in miniature: params names a volume, made on "add".
set -e
dir=$(dirname "$XENSTORED_PATH")/volumes
vol=$(xenstore-read "$XENBUS_PATH/params")
echo "$1 $XENBUS_TYPE $XENBUS_BASE_PATH $(basename "$script") $XENBUS_PATH $vol" >>"$dir.log"
case $1 in
add)
	[ "$vol" != broken ] || { xenstore-write "$XENBUS_PATH/hotplug-error" "no volume"; exit 1; }
	mkdir -p "$dir"
	truncate -s 32M "$dir/$vol"
	xenstore-write "$XENBUS_PATH/physical-device-path" "$dir/$vol"
	;;
remove)
	rm -f "$dir/$vol"
	;;
esac
SH
chmod +x "$PVIO_SCRIPT_DIR/block-testvol"
log=$PT_RUNDIR/volumes.log

blk_run scr "'script=block-testvol,vdev=xvda,target=vol-a'" "$BLK_TEST" \
	--file "$PT_RUNDIR/volumes/vol-a" integrity || pt_fail "a disk from a block script"
grep -q "^add vbd backend block-testvol /local/domain/0/backend/vbd/[0-9]*/51712 vol-a$" "$log" ||
	pt_fail "add: $(cat "$log")"
grep -q "^remove vbd .* vol-a$" "$log" || pt_fail "no remove at teardown: $(cat "$log")"
[ ! -e "$PT_RUNDIR/volumes/vol-a" ] || pt_fail "remove did not run to the end"

# in the background: the domain's monitor runs remove when it ends
: >"$log"
cat >"$PT_RUNDIR/bg.cfg" <<CFG
name = "bg-$PT_ID"
type = "process"
memory = 64
program = "$BLK_TEST --file $PT_RUNDIR/volumes/vol-b integrity"
disk = [ 'script=block-testvol,vdev=xvda,target=vol-b' ]
CFG
pvio create "$PT_RUNDIR/bg.cfg" >"$PT_RUNDIR/out" 2>&1 || pt_fail "background create: $(cat "$PT_RUNDIR/out")"
pt_wait_for 30 grep -q "^remove vbd .* vol-b$" "$log" ||
	pt_fail "the monitor did not run remove: $(cat "$log"; cat "$PT_RUNDIR"/vm-*/monitor.log)"
grep -q "writes verified" "$PT_RUNDIR/bg-$PT_ID.log" || pt_fail "bg: $(cat "$PT_RUNDIR/bg-$PT_ID.log")"
pt_wait_for 10 sh -c "! xenstore-ls /local/domain/0/backend/vbd 2>/dev/null | grep -q ." ||
	pt_fail "the vbd dir was left"

# a failing script: the create fails and leaves nothing
: >"$log"
cat >"$PT_RUNDIR/bad.cfg" <<CFG
name = "bad-$PT_ID"
type = "process"
memory = 64
program = "sleep 303"
disk = [ 'script=block-testvol,vdev=xvda,target=broken' ]
CFG
pvio create "$PT_RUNDIR/bad.cfg" >"$PT_RUNDIR/out" 2>&1 && pt_fail "a failed block script was ignored"
grep -q "block script .*block-testvol add .* failed" "$PT_RUNDIR/out" || pt_fail "message: $(cat "$PT_RUNDIR/out")"
pvio list | grep -q "bad-$PT_ID" && pt_fail "the domain was left"
pgrep -f "sleep 303" && pt_fail "the program was left"
xenstore-ls /local/domain/0/backend/vbd 2>/dev/null | grep -q . && pt_fail "a vbd dir was left"
# an unknown script is named
pvio create "$PT_RUNDIR/bad.cfg" 'disk=["script=block-none,vdev=xvda,target=x"]' >"$PT_RUNDIR/out" 2>&1 &&
	pt_fail "a missing script was ignored"
grep -q "block script 'block-none' not found" "$PT_RUNDIR/out" || pt_fail "$(cat "$PT_RUNDIR/out")"
pt_pass
