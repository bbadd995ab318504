// SPDX-License-Identifier: MIT
/*
 * Read-only ext2/3/4 (see ext_fs.h). Layout facts: the superblock at byte
 * 1024 (magic 0xEF53), block size 1024 << s_log_block_size, group
 * descriptors in the block after the superblock's, inodes found by group
 * and index, data through the 12 direct + 3 indirect block pointers of
 * i_block or, with EXTENTS_FL, an extent tree (header magic 0xF30A) rooted
 * in i_block. Everything read from the image is copied into local
 * structures, then checked.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ext_fs.h"

#define EXT_SUPER_OFF		1024
#define EXT_MAGIC		0xEF53
#define EXT_ROOT_INO		2
#define EXT_N_BLOCKS		15
#define EXT_NDIR_BLOCKS		12

#define INCOMPAT_FILETYPE	0x0002
#define INCOMPAT_RECOVER	0x0004
#define INCOMPAT_JOURNAL_DEV	0x0008
#define INCOMPAT_META_BG	0x0010
#define INCOMPAT_EXTENTS	0x0040
#define INCOMPAT_64BIT		0x0080
#define INCOMPAT_MMP		0x0100
#define INCOMPAT_FLEX_BG	0x0200
#define INCOMPAT_EA_INODE	0x0400
#define INCOMPAT_DIRDATA	0x1000
#define INCOMPAT_CSUM_SEED	0x2000
#define INCOMPAT_LARGEDIR	0x4000
#define INCOMPAT_INLINE_DATA	0x8000
#define INCOMPAT_ENCRYPT	0x10000
#define INCOMPAT_CASEFOLD	0x20000
/* what a plain read of files and directories can ignore */
#define INCOMPAT_OK	(INCOMPAT_FILETYPE | INCOMPAT_RECOVER | \
			 INCOMPAT_EXTENTS | INCOMPAT_64BIT | INCOMPAT_MMP | \
			 INCOMPAT_FLEX_BG | INCOMPAT_EA_INODE | \
			 INCOMPAT_CSUM_SEED | INCOMPAT_LARGEDIR | \
			 INCOMPAT_CASEFOLD)

#define EXT_EXTENTS_FL		0x00080000
#define EXT_INLINE_DATA_FL	0x10000000
#define EXT_EXT_MAGIC		0xF30A
#define EXT_EXT_MAX_DEPTH	5

#define S_IFMT_			0xF000
#define S_IFREG_		0x8000
#define S_IFDIR_		0x4000
#define S_IFLNK_		0xA000

#define MAX_SYMLINKS		8
#define MAX_PATH		4096
#define MAX_DIR_BYTES		(64u << 20)

struct extfs {
	int fd;
	uint64_t off, size;	/* the partition in the image */
	uint32_t block_size;
	uint64_t blocks;	/* blocks in the file system */
	uint32_t first_data_block;
	uint32_t blocks_per_group;
	uint32_t inodes_per_group;
	uint32_t inodes;
	uint32_t groups;
	uint32_t inode_size;
	uint32_t desc_size;
	uint32_t incompat;
	uint8_t *blk;		/* one block of scratch */
};

struct ext_inode {
	uint32_t ino;
	uint16_t mode;
	uint64_t size;
	uint32_t flags;
	uint8_t block[60];	/* i_block, copied */
};

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static void seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* @len bytes at byte @pos of the partition: 0 or -EIO (short, outside). */
static int dev_read(const struct extfs *fs, uint64_t pos, void *buf, size_t len)
{
	size_t done = 0;

	if (pos > fs->size || len > fs->size - pos)
		return -EIO;
	while (done < len) {
		ssize_t n = pread(fs->fd, (char *)buf + done, len - done,
				  (off_t)(fs->off + pos + done));

		if (n <= 0)
			return -EIO;
		done += (size_t)n;
	}
	return 0;
}

