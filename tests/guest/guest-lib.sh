# Helpers for guest (QEMU) tests; source after tests/lib/pvio-test.sh.
#
#   gt_init                   skip (77) unless qemu and the kernel image exist;
#                             sets GT_KERNEL, GT_ACCEL
#   gt_image SCRIPT OUT       the initramfs with SCRIPT as /pvio/test.sh
#   gt_qemu_plain LOG INITRD [QEMU ARGS...]
#                             boot a plain QEMU guest (no pvio-hv) to the end
#   gt_check_result LOG       fail unless the guest printed its PASS marker

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
	[ -f "$PVIO_TOP/build/modules/pvio_core.ko" ] ||
		pt_fail "build/modules/pvio_core.ko missing: run make modules"
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
