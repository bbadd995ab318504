// SPDX-License-Identifier: MIT
/*
 * The kept-connections text a migration's destination receives from the
 * other host (tools/migrate_kept_text.c): what the source writes is taken
 * whole, anything else refused before any of it is used, and random
 * corruptions of a good text (kept across a suspend, or moved live)
 * never get past the checks with a value the destination would act on
 * unchecked.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "pvio/event_channel.h"
#include "../../tools/migrate.h"

static const char good[] =
	"gnt 1024 1025\n"
	"dev vbd/51712\n"
	"key ring-ref0=8\n"
	"key ring-ref1=9\n"
	"key event-channel=5\n"
	"key ring-page-order=1\n"
	"key protocol=x86_64-abi\n"
	"key virtual-device=51712\n"
	"dev vif/0\n"
	"key queue-0/tx-ring-ref=12\n"
	"key queue-0/rx-ring-ref=13\n"
	"key queue-0/event-channel-tx=6\n"
	"key queue-0/event-channel-rx=7\n"
	"key multi-queue-num-queues=1\n"
	"key mac=00:16:3e:00:00:01\n";

/* A guest moved while it ran: every port it holds, its suspend channel. */
static const char good_live[] =
	"live\n"
	"gnt 1024\n"
	"port 3 5 6 7 9\n"
	"suspend 9\n"
	"dev vbd/51712\n"
	"key ring-ref=8\n"
	"key event-channel=5\n"
	"dev vif/0\n"
	"key queue-0/tx-ring-ref=12\n"
	"key queue-0/rx-ring-ref=13\n"
	"key queue-0/event-channel-tx=6\n"
	"key queue-0/event-channel-rx=7\n";

static int parse(const char *t, struct mig_kept *k)
{
	return mig_kept_parse(t, strlen(t), k);
}

static void test_good(void **state)
{
	struct mig_kept *k = malloc(sizeof(*k));

	assert_non_null(k);
	assert_int_equal(parse(good, k), 0);
	assert_int_equal(k->nframes, 2);
	assert_int_equal(k->gfn[0], 1024);
	assert_int_equal(k->gfn[1], 1025);
	assert_int_equal(k->ndevs, 2);
	assert_string_equal(k->devs[0].name, "vbd/51712");
	assert_string_equal(k->devs[1].name, "vif/0");
	assert_int_equal(k->devs[0].nkeys, 6);
	assert_int_equal(k->devs[1].nkeys, 6);
	assert_int_equal(k->nports, 3);
	assert_int_equal(k->ports[0], 5);
	assert_int_equal(k->ports[1], 6);
	assert_int_equal(k->ports[2], 7);
	/* each device's lines are its own */
	assert_memory_equal(good + k->devs[0].keys, "key ring-ref0=8", 15);
	assert_memory_equal(good + k->devs[1].keys, "key queue-0/tx", 14);
	assert_true(k->devs[0].keys_end < k->devs[1].keys);
	/* nothing kept is a valid (empty) text too */
	assert_int_equal(parse("", k), 0);
	assert_int_equal(k->ndevs, 0);
	assert_int_equal(parse("gnt\n", k), 0);
	free(k);
}

