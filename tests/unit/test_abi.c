/*
 * Unit tests of the ABI headers: ring sizing, index arithmetic across the
 * 2^32 wrap, notification rules and hostile-index detection.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "pvio/blkif.h"
#include "pvio/netif.h"

static void test_ring_sizes(void **state)
{
	assert_int_equal(blkif_ring_ents(4096), 32);
	assert_int_equal(blkif_ring_ents(4096 * 4), 128);
	assert_int_equal(netif_tx_ring_ents(4096), 256);
	assert_int_equal(netif_rx_ring_ents(4096), 256);
	assert_int_equal(pvio_ring_nr_ents(64, 8), 0);
}

/* Run @n requests through a ring whose indices start at @start. */
static void run_ring_from(uint32_t start, unsigned int n)
{
	static unsigned char page[4096];
	struct pvio_sring_hdr *s = (struct pvio_sring_hdr *)page;
	struct pvio_front_ring f;
	struct pvio_back_ring b;
	uint32_t ents = blkif_ring_ents(sizeof(page));
	unsigned int sent = 0, done = 0;

	pvio_sring_init(s);
	s->req_prod = s->rsp_prod = start;
	s->req_event = s->rsp_event = start + 1;
	pvio_front_ring_init(&f, s, ents);
	f.req_prod_pvt = f.rsp_cons = start;
	pvio_back_ring_init(&b, s, ents);

	while (done < n) {
		while (sent < n && !pvio_front_full(&f)) {
			union blkif_request_any *rq = blkif_front_req(&f, f.req_prod_pvt++);

			rq->rw.id = sent++;
		}
		pvio_front_push(&f);
		assert_true(pvio_back_req_prod_ok(&b, s->req_prod));
		while (pvio_back_unconsumed(&b)) {
			union blkif_request_any *rq = blkif_back_req(&b, b.req_cons++);
			struct blkif_response *rsp = blkif_back_rsp(&b, b.rsp_prod_pvt++);
			uint64_t id = rq->rw.id;

			rsp->id = id;
			rsp->status = BLKIF_RSP_OKAY;
		}
		pvio_back_push(&b);
		assert_true(pvio_front_rsp_prod_ok(&f, s->rsp_prod));
		while (pvio_front_unconsumed(&f)) {
			struct blkif_response *rsp = blkif_front_rsp(&f, f.rsp_cons++);

			assert_int_equal(rsp->id, done);
			done++;
		}
	}
	assert_int_equal(f.rsp_cons, start + n);
}

static void test_ring_wrap(void **state)
{
	run_ring_from(0, 1000);
	run_ring_from(0xFFFFFFFFu - 40, 1000);	/* crosses 2^32 */
	run_ring_from(0xFFFFFFF0u, 33);
}

static void test_need_notify(void **state)
{
	/* event in (old, new] */
	assert_true(pvio_ring_need_notify(10, 12, 11));
	assert_true(pvio_ring_need_notify(10, 12, 12));
	assert_false(pvio_ring_need_notify(10, 12, 13));
	assert_false(pvio_ring_need_notify(10, 12, 10));
	/* across the wrap */
	assert_true(pvio_ring_need_notify(0xFFFFFFFFu, 1, 0));
	assert_false(pvio_ring_need_notify(0xFFFFFFFFu, 1, 2));
}

static void test_hostile_indices(void **state)
{
	static unsigned char page[4096];
	struct pvio_sring_hdr *s = (struct pvio_sring_hdr *)page;
	struct pvio_back_ring b;
	struct pvio_front_ring f;

	pvio_sring_init(s);
	pvio_back_ring_init(&b, s, 32);
	assert_true(pvio_back_req_prod_ok(&b, 32));
	assert_false(pvio_back_req_prod_ok(&b, 33));
	assert_false(pvio_back_req_prod_ok(&b, 0x80000000u));
	assert_false(pvio_back_req_prod_ok(&b, 0xFFFFFFFFu));	/* behind */
	/* a producer far ahead is bounded by the ring's free space */
	s->req_prod = 1000000;
	assert_int_equal(pvio_back_unconsumed(&b), 32);

	pvio_sring_init(s);
	pvio_front_ring_init(&f, s, 32);
	f.req_prod_pvt = 5;
	assert_true(pvio_front_rsp_prod_ok(&f, 5));
	assert_false(pvio_front_rsp_prod_ok(&f, 6));
	assert_false(pvio_front_rsp_prod_ok(&f, 0xFFFFFFFFu));
}

static void test_final_check(void **state)
{
	static unsigned char page[4096];
	struct pvio_sring_hdr *s = (struct pvio_sring_hdr *)page;
	struct pvio_back_ring b;

	pvio_sring_init(s);
	pvio_back_ring_init(&b, s, 32);
	assert_false(pvio_back_final_check(&b));
	assert_int_equal(s->req_event, 1);
	s->req_prod = 1;
	assert_true(pvio_back_final_check(&b));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ring_sizes),
		cmocka_unit_test(test_ring_wrap),
		cmocka_unit_test(test_need_notify),
		cmocka_unit_test(test_hostile_indices),
		cmocka_unit_test(test_final_check),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
