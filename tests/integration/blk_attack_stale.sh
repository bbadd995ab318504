#!/usr/bin/env bash
# A domain must never reach another domain's memory through a persistent-
# grant slot: an honest domain uses its disk with persistent grants (refs
# across the whole range), closes it and keeps running; an attacker then
# connects a fresh persistent disk and sends WRITEs and READs naming grant
# ref 0xffffffff. Each is refused; the victim's memory and disk stay exact,
# the attacker's disk unchanged, a second honest domain doing checksummed
# I/O throughout stays exact, blkback stays up, no mapping is left.
# pvio-timeout: 90
. "$(dirname "$0")/../lib/pvio-test.sh"
. "$(dirname "$0")/blk_lib.sh"
blk_setup
ATTACK=$PVIO_BUILD/tests/blk_attack
sync=$PT_RUNDIR/sync
mkdir -p "$sync"

vimg=$(blk_image victim 8)
himg=$(blk_image honest 32)
aimg=/var/tmp/pvio-blk-$PT_ID-attacker.img
blk_fill "$aimg" 8 356		# 0xee everywhere
cp "$aimg" "$aimg.orig"
pt_on_exit "rm -f '$aimg.orig'"

blk_run_bg honest "'$himg,raw,xvda,rw'" "$BLK_TEST" --file "$himg" \
	--seconds 8 load
hpid=$BLK_BG_PID
blk_run_bg victim "'$vimg,raw,xvda,rw'" "$ATTACK" --sync "$sync" \
	--file "$vimg" victim
vpid=$BLK_BG_PID
bad=()
blk_run attacker "'$aimg,raw,xvda,rw'" "$ATTACK" --sync "$sync" stale ||
	bad+=("the attacker's requests were not all refused")
blk_wait victim "$vpid" || bad+=("the victim's memory or disk changed")
blk_wait honest "$hpid" || bad+=("the honest domain's I/O failed")
cmp -s "$aimg" "$aimg.orig" || bad+=("the attacker's disk changed")
[ ${#bad[@]} -eq 0 ] || pt_fail "$(IFS=';'; echo "${bad[*]}")"
blk_back_sane
maps=$(blk_total_maps)
[ "$maps" = 0 ] || pt_fail "$maps grant mappings left after every domain ended"
pt_pass
