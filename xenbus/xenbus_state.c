/* SPDX-License-Identifier: MIT */
/*
 * The xenbus state machine helpers shared by frontends and backends:
 * reading, switching and waiting for a device's "state" node.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "xs_client.h"

const char *xenbus_state_name(enum xenbus_state s)
{
	static const char *const names[] = {
		"Unknown", "Initialising", "InitWait", "Initialised",
		"Connected", "Closing", "Closed", "Reconfiguring",
		"Reconfigured",
	};

	if ((unsigned int)s < sizeof(names) / sizeof(names[0]))
		return names[s];
	return "Invalid";
}

static char *state_path(const char *dir)
{
	char *p;

	if (asprintf(&p, "%s/state", dir) < 0)
		return NULL;
	return p;
}

struct switch_ctx {
	const char *path;
	enum xenbus_state s;
};

static int switch_txn(struct xs_handle *h, xs_transaction_t t, void *arg)
{
	struct switch_ctx *c = arg;
	long long cur;
	int rc = xs_read_int(h, t, c->path, &cur);

	if (rc)
		return rc;	/* -ENOENT: the device is being removed */
	if (cur == (long long)c->s)
		return 0;	/* no write, no watch fired for nothing */
	return xs_printf(h, t, c->path, "%d", (int)c->s);
}

/*
 * The one state switch of every user-space driver and tool. It writes only
 * when the state node exists (checked in the same transaction), so a late
 * switch never resurrects a device directory the toolstack has removed, and
 * only when the value changes, so no watch fires for nothing.
 */
int xenbus_switch_state(struct xs_handle *h, const char *dir,
			enum xenbus_state s)
{
	struct switch_ctx c = { .s = s };
	char *p = state_path(dir);
	int rc;

	if (!p)
		return -ENOMEM;
	c.path = p;
	rc = xs_transaction_run(h, switch_txn, &c);
	free(p);
	return rc;
}

enum xenbus_state xenbus_read_state(struct xs_handle *h, const char *dir)
{
	char *p = state_path(dir);
	long long v = XenbusStateUnknown;

	if (!p)
		return XenbusStateUnknown;
	if (xs_read_int(h, XS_TXN_NULL, p, &v) || v < 0 ||
	    v > XenbusStateReconfigured)
		v = XenbusStateUnknown;
	free(p);
	return (enum xenbus_state)v;
}

struct state_wait {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned int fired;
};

static void state_cb(struct xs_handle *h, const char *path, const char *token,
		     void *arg)
{
	struct state_wait *w = arg;

	pthread_mutex_lock(&w->lock);
	w->fired++;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

/*
 * Watch @path and call @look (after the watch is set, then on each of its
 * events) until it returns >= 0 or @timeout_ms passes: its result, or
 * -ETIMEDOUT, -errno.
 */
static int wait_path(struct xs_handle *h, const char *path,
		     int (*look)(struct xs_handle *h, void *arg), void *arg,
		     int timeout_ms)
{
	static unsigned int seq;
	struct state_wait w = { .fired = 0 };
	char token[48];
	struct timespec dl;
	unsigned int seen = 0;
	int rc, s;

	pthread_mutex_init(&w.lock, NULL);
	pthread_cond_init(&w.cond, NULL);
	snprintf(token, sizeof(token), "pvio-wait-%p-%u", (void *)&w,
		 __atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED));
	rc = xs_watch(h, path, token, state_cb, &w);
	if (rc)
		goto out;
	if (timeout_ms >= 0) {
		clock_gettime(CLOCK_REALTIME, &dl);
		dl.tv_sec += timeout_ms / 1000;
		dl.tv_nsec += (timeout_ms % 1000) * 1000000L;
		if (dl.tv_nsec >= 1000000000L) {
			dl.tv_sec++;
			dl.tv_nsec -= 1000000000L;
		}
	}
	for (;;) {
		/* look first: what we wait for may already be there */
		s = look(h, arg);
		if (s >= 0) {
			rc = s;
			break;
		}
		pthread_mutex_lock(&w.lock);
		while (w.fired == seen && rc == 0) {
			if (timeout_ms < 0)
				pthread_cond_wait(&w.cond, &w.lock);
			else if (pthread_cond_timedwait(&w.cond, &w.lock, &dl))
				rc = -ETIMEDOUT;
		}
		seen = w.fired;
		pthread_mutex_unlock(&w.lock);
		if (rc) {
			/* one last look: the change may race the timeout */
			s = look(h, arg);
			if (s >= 0)
				rc = s;
			break;
		}
	}
	xs_unwatch(h, path, token);
out:
	/*
	 * The dispatcher may still be inside state_cb for an event queued
	 * before the unwatch: take the lock once so it has left.
	 */
	pthread_mutex_lock(&w.lock);
	pthread_mutex_unlock(&w.lock);
	return rc;
}

struct state_look {
	const char *dir;
	uint32_t mask;
};

static int look_state(struct xs_handle *h, void *arg)
{
	const struct state_look *l = arg;
	enum xenbus_state s = xenbus_read_state(h, l->dir);

	return (l->mask & XENBUS_STATE_BIT(s)) ? (int)s : -1;
}

int xenbus_wait_state(struct xs_handle *h, const char *dir, uint32_t mask,
		      int timeout_ms)
{
	struct state_look l = { dir, mask };
	char *p = state_path(dir);
	int rc;

	if (!p)
		return -ENOMEM;
	rc = wait_path(h, p, look_state, &l, timeout_ms);
	free(p);
	return rc;
}

struct value_look {
	const char *path, *want;
	bool equal;
};

static int look_value(struct xs_handle *h, void *arg)
{
	const struct value_look *l = arg;
	char *v = NULL;
	bool is = !xs_read(h, XS_TXN_NULL, l->path, &v, NULL) &&
		  !strcmp(v, l->want);

	free(v);
	return is == l->equal ? 0 : -1;
}

int xenbus_wait_value(struct xs_handle *h, const char *path, const char *want,
		      bool equal, int timeout_ms)
{
	struct value_look l = { path, want, equal };

	return wait_path(h, path, look_value, &l, timeout_ms);
}

struct fatal_arg {
	const char *dir;
	const char *path;
	const char *msg;
	int err;
};

/* Only into a dir that is still there: never recreate a removed device. */
static int fatal_txn(struct xs_handle *h, xs_transaction_t t, void *arg)
{
	struct fatal_arg *a = arg;
	int rc = xs_read(h, t, a->dir, NULL, NULL);

	if (rc)
		return rc;
	return xs_printf(h, t, a->path, "%d %s", a->err, a->msg);
}

void xenbus_dev_fatal(struct xs_handle *h, const char *dir, int err,
		      const char *fmt, ...)
{
	struct fatal_arg a = { .dir = dir };
	char msg[512], *p;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (err < 0)
		err = -err;
	fprintf(stderr, "xenbus: %s: %s (%s)\n", dir, msg, strerror(err));
	if (asprintf(&p, "%s/error", dir) < 0)
		return;
	a.path = p;
	a.msg = msg;
	a.err = err;
	xs_transaction_run(h, fatal_txn, &a);
	free(p);
}
