#!/usr/bin/env bash
# pvio-timeout: 120
# Xen's unmodified xenstore tools (xenstore-utils) against pvio-store; when
# Xen's own xenstored is available (PVIO_XSREF_DIR, default
# /work/shared/tools/xsref) the same scenario runs against it and the two
# transcripts must be identical.
set -u
. "$(dirname "$0")/../lib/pvio-test.sh"
pt_init
command -v xenstore-write >/dev/null || pt_skip "xenstore-utils not installed"
here=$(cd "$(dirname "$0")" && pwd)

pt_start_store
"$here/store_xs_scenario.sh" >"$PT_RUNDIR/ours.out" 2>&1

# Checks that hold whatever the reference says.
o="$PT_RUNDIR/ours.out"
grep -qx 'two words' "$o" || pt_fail "xenstore-read output missing"
grep -q '^ c = "two words"' "$o" || pt_fail "xenstore-ls output missing"
grep -q '(n0,r0)' "$o" || pt_fail "xenstore-chmod not reflected by ls -p"
grep -qx '/vm/w/x' "$o" || pt_fail "xenstore-watch did not see /vm/w/x"
grep -q "GET_DOMAIN_PATH b'/local/domain/7" "$o" || pt_fail "GET_DOMAIN_PATH"
[ "$(pvio --rundir "$PT_RUNDIR" store read /tool/xenstored; echo rc=$?)" = $'\nrc=0' ] ||
	pt_fail "pvio store read"
pvio --rundir "$PT_RUNDIR" store write /cli/x hello || pt_fail "pvio store write"
[ "$(xenstore-read /cli/x)" = hello ] || pt_fail "pvio store write not visible"
pvio --rundir "$PT_RUNDIR" store ls / | grep -q '^  x = "hello"' || pt_fail "pvio store ls"
pvio --rundir "$PT_RUNDIR" store rm /cli || pt_fail "pvio store rm"
xenstore-exists /cli && pt_fail "pvio store rm did not remove"

xsref=${PVIO_XSREF_DIR:-/work/shared/tools/xsref}
if [ ! -x "$xsref/run-xenstored.sh" ]; then
	echo "reference xenstored not available: checked pvio-store alone"
	pt_pass
fi
mkdir -p "$PT_RUNDIR/xsref"
# xenstored itself would take $XENSTORED_PATH as its own socket
pt_daemon xsref env -u XENSTORED_PATH "$xsref/run-xenstored.sh" "$PT_RUNDIR/xsref"
if ! pt_wait_for 30 test -S "$PT_RUNDIR/xsref/socket"; then
	echo "reference xenstored did not start (see xsref.log): pvio-store alone"
	pt_pass
fi
XENSTORED_PATH="$PT_RUNDIR/xsref/socket" "$here/store_xs_scenario.sh" \
	>"$PT_RUNDIR/ref.out" 2>&1
diff -u "$PT_RUNDIR/ref.out" "$o" || pt_fail "pvio-store differs from Xen's xenstored"
echo "identical to Xen's xenstored on $(grep -c '^\$' "$o") commands"
pt_pass
