#!/usr/bin/env bash
# Detach while the frontend is still connecting: its rings are offered and
# the backend serves them, but it has not said Connected yet (a guest's
# blkfront reads its partition table in between). block-detach must make
# the backend ask it to close (Closing) and answer what it issues until
# it does; then Closed, and both dirs are removed. Dropping the
# connection at once left such a read unanswered for ever (a guest's disk
# removal then hung, and with it every later hot-plug).
# pvio-timeout: 60
. "$(dirname "$0")/../lib/pvio-test.sh"
. "$(dirname "$0")/blk_lib.sh"
blk_setup
sync=$PT_RUNDIR/sync
mkdir -p "$sync"
img=/var/tmp/pvio-blk-$PT_ID-early.img
blk_fill "$img" 8 356		# 0xee everywhere: the frontend reads it back

blk_run_bg early "'$img,raw,xvda,rw'" "$PVIO_BUILD/tests/blk_attack" \
	--sync "$sync" detach
pid=$BLK_BG_PID
pt_wait_for 30 test -e "$sync/initialised" || {
	blk_wait early "$pid" || true
	pt_fail "the frontend did not get its rings served"
}
out=$(pvio --rundir "$PT_RUNDIR" block-detach "early-$PT_ID" xvda 2>&1) ||
	pt_fail "block-detach failed: $out"
echo "$out"
case $out in *"did not close"*) pt_fail "the backend had to be removed by force";; esac
blk_wait early "$pid" || pt_fail "the frontend's read was not answered during the detach"
blk_back_sane
pt_pass
