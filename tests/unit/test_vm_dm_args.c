// SPDX-License-Identifier: MIT
/*
 * Extra device-model arguments of a VM (xl's device_model_args): which
 * words pvio_dm_args_check() accepts, which word it blames, and where hv
 * puts them on QEMU's command line.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "pvio/libpvio.h"
#include "../../hv/hv_vm.h"

static int check(const char *s)
{
	return pvio_dm_args_check(s, strlen(s) + 1, NULL);
}

static void test_accepts_devices(void **state)
{
	(void)state;
	assert_int_equal(check(""), 0);
	assert_int_equal(check("-device\nvirtio-blk-pci,drive=vd0"), 0);
	assert_int_equal(check("-drive\nif=none,id=vd0,file=/tmp/x.img,format=raw,cache=none\n"
			       "-device\nvirtio-blk-pci,drive=vd0\n"
			       "-netdev\ntap,id=n0,ifname=tv0,script=no,downscript=no\n"
			       "-device\nvirtio-net-pci,netdev=n0,mac=52:54:00:12:34:56\n"
			       "-blockdev\nnull-co,node-name=nb"), 0);
	/* an iothread for virtio-blk, the one object allowed */
	assert_int_equal(check("-object\niothread,id=iot0\n"
			       "-device\nvirtio-blk-pci,drive=vd0,iothread=iot0"), 0);
}

static void test_refuses_the_rest(void **state)
{
	static const char *const bad[] = {
		"-machine\npc",			/* hv's machine */
		"-m\n4096",
		"-object\nmemory-backend-ram,id=x,size=1G",
		"-object\niothread",		/* only iothread,... */
		"-object\nsecret,id=s,file=/etc/shadow",
		"-kernel\n/boot/vmlinuz",
		"-chardev\nsocket,id=c,path=/tmp/s",
		"-qmp\nunix:/tmp/q,server=on",
		"-serial\nstdio",
		"-append\nquiet",
		"-device",			/* no value */
		"-device\n",			/* empty value */
		"-device\n-m",			/* an option as a value */
		"-device\nvirtio-blk-pci,drive=vd0\n",	/* trailing empty word */
		"-device\nivshmem-doorbell,chardev=pvio",	/* hv's platform */
		"-device\nvirtio-serial,chardev=pvio",
		"-device\nvirtio-net-pci\tx",	/* control character */
		"device\nvirtio-blk-pci",
		"-device=virtio-blk-pci",
		"\n-device\nx",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (check(bad[i]) != -EINVAL)
			fail_msg("accepted: '%s'", bad[i]);
	}
	/* not NUL-terminated within the field */
	assert_int_equal(pvio_dm_args_check("-device\nx", 4, NULL), -EINVAL);
}

static void test_blames_the_word(void **state)
{
	unsigned int bad = 99;

	(void)state;
	assert_int_equal(pvio_dm_args_check("-device\na\n-m\n512", 17, &bad), -EINVAL);
	assert_int_equal(bad, 2);
	assert_int_equal(pvio_dm_args_check("-device\na\n-drive\n-x", 20, &bad), -EINVAL);
	assert_int_equal(bad, 3);
	assert_int_equal(pvio_dm_args_check("-device\na\n-drive", 20, &bad), -EINVAL);
	assert_int_equal(bad, 3);	/* the missing value */
	assert_int_equal(pvio_dm_args_check("-device\na", 20, &bad), 0);
}

static void test_word_limit(void **state)
{
	char buf[PVIO_DM_ARGS_MAX * 16];
	size_t used = 0;

	(void)state;
	for (unsigned int i = 0; i < PVIO_DM_ARGS_MAX / 2; i++)
		used += (size_t)sprintf(buf + used, "%s-device\nd%u", i ? "\n" : "", i);
	assert_int_equal(check(buf), 0);
	sprintf(buf + used, "\n-device\nmore");
	assert_int_equal(check(buf), -EINVAL);
}

static void test_argv_carries_words(void **state)
{
	struct hv_vm_launch l = {
		.kernel = "/k", .cmdline = "quiet", .mem_bytes = 512ull << 20,
		.vcpus = 2, .vectors = 2, .ram_fd = 3, .ivshmem_sock = "/r/i",
		.qmp_sock = "/r/q", .console_log = "/r/c",
		.dm_args = "-drive\nif=none,id=vd0,file=/a b.img\n-device\nvirtio-blk-pci,drive=vd0",
	};
	char **argv;
	int n = 0, at = -1;

	(void)state;
	argv = hv_vm_argv(&l);
	assert_non_null(argv);
	for (; argv[n]; n++)
		if (!strcmp(argv[n], "-drive"))
			at = n;
	assert_true(at > 0);
	assert_true(at + 3 < n);
	assert_string_equal(argv[at + 1], "if=none,id=vd0,file=/a b.img");
	assert_string_equal(argv[at + 2], "-device");
	assert_string_equal(argv[at + 3], "virtio-blk-pci,drive=vd0");
	hv_vm_argv_free(argv);

	l.dm_args = "-machine\npc";
	assert_null(hv_vm_argv(&l));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accepts_devices),
		cmocka_unit_test(test_refuses_the_rest),
		cmocka_unit_test(test_blames_the_word),
		cmocka_unit_test(test_word_limit),
		cmocka_unit_test(test_argv_carries_words),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
