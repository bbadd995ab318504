#!/usr/bin/env bash
# pvio-timeout: 240
# A VM whose disk is an NBD export on another host: nbdkit serves a file
# from a second network namespace, reached over a veth from the stack's
# namespace (nbd://10.79.0.2:PORT/). In the guest fio writes at random
# with verify=crc32c; meanwhile the NBD server is killed with SIGKILL and
# started again, twice. blkback reconnects and sends again what was not
# answered: fio finishes with no I/O or verify error, the guest's kernel
# logs no I/O error, its frontend never had to reconnect and never found
# a response that came without its event.
set -eu
. "$PVIO_TOP/tests/lib/pvio-test.sh"
. "$PVIO_TOP/tests/guest/guest-lib.sh"
. "$PVIO_TOP/tests/guest/net-lib.sh"
pt_init
gt_init pvio_blkfront
command -v nbdkit >/dev/null || pt_skip "nbdkit not installed"
gn_stack_up

# the storage host
pt_netns NS_ST st
ip link add "gb$PT_ID" netns "$GN_NS" type veth peer name "gs$PT_ID" netns "$NS_ST" ||
	pt_fail "cannot make the veth"
ip -n "$GN_NS" addr add 10.79.0.1/24 dev "gb$PT_ID"
ip -n "$NS_ST" addr add 10.79.0.2/24 dev "gs$PT_ID"
ip -n "$GN_NS" link set "gb$PT_ID" up
ip -n "$NS_ST" link set "gs$PT_ID" up
img="$PT_RUNDIR/export.img"
truncate -s 256M "$img"
port=$(( 20000 + (0x$PT_ID % 20000) ))
nbdkit_start() {
	pt_daemon nbdkit ip netns exec "$NS_ST" nbdkit -f -i 10.79.0.2 -p "$port" file "$img"
	pt_wait_for 10 ip netns exec "$NS_ST" sh -c "ss -ltn | grep -q ':$port '" ||
		pt_fail "nbdkit did not start"
}
nbdkit_start

cat >"$PT_RUNDIR/test.sh" <<'SCRIPT'
#!/bin/sh
i=0
while [ ! -b /dev/xvda ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
[ -b /dev/xvda ] || { dmesg | tail -n 20; exit 1; }
echo "PVIO-TEST: fio start"
fio --name=nbd --filename=/dev/xvda --ioengine=libaio --direct=1 \
	--rw=randwrite --bsrange=4k-64k --iodepth=16 --size=128M \
	--verify=crc32c --do_verify=1 --verify_fatal=1 --minimal >/tmp/fio.out 2>&1
rc=$?
echo "PVIO-TEST: fio rc=$rc"
echo "PVIO-TEST: fio $(cut -d";" -f3,5,48,49,50 /tmp/fio.out)"
grep -ai 'verify\|error\|bad' /tmp/fio.out | head -n 10
[ $rc -eq 0 ] || { dmesg | tail -n 20; exit 2; }
dmesg | grep -a 'I/O error\|backend restarted\|BUG:\|WARNING:\|Call Trace' && exit 3
# blkfront's request timeout looked at the ring: say what it found; a
# response published without its event is a lost event, a bug
dmesg | grep -a 'without their event\|backend rung again\|responses .* taken' | sed 's/^/PVIO-TEST: /'
dmesg | grep -aq 'without their event' && exit 4
echo "PVIO-TEST: ok"
exit 0
SCRIPT
gt_image "$PT_RUNDIR/test.sh" "$PT_RUNDIR/initrd"
gt_vm_cfg "$PT_RUNDIR/vm.cfg" "nbd-$PT_ID" "$PT_RUNDIR/initrd" 384 1 \
	"disk = [ 'vdev=xvda,target=nbd://10.79.0.2:$port/' ]"
dom=$(gt_vm_create "$PT_RUNDIR/vm.cfg")
[ -n "$dom" ] || pt_fail "pvio create printed no domid"
log=$(gt_vm_console "$dom")
echo "domain $dom, console $log"
pt_wait_for 120 grep -aq "PVIO-TEST: fio start\|PVIO-GUEST-RESULT" "$log" ||
	pt_fail "the guest did not start fio"
for k in $(seq 1 ${NBD_KILLS:-2}); do
	sleep 1
	grep -aq "PVIO-TEST: fio rc" "$log" && { echo "fio done before kill $k"; break; }
	kill -9 "$PT_PID_nbdkit"
	wait "$PT_PID_nbdkit" 2>/dev/null || true
	echo "nbdkit killed ($k)"
	sleep 0.5
	nbdkit_start
done
gt_vm_wait_result "$dom" 180
grep -a 'PVIO-TEST' "$log"
grep -a "lost nbd\|reconnected to\|re-issue" "$PT_RUNDIR/blkback.log" || true
n=$(grep -c "reconnected to nbd://10.79.0.2" "$PT_RUNDIR/blkback.log" || true)
echo "blkback reconnected $n time(s)"
[ "$n" -ge 1 ] || pt_fail "blkback never lost the server: the kills came too late"
gn_check_console "$dom"
pt_pass