/* Block @b of the file system into @buf (block_size bytes). */
static int block_read(const struct extfs *fs, uint64_t b, void *buf)
{
	if (b == 0 || b >= fs->blocks)
		return -EIO;
	return dev_read(fs, b * fs->block_size, buf, fs->block_size);
}

int extfs_open(int fd, uint64_t off, uint64_t size, struct extfs **out,
	       char *err, size_t errlen)
{
	uint8_t sb[1024];
	struct extfs tmp = { .fd = fd, .off = off, .size = size };
	struct extfs *fs;
	uint32_t log_bs, rev;
	uint64_t groups;

	*out = NULL;
	if (dev_read(&tmp, EXT_SUPER_OFF, sb, sizeof(sb)) ||
	    le16(sb + 56) != EXT_MAGIC) {
		seterr(err, errlen, "no ext2/3/4 file system");
		return -EINVAL;
	}
	log_bs = le32(sb + 24);
	if (log_bs > 6) {	/* 1 KiB .. 64 KiB */
		seterr(err, errlen, "bad block size");
		return -EINVAL;
	}
	tmp.block_size = 1024u << log_bs;
	tmp.first_data_block = le32(sb + 20);
	tmp.blocks_per_group = le32(sb + 32);
	tmp.inodes_per_group = le32(sb + 40);
	tmp.inodes = le32(sb + 0);
	rev = le32(sb + 76);
	tmp.inode_size = rev >= 1 ? le16(sb + 88) : 128;
	tmp.incompat = rev >= 1 ? le32(sb + 96) : 0;
	tmp.blocks = le32(sb + 4);
	if (tmp.incompat & INCOMPAT_64BIT) {
		tmp.blocks |= (uint64_t)le32(sb + 336) << 32;
		tmp.desc_size = le16(sb + 254);
	} else {
		tmp.desc_size = 32;
	}
	if (tmp.incompat & ~INCOMPAT_OK) {
		seterr(err, errlen, "ext features 0x%x not supported by this reader",
		       tmp.incompat & ~INCOMPAT_OK);
		return -EOPNOTSUPP;
	}
	/* the whole file system must lie inside the partition */
	if (tmp.blocks == 0 || tmp.blocks > size / tmp.block_size ||
	    tmp.blocks_per_group == 0 || tmp.inodes_per_group == 0 ||
	    tmp.inodes_per_group > tmp.inodes ||
	    tmp.first_data_block >= tmp.blocks ||
	    (tmp.block_size == 1024) != (tmp.first_data_block == 1 ||
					 tmp.first_data_block == 0) ||
	    tmp.inode_size < 128 || tmp.inode_size > tmp.block_size ||
	    (tmp.inode_size & (tmp.inode_size - 1)) ||
	    tmp.desc_size < 32 || tmp.desc_size > 1024 ||
	    (tmp.desc_size & (tmp.desc_size - 1))) {
		seterr(err, errlen, "inconsistent ext superblock");
		return -EINVAL;
	}
	groups = (tmp.blocks - tmp.first_data_block + tmp.blocks_per_group - 1) /
		 tmp.blocks_per_group;
	if (groups == 0 || groups > UINT32_MAX ||
	    (uint64_t)groups * tmp.inodes_per_group < tmp.inodes) {
		seterr(err, errlen, "inconsistent ext group counts");
		return -EINVAL;
	}
	tmp.groups = (uint32_t)groups;
	fs = malloc(sizeof(*fs));
	if (!fs)
		return -ENOMEM;
	*fs = tmp;
	fs->blk = malloc(fs->block_size);
	if (!fs->blk) {
		free(fs);
		return -ENOMEM;
	}
	*out = fs;
	return 0;
}

void extfs_close(struct extfs *fs)
{
	if (!fs)
		return;
	free(fs->blk);
	free(fs);
}

