#!/usr/bin/env bash
# pvio-timeout: 60
# VXLAN overlays: two network namespaces stand for two hosts (an underlay
# veth between them, each host its own pvio-store); `pvio network-overlay
# create` on both joins their bridges. Checked: the bridges reach each
# other across the overlay; bridge and VXLAN MTU are the underlay's less
# 50 bytes, the largest unfragmented ping passes and the underlay fragments
# nothing; `list` shows it; a vif attached to the overlay's bridge gets the
# overlay's MTU and one asking for more is refused; bad arguments and a
# second create change nothing; destroy refuses while a port is on the
# bridge, then removes devices and store nodes; a bridge that existed
# before the overlay survives its destroy.
set -u
. "$(dirname "$0")/../lib/pvio-test.sh"
pt_need_root
pt_init
command -v bridge >/dev/null || pt_skip "iproute2's bridge tool missing"

pt_netns HA ha
pt_netns HB hb
RA=$PT_RUNDIR/a RB=$PT_RUNDIR/b
mkdir -p "$RA" "$RB"
pt_daemon store-a pvio-store --socket "$RA/store.sock"
pt_daemon store-b pvio-store --socket "$RB/store.sock"
pt_wait_for 10 test -S "$RA/store.sock" || pt_fail "store a did not start"
pt_wait_for 10 test -S "$RB/store.sock" || pt_fail "store b did not start"
unset XENSTORED_PATH
pa() { ip netns exec "$HA" pvio --rundir "$RA" "$@"; }
pb() { ip netns exec "$HB" pvio --rundir "$RB" "$@"; }

# the underlay: one veth, 10.77.0.1 <-> 10.77.0.2, MTU 1500
ip link add "ua$PT_ID" netns "$HA" type veth peer name "ub$PT_ID" netns "$HB" ||
	pt_fail "cannot make the underlay veth"
ip -n "$HA" addr add 10.77.0.1/24 dev "ua$PT_ID"
ip -n "$HB" addr add 10.77.0.2/24 dev "ub$PT_ID"
ip -n "$HA" link set "ua$PT_ID" up
ip -n "$HB" link set "ub$PT_ID" up

ov=ov$PT_ID
vni=$(( (0x$PT_ID % 16000000) + 1 ))

# refused, and nothing made
for bad in "--vni 0 --local 10.77.0.1 --peer 10.77.0.2" \
	   "--vni 16777216 --local 10.77.0.1 --peer 10.77.0.2" \
	   "--vni 5 --local 10.77.0.9 --peer 10.77.0.2" \
	   "--vni 5 --local 10.77.0.1 --peer 224.0.0.1" \
	   "--vni 5 --local 10.77.0.1 --peer fd00::1" \
	   "--vni 5 --local 10.77.0.1 --peer 10.77.0.2 --mtu 1480" \
	   "--vni 5 --local 10.77.0.1"; do
	# shellcheck disable=SC2086
	if pa network-overlay create "$ov" $bad 2>"$PT_RUNDIR/err"; then
		pt_fail "create accepted '$bad'"
	fi
	[ -s "$PT_RUNDIR/err" ] || pt_fail "no message for '$bad'"
	ip -n "$HA" link show "$ov" >/dev/null 2>&1 && pt_fail "'$bad' left bridge $ov"
	ip -n "$HA" link show "vx-$ov" >/dev/null 2>&1 && pt_fail "'$bad' left vx-$ov"
done
pa network-overlay create "this-is-too-long" --vni 5 --local 10.77.0.1 \
	--peer 10.77.0.2 2>/dev/null && pt_fail "a 16-character name was accepted"

pa network-overlay create "$ov" --vni "$vni" --local 10.77.0.1 --peer 10.77.0.2 ||
	pt_fail "create on host a"
pb network-overlay create "$ov" --vni "$vni" --local 10.77.0.2 --peer 10.77.0.1 ||
	pt_fail "create on host b"
pa network-overlay create "$ov" --vni "$vni" --local 10.77.0.1 --peer 10.77.0.2 \
	2>/dev/null && pt_fail "a second create of $ov succeeded"

for h in "$HA" "$HB"; do
	[ "$(ip netns exec "$h" cat "/sys/class/net/$ov/mtu")" = 1450 ] ||
		pt_fail "bridge MTU in $h is not 1500 - 50"
	[ "$(ip netns exec "$h" cat "/sys/class/net/vx-$ov/mtu")" = 1450 ] ||
		pt_fail "VXLAN MTU in $h is not 1500 - 50"
	ip -n "$h" link show "vx-$ov" | grep -q "master $ov" ||
		pt_fail "vx-$ov is not on $ov in $h"
	ip -n "$h" -d link show "vx-$ov" | grep -q "vxlan id $vni" ||
		pt_fail "vx-$ov does not carry vni $vni"
