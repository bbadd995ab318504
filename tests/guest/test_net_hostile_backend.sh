#!/usr/bin/env bash
# pvio-timeout: 200
# A hostile backend in front of pvio_netfront: pvio-netback is stopped and
# build/tests/net_evil_backend serves the VM's vif instead. After a few
# honest answers, each packet the guest sends meets the next bad answer:
# an unknown tx status, a tx response id beyond the ring, a tx id answered
# twice, an rx response longer than a page, rx data running past its page,
# an rx extra of an unknown type, rx and tx rsp_prod far beyond the
# requests. After each answer that breaks the ring protocol the backend
# goes back to InitWait (as a restarted backend would). Then it is honest
# and delivers one valid frame. The guest must log every protocol break,
# count the bad packets as errors, never hit BUG/Oops, still send and
# receive at the end, and print its PASS marker.
set -eu
. "$PVIO_TOP/tests/lib/pvio-test.sh"
. "$PVIO_TOP/tests/guest/guest-lib.sh"
pt_init
gt_init pvio_netfront
evil=$PVIO_TOP/build/tests/net_evil_backend
[ -x "$evil" ] || pt_fail "$evil missing: run make"
gt_stack_up

# the vif is served by the hostile backend alone
npid=$(cat "$PT_RUNDIR/netback.pid")
kill "$npid"
pt_wait_for 10 sh -c "! kill -0 $npid 2>/dev/null" || pt_fail "pvio-netback $npid did not stop"

cat >"$PT_RUNDIR/test.sh" <<'SCRIPT'
#!/bin/sh
i=0
while ! ip link show eth0 >/dev/null 2>&1 && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
ip link show eth0 >/dev/null 2>&1 || { dmesg | tail -n 20; exit 1; }
ip link set lo up
ip addr add 10.99.99.2/24 dev eth0
ip link set eth0 up
st() { cat /sys/class/net/eth0/statistics/$1; }
want="tx response id
tx rsp_prod
rx rsp_prod"
all_seen() {
	echo "$want" | while read -r m; do
		dmesg | grep -aq "backend broke the protocol ($m" || { echo "missing"; break; }
	done | grep -q missing && return 1
	[ "$(st tx_errors)" -ge 1 ] && [ "$(st rx_errors)" -ge 3 ] &&
		[ "$(st rx_packets)" -ge 1 ]
}
# every ARP request the pings make is a transmitted packet
n=0
while [ $n -lt 90 ] && ! all_seen; do
	ping -c 1 -W 1 10.99.99.1 >/dev/null 2>&1
	n=$((n + 1))
done
echo "PVIO-TEST: $n pings; tx_errors $(st tx_errors) rx_errors $(st rx_errors) rx_packets $(st rx_packets) tx_packets $(st tx_packets)"
dmesg | grep -a 'eth0\|pvio_netfront' | tail -n 20
all_seen || { echo "PVIO-TEST: not every bad answer was seen"; exit 3; }
# the backend is honest now: packets still go out and are answered
before=$(st tx_packets)
ping -c 3 -W 1 10.99.99.1 >/dev/null 2>&1
[ "$(st tx_packets)" -gt "$before" ] || { echo "PVIO-TEST: no transmit after the attack"; exit 4; }
ip link set eth0 down && ip link set eth0 up || exit 5
if dmesg | grep -aq 'BUG:\|Oops\|general protection\|WARNING:\|Call Trace'; then
	dmesg | grep -a -A5 'BUG:\|Oops\|general protection\|WARNING:' | head -n 30
	exit 6
fi
echo "PVIO-TEST: guest fine after the attack, uptime $(cut -d' ' -f1 /proc/uptime)"
exit 0
SCRIPT
gt_image "$PT_RUNDIR/test.sh" "$PT_RUNDIR/initrd"
gt_vm_cfg "$PT_RUNDIR/vm.cfg" "netevil-$PT_ID" "$PT_RUNDIR/initrd" 512 2 \
	"vif = [ 'bridge=ne$PT_ID,mac=00:16:3e:5a:0e:01' ]"

dom=$(gt_vm_create "$PT_RUNDIR/vm.cfg")
[ -n "$dom" ] || pt_fail "pvio create printed no domid"
log=$(gt_vm_console "$dom")
echo "domain $dom, console $log"
pt_daemon evil "$evil" "$PT_RUNDIR" "$dom"
# stop it before the VM goes (cleanups run last-registered first)
pt_on_exit "kill $PT_PID_evil"

pt_wait_for 170 sh -c "grep -aq 'PVIO-GUEST-RESULT:' '$log' || ! pvio list $dom >/dev/null 2>&1" ||
	true
if ! grep -aq 'PVIO-GUEST-RESULT:' "$log"; then
	echo "--- guest console (domain $dom, tail)"
	tail -n 40 "$log"
	pt_fail "domain $dom gave no result (gone: guest panic or QEMU exit, or timeout)"
fi
grep -a 'evil:' "$PT_RUNDIR/evil.log" | tail -n 20
gt_vm_wait_result "$dom" 5
grep -a 'PVIO-TEST\|eth0' "$log" | tail -n 30
grep -q 'case tx-index-jump' "$PT_RUNDIR/evil.log" ||
	pt_fail "the hostile backend did not get through its script"
pt_pass
