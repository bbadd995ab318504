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

static void fd_close(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Drop a port's fds; the struct stays (see port_lock). Write-held. */
static void port_clear(struct lp_port *p)
{
	fd_close(&p->poll_fd);
	fd_close(&p->recv_fd);
	fd_close(&p->send_fd);
	p->gen = 0;
	p->seen = 0;
}

void lp_ports_close_all(struct pvio_hv *hv)
{
	for (unsigned int i = 0; i < PVIO_EVTCHN_MAX_PORTS; i++)
		if (hv->ports[i]) {
			port_clear(hv->ports[i]);
			free(hv->ports[i]);
			hv->ports[i] = NULL;
		}
}

static void close_fds(int *fds, int n)
{
	for (int i = 0; i < n; i++)
		close(fds[i]);
}

/* Record a port from an alloc/bind reply: fds = poll [, recv, send]. */
static int port_install(struct pvio_hv *hv, int port, const struct hv_evtchn_fds *f,
			size_t len, int *fds, int nfds)
{
	struct lp_port *p;

	if (port <= 0 || port >= (int)PVIO_EVTCHN_MAX_PORTS || len != sizeof(*f) ||
	    nfds != 1 + (f->nr_fds == 2 ? 2 : 0)) {
		close_fds(fds, nfds);
		return -EPROTO;
	}
	pthread_rwlock_wrlock(&hv->port_lock);
	p = hv->ports[port];
	if (!p) {
		p = malloc(sizeof(*p));
		if (!p) {
			pthread_rwlock_unlock(&hv->port_lock);
			close_fds(fds, nfds);
			return -ENOMEM;
		}
		p->poll_fd = p->recv_fd = p->send_fd = -1;
		hv->ports[port] = p;
	}
	port_clear(p);
	p->poll_fd = fds[0];
	p->recv_fd = nfds == 3 ? fds[1] : -1;
	p->send_fd = nfds == 3 ? fds[2] : -1;
	p->gen = f->gen;
	pthread_rwlock_unlock(&hv->port_lock);
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

/* The port if open. Caller holds port_lock (either way). */
static struct lp_port *port_get(struct pvio_hv *hv, pvio_evtchn_port_t port)
{
	struct lp_port *p;

	if (port == 0 || port >= PVIO_EVTCHN_MAX_PORTS)
		return NULL;
	p = hv->ports[port];
	return p && p->poll_fd >= 0 ? p : NULL;
}

int pvio_evtchn_close(struct pvio_hv *hv, pvio_evtchn_port_t port)
{
	struct hv_evtchn_arg a = { .port = port };
	struct lp_port *p;
	int ret;

	if (port == 0 || port >= PVIO_EVTCHN_MAX_PORTS)
		return -EINVAL;
	ret = lp_simple(hv, HV_OP_EVTCHN_CLOSE, &a, sizeof(a), NULL, 0);
	pthread_rwlock_wrlock(&hv->port_lock);
	p = port_get(hv, port);
	if (p)
		port_clear(p);
	pthread_rwlock_unlock(&hv->port_lock);
	return ret;
}

/* Fetch the current eventfds of @port from hv. Caller write-holds port_lock. */
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
		close_fds(fds, nfds);
		return -EPROTO;
	}
	if (nfds == 2) {
		fd_close(&p->recv_fd);
		fd_close(&p->send_fd);
		p->recv_fd = fds[0];
		p->send_fd = fds[1];
		p->gen = f.gen;
	}
	return 0;
}

