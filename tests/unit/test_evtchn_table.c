/*
 * Unit tests of the event-channel port state machine (hv/evtchn_table.c):
 * allocation from port 1, binding only what was offered, close semantics
 * for both ends, exhaustion and bounds.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <cmocka.h>

#include "../../hv/evtchn_table.h"

static void test_alloc_bind_close(void **state)
{
	struct evtchn_table a, b;
	int owner;
	int pa, pb;

	assert_int_equal(evtchn_table_init(&a, PVIO_EVTCHN_MAX_PORTS - 1), 0);
	assert_int_equal(evtchn_table_init(&b, PVIO_EVTCHN_MAX_PORTS - 1), 0);
	pa = evtchn_alloc(&a, 2, &owner);	/* dom 1 offers to dom 2 */
	assert_int_equal(pa, 1);		/* port 0 is never used */
	assert_int_equal(evtchn_slot(&a, (uint32_t)pa)->state, EVTCHNSTAT_unbound);
	assert_ptr_equal(evtchn_slot(&a, (uint32_t)pa)->owner, &owner);
	/* only the domain it was offered to may bind */
	assert_int_equal(evtchn_bind_check(&a, (uint32_t)pa, 3), -EINVAL);
	assert_int_equal(evtchn_bind_check(&a, 0, 2), -EINVAL);
	assert_int_equal(evtchn_bind_check(&a, 99, 2), -EINVAL);
	assert_int_equal(evtchn_bind_check(&a, PVIO_EVTCHN_MAX_PORTS, 2), -EINVAL);
	assert_int_equal(evtchn_bind_check(&a, (uint32_t)pa, 2), 0);
	pb = evtchn_alloc(&b, 1, &owner);
	evtchn_connect(&b, 2, (uint32_t)pb, &a, 1, (uint32_t)pa);
	assert_int_equal(evtchn_slot(&a, (uint32_t)pa)->state, EVTCHNSTAT_interdomain);
	assert_int_equal(evtchn_slot(&a, (uint32_t)pa)->remote_dom, 2);
	assert_int_equal(evtchn_slot(&a, (uint32_t)pa)->remote_port, pb);
	assert_int_equal(evtchn_slot(&b, (uint32_t)pb)->remote_port, pa);
	/* bound: it cannot be bound again */
	assert_int_equal(evtchn_bind_check(&a, (uint32_t)pa, 2), -EINVAL);
	/* closing one end leaves the other unbound, offered to the closer */
	assert_int_equal(evtchn_close(&b, 2, (uint32_t)pb, &a), pa);
	assert_null(evtchn_lookup(&b, (uint32_t)pb));
	assert_int_equal(evtchn_slot(&a, (uint32_t)pa)->state, EVTCHNSTAT_unbound);
	assert_int_equal(evtchn_slot(&a, (uint32_t)pa)->remote_dom, 2);
	assert_int_equal(evtchn_bind_check(&a, (uint32_t)pa, 2), 0);
	assert_int_equal(evtchn_close(&b, 2, (uint32_t)pb, &a), -EINVAL);
	assert_int_equal(evtchn_close(&a, 1, (uint32_t)pa, NULL), 0);
	assert_int_equal(a.nr_open, 0);
	assert_int_equal(b.nr_open, 0);
	evtchn_table_free(&a);
	evtchn_table_free(&b);
}

static void test_loopback_and_reuse(void **state)
{
	struct evtchn_table t;
	int p1, p2, p3;

	assert_int_equal(evtchn_table_init(&t, PVIO_EVTCHN_MAX_PORTS - 1), 0);
	p1 = evtchn_alloc(&t, 4, NULL);		/* dom 4 offers to itself */
	assert_int_equal(evtchn_bind_check(&t, (uint32_t)p1, 4), 0);
	p2 = evtchn_alloc(&t, 4, NULL);
	evtchn_connect(&t, 4, (uint32_t)p2, &t, 4, (uint32_t)p1);
	assert_int_equal(t.nr_open, 2);
	assert_int_equal(evtchn_close(&t, 4, (uint32_t)p1, &t), p2);
	assert_int_equal(evtchn_slot(&t, (uint32_t)p2)->state, EVTCHNSTAT_unbound);
	/* the lowest free port is reused */
	p3 = evtchn_alloc(&t, 9, NULL);
	assert_int_equal(p3, p1);
	evtchn_table_free(&t);
}

