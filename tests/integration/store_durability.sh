#!/usr/bin/env bash
# pvio-timeout: 120
# Durability: pvio-store killed with SIGKILL in the middle of a write
# stream loses no acknowledged write, also while it compacts its log (a
# snapshot being written, the logs being switched); a clean restart keeps
# everything; a second daemon on the same data directory is refused.
set -u
. "$(dirname "$0")/../lib/pvio-test.sh"
pt_init
pt_start_store

# Acked writes are recorded as they are acknowledged.
(
	i=0
	while :; do
		xenstore-write "/dur/k$i" "v$i" 2>/dev/null || exit 0
		echo "$i" >>"$PT_RUNDIR/acked"
		i=$((i + 1))
	done
) &
writer=$!
pt_on_exit "kill $writer"
pt_wait_for 20 test -s "$PT_RUNDIR/acked" || pt_fail "no write acknowledged"
sleep 1
kill -9 "$PT_PID_store"
wait "$writer" 2>/dev/null
n=$(wc -l <"$PT_RUNDIR/acked")
echo "$n writes acknowledged before kill -9"
[ "$n" -gt 10 ] || pt_fail "too few writes to mean anything"

rm -f "$PT_RUNDIR/store.sock"	# stale: killed daemons leave it behind
pt_start_store
miss=0
while read -r i; do
	[ "$(xenstore-read "/dur/k$i")" = "v$i" ] || { echo "lost /dur/k$i"; miss=$((miss + 1)); }
done <"$PT_RUNDIR/acked"
[ $miss -eq 0 ] || pt_fail "$miss acknowledged writes lost"

# A second daemon on the same data is refused.
if pvio-store --socket "$PT_RUNDIR/other.sock" --datadir "$PT_RUNDIR/store-data" \
	>"$PT_RUNDIR/second.log" 2>&1; then
	pt_fail "second daemon on the same datadir started"
fi
grep -q "in use" "$PT_RUNDIR/second.log" || pt_fail "no clear refusal message"

# Clean restart (snapshot + empty log).
xenstore-rm /dur/k0
kill -TERM "$PT_PID_store"
pt_wait_for 10 bash -c "! kill -0 $PT_PID_store" || pt_fail "no clean shutdown"
[ -s "$PT_RUNDIR/store-data/store.snap" ] || pt_fail "no snapshot after SIGTERM"
pt_start_store
xenstore-exists /dur/k0 && pt_fail "rm lost across restart"
[ "$(xenstore-read "/dur/k$((n - 1))")" = "v$((n - 1))" ] || pt_fail "last write lost"

# Compaction while serving: a tiny threshold makes the daemon switch logs
# and write snapshots every few hundred writes; kill -9 lands wherever.
kill -TERM "$PT_PID_store"
pt_wait_for 10 bash -c "! kill -0 $PT_PID_store" || pt_fail "no clean shutdown"
pt_start_store --compact-min 32768
xs_raw=$(dirname "$0")/xs_raw.py
for round in 1 2 3; do
	: >"$PT_RUNDIR/acked$round"
	python3 "$xs_raw" stream "/cmp$round" "$PT_RUNDIR/acked$round" &
	writer=$!
	pt_on_exit "kill $writer"
	pt_wait_for 20 test -s "$PT_RUNDIR/acked$round" || pt_fail "no write acknowledged"
	sleep "0.$((round * 2))"
	stats=$(python3 "$xs_raw" req CONTROL stats)
	kill -9 "$PT_PID_store"
	wait "$writer" 2>/dev/null
	n=$(wc -l <"$PT_RUNDIR/acked$round")
	c=$(echo "$stats" | sed -n 's/.*compactions \([0-9]*\).*/\1/p')
	echo "round $round: $n writes acknowledged, ${c:-?} compactions before kill -9"
	[ "${c:-0}" -gt 0 ] || pt_fail "no compaction happened (stats: $stats)"
	rm -f "$PT_RUNDIR/store.sock"
	pt_start_store --compact-min 32768
	python3 "$xs_raw" check "/cmp$round" "$PT_RUNDIR/acked$round" | head -5
	[ "${PIPESTATUS[0]}" -eq 0 ] ||
		pt_fail "round $round: acknowledged writes lost after kill -9"
done
# the first round's writes went through two more crashes and compactions
python3 "$xs_raw" check /cmp1 "$PT_RUNDIR/acked1" | head -5
[ "${PIPESTATUS[0]}" -eq 0 ] || pt_fail "round 1: writes lost by later rounds"
pt_pass
