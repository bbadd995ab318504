# Shared setup of the network integration tests (sourced, not run):
# pvio-hv, pvio-store, and pvio-netback running inside a test netns ($NB_NS)
# so that every TAP and bridge it makes lives and dies with that namespace.
#
#   net_setup                       hv, store, netback
#   net_guest NAME SPEC IP [ARGS]   a process domain with pvio-netfront-tap
#                                   in its own netns "NAME-$PT_ID"; sets
#                                   NS_<NAME>
. "$(dirname "${BASH_SOURCE[0]}")/../lib/pvio-test.sh"


net_setup() {
	pt_need_root
	[ -c /dev/net/tun ] || pt_skip "no /dev/net/tun"
	pt_init
	pt_start_hv
	pt_start_store
	pt_netns NB_NS nb
	net_start_netback
}

net_start_netback() {
	pt_daemon netback ip netns exec "$NB_NS" pvio-netback --rundir "$PT_RUNDIR"
	pt_wait_for 10 grep -q "serving vifs" "$PT_RUNDIR/netback.log" ||
		pt_fail "pvio-netback did not start"
}

# net_guest NAME VIFSPEC CIDR [extra netfront-tap args]
net_guest() {
	local name=$1 spec=$2 cidr=$3
	shift 3
	local ns
	pt_netns ns "$name"
	eval "NS_$name=$ns"
	pt_daemon "fe-$name" pvio-netfront-tap --create "$name-$PT_ID" --mem 64 \
		--vif "$spec" --netns "$ns" --ifname eth0 --ip "$cidr" "$@"
	local pid
	eval "pid=\$PT_PID_fe_$name"
	# stop the guest (it detaches its vif) before hv and store go away
	pt_on_exit "net_stop_pid $pid"
	pt_wait_for 20 grep -q "as eth0" "$PT_RUNDIR/fe-$name.log" ||
		pt_fail "netfront-tap $name did not come up"
}

net_stop_pid() {
	kill -TERM "$1" 2>/dev/null || return 0
	for _ in $(seq 50); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -KILL "$1" 2>/dev/null
}

# net_domid NAME: the domain id a guest got
net_domid() {
	sed -n 's/^domain \([0-9]*\) vif.*/\1/p' "$PT_RUNDIR/fe-$1.log" | head -1
}
