#!/usr/bin/env bash
# pvio-timeout: 90
# make install into a DESTDIR: binaries, hotplug script, systemd units
# (checked by systemd-analyze where it exists), man pages that render,
# bash completion that completes verbs and domain names; then the stack
# runs from the installed tree: pvio up, a process domain with a disk
# through the installed pvio-blkback, logs stamped with the time, pvio
# down leaving nothing running; make uninstall removes it all.
. "$(dirname "$0")/../lib/pvio-test.sh"
pt_init
dest=$PT_RUNDIR/dest
make -s -C "$PVIO_TOP" install DESTDIR="$dest" PREFIX=/usr >"$PT_RUNDIR/make.out" 2>&1 ||
	{ cat "$PT_RUNDIR/make.out"; pt_fail "make install"; }
for f in sbin/pvio sbin/pvio-hv sbin/pvio-store sbin/pvio-blkback sbin/pvio-netback \
	lib/pvio/scripts/vif-bridge lib/systemd/system/pvio.target \
	lib/systemd/system/pvio-hv.service lib/systemd/system/pvio-store.service \
	lib/systemd/system/pvio-blkback.service lib/systemd/system/pvio-netback.service \
	share/man/man1/pvio.1 share/man/man5/pvio.cfg.5 \
	share/bash-completion/completions/pvio; do
	[ -e "$dest/usr/$f" ] || pt_fail "not installed: /usr/$f"
done
grep -q "^ExecStart=/usr/sbin/pvio-hv --rundir /run/pvio$" "$dest/usr/lib/systemd/system/pvio-hv.service" ||
	pt_fail "pvio-hv.service: $(grep ExecStart "$dest/usr/lib/systemd/system/pvio-hv.service")"
if command -v systemd-analyze >/dev/null; then
	# the units name /usr/sbin/...: check them against the installed copies
	for u in "$dest"/usr/lib/systemd/system/*.service; do
		sed "s|/usr/sbin/|$dest/usr/sbin/|" "$u" >"$PT_RUNDIR/$(basename "$u")"
	done
	cp "$dest/usr/lib/systemd/system/pvio.target" "$PT_RUNDIR/"
	systemd-analyze verify --man=no "$PT_RUNDIR"/pvio*.service "$PT_RUNDIR/pvio.target" \
		2>"$PT_RUNDIR/verify" || { cat "$PT_RUNDIR/verify"; pt_fail "systemd-analyze verify"; }
fi
for m in man1/pvio.1 man5/pvio.cfg.5; do
	out=$(MANWIDTH=80 man -l "$dest/usr/share/man/$m" 2>&1 >/dev/null) ||
		pt_fail "man $m does not render"
	[ -z "$out" ] || pt_fail "man $m: $out"
done
MANWIDTH=80 man -l "$dest/usr/share/man/man1/pvio.1" 2>/dev/null | grep -q "vcpu-set DOM COUNT" ||
	pt_fail "pvio(1) lacks vcpu-set"

# the stack from the installed tree, not the build tree
P="$dest/usr/sbin/pvio --rundir $PT_RUNDIR/run"
PATH="$dest/usr/sbin:/usr/bin:/bin:/usr/sbin:/sbin"
export PVIO_RUNDIR=$PT_RUNDIR/run XENSTORED_PATH=$PT_RUNDIR/run/store.sock
pt_on_exit "$P down"
$P up >"$PT_RUNDIR/up.out" 2>&1 || { cat "$PT_RUNDIR/up.out"; pt_fail "installed pvio up"; }
grep -q "started pvio-hv (pid" "$PT_RUNDIR/up.out" || pt_fail "up: $(cat "$PT_RUNDIR/up.out")"
for d in hv store blkback netback; do
	exe=$(readlink "/proc/$(cat "$PT_RUNDIR/run/$d.pid")/exe")
	[ "$exe" = "$dest/usr/sbin/pvio-$d" ] || pt_fail "$d runs $exe"
done
# bash completion: verbs, then domain names
img=$PT_RUNDIR/d.img
truncate -s 16M "$img"
cat >"$PT_RUNDIR/p.cfg" <<CFG
name = "inst-$PT_ID"
type = "process"
memory = 64
program = "$PVIO_BUILD/tests/blk_test --file $img integrity"
disk = [ 'phy:$img,xvda,w' ]
CFG
$P create -F "$PT_RUNDIR/p.cfg" >"$PT_RUNDIR/create.out" 2>&1 ||
	{ cat "$PT_RUNDIR/create.out"; pt_fail "a process domain with a disk, installed stack"; }
grep -q "writes verified" "$PT_RUNDIR/create.out" || pt_fail "blk_test: $(cat "$PT_RUNDIR/create.out")"
compl=$(bash -c ". '$dest/usr/share/bash-completion/completions/pvio'
	COMP_WORDS=(pvio vcpu-s); COMP_CWORD=1; _pvio; echo \"\${COMPREPLY[*]}\"")
[ "$compl" = "vcpu-set" ] || pt_fail "completion of 'vcpu-s': '$compl'"
head -1 "$PT_RUNDIR/run/hv.log" | grep -qE '^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:.]{12} pvio-hv: serving' ||
	pt_fail "hv.log is not stamped: $(head -1 "$PT_RUNDIR/run/hv.log")"
grep -qE '^[0-9]{4}-[0-9-]{5} [0-9:.]{12} pvio-blkback: .*: /.*d\.img' "$PT_RUNDIR/run/blkback.log" ||
	pt_fail "blkback.log: $(tail -3 "$PT_RUNDIR/run/blkback.log")"
pids=$(cat "$PT_RUNDIR"/run/*.pid)
$P down >/dev/null || pt_fail "installed pvio down"
for p in $pids; do
	# a zombie nobody reaped has stopped running
	! kill -0 "$p" 2>/dev/null || grep -q '^State:.*Z' "/proc/$p/status" ||
		pt_fail "daemon $p still runs"
done
pgrep -f "$dest/usr/sbin" && pt_fail "something of the installed tree still runs"
make -s -C "$PVIO_TOP" uninstall DESTDIR="$dest" PREFIX=/usr || pt_fail "make uninstall"
left=$(find "$dest" -type f)
[ -z "$left" ] || pt_fail "left after uninstall: $left"
pt_pass
