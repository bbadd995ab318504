#!/bin/sh
# Runs inside the benchmark guest as /pvio/test.sh (perf/bench-guest
# substitutes the @...@ values). Measures the pvio disk and NIC and, in the
# same guest, virtio-blk and virtio-net; prints every figure on the console
# as "PVIO-BENCH: <kind> <path> <what> key=value..." for the host to parse.
# A device that is missing is reported as such, never measured on something
# else.
R=@RUNTIME@
ROUNDS=@ROUNDS@
DO_BLK=@DO_BLK@
DO_NET=@DO_NET@
DO_RX=@DO_RX@
DO_QD1=@DO_QD1@
DO_PERSIST=@DO_PERSIST@
STREAMS=@STREAMS@
PV_MAC=@PV_MAC@
VIO_MAC=@VIO_MAC@
PV_IP=@PV_IP@
PV_HOST=@PV_HOST@
VIO_IP=@VIO_IP@
VIO_HOST=@VIO_HOST@

mark() { echo "PVIO-BENCH: $*"; }

modprobe virtio_pci
[ "$DO_BLK" = 1 ] && { modprobe virtio_blk || mark "note virtio_blk did not load"; }
[ "$DO_NET" = 1 ] && { modprobe virtio_net || mark "note virtio_net did not load"; }

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
if [ "$DO_BLK" = 1 ]; then
	wait_for 50 "[ -b /dev/vda ]"
	grep -q blkfront /proc/modules && wait_for 100 "[ -b /dev/xvda ]"
fi
if [ "$DO_NET" = 1 ]; then
	wait_for 50 "iface_by_mac $VIO_MAC"
	grep -q netfront /proc/modules && wait_for 100 "iface_by_mac $PV_MAC"
fi

# ---- block ----
# fio terse v3: 7 read KiB/s, 8 read IOPS, 18-20 the completion latency
# percentiles asked for ("50.000000%=USEC"...)
fio_run() { # fio_run DEV RW BS QD -> "iops kibps p50 p99 p99.9"
	timeout $((R + 60)) fio --minimal --name=b --filename="$1" --direct=1 \
		--ioengine=libaio --readonly --rw="$2" --bs="$3" --iodepth="$4" \
		--runtime="$R" --time_based --ramp_time=1 \
		--percentile_list=50:99:99.9 2>/dev/null | tail -n 1 |
		awk -F';' '{ for (i = 18; i <= 20; i++) sub(/.*=/, "", $i);
			     print $8, $7, $18, $19, $20 }'
}
# What a run cost in the guest: "reads notifies irqs" so far on DEV, with
# the notifications pvio_core sent (to a backend, straight or through hv)
# and the interrupts of DEV's driver (pvio's upcall vectors, or the
# virtio-blk queue vectors)
counts() { # counts DEV
	r=$(awk '{ print $1 }' "/sys/block/${1#/dev/}/stat")
	n=0
	for f in notify_direct notify_hv; do
		f=/sys/module/pvio_core/parameters/$f
		[ -r "$f" ] && n=$((n + $(cat "$f")))
	done
	case $1 in
	/dev/xvd*) pat='pvio' ;;
	*) pat="$(basename "$(readlink -f "/sys/block/${1#/dev/}/device")")-req" ;;
	esac
	i=$(grep -E "$pat" /proc/interrupts | awk '{ for (k = 2; k <= NF && $k ~ /^[0-9]+$/; k++) t += $k } END { print t + 0 }')
	echo "$r $n $i"
}
# fio_cost DEV RW BS QD WHAT LABEL: run, mark the result with its costs
fio_cost() {
	dev=$1 rw=$2 bs=$3 qd=$4 what=$5 name=$6
	mark "blk $name start $what"
	set -- $(counts "$dev")
	r0=$1 n0=$2 i0=$3
	set -- $(fio_run "$dev" "$rw" "$bs" "$qd")
	[ $# -eq 5 ] || return 1
	res="iops=$1 kibps=$2 p50=$3 p99=$4 p999=$5"
	set -- $(counts "$dev")
	mark "blk $name $what $res reads=$(($1 - r0)) notifies=$(($2 - n0)) irqs=$(($3 - i0))"
}
blk() { # blk LABEL DEV
	name=$1 dev=$2
	if [ ! -b "$dev" ]; then
		why="no $dev in the guest"
		if [ "$name" != virtio ] && ! grep -q blkfront /proc/modules; then
			why="$why: no pvio blkfront module loaded"
		elif [ "$name" != virtio ]; then
			dmesg | grep -iE 'pvio|blkfront|xvd' | tail -n 8 |
				sed 's/^/PVIO-BENCH-LOG: /'
		fi
		mark "blk $name missing $why"
		return
	fi
	mark "blk $name begin $dev $(cat /sys/block/${dev#/dev/}/size) sectors"
	fio_cost "$dev" randread 4k 32 rand4k "$name" ||
		{ mark "blk $name missing fio failed on $dev"; return; }
	fio_cost "$dev" read 128k 16 seq128k "$name"
	[ "$DO_QD1" = 1 ] && fio_cost "$dev" randread 4k 1 qd1 "$name"
}

# ---- network: iperf3 TCP between the guest and the bridge address, one
# NIC per subnet; ARP answers only on the NIC that owns the address, so the
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
	mark "net $name nic $dev queues=$(ls -d /sys/class/net/$dev/queues/tx-* | wc -l)"
}
net() { # net NAME ADDR HOST DIR (tx: guest to bridge, rx: bridge to guest,
	# rr: 64-byte UDP round trips to the bridge address, one at a time)
	name=$1 addr=$2 host=$3 dir=$4
	if [ ! -f /tmp/net-$name.dev ]; then
		mark "net $name missing $(cat /tmp/net-$name.note)"
		return
	fi
	dev=$(cat /tmp/net-$name.dev)
	if [ "$dir" = rr ] && ! command -v pvio-perf-rr >/dev/null; then
		mark "net $name missing no pvio-perf-rr in the guest image (make all)"
		return
	fi
	rev=
	[ "$dir" = rx ] && rev=-R
	# the host samples the TAP counters at "begin" and "end": quiet
	# seconds around the run keep other runs out of its sample
	mark "net $name begin $dir $dev"
	sleep 1
	b0=$(cat "/sys/class/net/$dev/statistics/tx_bytes")
	[ "$dir" = rx ] && b0=$(cat "/sys/class/net/$dev/statistics/rx_bytes")
	if [ "$dir" = rr ]; then
		out=$(timeout $((R + 30)) pvio-perf-rr --client "$host" --port 5302 \
			--seconds "$R" 2>&1)
	else
		out=$(timeout $((R + 30)) iperf3 -c "$host" -B "$addr" -t "$R" -f m \
			-P "$STREAMS" $rev --connect-timeout 5000 2>&1)
	fi
	b1=$(cat "/sys/class/net/$dev/statistics/tx_bytes")
	[ "$dir" = rx ] && b1=$(cat "/sys/class/net/$dev/statistics/rx_bytes")
	sleep 1
	mark "net $name end $dir $dev"
	sleep 2
	if [ "$dir" = rr ]; then
		lat=$(echo "$out" | sed -n 's/^rtt_us \(p50=[0-9.]* p99=[0-9.]* p999=[0-9.]*\) .*/\1/p')
		if [ -z "$lat" ]; then
			echo "$out" | tail -n 5 | sed 's/^/PVIO-BENCH-LOG: /'
			mark "net $name missing round trips failed over $dev"
			return
		fi
		mark "net $name rr $lat bytes=$((b1 - b0))"
		return
	fi
	if [ "$STREAMS" -gt 1 ]; then
		mbit=$(echo "$out" | awk '/SUM.*receiver/ { print $(NF - 2) }' | tail -n 1)
	else
		mbit=$(echo "$out" | awk '/receiver/ { print $(NF - 2) }' | tail -n 1)
	fi
	if [ -z "$mbit" ]; then
		echo "$out" | tail -n 5 | sed 's/^/PVIO-BENCH-LOG: /'
		grep "$dev" /proc/net/dev | sed 's/^/PVIO-BENCH-LOG: /'
		dmesg | tail -n 10 | sed 's/^/PVIO-BENCH-LOG: /'
		mark "net $name missing iperf3 failed over $dev ($dir)"
		return
	fi
	mark "net $name $dir mbitps=$mbit bytes=$((b1 - b0))"
}
if [ "$DO_NET" = 1 ]; then
	net_setup pvio "$PV_MAC" "$PV_IP" "$PV_HOST"
	net_setup virtio "$VIO_MAC" "$VIO_IP" "$VIO_HOST"
