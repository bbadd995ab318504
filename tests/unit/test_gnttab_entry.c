/*
 * Unit tests of the grant entry rules (grant/gnttab_entry.c): validation
 * statuses as Xen gives them, pin bits, sharing, end access while pinned,
 * and a granter that keeps rewriting its entry.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <cmocka.h>

#include "../../grant/gnttab_entry.h"

static struct pvio_grant_entry_v1 entry(uint16_t flags, uint16_t domid)
{
	struct pvio_grant_entry_v1 e = { .flags = flags, .domid = domid, .frame = 42 };

	return e;
}

static void test_check_access(void **state)
{
	assert_int_equal(gnttab_check_access(GTF_permit_access, 3, 3, true), GNTST_okay);
	assert_int_equal(gnttab_check_access(GTF_permit_access, 3, 4, false),
			 GNTST_general_error);
	assert_int_equal(gnttab_check_access(GTF_invalid, 3, 3, false), GNTST_general_error);
	assert_int_equal(gnttab_check_access(GTF_accept_transfer, 3, 3, false),
			 GNTST_general_error);
	assert_int_equal(gnttab_check_access(GTF_permit_access | GTF_readonly, 3, 3, true),
			 GNTST_general_error);
	assert_int_equal(gnttab_check_access(GTF_permit_access | GTF_readonly, 3, 3, false),
			 GNTST_okay);
}

static void test_pin_unpin(void **state)
{
	struct pvio_grant_entry_v1 e = entry(GTF_permit_access, 5);
	uint16_t taken;
	uint32_t frame = 0;

	assert_int_equal(gnttab_entry_pin(&e, 5, false, 0, &taken, &frame), GNTST_okay);
	assert_int_equal(e.flags, GTF_permit_access | GTF_reading);
	assert_int_equal(taken, GTF_reading);
	assert_int_equal(frame, 42);
	/* the granter cannot end access now */
	assert_int_equal(gnttab_entry_end(&e), -EBUSY);
	assert_int_equal(e.flags, GTF_permit_access | GTF_reading);
	/* a writable pin while hv holds the read pin: shares reading */
	assert_int_equal(gnttab_entry_pin(&e, 5, true, GTF_reading, &taken, NULL), GNTST_okay);
	assert_int_equal(taken, GTF_writing);
	assert_int_equal(e.flags, GTF_permit_access | GTF_reading | GTF_writing);
	gnttab_entry_unpin(&e, GTF_writing);
	assert_int_equal(e.flags, GTF_permit_access | GTF_reading);
	assert_int_equal(gnttab_entry_end(&e), -EBUSY);
	gnttab_entry_unpin(&e, GTF_reading);
	assert_int_equal(gnttab_entry_end(&e), 0);
	assert_int_equal(e.flags, 0);
	/* ended: no more pins */
	assert_int_equal(gnttab_entry_pin(&e, 5, false, 0, NULL, NULL), GNTST_general_error);
}

static void test_busy_bits(void **state)
{
	/* bits set by someone hv does not know of (a dom0 local copy) */
	struct pvio_grant_entry_v1 e = entry(GTF_permit_access | GTF_reading, 0);
	uint16_t taken = 0xffff;

	assert_int_equal(gnttab_entry_pin(&e, 0, false, 0, NULL, NULL), GNTST_eagain);
	/* a copy may share them, and then takes nothing */
	assert_int_equal(gnttab_entry_pin(&e, 0, false, GTF_reading | GTF_writing,
					  &taken, NULL), GNTST_okay);
	assert_int_equal(taken, 0);
	assert_int_equal(e.flags, GTF_permit_access | GTF_reading);
}

static void test_refusals_leave_entry(void **state)
{
	struct pvio_grant_entry_v1 e = entry(GTF_permit_access | GTF_readonly, 7);

	assert_int_equal(gnttab_entry_pin(&e, 7, true, 0, NULL, NULL), GNTST_general_error);
	assert_int_equal(gnttab_entry_pin(&e, 8, false, 0, NULL, NULL), GNTST_general_error);
	assert_int_equal(e.flags, GTF_permit_access | GTF_readonly);
	assert_int_equal(e.domid, 7);
	assert_int_equal(gnttab_entry_end(&e), 0);
}

static void test_pin_bits(void **state)
{
	assert_int_equal(gnttab_pin_bits(false), GTF_reading);
	assert_int_equal(gnttab_pin_bits(true), GTF_reading | GTF_writing);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_access),
		cmocka_unit_test(test_pin_unpin),
		cmocka_unit_test(test_busy_bits),
		cmocka_unit_test(test_refusals_leave_entry),
		cmocka_unit_test(test_pin_bits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
