# Run helpers for pvio's scripts, benchmarks and tests (bash; source it):
# a private run directory, daemons, network namespaces, and a cleanup stack
# that removes all of them at exit, on failure too.
#
#   . "$PVIO_TOP/scripts/lib/pvio-run.sh"
#   pt_init                # unique run id, temp rundir, cleanup trap
#   pt_start_hv            # pvio-hv on $PT_RUNDIR
#   pt_start_store         # pvio-store on $PT_RUNDIR/store.sock
#   pt_daemon NAME CMD...  # any daemon, logged to $PT_RUNDIR/NAME.log
#   pt_netns VAR NAME      # creates netns "<NAME>-<runid>", sets VAR to it
#   pt_on_exit CMD         # run CMD at cleanup (LIFO)
#   pt_wait_for S CMD...   # poll CMD for up to S seconds
#   pt_fail MSG            # print MSG, exit 1 (the cleanup runs)
#
# Names (namespaces, bridges, TAPs) carry $PT_ID so two runs cannot collide.

PVIO_TOP=${PVIO_TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
PVIO_BUILD=${PVIO_BUILD:-$PVIO_TOP/build}
PVIO_BIN=${PVIO_BIN:-$PVIO_BUILD/bin}
PATH="$PVIO_BIN:$PATH"

_pt_cleanups=()
_pt_pids=()

pt_on_exit() { _pt_cleanups+=("$*"); }

_pt_cleanup() {
	local rc=$?
	local i
	for ((i = ${#_pt_cleanups[@]} - 1; i >= 0; i--)); do
		eval "${_pt_cleanups[$i]}" >/dev/null 2>&1 || true
	done
	for p in "${_pt_pids[@]}"; do
		kill -TERM "$p" 2>/dev/null || true
	done
	sleep 0.2
	for p in "${_pt_pids[@]}"; do
		kill -KILL "$p" 2>/dev/null || true
	done
	# a daemon's sanitizer report fails the test that ran it
	if [ -n "${PT_RUNDIR:-}" ] &&
	   grep -lqE 'ERROR: (Address|Leak|Thread)Sanitizer|runtime error:' \
		"$PT_RUNDIR"/*.log 2>/dev/null; then
		echo "FAIL: sanitizer report in a daemon's log" >&2
		grep -hE -A20 'ERROR: (Address|Leak|Thread)Sanitizer|runtime error:' \
			"$PT_RUNDIR"/*.log >&2
		[ $rc -eq 0 ] && rc=1
	fi
	if [ $rc -ne 0 ] && [ -n "${PT_RUNDIR:-}" ]; then
		for f in "$PT_RUNDIR"/*.log; do
			[ -f "$f" ] || continue
			echo "--- $f (tail)"
			tail -n 20 "$f"
		done
	fi
	# PVIO_TEST_KEEP_LOGS=DIR: the run's logs are copied there first
	if [ -n "${PVIO_TEST_KEEP_LOGS:-}" ] && [ -n "${PT_RUNDIR:-}" ]; then
		mkdir -p "$PVIO_TEST_KEEP_LOGS/${PT_RUNDIR##*/}" &&
			find "$PT_RUNDIR" -name '*.log' -exec cp --parents {} \
				"$PVIO_TEST_KEEP_LOGS/${PT_RUNDIR##*/}" \; 2>/dev/null
	fi
	[ -n "${PT_RUNDIR:-}" ] && rm -rf "$PT_RUNDIR"
	exit $rc
}

pt_init() {
	# short id: interface names are limited to 15 characters
	PT_ID=$(printf '%04x%02x' $(( $$ & 0xffff )) $(( RANDOM & 0xff )))
	PT_RUNDIR=$(mktemp -d "/tmp/pvio-test-$PT_ID.XXXX")
	export PT_ID PT_RUNDIR PVIO_RUNDIR=$PT_RUNDIR
	export XENSTORED_PATH=$PT_RUNDIR/store.sock
	trap _pt_cleanup EXIT
	trap 'exit 1' INT TERM
}

pt_fail() { echo "FAIL: $*" >&2; exit 1; }

# pt_wait_for TIMEOUT_S CMD...: poll until CMD succeeds.
pt_wait_for() {
	local limit=$1; shift
	local end=$(( $(date +%s) + limit ))
	until "$@" >/dev/null 2>&1; do
		[ "$(date +%s)" -ge $end ] && return 1
		sleep 0.05
	done
}

pt_daemon() {
	local name=$1; shift
	"$@" >"$PT_RUNDIR/$name.log" 2>&1 &
	local pid=$!
	_pt_pids+=("$pid")
	eval "PT_PID_${name//-/_}=$pid"
}

pt_start_hv() {
	pt_daemon hv pvio-hv --rundir "$PT_RUNDIR"
	pt_wait_for 10 test -S "$PT_RUNDIR/hv.sock" || pt_fail "pvio-hv did not start"
}

pt_start_store() {
	pt_daemon store pvio-store --socket "$PT_RUNDIR/store.sock" "$@"
	pt_wait_for 10 test -S "$PT_RUNDIR/store.sock" || pt_fail "pvio-store did not start"
}

# Sets a variable rather than echoing: ns=$(pt_netns x) would register the
# cleanup inside the command substitution's subshell and leak the netns.
pt_netns() {
	local _pt_ns="$2-$PT_ID"
	ip netns add "$_pt_ns" || pt_fail "cannot create netns $_pt_ns"
	pt_on_exit "ip netns del $_pt_ns"
	ip -n "$_pt_ns" link set lo up
	eval "$1=\$_pt_ns"
}
