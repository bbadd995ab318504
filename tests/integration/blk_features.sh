#!/usr/bin/env bash
# Block features: multi-queue, persistent grants, indirect requests, flush
# and barrier, discard (reads back zero), read-only disks, 4096-byte sectors.
# pvio-timeout: 150
. "$(dirname "$0")/../lib/pvio-test.sh"
. "$(dirname "$0")/blk_lib.sh"
blk_setup

img=$(blk_image f 32)
blk_run feat "'$img,raw,xvda,rw'" "$BLK_TEST" --file "$img" \
	--expect-queues 2 --expect-persistent 1 --expect-indirect 256 --queues 2 features ||
	pt_fail "features (2 queues, persistent, indirect)"
blk_zero "$img"
blk_run feat4 "'$img,raw,xvda,rw'" "$BLK_TEST" --file "$img" \
	--expect-queues 4 --expect-persistent 0 --expect-indirect 0 \
	--no-persistent --no-indirect features ||
	pt_fail "features (4 queues, no persistent, no indirect)"
blk_zero "$img"
blk_run flush "'$img,raw,xvda,rw'" "$BLK_TEST" --file "$img" flush ||
	pt_fail "flush"
img2=$(blk_image d 16)
blk_run disc "'$img2,raw,xvda,rw,discard'" "$BLK_TEST" --file "$img2" discard ||
	pt_fail "discard"
blk_zero "$img"
blk_run ro "'$img,raw,xvda,ro'" "$BLK_TEST" --file "$img" readonly ||
	pt_fail "readonly"
img3=$(blk_image s 16)
blk_run s4k "'vdev=xvda,sector-size=4096,target=$img3'" "$BLK_TEST" --file "$img3" \
	--expect-sector 4096 sectors4k || pt_fail "4096-byte sectors"
pt_pass