static int inode_read(struct extfs *fs, uint32_t ino, struct ext_inode *in)
{
	uint8_t desc[64], raw[256];
	uint32_t group, index;
	uint64_t table, dpos, ipos;
	size_t dlen = fs->desc_size > 32 ? 64 : 32;

	if (ino == 0 || ino > fs->inodes)
		return -EIO;
	group = (ino - 1) / fs->inodes_per_group;
	index = (ino - 1) % fs->inodes_per_group;
	if (group >= fs->groups)
		return -EIO;
	/* descriptors start in the block after the superblock's */
	dpos = ((uint64_t)fs->first_data_block + 1) * fs->block_size +
	       (uint64_t)group * fs->desc_size;
	if (dev_read(fs, dpos, desc, dlen))
		return -EIO;
	table = le32(desc + 8);
	if (dlen == 64 && (fs->incompat & INCOMPAT_64BIT))
		table |= (uint64_t)le32(desc + 0x28) << 32;
	ipos = (uint64_t)index * fs->inode_size;
	if (table == 0 || table >= fs->blocks ||
	    ipos / fs->block_size >= fs->blocks - table)
		return -EIO;
	if (dev_read(fs, table * fs->block_size + ipos, raw, 128))
		return -EIO;
	in->ino = ino;
	in->mode = le16(raw + 0);
	in->size = le32(raw + 4) | (uint64_t)le32(raw + 108) << 32;
	in->flags = le32(raw + 32);
	memcpy(in->block, raw + 40, sizeof(in->block));
	return 0;
}

/*
 * Physical block of logical block @lblk, 0 for a hole. Extent trees are
 * walked from the root in the inode, each level read into a fresh buffer;
 * block maps through at most three levels of indirection.
 */
static int map_extent(struct extfs *fs, const struct ext_inode *in,
		      uint64_t lblk, uint64_t *pblk)
{
	uint8_t *node = malloc(fs->block_size);
	const uint8_t *p = in->block;
	size_t node_len = sizeof(in->block);
	int depth_seen = -1, ret = 0;

	if (!node)
		return -ENOMEM;
	*pblk = 0;
	for (;;) {
		uint16_t entries = le16(p + 2), max = le16(p + 4);
		uint16_t depth = le16(p + 6);
		const uint8_t *e, *best = NULL;

		if (le16(p) != EXT_EXT_MAGIC || depth > EXT_EXT_MAX_DEPTH ||
		    entries > max || 12 + (size_t)max * 12 > node_len ||
		    (depth_seen >= 0 && depth != depth_seen - 1)) {
			ret = -EIO;
			break;
		}
		depth_seen = depth;
		for (unsigned int i = 0; i < entries; i++) {
			e = p + 12 + i * 12;
			if (le32(e) > lblk)
				break;
			best = e;
		}
		if (!best)
			break;	/* a hole before the first extent */
		if (depth == 0) {
			uint32_t first = le32(best);
			uint32_t len = le16(best + 4);
			uint64_t start = le32(best + 8) |
					 (uint64_t)le16(best + 6) << 32;
			bool uninit = len > 32768;

			if (uninit)
				len -= 32768;
			if (lblk - first < len) {
				/* unwritten extents read as zeros */
				*pblk = uninit ? 0 : start + (lblk - first);
				if (!uninit && (start >= fs->blocks ||
						*pblk >= fs->blocks))
					ret = -EIO;
			}
			break;
		}
		{
			uint64_t child = le32(best + 4) |
					 (uint64_t)le16(best + 8) << 32;

			ret = block_read(fs, child, node);
			if (ret)
				break;
			p = node;
			node_len = fs->block_size;
		}
	}
	free(node);
	return ret;
}

