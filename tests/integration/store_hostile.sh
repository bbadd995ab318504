#!/usr/bin/env bash
# pvio-timeout: 150
# Hostile clients against pvio-store: garbage headers, payloads over 4096,
# unknown types, 1-byte dribbles, 10 000 watches, transactions never ended,
# a watcher that never reads, a client that never reads its replies. Each
# gets an error, a closed connection or is no longer read; the daemon stays
# up, its memory stays bounded, and a well-behaved client watching meanwhile
# keeps getting served.
set -u
. "$(dirname "$0")/../lib/pvio-test.sh"
pt_init
here=$(cd "$(dirname "$0")" && pwd)
pt_start_store

# A well-behaved watcher that must see all its events through the attack.
pvio store watch -n 3 /good >"$PT_RUNDIR/good.out" 2>&1 &
good=$!
pt_on_exit "kill $good"
sleep 0.3

for c in garbage toolong badtype split watches transactions noread noreadreplies; do
	timeout 90 "$here/xs_raw.py" hostile $c || pt_fail "hostile case $c"
	kill -0 "$PT_PID_store" 2>/dev/null || pt_fail "pvio-store died on $c"
done
rss=$(awk '/VmRSS/ {print $2}' /proc/$PT_PID_store/status)
echo "pvio-store RSS after the attacks: ${rss} kB"
[ "$rss" -lt 65536 ] || pt_fail "pvio-store RSS ${rss} kB: unbounded growth?"

xenstore-write /good/a 1 /good/b 2 || pt_fail "well-behaved write"
pt_wait_for 10 bash -c "! kill -0 $good" || pt_fail "good watcher starved"
[ "$(sort "$PT_RUNDIR/good.out" | tr '\n' ' ')" = "/good /good/a /good/b " ] ||
	pt_fail "good watcher saw: $(cat "$PT_RUNDIR/good.out")"
grep -q "unread events, disconnecting" "$PT_RUNDIR/store.log" ||
	pt_fail "the non-reading watcher was not disconnected"
pt_pass
