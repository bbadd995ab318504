/*
 * Unit tests of the xl config parser and the xl disk-spec parser
 * (tools/xlcfg): syntax, lists across lines, comments, errors, vdev names.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "../../tools/xlcfg/xlcfg.h"

static void test_cfg_basic(void **state)
{
	const char *text =
		"# a process domain\n"
		"name = \"guest-1\"\n"
		"type='process'   # trailing comment\n"
		"memory = 256\n"
		"vcpus=2; maxvcpus = 0x4\n"
		"disk = [ '/var/tmp/a.img,raw,xvda,rw',\n"
		"         \"target=/var/tmp/b,c.img,vdev=xvdb\", # second\n"
		"       ]\n"
		"vif = []\n"
		"extra = \"console=hvc0 \\\"q\\\"\"\n"
		"memory = 512\n";
	struct xlcfg *cfg;
	const struct xlcfg_entry *e;
	long long v;
	char err[128];

	assert_int_equal(xlcfg_parse(text, &cfg, err, sizeof(err)), 0);
	assert_string_equal(xlcfg_get_string(cfg, "name"), "guest-1");
	assert_string_equal(xlcfg_get_string(cfg, "type"), "process");
	assert_int_equal(xlcfg_get_int(cfg, "memory", &v), 0);
	assert_int_equal(v, 512);	/* last assignment wins */
	assert_int_equal(xlcfg_get_int(cfg, "maxvcpus", &v), 0);
	assert_int_equal(v, 4);
	assert_int_equal(xlcfg_get_int(cfg, "vcpus", &v), 0);
	assert_int_equal(v, 2);
	assert_int_equal(xlcfg_get_int(cfg, "name", &v), -EINVAL);
	assert_int_equal(xlcfg_get_int(cfg, "nothere", &v), -ENOENT);
	e = xlcfg_get(cfg, "disk");
	assert_non_null(e);
	assert_int_equal(e->type, XLCFG_LIST);
	assert_int_equal(e->nr_items, 2);
	assert_string_equal(e->items[0], "/var/tmp/a.img,raw,xvda,rw");
	assert_string_equal(e->items[1], "target=/var/tmp/b,c.img,vdev=xvdb");
	e = xlcfg_get(cfg, "vif");
	assert_non_null(e);
	assert_int_equal(e->nr_items, 0);
	assert_string_equal(xlcfg_get_string(cfg, "extra"), "console=hvc0 \"q\"");
	assert_null(xlcfg_get_string(cfg, "disk"));
	xlcfg_free(cfg);
}

static void expect_error(const char *text, const char *msg)
{
	struct xlcfg *cfg = NULL;
	char err[128] = "";

	assert_int_equal(xlcfg_parse(text, &cfg, err, sizeof(err)), -EINVAL);
	assert_null(cfg);
	if (!strstr(err, msg))
		fail_msg("error '%s' lacks '%s'", err, msg);
}

static void test_cfg_errors(void **state)
{
	expect_error("name = \"abc\n", "line 1: unterminated string");
	expect_error("a = 1\nname \"x\"\n", "line 2: expected '='");
	expect_error("disk = [ 'a', 'b'\n\n", "line 1: list not closed");
	expect_error("disk = [ 'a' 'b' ]", "expected ',' or ']'");
	expect_error("disk = [ [[[[[[[[[['a']]]]]]]]]] ]", "nested deeper");
	expect_error("name = guest\n", "'guest' is not a value");
	expect_error("memory = 1.5\n", "only whole numbers");
	expect_error("disk = [ 'a' ]\ndisk += 'b'\n", "a string value added to a list");
	expect_error("x = \n", "missing value");
	expect_error("x = 1 2\n", "unexpected '2'");
	expect_error("= 3\n", "expected a setting name");
	expect_error("s = \"\\q\"", "bad escape");
}