fi

# ---- the rounds: pvio first in odd rounds, virtio first in even ones, so
# that drifting load on the host hits both paths alike
rounds() { # rounds PVIO-LABEL
	r=1
	while [ $r -le "$ROUNDS" ]; do
		mark "round $r of $ROUNDS ($1)"
		if [ $((r % 2)) -eq 1 ]; then order="pvio virtio"; else order="virtio pvio"; fi
		if [ "$DO_BLK" = 1 ]; then
			for p in $order; do
				if [ $p = pvio ]; then blk "$1" /dev/xvda; else blk virtio /dev/vda; fi
			done
		fi
		if [ "$DO_NET" = 1 ] && [ "$1" = pvio ]; then
			for dir in tx $([ "$DO_RX" = 1 ] && echo rx) rr; do
				for p in $order; do
					if [ $p = pvio ]; then
						net pvio "$PV_IP" "$PV_HOST" $dir
					else
						net virtio "$VIO_IP" "$VIO_HOST" $dir
					fi
				done
			done
		fi
		r=$((r + 1))
	done
}
rounds pvio
if [ "$DO_BLK" = 1 ] && [ "$DO_PERSIST" = 1 ]; then
	# the same disk through pvio_blkfront with persistent grants
	if rmmod pvio_blkfront && insmod /pvio/modules/pvio_blkfront.ko persistent=1 &&
	   wait_for 100 "[ -b /dev/xvda ]"; then
		rounds pvio_persistent
	else
		mark "blk pvio_persistent missing pvio_blkfront did not reload with persistent=1"
	fi
fi
dmesg | grep -i pvio | tail -n 8 | sed 's/^/PVIO-BENCH-DMESG: /'
# the host reads QEMU's CPU time for the last run when it sees that run's
# line: give it the time to, before this guest powers off and QEMU exits
sleep 2
mark "done"
exit 0
