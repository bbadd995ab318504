/*
 * Unit tests of the pin-table protocol (grant/gnttab_pin.c) that lets dom0
 * clients map grants without hv: the entry checks a map makes, the shared
 * bits set by the first pin and cleared by the last of several owners
 * (hv and clients), counts that cannot overflow, a copy that holds the
 * lock, what hv undoes or finishes for a client that died at each step,
 * and four threads of two clients hammering one ref while the granter
 * tries to end access.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../grant/gnttab_entry.h"
#include "../../grant/gnttab_pin.h"

#define NR_PAGES	64
#define FRAME		42
#define DOM0		0
#define OWNER_A		2
#define OWNER_B		3

struct fixture {
	struct pvio_grant_entry_v1 e;
	uint64_t pin;		/* the granter's pin word of the ref */
	uint64_t own_a, own_b;	/* two clients' own words */
};

static struct fixture fx(uint16_t flags, uint16_t domid)
{
	struct fixture f;

	memset(&f, 0, sizeof(f));
	f.e.flags = flags;
	f.e.domid = domid;
	f.e.frame = FRAME;
	return f;
}

static struct gnttab_pin_ref ref_of(struct fixture *f, uint64_t *own)
{
	struct gnttab_pin_ref p = { .pin = &f->pin, .own = own, .entry = &f->e };

	return p;
}

static int16_t map(struct fixture *f, uint64_t *own, uint16_t owner, bool w)
{
	struct gnttab_pin_ref p = ref_of(f, own);
	uint32_t frame = 0;
	int16_t st = gnttab_pin_map(&p, owner, DOM0, w, false, NR_PAGES, &frame);

	if (st == GNTST_okay)
		assert_int_equal(frame, FRAME);
	return st;
}

static int16_t unmap(struct fixture *f, uint64_t *own, uint16_t owner, bool w)
{
	struct gnttab_pin_ref p = ref_of(f, own);

	return gnttab_pin_unmap(&p, owner, w, false);
}

static uint16_t pinbits(const struct fixture *f)
{
	return f->e.flags & (GTF_reading | GTF_writing);
}

static void test_map_checks(void **state)
{
	struct fixture f = fx(GTF_permit_access | GTF_readonly, DOM0);

	/* a write map of a read-only grant, a grant to another domain */
	assert_int_equal(map(&f, &f.own_a, OWNER_A, true), GNTST_general_error);
	f.e.domid = 7;
	assert_int_equal(map(&f, &f.own_a, OWNER_A, false), GNTST_general_error);
	f.e.domid = DOM0;
	f.e.flags = GTF_invalid;
	assert_int_equal(map(&f, &f.own_a, OWNER_A, false), GNTST_general_error);
	/* a frame outside the granter's RAM: the bits it set go again */
	f.e.flags = GTF_permit_access;
	f.e.frame = NR_PAGES;
	assert_int_equal(map(&f, &f.own_a, OWNER_A, true), GNTST_bad_page);
	/* refusals leave no pin, no count, no lock */
	assert_int_equal(f.e.flags, GTF_permit_access);
	assert_int_equal(f.pin, 0);
	assert_int_equal(f.own_a, 0);
	assert_int_equal(gnttab_entry_end(&f.e), 0);
}

