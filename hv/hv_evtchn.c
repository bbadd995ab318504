/* SPDX-License-Identifier: MIT */
/*
 * hv's side of event channels: ports, their eventfds and poll sets.
 *
 * Each bound end has a receive eventfd that the peer writes directly (its
 * "send fd"), and an epoll instance owned by hv that is the end's pollable
 * fd. hv keeps the receive eventfd in that epoll set (data.u64 = its
 * generation) only while the channel is connected and unmasked: when the
 * peer closes or dies, hv removes it, so whatever the peer still writes can
 * no longer wake us. Notification never passes through hv.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "hv.h"

unsigned int hv_nr_ports;

static struct hv_domain *client_domain(struct hv_client *c)
{
	return c->dom ? c->dom : hv_dom0();
}

static struct hv_domain *domain_of(uint32_t domid)
{
	if (domid == 0)
		return hv_dom0();
	if (domid >= PVIO_DOMID_FIRST_RESERVED)
		return NULL;
	return hv_domain_get((pvio_domid_t)domid);
}

static void poll_del(struct evtchn_port *e)
{
	if (e->poll_fd >= 0 && e->recv_fd >= 0)
		epoll_ctl(e->poll_fd, EPOLL_CTL_DEL, e->recv_fd, NULL);
}

static int poll_add(struct evtchn_port *e)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = e->gen };

	if (e->masked || e->poll_fd < 0 || e->recv_fd < 0)
		return 0;
	if (epoll_ctl(e->poll_fd, EPOLL_CTL_ADD, e->recv_fd, &ev) < 0)
		return -errno;
	return 0;
}

/* The end no longer receives from anyone: drop its receive eventfd. */
static void end_unplug(struct evtchn_port *e)
{
	poll_del(e);
	if (e->recv_fd >= 0)
		close(e->recv_fd);
	e->recv_fd = -1;
}

static void port_close(struct hv_domain *d, uint32_t port)
{
	struct evtchn_port *e = evtchn_lookup(&d->evtchn, port);
	struct hv_domain *peer = NULL;
	int pport;

	if (!e)
		return;
	if (e->state == EVTCHNSTAT_interdomain)
		peer = domain_of(e->remote_dom);
	end_unplug(e);
	if (e->poll_fd >= 0)
		close(e->poll_fd);
	e->poll_fd = -1;
	pport = evtchn_close(&d->evtchn, d->domid, port, peer ? &peer->evtchn : NULL);
	hv_nr_ports--;
	if (d->ops && d->ops->evtchn_closed)
		d->ops->evtchn_closed(d, port);
	if (pport > 0) {
		struct evtchn_port *p = &peer->evtchn.port[pport];

		/* no event after close: the survivor stops listening to us */
		end_unplug(p);
		if (peer->ops && peer->ops->evtchn_closed)
			peer->ops->evtchn_closed(peer, (uint32_t)pport);
	}
}

static int port_new(struct hv_domain *d, struct hv_client *c, uint32_t remote)
{
	int port = evtchn_alloc(&d->evtchn, (uint16_t)remote, c);
	struct evtchn_port *e;

	if (port < 0)
		return port;
	e = &d->evtchn.port[port];
	e->poll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (e->poll_fd < 0) {
		int err = -errno;

		evtchn_close(&d->evtchn, d->domid, (uint32_t)port, NULL);
		return err;
	}
	e->recv_fd = -1;
	e->gen = 0;
	hv_nr_ports++;
	return port;
}

/* A fresh receive eventfd for @e (the peer gets it as its send fd). */
static int end_plug(struct evtchn_port *e)
{
	end_unplug(e);
	e->recv_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (e->recv_fd < 0)
		return -errno;
	e->gen++;
	return poll_add(e);
}

static void reply_fds(struct hv_client *c, const struct hv_msg_hdr *h,
		      int ret, struct evtchn_port *e, struct evtchn_port *peer,
		      bool with_poll)
{
	struct hv_evtchn_fds f = { .gen = e->gen };
	int fds[3], n = 0;

	if (with_poll)
		fds[n++] = e->poll_fd;
	if (peer && e->recv_fd >= 0 && peer->recv_fd >= 0) {
		fds[n++] = e->recv_fd;
		fds[n++] = peer->recv_fd;
		f.nr_fds = 2;
	}
	hv_client_send(c, h, ret, &f, sizeof(f), fds, n);
}

static struct evtchn_port *own_port(struct hv_client *c, uint32_t port)
{
	struct evtchn_port *e = evtchn_lookup(&client_domain(c)->evtchn, port);

	return e && e->owner == c ? e : NULL;
}

static void do_bind(struct hv_client *c, const struct hv_msg_hdr *h,
		    const struct hv_evtchn_arg *a)
{
	struct hv_domain *d = client_domain(c);
	uint32_t rdom = a->dom == PVIO_DOMID_SELF ? c->domid : a->dom;
	struct hv_domain *r = domain_of(rdom);
	struct evtchn_port *l, *re;
	int port, ret;

	if (!r || (r->state & PVIO_DOMSTATE_DYING)) {
		hv_client_send(c, h, -ESRCH, NULL, 0, NULL, 0);
		return;
	}
	ret = evtchn_bind_check(&r->evtchn, a->port, c->domid);
	if (ret < 0) {
		hv_client_send(c, h, ret, NULL, 0, NULL, 0);
		return;
	}
	port = port_new(d, c, rdom);
	if (port < 0) {
		hv_client_send(c, h, port, NULL, 0, NULL, 0);
		return;
	}
	l = &d->evtchn.port[port];
	re = &r->evtchn.port[a->port];
	if ((ret = end_plug(l)) < 0 || (ret = end_plug(re)) < 0) {
		port_close(d, (uint32_t)port);
		hv_client_send(c, h, ret, NULL, 0, NULL, 0);
		return;
	}
	evtchn_connect(&d->evtchn, c->domid, (uint32_t)port, &r->evtchn,
		       (uint16_t)rdom, a->port);
	if (d->ops && d->ops->evtchn_bound)
		d->ops->evtchn_bound(d, (uint32_t)port);
	if (r->ops && r->ops->evtchn_bound)
		r->ops->evtchn_bound(r, a->port);
	reply_fds(c, h, port, l, re, true);
}

