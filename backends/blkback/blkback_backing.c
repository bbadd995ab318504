// SPDX-License-Identifier: MIT
/*
 * blkback backing store: opens a raw image file or a block device (O_DIRECT
 * when it allows it), probes size, sector size and O_DIRECT alignment,
 * discards ranges, and picks the I/O engine for a disk.
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
