/*
 * User-space netfront control plane: reads the backend's features, publishes
 * rings and event channels, and follows the backend's state in a control
 * thread so that a restarted backend (Closed, then InitWait) is rejoined.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "netfront_priv.h"

static long long nf_read_int(struct netfront *nf, const char *dir,
			     const char *key, long long def)
{
	char path[192];
	long long v;

	if (snprintf(path, sizeof(path), "%s/%s", dir, key) >= (int)sizeof(path))
		return def;
	if (xs_read_int(nf->xs, XS_TXN_NULL, path, &v))
		return def;
	return v;
}

static int nf_printf(struct netfront *nf, xs_transaction_t t, const char *dir,
		     const char *key, long long v)
{
	char path[192];

	if (snprintf(path, sizeof(path), "%s/%s", dir, key) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	return xs_printf(nf->xs, t, path, "%lld", v);
}

static void nf_switch(struct netfront *nf, enum xenbus_state s)
{
	if (nf->state == s)
		return;
	xenbus_switch_state(nf->xs, nf->fedir, s);
	nf->state = s;
}

static void nf_wake_queues(struct netfront *nf)
{
	uint64_t one = 1;

	for (unsigned int i = 0; i < nf->nr_queues; i++) {
		atomic_store(&nf->queues[i].ctl_pending, true);
		if (write(nf->queues[i].ctl_fd, &one, sizeof(one)) < 0)
			perror("netfront: wake");
	}
}

static void nf_teardown(struct netfront *nf)
{
	for (unsigned int i = 0; i < nf->nr_queues; i++) {
		struct netfront_queue *q = &nf->queues[i];

		pthread_mutex_lock(&q->lock);
		if (q->up || q->tx_ring_granted || q->port_tx_open)
			netfront_queue_teardown(q);
		q->up = false;
		pthread_mutex_unlock(&q->lock);
	}
	pthread_mutex_lock(&nf->lock);
	nf->connected = false;
	pthread_mutex_unlock(&nf->lock);
}

static int nf_write_keys(struct xs_handle *h, xs_transaction_t t, void *arg)
{
	struct netfront *nf = arg;
	char alive[192];
	int ret;

	/* never recreate a dir the toolstack removed (detach, destroy) */
	snprintf(alive, sizeof(alive), "%s/backend-id", nf->fedir);
	ret = xs_read(h, t, alive, NULL, NULL);
	for (unsigned int i = 0; i < nf->nr_queues && !ret; i++) {
		struct netfront_queue *q = &nf->queues[i];
		char dir[160];

		if (nf->nr_queues == 1)
			snprintf(dir, sizeof(dir), "%s", nf->fedir);
		else if (snprintf(dir, sizeof(dir), "%s/queue-%u", nf->fedir, i) >=
			 (int)sizeof(dir))
			return -ENAMETOOLONG;
		ret = nf_printf(nf, t, dir, "tx-ring-ref", q->tx_ring_ref);
		if (!ret)
			ret = nf_printf(nf, t, dir, "rx-ring-ref", q->rx_ring_ref);
		if (!ret && nf->split) {
			ret = nf_printf(nf, t, dir, "event-channel-tx", q->port_tx);
			if (!ret)
				ret = nf_printf(nf, t, dir, "event-channel-rx",
						q->port_rx);
		} else if (!ret) {
			ret = nf_printf(nf, t, dir, "event-channel", q->port_tx);
		}
	}
	if (!ret && nf->nr_queues > 1)
		ret = nf_printf(nf, t, nf->fedir, "multi-queue-num-queues",
				nf->nr_queues);
	if (!ret)
		ret = nf_printf(nf, t, nf->fedir, "request-rx-copy", 1);
	if (!ret)
		ret = nf_printf(nf, t, nf->fedir, "feature-rx-notify", 1);
	if (!ret)
		ret = nf_printf(nf, t, nf->fedir, "feature-sg", nf->sg);
	if (!ret)
		ret = nf_printf(nf, t, nf->fedir, "feature-gso-tcpv4", nf->gso4);
	if (!ret)
		ret = nf_printf(nf, t, nf->fedir, "feature-gso-tcpv6", nf->gso6);
	if (!ret)
		ret = nf_printf(nf, t, nf->fedir, "feature-no-csum-offload",
				!nf->csum);
	if (!ret)
		ret = nf_printf(nf, t, nf->fedir, "feature-ipv6-csum-offload",
				nf->csum);
	if (!ret) {
		char path[192];

		snprintf(path, sizeof(path), "%s/state", nf->fedir);
		ret = xs_printf(h, t, path, "%d", XenbusStateInitialised);
	}
	return ret;
}

