/* SPDX-License-Identifier: MIT */
/*
 * libpvio: event channels. Binding goes through hv; notification is a
 * direct write on the peer's eventfd and waiting is an epoll_wait on the
 * port's poll set (which hv owns, so that it can unplug a closed peer).
 * An event whose tag is not the generation we know means hv re-plugged the
 * port (a re-bind): we fetch the new eventfds once.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "libpvio_priv.h"

static void port_free(struct lp_port *p)
{
	if (p->poll_fd >= 0)
		close(p->poll_fd);
	if (p->recv_fd >= 0)
		close(p->recv_fd);
	if (p->send_fd >= 0)
		close(p->send_fd);
	free(p);
}

void lp_ports_close_all(struct pvio_hv *hv)
{
	for (unsigned int i = 0; i < PVIO_EVTCHN_MAX_PORTS; i++)
		if (hv->ports[i]) {
			port_free(hv->ports[i]);
			hv->ports[i] = NULL;
		}
}

/* Record a port from an alloc/bind reply: fds = poll [, recv, send]. */
static int port_install(struct pvio_hv *hv, int port, const struct hv_evtchn_fds *f,
			size_t len, int *fds, int nfds)
{
	struct lp_port *p;

	if (port <= 0 || port >= (int)PVIO_EVTCHN_MAX_PORTS || len != sizeof(*f) ||
	    nfds != 1 + (int)(f->nr_fds == 2 ? 2 : 0)) {
		for (int i = 0; i < nfds; i++)
			close(fds[i]);
		return -EPROTO;
	}
	p = malloc(sizeof(*p));
	if (!p) {
		for (int i = 0; i < nfds; i++)
			close(fds[i]);
		return -ENOMEM;
	}
	p->poll_fd = fds[0];
	p->recv_fd = nfds == 3 ? fds[1] : -1;
	p->send_fd = nfds == 3 ? fds[2] : -1;
	p->gen = f->gen;
	pthread_mutex_lock(&hv->port_lock);
	if (hv->ports[port])
		port_free(hv->ports[port]);
	hv->ports[port] = p;
	pthread_mutex_unlock(&hv->port_lock);
	return 0;
}

int pvio_evtchn_alloc_unbound(struct pvio_hv *hv, pvio_domid_t remote,
			      pvio_evtchn_port_t *port)
{
	struct hv_evtchn_arg a = { .dom = remote };
	struct hv_evtchn_fds f;
	int fds[HV_MSG_MAX_FDS], nfds, ret;
	size_t len;

	ret = lp_call(hv, HV_OP_EVTCHN_ALLOC_UNBOUND, &a, sizeof(a), NULL, 0,
		      -1, &f, sizeof(f), &len, fds, &nfds);
	if (ret < 0)
		return ret;
	*port = (pvio_evtchn_port_t)ret;
	return port_install(hv, ret, &f, len, fds, nfds);
}

int pvio_evtchn_bind_interdomain(struct pvio_hv *hv, pvio_domid_t remote,
				 pvio_evtchn_port_t remote_port,
				 pvio_evtchn_port_t *local)
{
	struct hv_evtchn_arg a = { .dom = remote, .port = remote_port };
	struct hv_evtchn_fds f;
	int fds[HV_MSG_MAX_FDS], nfds, ret;
	size_t len;

	ret = lp_call(hv, HV_OP_EVTCHN_BIND_INTERDOMAIN, &a, sizeof(a), NULL,
		      0, -1, &f, sizeof(f), &len, fds, &nfds);
	if (ret < 0)
		return ret;
	*local = (pvio_evtchn_port_t)ret;
	return port_install(hv, ret, &f, len, fds, nfds);
}

int pvio_evtchn_close(struct pvio_hv *hv, pvio_evtchn_port_t port)
{
	struct hv_evtchn_arg a = { .port = port };
	struct lp_port *p = NULL;
	int ret;

	if (port == 0 || port >= PVIO_EVTCHN_MAX_PORTS)
		return -EINVAL;
	ret = lp_simple(hv, HV_OP_EVTCHN_CLOSE, &a, sizeof(a), NULL, 0);
	pthread_mutex_lock(&hv->port_lock);
	p = hv->ports[port];
	hv->ports[port] = NULL;
	pthread_mutex_unlock(&hv->port_lock);
	if (p)
		port_free(p);
	return ret;
}

/* Fetch the current eventfds of @port from hv. Caller holds port_lock. */
static int port_refresh(struct pvio_hv *hv, pvio_evtchn_port_t port,
			struct lp_port *p)
{
	struct hv_evtchn_arg a = { .port = port };
	struct hv_evtchn_fds f;
	int fds[HV_MSG_MAX_FDS], nfds, ret;
	size_t len;

