/*
 * Unit tests of blkback request validation: every hostile field of a
 * request copy and of indirect pages gets the right status.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "../../backends/blkback/blkback.h"

static const struct blkif_limits lim512 = {
	.sectors = 2048, .sector_size = 512, .max_indirect_segs = 256,
	.discard = true,
};

static union blkif_request_any rw(uint8_t op, uint8_t nseg, uint64_t sector)
{
	union blkif_request_any r;

	memset(&r, 0, sizeof(r));
	r.rw.operation = op;
	r.rw.nr_segments = nseg;
	r.rw.id = 0x1234;
	r.rw.sector_number = sector;
	for (unsigned int i = 0; i < nseg && i < 11; i++) {
		r.rw.seg[i].gref = 100 + i;
		r.rw.seg[i].first_sect = 0;
		r.rw.seg[i].last_sect = 7;
	}
	return r;
}

static int parse(const union blkif_request_any *r, const struct blkif_limits *l,
		 struct blkif_req_desc *d)
{
	return blkif_req_parse(r, l, d);
}

static void test_rw_ok(void **state)
{
	struct blkif_req_desc d;
	union blkif_request_any r = rw(BLKIF_OP_READ, 11, 0);

	assert_int_equal(parse(&r, &lim512, &d), BLKIF_RSP_OKAY);
	assert_int_equal(d.id, 0x1234);
	assert_int_equal(d.nr_segs, 11);
	assert_int_equal(d.nr_sectors, 88);
	/* last sectors of the disk */
	r = rw(BLKIF_OP_WRITE, 1, 2040);
	assert_int_equal(parse(&r, &lim512, &d), BLKIF_RSP_OKAY);
	/* sub-page segment */
	r = rw(BLKIF_OP_WRITE, 1, 2047);
	r.rw.seg[0].first_sect = 3;
	r.rw.seg[0].last_sect = 3;
	assert_int_equal(parse(&r, &lim512, &d), BLKIF_RSP_OKAY);
	assert_int_equal(d.nr_sectors, 1);
}

static void test_rw_bad(void **state)
{
	struct blkif_req_desc d;
	union blkif_request_any r;

	r = rw(BLKIF_OP_READ, 0, 0);
	assert_int_equal(parse(&r, &lim512, &d), BLKIF_RSP_ERROR);
	r = rw(BLKIF_OP_READ, 12, 0);
	assert_int_equal(parse(&r, &lim512, &d), BLKIF_RSP_ERROR);
	r = rw(BLKIF_OP_READ, 255, 0);
	assert_int_equal(parse(&r, &lim512, &d), BLKIF_RSP_ERROR);
	/* beyond the end, and wrapping around 2^64 */
	r = rw(BLKIF_OP_READ, 1, 2041);
	assert_int_equal(parse(&r, &lim512, &d), BLKIF_RSP_ERROR);
	r = rw(BLKIF_OP_READ, 1, ~0ull - 3);
	assert_int_equal(parse(&r, &lim512, &d), BLKIF_RSP_ERROR);
	r = rw(BLKIF_OP_READ, 2, 0);
	r.rw.seg[1].first_sect = 5;
	r.rw.seg[1].last_sect = 4;
	assert_int_equal(parse(&r, &lim512, &d), BLKIF_RSP_ERROR);
	r = rw(BLKIF_OP_READ, 1, 0);
	r.rw.seg[0].last_sect = 8;
	assert_int_equal(parse(&r, &lim512, &d), BLKIF_RSP_ERROR);
	assert_int_equal(d.id, 0x1234);		/* still answerable */
	r = rw(BLKIF_OP_RESERVED_1, 1, 0);
	assert_int_equal(parse(&r, &lim512, &d), BLKIF_RSP_EOPNOTSUPP);
	r = rw(200, 1, 0);
	assert_int_equal(parse(&r, &lim512, &d), BLKIF_RSP_EOPNOTSUPP);
	assert_int_equal(d.operation, 200);
}

static void test_readonly(void **state)
{
	struct blkif_limits l = lim512;
	struct blkif_req_desc d;
	union blkif_request_any r;

	l.readonly = true;
	r = rw(BLKIF_OP_WRITE, 1, 0);
	assert_int_equal(parse(&r, &l, &d), BLKIF_RSP_ERROR);
	r = rw(BLKIF_OP_WRITE_BARRIER, 1, 0);
	assert_int_equal(parse(&r, &l, &d), BLKIF_RSP_ERROR);
	r = rw(BLKIF_OP_FLUSH_DISKCACHE, 1, 0);
	assert_int_equal(parse(&r, &l, &d), BLKIF_RSP_ERROR);
	r = rw(BLKIF_OP_FLUSH_DISKCACHE, 0, 0);
	assert_int_equal(parse(&r, &l, &d), BLKIF_RSP_OKAY);
	r = rw(BLKIF_OP_READ, 1, 0);
	assert_int_equal(parse(&r, &l, &d), BLKIF_RSP_OKAY);
	memset(&r, 0, sizeof(r));
	r.discard.operation = BLKIF_OP_DISCARD;
	r.discard.nr_sectors = 8;
	assert_int_equal(parse(&r, &l, &d), BLKIF_RSP_ERROR);
}