static void test_owners_share_bits(void **state)
{
	struct fixture f = fx(GTF_permit_access, DOM0);

	/* client A maps writable, hv maps read-only, client B writable */
	assert_int_equal(map(&f, &f.own_a, OWNER_A, true), GNTST_okay);
	assert_int_equal(pinbits(&f), GTF_reading | GTF_writing);
	assert_int_equal(map(&f, NULL, GNTTAB_OWNER_HV, false), GNTST_okay);
	assert_int_equal(map(&f, &f.own_b, OWNER_B, true), GNTST_okay);
	assert_int_equal(GNTTAB_PIN_RD(f.pin), 3);
	assert_int_equal(GNTTAB_PIN_WR(f.pin), 2);
	assert_int_equal(GNTTAB_PIN_OWNER(f.pin), 0);
	assert_int_equal((uint32_t)f.own_a, 0x10001);
	assert_int_equal(f.own_a >> 32, 0x10001);	/* nothing in flight */
	assert_int_equal(gnttab_entry_end(&f.e), -EBUSY);

	/* the writers go: writing clears, reading stays for hv */
	assert_int_equal(unmap(&f, &f.own_a, OWNER_A, true), GNTST_okay);
	assert_int_equal(pinbits(&f), GTF_reading | GTF_writing);
	assert_int_equal(unmap(&f, &f.own_b, OWNER_B, true), GNTST_okay);
	assert_int_equal(pinbits(&f), GTF_reading);
	assert_int_equal(gnttab_entry_end(&f.e), -EBUSY);
	/* a pin nobody holds cannot be dropped */
	assert_int_equal(unmap(&f, &f.own_a, OWNER_A, false), GNTST_bad_handle);
	assert_int_equal(unmap(&f, NULL, GNTTAB_OWNER_HV, true),
			 GNTST_bad_handle);
	assert_int_equal(unmap(&f, NULL, GNTTAB_OWNER_HV, false), GNTST_okay);
	assert_int_equal(pinbits(&f), 0);
	assert_int_equal(f.pin, 0);
	assert_int_equal(gnttab_entry_end(&f.e), 0);
	/* ended: no more maps */
	assert_int_equal(map(&f, &f.own_a, OWNER_A, false), GNTST_general_error);
}

static void test_granter_bits(void **state)
{
	/* bits the granter set itself are adopted, and cleared by the last pin */
	struct fixture f = fx(GTF_permit_access | GTF_reading | GTF_writing,
			      DOM0);

	assert_int_equal(map(&f, &f.own_a, OWNER_A, false), GNTST_okay);
	assert_int_equal(unmap(&f, &f.own_a, OWNER_A, false), GNTST_okay);
	assert_int_equal(pinbits(&f), 0);
	/* a granter clearing the bits under a pin hurts only itself; the
	 * next map sets them again */
	assert_int_equal(map(&f, &f.own_a, OWNER_A, true), GNTST_okay);
	f.e.flags = GTF_permit_access;
	assert_int_equal(map(&f, &f.own_b, OWNER_B, false), GNTST_okay);
	assert_int_equal(pinbits(&f), GTF_reading);
	assert_int_equal(unmap(&f, &f.own_b, OWNER_B, false), GNTST_okay);
	assert_int_equal(unmap(&f, &f.own_a, OWNER_A, true), GNTST_okay);
	assert_int_equal(f.pin, 0);
}

static void test_full_counts(void **state)
{
	struct fixture f = fx(GTF_permit_access, DOM0);

	f.own_a = (uint64_t)GNTTAB_OWN_MAX << 32 | GNTTAB_OWN_MAX;
	f.pin = GNTTAB_OWN_MAX;
	assert_int_equal(map(&f, &f.own_a, OWNER_A, false),
			 GNTST_no_device_space);
	f.pin = GNTTAB_PIN_MAX;
	assert_int_equal(map(&f, &f.own_b, OWNER_B, false),
			 GNTST_no_device_space);
	f.pin = (uint64_t)GNTTAB_PIN_MAX << 24 | 1;
	assert_int_equal(map(&f, &f.own_b, OWNER_B, true),
			 GNTST_no_device_space);
	assert_int_equal(pinbits(&f), 0);
	assert_int_equal(f.own_b, 0);
}

static void test_locked_ref(void **state)
{
	struct fixture f = fx(GTF_permit_access, DOM0);
	uint64_t locked = (uint64_t)OWNER_B << 48;

	/* hv does not wait long for a lock another client holds */
	f.pin = locked;
	assert_int_equal(map(&f, NULL, GNTTAB_OWNER_HV, false), GNTST_eagain);
	assert_int_equal(unmap(&f, NULL, GNTTAB_OWNER_HV, false), GNTST_eagain);
	assert_int_equal(f.pin, locked);
	assert_int_equal(pinbits(&f), 0);
}

