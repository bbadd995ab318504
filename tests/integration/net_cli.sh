#!/usr/bin/env bash
# pvio-timeout: 60
# The toolstack side: network-attach writes both dirs (keys, permissions,
# stable default MAC), a wrong spec is refused and changes nothing,
# network-list shows the vif, network-detach works by devid and by MAC.
set -u
. "$(dirname "$0")/net_lib.sh"
net_setup
dom=4242
be=/local/domain/0/backend/vif/$dom
fe=/local/domain/$dom/device/vif
rd() { pvio store read "$1" 2>/dev/null || xenstore-read "$1" 2>/dev/null; }
exists() { rd "$1" >/dev/null || xenstore-exists "$1" 2>/dev/null; }

for bad in "mtu=99999" "mac=01:00:5e:00:00:01" "bridge=this-name-is-too-long" \
	   "rate=fast" "colour=blue" "vifname=a;b"; do
	if pvio network-attach $dom "$bad" 2>"$PT_RUNDIR/err"; then
		pt_fail "spec '$bad' accepted"
	fi
	grep -q "vif spec" "$PT_RUNDIR/err" || pt_fail "no clear message for '$bad': $(cat "$PT_RUNDIR/err")"
	exists "$be/0/frontend-id" && pt_fail "spec '$bad' wrote to the store"
done

pvio network-attach $dom "bridge=bc$PT_ID,mtu=4000,rate=10Mb/s@50ms,ip=10.1.2.3" ||
	pt_fail "network-attach failed"
[ "$(rd $be/0/bridge)" = "bc$PT_ID" ] || pt_fail "bridge key"
[ "$(rd $be/0/mtu)" = 4000 ] || pt_fail "mtu key"
[ "$(rd $be/0/rate)" = "62500,50000" ] || pt_fail "rate key: $(rd $be/0/rate)"
[ "$(rd $be/0/frontend)" = "$fe/0" ] || pt_fail "frontend key"
[ "$(rd $fe/0/backend)" = "$be/0" ] || pt_fail "backend key"
mac=$(rd $be/0/mac)
case $mac in 00:16:3e:*) ;; *) pt_fail "default MAC $mac not in 00:16:3e" ;; esac
[ "$(rd $fe/0/mac)" = "$mac" ] || pt_fail "frontend MAC differs"
# netback probes it: TAP on the bridge, features, InitWait
pt_wait_for 10 sh -c "[ \"\$(pvio store read $be/0/state 2>/dev/null || xenstore-read $be/0/state)\" = 2 ]" ||
	pt_fail "netback did not reach InitWait"
ip -n "$NB_NS" link show "vif$dom.0" | grep -q "master bc$PT_ID" || pt_fail "TAP not on the bridge"
[ "$(rd $be/0/feature-sg)" = 1 ] || pt_fail "no feature-sg"
pvio network-list $dom | grep -q "$mac" || pt_fail "network-list lacks the vif"

pvio network-attach $dom "bridge=bc$PT_ID" || pt_fail "second attach"
mac1=$(rd $be/1/mac)
[ "$mac1" != "$mac" ] || pt_fail "two vifs got one MAC"
pvio network-attach $dom "devid=1" 2>/dev/null && pt_fail "duplicate devid accepted"

pvio network-detach $dom "$mac1" || pt_fail "detach by MAC"
exists "$be/1/frontend-id" && pt_fail "vif 1 still in the store"
pvio network-detach $dom 0 || pt_fail "detach by devid"
exists "$be/0/frontend-id" && pt_fail "vif 0 still in the store"
pt_wait_for 5 sh -c "! ip -n $NB_NS link show vif$dom.0" || pt_fail "TAP left behind"
ip -n "$NB_NS" link show "bc$PT_ID" >/dev/null 2>&1 && pt_fail "bridge created by vif-bridge left behind"
# the same (domain, devid) gets the same MAC again
pvio network-attach $dom "bridge=bc$PT_ID" || pt_fail "re-attach"
[ "$(rd $be/0/mac)" = "$mac" ] || pt_fail "default MAC not stable"
pvio network-detach $dom 0 || pt_fail "final detach"
pt_pass