int pvio_evtchn_notify(struct pvio_hv *hv, pvio_evtchn_port_t port)
{
	static const uint64_t one = 1;
	struct lp_port *p;
	int ret = 0;

	/*
	 * The write happens under the (read) lock so that a concurrent close
	 * cannot hand our fd number to someone else meanwhile.
	 */
	pthread_rwlock_rdlock(&hv->port_lock);
	p = port_get(hv, port);
	if (p && p->send_fd >= 0) {
		if (write(p->send_fd, &one, sizeof(one)) != sizeof(one))
			ret = -errno;
		pthread_rwlock_unlock(&hv->port_lock);
		return ret;
	}
	pthread_rwlock_unlock(&hv->port_lock);

	/* no send fd yet: the port may have been bound since we looked */
	pthread_rwlock_wrlock(&hv->port_lock);
	p = port_get(hv, port);
	if (!p)
		ret = -EINVAL;
	else if (p->send_fd < 0 && (ret = port_refresh(hv, port, p)) == 0 &&
		 p->send_fd < 0)
		ret = -ENOTCONN;
	if (ret == 0 && write(p->send_fd, &one, sizeof(one)) != sizeof(one))
		ret = -errno;
	pthread_rwlock_unlock(&hv->port_lock);
	return ret;
}

int pvio_evtchn_fd(struct pvio_hv *hv, pvio_evtchn_port_t port)
{
	struct lp_port *p;
	int fd;

	pthread_rwlock_rdlock(&hv->port_lock);
	p = port_get(hv, port);
	fd = p ? p->poll_fd : -EINVAL;
	pthread_rwlock_unlock(&hv->port_lock);
	return fd;
}

int pvio_evtchn_ack(struct pvio_hv *hv, pvio_evtchn_port_t port)
{
	struct epoll_event ev[2];
	struct lp_port *p;
	uint64_t cnt = 0;
	bool stale = false;
	int n, ret = 0;

	pthread_rwlock_rdlock(&hv->port_lock);
	p = port_get(hv, port);
	if (!p) {
		pthread_rwlock_unlock(&hv->port_lock);
		return -EINVAL;
	}
	/*
	 * Only what the poll set reports counts: an eventfd hv unplugged
	 * (closed peer) is no longer in it, whatever was written to it. A
	 * wait that just saw our current eventfd ready spares us the look.
	 */
	if (__atomic_exchange_n(&p->seen, 0, __ATOMIC_ACQ_REL) == p->gen + 1) {
		n = 1;
		ev[0].data.u64 = p->gen;
	} else {
		n = epoll_wait(p->poll_fd, ev, 2, 0);
	}
	for (int i = 0; i < n; i++)
		if (ev[i].data.u64 != p->gen)
			stale = true;
	if (n > 0 && !stale && p->recv_fd >= 0 &&
	    read(p->recv_fd, &cnt, sizeof(cnt)) != sizeof(cnt))
		cnt = 0;
	pthread_rwlock_unlock(&hv->port_lock);
	if (!stale)
		return cnt > INT_MAX ? INT_MAX : (int)cnt;

	/* hv re-plugged the port: take the new eventfds, then count */
	pthread_rwlock_wrlock(&hv->port_lock);
	p = port_get(hv, port);
	if (!p)
		ret = -EINVAL;
	else
		ret = port_refresh(hv, port, p);
	if (ret == 0 && epoll_wait(p->poll_fd, ev, 1, 0) == 1 &&
	    ev[0].data.u64 == p->gen && p->recv_fd >= 0 &&
	    read(p->recv_fd, &cnt, sizeof(cnt)) != sizeof(cnt))
		cnt = 0;
	pthread_rwlock_unlock(&hv->port_lock);
	if (ret < 0)
		return ret;
	return cnt > INT_MAX ? INT_MAX : (int)cnt;
}

int pvio_evtchn_wait(struct pvio_hv *hv, pvio_evtchn_port_t port, int timeout_ms)
{
	struct epoll_event ev;
	struct lp_port *p;
	int fd, n;

	pthread_rwlock_rdlock(&hv->port_lock);
	p = port_get(hv, port);
	fd = p ? p->poll_fd : -EINVAL;
	pthread_rwlock_unlock(&hv->port_lock);
	if (fd < 0)
		return fd;
	do {
		n = epoll_wait(fd, &ev, 1, timeout_ms);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	/* tell the ack that follows which eventfd is ready */
	if (n > 0)
		__atomic_store_n(&p->seen, (uint32_t)ev.data.u64 + 1, __ATOMIC_RELEASE);
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
