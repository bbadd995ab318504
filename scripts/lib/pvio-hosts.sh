# Two "hosts" on one machine, for migration tests and benchmarks (bash;
# source after scripts/lib/pvio-run.sh and pt_init):
#
#   mh_check         why two hosts cannot be made here (printed, status 1)
#   mh_up [NOSTACK]  network namespaces A and B (the hosts), C (a third
#                    machine on the guests' network) and U (the wire
#                    between them: a bridge with a veth to each of A, B
#                    and C, 10.77.0.1, .2 and .3). A VXLAN overlay (VNI
#                    MH_VNI) on top joins bridge $MH_BR on A and on B with
#                    C's vxlan device, which has $MH_C_IP (10.78.0.100/24)
#                    as the machine the guests talk to. A and B each run a
#                    whole pvio stack (`pvio up`) in a run directory of
#                    their own ($PT_RUNDIR/a, /b) unless NOSTACK is given.
#                    Everything goes at exit: VMs, daemons, namespaces.
#                    PVIO_KEEP=DIR keeps a copy of the run directory there.
#   mh_on A|B CMD... run CMD in host A's or B's namespace with its run
#                    directory and store (pvio, xenstore-* tools)
#   mh_ns A|B|C      a host's network namespace
#   mh_ip A|B|C      a host's address on the wire
#   mh_vm_console A|B DOMID   a VM's console log on that host
#   mh_domid A|B NAME         the domid of VM NAME on that host, or nothing
#   mh_receive B LOG          `pvio migrate-receive --once` on B (its
#                             address) in the background; its pid in MH_RX_PID
#   mh_qemu_pid A|B DOMID     the pid of a VM's QEMU (from hv's log)
#
# The overlay is made with iproute2 as `pvio network-overlay` would do it.
MH_VNI=4242
MH_C_IP=10.78.0.100

mh_ip() {
	case $1 in A) echo 10.77.0.1 ;; B) echo 10.77.0.2 ;; C) echo 10.77.0.3 ;; esac
}

mh_ns() {
	case $1 in A) echo "$MH_NSA" ;; B) echo "$MH_NSB" ;; C) echo "$MH_NSC" ;; esac
}

mh_on() {
	local h=$1 ns
	shift
	case $h in A) ns=$MH_NSA ;; B) ns=$MH_NSB ;; *) pt_fail "mh_on: host $h?" ;; esac
	local r=$PT_RUNDIR/${h,,}
	PVIO_RUNDIR=$r XENSTORED_PATH=$r/store.sock ip netns exec "$ns" "$@"
}

# underlay: a veth from host namespace $1 (name $2) to the wire bridge
_mh_wire() {
	local ns=$1 host=$2 addr=$3
	ip link add "w$host$PT_ID" netns "$MH_NSU" type veth peer name "u$host$PT_ID" netns "$ns" ||
		pt_fail "cannot make the wire to $host"
	ip -n "$MH_NSU" link set "w$host$PT_ID" mtu 1600 master "ub$PT_ID" up
	ip -n "$ns" link set "u$host$PT_ID" mtu 1600 up
	ip -n "$ns" addr add "$addr/24" dev "u$host$PT_ID"
}

# the overlay device on host $2 in namespace $1, flooding to the others
_mh_vxlan() {
	local ns=$1 host=$2 peer
	ip -n "$ns" link add "vx$PT_ID" type vxlan id $MH_VNI \
		local "$(mh_ip "$host")" dev "u$host$PT_ID" dstport 4789 ||
		pt_fail "cannot make the overlay on $host"
	for peer in A B C; do
		[ $peer = "$host" ] && continue
		bridge -n "$ns" fdb append 00:00:00:00:00:00 dev "vx$PT_ID" \
			dst "$(mh_ip $peer)"
	done
}

# Why two hosts cannot be made here (printed), or nothing (status 0).
mh_check() {
	[ "$(id -u)" -eq 0 ] || { echo "needs root"; return 1; }
	[ -c /dev/net/tun ] || { echo "no /dev/net/tun"; return 1; }
	ip link add "vxt$PT_ID" type vxlan id 1 dstport 4789 2>/dev/null ||
		{ echo "no vxlan in this kernel"; return 1; }
	ip link del "vxt$PT_ID"
}

