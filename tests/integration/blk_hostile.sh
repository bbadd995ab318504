#!/usr/bin/env bash
# Hostile frontend: malformed requests written straight into the ring get
# error (or EOPNOTSUPP) responses, a broken ring index disconnects that
# disk with an error node, lying handshakes (ring order 9, 99 queues) are
# refused with an error node, blkback survives, and another disk of the
# same domain keeps working throughout.
# pvio-timeout: 90
. "$(dirname "$0")/../lib/pvio-test.sh"
. "$(dirname "$0")/blk_lib.sh"
blk_setup

bad=$(blk_image bad 8)
goodimg=$(blk_image good 8)
blk_run hostile "'$bad,raw,xvda,rw', '$goodimg,raw,xvdb,rw', '$bad,raw,xvdc,rw', '$bad,raw,xvdd,rw'" \
	"$PVIO_BUILD/tests/blk_hostile" || pt_fail "hostile frontend cases"
kill -0 "$PT_PID_blkback" || pt_fail "pvio-blkback died"
grep -q "broke the ring protocol" "$PT_RUNDIR/blkback.log" ||
	pt_fail "no log line for the broken ring"
pt_pass
