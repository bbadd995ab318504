/* SPDX-License-Identifier: MIT */
/*
 * Integration test of the xenstore client library against a real
 * pvio-store: requests, watches on the reader thread, transactions under
 * contention, the xenbus state machine, and a kill -9 restart of the daemon
 * (every committed write still there, watches re-armed, requests in flight
 * retried).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pvio/xenbus.h"

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "FAIL %s:%d: %s\n", \
	__FILE__, __LINE__, #c); exit(1); } } while (0)
#define OK(e) do { int rc_ = (e); if (rc_) { fprintf(stderr, \
	"FAIL %s:%d: %s = %s\n", __FILE__, __LINE__, #e, strerror(-rc_)); \
	exit(1); } } while (0)

static char dir[64], sock[128], datadir[128];
static pid_t daemon_pid;

static void start_store(void)
{
	const char *bin = getenv("PVIO_BIN");
	char exe[512];

	snprintf(exe, sizeof(exe), "%s/pvio-store", bin ? bin : "build/bin");
	unlink(sock);	/* a killed daemon leaves its socket behind */
	daemon_pid = fork();
	CHECK(daemon_pid >= 0);
	if (daemon_pid == 0) {
		execl(exe, exe, "--socket", sock, "--datadir", datadir,
		      "--quiet", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 1000; i++) {
		struct stat st;

		if (!stat(sock, &st))
			return;
		if (waitpid(daemon_pid, NULL, WNOHANG) == daemon_pid) {
			daemon_pid = 0;
			CHECK(!"pvio-store exited at start");
		}
		usleep(10000);
	}
	CHECK(!"pvio-store did not start");
}

static void kill_store(int sig)
{
	kill(daemon_pid, sig);
	waitpid(daemon_pid, NULL, 0);
	daemon_pid = 0;
}

static void cleanup(void)
{
	char cmd[256];

	if (daemon_pid > 0)
		kill_store(SIGKILL);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd))
		fprintf(stderr, "cleanup of %s failed\n", dir);
}

/* ---- watch recorder ---- */

struct rec {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int n;
	char last[256];
};

static void rec_cb(struct xs_handle *h, const char *path, const char *token,
		   void *arg)
{
	struct rec *r = arg;

	pthread_mutex_lock(&r->lock);
	r->n++;
	snprintf(r->last, sizeof(r->last), "%s", path);
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
}

/* Wait until at least @n events; false on timeout. */
static bool rec_wait(struct rec *r, int n, int ms)
{
	struct timespec dl;
	bool ok = true;

	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += ms / 1000;
	dl.tv_nsec += (ms % 1000) * 1000000L;
	if (dl.tv_nsec >= 1000000000L) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&r->lock);
	while (r->n < n && ok)
		ok = !pthread_cond_timedwait(&r->cond, &r->lock, &dl);
	ok = r->n >= n;
	pthread_mutex_unlock(&r->lock);
	return ok;
}

/* ---- transactions under contention ---- */

static int incr(struct xs_handle *h, xs_transaction_t t, void *arg)
{
	long long v = 0;
	int rc = xs_read_int(h, t, "/test/counter", &v);

	if (rc && rc != -ENOENT)
		return rc;
	return xs_printf(h, t, "/test/counter", "%lld", v + 1);
}

static void *incr_thread(void *arg)
{
	struct xs_handle *h = arg;

	for (int i = 0; i < 200; i++)
		OK(xs_transaction_run(h, incr, NULL));
	return NULL;
}

static void *state_thread(void *arg)
{
	struct xs_handle *h = arg;

	usleep(50000);
	OK(xs_write(h, XS_TXN_NULL, "/test/dev/state", "1", 1));
	OK(xenbus_switch_state(h, "/test/dev", XenbusStateInitWait));
	usleep(20000);
	OK(xenbus_switch_state(h, "/test/dev", XenbusStateConnected));
	return NULL;
}

/* A backend's pause as a migration sees it: paused = 0, 1, then gone. */
static void *paused_thread(void *arg)
{
	struct xs_handle *h = arg;

	usleep(50000);
	OK(xs_write(h, XS_TXN_NULL, "/test/dev/paused", "0", 1));
	usleep(20000);
	OK(xs_write(h, XS_TXN_NULL, "/test/dev/paused", "1", 1));
	usleep(50000);
	OK(xs_rm(h, XS_TXN_NULL, "/test/dev/paused"));
	return NULL;
}

