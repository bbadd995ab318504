#!/usr/bin/env bash
# Every grant map belongs to one request and is unmapped: 100 batches of
# 32 INDIRECT requests that all name one freshly granted indirect page
# (an invalid segment each, so no I/O happens) are all refused; while the
# disk is open the attacker's grants are mapped at most once per batch
# (the kept indirect pages) plus its ring, and none once it closed, while
# the attacker keeps running. A second honest domain doing checksummed
# I/O throughout stays exact; blkback stays up.
# pvio-timeout: 60
. "$(dirname "$0")/../lib/pvio-test.sh"
. "$(dirname "$0")/blk_lib.sh"
blk_setup
ATTACK=$PVIO_BUILD/tests/blk_attack
sync=$PT_RUNDIR/sync
mkdir -p "$sync"

himg=$(blk_image honest 32)
aimg=/var/tmp/pvio-blk-$PT_ID-attacker.img
blk_fill "$aimg" 8 356		# 0xee everywhere
blk_run_bg honest "'$himg,raw,xvda,rw'" "$BLK_TEST" --file "$himg" \
	--seconds 6 load
hpid=$BLK_BG_PID
blk_run_bg attacker "'$aimg,raw,xvda,rw'" "$ATTACK" --sync "$sync" dupind
apid=$BLK_BG_PID

pt_wait_for 40 test -e "$sync/flooded" || {
	blk_wait attacker "$apid"; pt_fail "the attacker's requests were not all refused"; }
maps=$(blk_dom_maps attacker)
echo "attacker's grants mapped after the flood: $maps (ring 1 + 100 indirect pages)"
[ "$maps" -le 101 ] || pt_fail "$maps of the attacker's grants mapped: leaked"
touch "$sync/checked"
pt_wait_for 20 test -e "$sync/closed" || {
	blk_wait attacker "$apid"; pt_fail "the attacker's disk did not close"; }
maps=$(blk_dom_maps attacker)
echo "attacker's grants mapped after its disk closed: $maps"
[ "$maps" = 0 ] || pt_fail "$maps of the attacker's grants still mapped after its disk closed"
touch "$sync/done"
blk_wait attacker "$apid" || pt_fail "attacker"
blk_wait honest "$hpid" || pt_fail "the honest domain's I/O failed"
blk_back_sane
maps=$(blk_total_maps)
[ "$maps" = 0 ] || pt_fail "$maps grant mappings left after every domain ended"
pt_pass
