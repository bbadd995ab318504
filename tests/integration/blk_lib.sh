# Shared setup for the block integration tests (source after pvio-test.sh):
# hv, store and blkback on a private rundir, images under /var/tmp.
blk_setup() {
	pt_init
	# images are made in $(...) subshells: clean them up from here
	pt_on_exit "rm -f /var/tmp/pvio-blk-$PT_ID-*.img"
	pt_start_hv
	pt_start_store
	blk_start_back
	BLK_TEST=$PVIO_TOP/build/tests/blk_test
	[ -x "$BLK_TEST" ] || pt_fail "build/tests/blk_test missing"
}

blk_start_back() {
	pt_daemon blkback pvio-blkback --rundir "$PT_RUNDIR" -v ${BLK_VERBOSE:-}
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
