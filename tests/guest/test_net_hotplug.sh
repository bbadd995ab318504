#!/usr/bin/env bash
# pvio-timeout: 240
# Hot attach and detach of a pvio vif in a running VM, and a backend
# restart under it:
#  1. the VM boots with vif 0 on bridge A and pings dom0 over it;
#  2. `pvio network-attach` adds vif 1 (mtu=9000) on bridge B: eth1
#     appears in the guest with MTU 9000, pings and carries an iperf3 run;
#  3. with iperf3 still sending on eth1, `pvio network-detach` removes it:
#     eth1 goes away (unregister_netdev with traffic in flight), eth0 still
#     works, and no TAP, backend node or store node of vif 1 remains;
#  4. pvio-netback is killed (-9) and restarted: eth0's carrier drops while
#     the vif reconnects, then traffic flows again.
# The guest's console must show no kernel report.
set -eu
. "$PVIO_TOP/tests/lib/pvio-test.sh"
. "$PVIO_TOP/tests/guest/guest-lib.sh"
. "$PVIO_TOP/tests/guest/net-lib.sh"
pt_init
gt_init pvio_netfront
gn_stack_up
bra=bra$PT_ID
brb=brb$PT_ID

cat >"$PT_RUNDIR/test.sh" <<'SCRIPT'
#!/bin/sh
say() { echo "PVIO-TEST: $*"; }
wait_for() {	# TENTHS CMD...
	n=$1; shift; i=0
	until "$@" >/dev/null 2>&1; do
		i=$((i + 1)); [ $i -lt $n ] || return 1; sleep 0.1
	done
}
pingok() { ping -c 1 -W 1 "$1"; }
die() { dmesg | grep -v 'PVIO-' | tail -n 25; exit "$1"; }
connects() { dmesg | grep -c "$1: connected"; }
wait_for 300 ip link show eth0 || die 2
ip link set lo up
ip addr add 10.97.0.2/24 dev eth0
ip link set eth0 up
wait_for 600 pingok 10.97.0.1 || die 3
say "eth0 ok"
# 2. hot attach
wait_for 600 ip link show eth1 || die 4
[ "$(cat /sys/class/net/eth1/mtu)" = 9000 ] || die 12
ip addr add 10.96.0.2/24 dev eth1
ip link set eth1 up
wait_for 300 pingok 10.96.0.1 || die 5
iperf3 -c 10.96.0.1 -t 2 -f m >/tmp/i1 2>&1 || { cat /tmp/i1; die 6; }
say "eth1 $(grep receiver /tmp/i1 | awk '{print $7, $8}')"
# 3. detach under traffic
iperf3 -c 10.96.0.1 -t 60 -f m >/tmp/i2 2>&1 &
ipid=$!
sleep 2
say "eth1 busy"
wait_for 900 sh -c '! ip link show eth1' || die 7
say "eth1 gone"
kill $ipid 2>/dev/null; wait $ipid 2>/dev/null
wait_for 100 pingok 10.97.0.1 || die 8
say "eth0 still ok"
# 4. backend restart: a second connect of eth0
c=$(connects eth0)
say "restart now (connects $c)"
wait_for 900 sh -c "[ \$(dmesg | grep -c 'eth0: connected') -gt $c ]" || die 9
wait_for 300 pingok 10.97.0.1 || die 10
iperf3 -c 10.97.0.1 -t 2 -f m >/tmp/i3 2>&1 || { cat /tmp/i3; die 11; }
say "after restart $(grep receiver /tmp/i3 | awk '{print $7, $8}')"
dmesg | grep -i 'pvio_netfront\|eth[01]' | tail -20
exit 0
SCRIPT
gt_image "$PT_RUNDIR/test.sh" "$PT_RUNDIR/initrd"
gt_vm_cfg "$PT_RUNDIR/vm.cfg" "nh-$PT_ID" "$PT_RUNDIR/initrd" 512 2 \
	"vif = [ 'bridge=$bra' ]"
dom=$(gt_vm_create "$PT_RUNDIR/vm.cfg")
[ -n "$dom" ] || pt_fail "pvio create printed no domid"
log=$(gt_vm_console "$dom")
echo "domain $dom"
gn_bridge_ip "$bra" 10.97.0.1/24
gn_iperf_server 10.97.0.1
gfail() { echo "--- guest console"; tail -n 40 "$log"; pt_fail "$@"; }
wait_mark() { pt_wait_for "$1" grep -aq "PVIO-TEST: $2\|PVIO-GUEST-RESULT" "$log" || gfail "no '$2' from the guest"; grep -aq "PVIO-TEST: $2" "$log" || gfail "guest failed before '$2'"; }

wait_mark 120 "eth0 ok"
pvio network-attach "$dom" "bridge=$brb,mtu=9000" || pt_fail "network-attach failed"
gn_bridge_ip "$brb" 10.96.0.1/24
gn_iperf_server 10.96.0.1
wait_mark 150 "eth1 busy"
grep -a 'PVIO-TEST: eth1' "$log"
t0=$(date +%s)
pvio network-detach "$dom" 1 || pt_fail "network-detach failed"
echo "network-detach took $(( $(date +%s) - t0 )) s"
wait_mark 90 "eth1 gone"
ip -n "$GN_NS" link show "vif$dom.1" >/dev/null 2>&1 && pt_fail "TAP vif$dom.1 left"
gt_store_has "/local/domain/0/backend/vif/$dom/1" && pt_fail "backend dir of vif 1 left"
gt_store_has "/local/domain/$dom/device/vif/1" && pt_fail "frontend dir of vif 1 left"
wait_mark 30 "restart now"
kill -9 "$(cat "$PT_RUNDIR/netback.pid")"
sleep 1
ip netns exec "$GN_NS" pvio up >>"$PT_RUNDIR/up.out" 2>&1 || pt_fail "netback restart failed"
# the TAP died with netback: the restarted one re-plugs it on bridge A
pt_wait_for 30 sh -c "ip -n $GN_NS -d link show vif$dom.0 | grep -q 'master $bra'" ||
	pt_fail "vif$dom.0 not back on $bra"
gt_vm_wait_result "$dom" 120
grep -a 'PVIO-TEST' "$log"
gn_check_console "$dom"
pt_pass
