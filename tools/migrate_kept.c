// SPDX-License-Identifier: MIT
/*
 * Connections a migration keeps: a suspended guest's frontends hold on to
 * their rings, grants and ports; once the source's backend has let go of
 * a connection with every request it took answered (it says so with
 * drained = 1 in its dir), the destination's backend takes the same rings
 * over before the guest resumes, where the old one left them. The guest
 * then goes on without a handshake of its own (frontends check that their
 * ports are connected here, see blkfront_resume/netfront_resume).
 *
 * Carried as text, one item per line:
 *   gnt GFN...            the guest's grant table frames
 *   dev TYPE/ID           a frontend whose connection is kept, then
 *   key REL=VALUE         each key of its dir (REL: "k" or "queue-N/k")
 * The destination trusts nothing in it: names, numbers and sizes are
 * checked, and only devices of the domain it created are written.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pvio/hv_proto.h"
#include "pvio/xenbus.h"
#include "migrate.h"
#include "pvio_domstore.h"

struct kbuf {
	char *p;
	size_t len, size;
	int err;
};

static void kb_printf(struct kbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void kb_printf(struct kbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->err)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, b->size - b->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->err = -EINVAL;
			return;
		}
		if ((size_t)n < b->size - b->len)
			break;
		if (b->size >= MIG_KEPT_MAX) {
			b->err = -E2BIG;
			return;
		}
		{
			size_t ns = b->size * 2 > MIG_KEPT_MAX ? MIG_KEPT_MAX :
								 b->size * 2;
			char *np = realloc(b->p, ns);

			if (!np) {
				b->err = -ENOMEM;
				return;
			}
			b->p = np;
			b->size = ns;
		}
	}
	b->len += (size_t)n;
}

/* Every key of @dir (one level of subdirs, as queue-N/) into @b. */
static int dir_keys(struct xs_handle *xs, const char *dir, const char *rel,
		    int depth, struct kbuf *b, unsigned int *nkeys)
{
	char **names = NULL;
	unsigned int n = 0;
	int rc;

	rc = xs_directory(xs, XS_TXN_NULL, dir, &names, &n);
	if (rc)
		return rc;
	for (unsigned int i = 0; !rc && i < n; i++) {
		char path[256], r[160], *val = NULL, **sub = NULL;
		unsigned int ns = 0;
		size_t vlen = 0;

		if (!depth && mig_kept_key_skipped(names[i], strlen(names[i])))
			continue;
		if (!mig_kept_name_ok(names[i], strlen(names[i]))) {
			rc = -EINVAL;
			break;
		}
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		snprintf(r, sizeof(r), "%s%s", rel, names[i]);
		if (!xs_directory(xs, XS_TXN_NULL, path, &sub, &ns) && ns) {
			xs_free_list(sub, ns);
			if (depth) {
				rc = -EINVAL;	/* deeper than frontends write */
				break;
			}
			char r2[170];

			snprintf(r2, sizeof(r2), "%s/", r);
			rc = dir_keys(xs, path, r2, depth + 1, b, nkeys);
			continue;
		}
		xs_free_list(sub, ns);
		rc = xs_read(xs, XS_TXN_NULL, path, &val, &vlen);
		if (rc == -ENOENT) {
			rc = 0;
			continue;
		}
		if (!rc && (!mig_kept_value_ok(val, vlen) ||
			    ++*nkeys > MIG_KEPT_MAX_KEYS))
			rc = -EINVAL;
		if (!rc)
			kb_printf(b, "key %s=%s\n", r, val);
		free(val);
	}
	xs_free_list(names, n);
	return rc ?: b->err;
}

static int drained_rm(struct xs_handle *xs, const char *dir,
		      const char *type, const char *id, void *arg)
{
	char path[224];

	snprintf(path, sizeof(path), "%s/drained", dir);
	xs_rm(xs, XS_TXN_NULL, path);
	return 0;
}

int mig_kept_clear(const char *rundir, pvio_domid_t domid)
{
	return mig_each_device(rundir, domid, false, drained_rm, NULL);
}

static int count_dev(struct xs_handle *xs, const char *dir, const char *type,
		     const char *id, void *arg)
{
	++*(unsigned int *)arg;
	return 0;
}

/*
 * Live: every port the guest holds, for the destination to import (the
 * store's port excepted: the destination has it already, under the same
 * number, or the move is not live). Each must be the guest's end of a
 * channel with dom0 (what else it might be, hv here could not hand over).
 */