static void test_sector_4k(void **state)
{
	struct blkif_limits l = lim512;
	struct blkif_req_desc d;
	union blkif_request_any r;

	l.sector_size = 4096;
	r = rw(BLKIF_OP_READ, 1, 8);
	assert_int_equal(parse(&r, &l, &d), BLKIF_RSP_OKAY);
	r = rw(BLKIF_OP_READ, 1, 4);
	assert_int_equal(parse(&r, &l, &d), BLKIF_RSP_ERROR);
	/* two half pages make one 4 KiB sector */
	r = rw(BLKIF_OP_READ, 2, 16);
	r.rw.seg[0].first_sect = 4;
	r.rw.seg[1].last_sect = 3;
	assert_int_equal(parse(&r, &l, &d), BLKIF_RSP_OKAY);
	r.rw.seg[1].last_sect = 2;
	assert_int_equal(parse(&r, &l, &d), BLKIF_RSP_ERROR);
}

static void test_discard(void **state)
{
	struct blkif_limits l = lim512;
	struct blkif_req_desc d;
	union blkif_request_any r;

	memset(&r, 0, sizeof(r));
	r.discard.operation = BLKIF_OP_DISCARD;
	r.discard.id = 7;
	r.discard.sector_number = 8;
	r.discard.nr_sectors = 2040;
	assert_int_equal(parse(&r, &l, &d), BLKIF_RSP_OKAY);
	assert_int_equal(d.nr_sectors, 2040);
	r.discard.nr_sectors = 2041;
	assert_int_equal(parse(&r, &l, &d), BLKIF_RSP_ERROR);
	r.discard.nr_sectors = 8;
	r.discard.flag = BLKIF_DISCARD_SECURE;
	assert_int_equal(parse(&r, &l, &d), BLKIF_RSP_EOPNOTSUPP);
	r.discard.flag = 0;
	l.discard = false;
	assert_int_equal(parse(&r, &l, &d), BLKIF_RSP_EOPNOTSUPP);
}

static void test_indirect(void **state)
{
	static struct blkif_request_segment pages[2][512];
	void *pp[2] = { pages[0], pages[1] };
	struct blkif_limits l = lim512;
	struct blkif_req_desc d;
	union blkif_request_any r;

	memset(&r, 0, sizeof(r));
	r.indirect.operation = BLKIF_OP_INDIRECT;
	r.indirect.indirect_op = BLKIF_OP_WRITE;
	r.indirect.nr_segments = 256;
	r.indirect.id = 99;
	r.indirect.indirect_grefs[0] = 500;
	for (int i = 0; i < 512; i++) {
		pages[0][i].gref = 1000 + i;
		pages[0][i].last_sect = 7;
	}
	assert_int_equal(parse(&r, &l, &d), BLKIF_RSP_OKAY);
	assert_int_equal(d.nr_indirect, 1);
	assert_int_equal(d.op, BLKIF_OP_WRITE);
	assert_int_equal(blkif_req_indirect(&d, pp, &l), BLKIF_RSP_OKAY);
	assert_int_equal(d.nr_sectors, 2048);
	assert_int_equal(d.seg[255].gref, 1255);
	/* one sector too many */
	r.indirect.sector_number = 1;
	assert_int_equal(parse(&r, &l, &d), BLKIF_RSP_OKAY);
	assert_int_equal(blkif_req_indirect(&d, pp, &l), BLKIF_RSP_ERROR);
	/* garbage in the page */
	r.indirect.sector_number = 0;
	pages[0][17].first_sect = 9;
	assert_int_equal(parse(&r, &l, &d), BLKIF_RSP_OKAY);
	assert_int_equal(blkif_req_indirect(&d, pp, &l), BLKIF_RSP_ERROR);
	pages[0][17].first_sect = 0;
	/* segment counts */
	r.indirect.nr_segments = 257;
	assert_int_equal(parse(&r, &l, &d), BLKIF_RSP_ERROR);
	r.indirect.nr_segments = 0;
	assert_int_equal(parse(&r, &l, &d), BLKIF_RSP_ERROR);
	r.indirect.nr_segments = 8;
	r.indirect.indirect_op = BLKIF_OP_DISCARD;
	assert_int_equal(parse(&r, &l, &d), BLKIF_RSP_ERROR);
	r.indirect.indirect_op = BLKIF_OP_READ;
	l.max_indirect_segs = 0;
	assert_int_equal(parse(&r, &l, &d), BLKIF_RSP_EOPNOTSUPP);
	l.max_indirect_segs = 256;
	l.readonly = true;
	r.indirect.indirect_op = BLKIF_OP_WRITE;
	assert_int_equal(parse(&r, &l, &d), BLKIF_RSP_ERROR);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rw_ok),
		cmocka_unit_test(test_rw_bad),
		cmocka_unit_test(test_readonly),
		cmocka_unit_test(test_sector_4k),
		cmocka_unit_test(test_discard),
		cmocka_unit_test(test_indirect),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
