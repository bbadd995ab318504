// SPDX-License-Identifier: MIT
/*
 * pvio's pygrub from the command line, for tests:
 *   pygrub_probe boot DISK OUTDIR [ENTRY|-1 [TITLE [ARGS]]]
 *       prints "title=", "kernel=", "ramdisk=", "cmdline=" lines
 *   pygrub_probe cat DISK PATH [PART]
 *       writes the guest file PATH (whole disk, or partition PART >= 1)
 *   pygrub_probe parts DISK
 *       prints "offset length" per partition
 * Exit 0 on success, 1 with the error on stderr.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../tools/pygrub/ext_fs.h"
#include "../../tools/pygrub/pygrub.h"

static int cat(const char *disk, const char *path, int part)
{
	unsigned long long off[16], len[16];
	struct extfs *fs;
	struct stat st;
	char err[256], *buf;
	size_t n;
	int fd = open(disk, O_RDONLY), r;

	if (fd < 0 || fstat(fd, &st)) {
		perror(disk);
		return 1;
	}
	off[0] = 0;
	len[0] = (unsigned long long)st.st_size;
	if (part > 0) {
		r = pygrub_partitions(fd, len[0], off, len, 16);
		if (r < part) {
			fprintf(stderr, "no partition %d\n", part);
			return 1;
		}
		off[0] = off[part - 1];
		len[0] = len[part - 1];
	}
	r = extfs_open(fd, off[0], len[0], &fs, err, sizeof(err));
	if (r) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	r = extfs_read_file(fs, path, 1ull << 30, &buf, &n);
	extfs_close(fs);
	close(fd);
	if (r) {
		fprintf(stderr, "%s: %s\n", path, strerror(-r));
		return 1;
	}
	fwrite(buf, 1, n, stdout);
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 4 && !strcmp(argv[1], "boot")) {
		struct pygrub_request req = {
			.disk = argv[2], .outdir = argv[3],
			.entry = argc > 4 ? atoi(argv[4]) : -1,
			.title = argc > 5 ? argv[5] : "",
			.args = argc > 6 ? argv[6] : "",
			.kernel = "", .ramdisk = "",
		};
		struct pygrub_result res;
		char err[512];

		if (pygrub_run(&req, &res, err, sizeof(err))) {
			fprintf(stderr, "%s\n", err);
			return 1;
		}
		printf("title=%s\nkernel=%s\nramdisk=%s\ncmdline=%s\n", res.title,
		       res.kernel, res.ramdisk, res.cmdline);
		return 0;
	}
	if (argc >= 4 && !strcmp(argv[1], "cat"))
		return cat(argv[2], argv[3], argc > 4 ? atoi(argv[4]) : 0);
	if (argc == 3 && !strcmp(argv[1], "parts")) {
		unsigned long long off[16], len[16];
		struct stat st;
		int fd = open(argv[2], O_RDONLY), n;

		if (fd < 0 || fstat(fd, &st))
			return 1;
		n = pygrub_partitions(fd, (unsigned long long)st.st_size, off,
				      len, 16);
		for (int i = 0; i < n; i++)
			printf("%llu %llu\n", off[i], len[i]);
		return n < 0;
	}
	fprintf(stderr, "usage: pygrub_probe boot|cat|parts ...\n");
	return 2;
}