static int live_ports(struct pvio_hv *hv, struct xs_handle *xs,
		      pvio_domid_t domid, struct kbuf *b)
{
	struct hv_port_info *v = NULL;
	uint32_t n = 0, store = 0, nlisted = 0;
	char path[96], *susp = NULL;
	unsigned long sp = 0;
	int rc;

	rc = pvio_domain_ports(hv, domid, &v, &n, &store);
	if (rc)
		return rc;
	kb_printf(b, "port");
	for (uint32_t i = 0; !rc && i < n; i++) {
		if (v[i].port == store)
			continue;
		if ((v[i].state != EVTCHNSTAT_unbound &&
		     v[i].state != EVTCHNSTAT_interdomain) || v[i].remote_dom ||
		    ++nlisted > MIG_KEPT_MAX_PORTS) {
			rc = -EXDEV;
			break;
		}
		kb_printf(b, " %u", v[i].port);
	}
	kb_printf(b, "\n");
	/* the suspend event channel the guest offers, if it is one of them */
	snprintf(path, sizeof(path), "/local/domain/%u/device/suspend/event-channel",
		 domid);
	if (!rc && !xs_read(xs, XS_TXN_NULL, path, &susp, NULL) && susp[0]) {
		char *end;

		sp = strtoul(susp, &end, 10);
		for (uint32_t i = 0; !*end && sp && i < n; i++)
			if (v[i].port == sp && sp != store)
				kb_printf(b, "suspend %lu\n", sp);
	}
	free(susp);
	free(v);
	return rc ?: b->err;
}

int mig_kept_collect(const char *rundir, pvio_domid_t domid,
		     const char *fe_list, bool live, char **out, size_t *len,
		     unsigned int *ndevs)
{
	struct kbuf b = { malloc(4096), 0, 4096, 0 };
	struct pvio_domain_memory m;
	struct xs_handle *xs = NULL;
	struct pvio_hv *hv = NULL;
	const char *s = fe_list;
	unsigned int all = 0;
	int rc;

	*ndevs = 0;
	if (!b.p)
		return -ENOMEM;
	b.p[0] = 0;
	rc = pvio_hv_open(rundir, &hv);
	if (!rc)
		rc = pvio_domain_map_memory(hv, domid, &m);
	if (rc)
		goto out;
	if (live)
		kb_printf(&b, "live\n");
	kb_printf(&b, "gnt");
	for (uint32_t f = 0; f < m.nr_gnt_frames; f++)
		kb_printf(&b, " %llu", (unsigned long long)m.gnt_gfn[f]);
	kb_printf(&b, "\n");
	pvio_domain_unmap_memory(&m);
	rc = pvio_domstore_open(rundir, &xs);
	if (!rc && live)
		rc = live_ports(hv, xs, domid, &b);
	while (!rc && *s) {
		char name[48], fe[192], be_drained[224], *be = NULL;
		size_t n = strcspn(s, " ");
		long long drained = 0;
		unsigned int nkeys = 0;
		size_t mark = b.len;

		if (n && n < sizeof(name)) {
			memcpy(name, s, n);
			name[n] = 0;
			snprintf(fe, sizeof(fe), "/local/domain/%u/device/%s",
				 domid, name);
			/* the backend let go with every request answered */
			snprintf(be_drained, sizeof(be_drained), "%s/backend", fe);
			if (!xs_read(xs, XS_TXN_NULL, be_drained, &be, NULL)) {
				snprintf(be_drained, sizeof(be_drained),
					 "%s/drained", be);
				if (xs_read_int(xs, XS_TXN_NULL, be_drained,
						&drained))
					drained = 0;
				free(be);
			}
			if (drained == 1 && *ndevs < MIG_KEPT_MAX_DEVS) {
				kb_printf(&b, "dev %s\n", name);
				if (dir_keys(xs, fe, "", 0, &b, &nkeys)) {
					/* not this one: it reconnects */
					b.len = mark;
					b.p[mark] = 0;
					b.err = 0;
				} else {
					++*ndevs;
				}
			}
		}
		s += n;
		while (*s == ' ')
			s++;
	}
	rc = rc ?: b.err;
	/*
	 * Live, the guest never hears of the move: every device it has
	 * must go over as it is, or none (the move is then made with the
	 * guest's suspend).
	 */
	if (!rc && live) {
		rc = mig_each_device(rundir, domid, true, count_dev, &all);
		if (!rc && all != *ndevs)
			rc = -EXDEV;
	}
out:
	if (hv)
		pvio_hv_close(hv);
	if (xs)
		xs_close(xs);
	if (rc) {
		free(b.p);
		return rc;
	}
	*out = b.p;
	*len = b.len;
	return 0;
}

