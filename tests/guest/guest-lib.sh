# Helpers for guest (QEMU) tests; source after tests/lib/pvio-test.sh.
#
#   gt_init [MODULE...]       skip (77) unless qemu and the kernel image exist;
#                             fail unless pvio_core.ko and each MODULE.ko are built;
#                             sets GT_KERNEL, GT_ACCEL
#   gt_image SCRIPT OUT       the initramfs with SCRIPT as /pvio/test.sh
#   gt_qemu_plain LOG INITRD [QEMU ARGS...]
#                             boot a plain QEMU guest (no pvio-hv) to the end
#   gt_check_result LOG       fail unless the guest printed its PASS marker
#
# The whole stack, with VMs made by the toolstack (`pvio create`):
#
#   gt_stack_up               `pvio up` in $PT_RUNDIR: pvio-hv, pvio-store,
#                             pvio-blkback, pvio-netback (logs hv.log etc. in
#                             the run dir); at exit every VM is destroyed,
#                             the monitors and daemons stopped (`pvio down`)
#   gt_vm_cfg CFG NAME INITRD [MEM_MIB] [VCPUS] [EXTRA CFG LINES...]
#                             write an xl config CFG for a VM booting
#                             $GT_KERNEL with INITRD (defaults 512 MiB, 2
#                             vCPUs, extra = "quiet"); extra lines such as
#                             "disk = [ '...' ]" come last and override
#                             (extra lines need MEM_MIB and VCPUS given)
#   gt_vm_create CFG          `pvio create CFG`; prints the new domid
#                             (dom=$(gt_vm_create CFG) ends a `set -e` test
#                             if pvio create fails)
#   gt_vm_console DOMID       path of the VM's console log
#   gt_vm_wait_result DOMID TIMEOUT
#                             wait until the guest prints its
#                             PVIO-GUEST-RESULT line; fail with the console
#                             tail on FAIL or timeout
#   gt_vm_wait_gone DOMID TIMEOUT
#                             wait until hv no longer lists the domain
#   gt_store_has PATH         succeed if PATH exists in the store
#
# A guest test script is handed in with gt_image (scripts/guest-image
# --with-script): `gt_image my.sh "$PT_RUNDIR/initrd"`, then a config
# naming that initrd. For `pvio shutdown DOM` to work, the guest script
# sets `echo "/sbin/poweroff -f" >/proc/sys/kernel/poweroff_cmd` (the
# image's /init ignores the signal a plain poweroff sends to PID 1).

# The accelerator pvio-hv would pick: $PVIO_ACCEL, else KVM only when
# /dev/kvm is writable and the CPU shows vmx/svm, else multi-threaded TCG.
gt_accel() {
	case ${PVIO_ACCEL:-} in
	tcg) echo tcg,thread=multi; return ;;
	?*) echo "$PVIO_ACCEL"; return ;;
	esac
	if [ -w /dev/kvm ] && grep -qw -e vmx -e svm /proc/cpuinfo; then
		echo kvm
	else
		echo tcg,thread=multi
	fi
}

gt_init() {
	command -v qemu-system-x86_64 >/dev/null || pt_skip "qemu-system-x86_64 not installed"
	local m
	for m in pvio_core "$@"; do
		[ -f "$PVIO_TOP/build/modules/$m.ko" ] ||
			pt_fail "build/modules/$m.ko missing: run make modules"
	done
	GT_KERNEL=$("$PVIO_TOP/scripts/guest-kernel") || pt_fail "scripts/guest-kernel failed"
	GT_ACCEL=$(gt_accel)
	export GT_KERNEL GT_ACCEL
}

gt_image() {
	"$PVIO_TOP/scripts/guest-image" --with-script "$1" "$2" >/dev/null ||
		pt_fail "scripts/guest-image failed"
}

gt_qemu_plain() {
	local log=$1 initrd=$2
	shift 2
	qemu-system-x86_64 -accel "$GT_ACCEL" -M q35 -m 512 -smp 2 \
		-nodefaults -nographic -no-reboot \
		-kernel "$GT_KERNEL" -initrd "$initrd" \
		-append "console=ttyS0 panic=-1 quiet" \
		-serial "file:$log" "$@" </dev/null
}

gt_check_result() {
	grep -q 'PVIO-GUEST-RESULT: PASS' "$1" && return 0
	echo "--- guest console"
	tail -n 40 "$1"
	pt_fail "guest did not report PASS"
}

gt_stack_up() {
	pvio up >"$PT_RUNDIR/up.out" 2>&1 || {
		cat "$PT_RUNDIR/up.out"
		pt_fail "pvio up failed"
	}
	pt_on_exit _gt_stack_down
}

_gt_stack_down() {
	local id f
	# VMs first (their devices and nodes go with them), then the monitors
	for id in $(pvio list 2>/dev/null | awk 'NR > 1 && $2 != 0 { print $2 }'); do
		pvio destroy "$id" 2>/dev/null
	done
	for f in "$PT_RUNDIR"/vm-*/monitor.pid; do
		[ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null
	done
	pvio down
}

gt_vm_cfg() {
	local cfg=$1 name=$2 initrd=$3 mem=${4:-512} vcpus=${5:-2}
	shift 3
	[ $# -gt 0 ] && shift
	[ $# -gt 0 ] && shift
	{
		echo "name = \"$name\""
		echo "type = \"pvh\""
		echo "kernel = \"$GT_KERNEL\""
		echo "ramdisk = \"$initrd\""
		echo "extra = \"quiet\""
		echo "memory = $mem"
		echo "vcpus = $vcpus"
		echo "on_poweroff = \"destroy\""
		echo "on_crash = \"destroy\""
		for l in "$@"; do echo "$l"; done
	} >"$cfg"
}

gt_vm_create() {
	local out
	out=$(pvio create "$1" 2>&1) || {
		echo "$out" >&2
		pt_fail "pvio create $1 failed"
	}
	echo "$out" | sed -n 's/.*(id=\([0-9]*\)).*/\1/p' | head -n 1
}

gt_vm_console() { echo "$PT_RUNDIR/vm-$1/console.log"; }

gt_vm_wait_result() {
	local dom=$1 limit=$2 log end
	log=$(gt_vm_console "$dom")
	end=$(( $(date +%s) + limit ))
	until grep -aq 'PVIO-GUEST-RESULT:' "$log" 2>/dev/null; do
		if [ "$(date +%s)" -ge $end ]; then
			echo "--- guest console (domain $dom, tail)"
			tail -n 40 "$log" 2>/dev/null
			pt_fail "domain $dom: no result within $limit s"
		fi
		sleep 0.2
	done
	grep -aq 'PVIO-GUEST-RESULT: PASS' "$log" && return 0
	echo "--- guest console (domain $dom, tail)"
	tail -n 40 "$log"
	pt_fail "domain $dom: guest reported $(grep -a 'PVIO-GUEST-RESULT:' "$log" | head -n 1)"
}


gt_vm_wait_gone() {
	pt_wait_for "$2" sh -c "! pvio list $1 >/dev/null 2>&1"
}

gt_store_has() { pvio store read "$1" >/dev/null 2>&1 || pvio store ls "$1" >/dev/null 2>&1; }
