# Helpers of the migration tests; source after tests/lib/pvio-test.sh and
# tests/guest/guest-lib.sh. The two hosts are scripts/lib/pvio-hosts.sh
# (mh_up, mh_on, ...; a test that cannot make them is skipped), plus:
#
#   mh_arp_watch LOG          record, in C, every ARP frame that arrives
#                             through the overlay with the host it came
#                             from ("arp <outer-src> <sender-mac> <sender-ip>
#                             <target-ip> <op>" lines)
#   mh_leftovers A|B DOMID    print what of domain DOMID is left on a host:
#                             QEMU, TAPs, store nodes, backend dirs
. "$PVIO_TOP/scripts/lib/pvio-hosts.sh"

mh_test_up() {
	local why
	why=$(mh_check) || pt_skip "$why"
	mh_up "$@"
}

mh_arp_watch() {
	local py=/usr/bin/python3
	[ -x $py ] || py=python3
	pt_daemon arpwatch ip netns exec "$MH_NSC" $py \
		"$PVIO_TOP/tests/guest/vxlan_arp_watch.py" "uC$PT_ID" "$1"
	pt_wait_for 60 test -s "$1" || pt_fail "the ARP watcher did not start"
}

mh_leftovers() {
	local h=$1 dom=$2 ns
	[ "$h" = A ] && ns=$MH_NSA || ns=$MH_NSB
	pgrep -f "$PT_RUNDIR/${h,,}/vm-$dom/qmp" >/dev/null &&
		echo "QEMU of domain $dom"
	ip -n "$ns" -o link show 2>/dev/null | grep -o "vif$dom\.[0-9]*" | sort -u
	mh_on "$h" pvio store read "/local/domain/$dom/name" >/dev/null 2>&1 &&
		echo "/local/domain/$dom"
	local t
	for t in vbd vif; do
		mh_on "$h" pvio store ls "/local/domain/0/backend/$t/$dom" \
			>/dev/null 2>&1 && echo "/local/domain/0/backend/$t/$dom"
	done
	return 0
}
