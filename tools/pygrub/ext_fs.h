/* SPDX-License-Identifier: MIT */
/*
 * A read-only ext2/ext3/ext4 reader for pygrub: superblock, group
 * descriptors (32 and 64 bytes), inodes, block maps and extent trees,
 * directories and symlinks. The image is untrusted: every block number,
 * length, count and depth is checked against the file system and the
 * partition it lives in, loops are bounded, reads are capped; a bad
 * image is an error, never a crash or a read outside the partition.
 */
#ifndef PVIO_TOOLS_EXT_FS_H
#define PVIO_TOOLS_EXT_FS_H

#include <stddef.h>
#include <stdint.h>

struct extfs;

/*
 * The file system at byte @off of @fd, at most @size bytes (the
 * partition). 0 or -errno (-EINVAL: not ext2/3/4; -EOPNOTSUPP: a
 * feature this reader does not handle), with a message in @err.
 */
int extfs_open(int fd, uint64_t off, uint64_t size, struct extfs **out,
	       char *err, size_t errlen);
void extfs_close(struct extfs *fs);

/*
 * Read the regular file at absolute @path (symlinks followed, at most 8)
 * whole into *@buf (malloc'd, NUL-terminated beyond *@len), if it is at
 * most @max bytes. 0 or -errno (-ENOENT, -ENOTDIR, -EFBIG, -ELOOP,
 * -EISDIR, -EIO for a corrupt image).
 */
int extfs_read_file(struct extfs *fs, const char *path, uint64_t max,
		    char **buf, size_t *len);

/* Does @path exist (after symlinks)? 1 yes, 0 no, -errno on corruption. */
int extfs_exists(struct extfs *fs, const char *path);

#endif
