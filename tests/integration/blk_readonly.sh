#!/usr/bin/env bash
# Block read-only disks: reads are served, writes and discards refused.
# pvio-timeout: 90
. "$(dirname "$0")/../lib/pvio-test.sh"
. "$(dirname "$0")/blk_lib.sh"
blk_setup

img=$(blk_image f 32)
blk_run ro "'$img,raw,xvda,ro'" "$BLK_TEST" --file "$img" readonly ||
	pt_fail "readonly"
pt_pass
