// SPDX-License-Identifier: MIT
/*
 * Fuzz harness for pygrub's parsers of untrusted guest data: the ext2/3/4
 * reader (a whole image), the partition tables and the GRUB config
 * parsers. The first byte picks the target. Built with clang
 * -fsanitize=fuzzer,address -DPVIO_LIBFUZZER it is a libFuzzer target;
 * otherwise main() runs a smoke campaign: the seed images named on the
 * command line (made by tests/unit/fuzz_pygrub.sh) and seed configs,
 * mutated at random.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../tools/pygrub/ext_fs.h"
#include "../../tools/pygrub/grub_cfg.h"
#include "../../tools/pygrub/pygrub.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int image_fd = -1;

static void fuzz_image(const uint8_t *data, size_t size)
{
	static const char *const paths[] = {
		"/boot/grub/grub.cfg", "/boot/vmlinuz", "/boot/initrd.img",
		"/link/../boot/grub/grub.cfg", "/big", "/a/b/c/d",
	};
	unsigned long long off[8], len[8];
	struct extfs *fs;
	char err[128];

	if (image_fd < 0)
		image_fd = memfd_create("fuzz-image", MFD_CLOEXEC);
	if (image_fd < 0 || ftruncate(image_fd, 0) ||
	    pwrite(image_fd, data, size, 0) != (ssize_t)size)
		return;
	pygrub_partitions(image_fd, size, off, len, 8);
	if (extfs_open(image_fd, 0, size, &fs, err, sizeof(err)))
		return;
	for (unsigned int i = 0; i < sizeof(paths) / sizeof(*paths); i++) {
		char *buf;
		size_t n;

		if (!extfs_read_file(fs, paths[i], 1u << 24, &buf, &n)) {
			/* the reader's promise: a terminated buffer of n bytes */
			if (buf[n] != 0)
				abort();
			free(buf);
		}
	}
	extfs_exists(fs, "/boot");
	extfs_close(fs);
}

static void fuzz_cfg(const uint8_t *data, size_t size, bool legacy)
{
	static struct grub_menu m;
	char err[128];
	int r = legacy ? grub_menulst_parse((const char *)data, size, &m, err,
					    sizeof(err)) :
			 grub_cfg_parse((const char *)data, size, &m, err,
					sizeof(err));

	if (r)
		return;
	if (!m.n || m.n > GRUB_MAX_ENTRIES || m.def < 0 || (unsigned)m.def >= m.n)
		abort();
	for (unsigned int i = 0; i < m.n; i++)
		if (!m.e[i].kernel[0] || m.e[i].nr_initrds > GRUB_MAX_INITRDS ||
		    !memchr(m.e[i].args, 0, sizeof(m.e[i].args)))
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!size)
		return 0;
	switch (data[0] % 3) {
	case 0:
		fuzz_image(data + 1, size - 1);
		break;
	case 1:
		fuzz_cfg(data + 1, size - 1, false);
		break;
	default:
		fuzz_cfg(data + 1, size - 1, true);
	}
	return 0;
}

#ifndef PVIO_LIBFUZZER
static uint64_t rs = 88172645463325252ull;
static uint32_t rnd(void)
{
	rs ^= rs << 13;
	rs ^= rs >> 7;
	rs ^= rs << 17;
	return (uint32_t)rs;
}

int main(int argc, char **argv)
{
	static const char *const cfgs[] = {
		"\x01set default=\"1\"\nmenuentry 'A' --id a {\n linux /vmlinuz ro\n"
		" initrd /initrd.img\n}\nsubmenu 'S' {\n menuentry 'B' {\n"
		"  linux (hd0,1)/k x=\"y z\"\n }\n}\n",
		"\x01function f {\n if [ x ]; then\n  echo '{'\n fi\n}\n"
		"menuentry \"q\\\"\" $menuentry_id_option 'id-1' { linux /k; }\n",
		"\x02" "default 0\ntitle Debian\nroot (hd0,0)\nkernel /vmlinuz ro\n"
		"initrd /initrd.img\n",
	};
	unsigned int iters = argc > 1 ? (unsigned int)atoi(argv[1]) : 2000;
	uint8_t *buf = NULL;
	size_t cap = 0;

	for (int s = 2; s <= argc; s++) {
		FILE *f = s < argc ? fopen(argv[s], "rb") : NULL;
		size_t n = 0;
		unsigned int rounds = s < argc ? iters : iters * 10;

		if (s < argc) {
			if (!f) {
				perror(argv[s]);
				return 1;
			}
			fseek(f, 0, SEEK_END);
			n = (size_t)ftell(f) + 1;
			rewind(f);
			if (n > cap) {
				free(buf);
				buf = malloc(cap = n);
			}
			buf[0] = 0;
			if (fread(buf + 1, 1, n - 1, f) != n - 1)
				return 1;
			fclose(f);
		}
		for (unsigned int it = 0; it < rounds; it++) {
			uint8_t *in = buf;
			size_t len = n;
			static uint8_t tbuf[4096];

			if (s == argc) {
				const char *t = cfgs[it % 3];

				len = strlen(t);
				memcpy(tbuf, t, len);
				in = tbuf;
				for (int m = rnd() % 4; m >= 0; m--)
					tbuf[1 + rnd() % (len - 1)] =
						rnd() % 2 ? (uint8_t)rnd() :
						(uint8_t)"{}'\"\\;\n#$ "[rnd() % 11];
				LLVMFuzzerTestOneInput(in, len);
				continue;
			}
			/* flip bytes in the first blocks: superblock, descriptors,
			 * inodes, directories; keep a copy to restore */
			{
				size_t pos[8];
				uint8_t old[8];
				unsigned int k = 1 + rnd() % 8;

				for (unsigned int j = 0; j < k; j++) {
					pos[j] = 1 + rnd() % (len - 1 < 65536 ?
							      len - 1 : 65536);
					old[j] = in[pos[j]];
					in[pos[j]] = (uint8_t)rnd();
				}
				LLVMFuzzerTestOneInput(in, len);
				while (k--)
					in[pos[k]] = old[k];
			}
		}
	}
	free(buf);
	printf("fuzz smoke: %d seed image(s), no invariant broken\n", argc - 2);
	return 0;
}
#endif
