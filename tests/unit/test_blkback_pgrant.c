/*
 * Unit tests of blkback's persistent-grant table: every ref value is an
 * ordinary key (0xffffffff included), a fresh table holds nothing even
 * when it reuses the memory of a freed one, growth keeps every entry,
 * the limit holds, and clearing hands every mapping back exactly once.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../backends/blkback/blkback.h"

static void *page_of(uint32_t gref)
{
	return (void *)(uintptr_t)(0x100000000ull + (uint64_t)gref * 4096);
}

static const uint32_t odd_refs[] = {
	0, 1, 7, 8, 0x7fffffffu, 0x80000000u, 0xfffffffeu, 0xffffffffu,
};

static void test_empty(void **state)
{
	struct blkback_pgrant_table t;
	pvio_grant_handle_t h = 77;
	void *addr = (void *)1;

	assert_int_equal(blkback_pgrant_init(&t, 100), 0);
	for (unsigned int i = 0; i < sizeof(odd_refs) / sizeof(odd_refs[0]); i++)
		assert_false(blkback_pgrant_find(&t, odd_refs[i], &addr, &h));
	/* a miss leaves the outputs alone */
	assert_ptr_equal(addr, (void *)1);
	assert_int_equal(h, 77);
	blkback_pgrant_fini(&t);
}

static void test_any_ref_is_a_key(void **state)
{
	struct blkback_pgrant_table t;
	pvio_grant_handle_t h;
	void *addr;
	unsigned int n = sizeof(odd_refs) / sizeof(odd_refs[0]);

	assert_int_equal(blkback_pgrant_init(&t, 100), 0);
	for (unsigned int i = 0; i < n; i++)
		assert_int_equal(blkback_pgrant_add(&t, odd_refs[i],
						    page_of(odd_refs[i]), i + 1), 0);
	for (unsigned int i = 0; i < n; i++) {
		assert_true(blkback_pgrant_find(&t, odd_refs[i], &addr, &h));
		assert_ptr_equal(addr, page_of(odd_refs[i]));
		assert_int_equal(h, i + 1);
		assert_int_equal(blkback_pgrant_add(&t, odd_refs[i], NULL, 0),
				 -EEXIST);
	}
	assert_int_equal(t.nr_used, n);
	blkback_pgrant_fini(&t);
}

static void count_cleared(void *arg, const struct blkback_pgrant *g)
{
	unsigned int *seen = arg;

	assert_int_equal(g->state, BLKBACK_PGRANT_USED);
	assert_ptr_equal(g->addr, page_of(g->gref));
	assert_true(g->gref < 5000);
	seen[g->gref]++;
}

static void test_grow_limit_clear(void **state)
{
	static unsigned int seen[5000];
	struct blkback_pgrant_table t;
	pvio_grant_handle_t h;
	void *addr;

	assert_int_equal(blkback_pgrant_init(&t, 4000), 0);
	for (uint32_t g = 0; g < 4000; g++)
		assert_int_equal(blkback_pgrant_add(&t, g, page_of(g), g), 0);
	assert_int_equal(blkback_pgrant_add(&t, 4000, page_of(4000), 0),
			 -ENOSPC);
	/* at most half full after every growth */
	assert_true(t.nr_slots >= 8000);
	for (uint32_t g = 0; g < 4000; g++) {
		assert_true(blkback_pgrant_find(&t, g, &addr, &h));
		assert_ptr_equal(addr, page_of(g));
		assert_int_equal(h, g);
	}
	assert_false(blkback_pgrant_find(&t, 4000, &addr, &h));
	memset(seen, 0, sizeof(seen));
	blkback_pgrant_clear(&t, count_cleared, seen);
	for (uint32_t g = 0; g < 5000; g++)
		assert_int_equal(seen[g], g < 4000 ? 1 : 0);
	assert_int_equal(t.nr_used, 0);
	for (uint32_t g = 0; g < 4000; g += 97)
		assert_false(blkback_pgrant_find(&t, g, &addr, &h));
	blkback_pgrant_fini(&t);
}

/*
 * A table made after another was freed may get the same memory back from
 * malloc: none of the old entries (addresses into another domain's RAM)
 * may be found in it, whatever ref is asked for.
 */
static void test_fresh_after_free(void **state)
{
	struct blkback_pgrant_table t;
	pvio_grant_handle_t h;
	void *addr;

	for (int round = 0; round < 4; round++) {
		assert_int_equal(blkback_pgrant_init(&t, 8192), 0);
		for (unsigned int i = 0; i < sizeof(odd_refs) / sizeof(odd_refs[0]); i++)
			assert_false(blkback_pgrant_find(&t, odd_refs[i], &addr, &h));
		for (uint32_t g = 0; g < 3000; g += 3)
			assert_false(blkback_pgrant_find(&t, g, &addr, &h));
		for (uint32_t g = 0; g < 3000; g++)
			assert_int_equal(blkback_pgrant_add(&t, g, page_of(g), g), 0);
		/* freed without clearing, as a worst case for reuse */
		blkback_pgrant_fini(&t);
	}
}

static void test_uninitialised_table(void **state)
{
	struct blkback_pgrant_table t;
	pvio_grant_handle_t h;
	void *addr;

	/* a queue without persistent grants has an all-zero table */
	memset(&t, 0, sizeof(t));
	assert_false(blkback_pgrant_find(&t, 0, &addr, &h));
	assert_false(blkback_pgrant_find(&t, 0xffffffffu, &addr, &h));
	assert_int_equal(blkback_pgrant_add(&t, 5, page_of(5), 1), -ENOSPC);
	blkback_pgrant_fini(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_any_ref_is_a_key),
		cmocka_unit_test(test_grow_limit_clear),
		cmocka_unit_test(test_fresh_after_free),
		cmocka_unit_test(test_uninitialised_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
