#!/usr/bin/env bash
# Block 4096-byte sectors (sector-size=4096): the sector size is advertised,
# 4 KiB I/O works and the data checks out.
# pvio-timeout: 90
. "$(dirname "$0")/../lib/pvio-test.sh"
. "$(dirname "$0")/blk_lib.sh"
blk_setup

img=$(blk_image s 16)
blk_run s4k "'vdev=xvda,sector-size=4096,target=$img'" "$BLK_TEST" --file "$img" \
	--expect-sector 4096 sectors4k || pt_fail "4096-byte sectors"
pt_pass
