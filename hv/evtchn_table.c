/* SPDX-License-Identifier: MIT */
/* Event-channel port state machine of one domain (pure, unit-tested). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "evtchn_table.h"

int evtchn_table_init(struct evtchn_table *t, uint32_t max_open)
{
	memset(t, 0, sizeof(*t));
	t->max_open = max_open < PVIO_EVTCHN_MAX_PORTS ? max_open :
		      PVIO_EVTCHN_MAX_PORTS - 1;
	return 0;
}

void evtchn_table_free(struct evtchn_table *t)
{
	for (uint32_t c = 0; c < EVTCHN_NR_CHUNKS; c++) {
		free(t->chunk[c]);
		t->chunk[c] = NULL;
	}
	t->nr_open = 0;
}

struct evtchn_port *evtchn_slot(const struct evtchn_table *t, uint32_t port)
{
	struct evtchn_port *c;

	if (port >= PVIO_EVTCHN_MAX_PORTS)
		return NULL;
	c = t->chunk[port / EVTCHN_CHUNK_PORTS];
	return c ? &c[port % EVTCHN_CHUNK_PORTS] : NULL;
}

struct evtchn_port *evtchn_lookup(const struct evtchn_table *t, uint32_t port)
{
	struct evtchn_port *e;

	/* port 0 is never valid: Xen reserves it so 0 can mean "none" */
	if (port == 0)
		return NULL;
	e = evtchn_slot(t, port);
	if (!e || e->state == EVTCHNSTAT_closed)
		return NULL;
	return e;
}

/* The chunk holding @port, allocated closed if it was never needed. */
static struct evtchn_port *chunk_get(struct evtchn_table *t, uint32_t c)
{
	struct evtchn_port *p = t->chunk[c];

	if (p)
		return p;
	p = calloc(EVTCHN_CHUNK_PORTS, sizeof(*p));
	if (!p)
		return NULL;
	for (uint32_t i = 0; i < EVTCHN_CHUNK_PORTS; i++) {
		p[i].state = EVTCHNSTAT_closed;
		p[i].poll_fd = -1;
		p[i].recv_fd = -1;
	}
	t->chunk[c] = p;
	return p;
}

static void port_open(struct evtchn_table *t, struct evtchn_port *e,
		      uint16_t remote, void *owner)
{
	e->state = EVTCHNSTAT_unbound;
	e->masked = 0;
	e->vcpu = 0;
	e->remote_dom = remote;
	e->remote_port = 0;
	e->owner = owner;
	t->nr_open++;
}

int evtchn_alloc(struct evtchn_table *t, uint16_t remote, void *owner)
{
	if (t->nr_open >= t->max_open)
		return -ENOSPC;
	for (uint32_t p = 1; p < PVIO_EVTCHN_MAX_PORTS; p++) {
		struct evtchn_port *c = chunk_get(t, p / EVTCHN_CHUNK_PORTS);
		struct evtchn_port *e;

		if (!c)
			return -ENOMEM;
		e = &c[p % EVTCHN_CHUNK_PORTS];
		if (e->state != EVTCHNSTAT_closed)
			continue;
		port_open(t, e, remote, owner);
		return (int)p;
	}
	return -ENOSPC;
}

int evtchn_alloc_at(struct evtchn_table *t, uint32_t port, uint16_t remote,
		    void *owner)
{
	struct evtchn_port *c, *e;

	if (port == 0 || port >= PVIO_EVTCHN_MAX_PORTS)
		return -EINVAL;
	if (t->nr_open >= t->max_open)
		return -ENOSPC;
	c = chunk_get(t, port / EVTCHN_CHUNK_PORTS);
	if (!c)
		return -ENOMEM;
	e = &c[port % EVTCHN_CHUNK_PORTS];
	if (e->state != EVTCHNSTAT_closed)
		return -EEXIST;
	port_open(t, e, remote, owner);
	return (int)port;
}

int evtchn_bind_check(const struct evtchn_table *rt, uint32_t rport,
		      uint16_t binder)
{
	const struct evtchn_port *e = evtchn_lookup(rt, rport);

	/* only a port that was offered to the binder, and only once */
	if (!e || e->state != EVTCHNSTAT_unbound || e->remote_dom != binder)
		return -EINVAL;
	return 0;
}

void evtchn_connect(struct evtchn_table *lt, uint16_t ldom, uint32_t lport,
		    struct evtchn_table *rt, uint16_t rdom, uint32_t rport)
{
	struct evtchn_port *l = evtchn_slot(lt, lport), *r = evtchn_slot(rt, rport);

	l->state = EVTCHNSTAT_interdomain;
	l->remote_dom = rdom;
	l->remote_port = rport;
	r->state = EVTCHNSTAT_interdomain;
	r->remote_dom = ldom;
	r->remote_port = lport;
}

int evtchn_close(struct evtchn_table *t, uint16_t dom, uint32_t port,
		 struct evtchn_table *peer_t)
{
	struct evtchn_port *e = evtchn_lookup(t, port);
	int peer = 0;

	if (!e)
		return -EINVAL;
	if (e->state == EVTCHNSTAT_interdomain && peer_t) {
		struct evtchn_port *p = evtchn_lookup(peer_t, e->remote_port);

		/* the survivor may be re-bound by the closer, as in Xen */
		if (p && p->state == EVTCHNSTAT_interdomain &&
		    p->remote_port == port && p->remote_dom == dom) {
			p->state = EVTCHNSTAT_unbound;
			p->remote_port = 0;
			peer = (int)e->remote_port;
		}
	}
	e->state = EVTCHNSTAT_closed;
	e->remote_dom = 0;
	e->remote_port = 0;
	e->masked = 0;
	e->owner = NULL;
	t->nr_open--;
	return peer;
}
