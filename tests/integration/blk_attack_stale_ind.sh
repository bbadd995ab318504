#!/usr/bin/env bash
# An empty persistent-grant slot must never serve as an indirect page:
# INDIRECT requests naming grant ref 0xffffffff as their indirect page, on
# every queue of a fresh persistent disk, are each refused and blkback
# stays up; a second honest domain doing checksummed I/O throughout stays
# exact, and the attacker's own disk still works.
# pvio-timeout: 60
. "$(dirname "$0")/../lib/pvio-test.sh"
. "$(dirname "$0")/blk_lib.sh"
blk_setup
ATTACK=$PVIO_BUILD/tests/blk_attack

himg=$(blk_image honest 32)
aimg=/var/tmp/pvio-blk-$PT_ID-attacker.img
blk_fill "$aimg" 8 356		# 0xee everywhere
cp "$aimg" "$aimg.orig"
pt_on_exit "rm -f '$aimg.orig'"

blk_run_bg honest "'$himg,raw,xvda,rw'" "$BLK_TEST" --file "$himg" \
	--seconds 4 load
hpid=$BLK_BG_PID
bad=()
blk_run attacker "'$aimg,raw,xvda,rw'" "$ATTACK" stale-ind ||
	bad+=("the attacker's requests were not all refused")
kill -0 "$PT_PID_blkback" 2>/dev/null || bad+=("pvio-blkback died")
blk_wait honest "$hpid" || bad+=("the honest domain's I/O failed")
cmp -s "$aimg" "$aimg.orig" || bad+=("the attacker's disk changed")
[ ${#bad[@]} -eq 0 ] || pt_fail "$(IFS=';'; echo "${bad[*]}")"
blk_back_sane
maps=$(blk_total_maps)
[ "$maps" = 0 ] || pt_fail "$maps grant mappings left after every domain ended"
pt_pass
