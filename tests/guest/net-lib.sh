# Helpers for the guest network tests; source after tests/lib/pvio-test.sh
# and tests/guest/guest-lib.sh.
#
#   gn_stack_up          a netns $GN_NS, then the whole stack (`pvio up`)
#                        started inside it: pvio-netback makes its TAPs and
#                        bridges there, and QEMU (started by hv) lives
#                        there too, so a virtio-net tap can join the same
#                        bridge. Cleanup as gt_stack_up, then the netns.
#   gn_bridge_ip BR CIDR wait until bridge BR exists in $GN_NS (vif-bridge
#                        creates it when the first vif is attached) and
#                        give it CIDR ("dom0's bridge address")
#   gn_iperf_server ADDR an iperf3 server in $GN_NS bound to ADDR
#   gn_check_console DOM fail on a kernel BUG/WARNING/Oops in the console
gn_stack_up() {
	pt_need_root
	[ -c /dev/net/tun ] || pt_skip "no /dev/net/tun"
	pt_netns GN_NS nb
	ip netns exec "$GN_NS" pvio up >"$PT_RUNDIR/up.out" 2>&1 || {
		cat "$PT_RUNDIR/up.out"
		pt_fail "pvio up failed"
	}
	pt_on_exit _gt_stack_down
}

gn_bridge_ip() {
	pt_wait_for 60 ip -n "$GN_NS" link show "$1" ||
		pt_fail "bridge $1 did not appear"
	ip -n "$GN_NS" addr add "$2" dev "$1" || pt_fail "cannot address $1"
	ip -n "$GN_NS" link set "$1" up
}

gn_iperf_server() {
	pt_daemon "iperf3-${1//[.:]/_}" ip netns exec "$GN_NS" iperf3 -s -B "$1"
	pt_wait_for 10 sh -c "ip netns exec $GN_NS ss -ltn | grep -q '$1:5201'" ||
		pt_fail "iperf3 server on $1 did not start"
}

gn_check_console() {
	local log
	log=$(gt_vm_console "$1")
	if grep -aE 'BUG:|WARNING:|Oops|Call Trace|general protection' "$log"; then
		echo "--- guest console (domain $1, tail)"
		tail -n 60 "$log"
		pt_fail "kernel report in the console of domain $1"
	fi
}