/* += appends, nested lists parse, numbers in every base, overrides */
static void test_cfg_append(void **state)
{
	struct xlcfg *cfg;
	const struct xlcfg_entry *e;
	long long v;
	char err[128];

	assert_int_equal(xlcfg_parse("disk = [ 'a' ]\ndisk += [ 'b', 'c', ]\n"
				     "name = \"x\"; name += \"y\"\n"
				     "vnuma = [ [ 'pnode=0' ], [ 'pnode=1' ] ]\n"
				     "m = 010; h = 0x10\n"
				     "e = 'it\\'s'\n",
				     &cfg, err, sizeof(err)), 0);
	e = xlcfg_get(cfg, "disk");
	assert_int_equal(e->nr_items, 3);
	assert_string_equal(e->items[2], "c");
	assert_string_equal(xlcfg_get_string(cfg, "name"), "xy");
	e = xlcfg_get(cfg, "vnuma");
	assert_int_equal(e->nr_items, 2);
	assert_int_equal(e->nr_nested, 2);
	assert_null(e->items[0]);
	assert_int_equal(xlcfg_get_int(cfg, "m", &v), 0);
	assert_int_equal(v, 8);
	assert_int_equal(xlcfg_get_int(cfg, "h", &v), 0);
	assert_int_equal(v, 16);
	assert_string_equal(xlcfg_get_string(cfg, "e"), "it's");
	assert_int_equal(xlcfg_parse_more(cfg, "memory=512; disk+=['d']",
					  "command line", err, sizeof(err)), 0);
	assert_int_equal(xlcfg_get_int(cfg, "memory", &v), 0);
	assert_int_equal(v, 512);
	assert_int_equal(xlcfg_get(cfg, "disk")->nr_items, 4);
	assert_int_equal(xlcfg_parse_more(cfg, "memory=", "command line", err,
					  sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "command line: missing value"));
	xlcfg_free(cfg);
}

static void test_cfg_empty(void **state)
{
	struct xlcfg *cfg;
	char err[64];

	assert_int_equal(xlcfg_parse("\n# only comments\n;;\n", &cfg, err,
				     sizeof(err)), 0);
	assert_int_equal(cfg->n, 0);
	xlcfg_free(cfg);
}

static void test_vdev(void **state)
{
	uint32_t n;

	assert_int_equal(xlcfg_vdev_parse("xvda", &n), 0);
	assert_int_equal(n, 51712);
	assert_int_equal(xlcfg_vdev_parse("xvdb", &n), 0);
	assert_int_equal(n, 51728);
	assert_int_equal(xlcfg_vdev_parse("xvda1", &n), 0);
	assert_int_equal(n, 51713);
	assert_int_equal(xlcfg_vdev_parse("xvdq", &n), 0);
	assert_int_equal(n, (1u << 28) | (16 << 8));
	assert_int_equal(xlcfg_vdev_parse("xvdaa", &n), 0);
	assert_int_equal(n, (1u << 28) | (26 << 8));
	assert_int_equal(xlcfg_vdev_parse("sda", &n), 0);
	assert_int_equal(n, 2048);
	assert_int_equal(xlcfg_vdev_parse("sdb2", &n), 0);
	assert_int_equal(n, 2048 + 16 + 2);
	assert_int_equal(xlcfg_vdev_parse("hda", &n), 0);
	assert_int_equal(n, 768);
	assert_int_equal(xlcfg_vdev_parse("hdb", &n), 0);
	assert_int_equal(n, 832);
	assert_int_equal(xlcfg_vdev_parse("hdc", &n), 0);
	assert_int_equal(n, 5632);
	assert_int_equal(xlcfg_vdev_parse("51760", &n), 0);
	assert_int_equal(n, 51760);
	assert_int_equal(xlcfg_vdev_parse("xvd", &n), -EINVAL);
	assert_int_equal(xlcfg_vdev_parse("xvda16", &n), -EINVAL);
	assert_int_equal(xlcfg_vdev_parse("hde", &n), -EINVAL);
	assert_int_equal(xlcfg_vdev_parse("vda", &n), -EINVAL);
	assert_int_equal(xlcfg_vdev_parse("xvdA", &n), -EINVAL);
	assert_int_equal(xlcfg_vdev_parse("0", &n), -EINVAL);
	assert_int_equal(xlcfg_vdev_parse("12a", &n), -EINVAL);
	/* xen-vbd-interface(7): dNpM and numbers in any base */
	assert_int_equal(xlcfg_vdev_parse("d0", &n), 0);
	assert_int_equal(n, 51712);
	assert_int_equal(xlcfg_vdev_parse("d1p2", &n), 0);
	assert_int_equal(n, 51730);
	assert_int_equal(xlcfg_vdev_parse("d536p37", &n), 0);
	assert_int_equal(n, (1u << 28) | (536 << 8) | 37);
	assert_int_equal(xlcfg_vdev_parse("xvdtq37", &n), 0);
	assert_int_equal(n, (1u << 28) | (536 << 8) | 37);
	assert_int_equal(xlcfg_vdev_parse("0xca00", &n), 0);
	assert_int_equal(n, 51712);
	assert_int_equal(xlcfg_vdev_parse("0145000", &n), 0);
	assert_int_equal(n, 51712);
	assert_int_equal(xlcfg_vdev_parse("hdd", &n), 0);
	assert_int_equal(n, (22u << 8) | 64);
	assert_int_equal(xlcfg_vdev_parse("d1048576", &n), -EINVAL);
	assert_int_equal(xlcfg_vdev_parse("d0p256", &n), -EINVAL);
	assert_int_equal(xlcfg_vdev_parse("0x20000000", &n), -EINVAL);
}