static void test_copy_holds_lock(void **state)
{
	struct fixture f = fx(GTF_permit_access | GTF_readonly, DOM0);
	struct gnttab_pin_ref p = ref_of(&f, &f.own_a);
	struct gnttab_pin_hold h;
	uint32_t frame = 0;

	assert_int_equal(gnttab_pin_copy_begin(&p, OWNER_A, DOM0, true, false,
					       NR_PAGES, &frame, &h),
			 GNTST_general_error);
	assert_int_equal(f.pin, 0);
	assert_int_equal(gnttab_pin_copy_begin(&p, OWNER_A, DOM0, false, false,
					       NR_PAGES, &frame, &h),
			 GNTST_okay);
	assert_int_equal(frame, FRAME);
	assert_int_equal(GNTTAB_PIN_OWNER(f.pin), OWNER_A);
	assert_int_equal(pinbits(&f), GTF_reading);
	assert_int_equal(gnttab_entry_end(&f.e), -EBUSY);
	/* nobody else gets the ref meanwhile */
	assert_int_equal(map(&f, NULL, GNTTAB_OWNER_HV, false), GNTST_eagain);
	gnttab_pin_copy_end(&p, &h);
	assert_int_equal(f.pin, 0);
	assert_int_equal(pinbits(&f), 0);

	/* a copy under a mapping leaves the mapping's bit */
	assert_int_equal(map(&f, &f.own_b, OWNER_B, false), GNTST_okay);
	assert_int_equal(gnttab_pin_copy_begin(&p, OWNER_A, DOM0, false, false,
					       NR_PAGES, &frame, &h),
			 GNTST_okay);
	gnttab_pin_copy_end(&p, &h);
	assert_int_equal(pinbits(&f), GTF_reading);
	assert_int_equal(unmap(&f, &f.own_b, OWNER_B, false), GNTST_okay);
	assert_int_equal(pinbits(&f), 0);
}

/*
 * A client dies at each point of a map or an unmap (the words as the
 * protocol leaves them there); hv's release must leave exactly the other
 * owners' pins and the bits they need.
 */
static void dead(struct fixture *f, uint64_t pin, uint64_t own, uint16_t flags,
		 uint32_t rd, uint32_t wr, uint16_t bits)
{
	struct gnttab_pin_ref p = ref_of(f, &f->own_a);

	f->pin = pin;
	f->own_a = own;
	f->e.flags = GTF_permit_access | flags;
	assert_true(gnttab_pin_release_dead(&p, OWNER_A, GNTTAB_OWNER_HV));
	assert_int_equal(GNTTAB_PIN_RD(f->pin), rd);
	assert_int_equal(GNTTAB_PIN_WR(f->pin), wr);
	assert_int_equal(GNTTAB_PIN_OWNER(f->pin), 0);
	assert_int_equal(f->own_a, 0);
	assert_int_equal(pinbits(f), bits);
}

static void test_release_dead(void **state)
{
	struct fixture f = fx(GTF_permit_access, DOM0);
	const uint64_t lock_a = (uint64_t)OWNER_A << 48;
	const uint64_t rw = GTF_reading | GTF_writing;
	/* another owner holds one read pin throughout: rd 1 */
	const uint64_t other = 1;

	/* A held one writable pin, nothing in flight */
	dead(&f, other + 1 + (1ull << 24), 0x10001ull << 32 | 0x10001, rw,
	     1, 0, GTF_reading);
	/* A alone, idle with two read pins */
	dead(&f, 2, 2ull << 32 | 2, GTF_reading, 0, 0, 0);
	/* died mapping (writable) after the journal, before the commit */
	dead(&f, lock_a | other, 0ull << 32 | 0x10001, rw, 1, 0, GTF_reading);
	/* died mapping after the commit, before clearing the journal */
	dead(&f, other + 1 + (1ull << 24), 0ull << 32 | 0x10001, rw, 1, 0,
	     GTF_reading);
	/* died unmapping its last pin before the commit (bits cleared) */
	dead(&f, lock_a | 1, 1ull << 32 | 0, 0, 0, 0, 0);
	/* died unmapping after the commit */
	dead(&f, 0, 1ull << 32 | 0, GTF_reading, 0, 0, 0);
	/* died copying (holding the lock, bits borrowed) */
	dead(&f, lock_a, 0, rw, 0, 0, 0);
	dead(&f, lock_a | other, 0, rw, 1, 0, GTF_reading);
	/* nothing held, no lock: nothing changes */
	dead(&f, other, 0, GTF_reading, 1, 0, GTF_reading);
	/* with no entry any more (the ref left the table) */
	{
		struct gnttab_pin_ref p = { .pin = &f.pin, .own = &f.own_a };

		f.pin = 3;
		f.own_a = 1ull << 32 | 1;
		assert_true(gnttab_pin_release_dead(&p, OWNER_A,
						    GNTTAB_OWNER_HV));
		assert_int_equal(f.pin, 2);
	}
}

