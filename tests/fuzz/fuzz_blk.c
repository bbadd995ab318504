/*
 * Fuzz harness for the block parsers that see untrusted input: blkback
 * request validation (a ring slot and an indirect page from a hostile
 * frontend) and the xl config / disk-spec parsers (files and arguments
 * from users). Built with clang -fsanitize=fuzzer,address
 * -DPVIO_LIBFUZZER it is a libFuzzer target; otherwise main() runs a
 * deterministic smoke campaign (random and mutated valid inputs) as a unit
 * test and checks the validator's invariants.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../backends/blkback/blkback.h"
#include "../../tools/xlcfg/xlcfg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_request(const uint8_t *data, size_t size)
{
	static struct blkif_request_segment page[8][512];
	void *pages[8];
	union blkif_request_any req;
	struct blkif_req_desc d;
	struct blkif_limits lim = {
		.sectors = 1 + (size ? data[0] : 0) * 977ull,
		.sector_size = size > 1 && (data[1] & 1) ? 4096 : 512,
		.max_indirect_segs = 256,
		.readonly = size > 1 && (data[1] & 2),
		.discard = size > 1 && (data[1] & 4),
	};
	int rc;

	memset(&req, 0, sizeof(req));
	memcpy(&req, data + (size > 2 ? 2 : size),
	       size > 2 ? (size - 2 < sizeof(req) ? size - 2 : sizeof(req)) : 0);
	memset(page, 0, sizeof(page));
	if (size > 2 + sizeof(req)) {
		size_t n = size - 2 - sizeof(req);

		memcpy(page, data + 2 + sizeof(req), n < sizeof(page) ? n : sizeof(page));
	}
	for (int i = 0; i < 8; i++)
		pages[i] = page[i];
	rc = blkif_req_parse(&req, &lim, &d);
	if (rc == BLKIF_RSP_OKAY && d.nr_indirect)
		rc = blkif_req_indirect(&d, pages, &lim);
	if (rc != BLKIF_RSP_OKAY)
		return;
	/* invariants of an accepted request */
	if (d.nr_segs > BLKBACK_MAX_SEGS)
		abort();
	if (d.op != BLKIF_OP_DISCARD && d.nr_segs &&
	    (d.sector > lim.sectors || d.nr_sectors > lim.sectors - d.sector))
		abort();
	for (unsigned int i = 0; i < d.nr_segs; i++)
		if (d.seg[i].first_sect > d.seg[i].last_sect || d.seg[i].last_sect > 7)
			abort();
	if (lim.readonly && d.op == BLKIF_OP_WRITE)
		abort();
}

static void fuzz_text(const uint8_t *data, size_t size, bool disk)
{
	char *s = malloc(size + 1);
	char err[256];

	if (!s)
		return;
	memcpy(s, data, size);
	s[size] = 0;
	if (disk) {
		struct xlcfg_disk d;

		if (!xlcfg_disk_parse(s, &d, err, sizeof(err)) &&
		    (!d.vdev[0] || strlen(d.target) >= sizeof(d.target)))
			abort();
	} else {
		struct xlcfg *cfg;

		if (!xlcfg_parse(s, &cfg, err, sizeof(err)))
			xlcfg_free(cfg);
	}
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!size)
		return 0;
	switch (data[0] % 3) {
	case 0:
		fuzz_request(data + 1, size - 1);
		break;
	case 1:
		fuzz_text(data + 1, size - 1, false);
		break;
	default:
		fuzz_text(data + 1, size - 1, true);
	}
	return 0;
}

#ifndef PVIO_LIBFUZZER
static uint64_t rs = 88172645463325252ull;
static uint8_t rnd8(void)
{
	rs ^= rs << 13;
	rs ^= rs >> 7;
	rs ^= rs << 17;
	return (uint8_t)rs;
}

int main(void)
{
	static const char *const seeds[] = {
		"\x01name = \"g\"\ndisk = [ '/a,raw,xvda,rw', ]\nmemory=128\n",
		"\x02/var/tmp/a.img,raw,xvda,rw",
		"\x02vdev=xvdb, access=ro, discard, target=/x,y",
	};
	uint8_t buf[4096 + 256];

	for (int it = 0; it < 300000; it++) {
		size_t n;

		if (it % 3 == 0) {
			/* a plausible request, then noise */
			n = 1 + 2 + sizeof(union blkif_request_any) + 64;
			for (size_t i = 0; i < n; i++)
				buf[i] = rnd8();
			buf[0] = 0;
			buf[3] = rnd8() % 8;	/* operation */
			buf[4] = rnd8() % 16;	/* nr_segments */
		} else {
			const char *s = seeds[it % 3];

			n = strlen(s);
			memcpy(buf, s, n);
			for (int m = rnd8() % 4; m >= 0; m--)
				buf[1 + rnd8() % (n - 1)] = rnd8() % 2 ? rnd8() :
							   ",=[]'\"#\n"[rnd8() % 8];
		}
		LLVMFuzzerTestOneInput(buf, n);
	}
	printf("fuzz smoke: 300000 inputs, no invariant broken\n");
	return 0;
}
#endif
