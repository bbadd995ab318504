#!/usr/bin/env bash
# Block feature negotiation: 2 queues with persistent grants and indirect
# requests, then 4 queues with neither: what the frontend negotiated matches
# what was asked.
# pvio-timeout: 90
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
pt_pass
