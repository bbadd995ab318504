/* SPDX-License-Identifier: MIT */
/*
 * pvio-store domain side: INTRODUCE maps the domain's platform region
 * (through pvio-hv), binds its store event channel and serves the xenstore
 * ring at PVIO_PLATFORM_OFF_STORE as a connection of that domain. The
 * introductions are kept in the store (/tool/pvio-store/domain/<id>, dom0
 * only) so that a restarted daemon serves the rings again.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <unistd.h>

#include "pvio/libpvio.h"
#include "store_daemon.h"

#define DOMAINS_DIR	"/tool/pvio-store/domain"

struct dom_ring {
	struct store_daemon_src src;	/* first: epoll data points here */
	struct store_daemon *d;
	uint16_t domid;
	void *region;
	struct xenstore_domain_interface *intf;
	pvio_evtchn_port_t local;
	int evfd;
	struct store_conn *c;
	bool awaiting;		/* restarted: wait for the domain's reset */
};

static struct store_daemon *Dm;
static struct store_conn *internal;	/* dom0 identity for our own nodes */

static struct pvio_hv *hv_get(struct store_daemon *d)
{
	if (!d->hv) {
		struct pvio_hv *hv;
		int rc = pvio_hv_open(d->rundir, &hv);

		if (rc) {
			fprintf(stderr, "pvio-store: cannot reach pvio-hv in %s: "
				"%s\n", d->rundir ? d->rundir : "(default)",
				strerror(-rc));
			return NULL;
		}
		d->hv = hv;
	}
	return d->hv;
}

/* Copy requests out of the ring into the connection's input buffer. */
static bool ring_pull(struct dom_ring *r)
{
	struct xenstore_domain_interface *in = r->intf;
	struct store_conn *c = r->c;
	uint32_t cons, prod, n = 0;

	cons = PVIO_READ_ONCE(in->req_cons);
	prod = PVIO_READ_ONCE(in->req_prod);
	PVIO_RMB();	/* indices before the data they cover */
	if (prod - cons > XENSTORE_RING_SIZE) {
		PVIO_WRITE_ONCE(in->error, XENSTORE_ERROR_RINGIDX);
		c->dead = true;
		return false;
	}
	while (cons != prod && c->in_len < STORE_IN_BUF &&
	       store_conn_can_read(c)) {
		uint32_t off = XENSTORE_RING_IDX(cons);
		uint32_t chunk = XENSTORE_RING_SIZE - off;

		if (chunk > prod - cons)
			chunk = prod - cons;
		if (chunk > STORE_IN_BUF - c->in_len)
			chunk = STORE_IN_BUF - c->in_len;
		memcpy(c->in + c->in_len, in->req + off, chunk);
		c->in_len += chunk;
		cons += chunk;
		n += chunk;
	}
	if (n) {
		PVIO_MB();	/* data copied before the slot is released */
		PVIO_WRITE_ONCE(in->req_cons, cons);
	}
	return n > 0;
}

/* Copy replies and events into the response ring. */
static bool ring_push(struct dom_ring *r)
{
	struct xenstore_domain_interface *in = r->intf;
	struct store_conn *c = r->c;
	uint32_t cons, prod, n = 0;

	cons = PVIO_READ_ONCE(in->rsp_cons);
	prod = PVIO_READ_ONCE(in->rsp_prod);
	PVIO_MB();
	if (prod - cons > XENSTORE_RING_SIZE) {
		PVIO_WRITE_ONCE(in->error, XENSTORE_ERROR_RINGIDX);
		c->dead = true;
		return false;
	}
	while (store_conn_pending(c) && prod - cons < XENSTORE_RING_SIZE) {
		uint32_t off = XENSTORE_RING_IDX(prod);
		uint32_t chunk = XENSTORE_RING_SIZE - off;
		uint32_t space = XENSTORE_RING_SIZE - (prod - cons);

		if (chunk > space)
			chunk = space;
		if (chunk > store_conn_pending(c))
			chunk = store_conn_pending(c);
		memcpy(in->rsp + off, c->out + c->out_head, chunk);
		store_conn_consumed(c, chunk);
		prod += chunk;
		n += chunk;
	}
	if (n) {
		PVIO_WMB();	/* data before the index that publishes it */
		PVIO_WRITE_ONCE(in->rsp_prod, prod);
	}
	return n > 0;
}