static void test_exhaustion(void **state)
{
	struct evtchn_table t;
	unsigned int n = 0;

	assert_int_equal(evtchn_table_init(&t, PVIO_EVTCHN_MAX_PORTS - 1), 0);
	while (evtchn_alloc(&t, 1, NULL) > 0)
		n++;
	assert_int_equal(n, PVIO_EVTCHN_MAX_PORTS - 1);
	assert_int_equal(evtchn_alloc(&t, 1, NULL), -ENOSPC);
	assert_int_equal(evtchn_close(&t, 0, 100, NULL), 0);
	assert_int_equal(evtchn_alloc(&t, 1, NULL), 100);
	assert_null(evtchn_lookup(&t, 0));
	assert_null(evtchn_lookup(&t, PVIO_EVTCHN_MAX_PORTS));
	evtchn_table_free(&t);
}

/* A table allowing fewer open ports refuses the one past its limit only. */
static void test_max_open(void **state)
{
	struct evtchn_table t;
	unsigned int n = 0;

	assert_int_equal(evtchn_table_init(&t, 16), 0);
	while (evtchn_alloc(&t, 1, NULL) > 0)
		n++;
	assert_int_equal(n, 16);
	assert_int_equal(evtchn_alloc(&t, 1, NULL), -ENOSPC);
	assert_int_equal(evtchn_close(&t, 0, 5, NULL), 0);
	assert_int_equal(evtchn_alloc(&t, 1, NULL), 5);
	assert_int_equal(evtchn_alloc(&t, 1, NULL), -ENOSPC);
	evtchn_table_free(&t);
}

/*
 * A port taken by number (a VM's port as it had it on another host): only
 * a closed one in range, counted against the limit like any other, and
 * the lowest-free allocation goes round it.
 */
static void test_alloc_at(void **state)
{
	struct evtchn_table t;
	struct evtchn_port *e;

	assert_int_equal(evtchn_table_init(&t, 4), 0);
	assert_int_equal(evtchn_alloc_at(&t, 0, 0, NULL), -EINVAL);
	assert_int_equal(evtchn_alloc_at(&t, PVIO_EVTCHN_MAX_PORTS, 0, NULL),
			 -EINVAL);
	assert_int_equal(evtchn_alloc_at(&t, 700, 0, &t), 700);
	e = evtchn_lookup(&t, 700);
	assert_non_null(e);
	assert_int_equal(e->state, EVTCHNSTAT_unbound);
	assert_int_equal(e->remote_dom, 0);
	assert_ptr_equal(e->owner, &t);
	assert_int_equal(evtchn_alloc_at(&t, 700, 0, NULL), -EEXIST);
	assert_int_equal(evtchn_alloc_at(&t, 2, 0, NULL), 2);
	/* the lowest free is 1, then 3: 2 is taken */
	assert_int_equal(evtchn_alloc(&t, 5, NULL), 1);
	assert_int_equal(evtchn_alloc(&t, 5, NULL), 3);
	assert_int_equal(evtchn_alloc_at(&t, 9, 0, NULL), -ENOSPC);
	assert_int_equal(evtchn_bind_check(&t, 700, 0), 0);
	assert_int_equal(evtchn_bind_check(&t, 700, 1), -EINVAL);
	evtchn_table_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alloc_bind_close),
		cmocka_unit_test(test_loopback_and_reuse),
		cmocka_unit_test(test_exhaustion),
		cmocka_unit_test(test_max_open),
		cmocka_unit_test(test_alloc_at),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
