/* SPDX-License-Identifier: MIT */
/*
 * xenstore client library, domain transport: the store ring of this
 * domain's platform region and its event channel (shared_info.store_port).
 *
 * Port convention for process domains: if store_port is 0, the domain
 * offers a new port to dom0, publishes it in store_port and introduces
 * itself to pvio-store through the store socket (process domains are host
 * processes; a toolstack that set store_port and introduced the domain
 * beforehand makes this step a no-op). Only the reader thread waits on the
 * event channel; senders waiting for ring space are woken by it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pvio/libpvio.h"
#include "xs_client.h"

struct ring_t {
	struct pvio_dom *dom;
	struct pvio_hv *hv;
	struct xenstore_domain_interface *intf;
	pvio_evtchn_port_t port;
	pthread_mutex_t lock;
	pthread_cond_t space;	/* the reader saw an event */
	bool stop;
};

static int ring_connect(struct xs_handle *h)
{
	struct ring_t *r = h->tpriv;

	return r->stop ? -ESHUTDOWN : 0;
}

static void ring_kick_waiters(struct ring_t *r)
{
	pthread_mutex_lock(&r->lock);
	pthread_cond_broadcast(&r->space);
	pthread_mutex_unlock(&r->lock);
}

static int ring_send(struct xs_handle *h, const void *buf, size_t len)
{
	struct ring_t *r = h->tpriv;
	struct xenstore_domain_interface *in = r->intf;
	const char *p = buf;

	while (len) {
		uint32_t cons = PVIO_READ_ONCE(in->req_cons);
		uint32_t prod = PVIO_READ_ONCE(in->req_prod);
		uint32_t space, off, chunk;

		PVIO_MB();
		if (prod - cons > XENSTORE_RING_SIZE)
			return -EIO;	/* the store broke the indices */
		space = XENSTORE_RING_SIZE - (prod - cons);
		if (!space) {
			struct timespec ts;

			if (r->stop)
				return -ESHUTDOWN;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 10 * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_mutex_lock(&r->lock);
			pthread_cond_timedwait(&r->space, &r->lock, &ts);
			pthread_mutex_unlock(&r->lock);
			continue;
		}
		off = XENSTORE_RING_IDX(prod);
		chunk = XENSTORE_RING_SIZE - off;
		if (chunk > space)
			chunk = space;
		if (chunk > len)
			chunk = len;
		memcpy(in->req + off, p, chunk);
		PVIO_WMB();	/* data before the index */
		PVIO_WRITE_ONCE(in->req_prod, prod + chunk);
		pvio_evtchn_notify(r->hv, r->port);
		p += chunk;
		len -= chunk;
	}
	return 0;
}

static int ring_recv(struct xs_handle *h, void *buf, size_t len)
{
	struct ring_t *r = h->tpriv;
	struct xenstore_domain_interface *in = r->intf;
	char *p = buf;

	while (len) {
		uint32_t cons = PVIO_READ_ONCE(in->rsp_cons);
		uint32_t prod = PVIO_READ_ONCE(in->rsp_prod);
		uint32_t avail, off, chunk;

		PVIO_RMB();	/* indices before data */
		if (prod - cons > XENSTORE_RING_SIZE)
			return -EIO;
		avail = prod - cons;
		if (!avail) {
			if (r->stop)
				return -ESHUTDOWN;
			pvio_evtchn_wait(r->hv, r->port, 100);
			pvio_evtchn_ack(r->hv, r->port);
			ring_kick_waiters(r);
			continue;
		}
		off = XENSTORE_RING_IDX(cons);
		chunk = XENSTORE_RING_SIZE - off;
		if (chunk > avail)
			chunk = avail;
		if (chunk > len)
			chunk = len;
		memcpy(p, in->rsp + off, chunk);
		PVIO_MB();	/* data copied before the slot is released */
		PVIO_WRITE_ONCE(in->rsp_cons, cons + chunk);
		pvio_evtchn_notify(r->hv, r->port);
		p += chunk;
		len -= chunk;
	}
	return 0;
}

static void ring_disconnect(struct xs_handle *h)
{
	/* a ring has no reconnection: the reader retries connect */
}

static void ring_shutdown(struct xs_handle *h)
{
	struct ring_t *r = h->tpriv;

	r->stop = true;
	ring_kick_waiters(r);
}

static void ring_free(struct xs_handle *h)
{
	struct ring_t *r = h->tpriv;

	if (!r)
		return;
	/* the port stays: it is published in store_port for the store */
	pthread_mutex_destroy(&r->lock);
	pthread_cond_destroy(&r->space);
	free(r);
	h->tpriv = NULL;
}

static const struct xs_transport_ops ring_ops = {
	.connect = ring_connect,
	.send = ring_send,
	.recv = ring_recv,
	.disconnect = ring_disconnect,
	.shutdown = ring_shutdown,
	.free = ring_free,
};

/* Offer a port to dom0, publish it, and introduce ourselves. */
static int self_introduce(struct ring_t *r, struct pvio_shared_info *si)
{
	struct xs_handle *h0;
	pvio_evtchn_port_t port;
	int rc;

	rc = pvio_evtchn_alloc_unbound(r->hv, 0, &port);
	if (rc)
		return rc;
	PVIO_WRITE_ONCE(si->store_port, port);
	r->port = port;
	if (xs_open(NULL, &h0))
		return 0;	/* no store socket here: a toolstack will */
	rc = xs_introduce_domain(h0, pvio_dom_id(r->dom), 0, port);
	xs_close(h0);
	if (rc)
		fprintf(stderr, "xenbus: dom%u: introduction to the store "
			"failed: %s\n", pvio_dom_id(r->dom), strerror(-rc));
	return 0;
}

int xs_open_domain(struct pvio_dom *d, struct xs_handle **out)
{
	struct pvio_shared_info *si = pvio_dom_shared_info(d);
	struct xs_handle *h;
	struct ring_t *r;
	int rc;

	if (!si || !pvio_dom_platform(d))
		return -ENODEV;
	h = xs_handle_alloc();
	r = calloc(1, sizeof(*r));
	if (!h || !r) {
		free(r);
		xs_close(h);
		return -ENOMEM;
	}
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->space, NULL);
	r->dom = d;
	r->hv = pvio_dom_hv(d);
	r->intf = (void *)((char *)pvio_dom_platform(d) +
			   PVIO_PLATFORM_OFF_STORE);
	r->port = PVIO_READ_ONCE(si->store_port);
	h->tpriv = r;
	h->ops = &ring_ops;
	if (!r->port) {
		rc = self_introduce(r, si);
		if (rc) {
			xs_close(h);
			return rc;
		}
	}
	rc = xs_handle_start(h);
	if (rc) {
		xs_close(h);
		return rc;
	}
	*out = h;
	return 0;
}
