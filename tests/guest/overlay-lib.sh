# Two "hosts" joined by a VXLAN overlay, for the overlay guest test and
# `pvio bench overlay`; source after tests/lib/pvio-test.sh and
# tests/guest/guest-lib.sh (after pt_init and gt_init).
#
#   ov_hosts           network namespaces $OV_NS_A and $OV_NS_B joined by an
#                      underlay veth (10.96.0.1 <-> 10.96.0.2, MTU 1500); in
#                      each, a whole pvio stack (`pvio up`, run dir
#                      $PT_RUNDIR/a or /b); the overlay $OV_BR (VNI from the
#                      run id) on both; and, for comparison, a plain bridge
#                      $OV_PLAIN on each, the two joined by a veth of their
#                      own (one L2 segment, no encapsulation). Everything is
#                      removed at exit.
#   ov_pvio A|B ARGS   `pvio ARGS` on that host (its netns and run dir)
#   ov_vm A|B NAME SCRIPT MEM VCPUS VIFSPEC...
#                      a VM on that host running SCRIPT, one vif per spec;
#                      prints its domid
#   ov_console A|B DOM path of a VM's console log
#   ov_wait_result A|B DOM TIMEOUT   as gt_vm_wait_result

ov_rundir() { echo "$PT_RUNDIR/$(echo "$1" | tr AB ab)"; }
ov_ns() { if [ "$1" = A ]; then echo "$OV_NS_A"; else echo "$OV_NS_B"; fi; }

ov_pvio() {
	local h=$1 rd
	shift
	rd=$(ov_rundir "$h")
	ip netns exec "$(ov_ns "$h")" env PVIO_RUNDIR="$rd" \
		XENSTORED_PATH="$rd/store.sock" pvio --rundir "$rd" "$@"
}