/* Backend is in InitWait: negotiate, build the rings, publish them. */
static int nf_setup(struct netfront *nf)
{
	long long maxq;
	int ret;

	maxq = nf_read_int(nf, nf->bedir, "multi-queue-max-queues", 1);
	nf->split = !nf->opts.no_split_evtchn &&
		nf_read_int(nf, nf->bedir, "feature-split-event-channels", 0) == 1;
	nf->sg = !nf->opts.no_sg && nf_read_int(nf, nf->bedir, "feature-sg", 0) == 1;
	nf->csum = !nf->opts.no_csum;
	nf->gso4 = nf->sg && nf->csum && !nf->opts.no_gso &&
		nf_read_int(nf, nf->bedir, "feature-gso-tcpv4", 0) == 1;
	nf->gso6 = nf->sg && nf->csum && !nf->opts.no_gso &&
		nf_read_int(nf, nf->bedir, "feature-gso-tcpv6", 0) == 1;
	if (nf_read_int(nf, nf->bedir, "feature-rx-copy", 0) != 1) {
		xenbus_dev_fatal(nf->xs, nf->fedir, EOPNOTSUPP,
				 "backend lacks feature-rx-copy");
		return -EOPNOTSUPP;
	}
	/* the queue count is fixed at open: the app holds one fd per queue */
	if (maxq < (long long)nf->nr_queues) {
		xenbus_dev_fatal(nf->xs, nf->fedir, EINVAL,
				 "backend offers %lld queues, %u in use", maxq,
				 nf->nr_queues);
		return -EINVAL;
	}
	for (unsigned int i = 0; i < nf->nr_queues; i++) {
		struct netfront_queue *q = &nf->queues[i];

		pthread_mutex_lock(&q->lock);
		ret = netfront_queue_setup(q);
		if (ret)
			netfront_queue_teardown(q);
		pthread_mutex_unlock(&q->lock);
		if (ret)
			goto fail;
	}
	ret = xs_transaction_run(nf->xs, nf_write_keys, nf);
	if (ret)
		goto fail;
	nf->state = XenbusStateInitialised;
	return 0;
fail:
	nf_teardown(nf);
	return ret;
}

static void nf_step(struct netfront *nf)
{
	enum xenbus_state be = xenbus_read_state(nf->xs, nf->bedir);

	switch (be) {
	case XenbusStateInitWait:
		if (nf->state == XenbusStateInitialised)
			break;	/* it has not seen our keys yet */
		if (nf->state == XenbusStateConnected) {
			/* a backend that started over without closing */
			nf_teardown(nf);
			nf->reconnects++;
		}
		if (nf_setup(nf)) {
			nf_switch(nf, XenbusStateClosing);
			break;
		}
		break;
	case XenbusStateConnected:
		if (nf->state != XenbusStateInitialised)
			break;
		for (unsigned int i = 0; i < nf->nr_queues; i++) {
			pthread_mutex_lock(&nf->queues[i].lock);
			nf->queues[i].up = true;
			pthread_mutex_unlock(&nf->queues[i].lock);
		}
		nf_switch(nf, XenbusStateConnected);
		pthread_mutex_lock(&nf->lock);
		nf->connected = true;
		pthread_cond_broadcast(&nf->cond);
		pthread_mutex_unlock(&nf->lock);
		nf_wake_queues(nf);
		break;
	case XenbusStateClosing:
		if (nf->state != XenbusStateClosed) {
			nf_teardown(nf);
			nf_switch(nf, XenbusStateClosed);
		}
		break;
	case XenbusStateClosed:
		if (nf->state == XenbusStateInitialised ||
		    nf->state == XenbusStateConnected)
			nf_teardown(nf);
		if (nf->state == XenbusStateInitialising)
			break;
		/*
		 * Still wanted (online) means a backend restart: say we are
		 * ready to start over, the backend answers with InitWait.
		 */
		/* (a missing key means the toolstack is removing the vif) */
		if (nf_read_int(nf, nf->bedir, "online", 0) == 1 &&
		    nf_read_int(nf, nf->fedir, "backend-id", -1) >= 0) {
			if (nf->state != XenbusStateClosed)
				nf_switch(nf, XenbusStateClosed);
			nf->reconnects++;
			nf_switch(nf, XenbusStateInitialising);
		} else {
			nf_switch(nf, XenbusStateClosed);
		}
		break;
	default:
		break;
	}
}

static void nf_watch_cb(struct xs_handle *h, const char *path,
			const char *token, void *arg)
{
	struct netfront *nf = arg;

	pthread_mutex_lock(&nf->lock);
	nf->kick = true;
	pthread_cond_broadcast(&nf->cond);
	pthread_mutex_unlock(&nf->lock);
}

