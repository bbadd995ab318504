#!/usr/bin/env bash
# pvio-timeout: 240
# Two VMs, each with a pvio vif on the same bridge: they ping each other
# (both ways, also 8000-byte fragmented pings) and run iperf3 between them
# (guest A client, guest B server): guest -> netfront -> netback -> TAP ->
# bridge -> TAP -> netback -> netfront -> guest. One vCPU each.
set -eu
. "$PVIO_TOP/tests/lib/pvio-test.sh"
. "$PVIO_TOP/tests/guest/guest-lib.sh"
. "$PVIO_TOP/tests/guest/net-lib.sh"
pt_init
gt_init pvio_netfront
gn_stack_up
br=br$PT_ID

common='
wait_for() { n=$1; shift; i=0; until "$@" >/dev/null 2>&1; do i=$((i + 1)); [ $i -lt $n ] || return 1; sleep 0.1; done; }
pingok() { ping -c 1 -W 1 "$1"; }
wait_for 300 ip link show eth0 || exit 2
ip link set lo up
ip addr add $ME/24 dev eth0
ip link set eth0 up
wait_for 1200 pingok $PEER || exit 3
ping -c 5 -i 0.2 -W 2 $PEER || exit 4
ping -c 2 -s 8000 -W 2 $PEER || exit 5
echo "PVIO-TEST: $ME reaches $PEER"
'
{
	echo '#!/bin/sh'
	echo 'ME=10.93.0.2 PEER=10.93.0.3'
	echo "$common"
	echo 'wait_for 300 sh -c "iperf3 -c $PEER -t 3 -f m >/tmp/i 2>&1" || { cat /tmp/i; exit 6; }'
	echo 'echo "PVIO-TEST: A to B $(grep receiver /tmp/i | awk "{print \$7, \$8}")"'
	echo 'grep eth0 /proc/net/dev; grep Tcp: /proc/net/snmp | tail -n 1'
	echo '# a sanity floor far below what works (Gbit/s): catches a lossy path'
	echo 'grep receiver /tmp/i | awk "{ if (\$8 != \"Mbits/sec\" || \$7 < 50) exit 1 }" || exit 7'
	echo 'sleep 4'
	echo 'exit 0'
} >"$PT_RUNDIR/a.sh"
{
	echo '#!/bin/sh'
	echo 'ME=10.93.0.3 PEER=10.93.0.2'
	echo 'iperf3 -s -1 >/tmp/s 2>&1 &'
	echo "$common"
	echo 'wait $! || exit 6'
	echo 'echo "PVIO-TEST: B served $(grep receiver /tmp/s | awk "{print \$7, \$8}")"'
	echo 'grep eth0 /proc/net/dev; grep Tcp: /proc/net/snmp | tail -n 1'
	echo 'exit 0'
} >"$PT_RUNDIR/b.sh"
gt_image "$PT_RUNDIR/a.sh" "$PT_RUNDIR/initrd-a"
gt_image "$PT_RUNDIR/b.sh" "$PT_RUNDIR/initrd-b"
gt_vm_cfg "$PT_RUNDIR/a.cfg" "na-$PT_ID" "$PT_RUNDIR/initrd-a" 512 ${NET2_VCPUS:-1} "vif = [ 'bridge=$br' ]"
gt_vm_cfg "$PT_RUNDIR/b.cfg" "nb-$PT_ID" "$PT_RUNDIR/initrd-b" 512 ${NET2_VCPUS:-1} "vif = [ 'bridge=$br' ]"
da=$(gt_vm_create "$PT_RUNDIR/a.cfg")
db=$(gt_vm_create "$PT_RUNDIR/b.cfg")
[ -n "$da" ] && [ -n "$db" ] || pt_fail "pvio create printed no domid"
echo "domains $da $db"
pt_wait_for 30 ip -n "$GN_NS" link show "$br" || pt_fail "no bridge $br"
ip -n "$GN_NS" link set "$br" up
pt_wait_for 200 grep -aq "A to B\|RESULT" "$(gt_vm_console "$da")" || true
for d in $da $db; do
	echo "vif $d.0: $(for k in tx-packets tx-dropped rx-packets rx-dropped tx-host-dropped; do printf '%s=%s ' $k "$(pvio store read /local/domain/0/backend/vif/$d/0/statistics/$k 2>/dev/null)"; done)"
done
ip -n "$GN_NS" -s link show "vif$da.0" | tail -4
ip -n "$GN_NS" -s link show "vif$db.0" | tail -4
gt_vm_wait_result "$da" 200
gt_vm_wait_result "$db" 60
grep -a -A2 'PVIO-TEST' "$(gt_vm_console "$da")" "$(gt_vm_console "$db")"
gn_check_console "$da"
gn_check_console "$db"
pt_pass
