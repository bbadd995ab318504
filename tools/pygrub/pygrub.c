// SPDX-License-Identifier: MIT
/*
 * pvio's pygrub: partition table (MBR, GPT), then each candidate file
 * system (the whole disk first, then each partition) searched for a GRUB
 * config; the chosen entry's kernel and initrds are copied out of the
 * image by the ext reader. Layout facts: MBR signature 0x55AA at 510,
 * four 16-byte entries at 446 (type at +4, first LBA at +8, sectors at
 * +12), type 0xEE a protective MBR for a GPT whose header ("EFI PART") is
 * at LBA 1 (entries' LBA at +72, count at +80, size at +84; an entry's
 * first and last LBA at +32 and +40).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/fs.h>

#include "ext_fs.h"
#include "grub_cfg.h"
#include "pygrub.h"

#define SECTOR		512ull
#define MAX_PARTS	16
#define MAX_GPT_ENTRIES	256
#define MAX_BOOT_FILE	(512ull << 20)
#define MAX_CFG_FILE	(1ull << 20)

static const char *const cfg_paths[] = {
	"/boot/grub/grub.cfg", "/grub/grub.cfg", "/boot/grub2/grub.cfg",
	"/grub2/grub.cfg", "/boot/grub/menu.lst", "/grub/menu.lst",
};

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

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
	return le32(p) | (uint64_t)le32(p + 4) << 32;
}

static int read_at(int fd, uint64_t pos, void *buf, size_t len)
{
	ssize_t n = pread(fd, buf, len, (off_t)pos);

	return n == (ssize_t)len ? 0 : -EIO;
}

static int gpt_partitions(int fd, unsigned long long size,
			  unsigned long long *off, unsigned long long *len,
			  unsigned int max)
{
	uint8_t hdr[92], ent[128];
	uint64_t lba;
	uint32_t count, esize;
	unsigned int n = 0;

	if (read_at(fd, SECTOR, hdr, sizeof(hdr)) || memcmp(hdr, "EFI PART", 8))
		return -EINVAL;
	lba = le64(hdr + 72);
	count = le32(hdr + 80);
	esize = le32(hdr + 84);
	if (esize < 128 || esize > 4096 || esize % 8 || lba == 0 ||
	    lba > size / SECTOR)
		return -EINVAL;
	if (count > MAX_GPT_ENTRIES)
		count = MAX_GPT_ENTRIES;
	for (uint32_t i = 0; i < count && n < max; i++) {
		static const uint8_t unused[16];
		uint64_t first, last;

		if (read_at(fd, lba * SECTOR + (uint64_t)i * esize, ent,
			    sizeof(ent)))
			break;
		if (!memcmp(ent, unused, 16))
			continue;
		first = le64(ent + 32);
		last = le64(ent + 40);
		if (first == 0 || last < first || last >= size / SECTOR)
			continue;	/* outside the disk: not ours to read */
		off[n] = first * SECTOR;
		len[n] = (last - first + 1) * SECTOR;
		n++;
	}
	return (int)n;
}

int pygrub_partitions(int fd, unsigned long long size,
		      unsigned long long *off, unsigned long long *len,
		      unsigned int max)
{
	uint8_t mbr[512];
	unsigned int n = 0;

	if (size < 2 * SECTOR || read_at(fd, 0, mbr, sizeof(mbr)) ||
	    mbr[510] != 0x55 || mbr[511] != 0xAA)
		return 0;
	for (unsigned int i = 0; i < 4; i++) {
		const uint8_t *p = mbr + 446 + i * 16;

		if (p[4] == 0xEE)
			return gpt_partitions(fd, size, off, len, max);
	}
	for (unsigned int i = 0; i < 4 && n < max; i++) {
		const uint8_t *p = mbr + 446 + i * 16;
		uint64_t start = le32(p + 8), sectors = le32(p + 12);

		/* empty and extended (0x05, 0x0f, 0x85) entries hold no fs */
		if (!p[4] || p[4] == 0x05 || p[4] == 0x0f || p[4] == 0x85 ||
		    !start || !sectors || start + sectors > size / SECTOR)
			continue;
		off[n] = start * SECTOR;
		len[n] = sectors * SECTOR;
		n++;
	}
	return (int)n;
}

/* Copy guest file @path into @out (created 0600). */
static int copy_out(struct extfs *fs, const char *const *paths,
		    unsigned int npaths, const char *out, char *err,
		    size_t errlen)
{
	int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int ret = 0;

	if (fd < 0) {
		ret = -errno;
		seterr(err, errlen, "%s: %s", out, strerror(errno));
		return ret;
	}
	/* several initrds are concatenated, as GRUB loads them */
	for (unsigned int i = 0; i < npaths && !ret; i++) {
		char *buf;
		size_t len, done = 0;

		ret = extfs_read_file(fs, paths[i], MAX_BOOT_FILE, &buf, &len);
		if (ret) {
			seterr(err, errlen, "%s in the guest: %s", paths[i],
			       ret == -EIO ? "corrupt file system" : strerror(-ret));
			break;
		}
		while (done < len) {
			ssize_t w = write(fd, buf + done, len - done);

			if (w <= 0) {
				ret = -errno;
				seterr(err, errlen, "%s: %s", out, strerror(errno));
				break;
			}
			done += (size_t)w;
		}
		free(buf);
	}
	close(fd);
	if (ret)
		unlink(out);
	return ret;
}