static void test_disk_positional(void **state)
{
	struct xlcfg_disk d;
	char err[256];

	assert_int_equal(xlcfg_disk_parse("/var/lib/img/g.img,raw,xvda,rw", &d,
					  err, sizeof(err)), 0);
	assert_string_equal(d.target, "/var/lib/img/g.img");
	assert_string_equal(d.format, "raw");
	assert_string_equal(d.vdev, "xvda");
	assert_int_equal(d.vdev_num, 51712);
	assert_false(d.readonly);
	assert_int_equal(d.discard, -1);

	/* the most common real form: phy: is ignored, format counts as given */
	assert_int_equal(xlcfg_disk_parse("phy:/dev/vg0/guest,xvda,w", &d, err,
					  sizeof(err)), 0);
	assert_string_equal(d.target, "/dev/vg0/guest");
	assert_string_equal(d.format, "raw");
	assert_string_equal(d.vdev, "xvda");
	assert_false(d.readonly);

	assert_int_equal(xlcfg_disk_parse("tap:qcow2:/x.qcow2,xvdb,r", &d, err,
					  sizeof(err)), 0);
	assert_string_equal(d.format, "qcow2");
	assert_true(d.readonly);
	assert_int_equal(xlcfg_disk_check(&d, err, sizeof(err)), -EOPNOTSUPP);
	assert_non_null(strstr(err, "format qcow2 is not supported"));

	assert_int_equal(xlcfg_disk_parse("/x.iso,raw,hdc:cdrom,r", &d, err,
					  sizeof(err)), 0);
	assert_true(d.cdrom);
	assert_int_equal(d.vdev_num, 5632);

	/* xend's empty cdrom */
	assert_int_equal(xlcfg_disk_parse(",hdc:cdrom,r", &d, err, sizeof(err)), 0);
	assert_string_equal(d.format, "empty");
	assert_int_equal(xlcfg_disk_check(&d, err, sizeof(err)), -EOPNOTSUPP);

	assert_int_equal(xlcfg_disk_parse("iscsi:iqn.2001-04.com.example:d1,xvda,w",
					  &d, err, sizeof(err)), 0);
	assert_string_equal(d.script, "block-iscsi");
	assert_string_equal(d.target, "iqn.2001-04.com.example:d1");

	/* a trailing comma, an empty positional */
	assert_int_equal(xlcfg_disk_parse("/a,,xvda,,", &d, err, sizeof(err)), 0);
}