static void ring_teardown(struct dom_ring *r)
{
	struct store_domain *sd = store_domain_get(r->d->store, r->domid,
						   false);

	if (sd && sd->transport == r)
		sd->transport = NULL;
	if (r->evfd >= 0)
		epoll_ctl(r->d->epfd, EPOLL_CTL_DEL, r->evfd, NULL);
	if (r->d->hv && r->local)
		pvio_evtchn_close(r->d->hv, r->local);
	r->local = 0;
	r->evfd = -1;
	if (r->region)
		munmap(r->region, PVIO_PLATFORM_SIZE);
	r->region = NULL;
	if (r->c)
		store_conn_free(r->c);
	r->c = NULL;
	store_daemon_kill(r->d, &r->src);
}

static void ring_flush(struct store_daemon_src *src)
{
	struct dom_ring *r = (struct dom_ring *)src;
	bool notify = false;

	/*
	 * After our restart the ring may hold half messages in both
	 * directions: we asked the domain (connection = RECONNECT) to drop
	 * them and set its indices back; it answers CONNECTED, then resends.
	 */
	if (r->awaiting) {
		if (PVIO_READ_ONCE(r->intf->connection) != XENSTORE_CONNECTED)
			return;
		PVIO_MB();
		r->awaiting = false;
		fprintf(stderr, "pvio-store: dom%u reconnected\n", r->domid);
	}

	for (int round = 0; round < 64 && r->c && !r->c->dead; round++) {
		bool moved = false;

		if (ring_push(r))
			moved = notify = true;
		if (ring_pull(r))
			moved = notify = true;
		if (r->c->in_len && store_conn_can_read(r->c)) {
			uint32_t before = r->c->in_len;

			store_conn_process(r->c);
			moved |= r->c->in_len != before;
		}
		if (!moved)
			break;
	}
	if (r->c && r->c->dead) {
		fprintf(stderr, "pvio-store: dom%u broke the ring protocol; "
			"no longer served\n", r->domid);
		ring_teardown(r);
		return;
	}
	if (notify)
		pvio_evtchn_notify(r->d->hv, r->local);
}

static void ring_event(struct store_daemon_src *src, uint32_t events)
{
	struct dom_ring *r = (struct dom_ring *)src;

	pvio_evtchn_ack(r->d->hv, r->local);
	store_daemon_dirty(r->d, src);
}

static void ring_wake(struct store_conn *c)
{
	struct dom_ring *r = c->priv;

	store_daemon_dirty(r->d, &r->src);
}

static void ring_destroy(struct store_daemon_src *src)
{
	free(src);
}

static const struct store_conn_ops ring_ops = { .wake = ring_wake };

static int ring_setup(struct store *s, uint16_t domid, uint32_t port,
		      bool restored)
{
	struct store_daemon *d = Dm;
	struct pvio_shared_info *si;
	struct epoll_event ev;
	struct dom_ring *r;
	struct pvio_hv *hv = hv_get(d);
	int rc;

	if (!hv)
		return -EHOSTDOWN;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->d = d;
	r->domid = domid;
	r->evfd = -1;
	r->src.fn = ring_event;
	r->src.flush = ring_flush;
	r->src.destroy = ring_destroy;
	rc = pvio_domain_map_platform(hv, domid, &r->region);
	if (rc)
		goto fail;
	si = r->region;
	if (si->magic != PVIO_PLATFORM_MAGIC || si->domid != domid) {
		rc = -EINVAL;
		goto fail;
	}
	r->intf = (void *)((char *)r->region + PVIO_PLATFORM_OFF_STORE);
	rc = pvio_evtchn_bind_interdomain(hv, domid, port, &r->local);
	if (rc)
		goto fail;
	r->evfd = pvio_evtchn_fd(hv, r->local);
	if (r->evfd < 0) {
		rc = r->evfd;
		goto fail;
	}
	r->c = store_conn_new(s, domid, &ring_ops, r);
	if (!r->c) {
		rc = -ENOMEM;
		goto fail;
	}
	ev.events = EPOLLIN;
	ev.data.ptr = r;
	if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, r->evfd, &ev)) {
		rc = -errno;
		goto fail;
	}
	PVIO_WRITE_ONCE(r->intf->server_features, 0);
	if (restored) {
		r->awaiting = true;
		PVIO_WMB();
		PVIO_WRITE_ONCE(r->intf->connection, XENSTORE_RECONNECT);
		pvio_evtchn_notify(hv, r->local);
	} else {
		PVIO_WRITE_ONCE(r->intf->connection, XENSTORE_CONNECTED);
	}
	store_domain_get(s, domid, true)->transport = r;
	/* requests may already wait in the ring */
	store_daemon_dirty(d, &r->src);
	return 0;