/* Writes in a loop across the daemon restart: each must succeed. */
static volatile int writer_stop;
static int writer_done;

static void *writer_thread(void *arg)
{
	struct xs_handle *h = arg;
	char p[64];

	while (!writer_stop) {
		snprintf(p, sizeof(p), "/test/inflight/%d", writer_done);
		OK(xs_printf(h, XS_TXN_NULL, p, "%d", writer_done));
		writer_done++;
	}
	return NULL;
}

int main(void)
{
	struct xs_handle *h, *h2;
	struct rec rw = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER };
	char *v, **names;
	unsigned int n;
	size_t len;
	long long iv;
	pthread_t th[3];
	struct xs_perm *perms;

	setenv("PVIO_XS_RECONNECT_MS", "20000", 1);
	snprintf(dir, sizeof(dir), "/tmp/pvio-xs-client.XXXXXX");
	CHECK(mkdtemp(dir));
	atexit(cleanup);
	snprintf(sock, sizeof(sock), "%s/store.sock", dir);
	snprintf(datadir, sizeof(datadir), "%s/data", dir);
	start_store();

	OK(xs_open(sock, &h));
	OK(xs_open(sock, &h2));

	/* basic requests */
	OK(xs_write(h, XS_TXN_NULL, "/test/a", "hello", 5));
	OK(xs_read(h, XS_TXN_NULL, "/test/a", &v, &len));
	CHECK(len == 5 && !strcmp(v, "hello"));
	free(v);
	OK(xs_printf(h, XS_TXN_NULL, "/test/n", "%d", 42));
	OK(xs_read_int(h, XS_TXN_NULL, "/test/n", &iv));
	CHECK(iv == 42);
	CHECK(xs_read_int(h, XS_TXN_NULL, "/test/a", &iv) == -EINVAL);
	CHECK(xs_read(h, XS_TXN_NULL, "/test/none", &v, &len) == -ENOENT);
	OK(xs_mkdir(h, XS_TXN_NULL, "/test/dir"));
	OK(xs_directory(h, XS_TXN_NULL, "/test", &names, &n));
	CHECK(n == 3 && !strcmp(names[0], "a") && !strcmp(names[2], "dir"));
	xs_free_list(names, n);
	OK(xs_set_perms(h, XS_TXN_NULL, "/test/a",
			(struct xs_perm[]){ { 0, XS_PERM_NONE },
					    { 3, XS_PERM_READ } }, 2));
	OK(xs_get_perms(h, XS_TXN_NULL, "/test/a", &perms, &n));
	CHECK(n == 2 && perms[1].domid == 3 && perms[1].access == XS_PERM_READ);
	free(perms);
	OK(xs_rm(h, XS_TXN_NULL, "/test/dir"));
	CHECK(xs_read(h, XS_TXN_NULL, "/test/dir", &v, &len) == -ENOENT);
	OK(xs_get_domain_path(h, 7, &v));
	CHECK(!strcmp(v, "/local/domain/7"));
	free(v);

	/* a directory too big for one reply: DIRECTORY_PART paging */
	{
		char big[64], val[8];

		for (int i = 0; i < 400; i++) {
			snprintf(big, sizeof(big),
				 "/test/big/child-with-a-long-name-%03d", i);
			OK(xs_write(h, XS_TXN_NULL, big, val, 0));
		}
		OK(xs_directory(h, XS_TXN_NULL, "/test/big", &names, &n));
		CHECK(n == 400);
		CHECK(!strcmp(names[399], "child-with-a-long-name-399"));
		xs_free_list(names, n);
	}

	/* watches: once at registration, then on changes below */
	OK(xs_watch(h, "/test/w", "tok", rec_cb, &rw));
	CHECK(rec_wait(&rw, 1, 2000));
	CHECK(!strcmp(rw.last, "/test/w"));
	OK(xs_write(h2, XS_TXN_NULL, "/test/w/x", "1", 1));
	CHECK(rec_wait(&rw, 2, 2000));
	CHECK(!strcmp(rw.last, "/test/w/x"));

	/* transactions from two connections: no lost update */
	pthread_create(&th[0], NULL, incr_thread, h);
	pthread_create(&th[1], NULL, incr_thread, h2);
	pthread_join(th[0], NULL);
	pthread_join(th[1], NULL);
	OK(xs_read_int(h, XS_TXN_NULL, "/test/counter", &iv));
	CHECK(iv == 400);

	/* xenbus state machine */
	CHECK(xenbus_read_state(h, "/test/dev") == XenbusStateUnknown);
	pthread_create(&th[2], NULL, state_thread, h2);
	CHECK(xenbus_wait_state(h, "/test/dev",
				XENBUS_STATE_BIT(XenbusStateConnected),
				5000) == XenbusStateConnected);
	pthread_join(th[2], NULL);
	CHECK(xenbus_wait_state(h, "/test/dev",
				XENBUS_STATE_BIT(XenbusStateClosed), 100) ==
	      -ETIMEDOUT);
	/* waiting for a value, and for it to go (absent is not equal) */
	CHECK(xenbus_wait_value(h, "/test/dev/paused", "1", true, 100) ==
	      -ETIMEDOUT);
	CHECK(xenbus_wait_value(h, "/test/dev/paused", "1", false, 100) == 0);
	pthread_create(&th[2], NULL, paused_thread, h2);
	CHECK(xenbus_wait_value(h, "/test/dev/paused", "1", true, 5000) == 0);
	OK(xs_read(h, XS_TXN_NULL, "/test/dev/paused", &v, &len));
	CHECK(!strcmp(v, "1"));
	free(v);
	CHECK(xenbus_wait_value(h, "/test/dev/paused", "1", false, 5000) == 0);
	pthread_join(th[2], NULL);
	CHECK(xs_read(h, XS_TXN_NULL, "/test/dev/paused", &v, &len) == -ENOENT);
	CHECK(!strcmp(xenbus_state_name(XenbusStateInitWait), "InitWait"));
	xenbus_dev_fatal(h, "/test/dev", -EIO, "test error %d", 1);
	OK(xs_read(h, XS_TXN_NULL, "/test/dev/error", &v, &len));
	CHECK(!strncmp(v, "5 test error 1", 14));
	free(v);

	/* many committed writes, then kill -9 mid-traffic */
	for (int i = 0; i < 1000; i++)
		OK(xs_printf(h, XS_TXN_NULL, "/test/durable/k", "%d", i));
	{
		int before;

		pthread_create(&th[0], NULL, writer_thread, h2);
		usleep(100000);
		kill_store(SIGKILL);
		before = writer_done;
		usleep(200000);
		CHECK(writer_done <= before + 1);	/* blocked, not failing */
		start_store();
		usleep(200000);
		writer_stop = 1;
		pthread_join(th[0], NULL);
		CHECK(writer_done > before);	/* resumed after restart */
	}
	OK(xs_read_int(h, XS_TXN_NULL, "/test/durable/k", &iv));
	CHECK(iv == 999);
	OK(xs_read_int(h, XS_TXN_NULL, "/test/counter", &iv));
	CHECK(iv == 400);
	/* every acknowledged in-flight write is there */
	for (int i = 0; i < writer_done; i++) {
		char p[64];

		snprintf(p, sizeof(p), "/test/inflight/%d", i);
		OK(xs_read_int(h, XS_TXN_NULL, p, &iv));
		CHECK(iv == i);
	}
	/* the watch was re-armed: it fired again, and fires on changes */
	CHECK(rec_wait(&rw, 3, 3000));
	{
		int base = rw.n;

		OK(xs_write(h2, XS_TXN_NULL, "/test/w/y", "2", 1));
		CHECK(rec_wait(&rw, base + 1, 3000));
		CHECK(!strcmp(rw.last, "/test/w/y"));
	}
	/* a transaction open across a restart fails with EAGAIN */
	{
		xs_transaction_t t;

		OK(xs_transaction_start(h, &t));
		OK(xs_write(h, t, "/test/txn", "x", 1));
		kill_store(SIGKILL);
		start_store();
		CHECK(xs_write(h, t, "/test/txn2", "x", 1) == -EAGAIN ||
		      xs_transaction_end(h, t, false) == -EAGAIN);
		xs_transaction_end(h, t, true);
	}
	/* clean shutdown and restart: snapshot path */
	kill_store(SIGTERM);
	start_store();
	OK(xs_read_int(h, XS_TXN_NULL, "/test/durable/k", &iv));
	CHECK(iv == 999);
	OK(xs_unwatch(h, "/test/w", "tok"));

	xs_close(h2);
	xs_close(h);
	printf("PASS (%d writes in flight across kill -9)\n", writer_done);
	return 0;
}
