/*
 * Unit tests of the vif spec parser: xl's keys and defaults, rate syntax,
 * the stable default MAC, and clear refusal of malformed specs.
 */
#include <stdarg.h>
#include <errno.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "pvio/vif.h"

static void test_defaults(void **state)
{
	struct netspec ns;
	char err[256];

	assert_int_equal(netspec_parse("", &ns, err, sizeof(err)), 0);
	assert_string_equal(ns.bridge, "xenbr0");
	assert_string_equal(ns.script, "vif-bridge");
	assert_false(ns.mac_set);
	assert_int_equal(ns.devid, -1);
	assert_int_equal(ns.mtu, 0);
	assert_int_equal(ns.rate_bytes, 0);
}

static void test_all_keys(void **state)
{
	struct netspec ns;
	char err[256];

	assert_int_equal(netspec_parse(" mac=00:16:3e:0a:0b:0c, bridge=br-test ,"
				       "ip=10.0.0.2 10.0.0.3,rate=10Mb/s@50ms,"
				       "mtu=9000,vifname=myvif,script=vif-bridge,"
				       "model=e1000,type=vif,devid=3",
				       &ns, err, sizeof(err)), 0);
	assert_true(ns.mac_set);
	assert_int_equal(ns.mac[3], 0x0a);
	assert_int_equal(ns.mac[5], 0x0c);
	assert_string_equal(ns.bridge, "br-test");
	assert_string_equal(ns.ip, "10.0.0.2 10.0.0.3");
	assert_int_equal(ns.mtu, 9000);
	assert_string_equal(ns.vifname, "myvif");
	assert_string_equal(ns.model, "e1000");
	assert_int_equal(ns.devid, 3);
	/* 10 Mbit/s = 1.25 MB/s; per 50 ms: 62500 bytes */
	assert_int_equal(ns.rate_bytes, 62500);
	assert_int_equal(ns.rate_usec, 50000);
}

static void test_rate(void **state)
{
	uint64_t b;
	uint32_t us;

	assert_int_equal(netspec_parse_rate("1MB/s", &b, &us), 0);
	assert_int_equal(b, 50000);
	assert_int_equal(us, 50000);
	assert_int_equal(netspec_parse_rate("8Kb/s@1s", &b, &us), 0);
	assert_int_equal(b, 1000);
	assert_int_equal(us, 1000000);
	assert_int_equal(netspec_parse_rate("1Gb/s@100us", &b, &us), 0);
	assert_int_equal(b, 12500);
	assert_int_equal(us, 100);
	assert_int_equal(netspec_parse_rate("100B/s@10ms", &b, &us), 0);
	assert_int_equal(b, 1);
	assert_int_equal(netspec_parse_rate("10Mb", &b, &us), -EINVAL);
	/* found by fuzz_net: 5 bit/s is 0 bytes/s, which meant "no limit" */
	assert_int_equal(netspec_parse_rate("5b/s", &b, &us), -EINVAL);
	assert_int_equal(netspec_parse_rate("8b/s@1s", &b, &us), 0);
	assert_int_equal(b, 1);
	assert_int_equal(netspec_parse_rate("10Xb/s", &b, &us), -EINVAL);
	assert_int_equal(netspec_parse_rate("0Mb/s", &b, &us), -EINVAL);
	assert_int_equal(netspec_parse_rate("Mb/s", &b, &us), -EINVAL);
	assert_int_equal(netspec_parse_rate("10Mb/s@", &b, &us), -EINVAL);
	assert_int_equal(netspec_parse_rate("10Mb/s@5h", &b, &us), -EINVAL);
	assert_int_equal(netspec_parse_rate("10Mb/s@0ms", &b, &us), -EINVAL);
	assert_int_equal(netspec_parse_rate("99999999999999999999Gb/s", &b, &us),
			 -EINVAL);
}

static void test_bad_specs(void **state)
{
	static const char *const bad[] = {
		"mac=00:16:3e:0a:0b",		/* short */
		"mac=01:16:3e:0a:0b:0c",	/* multicast */
		"mac=00:16:3e:0a:0b:0g",
		"mac=00:16:3e:0a:0b:0c0",
		"bridge=",
		"bridge=averyveryverylongname",
		"bridge=br 0",
		"bridge=br/0",
		"mtu=67",
		"mtu=9001",
		"mtu=15x",
		"devid=-1",
		"devid=70000",
		"rate=fast",
		"vifname=a;b",
		"type=tap",
		"colour=blue",
		"justaword",
		"backend=",
		"script=",
		"gatewaydev=eth 0",
	};
	struct netspec ns;
	char err[256];

	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		assert_int_equal(netspec_parse(bad[i], &ns, err, sizeof(err)),
				 -EINVAL);
		/* a clear message that names the problem */
		assert_true(strncmp(err, "vif spec: ", 10) == 0);
	}
}

/* A driver domain parses (xl accepts it) but pvio refuses to serve it. */
static void test_backend_refused(void **state)
{
	struct netspec ns;
	char err[256] = "";

	assert_int_equal(netspec_parse("backend=netdom,bridge=br1,trusted", &ns,
				       err, sizeof(err)), 0);
	assert_string_equal(ns.backend, "netdom");
	assert_int_equal(ns.trusted, 1);
	assert_int_equal(netspec_check(&ns, err, sizeof(err)), -EOPNOTSUPP);
	assert_non_null(strstr(err, "backend=netdom"));
	assert_int_equal(netspec_parse("backend=0,netdev=eth1,untrusted", &ns,
				       err, sizeof(err)), 0);
	assert_string_equal(ns.gatewaydev, "eth1");
	assert_int_equal(ns.trusted, 0);
	assert_int_equal(netspec_check(&ns, err, sizeof(err)), 0);
}

static void test_default_mac(void **state)
{
	uint8_t a[6], b[6], c[6];

	netspec_default_mac(5, 0, a);
	netspec_default_mac(5, 0, b);
	netspec_default_mac(5, 1, c);
	assert_memory_equal(a, b, 6);
	assert_memory_not_equal(a, c, 6);
	assert_int_equal(a[0], 0x00);
	assert_int_equal(a[1], 0x16);
	assert_int_equal(a[2], 0x3e);
	assert_int_equal(a[3] & 0x80, 0);
	/* distinct for the first 64 domains x 4 devices */
	for (unsigned int d = 1; d < 64; d++)
		for (unsigned int v = 0; v < 4; v++)
			for (unsigned int d2 = 1; d2 <= d; d2++)
				for (unsigned int v2 = 0; v2 < 4; v2++) {
					if (d2 == d && v2 >= v)
						break;
					netspec_default_mac(d, v, a);
					netspec_default_mac(d2, v2, b);
					assert_memory_not_equal(a, b, 6);
				}
}

static void test_format_mac(void **state)
{
	uint8_t m[6] = { 0, 0x16, 0x3e, 0xab, 1, 0xff };
	uint8_t back[6];
	char s[18];

	netspec_format_mac(m, s);
	assert_string_equal(s, "00:16:3e:ab:01:ff");
	assert_int_equal(netspec_parse_mac(s, back), 0);
	assert_memory_equal(m, back, 6);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_all_keys),
		cmocka_unit_test(test_rate),
		cmocka_unit_test(test_bad_specs),
		cmocka_unit_test(test_default_mac),
		cmocka_unit_test(test_backend_refused),
		cmocka_unit_test(test_format_mac),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