_ov_stack_down() {
	local h=$1 rd id f
	rd=$(ov_rundir "$h")
	for id in $(ov_pvio "$h" list 2>/dev/null | awk 'NR > 1 && $2 != 0 { print $2 }'); do
		ov_pvio "$h" destroy "$id"
	done
	for f in "$rd"/vm-*/monitor.pid; do
		[ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null
	done
	ov_pvio "$h" network-overlay destroy "$OV_BR" --force
	ov_pvio "$h" down
}

ov_hosts() {
	pt_need_root
	[ -c /dev/net/tun ] || pt_skip "no /dev/net/tun"
	command -v bridge >/dev/null || pt_skip "iproute2's bridge tool missing"
	pt_netns OV_NS_A ha
	pt_netns OV_NS_B hb
	OV_BR=ov$PT_ID
	OV_PLAIN=pb$PT_ID
	OV_VNI=$(( (0x$PT_ID % 16000000) + 1 ))
	ip link add "ua$PT_ID" netns "$OV_NS_A" type veth peer name "ub$PT_ID" \
		netns "$OV_NS_B" || pt_fail "cannot make the underlay veth"
	ip -n "$OV_NS_A" addr add 10.96.0.1/24 dev "ua$PT_ID"
	ip -n "$OV_NS_B" addr add 10.96.0.2/24 dev "ub$PT_ID"
	ip -n "$OV_NS_A" link set "ua$PT_ID" up
	ip -n "$OV_NS_B" link set "ub$PT_ID" up
	# the plain segment: a bridge per host, one wire between them
	ip link add "wa$PT_ID" netns "$OV_NS_A" type veth peer name "wb$PT_ID" \
		netns "$OV_NS_B" || pt_fail "cannot make the plain wire"
	local h ns
	for h in A B; do
		ns=$(ov_ns $h)
		ip -n "$ns" link add "$OV_PLAIN" type bridge forward_delay 0 ||
			pt_fail "cannot make bridge $OV_PLAIN"
		ip -n "$ns" link set "w$(echo $h | tr AB ab)$PT_ID" master "$OV_PLAIN" up
		ip -n "$ns" link set "$OV_PLAIN" up
		mkdir -p "$(ov_rundir $h)"
		ov_pvio $h up >"$(ov_rundir $h)/up.out" 2>&1 || {
			cat "$(ov_rundir $h)/up.out"
			pt_fail "pvio up on host $h failed"
		}
		pt_on_exit "_ov_stack_down $h"
	done
	ov_pvio A network-overlay create "$OV_BR" --vni "$OV_VNI" --local 10.96.0.1 \
		--peer 10.96.0.2 >/dev/null || pt_fail "overlay on host A"
	ov_pvio B network-overlay create "$OV_BR" --vni "$OV_VNI" --local 10.96.0.2 \
		--peer 10.96.0.1 >/dev/null || pt_fail "overlay on host B"
}

ov_vm() {
	local h=$1 name=$2 script=$3 mem=$4 vcpus=$5 rd vifs="" out
	shift 5
	rd=$(ov_rundir "$h")
	for s in "$@"; do
		vifs="$vifs${vifs:+, }'$s'"
	done
	gt_image "$script" "$rd/initrd-$name"
	gt_vm_cfg "$rd/$name.cfg" "$name-$PT_ID" "$rd/initrd-$name" "$mem" "$vcpus" \
		"vif = [ $vifs ]"
	out=$(ov_pvio "$h" create "$rd/$name.cfg" 2>&1) || {
		echo "$out" >&2
		pt_fail "pvio create on host $h failed"
	}
	echo "$out" | sed -n 's/.*(id=\([0-9]*\)).*/\1/p' | head -n 1
}

ov_console() { echo "$(ov_rundir "$1")/vm-$2/console.log"; }

ov_wait_result() {
	local h=$1 dom=$2 limit=$3 log end
	log=$(ov_console "$h" "$dom")
	end=$(( $(date +%s) + limit ))
	until grep -aq 'PVIO-GUEST-RESULT:' "$log" 2>/dev/null; do
		if [ "$(date +%s)" -ge $end ]; then
			echo "--- guest console (host $h, domain $dom, tail)"
			tail -n 40 "$log" 2>/dev/null
			pt_fail "host $h domain $dom: no result within $limit s"
		fi
		sleep 0.2
	done
	grep -aq 'PVIO-GUEST-RESULT: PASS' "$log" && return 0
	echo "--- guest console (host $h, domain $dom, tail)"
	tail -n 40 "$log"
	pt_fail "host $h domain $dom: $(grep -a 'PVIO-GUEST-RESULT:' "$log" | head -n 1)"
}

# ov_guest_script OUT a|b ROUNDS SECONDS: the guest side. Each guest has a
# vif on the overlay (10.97.0.x, MAC ...:01) and one on the plain segment
# (10.98.0.x, MAC ...:02). Guest b serves iperf3 on both; guest a checks
# the overlay MTU and the largest unfragmented ping, then runs ROUNDS
# rounds of iperf3 to b over each path (the order alternates), printing
#   PVIO-BENCH: overlay|plain ROUND MBITS
OV_MAC_A=00:16:3e:61:00
OV_MAC_B=00:16:3e:62:00
ov_guest_script() {
	local out=$1 me=$2 rounds=$3 secs=$4 peer mac
	if [ "$me" = a ]; then peer=2 mac=$OV_MAC_A; else peer=1 mac=$OV_MAC_B; fi
	local self=$((3 - peer))
	cat >"$out" <<SCRIPT
#!/bin/sh
iface_by_mac() {
	for d in /sys/class/net/*; do
		[ "\$(cat "\$d/address" 2>/dev/null)" = "\$1" ] && { basename "\$d"; return 0; }
	done
	return 1
}
wait_for() { n=\$1; shift; i=0; until "\$@" >/dev/null 2>&1; do i=\$((i + 1)); [ \$i -lt \$n ] || return 1; sleep 0.1; done; }
wait_for 600 iface_by_mac $mac:01 || exit 2
wait_for 600 iface_by_mac $mac:02 || exit 2
OV=\$(iface_by_mac $mac:01) PL=\$(iface_by_mac $mac:02)
for f in /proc/sys/net/ipv4/conf/*/arp_ignore; do echo 1 >"\$f"; done
ip link set lo up
ip addr add 10.97.0.$self/24 dev \$OV
ip addr add 10.98.0.$self/24 dev \$PL
ip link set \$OV up
ip link set \$PL up
echo "PVIO-TEST: overlay nic \$OV mtu \$(cat /sys/class/net/\$OV/mtu), plain nic \$PL mtu \$(cat /sys/class/net/\$PL/mtu)"
[ "$me" = b ] && iperf3 -s -D
wait_for 1200 ping -c 1 -W 1 10.97.0.$peer || { echo "PVIO-TEST: no ping over the overlay"; exit 3; }
wait_for 600 ping -c 1 -W 1 10.98.0.$peer || { echo "PVIO-TEST: no ping over the plain segment"; exit 3; }
echo "PVIO-TEST: $me reaches its peer on both paths"
if [ "$me" = b ]; then
	echo "PVIO-TEST: b ready"
	while :; do sleep 60; done
fi
[ "\$(cat /sys/class/net/\$OV/mtu)" = 1450 ] || { echo "PVIO-TEST: overlay MTU not 1450"; exit 4; }
# the largest packet the overlay vif carries whole (busybox ping has no
# -M: the guest's own fragment counter says it was not split)
frags() { awk '/^Ip: [0-9]/ { print \$(NF - 1) }' /proc/net/snmp; }
f0=\$(frags)
ping -c 3 -i 0.2 -W 2 -s 1422 10.97.0.$peer || exit 5
[ "\$(frags)" = "\$f0" ] || { echo "PVIO-TEST: the guest fragmented"; exit 5; }
echo "PVIO-TEST: 1450-byte packets cross the overlay unfragmented"
run() {	# PATH ADDR ROUND
	wait_for 100 sh -c "iperf3 -c \$2 -t $secs -f m --connect-timeout 3000 >/tmp/i 2>&1" || { cat /tmp/i; return 1; }
	m=\$(awk '/receiver/ { print \$(NF - 2) }' /tmp/i | tail -n 1)
	echo "PVIO-BENCH: \$1 \$3 \$m"
}
r=1
while [ \$r -le $rounds ]; do
	if [ \$((r % 2)) -eq 1 ]; then
		run overlay 10.97.0.$peer \$r || exit 6
		run plain 10.98.0.$peer \$r || exit 6
	else
		run plain 10.98.0.$peer \$r || exit 6
		run overlay 10.97.0.$peer \$r || exit 6
	fi
	r=\$((r + 1))
done
grep -a eth /proc/net/dev
exit 0
SCRIPT
}

# ov_vifs a|b: the two vif specs of a guest
ov_vifs() {
	local mac=$OV_MAC_A
	[ "$1" = b ] && mac=$OV_MAC_B
	echo "bridge=$OV_BR,mac=$mac:01"
	echo "bridge=$OV_PLAIN,mac=$mac:02"
}
