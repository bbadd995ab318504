/* SPDX-License-Identifier: MIT */
/* xenstore client library: one function per request type (xenbus.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "xs_client.h"

#define IOV(p, l) { .iov_base = (void *)(p), .iov_len = (l) }
#define IOS(s) IOV((s), strlen(s) + 1)

static int talk1(struct xs_handle *h, uint32_t type, xs_transaction_t t,
		 const char *arg, char **reply, size_t *rlen)
{
	struct iovec iov[] = { IOS(arg) };

	return xs_talk(h, type, t, iov, 1, reply, rlen);
}

int xs_read(struct xs_handle *h, xs_transaction_t t, const char *path,
	    char **val, size_t *len)
{
	char *r = NULL;
	size_t l = 0;
	int rc = talk1(h, XS_READ, t, path, &r, &l);

	if (rc)
		return rc;
	if (!r && !(r = calloc(1, 1)))
		return -ENOMEM;
	if (val)
		*val = r;
	else
		free(r);
	if (len)
		*len = l;
	return 0;
}

int xs_write(struct xs_handle *h, xs_transaction_t t, const char *path,
	     const void *val, size_t len)
{
	struct iovec iov[] = { IOS(path), IOV(val, len) };
	char *r = NULL;
	int rc = xs_talk(h, XS_WRITE, t, iov, 2, &r, NULL);

	free(r);
	return rc;
}

int xs_printf(struct xs_handle *h, xs_transaction_t t, const char *path,
	      const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n, rc;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -ENOMEM;
	rc = xs_write(h, t, path, s, n);
	free(s);
	return rc;
}

int xs_read_int(struct xs_handle *h, xs_transaction_t t, const char *path,
		long long *v)
{
	char *s, *end;
	long long x;
	int rc = xs_read(h, t, path, &s, NULL);

	if (rc)
		return rc;
	errno = 0;
	x = strtoll(s, &end, 10);
	rc = (!*s || *end || errno) ? -EINVAL : 0;
	free(s);
	if (!rc)
		*v = x;
	return rc;
}

static int simple(struct xs_handle *h, uint32_t type, xs_transaction_t t,
		  const char *path)
{
	char *r = NULL;
	int rc = talk1(h, type, t, path, &r, NULL);

	free(r);
	return rc;
}

int xs_mkdir(struct xs_handle *h, xs_transaction_t t, const char *path)
{
	return simple(h, XS_MKDIR, t, path);
}

int xs_rm(struct xs_handle *h, xs_transaction_t t, const char *path)
{
	return simple(h, XS_RM, t, path);
}

/* Split a "a\0b\0c\0" list into a malloc'd array. */
static int split_list(const char *buf, size_t len, char ***names,
		      unsigned int *n)
{
	unsigned int cnt = 0, i = 0;
	char **v;

	for (size_t o = 0; o < len; o += strnlen(buf + o, len - o) + 1)
		cnt++;
	v = calloc(cnt ? cnt : 1, sizeof(char *));
	if (!v)
		return -ENOMEM;
	for (size_t o = 0; o < len; o += strnlen(buf + o, len - o) + 1) {
		v[i] = strndup(buf + o, len - o);
		if (!v[i]) {
			xs_free_list(v, i);
			return -ENOMEM;
		}
		i++;
	}
	*names = v;
	*n = cnt;
	return 0;
}

