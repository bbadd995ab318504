#!/usr/bin/env bash
# Block flush and barrier: a write answered after FLUSH_DISKCACHE or
# WRITE_BARRIER is on the backing file.
# pvio-timeout: 90
. "$(dirname "$0")/../lib/pvio-test.sh"
. "$(dirname "$0")/blk_lib.sh"
blk_setup

img=$(blk_image f 32)
blk_run flush "'$img,raw,xvda,rw'" "$BLK_TEST" --file "$img" flush ||
	pt_fail "flush"
pt_pass