struct kept_txn {
	const char *blob;
	const struct mig_kept_dev *dev;
	pvio_domid_t domid;
};

/* A kept device's keys written (@rm: removed again) in transaction @t. */
static int dev_keys(struct xs_handle *xs, xs_transaction_t t,
		    const struct kept_txn *k, bool rm)
{
	const char *l = k->blob + k->dev->keys;
	const char *end = k->blob + k->dev->keys_end;
	char path[256];
	int rc = 0;

	/* the lines mig_kept_parse() checked: "key REL=VALUE" each */
	while (!rc && l < end) {
		const char *nl = memchr(l, '\n', (size_t)(end - l));
		size_t n = nl ? (size_t)(nl - l) : (size_t)(end - l);
		size_t rl, vl;
		const char *v;

		rc = mig_kept_key_line(l + 4, n - 4, &rl, &v, &vl);
		if (!rc) {
			snprintf(path, sizeof(path),
				 "/local/domain/%u/device/%s/%.*s", k->domid,
				 k->dev->name, (int)rl, l + 4);
			rc = rm ? xs_rm(xs, t, path) : xs_write(xs, t, path, v, vl);
			if (rm && rc == -ENOENT)
				rc = 0;
		}
		l += n + 1;
	}
	return rc;
}

static int write_dev(struct xs_handle *xs, xs_transaction_t t, void *arg)
{
	return dev_keys(xs, t, arg, false);
}

static int remove_dev(struct xs_handle *xs, xs_transaction_t t, void *arg)
{
	return dev_keys(xs, t, arg, true);
}

int mig_kept_prepare(const char *rundir, pvio_domid_t domid, const char *blob,
		     size_t len, struct mig_kept **out)
{
	struct xs_handle *xs = NULL;
	struct mig_kept *k;
	unsigned int all = 0;
	int rc;

	*out = NULL;
	k = malloc(sizeof(*k));
	if (!k)
		return -ENOMEM;
	/* every line checked before anything is written */
	rc = mig_kept_parse(blob, len, k);
	/* live: every device this domain has here is one of them */
	if (!rc && k->live) {
		rc = mig_each_device(rundir, domid, true, count_dev, &all);
		if (!rc && all != k->ndevs)
			rc = -EXDEV;
		if (rc)
			fprintf(stderr, "pvio: domain %u: moved while it ran, but %u of its %u device(s) came along\n",
				domid, k->ndevs, all);
	}
	if (rc || !k->ndevs)
		goto out;
	/* only devices this domain has here */
	rc = pvio_domstore_open(rundir, &xs);
	for (unsigned int i = 0; !rc && i < k->ndevs; i++) {
		char path[128], *v = NULL;

		snprintf(path, sizeof(path), "/local/domain/%u/device/%s/backend",
			 domid, k->devs[i].name);
		rc = xs_read(xs, XS_TXN_NULL, path, &v, NULL) ? -EPROTO : 0;
		free(v);
	}
	/*
	 * The keys now, while QEMU loads the rest: no backend acts on them
	 * before the device's state says Initialised (mig_kept_apply).
	 */
	for (unsigned int i = 0; !rc && i < k->ndevs; i++) {
		struct kept_txn t = { blob, &k->devs[i], domid };

		rc = xs_transaction_run(xs, write_dev, &t);
	}
out:
	if (xs)
		xs_close(xs);
	if (rc) {
		free(k);
		return rc;
	}
	*out = k;
	return 0;
}

/* Not taken over after all: the keys mig_kept_prepare() wrote go again. */
static void kept_unwrite(struct xs_handle *xs, pvio_domid_t domid,
			 const char *blob, const struct mig_kept *k)
{
	for (unsigned int i = 0; i < k->ndevs; i++) {
		struct kept_txn t = { blob, &k->devs[i], domid };

		xs_transaction_run(xs, remove_dev, &t);
	}
}

int mig_kept_apply(const char *rundir, pvio_domid_t domid, const char *blob,
		   struct mig_kept *k, char *list, size_t size, bool *live)
{
	struct xs_handle *xs = NULL;
	struct pvio_hv *hv;
	size_t used = 0;
	int rc;