done
bridge -n "$HA" fdb show dev "vx-$ov" | grep -q "00:00:00:00:00:00 dst 10.77.0.2" ||
	pt_fail "no flood entry towards the peer on host a"

pa network-overlay list | tee "$PT_RUNDIR/list"
grep -q "^$ov  *$vni  *1450  *4789 .*10.77.0.1 .* 10.77.0.2$" "$PT_RUNDIR/list" ||
	pt_fail "list does not show the overlay"
grep -q "missing" "$PT_RUNDIR/list" && pt_fail "list says the devices are missing"
[ "$(pa store read /tool/pvio/overlay/$ov/vni)" = "$vni" ] ||
	pt_fail "the store does not record the vni"

# traffic across: the bridges' own addresses, the largest unfragmented frame
ip -n "$HA" addr add 192.168.77.1/24 dev "$ov"
ip -n "$HB" addr add 192.168.77.2/24 dev "$ov"
frag0=$(ip netns exec "$HA" awk '/^Ip: [0-9]/ { print $(NF - 1) }' /proc/net/snmp)
pt_wait_for 10 ip netns exec "$HA" ping -c 1 -W 1 192.168.77.2 ||
	pt_fail "no ping across the overlay"
ip netns exec "$HA" ping -c 3 -i 0.2 -M do -s 1422 192.168.77.2 >/dev/null ||
	pt_fail "a 1450-byte packet does not cross the overlay"
ip netns exec "$HB" ping -c 3 -i 0.2 -M do -s 1422 192.168.77.1 >/dev/null ||
	pt_fail "a 1450-byte packet does not cross back"
frag1=$(ip netns exec "$HA" awk '/^Ip: [0-9]/ { print $(NF - 1) }' /proc/net/snmp)
[ "$frag0" = "$frag1" ] || pt_fail "the underlay fragmented ($frag0 -> $frag1 FragCreates)"

# a vif on the overlay's bridge gets its MTU; more is refused
pa network-attach 4242 "bridge=$ov" >/dev/null || pt_fail "network-attach on the overlay"
[ "$(pa store read /local/domain/0/backend/vif/4242/0/mtu)" = 1450 ] ||
	pt_fail "the vif did not get the overlay's MTU"
[ "$(pa store read /local/domain/4242/device/vif/0/mtu)" = 1450 ] ||
	pt_fail "the frontend dir lacks the overlay's MTU"
pa network-attach 4243 "bridge=$ov,mtu=1500" 2>"$PT_RUNDIR/err" &&
	pt_fail "a vif with mtu 1500 was put on a 1450 overlay"
grep -q "overlay" "$PT_RUNDIR/err" || pt_fail "no clear message: $(cat "$PT_RUNDIR/err")"

# destroy: refused while something else is on the bridge
ip -n "$HA" link add "dm$PT_ID" type veth peer name "dn$PT_ID"
ip -n "$HA" link set "dm$PT_ID" master "$ov"
pa network-overlay destroy "$ov" 2>"$PT_RUNDIR/err" && pt_fail "destroy with a port on the bridge"
grep -q "dm$PT_ID" "$PT_RUNDIR/err" || pt_fail "destroy does not name the port"
ip -n "$HA" link del "dm$PT_ID"
pa network-overlay destroy "$ov" || pt_fail "destroy on host a"
ip -n "$HA" link show "$ov" >/dev/null 2>&1 && pt_fail "bridge left behind"
ip -n "$HA" link show "vx-$ov" >/dev/null 2>&1 && pt_fail "vxlan device left behind"
pa store read "/tool/pvio/overlay/$ov/vni" >/dev/null 2>&1 && pt_fail "store node left behind"
pa network-overlay destroy "$ov" 2>/dev/null && pt_fail "destroy of a gone overlay succeeded"

# a bridge that was there first stays
ip -n "$HA" link add "$ov" type bridge
pa network-overlay create "$ov" --vni "$vni" --local 10.77.0.1 --peer 10.77.0.2 ||
	pt_fail "create on an existing bridge"
ip -n "$HA" link show "vx-$ov" | grep -q "master $ov" || pt_fail "not put on the existing bridge"
pa network-overlay destroy "$ov" || pt_fail "destroy (existing bridge)"
ip -n "$HA" link show "$ov" >/dev/null 2>&1 || pt_fail "destroy removed a bridge it did not make"
ip -n "$HA" link show "vx-$ov" >/dev/null 2>&1 && pt_fail "vxlan device left behind"
pb network-overlay destroy "$ov" || pt_fail "destroy on host b"
pt_pass
