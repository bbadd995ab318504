/* SPDX-License-Identifier: MIT */
/*
 * A process domain talks to pvio-store through the xenstore ring of its
 * platform region (real pvio-hv, real pvio-store): relative paths, Xen's
 * permissions as seen by an unprivileged domain, watches, transactions,
 * messages larger than the ring, and release. Run by store_domain.sh.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pvio/libpvio.h"
#include "pvio/xenbus.h"

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "FAIL %s:%d: %s\n", \
	__FILE__, __LINE__, #c); exit(1); } } while (0)
#define OK(e) do { int rc_ = (e); if (rc_) { fprintf(stderr, \
	"FAIL %s:%d: %s = %s\n", __FILE__, __LINE__, #e, strerror(-rc_)); \
	exit(1); } } while (0)

struct rec {
	pthread_mutex_t lock;
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
	pthread_mutex_unlock(&r->lock);
}

static bool rec_wait(struct rec *r, int n, const char *last)
{
	for (int i = 0; i < 300; i++) {
		bool ok;

		pthread_mutex_lock(&r->lock);
		ok = r->n >= n && (!last || !strcmp(r->last, last));
		pthread_mutex_unlock(&r->lock);
		if (ok)
			return true;
		usleep(10000);
	}
	fprintf(stderr, "watch: %d events, last %s\n", r->n, r->last);
	return false;
}

static int txn_body(struct xs_handle *h, xs_transaction_t t, void *arg)
{
	long long v = 0;
	int rc = xs_read_int(h, t, "counter", &v);

	if (rc && rc != -ENOENT)
		return rc;
	return xs_printf(h, t, "counter", "%lld", v + 1);
}

int main(void)
{
	struct rec intro = { PTHREAD_MUTEX_INITIALIZER }, dw = {
		PTHREAD_MUTEX_INITIALIZER };
	struct xs_handle *h0, *hd;
	struct pvio_dom *d;
	char path[128], *v, name[64], big[2000];
	size_t len;
	long long iv;
	pvio_domid_t id;

	OK(xs_open(NULL, &h0));
	OK(xs_watch(h0, "@introduceDomain", "intro", rec_cb, &intro));
	CHECK(rec_wait(&intro, 1, NULL));
	snprintf(name, sizeof(name), "xsdom-%d", getpid());
	OK(pvio_dom_create_self(NULL, name, 4u << 20, &d));
	id = pvio_dom_id(d);
	/* the toolstack's part: the domain's directory, owned by it */
	snprintf(path, sizeof(path), "/local/domain/%u", id);
	OK(xs_mkdir(h0, XS_TXN_NULL, path));
	OK(xs_set_perms(h0, XS_TXN_NULL, path,
			(struct xs_perm[]){ { id, XS_PERM_NONE } }, 1));
	OK(xs_write(h0, XS_TXN_NULL, "/secret", "s", 1));

	OK(xs_open_domain(d, &hd));
	CHECK(pvio_dom_shared_info(d)->store_port != 0);
	CHECK(rec_wait(&intro, 2, NULL));

	/* relative paths are the domain's own */
	OK(xs_write(hd, XS_TXN_NULL, "data/x", "1", 1));
	snprintf(path, sizeof(path), "/local/domain/%u/data/x", id);
	OK(xs_read(h0, XS_TXN_NULL, path, &v, &len));
	CHECK(!strcmp(v, "1"));
	free(v);
	OK(xs_read(hd, XS_TXN_NULL, path, &v, &len));	/* absolute too */
	free(v);
	OK(xs_get_domain_path(hd, id, &v));
	CHECK(!strncmp(v, "/local/domain/", 14));
	free(v);

	/* it sees only what its permissions allow */
	CHECK(xs_read(hd, XS_TXN_NULL, "/secret", &v, &len) == -EACCES);
	CHECK(xs_write(hd, XS_TXN_NULL, "/secret", "x", 1) == -EACCES);
	CHECK(xs_write(hd, XS_TXN_NULL, "/newtop", "x", 1) == -EACCES);
	CHECK(xs_introduce_domain(hd, 77, 0, 1) == -EACCES);
	CHECK(xs_rm(hd, XS_TXN_NULL, "/local") == -EACCES);

	/* watches over the ring, with relative paths */
	OK(xs_watch(hd, "data", "dw", rec_cb, &dw));
	CHECK(rec_wait(&dw, 1, "data"));
	snprintf(path, sizeof(path), "/local/domain/%u/data/y", id);
	OK(xs_write(h0, XS_TXN_NULL, path, "2", 1));
	CHECK(rec_wait(&dw, 2, "data/y"));

	/* messages bigger than the 1 KiB ring (within the 2048 node size) */
	memset(big, 'b', sizeof(big));
	for (int i = 0; i < 200; i++) {
		big[0] = 'a' + i % 26;
		OK(xs_write(hd, XS_TXN_NULL, "big", big, sizeof(big)));
		OK(xs_read(hd, XS_TXN_NULL, "big", &v, &len));
		CHECK(len == sizeof(big) && !memcmp(v, big, len));
		free(v);
	}

	/* transactions through the ring, and a quota of its own */
	for (int i = 0; i < 20; i++)
		OK(xs_transaction_run(hd, txn_body, NULL));
	OK(xs_read_int(hd, XS_TXN_NULL, "counter", &iv));
	CHECK(iv == 20);
	{
		char n[32];
		int rc = 0, i;

		for (i = 0; i < 1200 && !rc; i++) {
			snprintf(n, sizeof(n), "q/%d/%d", i / 100, i % 100);
			rc = xs_write(hd, XS_TXN_NULL, n, "", 0);
		}
		CHECK(rc == -ENOSPC);
		OK(xs_rm(hd, XS_TXN_NULL, "q"));
	}

	/* release: the domain's watches stop, @releaseDomain fires */
	{
		struct rec rel = { PTHREAD_MUTEX_INITIALIZER };

		OK(xs_watch(h0, "@releaseDomain", "rel", rec_cb, &rel));
		CHECK(rec_wait(&rel, 1, NULL));
		OK(xs_release_domain(h0, id));
		CHECK(rec_wait(&rel, 2, NULL));
		OK(xs_unwatch(h0, "@releaseDomain", "rel"));
	}
	printf("PASS: dom%u served over its store ring\n", id);
	xs_close(hd);
	OK(xs_unwatch(h0, "@introduceDomain", "intro"));
	xs_close(h0);
	pvio_dom_detach(d);
	return 0;
}
