// SPDX-License-Identifier: MIT
/*
 * blkback backing stores: picks the kind of store a disk's params name,
 * and is the "file" store itself: opens a raw image file or a block device
 * (O_DIRECT when it allows it), probes size, sector size and O_DIRECT
 * alignment, discards ranges; its I/O runs on io_uring or libaio.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <linux/fs.h>
#include <linux/falloc.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "blkback.h"

#ifndef STATX_DIOALIGN
#define STATX_DIOALIGN 0x00002000U
#endif

/* QEMU's image formats that qemu-storage-daemon opens for a qdisk. */
static const char *const qemu_formats[] = {
	"raw", "qcow2", "qcow", "vmdk", "vhdx", "vpc", "vhd", "qed", "luks",
	"vdi", "parallels", "dmg", "bochs", "cloop",
};

bool blkback_format_known(const char *format)
{
	for (unsigned int i = 0; i < sizeof(qemu_formats) / sizeof(*qemu_formats); i++)
		if (!strcmp(format, qemu_formats[i]))
			return true;
	return false;
}

static bool has_prefix(const char *s, const char *p)
{
	return !strncmp(s, p, strlen(p));
}

const struct blkback_store_ops *blkback_store_select(const char *params,
						     const char *format,
						     const char *type,
						     char *why, size_t whylen)
{
	bool raw = !*format || !strcmp(format, "raw");

	if (has_prefix(params, "nbd://") || has_prefix(params, "nbd+unix://") ||
	    has_prefix(params, "nbds://") || has_prefix(params, "nbds+unix://") ||
	    has_prefix(params, "nbd+vsock://") || has_prefix(params, "nbds+vsock://")) {
		if (!raw) {
			snprintf(why, whylen, "format %s over NBD: the export must be raw",
				 format);
			return NULL;
		}
#ifdef PVIO_HAVE_LIBNBD
		return &blkback_store_nbd;
#else
		snprintf(why, whylen, "NBD targets need pvio-blkback built with libnbd");
		return NULL;
#endif
	}
	if (has_prefix(params, "rbd:")) {
		if (!raw) {
			snprintf(why, whylen, "format %s on RBD: the image must be raw",
				 format);
			return NULL;
		}
#ifdef PVIO_HAVE_LIBRBD
		return &blkback_store_rbd;
#else
		snprintf(why, whylen, "RBD targets need pvio-blkback built with librbd");
		return NULL;
#endif
	}
	if (!raw && !blkback_format_known(format)) {
		snprintf(why, whylen, "unknown image format '%s'", format);
		return NULL;
	}
	if (!raw || !strcmp(type, "qdisk")) {
#ifdef PVIO_HAVE_LIBNBD
		return &blkback_store_qdisk;
#else
		snprintf(why, whylen, "format %s needs pvio-blkback built with libnbd (qemu-storage-daemon exports it over NBD)",
			 raw ? "raw (qdisk)" : format);
		return NULL;
#endif
	}
	return &blkback_store_file;
}

const struct blkback_engine_ops *blkback_engine_find(const char *name)
{
	if (!name || !*name || !strcmp(name, "uring") || !strcmp(name, "io_uring"))
		return &blkback_engine_uring;
	if (!strcmp(name, "aio") || !strcmp(name, "libaio"))
		return &blkback_engine_aio;
	return NULL;
}

/* Alignment O_DIRECT needs for memory, offsets and lengths on @fd. */
static uint32_t dio_alignment(int fd, bool blockdev)
{
	struct statx stx;
	int lbs = 0;

	if (!statx(fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &stx) &&
	    (stx.stx_mask & STATX_DIOALIGN) && stx.stx_dio_offset_align) {
		uint32_t a = stx.stx_dio_offset_align;

		if (stx.stx_dio_mem_align > a)
			a = stx.stx_dio_mem_align;
		return a;
	}
	if (blockdev && !ioctl(fd, BLKSSZGET, &lbs) && lbs > 0)
		return (uint32_t)lbs;
	/* unknown: the strictest that any common device asks for */
	return 4096;
}

