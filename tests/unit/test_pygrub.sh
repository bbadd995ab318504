#!/usr/bin/env bash
# pvio-timeout: 60
# pvio's pygrub on images built here with mke2fs -d (no mount, no root):
# ext2 with 1 KiB blocks (direct, indirect, double-indirect block maps),
# ext3, ext4 (extents; small groups without flex_bg so a file spans many
# extents and an index level), symlinks (fast, slow, relative, absolute,
# a loop), a grub.cfg with set default, submenus and ids, a GRUB legacy
# menu.lst, and the file system on an MBR and on a GPT partition.
# Every file read out is compared with the original byte for byte.
. "$(dirname "$0")/../lib/pvio-test.sh"
pt_init
command -v mke2fs >/dev/null || pt_skip "mke2fs missing"
probe=$PVIO_BUILD/tests/pygrub_probe
d=$PT_RUNDIR

# the tree: /boot with two kernels and initrds, grub.cfg, links
tree=$d/tree
mkdir -p "$tree/boot/grub" "$tree/a/b/c" "$tree/link"
head -c 300000 /dev/urandom >"$tree/boot/vmlinuz-1"
head -c 1100000 /dev/urandom >"$tree/boot/vmlinuz-2"
head -c 6500000 /dev/urandom >"$tree/boot/initrd.img-2"
head -c 4000 /dev/urandom >"$tree/boot/initrd.img-1"
printf 'first\n' >"$tree/a/b/c/d"
ln -s vmlinuz-2 "$tree/boot/vmlinuz"
ln -s /boot/initrd.img-2 "$tree/boot/initrd.img"
ln -s "../../../../../../../../../../../../../../../../../../../../../../boot/vmlinuz-1" "$tree/a/b/slow"
ln -s loop2 "$tree/a/loop1"; ln -s loop1 "$tree/a/loop2"
ln -s ../boot "$tree/link/boot"
cat >"$tree/boot/grub/grub.cfg" <<'CFG'
# as Debian writes it, trimmed
if [ -s $prefix/grubenv ]; then
  load_env
fi
if [ "${next_entry}" ] ; then
   set default="${next_entry}"
   set next_entry=
else
   set default="1>1"
fi
function load_video {
  if [ x$feature_all_video_module = xy ]; then
    insmod all_video
  fi
}
menuentry 'Debian GNU/Linux' --class debian $menuentry_id_option 'gnulinux-simple-x' {
	load_video
	linux	/boot/vmlinuz root=UUID=1234 ro quiet
	initrd	/boot/initrd.img
}
submenu 'Advanced options for Debian GNU/Linux' $menuentry_id_option 'gnulinux-advanced-x' {
	menuentry 'Debian GNU/Linux, with Linux 2' --class debian {
		linux	/boot/vmlinuz-2 root=UUID=1234 ro "console=ttyS0,115200n8"
		initrd	/boot/initrd.img-2
	}
	menuentry 'Debian GNU/Linux, with Linux 1 (recovery mode)' --id rec-1 {
		linux	(hd0,msdos1)/boot/vmlinuz-1 root=UUID=1234 ro single
		initrd	/boot/initrd.img-1 /a/b/c/d
	}
}
CFG

check_boot() { # image entry title want-kernel want-initrd... -- want-cmdline
	local img=$1 entry=$2 title=$3 wk=$4 out
	shift 4
	rm -rf "$d/out"; mkdir "$d/out"
	out=$("$probe" boot "$img" "$d/out" "$entry" "$title" "extra=1") ||
		pt_fail "pygrub on $img (entry $entry '$title') failed"
	cmp -s "$d/out/kernel" "$tree$wk" || pt_fail "$img: kernel is not $wk"
	local cat=$d/want.initrd; : >"$cat"
	while [ "$1" != -- ]; do cat "$tree$1" >>"$cat"; shift; done
	shift
	cmp -s "$d/out/ramdisk" "$cat" || pt_fail "$img: initrd differs"
	echo "$out" | grep -qxF "cmdline=$1 extra=1" ||
		pt_fail "$img: command line: $out"
}