	ret = lp_call(hv, HV_OP_EVTCHN_FDS, &a, sizeof(a), NULL, 0, -1, &f,
		      sizeof(f), &len, fds, &nfds);
	if (ret < 0)
		return ret;
	if (len != sizeof(f) || nfds != (f.nr_fds == 2 ? 2 : 0)) {
		for (int i = 0; i < nfds; i++)
			close(fds[i]);
		return -EPROTO;
	}
	if (nfds == 2) {
		if (p->recv_fd >= 0)
			close(p->recv_fd);
		if (p->send_fd >= 0)
			close(p->send_fd);
		p->recv_fd = fds[0];
		p->send_fd = fds[1];
		p->gen = f.gen;
	}
	return 0;
}

static struct lp_port *port_get(struct pvio_hv *hv, pvio_evtchn_port_t port)
{
	if (port == 0 || port >= PVIO_EVTCHN_MAX_PORTS)
		return NULL;
	return hv->ports[port];
}

int pvio_evtchn_notify(struct pvio_hv *hv, pvio_evtchn_port_t port)
{
	static const uint64_t one = 1;
	struct lp_port *p;
	int fd, ret = 0;

	pthread_mutex_lock(&hv->port_lock);
	p = port_get(hv, port);
	if (!p) {
		pthread_mutex_unlock(&hv->port_lock);
		return -EINVAL;
	}
	if (p->send_fd < 0)
		ret = port_refresh(hv, port, p);	/* bound since we looked */
	fd = p->send_fd;
	/*
	 * The write happens under the lock so that a concurrent close cannot
	 * hand our fd number to someone else; it is one non-blocking syscall.
	 */
	if (ret == 0 && fd < 0)
		ret = -ENOTCONN;
	if (ret == 0 && write(fd, &one, sizeof(one)) != sizeof(one))
		ret = -errno;
	pthread_mutex_unlock(&hv->port_lock);
	return ret;
}

int pvio_evtchn_fd(struct pvio_hv *hv, pvio_evtchn_port_t port)
{
	struct lp_port *p;
	int fd;

	pthread_mutex_lock(&hv->port_lock);
	p = port_get(hv, port);
	fd = p ? p->poll_fd : -EINVAL;
	pthread_mutex_unlock(&hv->port_lock);
	return fd;
}

int pvio_evtchn_ack(struct pvio_hv *hv, pvio_evtchn_port_t port)
{
	struct epoll_event ev[2];
	struct lp_port *p;
	uint64_t cnt = 0;
	int n, ret = 0;

	pthread_mutex_lock(&hv->port_lock);
	p = port_get(hv, port);
	if (!p) {
		pthread_mutex_unlock(&hv->port_lock);
		return -EINVAL;
	}
	/*
	 * Only what the poll set reports counts: an eventfd hv unplugged
	 * (closed peer) is no longer in it, whatever was written to it.
	 */
	n = epoll_wait(p->poll_fd, ev, 2, 0);
	for (int i = 0; i < n; i++)
		if (ev[i].data.u64 != p->gen)
			ret = port_refresh(hv, port, p);
	if (n > 0 && ret == 0 && p->recv_fd >= 0 &&
	    read(p->recv_fd, &cnt, sizeof(cnt)) != sizeof(cnt))
		cnt = 0;
	pthread_mutex_unlock(&hv->port_lock);
	if (ret < 0)
		return ret;
	return cnt > INT_MAX ? INT_MAX : (int)cnt;
}

int pvio_evtchn_wait(struct pvio_hv *hv, pvio_evtchn_port_t port, int timeout_ms)
{
	struct epoll_event ev;
	int fd = pvio_evtchn_fd(hv, port), n;

	if (fd < 0)
		return fd;
	do {
		n = epoll_wait(fd, &ev, 1, timeout_ms);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n > 0 ? 1 : 0;
}

int pvio_evtchn_mask(struct pvio_hv *hv, pvio_evtchn_port_t port)
{
	struct hv_evtchn_arg a = { .port = port };

	return lp_simple(hv, HV_OP_EVTCHN_MASK, &a, sizeof(a), NULL, 0);
}

int pvio_evtchn_unmask(struct pvio_hv *hv, pvio_evtchn_port_t port)
{
	struct hv_evtchn_arg a = { .port = port };

	return lp_simple(hv, HV_OP_EVTCHN_UNMASK, &a, sizeof(a), NULL, 0);
}

int pvio_evtchn_status(struct pvio_hv *hv, struct pvio_evtchn_status *st)
{
	size_t len;
	int ret;

	ret = lp_call(hv, HV_OP_EVTCHN_STATUS, st, sizeof(*st), NULL, 0, -1, st,
		      sizeof(*st), &len, NULL, NULL);
	if (ret < 0)
		return ret;
	return len == sizeof(*st) ? 0 : -EPROTO;
}