int xs_directory(struct xs_handle *h, xs_transaction_t t, const char *path,
		 char ***names, unsigned int *n)
{
	char *r = NULL;
	size_t l = 0;
	int rc = talk1(h, XS_DIRECTORY, t, path, &r, &l);

	if (rc == -E2BIG) {
		/* too many children for one reply: page with DIRECTORY_PART */
		char *all = NULL, *gen0 = NULL;
		size_t alen = 0;

		for (;;) {
			char off[24];
			struct iovec iov[2] = { IOS(path), IOV(off, 0) };
			size_t gl;

			snprintf(off, sizeof(off), "%zu", alen);
			iov[1].iov_len = strlen(off) + 1;
			rc = xs_talk(h, XS_DIRECTORY_PART, t, iov, 2, &r, &l);
			if (rc)
				break;
			gl = strnlen(r, l) + 1;
			if (gl > l) {
				rc = -EIO;
				free(r);
				break;
			}
			if (!gen0) {
				gen0 = strdup(r);
			} else if (strcmp(gen0, r)) {
				/* changed between parts: start over */
				free(r);
				free(gen0);
				gen0 = NULL;
				alen = 0;
				continue;
			}
			bool last = l > gl && r[l - 1] == 0 &&
				    (l - gl == 1 || r[l - 2] == 0);
			size_t part = l - gl - (last ? 1 : 0);
			char *na = realloc(all, alen + part + 1);

			if (!na) {
				rc = -ENOMEM;
				free(r);
				break;
			}
			all = na;
			memcpy(all + alen, r + gl, part);
			alen += part;
			free(r);
			if (last || part == 0)
				break;
		}
		free(gen0);
		if (!rc)
			rc = split_list(all ? all : "", alen, names, n);
		free(all);
		return rc;
	}
	if (rc)
		return rc;
	rc = split_list(r ? r : "", l, names, n);
	free(r);
	return rc;
}

