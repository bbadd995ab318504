/* SPDX-License-Identifier: MIT */
/*
 * bootloader = "pygrub": find the kernel, initrd and command line a
 * guest's own disk would boot (its grub.cfg or menu.lst, on the whole
 * disk or on a partition of an MBR or GPT table) and copy them out,
 * without mounting anything on the host. The disk image is untrusted
 * input (tools/pygrub/ext_fs.c, grub_cfg.c).
 */
#ifndef PVIO_TOOLS_PYGRUB_H
#define PVIO_TOOLS_PYGRUB_H

#include <limits.h>
#include <stddef.h>

struct pygrub_request {
	const char *disk;	/* image file or block device */
	const char *kernel;	/* "" or a path in the guest: boot that */
	const char *ramdisk;	/* "" or a path in the guest */
	const char *args;	/* appended to the entry's command line */
	int entry;		/* -1: the menu's default; else its index */
	const char *title;	/* "" or the title (or id) of the entry */
	const char *outdir;	/* kernel and ramdisk are written here */
};

struct pygrub_result {
	char kernel[PATH_MAX];	/* outdir/kernel */
	char ramdisk[PATH_MAX];	/* outdir/ramdisk, "" if none */
	char cmdline[1024];
	char title[128];
};

/* 0 or -errno with a message for a person in @err. */
int pygrub_run(const struct pygrub_request *req, struct pygrub_result *res,
	       char *err, size_t errlen);

/*
 * The partitions of the disk open as @fd of @size bytes: byte offsets and
 * lengths of up to @max partitions (MBR primaries, or GPT entries behind
 * a protective MBR); a disk without a table yields none. Count or -errno.
 */
int pygrub_partitions(int fd, unsigned long long size,
		      unsigned long long *off, unsigned long long *len,
		      unsigned int max);

#endif