static void test_live(void **state)
{
	static const char *const bad[] = {
		"gnt 1\nlive\nport 3\n",		/* live not first */
		"live\nlive\ngnt 1\nport 3\n",	/* twice */
		"live\ngnt 1\n",			/* no list of ports */
		"live\ngnt 1\ndev vbd/1\nport 3\n",	/* list after a device */
		"live\nport 3\ngnt 1\n",		/* list before gnt */
		"gnt 1\nport 3\n",			/* a list, not live */
		"live\ngnt 1\nport 3\nport 4\n",	/* two lists */
		"live\ngnt 1\nport 3 3\n",		/* a port twice */
		"live\ngnt 1\nport 0\n",
		"live\ngnt 1\nport 4096\n",
		"live\ngnt 1\nport x\n",
		"live\ngnt 1\nport 3\nsuspend 4\n",	/* not in the list */
		"live\ngnt 1\nport 3\nsuspend 3\nsuspend 3\n",
		"live\ngnt 1\nsuspend 3\nport 3\n",
		/* a device's port that is not in the list */
		"live\ngnt 1\nport 3\ndev vbd/1\nkey event-channel=5\n",
		/* one port for two devices */
		"live\ngnt 1\nport 5\ndev vbd/1\nkey event-channel=5\n"
		"dev vif/0\nkey event-channel=5\n",
	};
	struct mig_kept *k = malloc(sizeof(*k));
	char buf[4096];

	assert_non_null(k);
	assert_int_equal(parse(good_live, k), 0);
	assert_true(k->live);
	assert_int_equal(k->nports, 5);
	assert_int_equal(k->ports[0], 3);
	assert_int_equal(k->ports[4], 9);
	assert_int_equal(k->suspend_port, 9);
	assert_int_equal(k->ndevs, 2);
	assert_int_equal(k->devs[1].nkeys, 4);
	/* a guest with no device, moved live */
	assert_int_equal(parse("live\ngnt 1\nport\n", k), 0);
	assert_true(k->live);
	assert_int_equal(k->nports, 0);
	/* not live: no suspend port, the list is the keys' */
	assert_int_equal(parse(good, k), 0);
	assert_false(k->live);
	assert_int_equal(k->suspend_port, 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse(bad[i], k) != -EPROTO)
			fail_msg("accepted: %s", bad[i]);
	}
	/* more ports than hv imports */
	{
		size_t n = (size_t)snprintf(buf, sizeof(buf), "live\ngnt\nport");

		for (int i = 1; i <= MIG_KEPT_MAX_PORTS + 1; i++)
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, " %d", i);
		assert_int_equal(parse(buf, k), -EPROTO);
	}
	free(k);
}

static void test_refused(void **state)
{
	static const char *const bad[] = {
		"gnt 1\ngnt 2\n",			/* twice */
		"dev vbd/1\ngnt 1\n",			/* not first */
		"gnt x\n",
		"gnt 18446744073709551616\n",		/* 2^64 */
		"dev disk/1\n",				/* no such type */
		"dev vbd/\n",
		"dev vbd/1a\n",
		"dev vbd/1\ndev vbd/1\n",		/* twice */
		"dev ../vbd/1\n",
		"key ring-ref=1\n",			/* before any dev */
		"dev vbd/1\nkey state=4\n",		/* the toolstack's */
		"dev vbd/1\nkey backend=/local/domain/0\n",
		"dev vbd/1\nkey backend-id=0\n",
		"dev vbd/1\nkey Ring=1\n",		/* not a frontend key */
		"dev vbd/1\nkey a/b=1\n",		/* only queue-N/ */
		"dev vbd/1\nkey queue-x/a=1\n",
		"dev vbd/1\nkey queue-0/a/b=1\n",	/* deeper */
		"dev vbd/1\nkey ../../x=1\n",
		"dev vbd/1\nkey =1\n",
		"dev vbd/1\nkey ring-ref\n",		/* no value */
		"dev vbd/1\nkey ring-ref=a\tb\n",	/* control character */
		"dev vbd/1\nkey event-channel=0\n",	/* no port 0 */
		"dev vbd/1\nkey event-channel=4096\n",	/* out of range */
		"dev vbd/1\nkey event-channel=-1\n",
		"dev vbd/1\nkey event-channel=5\ndev vif/0\nkey event-channel=5\n",
		"dev vbd/1\nring-ref=1\n",		/* no verb */
		"hello\n",
	};
	struct mig_kept *k = malloc(sizeof(*k));
	char buf[1024];

	assert_non_null(k);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse(bad[i], k) != -EPROTO)
			fail_msg("accepted: %s", bad[i]);
	}
	/* a value longer than any frontend writes */
	snprintf(buf, sizeof(buf), "dev vbd/1\nkey protocol=%0300d\n", 0);
	assert_int_equal(parse(buf, k), -EPROTO);
	/* more than 64 grant frames */
	{
		size_t n = (size_t)snprintf(buf, sizeof(buf), "gnt");

		for (int i = 0; i < 65; i++)
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, " %d", i);
		assert_int_equal(parse(buf, k), -EPROTO);
	}
	free(k);
}