mh_up() {
	MH_BR=mbr$PT_ID
	pt_netns MH_NSU mu
	pt_netns MH_NSA ma
	pt_netns MH_NSB mb
	pt_netns MH_NSC mc
	ip -n "$MH_NSU" link add "ub$PT_ID" type bridge
	ip -n "$MH_NSU" link set "ub$PT_ID" up
	_mh_wire "$MH_NSA" A "$(mh_ip A)"
	_mh_wire "$MH_NSB" B "$(mh_ip B)"
	_mh_wire "$MH_NSC" C "$(mh_ip C)"
	local h ns
	for h in A B; do
		[ $h = A ] && ns=$MH_NSA || ns=$MH_NSB
		_mh_vxlan "$ns" $h
		# the vifs' bridge exists before any vif: vif-bridge uses it
		ip -n "$ns" link add "$MH_BR" type bridge forward_delay 0
		ip -n "$ns" link set "vx$PT_ID" master "$MH_BR" up
		ip -n "$ns" link set "$MH_BR" up
	done
	_mh_vxlan "$MH_NSC" C
	ip -n "$MH_NSC" addr add "$MH_C_IP/24" dev "vx$PT_ID"
	ip -n "$MH_NSC" link set "vx$PT_ID" up
	[ "${1:-}" = NOSTACK ] && return 0
	mkdir -p "$PT_RUNDIR/a" "$PT_RUNDIR/b"
	pt_on_exit _mh_down
	for h in A B; do
		mh_on $h pvio up >"$PT_RUNDIR/up-$h.out" 2>&1 || {
			cat "$PT_RUNDIR/up-$h.out"
			pt_fail "pvio up on host $h failed"
		}
	done
}

_mh_down() {
	local h id f
	for h in A B; do
		for id in $(mh_on $h pvio list 2>/dev/null | awk 'NR > 1 && $2 != 0 { print $2 }'); do
			mh_on $h pvio destroy "$id" 2>/dev/null
		done
		for f in "$PT_RUNDIR/${h,,}"/vm-*/monitor.pid; do
			[ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null
		done
		mh_on $h pvio down
	done
	# keep the hosts' logs where the runner's failure report finds them
	for h in a b; do
		for f in "$PT_RUNDIR/$h"/*.log; do
			[ -f "$f" ] && cp "$f" "$PT_RUNDIR/$h-$(basename "$f")"
		done
	done
	# PVIO_KEEP=DIR: a copy of the run directory (consoles, logs) there
	if [ -n "${PVIO_KEEP:-}" ]; then
		rm -rf "$PVIO_KEEP"
		cp -a "$PT_RUNDIR" "$PVIO_KEEP" 2>/dev/null
	fi
	return 0
}

mh_vm_console() { echo "$PT_RUNDIR/${1,,}/vm-$2/console.log"; }

mh_domid() {
	mh_on "$1" pvio list 2>/dev/null | awk -v n="$2" '$1 == n { print $2 }'
}

# MH_RX_ARGS: more options for the receiver (the bench's -v)
mh_receive() {
	local h=$1 log=$2 ns r=$PT_RUNDIR/${1,,}
	[ "$h" = A ] && ns=$MH_NSA || ns=$MH_NSB
	# ip netns exec runs pvio in its own place: $! is the receiver
	PVIO_RUNDIR=$r XENSTORED_PATH=$r/store.sock ip netns exec "$ns" \
		pvio migrate-receive ${MH_RX_ARGS:-} --listen "$(mh_ip "$h")" --once >"$log" 2>&1 &
	MH_RX_PID=$!
	_pt_pids+=("$MH_RX_PID")
	pt_wait_for 30 grep -q 'Waiting for migrations' "$log" ||
		pt_fail "pvio migrate-receive did not start on $h"
}

mh_qemu_pid() {
	sed -n "s/^\(.* \)\{0,1\}pvio-hv: domain $2 (.*): QEMU pid \([0-9]*\),.*/\2/p" \
		"$PT_RUNDIR/${1,,}/hv.log" | tail -n 1
}