void xs_free_list(char **names, unsigned int n)
{
	if (!names)
		return;
	for (unsigned int i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

int xs_get_perms(struct xs_handle *h, xs_transaction_t t, const char *path,
		 struct xs_perm **perms, unsigned int *n)
{
	char **v;
	unsigned int cnt;
	struct xs_perm *p;
	char *r = NULL;
	size_t l = 0;
	int rc = talk1(h, XS_GET_PERMS, t, path, &r, &l);

	if (rc)
		return rc;
	rc = split_list(r ? r : "", l, &v, &cnt);
	free(r);
	if (rc)
		return rc;
	p = calloc(cnt ? cnt : 1, sizeof(*p));
	if (!p) {
		xs_free_list(v, cnt);
		return -ENOMEM;
	}
	for (unsigned int i = 0; i < cnt; i++) {
		switch (v[i][0]) {
		case 'r': p[i].access = XS_PERM_READ; break;
		case 'w': p[i].access = XS_PERM_WRITE; break;
		case 'b': p[i].access = XS_PERM_BOTH; break;
		default: p[i].access = XS_PERM_NONE; break;
		}
		p[i].domid = strtoul(v[i] + 1, NULL, 10);
	}
	xs_free_list(v, cnt);
	*perms = p;
	*n = cnt;
	return 0;
}

int xs_set_perms(struct xs_handle *h, xs_transaction_t t, const char *path,
		 const struct xs_perm *perms, unsigned int n)
{
	static const char letters[] = "nrwb";
	char buf[XENSTORE_PAYLOAD_MAX];
	size_t o = 0;
	struct iovec iov[2] = { IOS(path), IOV(buf, 0) };
	char *r = NULL;
	int rc;

	if (n == 0)
		return -EINVAL;
	for (unsigned int i = 0; i < n; i++) {
		if (o + 8 > sizeof(buf))
			return -E2BIG;
		o += snprintf(buf + o, 8, "%c%u", letters[perms[i].access & 3],
			      perms[i].domid) + 1;
	}
	iov[1].iov_len = o;
	rc = xs_talk(h, XS_SET_PERMS, t, iov, 2, &r, NULL);
	free(r);
	return rc;
}

int xs_watch(struct xs_handle *h, const char *path, const char *token,
	     xs_watch_cb cb, void *arg)
{
	struct iovec iov[] = { IOS(path), IOS(token) };
	char *r = NULL;
	int rc;

	if (!cb)
		return -EINVAL;
	/* registered first: the initial event may beat the reply */
	rc = xs_watch_register(h, path, token, cb, arg);
	if (rc)
		return rc;
	rc = xs_talk(h, XS_WATCH, XS_TXN_NULL, iov, 2, &r, NULL);
	free(r);
	if (rc == -EEXIST)
		rc = 0;	/* re-armed by a reconnection meanwhile */
	if (rc)
		xs_watch_unregister(h, path, token);
	return rc;
}

int xs_unwatch(struct xs_handle *h, const char *path, const char *token)
{
	struct iovec iov[] = { IOS(path), IOS(token) };
	char *r = NULL;
	int rc;

	xs_watch_unregister(h, path, token);
	rc = xs_talk(h, XS_UNWATCH, XS_TXN_NULL, iov, 2, &r, NULL);
	free(r);
	return rc;
}

int xs_transaction_start(struct xs_handle *h, xs_transaction_t *t)
{
	char *r = NULL;
	unsigned long v;
	char *end;
	int rc = talk1(h, XS_TRANSACTION_START, XS_TXN_NULL, "", &r, NULL);

	if (rc)
		return rc;
	v = strtoul(r ? r : "", &end, 10);
	rc = (!r || !*r || *end || v == 0 || v > UINT32_MAX) ? -EIO : 0;
	free(r);
	if (rc)
		return rc;
	*t = v;
	xs_txn_register(h, *t);
	return 0;
}

int xs_transaction_end(struct xs_handle *h, xs_transaction_t t, bool abort)
{
	char *r = NULL;
	int rc;

	if (!xs_txn_forget(h, t))
		return abort ? 0 : -EAGAIN;	/* died with a connection */
	/* re-register for the duration: xs_talk checks the epoch */
	xs_txn_register(h, t);
	rc = talk1(h, XS_TRANSACTION_END, t, abort ? "F" : "T", &r, NULL);
	xs_txn_forget(h, t);
	free(r);
	if (abort && (rc == -EAGAIN || rc == -ENOENT))
		rc = 0;
	return rc;
}

/*
 * After a conflict, wait a random time that grows with the attempt (up to
 * ~16 ms), so that two clients updating the same node do not collide
 * again in lockstep.
 */
static void conflict_backoff(int attempt)
{
	unsigned int cap = 50u << (attempt < 8 ? attempt : 8);
	unsigned int seed = (unsigned int)(uintptr_t)&attempt ^
			    (unsigned int)attempt * 2654435761u;
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	seed ^= (unsigned int)now.tv_nsec;
	usleep(rand_r(&seed) % cap);
}

int xs_transaction_run(struct xs_handle *h,
		       int (*fn)(struct xs_handle *h, xs_transaction_t t, void *arg),
		       void *arg)
{
	int rc = -EAGAIN;

	for (int attempt = 0; attempt < 64 && rc == -EAGAIN; attempt++) {
		xs_transaction_t t;

		rc = xs_transaction_start(h, &t);
		if (rc)
			return rc;
		rc = fn(h, t, arg);
		if (rc) {
			xs_transaction_end(h, t, true);
			continue;
		}
		rc = xs_transaction_end(h, t, false);
		if (rc == -EAGAIN)
			conflict_backoff(attempt);
	}
	return rc;
}

int xs_get_domain_path(struct xs_handle *h, pvio_domid_t domid, char **path)
{
	char d[8];

	snprintf(d, sizeof(d), "%u", domid);
	return talk1(h, XS_GET_DOMAIN_PATH, XS_TXN_NULL, d, path, NULL);
}

int xs_introduce_domain(struct xs_handle *h, pvio_domid_t domid,
			uint64_t gfn, uint32_t port)
{
	char d[8], g[24], p[12];
	struct iovec iov[] = { IOV(d, 0), IOV(g, 0), IOV(p, 0) };
	char *r = NULL;
	int rc;

	iov[0].iov_len = snprintf(d, sizeof(d), "%u", domid) + 1;
	iov[1].iov_len = snprintf(g, sizeof(g), "%" PRIu64, gfn) + 1;
	iov[2].iov_len = snprintf(p, sizeof(p), "%u", port) + 1;
	rc = xs_talk(h, XS_INTRODUCE, XS_TXN_NULL, iov, 3, &r, NULL);
	free(r);
	return rc;
}

int xs_reconnect_domain(struct xs_handle *h, pvio_domid_t domid)
{
	static const char cmd[] = "reconnect";
	char d[8];
	struct iovec iov[] = { IOV((char *)cmd, sizeof(cmd)), IOV(d, 0) };
	char *r = NULL;
	int rc;

	iov[1].iov_len = snprintf(d, sizeof(d), "%u", domid) + 1;
	rc = xs_talk(h, XS_CONTROL, XS_TXN_NULL, iov, 2, &r, NULL);
	free(r);
	return rc;
}

int xs_release_domain(struct xs_handle *h, pvio_domid_t domid)
{
	char d[8];

	snprintf(d, sizeof(d), "%u", domid);
	return simple(h, XS_RELEASE, XS_TXN_NULL, d);
}
