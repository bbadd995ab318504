/*
 * Unit tests of the blkback I/O engines (io_uring and libaio) and the
 * backing store: vectored O_DIRECT writes and reads, flush, discard
 * (reads back zero) and size/sector probing, on a real file in /var/tmp.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "../../backends/blkback/blkback.h"

static char path[128];

static int setup(void **state)
{
	int fd;

	snprintf(path, sizeof(path), "/var/tmp/pvio-engine-test.%d", getpid());
	fd = open(path, O_CREAT | O_TRUNC | O_RDWR, 0600);
	if (fd < 0 || ftruncate(fd, 1 << 20))
		return -1;
	close(fd);
	return 0;
}

static int teardown(void **state)
{
	unlink(path);
	return 0;
}

/* Wait for @n completions; their results land in res[tag]. */
static void wait_done(struct blkback_engine *e, unsigned int n, int64_t *res)
{
	struct blkback_cqe cqe[8];
	struct pollfd pfd = { .fd = e->ops->event_fd(e), .events = POLLIN };

	while (n) {
		int got;

		assert_int_equal(poll(&pfd, 1, 5000), 1);
		got = e->ops->reap(e, cqe, 8);
		assert_true(got >= 0);
		for (int i = 0; i < got; i++) {
			assert_true(cqe[i].tag < 8);
			res[cqe[i].tag] = cqe[i].res;
		}
		n -= got;
	}
}

static void run_engine(const struct blkback_engine_ops *ops)
{
	struct blkback_disk disk;
	struct blkback_engine e = { .ops = ops };
	int64_t res[8];
	char *buf = NULL, *back = NULL;
	struct iovec iov[3];

	memset(&disk, 0, sizeof(disk));
	disk.fd = -1;
	strcpy(disk.params, path);
	assert_int_equal(blkback_backing_open(&disk, false, 0), 0);
	assert_int_equal(disk.lim.sectors, 2048);
	assert_int_equal(disk.lim.sector_size, 512);
	assert_true(disk.dio_align >= 1 && disk.dio_align <= 4096);
	assert_int_equal(ops->init(&e, &disk, 0, 16), 0);
	/* as the queue thread: the eventfd exists before any I/O completes */
	assert_true(ops->event_fd(&e) >= 0);

	assert_int_equal(posix_memalign((void **)&buf, 4096, 3 * 4096), 0);
	assert_int_equal(posix_memalign((void **)&back, 4096, 3 * 4096), 0);
	for (int i = 0; i < 3 * 4096; i++)
		buf[i] = (char)(i * 7 + 3);
	for (int i = 0; i < 3; i++) {
		iov[i].iov_base = buf + i * 4096;
		iov[i].iov_len = 4096;
	}
	assert_int_equal(ops->prep_rw(&e, disk.fd, true, iov, 3, 8192, 1), 0);
	assert_int_equal(ops->submit(&e), 1);
	wait_done(&e, 1, res);
	assert_int_equal(res[1], 3 * 4096);
	assert_int_equal(ops->prep_flush(&e, disk.fd, 2), 0);
	assert_true(ops->submit(&e) >= 0);
	wait_done(&e, 1, res);
	assert_int_equal(res[2], 0);

	memset(back, 0x55, 3 * 4096);
	for (int i = 0; i < 3; i++)
		iov[i].iov_base = back + i * 4096;
	assert_int_equal(ops->prep_rw(&e, disk.fd, false, iov, 3, 8192, 3), 0);
	assert_int_equal(ops->submit(&e), 1);
	wait_done(&e, 1, res);
	assert_int_equal(res[3], 3 * 4096);
	assert_memory_equal(buf, back, 3 * 4096);

	/* discard the middle page: it reads back zero, the others stay */
	assert_int_equal(blkback_backing_discard(&disk, (8192 + 4096) / 512, 8), 0);
	iov[0].iov_base = back;
	iov[0].iov_len = 3 * 4096;
	assert_int_equal(ops->prep_rw(&e, disk.fd, false, iov, 1, 8192, 4), 0);
	assert_int_equal(ops->submit(&e), 1);
	wait_done(&e, 1, res);
	assert_int_equal(res[4], 3 * 4096);
	assert_memory_equal(buf, back, 4096);
	for (int i = 4096; i < 8192; i++)
		assert_int_equal(back[i], 0);
	assert_memory_equal(buf + 8192, back + 8192, 4096);

	ops->fini(&e);
	blkback_backing_close(&disk);
	free(buf);
	free(back);
}

static void test_uring(void **state)
{
	run_engine(&blkback_engine_uring);
}

static void test_aio(void **state)
{
	run_engine(&blkback_engine_aio);
}