static void *nf_ctl_main(void *arg)
{
	struct netfront *nf = arg;

	for (;;) {
		struct timespec ts;

		pthread_mutex_lock(&nf->lock);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		while (!nf->kick && !nf->stop)
			if (pthread_cond_timedwait(&nf->cond, &nf->lock, &ts))
				break;
		nf->kick = false;
		if (nf->stop) {
			pthread_mutex_unlock(&nf->lock);
			break;
		}
		pthread_mutex_unlock(&nf->lock);
		nf_step(nf);
	}
	return NULL;
}

static int nf_read_mac(struct netfront *nf)
{
	char path[160], *val = NULL;
	size_t len;
	unsigned int m[6];

	snprintf(path, sizeof(path), "%s/mac", nf->fedir);
	if (xs_read(nf->xs, XS_TXN_NULL, path, &val, &len))
		return -ENOENT;
	if (sscanf(val, "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4],
		   &m[5]) != 6) {
		free(val);
		return -EINVAL;
	}
	free(val);
	for (unsigned int i = 0; i < 6; i++)
		nf->mac[i] = (uint8_t)m[i];
	return 0;
}

int netfront_open(struct pvio_dom *d, struct xs_handle *xs, unsigned int devid,
		  const struct netfront_opts *opts, int timeout_ms,
		  struct netfront **out)
{
	struct netfront *nf = calloc(1, sizeof(*nf));
	char path[160], *val = NULL;
	size_t len;
	long long v;
	int ret;

	if (!nf)
		return -ENOMEM;
	nf->dom = d;
	nf->hv = pvio_dom_hv(d);
	nf->xs = xs;
	nf->devid = devid;
	if (opts)
		nf->opts = *opts;
	nf->nr_queues = nf->opts.nr_queues ? nf->opts.nr_queues : 1;
	if (nf->nr_queues > NETFRONT_MAX_QUEUES) {
		free(nf);
		return -EINVAL;
	}
	pthread_mutex_init(&nf->lock, NULL);
	pthread_cond_init(&nf->cond, NULL);
	snprintf(nf->fedir, sizeof(nf->fedir), "/local/domain/%u/device/vif/%u",
		 pvio_dom_id(d), devid);
	snprintf(path, sizeof(path), "%s/backend", nf->fedir);
	ret = xs_read(xs, XS_TXN_NULL, path, &val, &len);
	if (ret) {
		fprintf(stderr, "netfront: no vif %u for domain %u (%s: %s)\n",
			devid, pvio_dom_id(d), path, strerror(-ret));
		goto fail_free;
	}
	if (len >= sizeof(nf->bedir)) {
		free(val);
		ret = -EINVAL;
		goto fail_free;
	}
	memcpy(nf->bedir, val, len + 1);
	free(val);
	v = nf_read_int(nf, nf->fedir, "backend-id", 0);
	nf->backend_id = (pvio_domid_t)v;
	v = nf_read_int(nf, nf->fedir, "mtu", 1500);
	nf->mtu = v >= 68 && v <= PVIO_NETIF_MAX_MTU ? (unsigned int)v : 1500;
	if (nf_read_mac(nf)) {
		/* a locally administered address from our ids */
		nf->mac[0] = 0x02;
		nf->mac[1] = 0x16;
		nf->mac[2] = 0x3e;
		nf->mac[3] = (uint8_t)(pvio_dom_id(d) >> 8);
		nf->mac[4] = (uint8_t)pvio_dom_id(d);
		nf->mac[5] = (uint8_t)devid;
	}

	for (unsigned int i = 0; i < nf->nr_queues; i++) {
		struct netfront_queue *q = &nf->queues[i];
		struct epoll_event ev = { .events = EPOLLIN };

		q->nf = nf;
		q->id = i;
		q->evfd_tx = q->evfd_rx = -1;
		pthread_mutex_init(&q->lock, NULL);
		q->epfd = epoll_create1(EPOLL_CLOEXEC);
		q->ctl_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (q->epfd < 0 || q->ctl_fd < 0) {
			ret = -errno;
			goto fail_queues;
		}
		if (epoll_ctl(q->epfd, EPOLL_CTL_ADD, q->ctl_fd, &ev)) {
			ret = -errno;
			goto fail_queues;
		}
		ret = netfront_queue_alloc_buffers(q);
		if (ret) {
			fprintf(stderr, "netfront: cannot allocate buffers of queue %u: %s (domain memory too small?)\n",
				i, strerror(-ret));
			goto fail_queues;
		}
	}

