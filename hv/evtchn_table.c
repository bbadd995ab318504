/* SPDX-License-Identifier: MIT */
/* Event-channel port state machine of one domain (pure, unit-tested). */
#include <errno.h>
#include <stdlib.h>

#include "evtchn_table.h"

int evtchn_table_init(struct evtchn_table *t, uint32_t max_open)
{
	t->port = calloc(PVIO_EVTCHN_MAX_PORTS, sizeof(*t->port));
	if (!t->port)
		return -ENOMEM;
	for (unsigned int i = 0; i < PVIO_EVTCHN_MAX_PORTS; i++) {
		t->port[i].poll_fd = -1;
		t->port[i].recv_fd = -1;
	}
	t->nr_open = 0;
	t->max_open = max_open < PVIO_EVTCHN_MAX_PORTS ? max_open :
		      PVIO_EVTCHN_MAX_PORTS - 1;
	return 0;
}

void evtchn_table_free(struct evtchn_table *t)
{
	free(t->port);
	t->port = NULL;
	t->nr_open = 0;
}

struct evtchn_port *evtchn_lookup(const struct evtchn_table *t, uint32_t port)
{
	/* port 0 is never valid: Xen reserves it so 0 can mean "none" */
	if (!t->port || port == 0 || port >= PVIO_EVTCHN_MAX_PORTS)
		return NULL;
	if (t->port[port].state == EVTCHNSTAT_closed)
		return NULL;
	return &t->port[port];
}

int evtchn_alloc(struct evtchn_table *t, uint16_t remote, void *owner)
{
	if (t->nr_open >= t->max_open)
		return -ENOSPC;
	for (uint32_t p = 1; p < PVIO_EVTCHN_MAX_PORTS; p++) {
		struct evtchn_port *e = &t->port[p];

		if (e->state != EVTCHNSTAT_closed)
			continue;
		e->state = EVTCHNSTAT_unbound;
		e->masked = 0;
		e->remote_dom = remote;
		e->remote_port = 0;
		e->owner = owner;
		t->nr_open++;
		return (int)p;
	}
	return -ENOSPC;
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
	struct evtchn_port *l = &lt->port[lport], *r = &rt->port[rport];

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
