#!/usr/bin/env bash
# A scenario of Xen's own xenstore tools, run against the daemon at
# $XENSTORED_PATH; prints every output and exit status. The store test runs
# it against pvio-store and, when available, Xen's xenstored, and diffs.
here=$(cd "$(dirname "$0")" && pwd)
raw() { "$here/xs_raw.py" req "$@"; }
run() { echo "\$ $*"; "$@" 2>&1; echo "rc=$?"; }

run xenstore-write /vm/a 1 /vm/b/c "two words" /vm/b/d ""
run xenstore-read /vm/a /vm/b/c
run xenstore-read /vm/missing
run xenstore-list /vm
run xenstore-list /vm/b
run xenstore-exists /vm/b/c
run xenstore-exists /vm/nope
run xenstore-ls /vm
run xenstore-ls -p /vm
run xenstore-chmod /vm/b n0 r0
run xenstore-ls -p /vm
run xenstore-chmod -r /vm b0
run xenstore-ls -p /vm
run xenstore-rm /vm/b/c
run xenstore-rm /vm/b/none
run xenstore-rm /vm/zz/none
run xenstore-list /vm/b
run xenstore-write /vm/bad//path x
run xenstore-write /vm/trailing/ x
run xenstore-read /tool/xenstored
run xenstore-rm -t /vm/b/d
run xenstore-ls /vm
run timeout 2 xenstore-watch -n 3 /vm/w &
sleep 0.5
xenstore-write /vm/w/x 1 /vm/other 2
xenstore-rm /vm/w
wait
run raw READ /vm/a
run raw WRITE /vm/v value
run raw MKDIR /vm/v
run raw DIRECTORY /vm
run raw DIRECTORY_PART /vm 0 | sed -E "s/b'[0-9]+/b'GEN/"
run raw GET_PERMS /vm/v
run raw SET_PERMS /vm/v r0
run raw GET_PERMS /vm/v
run raw SET_PERMS /vm/v q0
run raw GET_DOMAIN_PATH 7
run raw GET_DOMAIN_PATH x
run raw IS_DOMAIN_INTRODUCED 7
run raw RM /
run raw RM /vm/none/deeper
run raw WATCH /vm/a tok
run raw UNWATCH /vm/a tok
run raw TRANSACTION_END T
run raw READ /bad@path
run raw READ relative/path
run raw WRITE /vm/nosep
run xenstore-rm /vm
run xenstore-ls /tool
run raw WRITE /x@y v
run raw READ /x@y
run raw WRITE @abc v
run raw RM /x@y