	nf->state = xenbus_read_state(xs, nf->fedir);
	if (nf->state != XenbusStateInitialising) {
		/* a previous instance of us left it: start over */
		nf->state = XenbusStateUnknown;
		nf_switch(nf, XenbusStateInitialising);
	}
	snprintf(nf->token, sizeof(nf->token), "netfront:%u", devid);
	snprintf(path, sizeof(path), "%s/state", nf->bedir);
	ret = pthread_create(&nf->ctl_thread, NULL, nf_ctl_main, nf);
	if (ret) {
		ret = -ret;
		goto fail_queues;
	}
	ret = xs_watch(xs, path, nf->token, nf_watch_cb, nf);
	if (ret)
		goto fail_thread;

	if (timeout_ms != 0) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		if (timeout_ms > 0) {
			ts.tv_sec += timeout_ms / 1000;
			ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
		}
		pthread_mutex_lock(&nf->lock);
		while (!nf->connected) {
			if (timeout_ms < 0)
				pthread_cond_wait(&nf->cond, &nf->lock);
			else if (pthread_cond_timedwait(&nf->cond, &nf->lock, &ts))
				break;
		}
		ret = nf->connected ? 0 : -ETIMEDOUT;
		pthread_mutex_unlock(&nf->lock);
		if (ret) {
			fprintf(stderr, "netfront: backend %s did not connect (state %s)\n",
				nf->bedir,
				xenbus_state_name(xenbus_read_state(xs, nf->bedir)));
			netfront_close(nf);
			return ret;
		}
	}
	*out = nf;
	return 0;

fail_thread:
	pthread_mutex_lock(&nf->lock);
	nf->stop = true;
	pthread_cond_broadcast(&nf->cond);
	pthread_mutex_unlock(&nf->lock);
	pthread_join(nf->ctl_thread, NULL);
fail_queues:
	for (unsigned int i = 0; i < nf->nr_queues; i++) {
		struct netfront_queue *q = &nf->queues[i];

		if (q->nf) {
			netfront_queue_free_buffers(q);
			if (q->epfd > 0)
				close(q->epfd);
			if (q->ctl_fd > 0)
				close(q->ctl_fd);
		}
	}
fail_free:
	free(nf);
	return ret;
}

void netfront_close(struct netfront *nf)
{
	char path[192];

	if (!nf)
		return;
	snprintf(path, sizeof(path), "%s/state", nf->bedir);
	xs_unwatch(nf->xs, path, nf->token);
	pthread_mutex_lock(&nf->lock);
	nf->stop = true;
	pthread_cond_broadcast(&nf->cond);
	pthread_mutex_unlock(&nf->lock);
	pthread_join(nf->ctl_thread, NULL);
	/* tell the backend first, so that it stops touching our pages */
	nf_switch(nf, XenbusStateClosing);
	xenbus_wait_state(nf->xs, nf->bedir,
			  XENBUS_STATE_BIT(XenbusStateClosing) |
			  XENBUS_STATE_BIT(XenbusStateClosed) |
			  XENBUS_STATE_BIT(XenbusStateUnknown), 2000);
	nf_teardown(nf);
	nf_switch(nf, XenbusStateClosed);
	for (unsigned int i = 0; i < nf->nr_queues; i++) {
		struct netfront_queue *q = &nf->queues[i];

		netfront_queue_free_buffers(q);
		close(q->epfd);
		close(q->ctl_fd);
		pthread_mutex_destroy(&q->lock);
	}
	free(nf);
}

unsigned int netfront_nr_queues(const struct netfront *nf)
{
	return nf->nr_queues;
}

void netfront_mac(const struct netfront *nf, uint8_t mac[6])
{
	memcpy(mac, nf->mac, 6);
}

unsigned int netfront_mtu(const struct netfront *nf)
{
	return nf->mtu;
}

bool netfront_can_gso(const struct netfront *nf)
{
	return nf->gso4 || nf->gso6;
}

bool netfront_connected(const struct netfront *nf)
{
	return nf->connected;
}

void netfront_get_stats(struct netfront *nf, struct netfront_stats *st)
{
	memset(st, 0, sizeof(*st));
	for (unsigned int i = 0; i < nf->nr_queues; i++) {
		struct netfront_queue *q = &nf->queues[i];

		pthread_mutex_lock(&q->lock);
		st->tx_packets += q->tx_packets;
		st->tx_bytes += q->tx_bytes;
		st->tx_errors += q->tx_errors;
		st->rx_packets += q->rx_packets;
		st->rx_bytes += q->rx_bytes;
		st->rx_errors += q->rx_errors;
		pthread_mutex_unlock(&q->lock);
	}
	st->reconnects = nf->reconnects;
}