fail:
	if (r->c)
		store_conn_free(r->c);
	if (r->local)
		pvio_evtchn_close(hv, r->local);
	if (r->region)
		munmap(r->region, PVIO_PLATFORM_SIZE);
	free(r);
	return rc;
}

static void remember(struct store *s, uint16_t domid, uint64_t gfn,
		     uint32_t port, bool add)
{
	char path[64], val[48];
	int n;

	if (!internal)
		return;
	snprintf(path, sizeof(path), DOMAINS_DIR "/%u", domid);
	if (add) {
		n = snprintf(val, sizeof(val), "%llu %u",
			     (unsigned long long)gfn, port);
		store_do_write(s, internal, NULL, path, val, n);
	} else {
		store_do_rm(s, internal, NULL, path);
	}
	store_log_commit(s);
}

static int hook_introduce(struct store *s, uint16_t domid, uint64_t gfn,
			  uint32_t port)
{
	int rc = ring_setup(s, domid, port, false);

	/*
	 * Without its ring the domain is still recorded as introduced (the
	 * toolstack and @introduceDomain watchers see it); the domain just
	 * cannot talk to us. Logged so that the reason is visible.
	 */
	if (rc)
		fprintf(stderr, "pvio-store: dom%u introduced without its "
			"ring (port %u): %s\n", domid, port, strerror(-rc));
	remember(s, domid, gfn, port, true);
	return 0;
}

static void hook_release(struct store *s, uint16_t domid)
{
	struct store_domain *sd = store_domain_get(s, domid, false);

	if (sd && sd->transport)
		ring_teardown(sd->transport);
	remember(s, domid, 0, 0, false);
}

static int hook_reconnect(struct store *s, uint16_t domid)
{
	struct store_domain *sd = store_domain_get(s, domid, false);

	if (!sd)
		return -ENOENT;
	if (sd->transport)
		ring_teardown(sd->transport);
	return ring_setup(s, domid, sd->port, true);
}

static const struct store_hooks domain_hooks = {
	.introduce = hook_introduce,
	.release = hook_release,
	.reconnect = hook_reconnect,
};

void store_domain_hooks(struct store_daemon *d, struct store_opts *so)
{
	Dm = d;
	so->hooks = &domain_hooks;
	so->hooks_arg = d;
}

/* After a restart: serve again every domain that was introduced. */
void store_domain_restore(struct store_daemon *d)
{
	struct store *s = d->store;
	const struct store_node *n;
	char path[64];

	internal = store_conn_new(s, 0, NULL, NULL);
	n = store_get(s, NULL, DOMAINS_DIR);
	if (!n)
		return;
	for (uint32_t i = 0; i < n->nchildren; i++) {
		const struct store_node *dn;
		unsigned long long gfn;
		unsigned int port;
		unsigned long id = strtoul(n->children[i], NULL, 10);
		struct store_domain *sd;

		if (id == 0 || id >= PVIO_DOMID_FIRST_RESERVED)
			continue;
		snprintf(path, sizeof(path), DOMAINS_DIR "/%lu", id);
		dn = store_get(s, NULL, path);
		if (!dn || sscanf(dn->value, "%llu %u", &gfn, &port) != 2)
			continue;
		sd = store_domain_get(s, id, true);
		if (!sd)
			continue;
		sd->introduced = true;
		sd->gfn = gfn;
		sd->port = port;
		if (ring_setup(s, id, port, true))
			fprintf(stderr, "pvio-store: dom%lu: ring not served "
				"again after restart\n", id);
	}
}

void store_domain_shutdown(struct store_daemon *d)
{
	struct store *s = d->store;

	for (unsigned int i = 1; i < PVIO_DOMID_FIRST_RESERVED; i++) {
		struct store_domain *sd = s->domains[i];

		if (sd && sd->transport)
			ring_teardown(sd->transport);
	}
	store_daemon_reap(d);
	if (internal)
		store_conn_free(internal);
	internal = NULL;
	if (d->hv)
		pvio_hv_close(d->hv);
	d->hv = NULL;
}