/* The menu entry the request asks for. */
static int pick_entry(const struct grub_menu *m, const struct pygrub_request *r,
		      char *err, size_t errlen)
{
	if (r->title && r->title[0]) {
		for (unsigned int i = 0; i < m->n; i++)
			if (!strcmp(m->e[i].title, r->title) ||
			    !strcmp(m->e[i].id, r->title))
				return (int)i;
		seterr(err, errlen, "no menu entry titled '%s'", r->title);
		return -ENOENT;
	}
	if (r->entry >= 0) {
		if ((unsigned int)r->entry >= m->n) {
			seterr(err, errlen, "no menu entry %d (the menu has %u)",
			       r->entry, m->n);
			return -ENOENT;
		}
		return r->entry;
	}
	return m->def;
}

/* One file system: its config, the entry, the files. 1 if no config. */
static int try_fs(struct extfs *fs, const struct pygrub_request *r,
		  struct pygrub_result *res, char *err, size_t errlen)
{
	struct grub_menu *m = NULL;
	const char *initrds[GRUB_MAX_INITRDS];
	unsigned int nr_initrds = 0;
	const struct grub_entry *e;
	const char *kernel;
	int ret = 1, idx;

	for (unsigned int i = 0; i < sizeof(cfg_paths) / sizeof(*cfg_paths); i++) {
		char *text;
		size_t len;

		ret = extfs_read_file(fs, cfg_paths[i], MAX_CFG_FILE, &text, &len);
		if (ret == -ENOENT || ret == -ENOTDIR) {
			ret = 1;
			continue;
		}
		if (ret) {
			seterr(err, errlen, "%s in the guest: %s", cfg_paths[i],
			       ret == -EIO ? "corrupt file system" : strerror(-ret));
			return ret;
		}
		m = malloc(sizeof(*m));
		if (!m) {
			free(text);
			return -ENOMEM;
		}
		if (strstr(cfg_paths[i], "menu.lst"))
			ret = grub_menulst_parse(text, len, m, err, errlen);
		else
			ret = grub_cfg_parse(text, len, m, err, errlen);
		free(text);
		break;
	}
	if (ret) {
		free(m);
		return ret;
	}
	idx = pick_entry(m, r, err, errlen);
	if (idx < 0) {
		free(m);
		return idx;
	}
	e = &m->e[idx];
	kernel = r->kernel && r->kernel[0] ? r->kernel : e->kernel;
	if (r->ramdisk && r->ramdisk[0]) {
		initrds[nr_initrds++] = r->ramdisk;
	} else {
		for (unsigned int i = 0; i < e->nr_initrds; i++)
			initrds[nr_initrds++] = e->initrd[i];
	}
	snprintf(res->kernel, sizeof(res->kernel), "%s/kernel", r->outdir);
	ret = copy_out(fs, &kernel, 1, res->kernel, err, errlen);
	res->ramdisk[0] = 0;
	if (!ret && nr_initrds) {
		snprintf(res->ramdisk, sizeof(res->ramdisk), "%s/ramdisk",
			 r->outdir);
		ret = copy_out(fs, initrds, nr_initrds, res->ramdisk, err,
			       errlen);
		if (ret)
			unlink(res->kernel);
	}
	if (!ret) {
		snprintf(res->cmdline, sizeof(res->cmdline), "%s%s%s", e->args,
			 e->args[0] && r->args && r->args[0] ? " " : "",
			 r->args ? r->args : "");
		snprintf(res->title, sizeof(res->title), "%s", e->title);
	}
	free(m);
	return ret;
}

int pygrub_run(const struct pygrub_request *req, struct pygrub_result *res,
	       char *err, size_t errlen)
{
	unsigned long long off[MAX_PARTS + 1], len[MAX_PARTS + 1], size;
	struct stat st;
	int fd, n, ret = 1;
	char why[256] = "";

	memset(res, 0, sizeof(*res));
	fd = open(req->disk, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		seterr(err, errlen, "%s: %s", req->disk, strerror(errno));
		return ret;
	}
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		goto out;
	}
	size = (unsigned long long)st.st_size;
	if (S_ISBLK(st.st_mode) && ioctl(fd, BLKGETSIZE64, &size) < 0) {
		ret = -errno;
		goto out;
	}
	/* the whole disk first (a file system without a table) */
	off[0] = 0;
	len[0] = size;
	n = pygrub_partitions(fd, size, off + 1, len + 1, MAX_PARTS);
	if (n < 0)
		n = 0;
	for (int i = 0; i <= n && ret == 1; i++) {
		struct extfs *fs;
		int r = extfs_open(fd, off[i], len[i], &fs, why, sizeof(why));

		if (r)
			continue;
		ret = try_fs(fs, req, res, err, errlen);
		extfs_close(fs);
	}
	if (ret == 1) {
		seterr(err, errlen, "%s: no ext2/3/4 file system with a GRUB config (%s) on the disk or its %d partition(s)%s%s",
		       req->disk, "grub.cfg, menu.lst", n, why[0] ? ": " : "", why);
		ret = -ENOENT;
	}
out:
	close(fd);
	return ret;
}