static void test_backing(void **state)
{
	struct blkback_disk disk;

	memset(&disk, 0, sizeof(disk));
	strcpy(disk.params, path);
	assert_int_equal(blkback_backing_open(&disk, true, 4096), 0);
	assert_int_equal(disk.lim.sector_size, 4096);
	assert_int_equal(disk.lim.sectors, 2048);
	assert_true(disk.lim.readonly);
	assert_false(disk.lim.discard);
	blkback_backing_close(&disk);
	assert_int_equal(blkback_backing_open(&disk, false, 1024), -EINVAL);
	strcpy(disk.params, "/nonexistent/pvio.img");
	assert_int_equal(blkback_backing_open(&disk, false, 0), -ENOENT);
	assert_ptr_equal(blkback_engine_find("aio"), &blkback_engine_aio);
	assert_ptr_equal(blkback_engine_find(""), &blkback_engine_uring);
	assert_null(blkback_engine_find("spdk"));
}

/* Which kind of store a disk's params, format and backend type name. */
static void test_store_select(void **state)
{
	char why[160];

	assert_ptr_equal(blkback_store_select("/var/tmp/d.img", "", "", why,
					      sizeof(why)), &blkback_store_file);
	assert_ptr_equal(blkback_store_select("/dev/sdb", "raw", "phy", why,
					      sizeof(why)), &blkback_store_file);
	why[0] = 0;
	assert_null(blkback_store_select("/var/tmp/d.img", "qcow3", "", why,
					 sizeof(why)));
	assert_non_null(strstr(why, "qcow3"));
#ifdef PVIO_HAVE_LIBNBD
	assert_ptr_equal(blkback_store_select("nbd://127.0.0.1:10809/e", "", "",
					      why, sizeof(why)), &blkback_store_nbd);
	assert_ptr_equal(blkback_store_select("nbd+unix:///e?socket=/run/s", "raw",
					      "", why, sizeof(why)),
			 &blkback_store_nbd);
	assert_null(blkback_store_select("nbd://h/e", "qcow2", "", why,
					 sizeof(why)));
	assert_ptr_equal(blkback_store_select("/var/tmp/d.qcow2", "qcow2", "",
					      why, sizeof(why)),
			 &blkback_store_qdisk);
	assert_ptr_equal(blkback_store_select("/var/tmp/d.img", "raw", "qdisk",
					      why, sizeof(why)),
			 &blkback_store_qdisk);
#endif
#ifdef PVIO_HAVE_LIBRBD
	assert_ptr_equal(blkback_store_select("rbd:pool/img", "", "", why,
					      sizeof(why)), &blkback_store_rbd);
#endif
	assert_true(blkback_format_known("vmdk"));
	assert_false(blkback_format_known("nbd"));
}

#ifdef PVIO_HAVE_LIBRBD
/* QEMU's rbd: target syntax. */
static void test_rbd_parse(void **state)
{
	struct blkback_rbd_target t;
	char why[160];

	assert_int_equal(blkback_rbd_parse("rbd:rbd/disk1", &t, why, sizeof(why)), 0);
	assert_string_equal(t.pool, "rbd");
	assert_string_equal(t.image, "disk1");
	assert_string_equal(t.snap, "");
	assert_int_equal(t.nr_opts, 0);
	assert_int_equal(blkback_rbd_parse(
		"rbd:p/ns1/img@s1:conf=/etc/c\\:x.conf:id=bob:rbd_cache=false",
		&t, why, sizeof(why)), 0);
	assert_string_equal(t.pool, "p");
	assert_string_equal(t.ns, "ns1");
	assert_string_equal(t.image, "img");
	assert_string_equal(t.snap, "s1");
	assert_string_equal(t.conf, "/etc/c:x.conf");
	assert_string_equal(t.id, "bob");
	assert_int_equal(t.nr_opts, 1);
	assert_string_equal(t.keys[0], "rbd_cache");
	assert_string_equal(t.vals[0], "false");
	assert_int_equal(blkback_rbd_parse("rbd:poolonly", &t, why, sizeof(why)),
			 -EINVAL);
	assert_int_equal(blkback_rbd_parse("rbd:p/", &t, why, sizeof(why)), -EINVAL);
	assert_int_equal(blkback_rbd_parse("rbd:p/i:novalue", &t, why, sizeof(why)),
			 -EINVAL);
	assert_int_equal(blkback_rbd_parse("rbd:p/a/b/c", &t, why, sizeof(why)),
			 -EINVAL);
	assert_int_equal(blkback_rbd_parse("nbd://x", &t, why, sizeof(why)), -EINVAL);
}
#endif

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uring),
		cmocka_unit_test(test_aio),
		cmocka_unit_test(test_backing),
		cmocka_unit_test(test_store_select),
#ifdef PVIO_HAVE_LIBRBD
		cmocka_unit_test(test_rbd_parse),
#endif
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