static void do_status(struct hv_client *c, const struct hv_msg_hdr *h,
		      const void *p, size_t len)
{
	struct pvio_evtchn_status st;
	struct hv_domain *d;
	struct evtchn_port *e;

	if (len < sizeof(st)) {
		hv_client_send(c, h, -EINVAL, NULL, 0, NULL, 0);
		return;
	}
	memcpy(&st, p, sizeof(st));
	if (st.dom == PVIO_DOMID_SELF)
		st.dom = c->domid;
	/* a domain may look at its own ports; dom0 at anyone's */
	if (c->domid != 0 && st.dom != c->domid) {
		hv_client_send(c, h, -EPERM, NULL, 0, NULL, 0);
		return;
	}
	d = domain_of(st.dom);
	if (!d) {
		hv_client_send(c, h, -ESRCH, NULL, 0, NULL, 0);
		return;
	}
	if (st.port == 0 || st.port >= PVIO_EVTCHN_MAX_PORTS) {
		hv_client_send(c, h, -EINVAL, NULL, 0, NULL, 0);
		return;
	}
	e = evtchn_lookup(&d->evtchn, st.port);
	st.state = e ? e->state : EVTCHNSTAT_closed;
	st.remote_dom = e ? e->remote_dom : 0;
	st.remote_port = e && e->state == EVTCHNSTAT_interdomain ? e->remote_port : 0;
	st.vcpu = 0;
	st.pad = st.pad2 = 0;
	hv_client_send(c, h, 0, &st, sizeof(st), NULL, 0);
}

int hv_evtchn_op(struct hv_client *c, const struct hv_msg_hdr *h,
		 const void *payload, size_t len)
{
	struct hv_domain *d = client_domain(c);
	struct hv_evtchn_arg a;
	struct evtchn_port *e;
	int ret = 0;

	if (h->op == HV_OP_EVTCHN_STATUS) {
		do_status(c, h, payload, len);
		return 0;
	}
	if (c->domid == PVIO_DOMID_INVALID || len < sizeof(a)) {
		hv_client_send(c, h, -EINVAL, NULL, 0, NULL, 0);
		return 0;
	}
	memcpy(&a, payload, sizeof(a));
	switch (h->op) {
	case HV_OP_EVTCHN_ALLOC_UNBOUND: {
		uint32_t remote = a.dom == PVIO_DOMID_SELF ? c->domid : a.dom;

		if (remote >= PVIO_DOMID_FIRST_RESERVED) {
			ret = -EINVAL;
			break;
		}
		ret = port_new(d, c, remote);
		if (ret < 0)
			break;
		reply_fds(c, h, ret, &d->evtchn.port[ret], NULL, true);
		return 0;
	}
	case HV_OP_EVTCHN_BIND_INTERDOMAIN:
		do_bind(c, h, &a);
		return 0;
	}
	e = own_port(c, a.port);
	if (!e) {
		hv_client_send(c, h, -EINVAL, NULL, 0, NULL, 0);
		return 0;
	}
	switch (h->op) {
	case HV_OP_EVTCHN_CLOSE:
		port_close(d, a.port);
		break;
	case HV_OP_EVTCHN_FDS: {
		struct evtchn_port *p = NULL;

		if (e->state == EVTCHNSTAT_interdomain) {
			struct hv_domain *r = domain_of(e->remote_dom);

			p = r ? evtchn_lookup(&r->evtchn, e->remote_port) : NULL;
		}
		reply_fds(c, h, 0, e, p, false);
		return 0;
	}
	case HV_OP_EVTCHN_MASK:
		if (!e->masked)
			poll_del(e);
		e->masked = 1;
		break;
	case HV_OP_EVTCHN_UNMASK:
		if (e->masked) {
			e->masked = 0;
			ret = poll_add(e);
		}
		break;
	case HV_OP_EVTCHN_SEND: {
		struct hv_domain *r;
		struct evtchn_port *p;
		uint64_t one = 1;

		if (e->state != EVTCHNSTAT_interdomain) {
			ret = -ENOTCONN;
			break;
		}
		r = domain_of(e->remote_dom);
		p = r ? evtchn_lookup(&r->evtchn, e->remote_port) : NULL;
		if (p && p->recv_fd >= 0 && write(p->recv_fd, &one, sizeof(one)) < 0)
			ret = -errno;
		break;
	}
	default:
		ret = -ENOSYS;
	}
	hv_client_send(c, h, ret, NULL, 0, NULL, 0);
	return 0;
}

void hv_evtchn_client_gone(struct hv_client *c)
{
	struct hv_domain *d = client_domain(c);

	for (uint32_t p = 1; p < PVIO_EVTCHN_MAX_PORTS && d->evtchn.nr_open; p++)
		if (d->evtchn.port[p].state != EVTCHNSTAT_closed &&
		    d->evtchn.port[p].owner == c)
			port_close(d, p);
}

void hv_evtchn_domain_gone(struct hv_domain *d)
{
	for (uint32_t p = 1; p < PVIO_EVTCHN_MAX_PORTS && d->evtchn.nr_open; p++)
		if (d->evtchn.port[p].state != EVTCHNSTAT_closed)
			port_close(d, p);
}