static int map_indirect(struct extfs *fs, const struct ext_inode *in,
			uint64_t lblk, uint64_t *pblk)
{
	uint64_t per = fs->block_size / 4, idx[3];
	unsigned int level, slot;
	uint32_t b;

	*pblk = 0;
	if (lblk < EXT_NDIR_BLOCKS) {
		b = le32(in->block + lblk * 4);
		goto out;
	}
	lblk -= EXT_NDIR_BLOCKS;
	if (lblk < per) {
		level = 1;
		idx[0] = lblk;
	} else if ((lblk -= per) < per * per) {
		level = 2;
		idx[0] = lblk / per;
		idx[1] = lblk % per;
	} else if ((lblk -= per * per) < per * per * per) {
		level = 3;
		idx[0] = lblk / (per * per);
		idx[1] = lblk / per % per;
		idx[2] = lblk % per;
	} else {
		return -EFBIG;
	}
	slot = EXT_NDIR_BLOCKS + level - 1;
	b = le32(in->block + slot * 4);
	for (unsigned int l = 0; l < level && b; l++) {
		if (block_read(fs, b, fs->blk))
			return -EIO;
		b = le32(fs->blk + idx[l] * 4);
	}
out:
	if (b >= fs->blocks)
		return -EIO;
	*pblk = b;
	return 0;
}

static int map_block(struct extfs *fs, const struct ext_inode *in,
		     uint64_t lblk, uint64_t *pblk)
{
	if (in->flags & EXT_EXTENTS_FL)
		return map_extent(fs, in, lblk, pblk);
	return map_indirect(fs, in, lblk, pblk);
}

/* The contents of @in (at most @max bytes) into malloc'd *@buf. */
static int inode_data(struct extfs *fs, const struct ext_inode *in,
		      uint64_t max, char **buf, size_t *len)
{
	uint64_t nblocks, done = 0;
	char *b;
	int ret;

	if (in->flags & EXT_INLINE_DATA_FL)
		return -EOPNOTSUPP;
	if (in->size > max || in->size > SIZE_MAX - 1)
		return -EFBIG;
	b = malloc((size_t)in->size + 1);
	if (!b)
		return -ENOMEM;
	nblocks = (in->size + fs->block_size - 1) / fs->block_size;
	for (uint64_t l = 0; l < nblocks; l++) {
		uint64_t pb, n = in->size - done;

		if (n > fs->block_size)
			n = fs->block_size;
		ret = map_block(fs, in, l, &pb);
		if (!ret && pb)
			ret = dev_read(fs, pb * fs->block_size, b + done, n);
		else if (!ret)
			memset(b + done, 0, n);	/* a hole */
		if (ret) {
			free(b);
			return ret;
		}
		done += n;
	}
	b[done] = 0;
	*buf = b;
	*len = (size_t)done;
	return 0;
}

/* Entry @name (length @nlen) in directory @dir: its inode, or -ENOENT. */
static int dir_find(struct extfs *fs, const struct ext_inode *dir,
		    const char *name, size_t nlen, uint32_t *ino)
{
	char *data;
	size_t len, pos = 0;
	int ret;

	if ((dir->mode & S_IFMT_) != S_IFDIR_)
		return -ENOTDIR;
	ret = inode_data(fs, dir, MAX_DIR_BYTES, &data, &len);
	if (ret)
		return ret == -EFBIG ? -EIO : ret;
	ret = -ENOENT;
	while (pos + 8 <= len) {
		const uint8_t *d = (const uint8_t *)data + pos;
		uint32_t e_ino = le32(d);
		uint16_t rec = le16(d + 4);
		uint16_t nl = (fs->incompat & INCOMPAT_FILETYPE) ? d[6] :
							    le16(d + 6);
		size_t in_block = fs->block_size - pos % fs->block_size;

		/* a record stays inside its block and holds its name */
		if (rec < 8 || rec % 4 || rec > in_block || 8u + nl > rec) {
			ret = -EIO;
			break;
		}
		if (e_ino && nl == nlen && !memcmp(d + 8, name, nlen)) {
			*ino = e_ino;
			ret = 0;
			break;
		}
		pos += rec;
	}
	free(data);
	return ret;
}

