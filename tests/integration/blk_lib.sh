# Shared setup for the block integration tests (source after pvio-test.sh):
# hv, store and blkback on a private rundir, images under /var/tmp.
# blk_setup [BLKBACK-OPTIONS...]
blk_setup() {
	pt_init
	# images are made in $(...) subshells: clean them up from here
	pt_on_exit "rm -f /var/tmp/pvio-blk-$PT_ID-*.img"
	pt_start_hv
	pt_start_store
	blk_start_back "$@"
	BLK_TEST=$PVIO_BUILD/tests/blk_test
	[ -x "$BLK_TEST" ] || pt_fail "build/tests/blk_test missing"
}

blk_start_back() {
	pt_daemon blkback pvio-blkback --rundir "$PT_RUNDIR" -v "$@"
	# ready once it watches the store: give it a moment
	sleep 0.2
}

# blk_image NAME MiB: a sparse image removed at exit; echoes its path.
blk_image() {
	local f=/var/tmp/pvio-blk-$PT_ID-$1.img
	truncate -s "$2M" "$f" || pt_fail "cannot create $f"
	echo "$f"
}

# blk_zero FILE: make an image all zeroes again (the programs expect it).
blk_zero() {
	local size
	size=$(stat -c %s "$1")
	truncate -s 0 "$1" && truncate -s "$size" "$1"
}

# blk_run NAME 'disk-entries' PROGRAM-ARGS...: run blk_test as a process
# domain through `pvio create -F`.
blk_run() {
	local name=$1 disks=$2; shift 2
	local cfg=$PT_RUNDIR/$name.cfg
	cat >"$cfg" <<CFG
name = "$name-$PT_ID"
type = "process"
memory = 256
program = "$*"
disk = [ $disks ]
CFG
	pvio --rundir "$PT_RUNDIR" create -F "$cfg"
}

# blk_run_bg NAME 'disk-entries' PROGRAM-ARGS...: blk_run in the background,
# output in $PT_RUNDIR/NAME.log (shown on failure); its pid in BLK_BG_PID (stopped at exit).
blk_run_bg() {
	local name=$1
	blk_run "$@" >"$PT_RUNDIR/$name.log" 2>&1 &
	BLK_BG_PID=$!
	pt_on_exit "kill $BLK_BG_PID"
}

# blk_wait NAME PID: wait for a blk_run_bg run, show its output; its status.
blk_wait() {
	local rc=0
	wait "$2" || rc=$?
	sed "s/^/$1: /" "$PT_RUNDIR/$1.log"
	return $rc
}

# blk_fill FILE MiB BYTE: an image of MiB filled with one byte value (octal).
blk_fill() {
	head -c "$(($2 << 20))" /dev/zero | tr '\0' "\\$3" >"$1" ||
		pt_fail "cannot fill $1"
}

# blk_dom_maps NAME: live mappings of the grants of domain NAME-$PT_ID.
blk_dom_maps() {
	"$PVIO_BUILD/tests/blk_attack" maps "$1-$PT_ID"
}

# blk_total_maps: live grant mappings in hv, all domains.
blk_total_maps() {
	pvio --rundir "$PT_RUNDIR" info | awk '/^nr_grant_mappings/ { print $3 }'
}

# blk_back_sane: blkback is alive and its accounting balanced.
blk_back_sane() {
	kill -0 "$PT_PID_blkback" 2>/dev/null || pt_fail "pvio-blkback died"
	! grep -q "not balanced" "$PT_RUNDIR/blkback.log" ||
		pt_fail "blkback accounting not balanced"
}
