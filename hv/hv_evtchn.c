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

/*
 * Give @e a receive eventfd of its own that nobody else can write, holding
 * the events still pending on the current one (taken after it left the
 * poll set, so nothing written later counts). -1 and no eventfd if there
 * were none and @always is false.
 */
static int end_replug(struct evtchn_port *e, bool always)
{
	uint64_t cnt = 0;

	poll_del(e);
	if (e->recv_fd >= 0) {
		if (read(e->recv_fd, &cnt, sizeof(cnt)) != sizeof(cnt))
			cnt = 0;
		close(e->recv_fd);
		e->recv_fd = -1;
	}
	if (!cnt && !always)
		return 0;
	e->recv_fd = eventfd(cnt > UINT32_MAX ? UINT32_MAX : (unsigned int)cnt,
			     EFD_CLOEXEC | EFD_NONBLOCK);
	if (e->recv_fd < 0)
		return -errno;
	e->gen++;
	return poll_add(e);
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
		struct evtchn_port *p = evtchn_slot(&peer->evtchn, (uint32_t)pport);

		/*
		 * No event after close: the survivor stops listening to our
		 * eventfd; the events we sent before stay pending for it.
		 */
		if (end_replug(p, false) < 0)
			end_unplug(p);
		if (peer->ops && peer->ops->evtchn_closed)
			peer->ops->evtchn_closed(peer, (uint32_t)pport);
	}
}