/* A symlink's target into @out (NUL-terminated, < @outlen). */
static int symlink_read(struct extfs *fs, const struct ext_inode *in,
			char *out, size_t outlen)
{
	char *data;
	size_t len;
	int ret;

	if (in->size == 0 || in->size >= outlen)
		return -EIO;
	if (in->size < sizeof(in->block) &&
	    !(in->flags & (EXT_EXTENTS_FL | EXT_INLINE_DATA_FL))) {
		/* a fast symlink: the target sits in i_block */
		memcpy(out, in->block, (size_t)in->size);
		out[in->size] = 0;
		return strlen(out) == in->size ? 0 : -EIO;
	}
	ret = inode_data(fs, in, outlen - 1, &data, &len);
	if (ret)
		return ret;
	memcpy(out, data, len);
	out[len] = 0;
	free(data);
	return strlen(out) == len ? 0 : -EIO;
}

/*
 * Resolve @path from the root. Relative symlink targets are joined to
 * the directory they were found in; at most MAX_SYMLINKS are followed.
 */
static int lookup(struct extfs *fs, const char *path, struct ext_inode *out)
{
	char *work = malloc(2 * MAX_PATH + 2), *rest;
	struct ext_inode cur, dir;
	unsigned int links = 0, steps = 0;
	int ret = 0;

	if (!work)
		return -ENOMEM;
	if (strlen(path) >= MAX_PATH) {
		free(work);
		return -ENAMETOOLONG;
	}
	strcpy(work, path);
	rest = work;
	ret = inode_read(fs, EXT_ROOT_INO, &cur);
	dir = cur;
	while (!ret) {
		char *slash;
		size_t n;
		uint32_t ino;

		if (++steps > 4 * MAX_PATH) {
			ret = -ELOOP;
			break;
		}
		while (*rest == '/')
			rest++;
		if (!*rest)
			break;
		slash = strchr(rest, '/');
		n = slash ? (size_t)(slash - rest) : strlen(rest);
		if (n > 255) {
			ret = -ENAMETOOLONG;
			break;
		}
		dir = cur;
		ret = dir_find(fs, &cur, rest, n, &ino);
		if (ret)
			break;
		ret = inode_read(fs, ino, &cur);
		rest += n;
		if (!ret && (cur.mode & S_IFMT_) == S_IFLNK_) {
			char target[MAX_PATH];
			size_t tl, rl = strlen(rest);

			if (++links > MAX_SYMLINKS) {
				ret = -ELOOP;
				break;
			}
			ret = symlink_read(fs, &cur, target, sizeof(target));
			if (ret)
				break;
			tl = strlen(target);
			if (tl + rl + 1 >= MAX_PATH) {
				ret = -ENAMETOOLONG;
				break;
			}
			/* target + what is left, in place of what we had */
			memmove(work + tl, rest, rl + 1);
			memcpy(work, target, tl);
			rest = work;
			/* absolute from the root, relative from its dir */
			if (target[0] == '/')
				ret = inode_read(fs, EXT_ROOT_INO, &cur);
			else
				cur = dir;
		}
	}
	free(work);
	if (!ret)
		*out = cur;
	return ret;
}

int extfs_read_file(struct extfs *fs, const char *path, uint64_t max,
		    char **buf, size_t *len)
{
	struct ext_inode in;
	int ret = lookup(fs, path, &in);

	if (ret)
		return ret;
	if ((in.mode & S_IFMT_) == S_IFDIR_)
		return -EISDIR;
	if ((in.mode & S_IFMT_) != S_IFREG_)
		return -EINVAL;
	return inode_data(fs, &in, max, buf, len);
}

int extfs_exists(struct extfs *fs, const char *path)
{
	struct ext_inode in;
	int ret = lookup(fs, path, &in);

	if (ret == -ENOENT || ret == -ENOTDIR)
		return 0;
	return ret ? ret : 1;
}