	list[0] = 0;
	*live = k->live;
	if (!k->ndevs && !k->live)
		return 0;
	rc = pvio_domstore_open(rundir, &xs);
	if (!rc) {
		rc = pvio_hv_open(rundir, &hv);
		if (!rc) {
			rc = pvio_domain_import(hv, domid, k->gfn, k->nframes,
						k->ports, k->nports);
			pvio_hv_close(hv);
			/*
			 * Refused (a port already open here, say): nothing of
			 * it was made, and the guest finds its ports not
			 * connected here and connects every device afresh.
			 * A guest that never suspended would not: that move
			 * fails (and the guest runs on at the source).
			 */
			if (rc && k->live)
				fprintf(stderr, "pvio: domain %u: hv refused the guest's ports and grant frames: %s\n",
					domid, strerror(-rc));
			else if (rc) {
				fprintf(stderr, "pvio: domain %u: hv refused the kept connections (%s): every device connects afresh\n",
					domid, strerror(-rc));
				kept_unwrite(xs, domid, blob, k);
				k->ndevs = 0;
				rc = 0;
			}
		}
	}
	if (!rc && k->suspend_port) {
		char path[96];

		snprintf(path, sizeof(path), "/local/domain/%u/device/suspend/event-channel",
			 domid);
		rc = xs_printf(xs, XS_TXN_NULL, path, "%u", k->suspend_port);
	}
	/* the backends here read the keys on Initialised, as on a restart */
	for (unsigned int i = 0; !rc && i < k->ndevs; i++) {
		char path[96];
		int w;

		snprintf(path, sizeof(path), "/local/domain/%u/device/%s/state",
			 domid, k->devs[i].name);
		rc = xs_printf(xs, XS_TXN_NULL, path, "%d",
			       XenbusStateInitialised);
		w = snprintf(list + used, size - used, "%s%s", used ? " " : "",
			     k->devs[i].name);
		if (w > 0 && (size_t)w < size - used)
			used += (size_t)w;
	}
	if (xs)
		xs_close(xs);
	return rc ?: (int)k->ndevs;
}

struct listed {
	pvio_domid_t domid;
	long long end;
};

/* @fn for each "type/id" of @list (checked), over one store connection. */
static int each_listed(const char *rundir, const char *list,
		       int (*fn)(struct xs_handle *xs, const char *name,
				 size_t n, const struct listed *l),
		       const struct listed *l)
{
	struct xs_handle *xs;
	const char *s = list;
	int rc;

	rc = pvio_domstore_open(rundir, &xs);
	if (rc)
		return rc;
	while (!rc && *s) {
		size_t n = strcspn(s, " ");

		rc = mig_fe_name_ok(s, n) ? fn(xs, s, n, l) : -EINVAL;
		s += n;
		while (*s == ' ')
			s++;
	}
	xs_close(xs);
	return rc;
}

static int wait_backend(struct xs_handle *xs, const char *name, size_t n,
			const struct listed *l)
{
	size_t t = strcspn(name, "/");
	long long left = l->end - mig_now_ms();
	char dir[192];
	int st;

	snprintf(dir, sizeof(dir), "/local/domain/0/backend/%.*s/%u/%.*s",
		 (int)t, name, l->domid, (int)(n - t - 1), name + t + 1);
	st = left > 0 ? xenbus_wait_state(xs, dir,
			XENBUS_STATE_BIT(XenbusStateConnected) |
			XENBUS_STATE_BIT(XenbusStateClosing) |
			XENBUS_STATE_BIT(XenbusStateClosed),
			(int)left) : -ETIMEDOUT;
	if (st < 0)
		return st;
	return st == XenbusStateConnected ? 0 : -EIO;	/* it would not take the rings */
}

int mig_kept_wait(const char *rundir, pvio_domid_t domid, const char *list,
		  int timeout_ms)
{
	struct listed l = { domid, mig_now_ms() + timeout_ms };

	return each_listed(rundir, list, wait_backend, &l);
}

static int frontend_connected(struct xs_handle *xs, const char *name, size_t n,
			      const struct listed *l)
{
	char dir[160];

	snprintf(dir, sizeof(dir), "/local/domain/%u/device/%.*s", l->domid,
		 (int)n, name);
	return xenbus_switch_state(xs, dir, XenbusStateConnected);
}

/*
 * Live: the guest's frontends never stopped being Connected; what the
 * toolstack wrote for the backends here (Initialised) is set back to
 * what the guest itself last wrote, once each backend is Connected.
 */
int mig_kept_frontends_connected(const char *rundir, pvio_domid_t domid,
				 const char *list)
{
	struct listed l = { domid, 0 };

	return each_listed(rundir, list, frontend_connected, &l);
}
