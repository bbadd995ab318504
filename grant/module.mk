# Grant tables: entry rules (shared with pvio-hv), granting and mapping.
LIBPVIO_SRCS += grant/gnttab_entry.c grant/gnttab_grant.c grant/gnttab_map.c

TEST_PROGRAMS += test_gnttab_entry
test_gnttab_entry_SRCS := tests/unit/test_gnttab_entry.c
test_gnttab_entry_LDLIBS := -lcmocka
UNIT_TESTS += $(TESTDIR)/test_gnttab_entry