/* ---- threads: two clients, two threads each, and the granter ---- */

struct race {
	struct fixture f;
	int stop;
	int bad;
	long maps;
};

struct worker {
	struct race *r;
	uint64_t *own;
	uint16_t owner;
	unsigned int seed;
};

static void *worker(void *arg)
{
	struct worker *w = arg;
	struct gnttab_pin_ref p = ref_of(&w->r->f, w->own);

	for (int i = 0; i < 4000; i++) {
		bool wr = rand_r(&w->seed) & 1;
		uint32_t frame;
		int16_t st = gnttab_pin_map(&p, w->owner, DOM0, wr, true,
					    NR_PAGES, &frame);

		if (st == GNTST_general_error)
			break;			/* the granter ended access */
		if (st != GNTST_okay) {
			__atomic_add_fetch(&w->r->bad, 1, __ATOMIC_RELAXED);
			break;
		}
		__atomic_add_fetch(&w->r->maps, 1, __ATOMIC_RELAXED);
		/* while mapped, the bits stay, whatever the others do (so the
		 * granter's end access fails) */
		for (int k = 0; k < 3; k++) {
			uint16_t fl = __atomic_load_n(&w->r->f.e.flags,
						      __ATOMIC_ACQUIRE);

			if (!(fl & GTF_reading) || (wr && !(fl & GTF_writing)))
				__atomic_add_fetch(&w->r->bad, 1,
						   __ATOMIC_RELAXED);
			sched_yield();
		}
		if (gnttab_pin_unmap(&p, w->owner, wr, true) != GNTST_okay)
			__atomic_add_fetch(&w->r->bad, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static void test_threads(void **state)
{
	struct race *r = calloc(1, sizeof(*r));
	struct worker w[4];
	pthread_t th[4];
	int ended = 0;

	assert_non_null(r);
	r->f = fx(GTF_permit_access, DOM0);
	for (int i = 0; i < 4; i++) {
		w[i] = (struct worker){ .r = r, .own = i & 1 ? &r->f.own_b :
						  &r->f.own_a,
					.owner = i & 1 ? OWNER_B : OWNER_A,
					.seed = (unsigned int)i + 1 };
		assert_int_equal(pthread_create(&th[i], NULL, worker, &w[i]), 0);
	}
	/* after a while the granter keeps trying to end access: it may only
	 * succeed when nobody holds a pin, and then no map succeeds any more */
	while (__atomic_load_n(&r->maps, __ATOMIC_RELAXED) < 4000)
		sched_yield();
	while (!ended && __atomic_load_n(&r->maps, __ATOMIC_RELAXED) < 12000)
		if (gnttab_entry_end(&r->f.e) == 0)
			ended = 1;
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	if (!ended)
		assert_int_equal(gnttab_entry_end(&r->f.e), 0);
	assert_int_equal(r->bad, 0);
	assert_int_equal(r->f.pin, 0);
	assert_int_equal(r->f.own_a, 0);
	assert_int_equal(r->f.own_b, 0);
	assert_int_equal(r->f.e.flags, 0);
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_map_checks),
		cmocka_unit_test(test_owners_share_bits),
		cmocka_unit_test(test_granter_bits),
		cmocka_unit_test(test_full_counts),
		cmocka_unit_test(test_locked_ref),
		cmocka_unit_test(test_copy_holds_lock),
		cmocka_unit_test(test_release_dead),
		cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
