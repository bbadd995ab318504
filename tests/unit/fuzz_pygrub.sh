#!/usr/bin/env bash
# pvio-timeout: 120
# Smoke campaign of the pygrub fuzz harness (make fuzz runs libFuzzer):
# small ext2/3/4 images made here as seeds, corrupted at random, plus
# mutated GRUB configs; the reader must neither crash nor break its
# promises (ASan/UBSan in `make fuzz`).
. "$(dirname "$0")/../lib/pvio-test.sh"
pt_init
command -v mke2fs >/dev/null || pt_skip "mke2fs missing"
tree=$PT_RUNDIR/tree
mkdir -p "$tree/boot/grub" "$tree/a/b/c"
printf 'menuentry x {\n linux /boot/vmlinuz\n initrd /boot/initrd.img\n}\n' >"$tree/boot/grub/grub.cfg"
head -c 20000 /dev/urandom >"$tree/boot/vmlinuz"
head -c 3000 /dev/urandom >"$tree/big"
ln -s boot "$tree/link"
ln -s /boot/vmlinuz "$tree/boot/initrd.img"
seeds=()
for fs in "ext2 -b 1024" "ext3 -b 1024" "ext4 -b 1024 -O ^resize_inode"; do
	set -- $fs
	img=$PT_RUNDIR/$1.img
	mke2fs -q -F -t "$@" -N 64 -d "$tree" "$img" 400K || pt_fail "mke2fs $fs"
	seeds+=("$img")
done
"$PVIO_BUILD/tests/fuzz_pygrub" 1500 "${seeds[@]}" || pt_fail "fuzz smoke"
pt_pass