static void test_limits(void **state)
{
	struct mig_kept *k = malloc(sizeof(*k));
	size_t cap = MIG_KEPT_MAX + 4096, n = 0;
	char *t = malloc(cap);

	assert_non_null(k);
	assert_non_null(t);
	/* 16 devices pass, a 17th does not */
	for (int i = 0; i < MIG_KEPT_MAX_DEVS; i++)
		n += (size_t)snprintf(t + n, cap - n, "dev vbd/%d\n", i);
	assert_int_equal(mig_kept_parse(t, n, k), 0);
	n += (size_t)snprintf(t + n, cap - n, "dev vbd/99\n");
	assert_int_equal(mig_kept_parse(t, n, k), -EPROTO);
	/* 256 keys of one device pass, a 257th does not */
	n = (size_t)snprintf(t, cap, "dev vbd/1\n");
	for (int i = 0; i < MIG_KEPT_MAX_KEYS; i++)
		n += (size_t)snprintf(t + n, cap - n, "key k%d=1\n", i);
	assert_int_equal(mig_kept_parse(t, n, k), 0);
	n += (size_t)snprintf(t + n, cap - n, "key k999=1\n");
	assert_int_equal(mig_kept_parse(t, n, k), -EPROTO);
	/* a text longer than any the source writes */
	memset(t, '\n', cap);
	assert_int_equal(mig_kept_parse(t, MIG_KEPT_MAX + 1, k), -EPROTO);
	free(t);
	free(k);
}

/*
 * Corrupt the good text at random: whatever parses must still say only
 * what the checks allow (names, ports in range, offsets inside the text).
 */
static void mutate(const char *src, size_t len)
{
	struct mig_kept *k = malloc(sizeof(*k));
	char t[1024];
	uint32_t r = 4242;

	assert_non_null(k);
	assert_true(len <= sizeof(t));
	for (int round = 0; round < 200000; round++) {
		size_t n = len;

		memcpy(t, src, n);
		for (int m = 0; m < 1 + (int)(r % 4); m++) {
			r = r * 1103515245u + 12345u;
			t[(r >> 8) % n] = (char)(r >> 16);
		}
		r = r * 1103515245u + 12345u;
		if (r % 7 == 0)
			n = (r >> 4) % n;	/* cut short */
		if (mig_kept_parse(t, n, k))
			continue;
		assert_true(k->ndevs <= MIG_KEPT_MAX_DEVS);
		assert_true(k->nports <= MIG_KEPT_MAX_PORTS);
		for (unsigned int i = 0; i < k->nports; i++)
			assert_true(k->ports[i] > 0 &&
				    k->ports[i] < PVIO_EVTCHN_MAX_PORTS);
		for (unsigned int i = 0; i < k->ndevs; i++) {
			assert_true(mig_fe_name_ok(k->devs[i].name,
						   strlen(k->devs[i].name)));
			assert_true(k->devs[i].keys <= n);
			assert_true(k->devs[i].keys_end <= n);
		}
		/* live: the suspend port is one of the list */
		if (k->suspend_port) {
			unsigned int i;

			assert_true(k->live);
			for (i = 0; i < k->nports; i++)
				if (k->ports[i] == k->suspend_port)
					break;
			assert_true(i < k->nports);
		}
	}
	free(k);
}

static void test_mutations(void **state)
{
	mutate(good, sizeof(good) - 1);
	mutate(good_live, sizeof(good_live) - 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_live),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_mutations),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