static void test_disk_keys(void **state)
{
	struct xlcfg_disk d;
	char err[256];

	assert_int_equal(xlcfg_disk_parse(
		"vdev=xvdc, access=ro, format=raw, pvio-engine=aio, no-discard, "
		"pvio-sector-size=4096, target=/tmp/a,b=c.img", &d, err, sizeof(err)), 0);
	assert_string_equal(d.target, "/tmp/a,b=c.img");
	assert_string_equal(d.vdev, "xvdc");
	assert_true(d.readonly);
	assert_string_equal(d.engine, "aio");
	assert_int_equal(d.discard, 0);
	assert_int_equal(d.sector_size, 4096);

	assert_int_equal(xlcfg_disk_parse("/a.img,vdev=xvdd,discard,engine=uring,backendtype=phy,direct-io-safe,untrusted",
					  &d, err, sizeof(err)), 0);
	assert_string_equal(d.target, "/a.img");
	assert_false(d.readonly);
	assert_int_equal(d.discard, 1);
	assert_string_equal(d.engine, "uring");
	assert_string_equal(d.backendtype, "phy");
	assert_true(d.direct_io_safe);
	assert_int_equal(d.trusted, 0);

	/* a driver domain parses, and is refused by name */
	assert_int_equal(xlcfg_disk_parse("backend=storagedom,/x,raw,xvda", &d,
					  err, sizeof(err)), 0);
	assert_int_equal(xlcfg_disk_check(&d, err, sizeof(err)), -EOPNOTSUPP);
	assert_non_null(strstr(err, "backend=storagedom"));
}

static void disk_error(const char *spec, const char *msg)
{
	struct xlcfg_disk d;
	char err[300] = "";

	assert_int_equal(xlcfg_disk_parse(spec, &d, err, sizeof(err)), -EINVAL);
	if (!strstr(err, msg))
		fail_msg("spec '%s': error '%s' lacks '%s'", spec, err, msg);
}

static void test_disk_errors(void **state)
{
	disk_error("", "empty");
	disk_error("/a.img", "no vdev");
	disk_error("/a.img,raw,xvda,rw,extra", "too many positional");
	disk_error("/a.img,raw,xvda,rw,,", "too many positional");
	disk_error("/a.img,vmdk,xvda,rw", "unknown format 'vmdk'");
	disk_error("/a.img,raw,vda,rw", "bad vdev 'vda'");
	disk_error("/a.img,raw,xvda,rx", "unknown access 'rx'");
	disk_error("vdev=xvda,colour=blue,target=/a", "unknown parameter 'colour'");
	disk_error("vdev=xvda,backendtype=qemu,target=/a", "unknown backendtype");
	disk_error("vdev=xvda,sector-size=1024,target=/a", "bad sector-size");
	disk_error("vdev=xvda,engine=spdk,target=/a", "bad engine");
	disk_error("vdev=xvda", "no target");
	disk_error("/x.img,raw,xvda,rw,vdev=xvdb", "vdev respecified");
	disk_error("/a,raw,xvda,rw,format=qcow2", "format respecified");
	disk_error("/a,raw,xvda,rw,target=/b", "target respecified");
	disk_error("raw:/a,raw,xvda", "bad vdev 'raw'");
	disk_error("qed:/a,xvda,w", "unknown deprecated disk prefix 'qed:'");
	disk_error("script=block-nbd,nbd:h:1,xvda,w", "script respecified");
	disk_error("target=/a,vdev=xvda", "no vdev");
	disk_error("/a,raw,xvda:floppy,w", "unknown device type 'floppy'");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cfg_basic),
		cmocka_unit_test(test_cfg_errors),
		cmocka_unit_test(test_cfg_append),
		cmocka_unit_test(test_cfg_empty),
		cmocka_unit_test(test_vdev),
		cmocka_unit_test(test_disk_positional),
		cmocka_unit_test(test_disk_keys),
		cmocka_unit_test(test_disk_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