for fs in "ext2 -b 1024" "ext3 -b 1024" "ext4" "ext4 -b 1024 -g 1024 -O ^flex_bg,^resize_inode"; do
	set -- $fs
	img=$d/$1-$#.img
	rm -f "$img"
	mke2fs -q -F -t "$@" -d "$tree" "$img" 16M || pt_fail "mke2fs $fs"
	# the default: "1>1", i.e. the second entry of the submenu
	check_boot "$img" -1 "" /boot/vmlinuz-1 /boot/initrd.img-1 /a/b/c/d -- \
		"root=UUID=1234 ro single"
	check_boot "$img" 0 "" /boot/vmlinuz-2 /boot/initrd.img-2 -- \
		"root=UUID=1234 ro quiet"
	check_boot "$img" -1 "Debian GNU/Linux, with Linux 2" /boot/vmlinuz-2 \
		/boot/initrd.img-2 -- "root=UUID=1234 ro console=ttyS0,115200n8"
	check_boot "$img" -1 rec-1 /boot/vmlinuz-1 /boot/initrd.img-1 /a/b/c/d -- \
		"root=UUID=1234 ro single"
	"$probe" cat "$img" /a/b/slow | cmp -s - "$tree/boot/vmlinuz-1" ||
		pt_fail "$fs: slow relative symlink"
	"$probe" cat "$img" /link/boot/vmlinuz | cmp -s - "$tree/boot/vmlinuz-2" ||
		pt_fail "$fs: symlinked directory"
	"$probe" cat "$img" /a/loop1 2>"$d/err" && pt_fail "$fs: a symlink loop was followed"
	grep -q "Too many levels of symbolic links" "$d/err" || pt_fail "$fs: loop: $(cat "$d/err")"
	"$probe" cat "$img" /boot/none 2>/dev/null && pt_fail "$fs: a missing file was read"
	"$probe" boot "$img" "$d/out" 7 2>"$d/err" && pt_fail "$fs: entry 7 exists?"
	grep -q "no menu entry 7" "$d/err" || pt_fail "$fs: $(cat "$d/err")"
done
# the extent tree of the last image really had an index level
debugfs -R "ex /boot/initrd.img-2" "$img" 2>/dev/null | awk 'NR>1 && $1 ~ /^1\// {x=1} END {exit !x}' ||
	pt_fail "the ext4 image with small groups has no extent index level"

# GRUB legacy
mkdir -p "$tree/boot/grub.legacy"
rm "$tree/boot/grub/grub.cfg"
cat >"$tree/boot/grub/menu.lst" <<'CFG'
default 1
timeout 5
title Debian old
root (hd0,0)
kernel /boot/vmlinuz-2 root=/dev/xvda1 ro
initrd /boot/initrd.img-2
title Debian older
kernel /boot/vmlinuz-1 root=/dev/xvda1 ro quiet
CFG
img=$d/legacy.img
mke2fs -q -F -t ext3 -d "$tree" "$img" 16M || pt_fail "mke2fs legacy"
rm -rf "$d/out"; mkdir "$d/out"
"$probe" boot "$img" "$d/out" >"$d/o" || pt_fail "menu.lst"
grep -qx "title=Debian older" "$d/o" && grep -qx "ramdisk=" "$d/o" || pt_fail "menu.lst: $(cat "$d/o")"
cmp -s "$d/out/kernel" "$tree/boot/vmlinuz-1" || pt_fail "menu.lst kernel"

# partitioned: an MBR and a GPT disk, the fs in partition 1 at 1 MiB
for label in msdos gpt; do
	img=$d/$label.img
	truncate -s 40M "$img"
	parted -s "$img" mklabel $label mkpart primary ext4 1MiB 39MiB >/dev/null 2>&1 ||
		pt_skip "parted missing"
	mke2fs -q -F -t ext4 -E offset=1048576 -d "$tree" "$img" 36M || pt_fail "mke2fs in $label"
	"$probe" parts "$img" | grep -qx "1048576 39845888" || pt_fail "$label table: $("$probe" parts "$img")"
	rm -rf "$d/out"; mkdir "$d/out"
	"$probe" boot "$img" "$d/out" >"$d/o" || pt_fail "pygrub on a $label disk"
	cmp -s "$d/out/kernel" "$tree/boot/vmlinuz-1" || pt_fail "$label: kernel"
done

# not a file system at all, and a truncated one: clear errors
head -c 2M /dev/urandom >"$d/noise.img"
"$probe" boot "$d/noise.img" "$d/out" 2>"$d/err" && pt_fail "noise booted"
grep -q "no ext2/3/4 file system with a GRUB config" "$d/err" || pt_fail "noise: $(cat "$d/err")"
head -c 3M "$d/ext4-1.img" >"$d/trunc.img"
"$probe" boot "$d/trunc.img" "$d/out" 2>"$d/err" && pt_fail "a truncated image booted"
pt_pass
