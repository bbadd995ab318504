#!/usr/bin/env bash
# pvio-timeout: 200
# A VM with a pvio vif made by `pvio create` (vif=[...]): pvio_netfront
# brings up eth0 with the MAC and MTU from the store; the guest pings
# dom0's bridge address (small, 100 quick ones, 8000-byte fragmented) and
# runs iperf3 both ways against a server in the bridge's namespace. Then
# rmmod pvio_netfront while iperf3 sends (eth0 goes away), insmod again:
# the vif connects afresh and pings. The console must show no kernel
# report.
set -eu
. "$PVIO_TOP/tests/lib/pvio-test.sh"
. "$PVIO_TOP/tests/guest/guest-lib.sh"
. "$PVIO_TOP/tests/guest/net-lib.sh"
pt_init
gt_init pvio_netfront
gn_stack_up
br=br$PT_ID
mac=00:16:3e:5a:01:02

cat >"$PT_RUNDIR/test.sh" <<SCRIPT
#!/bin/sh
i=0
while ! ip link show eth0 >/dev/null 2>&1 && [ \$i -lt 300 ]; do sleep 0.1; i=\$((i + 1)); done
ip link show eth0 || exit 2
echo "PVIO-TEST: mac=\$(cat /sys/class/net/eth0/address) mtu=\$(cat /sys/class/net/eth0/mtu) driver=\$(basename \$(readlink /sys/class/net/eth0/device/driver))"
[ "\$(cat /sys/class/net/eth0/address)" = $mac ] || exit 3
ip link set lo up
ip addr add 10.99.0.2/24 dev eth0
ip link set eth0 up
i=0
until ping -c 1 -W 1 10.99.0.1 >/dev/null 2>&1; do
	i=\$((i + 1)); [ \$i -lt 60 ] || exit 4
done
echo "PVIO-TEST: link up after \$i tries"
ping -c 100 -i 0.01 -W 2 -q 10.99.0.1 | tee /tmp/ping.out
grep -q ' 0% packet loss' /tmp/ping.out || exit 5
ping -c 3 -s 8000 -W 2 10.99.0.1 || exit 6
iperf3 -c 10.99.0.1 -t 4 -f m >/tmp/tx.out 2>&1 || { cat /tmp/tx.out; exit 7; }
grep -E 'sender|receiver' /tmp/tx.out
echo "PVIO-TEST: tx \$(grep receiver /tmp/tx.out | awk '{print \$7, \$8}')"
# a sanity floor far below what works (Gbit/s): catches a lossy path
grep receiver /tmp/tx.out | awk '{ if (\$8 != "Mbits/sec" || \$7 < 50) exit 1 }' || exit 9
iperf3 -c 10.99.0.1 -t 4 -f m -R >/tmp/rx.out 2>&1 || { cat /tmp/rx.out; exit 8; }
grep -E 'sender|receiver' /tmp/rx.out
echo "PVIO-TEST: rx \$(grep receiver /tmp/rx.out | awk '{print \$7, \$8}')"
grep receiver /tmp/rx.out | awk '{ if (\$8 != "Mbits/sec" || \$7 < 50) exit 1 }' || exit 10
cat /proc/net/dev | grep eth0
# module unload with traffic in flight, then load again: a fresh connect
iperf3 -c 10.99.0.1 -t 30 -f m >/dev/null 2>&1 &
sleep 2
rmmod pvio_netfront || exit 11
ip link show eth0 >/dev/null 2>&1 && exit 12
echo "PVIO-TEST: unloaded under traffic"
kill \$! 2>/dev/null; wait \$! 2>/dev/null
insmod /pvio/modules/pvio_netfront.ko || exit 13
i=0
while ! ip link show eth0 >/dev/null 2>&1 && [ \$i -lt 300 ]; do sleep 0.1; i=\$((i + 1)); done
ip addr add 10.99.0.2/24 dev eth0
ip link set eth0 up
i=0
until ping -c 1 -W 1 10.99.0.1 >/dev/null 2>&1; do
	i=\$((i + 1)); [ \$i -lt 60 ] || exit 14
done
echo "PVIO-TEST: reloaded, link up after \$i tries"
exit 0
SCRIPT
gt_image "$PT_RUNDIR/test.sh" "$PT_RUNDIR/initrd"
gt_vm_cfg "$PT_RUNDIR/vm.cfg" "nb-$PT_ID" "$PT_RUNDIR/initrd" 512 2 \
	"vif = [ 'bridge=$br,mac=$mac' ]"
dom=$(gt_vm_create "$PT_RUNDIR/vm.cfg")
[ -n "$dom" ] || pt_fail "pvio create printed no domid"
echo "domain $dom"
gn_bridge_ip "$br" 10.99.0.1/24
gn_iperf_server 10.99.0.1
# netback makes the TAP and bridges it when it sees the vif: wait for it
vif_on_bridge() { ip -n "$GN_NS" -d link show "vif$dom.0" | grep -q "master $br"; }
pt_wait_for 30 vif_on_bridge || pt_fail "vif$dom.0 is not on $br"

gt_vm_wait_result "$dom" 170
log=$(gt_vm_console "$dom")
grep -a 'PVIO-TEST\|pvio_netfront\|eth0' "$log" | head -40
gn_check_console "$dom"
bk=/local/domain/0/backend/vif/$dom/0
echo "backend statistics: tx-packets $(pvio store read $bk/statistics/tx-packets 2>/dev/null) rx-packets $(pvio store read $bk/statistics/rx-packets 2>/dev/null)"
pt_pass
