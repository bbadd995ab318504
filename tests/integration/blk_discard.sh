#!/usr/bin/env bash
# Block discard: a discarded range reads back zero, through the frontend and
# on the backing file.
# pvio-timeout: 90
. "$(dirname "$0")/../lib/pvio-test.sh"
. "$(dirname "$0")/blk_lib.sh"
blk_setup

img=$(blk_image d 16)
blk_run disc "'$img,raw,xvda,rw,discard'" "$BLK_TEST" --file "$img" discard ||
	pt_fail "discard"
pt_pass