int blkback_backing_open(struct blkback_disk *disk, bool readonly,
			 uint32_t want_sector_size)
{
	int flags = (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC;
	struct stat st;
	uint64_t bytes;
	int fd, lbs = 512;

	fd = open(disk->params, flags | O_DIRECT);
	disk->direct = fd >= 0;
	if (fd < 0 && (errno == EINVAL || errno == EOPNOTSUPP))
		fd = open(disk->params, flags);	/* e.g. tmpfs: buffered */
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		int rc = -errno;

		close(fd);
		return rc;
	}
	disk->blockdev = S_ISBLK(st.st_mode);
	if (disk->blockdev) {
		if (ioctl(fd, BLKGETSIZE64, &bytes)) {
			int rc = -errno;

			close(fd);
			return rc;
		}
		if (ioctl(fd, BLKSSZGET, &lbs) || lbs <= 0)
			lbs = 512;
	} else if (S_ISREG(st.st_mode)) {
		bytes = (uint64_t)st.st_size;
	} else {
		close(fd);
		return -EINVAL;
	}
	if (want_sector_size)
		lbs = want_sector_size;
	if (lbs != 512 && lbs != 4096) {
		close(fd);
		snprintf(disk->open_why, sizeof(disk->open_why),
			 "sector size %d (512 or 4096)", lbs);
		return -EINVAL;
	}
	disk->fd = fd;
	disk->fd_buffered = -1;
	if (disk->direct) {
		/* for requests whose buffers O_DIRECT would refuse */
		disk->fd_buffered = open(disk->params, flags);
		if (disk->fd_buffered < 0) {
			int rc = -errno;

			close(fd);
			disk->fd = -1;
			return rc;
		}
	}
	disk->dio_align = disk->direct ? dio_alignment(fd, disk->blockdev) : 1;
	disk->max_queues = BLKBACK_MAX_QUEUES;
	disk->lim.sector_size = lbs;
	disk->lim.sectors = (bytes / lbs) * (lbs >> BLKIF_SECTOR_SHIFT);
	disk->lim.readonly = readonly;
	disk->lim.max_indirect_segs = BLKBACK_MAX_INDIRECT_SEGS;
	disk->lim.discard = !readonly;
	disk->lim.discard_secure = false;
	disk->discard_granularity = st.st_blksize > (blksize_t)lbs ?
				    (uint32_t)st.st_blksize : (uint32_t)lbs;
	if (disk->blockdev)
		disk->discard_granularity = lbs;
	return 0;
}

void blkback_backing_close(struct blkback_disk *disk)
{
	if (disk->fd >= 0)
		close(disk->fd);
	if (disk->fd_buffered >= 0)
		close(disk->fd_buffered);
	disk->fd = -1;
	disk->fd_buffered = -1;
}

int blkback_backing_discard(struct blkback_disk *disk, uint64_t sector,
			    uint64_t nr_sectors)
{
	uint64_t range[2] = { sector << BLKIF_SECTOR_SHIFT,
			      nr_sectors << BLKIF_SECTOR_SHIFT };

	if (!nr_sectors)
		return 0;
	if (disk->blockdev)
		return ioctl(disk->fd, BLKDISCARD, range) ? -errno : 0;
	/* a hole reads back as zeroes and keeps the size */
	if (fallocate(disk->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      (off_t)range[0], (off_t)range[1]))
		return -errno;
	return 0;
}

static int file_open(struct blkback_disk *disk, bool readonly,
		     uint32_t want_sector_size)
{
	int rc = blkback_backing_open(disk, readonly, want_sector_size);

	if (rc && !disk->open_why[0])
		snprintf(disk->open_why, sizeof(disk->open_why), "opening %.100s: %s",
			 disk->params, strerror(-rc));
	return rc;
}

const struct blkback_store_ops blkback_store_file = {
	.name = "file",
	.open = file_open,
	.close = blkback_backing_close,
	.discard = blkback_backing_discard,
};
