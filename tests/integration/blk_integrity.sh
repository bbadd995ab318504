#!/usr/bin/env bash
# Block path data integrity: random writes through hv + store + blkback +
# user blkfront, verified through the stack and on the backing file, for
# both engines, single and multi queue, with and without persistent grants
# and indirect segments. blkback polls its busy queues here (--spin-us, as
# it does by default for VMs), so that path moves verified data too.
# pvio-timeout: 150
. "$(dirname "$0")/../lib/pvio-test.sh"
. "$(dirname "$0")/blk_lib.sh"
blk_setup --spin-us 50

img=$(blk_image a 64)
blk_run integ "'$img,raw,xvda,rw'" "$BLK_TEST" --file "$img" integrity ||
	pt_fail "integrity (uring, defaults)"
blk_zero "$img"
blk_run integ2 "'vdev=xvda,pvio-engine=aio,target=$img'" "$BLK_TEST" --file "$img" \
	--queues 1 --order 0 --no-persistent --no-indirect integrity ||
	pt_fail "integrity (aio, 1 queue, order 0, no persistent, no indirect)"
blk_zero "$img"
blk_run integ3 "'vdev=xvda,engine=aio,target=$img'" "$BLK_TEST" --file "$img" \
	--queues 3 --order 2 integrity ||
	pt_fail "integrity (aio, 3 queues, order 2)"
pt_pass