/* A new port: @at itself if non-zero, else the lowest free one. */
static int port_new_at(struct hv_domain *d, void *owner, uint32_t remote,
		       uint32_t at)
{
	int port = at ? evtchn_alloc_at(&d->evtchn, at, (uint16_t)remote, owner) :
			evtchn_alloc(&d->evtchn, (uint16_t)remote, owner);
	struct evtchn_port *e;

	if (port < 0)
		return port;
	e = evtchn_slot(&d->evtchn, (uint32_t)port);
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

static int port_new(struct hv_domain *d, void *owner, uint32_t remote)
{
	return port_new_at(d, owner, remote, 0);
}

/*
 * Make the owner of @e fetch its fds again at once (they changed): one
 * spurious event on its current eventfd (spurious events are allowed, as
 * in Xen); taking it, the owner finds a new generation and asks hv.
 */
static void end_refetch(struct evtchn_port *e, pvio_domid_t dom, uint32_t port)
{
	static const uint64_t one = 1;

	if (e->recv_fd >= 0 && write(e->recv_fd, &one, sizeof(one)) < 0)
		hv_log("waking d%u port %u to fetch its fds: %s", dom, port,
		       strerror(errno));
}

/* A fresh receive eventfd for @e (the peer gets it as its send fd). */
static int end_plug(struct evtchn_port *e)
{
	return end_replug(e, true);
}

static void reply_fds(struct hv_client *c, const struct hv_msg_hdr *h,
		      int ret, struct evtchn_port *e, struct evtchn_port *peer,
		      bool with_poll)
{
	struct hv_evtchn_fds f = { .gen = e->gen };
	struct hv_domain *r;
	int fds[4], n = 0, plat, vec;
	unsigned int vcpu = 0;

	if (with_poll)
		fds[n++] = e->poll_fd;
	if (e->recv_fd >= 0) {
		fds[n++] = e->recv_fd;
		f.nr_fds = 1;
		r = peer ? domain_of(e->remote_dom) : NULL;
		/* only dom0 may hold another domain's platform region */
		if (r && !c->dom && c->domid == 0 && r->ops &&
		    r->ops->evtchn_direct &&
		    r->ops->evtchn_direct(r, e->remote_port, &plat, &vec,
					     &vcpu) == 0) {
			fds[n++] = vec;
			fds[n++] = plat;
			f.nr_fds = 3;
			f.vm_port = e->remote_port;
			f.vm_vcpu = vcpu;
		} else if (peer && peer->recv_fd >= 0) {
			fds[n++] = peer->recv_fd;
			f.nr_fds = 2;
		}
	}
	hv_client_send(c, h, ret, &f, sizeof(f), fds, n);
}

struct evtchn_port *hv_evtchn_port(struct hv_domain *d, void *owner,
				   uint32_t port)
{
	struct evtchn_port *e = evtchn_lookup(&d->evtchn, port);

	return e && e->owner == owner ? e : NULL;
}

struct evtchn_port *hv_evtchn_peer(struct evtchn_port *e)
{
	struct hv_domain *r;

	if (!e || e->state != EVTCHNSTAT_interdomain)
		return NULL;
	r = domain_of(e->remote_dom);
	return r ? evtchn_lookup(&r->evtchn, e->remote_port) : NULL;
}

int hv_evtchn_alloc_unbound(struct hv_domain *d, void *owner, uint32_t remote)
{
	if (remote == PVIO_DOMID_SELF)
		remote = d->domid;
	if (remote >= PVIO_DOMID_FIRST_RESERVED)
		return -EINVAL;
	return port_new(d, owner, remote);
}

int hv_evtchn_import(struct hv_domain *d, uint32_t port, uint32_t remote)
{
	if (remote >= PVIO_DOMID_FIRST_RESERVED)
		return -EINVAL;
	return port_new_at(d, d, remote, port);
}

int hv_evtchn_bind_interdomain(struct hv_domain *d, void *owner,
			       uint32_t rdom, uint32_t rport)
{
	struct hv_domain *r;
	struct evtchn_port *l, *re;
	int port, ret;

	if (rdom == PVIO_DOMID_SELF)
		rdom = d->domid;
	r = domain_of(rdom);
	if (!r || (r->state & PVIO_DOMSTATE_DYING))
		return -ESRCH;
	ret = evtchn_bind_check(&r->evtchn, rport, d->domid);
	if (ret < 0)
		return ret;
	port = port_new(d, owner, rdom);
	if (port < 0)
		return port;
	l = evtchn_slot(&d->evtchn, (uint32_t)port);
	re = evtchn_slot(&r->evtchn, rport);
	if ((ret = end_plug(l)) < 0 || (ret = end_plug(re)) < 0) {
		port_close(d, (uint32_t)port);
		return ret;
	}
	evtchn_connect(&d->evtchn, d->domid, (uint32_t)port, &r->evtchn,
		       (uint16_t)rdom, rport);
	/*
	 * A port bound before (its peer closed, now someone re-binds it)
	 * still sends to the old peer's eventfd: it must fetch the new fds.
	 */
	if (re->gen > 1)
		end_refetch(re, r->domid, rport);
	if (d->ops && d->ops->evtchn_bound)
		d->ops->evtchn_bound(d, (uint32_t)port);
	if (r->ops && r->ops->evtchn_bound)
		r->ops->evtchn_bound(r, rport);
	return port;
}

int hv_evtchn_close(struct hv_domain *d, void *owner, uint32_t port)
{
	if (!hv_evtchn_port(d, owner, port))
		return -EINVAL;
	port_close(d, port);
	return 0;
}

int hv_evtchn_set_mask(struct hv_domain *d, void *owner, uint32_t port,
		       bool mask)
{
	struct evtchn_port *e = hv_evtchn_port(d, owner, port);

	if (!e)
		return -EINVAL;
	if (mask && !e->masked) {
		poll_del(e);
		e->masked = 1;
	} else if (!mask && e->masked) {
		e->masked = 0;
		return poll_add(e);
	}
	return 0;
}

int hv_evtchn_status(pvio_domid_t caller, struct pvio_evtchn_status *st)
{
	struct hv_domain *d;
	struct evtchn_port *e;

	if (st->dom == PVIO_DOMID_SELF)
		st->dom = caller;
	/* a domain may look at its own ports; dom0 at anyone's */
	if (caller != 0 && st->dom != caller)
		return -EPERM;
	d = domain_of(st->dom);
	if (!d)
		return -ESRCH;
	if (st->port == 0 || st->port >= PVIO_EVTCHN_MAX_PORTS)
		return -EINVAL;
	e = evtchn_lookup(&d->evtchn, st->port);
	st->state = e ? e->state : EVTCHNSTAT_closed;
	st->remote_dom = e ? e->remote_dom : 0;
	st->remote_port = e && e->state == EVTCHNSTAT_interdomain ? e->remote_port : 0;
	st->vcpu = e ? e->vcpu : 0;
	st->pad = st->pad2 = 0;
	return 0;
}

int hv_evtchn_op(struct hv_client *c, const struct hv_msg_hdr *h,
		 const void *payload, size_t len)
{
	struct hv_domain *d = client_domain(c);
	struct hv_evtchn_arg a;
	struct evtchn_port *e;
	int ret;

	if (c->domid == PVIO_DOMID_INVALID) {
		hv_client_send(c, h, -EINVAL, NULL, 0, NULL, 0);
		return 0;
	}
	if (h->op == HV_OP_EVTCHN_STATUS) {
		struct pvio_evtchn_status st;

		if (len < sizeof(st)) {
			hv_client_send(c, h, -EINVAL, NULL, 0, NULL, 0);
			return 0;
		}
		memcpy(&st, payload, sizeof(st));
		ret = hv_evtchn_status(c->domid, &st);
		hv_client_send(c, h, ret, ret < 0 ? NULL : &st, ret < 0 ? 0 : sizeof(st),
			       NULL, 0);
		return 0;
	}
	if (len < sizeof(a)) {
		hv_client_send(c, h, -EINVAL, NULL, 0, NULL, 0);
		return 0;
	}
	memcpy(&a, payload, sizeof(a));
	switch (h->op) {
	case HV_OP_EVTCHN_ALLOC_UNBOUND:
		ret = hv_evtchn_alloc_unbound(d, c, a.dom);
		if (ret > 0) {
			reply_fds(c, h, ret, evtchn_slot(&d->evtchn, (uint32_t)ret),
				  NULL, true);
			return 0;
		}
		break;
	case HV_OP_EVTCHN_BIND_INTERDOMAIN:
		ret = hv_evtchn_bind_interdomain(d, c, a.dom, a.port);
		if (ret > 0) {
			e = evtchn_slot(&d->evtchn, (uint32_t)ret);
			reply_fds(c, h, ret, e, hv_evtchn_peer(e), true);
			return 0;
		}
		break;
	case HV_OP_EVTCHN_CLOSE:
		ret = hv_evtchn_close(d, c, a.port);
		break;
	case HV_OP_EVTCHN_FDS:
		e = hv_evtchn_port(d, c, a.port);
		if (!e) {
			ret = -EINVAL;
			break;
		}
		reply_fds(c, h, 0, e, hv_evtchn_peer(e), false);
		return 0;
	case HV_OP_EVTCHN_MASK:
	case HV_OP_EVTCHN_UNMASK:
		ret = hv_evtchn_set_mask(d, c, a.port, h->op == HV_OP_EVTCHN_MASK);
		break;
	case HV_OP_EVTCHN_SEND:
		ret = hv_evtchn_port(d, c, a.port) ? hv_evtchn_send(d, a.port) : -EINVAL;
		break;
	default:
		ret = -ENOSYS;
	}
	hv_client_send(c, h, ret, NULL, 0, NULL, 0);
	return 0;
}

int hv_evtchn_send(struct hv_domain *d, uint32_t port)
{
	struct evtchn_port *e = evtchn_lookup(&d->evtchn, port);
	struct evtchn_port *p;
	struct hv_domain *r;
	uint64_t one = 1;

	if (!e)
		return -EINVAL;
	if (e->state != EVTCHNSTAT_interdomain)
		return -ENOTCONN;
	r = domain_of(e->remote_dom);
	p = r ? evtchn_lookup(&r->evtchn, e->remote_port) : NULL;
	/* EAGAIN: the counter is saturated, the peer has events pending */
	if (p && p->recv_fd >= 0 && write(p->recv_fd, &one, sizeof(one)) < 0 &&
	    errno != EAGAIN)
		return -errno;
	return 0;
}

int hv_evtchn_dom0_peer_fd(struct hv_domain *d, uint32_t port)
{
	struct evtchn_port *e = evtchn_lookup(&d->evtchn, port), *p;

	if (!e || e->state != EVTCHNSTAT_interdomain || e->remote_dom != 0)
		return -1;
	p = hv_evtchn_peer(e);
	/* a port of dom0 that hv owns itself (none today) gets no shortcut */
	return p && p->owner != hv_dom0() ? p->recv_fd : -1;
}

unsigned int hv_evtchn_vcpu(struct hv_domain *d, uint32_t port)
{
	struct evtchn_port *e = evtchn_lookup(&d->evtchn, port);

	return e ? e->vcpu : 0;
}

int hv_evtchn_recv_fd(struct hv_domain *d, uint32_t port)
{
	struct evtchn_port *e = evtchn_lookup(&d->evtchn, port);

	return e ? e->recv_fd : -1;
}

/* A vCPU @d has: a VM's up to max_vcpus; a process domain's 0 alone. */
static bool vcpu_ok(const struct hv_domain *d, uint64_t vcpu)
{
	if (d->cfg.type != PVIO_DOMTYPE_VM)
		return vcpu == 0;
	return vcpu < d->cfg.max_vcpus && vcpu < PVIO_MAX_VCPUS;
}

/*
 * EVTCHNOP_bind_vcpu: raise @e's events on vCPU @vcpu of its VM (vector
 * @vcpu, vcpu_info[@vcpu]). hv's own deliveries follow at once. A dom0
 * client that signals the port itself holds the vector of the old vCPU:
 * its end gets a fresh eventfd (a new generation) and is made to fetch
 * its fds again, the new vector among them; until it has, its events
 * still reach the guest, on the old vCPU. The guest's doorbell to that
 * client moves to the new eventfd (evtchn_bound announces it again).
 */
static int evtchn_bind_vcpu(struct hv_domain *d, struct evtchn_port *e,
			    uint32_t port, uint64_t vcpu)
{
	struct evtchn_port *p = hv_evtchn_peer(e);

	if (!vcpu_ok(d, vcpu))
		return -EINVAL;
	if (e->vcpu == vcpu)
		return 0;
	e->vcpu = (uint8_t)vcpu;
	if (!p || e->remote_dom != 0 || p->owner == hv_dom0() ||
	    p->recv_fd < 0)
		return 0;
	if (end_replug(p, true) < 0) {
		end_unplug(p);
		return 0;
	}
	end_refetch(p, 0, e->remote_port);
	if (d->ops && d->ops->evtchn_bound)
		d->ops->evtchn_bound(d, port);
	return 0;
}

int64_t hv_evtchn_domain_op(struct hv_domain *d, uint32_t op, uint64_t a1,
			    uint64_t a2)
{
	struct evtchn_port *e;
	int port;

	switch (op) {
	case EVTCHNOP_alloc_unbound:
		/* pvio: a2 is the vCPU to raise its events on (0 by default) */
		if (a1 == PVIO_DOMID_SELF)
			a1 = d->domid;
		if (a1 >= PVIO_DOMID_FIRST_RESERVED || !vcpu_ok(d, a2))
			return -EINVAL;
		port = hv_evtchn_alloc_unbound(d, d, (uint32_t)a1);
		if (port > 0)
			evtchn_lookup(&d->evtchn, (uint32_t)port)->vcpu = (uint8_t)a2;
		return port;
	case EVTCHNOP_bind_interdomain:
		if (a1 == PVIO_DOMID_SELF)
			a1 = d->domid;
		if (a1 >= PVIO_DOMID_FIRST_RESERVED ||
		    a2 >= PVIO_EVTCHN_MAX_PORTS)
			return -EINVAL;
		return hv_evtchn_bind_interdomain(d, d, (uint32_t)a1, (uint32_t)a2);
	}
	if (a1 >= PVIO_EVTCHN_MAX_PORTS)
		return -EINVAL;
	e = evtchn_lookup(&d->evtchn, (uint32_t)a1);
	if (!e || e->owner != d)
		return -EINVAL;
	switch (op) {
	case EVTCHNOP_status:
		/* pvio: state | remote domain << 16 (interdomain, unbound) */
		return (int64_t)e->state | (int64_t)e->remote_dom << 16;
	case EVTCHNOP_close:
		return hv_evtchn_close(d, d, (uint32_t)a1);
	case EVTCHNOP_send:
		return hv_evtchn_send(d, (uint32_t)a1);
	case EVTCHNOP_unmask:
	case PVIO_EVTCHNOP_mask:
		/* a VM masks in its shared info; nothing for hv to do */
		return 0;
	case PVIO_EVTCHNOP_bind_vcpu:
		return evtchn_bind_vcpu(d, e, (uint32_t)a1, a2);
	}
	return -ENOSYS;
}

void hv_evtchn_client_gone(struct hv_client *c)
{
	struct hv_domain *d = client_domain(c);

	for (uint32_t p = 1; p < PVIO_EVTCHN_MAX_PORTS && d->evtchn.nr_open; p++) {
		struct evtchn_port *e = evtchn_lookup(&d->evtchn, p);

		if (e && e->owner == c)
			port_close(d, p);
	}
}

void hv_evtchn_domain_gone(struct hv_domain *d)
{
	for (uint32_t p = 1; p < PVIO_EVTCHN_MAX_PORTS && d->evtchn.nr_open; p++)
		if (evtchn_lookup(&d->evtchn, p))
			port_close(d, p);
}
