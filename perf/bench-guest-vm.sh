#!/bin/sh
# Runs inside the benchmark guest as /pvio/test.sh (perf/bench-guest
# substitutes the @...@ values). Measures the pvio disk and NIC and, in the
# same guest, virtio-blk and virtio-net; prints every figure on the console
# as "PVIO-BENCH: <what> <path> key=value" for the host to parse. A device
# that is missing is reported as such, never measured on something else.
R=@RUNTIME@
ROUNDS=@ROUNDS@
PV_MAC=@PV_MAC@
VIO_MAC=@VIO_MAC@
PV_IP=@PV_IP@
PV_HOST=@PV_HOST@
VIO_IP=@VIO_IP@
VIO_HOST=@VIO_HOST@

mark() { echo "PVIO-BENCH: $*"; }

modprobe virtio_pci && modprobe virtio_blk && modprobe virtio_net ||
	mark "note virtio modules did not load"

# devices show up asynchronously: wait a little for each (pvio's come
# through the store, after the backends connected)
wait_for() {
	i=0
	while [ $i -lt "$1" ]; do
		eval "$2" >/dev/null 2>&1 && return 0
		sleep 0.2
		i=$((i + 1))
	done
	return 1
}
iface_by_mac() {
	for d in /sys/class/net/*; do
		[ "$(cat "$d/address" 2>/dev/null)" = "$1" ] && { basename "$d"; return 0; }
	done
	return 1
}
wait_for 50 "[ -b /dev/vda ]"
wait_for 50 "iface_by_mac $VIO_MAC"
# the pvio frontends get longer, but only if they are there at all
grep -q blkfront /proc/modules && wait_for 100 "[ -b /dev/xvda ]"
grep -q netfront /proc/modules && wait_for 100 "iface_by_mac $PV_MAC"

# ---- block: fio 4 KiB random read QD32, 128 KiB sequential read QD16
blk() {
	name=$1 dev=$2
	if [ ! -b "$dev" ]; then
		why="no $dev in the guest"
		if [ $name = pvio ] && ! grep -q blkfront /proc/modules; then
			why="$why: no pvio blkfront module loaded"
		elif [ $name = pvio ]; then
			dmesg | grep -iE 'pvio|blkfront|xvd' | tail -n 8 |
				sed 's/^/PVIO-BENCH-LOG: /'
		fi
		mark "blk $name missing $why"
		return
	fi
	mark "blk $name begin $dev $(cat /sys/block/${dev#/dev/}/size) sectors"
	line=$(fio --minimal --name=rr --filename="$dev" --direct=1 --ioengine=libaio \
		--rw=randread --bs=4k --iodepth=32 --runtime="$R" --time_based \
		--ramp_time=1 2>/dev/null | tail -n 1)
	# terse v3: field 8 = read IOPS, 7 = read bandwidth in KiB/s
	iops=$(echo "$line" | awk -F';' '{ print $8 }')
	line=$(fio --minimal --name=sr --filename="$dev" --direct=1 --ioengine=libaio \
		--rw=read --bs=128k --iodepth=16 --runtime="$R" --time_based \
		--ramp_time=1 2>/dev/null | tail -n 1)
	kib=$(echo "$line" | awk -F';' '{ print $7 }')
	mark "blk $name result iops=${iops:-0} kibps=${kib:-0}"
}

# ---- network: iperf3 TCP from the guest to the bridge address, one NIC
# per subnet; ARP answers only on the NIC that owns the address, so the
# host's replies come back the same way
for f in /proc/sys/net/ipv4/conf/*/arp_ignore; do echo 1 >"$f"; done
for f in /proc/sys/net/ipv4/conf/*/arp_announce; do echo 2 >"$f"; done
ip link set lo up
# net_setup NAME MAC ADDR HOST: /tmp/net-NAME.dev names the NIC, or
# /tmp/net-NAME.note says why there is none
net_setup() {
	name=$1 mac=$2 addr=$3 host=$4
	dev=$(iface_by_mac "$mac")
	if [ -z "$dev" ]; then
		why="no NIC with MAC $mac in the guest"
		if [ $name = pvio ] && ! grep -q netfront /proc/modules; then
			why="$why: no pvio netfront module loaded"
		elif [ $name = pvio ]; then
			dmesg | grep -iE 'pvio|netfront|vif' | tail -n 8 |
				sed 's/^/PVIO-BENCH-LOG: /'
		fi
		echo "$why" >/tmp/net-$name.note
		return
	fi
	ip addr add "$addr/24" dev "$dev"
	ip link set "$dev" up
	if ! wait_for 50 "ping -c 1 -W 1 $host"; then
		echo "$dev ($mac) does not reach $host" >/tmp/net-$name.note
		return
	fi
	echo "$dev" >/tmp/net-$name.dev
}
net() {
	name=$1 addr=$2 host=$3
	if [ ! -f /tmp/net-$name.dev ]; then
		mark "net $name missing $(cat /tmp/net-$name.note)"
		return
	fi
	dev=$(cat /tmp/net-$name.dev)
	# the host samples the TAP counters at "begin" and "end": quiet
	# seconds around the run keep other runs out of its sample
	mark "net $name begin $dev"
	sleep 1
	tx0=$(cat "/sys/class/net/$dev/statistics/tx_bytes")
	out=$(timeout $((R + 30)) iperf3 -c "$host" -B "$addr" -t "$R" -f m \
		--connect-timeout 5000 2>&1)
	tx1=$(cat "/sys/class/net/$dev/statistics/tx_bytes")
	sleep 1
	mark "net $name end $dev"
	sleep 2
	mbit=$(echo "$out" | awk '/receiver/ { print $(NF - 2) }' | tail -n 1)
	if [ -z "$mbit" ]; then
		echo "$out" | tail -n 5 | sed 's/^/PVIO-BENCH-LOG: /'
		grep "$dev" /proc/net/dev | sed 's/^/PVIO-BENCH-LOG: /'
		dmesg | tail -n 10 | sed 's/^/PVIO-BENCH-LOG: /'
		mark "net $name missing iperf3 failed over $dev"
		return
	fi
	mark "net $name result mbitps=$mbit txbytes=$((tx1 - tx0))"
}
net_setup pvio "$PV_MAC" "$PV_IP" "$PV_HOST"
net_setup virtio "$VIO_MAC" "$VIO_IP" "$VIO_HOST"

# ---- the rounds: pvio first in odd rounds, virtio first in even ones, so
# that drifting load on the host hits both paths alike
r=1
while [ $r -le "$ROUNDS" ]; do
	mark "round $r of $ROUNDS"
	if [ $((r % 2)) -eq 1 ]; then order="pvio virtio"; else order="virtio pvio"; fi
	for p in $order; do
		if [ $p = pvio ]; then blk pvio /dev/xvda; else blk virtio /dev/vda; fi
	done
	for p in $order; do
		if [ $p = pvio ]; then
			net pvio "$PV_IP" "$PV_HOST"
		else
			net virtio "$VIO_IP" "$VIO_HOST"
		fi
	done
	r=$((r + 1))
done
dmesg | grep -i pvio | tail -n 8 | sed 's/^/PVIO-BENCH-DMESG: /'
mark "done"
exit 0
