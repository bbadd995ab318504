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
#include <sys/mman.h>
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
	if (p->vm_plat)
		munmap(p->vm_plat, PVIO_PLATFORM_SIZE);
	p->vm_plat = NULL;
	p->gen = 0;
	p->seen = 0;
	p->nr_kicked = p->nr_pending = p->nr_masked = 0;
}

/*
 * Take the fds of a reply: fds[0] recv, then (nr_fds >= 2) fds[1] send
 * and, when the peer is a VM (nr_fds 3; fds[1] is then the vector of the
 * vCPU its port is bound to), fds[2] its platform region, mapped here so
 * that a notification marks the port pending without asking hv.
 * nr_fds 1: an unbound port that still has events pending, no send side.
 * Consumes the fds. Write-held.
 */
static int port_take_fds(struct lp_port *p, const struct hv_evtchn_fds *f,
			 int *fds)
{
	void *plat = NULL;

	if (f->nr_fds == 3) {
		plat = mmap(NULL, PVIO_PLATFORM_SIZE, PROT_READ | PROT_WRITE,
			    MAP_SHARED, fds[2], 0);
		close(fds[2]);
		if (plat == MAP_FAILED || f->vm_port == 0 ||
		    f->vm_port >= PVIO_EVTCHN_MAX_PORTS ||
		    f->vm_vcpu >= PVIO_MAX_VCPUS) {
			if (plat != MAP_FAILED)
				munmap(plat, PVIO_PLATFORM_SIZE);
			close(fds[0]);
			close(fds[1]);
			return -EPROTO;
		}
	}
	fd_close(&p->recv_fd);
	fd_close(&p->send_fd);
	if (p->vm_plat)
		munmap(p->vm_plat, PVIO_PLATFORM_SIZE);
	p->recv_fd = fds[0];
	p->send_fd = f->nr_fds >= 2 ? fds[1] : -1;
	p->vm_plat = plat;
	p->vm_port = f->vm_port;
	p->vm_vcpu = f->vm_vcpu;
	p->gen = f->gen;
	return 0;
}

/* Wake the peer: its eventfd, or for a VM the pending bit and vector. */
static int port_signal(struct lp_port *p)
{
	static const uint64_t one = 1;

	/* masked or already pending: the guest will look without a kick */
	if (p->vm_plat) {
		switch (pvio_platform_raise(p->vm_plat, p->vm_vcpu, p->vm_port)) {
		case PVIO_RAISE_KICK:
			break;
		case PVIO_RAISE_PENDING:
			__atomic_fetch_add(&p->nr_pending, 1, __ATOMIC_RELAXED);
			return 0;
		case PVIO_RAISE_MASKED:
			__atomic_fetch_add(&p->nr_masked, 1, __ATOMIC_RELAXED);
			return 0;
		default:
			return 0;
		}
	}
	if (write(p->send_fd, &one, sizeof(one)) != sizeof(one))
		return -errno;
	__atomic_fetch_add(&p->nr_kicked, 1, __ATOMIC_RELAXED);
	return 0;
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
	int ret;

	if (port <= 0 || port >= (int)PVIO_EVTCHN_MAX_PORTS || len != sizeof(*f) ||
	    f->nr_fds > 3 || nfds != 1 + (int)f->nr_fds) {
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
		p->vm_plat = NULL;
		hv->ports[port] = p;
	}
	port_clear(p);
	p->poll_fd = fds[0];
	p->gen = f->gen;
	ret = f->nr_fds ? port_take_fds(p, f, fds + 1) : 0;
	pthread_rwlock_unlock(&hv->port_lock);
	return ret;
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
	if (len != sizeof(f) || f.nr_fds > 3 || nfds != (int)f.nr_fds) {
		close_fds(fds, nfds);
		return -EPROTO;
	}
	/* nothing plugged (unbound, nothing pending): keep what we have */
	return nfds ? port_take_fds(p, &f, fds) : 0;
}

int pvio_evtchn_notify(struct pvio_hv *hv, pvio_evtchn_port_t port)
{
	struct lp_port *p;
	int ret = 0;

	/*
	 * The write happens under the (read) lock so that a concurrent close
	 * cannot hand our fd number to someone else meanwhile.
	 */
	pthread_rwlock_rdlock(&hv->port_lock);
	p = port_get(hv, port);
	if (p && p->send_fd >= 0) {
		ret = port_signal(p);
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
	if (ret == 0)
		ret = port_signal(p);
	pthread_rwlock_unlock(&hv->port_lock);
	return ret;
}

int pvio_evtchn_counts(struct pvio_hv *hv, pvio_evtchn_port_t port,
		       uint64_t c[3])
{
	struct lp_port *p;

	pthread_rwlock_rdlock(&hv->port_lock);
	p = port_get(hv, port);
	if (p) {
		c[0] = __atomic_load_n(&p->nr_kicked, __ATOMIC_RELAXED);
		c[1] = __atomic_load_n(&p->nr_pending, __ATOMIC_RELAXED);
		c[2] = __atomic_load_n(&p->nr_masked, __ATOMIC_RELAXED);
	}
	pthread_rwlock_unlock(&hv->port_lock);
	return p ? 0 : -EINVAL;
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
