#!/usr/bin/env bash
# One domain reaching its limits is refused or slowed alone: blkback runs
# with small per-domain limits; an attacker with two disks reads thousands
# of distinct pages on both at once (past its persistent-grant and
# in-flight limits), repeats the duplicate-indirect flood on both, and
# asks for a third disk past its ring-page limit. Every request is
# answered, the third disk is refused with an error node, the attacker
# never holds more mappings than its limits allow, an honest domain doing
# checksummed I/O throughout stays exact, a new honest domain's disk
# connects and verifies meanwhile, and no mapping is left at the end.
# pvio-timeout: 90
. "$(dirname "$0")/../lib/pvio-test.sh"
. "$(dirname "$0")/blk_lib.sh"
pgrants=512 segs=264 ringpages=16
blk_setup --max-persistent-grants $pgrants --max-inflight-segments $segs \
	--max-inflight-requests 64 --max-ring-pages $ringpages
ATTACK=$PVIO_BUILD/tests/blk_attack
sync=$PT_RUNDIR/sync
mkdir -p "$sync"

himg=$(blk_image honest 32)
nimg=$(blk_image newcomer 16)
aimg=/var/tmp/pvio-blk-$PT_ID-attacker.img
bimg=/var/tmp/pvio-blk-$PT_ID-attacker2.img
blk_fill "$aimg" 8 356		# 0xee everywhere
cp "$aimg" "$bimg"
cimg=$(blk_image attacker3 8)

blk_run_bg honest "'$himg,raw,xvda,rw'" "$BLK_TEST" --file "$himg" \
	--queues 1 --order 2 --seconds 8 load
hpid=$BLK_BG_PID
blk_run_bg attacker "'$aimg,raw,xvda,rw', '$bimg,raw,xvdb,rw', '$cimg,raw,xvdc,rw'" \
	"$ATTACK" --sync "$sync" flood
apid=$BLK_BG_PID

pt_wait_for 60 test -e "$sync/flooded" || {
	blk_wait attacker "$apid"; pt_fail "the attacker's flood"; }
maps=$(blk_dom_maps attacker)
echo "attacker's grants mapped after the flood: $maps (limits: $pgrants kept + 2 ring pages)"
[ "$maps" -le $((pgrants + 2)) ] ||
	pt_fail "$maps of the attacker's grants mapped, over its limits"
# a new disk of another domain connects while the attacker sits at its limits
blk_run newcomer "'$nimg,raw,xvda,rw'" "$BLK_TEST" --file "$nimg" \
	--queues 1 --order 2 integrity || pt_fail "a new honest disk beside the attacker"
touch "$sync/checked"
pt_wait_for 30 test -e "$sync/closed" || {
	blk_wait attacker "$apid"; pt_fail "the attacker's disks after the flood"; }
maps=$(blk_dom_maps attacker)
[ "$maps" = 0 ] || pt_fail "$maps of the attacker's grants still mapped after its disks closed"
touch "$sync/done"
blk_wait attacker "$apid" || pt_fail "attacker"
blk_wait honest "$hpid" || pt_fail "the honest domain's I/O failed"
aid=$(sed -n 's/.*domain \([0-9]*\) (attacker-.*created.*/\1/p' "$PT_RUNDIR/hv.log")
for what in "has [0-9]* ring pages mapped" "at its in-flight limit" \
	"holds [0-9]* persistent grants, its limit"; do
	grep -q "domain $aid $what" "$PT_RUNDIR/blkback.log" ||
		pt_fail "the attacker never reached a limit: no log of '$what'"
done
blk_back_sane
maps=$(blk_total_maps)
[ "$maps" = 0 ] || pt_fail "$maps grant mappings left after every domain ended"
pt_pass
