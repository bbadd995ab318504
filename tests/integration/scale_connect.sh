#!/usr/bin/env bash
# pvio-timeout: 200
# Many domains at once: 32 process domains, each with its own disk, are all
# created first and then started together. Every one connects and verifies
# its writes (blk_test integrity); then each is destroyed while it holds its
# disk open. Afterwards pvio-blkback, pvio-hv and pvio-store are back where
# they were: no more open fds and threads than before (one the baseline
# caught while closing may be gone), no view of any domain's RAM,
# no live grant mapping, no store node of the domains, no program left,
# and their anonymous memory within a small margin of the baseline (taken
# after one domain has come and gone, so that what the stack sets up once
# is in it). perf/bench-scale measures the same at 16..256.
set -u
. "$(dirname "$0")/../lib/pvio-test.sh"
. "$(dirname "$0")/blk_lib.sh"
blk_setup
command -v xenstore-ls >/dev/null || pt_skip "xenstore-utils missing"
n=${PVIO_SCALE_N:-32}
P() { pvio --rundir "$PT_RUNDIR" "$@"; }

# fds threads ram-views anon-kB of a pid
res() {
	echo "$(ls /proc/$1/fd | wc -l) $(awk '/^Threads/ {print $2}' /proc/$1/status)" \
	     "$(grep -c 'memfd:pvio-ram' /proc/$1/maps) $(awk '/^RssAnon/ {print $2}' /proc/$1/status)"
}

cfg() {
	local img
	img=$(blk_image "s$1" 8)
	cat >"$PT_RUNDIR/s$1.cfg" <<CFG
name = "sc$1-$PT_ID"
type = "process"
memory = 32
program = "$BLK_TEST --file $img --go $PT_RUNDIR/GO --hold integrity"
disk = [ '$img,raw,xvda,rw' ]
CFG
}

verified() { grep -l "^integrity: .*verified" "$PT_RUNDIR"/sc*-"$PT_ID".log 2>/dev/null | wc -l; }
finished() { [ "$(grep -l '^integrity: .*verified\|^FAIL' "$PT_RUNDIR"/sc*-"$PT_ID".log 2>/dev/null | wc -l)" -ge "$1" ]; }
no_programs() { ! pgrep -f "$PT_RUNDIR/GO|$PT_RUNDIR/s[0-9]" >/dev/null; }

# a domain comes and goes: the baseline includes what is set up once
cfg 0
touch "$PT_RUNDIR/GO"
P create "$PT_RUNDIR/s0.cfg" >/dev/null || pt_fail "create of the first domain"
pt_wait_for 30 finished 1 && [ "$(verified)" -eq 1 ] || pt_fail "the first domain did not verify"
P destroy "sc0-$PT_ID" || pt_fail "destroy of the first domain"
rm -f "$PT_RUNDIR/GO" "$PT_RUNDIR/sc0-$PT_ID.log"
sleep 1
for d in blkback hv store; do
	eval "base_$d=\"\$(res \$PT_PID_$d)\""
done

for i in $(seq 1 "$n"); do
	cfg "$i"
	P create "$PT_RUNDIR/s$i.cfg" >/dev/null || pt_fail "create of domain $i"
done
pt_on_exit "for _k in \$(seq 1 $n); do pvio --rundir $PT_RUNDIR destroy sc\$_k-$PT_ID; done"
touch "$PT_RUNDIR/GO"
pt_wait_for 120 finished "$n"
ok=$(verified)
echo "$ok of $n domains connected and verified"
if [ "$ok" -ne "$n" ]; then
	grep -h "^FAIL" "$PT_RUNDIR"/sc*-"$PT_ID".log | sort | uniq -c | head -5
	pt_fail "only $ok of $n domains verified"
fi

for i in $(seq 1 "$n"); do
	P destroy "sc$i-$PT_ID" || pt_fail "destroy of domain $i"
done
# the monitors and backends finish their part
pt_wait_for 10 no_programs ||
	pt_fail "programs left: $(pgrep -af "$PT_RUNDIR/GO|$PT_RUNDIR/s[0-9]")"
left=$(xenstore-ls -f / | grep -cE '^/local/domain/[1-9]|^/local/domain/0/backend/[^/]+/[0-9]|^/vm/')
[ "$left" -eq 0 ] || pt_fail "$left store nodes of the domains left"
maps=$(P info | awk -F: '/nr_grant_mappings/ {gsub(/ /, "", $2); print $2}')
[ "$maps" = 0 ] || pt_fail "hv still has $maps grant mappings"
for d in blkback hv store; do
	eval "pid=\$PT_PID_$d; base=\$base_$d"
	read -r fds thr views anon <<<"$base"
	settled=0
	for _ in $(seq 50); do
		read -r fds2 thr2 views2 anon2 <<<"$(res "$pid")"
		if [ "$fds2" -le "$fds" ] && [ "$thr2" -le "$thr" ] && [ "$views2" -eq 0 ]; then
			settled=1
			break
		fi
		sleep 0.2
	done
	echo "$d: fds $fds -> $fds2, threads $thr -> $thr2, ram views $views -> $views2, anon $anon -> $anon2 kB"
	[ $settled = 1 ] || pt_fail "$d did not come back to its baseline"
	# under ASan (make check-asan) freed memory sits in its quarantine:
	# fds, threads and views still count, memory does not
	[ -n "${ASAN_OPTIONS:-}" ] || [ "$anon2" -le $((anon + 4096)) ] ||
		pt_fail "$d grew by $((anon2 - anon)) kB"
done
pt_pass
