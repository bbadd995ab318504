// SPDX-License-Identifier: MIT
/*
 * User-space blkfront connection handling: reads the backend's features,
 * sets up rings and event channels (one per queue), walks the xenbus
 * handshake, and follows the backend's state from a control thread so that
 * a backend restart is survived (reconnect, then re-issue).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>

#include "blkfront_priv.h"

static long long rd_int(struct blkfront *bf, const char *dir, const char *key,
			long long def)
{
	char path[400];
	long long v;

	snprintf(path, sizeof(path), "%s/%s", dir, key);
	if (xs_read_int(bf->xs, XS_TXN_NULL, path, &v))
		return def;
	return v;
}

static int wr(struct blkfront *bf, xs_transaction_t t, const char *dir,
	      const char *key, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static int wr(struct blkfront *bf, xs_transaction_t t, const char *dir,
	      const char *key, const char *fmt, ...)
{
	char path[400], val[64];
	va_list ap;

	snprintf(path, sizeof(path), "%s/%s", dir, key);
	va_start(ap, fmt);
	vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	return xs_write(bf->xs, t, path, val, strlen(val));
}

/*
 * The toolstack may remove our dir at any moment (detach, destroy): every
 * write checks, in its transaction, that the dir is still there, so that
 * we never recreate nodes it removed.
 */
static int fe_alive(struct blkfront *bf, xs_transaction_t t)
{
	char path[400];

	snprintf(path, sizeof(path), "%s/backend", bf->fe_path);
	return xs_read(bf->xs, t, path, NULL, NULL);
}

/*
 * A backend that gave up on the device says why in its error node
 * ("ERRNO message", as xenbus_dev_fatal writes it) and goes Closed: report
 * that and its errno. 0 if it left no error.
 */
static int be_refused(struct blkfront *bf)
{
	char path[400], *val = NULL, *msg;
	size_t len = 0;
	long err;

	snprintf(path, sizeof(path), "%s/error", bf->be_path);
	if (xs_read(bf->xs, XS_TXN_NULL, path, &val, &len) || !val)
		return 0;
	err = strtol(val, &msg, 10);
	while (*msg == ' ')
		msg++;
	if (!*msg)
		msg = val;
	/* the backend's words: at most a line of them, nothing a terminal obeys */
	for (char *c = msg; *c; c++)
		if ((unsigned char)*c < 0x20 || (unsigned char)*c == 0x7f)
			*c = '?';
	fprintf(stderr, "blkfront: %s: the backend refused the disk: %.200s%s\n",
		bf->fe_path, msg, strlen(msg) > 200 ? "..." : "");
	free(val);
	return err > 0 && err < 4096 ? -(int)err : -ECONNREFUSED;
}

struct state_arg {
	struct blkfront *bf;
	enum xenbus_state s;
};

static int state_txn(struct xs_handle *h, xs_transaction_t t, void *arg)
{
	struct state_arg *a = arg;
	int rc = fe_alive(a->bf, t);

	if (rc)
		return rc;
	return wr(a->bf, t, a->bf->fe_path, "state", "%d", a->s);
}

static int fe_switch(struct blkfront *bf, enum xenbus_state s)
{
	struct state_arg a = { bf, s };

	return xs_transaction_run(bf->xs, state_txn, &a);
}

static void read_features(struct blkfront *bf, const struct blkfront_opts *o)
{
	struct blkfront_info *in = &bf->info;
	long long maxq = rd_int(bf, bf->be_path, "multi-queue-max-queues", 1);
	long long maxo = rd_int(bf, bf->be_path, "max-ring-page-order", 0);
	long long ind = rd_int(bf, bf->be_path, "feature-max-indirect-segments", 0);
	long long ss = rd_int(bf, bf->be_path, "sector-size", 512);

	in->sectors = (uint64_t)rd_int(bf, bf->be_path, "sectors", 0);
	in->sector_size = ss == 4096 ? 4096 : 512;
	in->readonly = (rd_int(bf, bf->be_path, "info", 0) & PVIO_VDISK_READONLY) != 0;
	in->flush = rd_int(bf, bf->be_path, "feature-flush-cache", 0) == 1;
	in->barrier = rd_int(bf, bf->be_path, "feature-barrier", 0) == 1;
	in->discard = rd_int(bf, bf->be_path, "feature-discard", 0) == 1;
	in->persistent = !o->no_persistent &&
			 rd_int(bf, bf->be_path, "feature-persistent", 0) == 1;
	if (maxq < 1)
		maxq = 1;
	if (maxq > BLKFRONT_MAX_QUEUES)
		maxq = BLKFRONT_MAX_QUEUES;
	in->nr_queues = o->nr_queues ? o->nr_queues : (unsigned int)maxq;
	if (in->nr_queues > maxq)
		in->nr_queues = (unsigned int)maxq;
	if (maxo < 0)
		maxo = 0;
	if (maxo > BLKFRONT_MAX_ORDER)
		maxo = BLKFRONT_MAX_ORDER;
	in->ring_order = o->ring_order < 0 || o->ring_order > maxo ?
			 (unsigned int)maxo : (unsigned int)o->ring_order;
	if (ind < 0 || o->no_indirect)
		ind = 0;
	if (ind > BLKFRONT_MAX_INDIRECT)
		ind = BLKFRONT_MAX_INDIRECT;
	/* indirect only pays when it carries more than a direct request */
	in->max_indirect_segs = ind > BLKIF_MAX_SEGMENTS_PER_REQUEST ?
				(unsigned int)ind : 0;
}

/* Tear down a queue's ring and port; its shadows stay for re-issue. */
static void queue_teardown(struct blkfront_queue *q)
{
	struct blkfront *bf = q->bf;

	q->live = false;
	if (q->evtchn_fd >= 0)
		epoll_ctl(q->epfd, EPOLL_CTL_DEL, q->evtchn_fd, NULL);
	if (q->port)
		pvio_evtchn_close(bf->hv, q->port);
	q->port = 0;
	q->evtchn_fd = -1;
	if (q->ring_mem) {
		bool busy = false;

		for (unsigned int i = 0; i < q->ring_pages; i++)
			if (!(q->ring_ended & (1u << i)) &&
			    pvio_gnttab_end(bf->dom, q->ring_ref[i]))
				busy = true;
		/* a page the backend still maps must not be reused: leak it */
		if (!busy)
			pvio_dom_free_pages(bf->dom, q->ring_mem, q->ring_pages);
		q->ring_mem = NULL;
	}
	q->ring_released = false;
	q->ring_ended = 0;
	q->broken = false;	/* the next ring starts clean */
}

/*
 * After we said Closing: wait (bounded) until the backend has unmapped
 * every ring page, i.e. until ending each ring grant succeeds. Then the
 * ring holds every response it will ever get, and its pages may go.
 */
static bool rings_released(struct blkfront *bf, int timeout_ms)
{
	for (int waited = 0;; waited++) {
		bool all = true;

		for (unsigned int qi = 0; qi < bf->info.nr_queues; qi++) {
			struct blkfront_queue *q = &bf->queue[qi];

			pthread_mutex_lock(&q->lock);
			if (q->ring_mem && !q->ring_released) {
				for (unsigned int i = 0; i < q->ring_pages; i++)
					if (!(q->ring_ended & (1u << i)) &&
					    !pvio_gnttab_end(bf->dom,
							     q->ring_ref[i]))
						q->ring_ended |= 1u << i;
				q->ring_released = q->ring_ended ==
					(uint32_t)((1ull << q->ring_pages) - 1);
			}
			all &= !q->ring_mem || q->ring_released;
			pthread_mutex_unlock(&q->lock);
		}
		if (all)
			return true;
		if (waited >= timeout_ms)
			return false;
		usleep(1000);
	}
}

static int queue_setup(struct blkfront_queue *q)
{
	struct blkfront *bf = q->bf;
	unsigned int pages = 1u << bf->info.ring_order;
	struct epoll_event ev = { .events = EPOLLIN };
	int rc;

	q->ring_mem = pvio_dom_alloc_pages(bf->dom, pages);
	if (!q->ring_mem)
		return -ENOMEM;
	q->ring_pages = pages;
	pvio_sring_init(q->ring_mem);
	pvio_front_ring_init(&q->ring, q->ring_mem, bf->ring_entries);
	for (unsigned int i = 0; i < pages; i++) {
		rc = pvio_gnttab_grant(bf->dom, bf->be_domid,
				       pvio_dom_gfn(bf->dom, (char *)q->ring_mem +
						    i * PVIO_PAGE_SIZE),
				       false, &q->ring_ref[i]);
		if (rc) {
			while (i--)
				pvio_gnttab_end(bf->dom, q->ring_ref[i]);
			pvio_dom_free_pages(bf->dom, q->ring_mem, pages);
			q->ring_mem = NULL;
			return rc;
		}
	}
	rc = pvio_evtchn_alloc_unbound(bf->hv, bf->be_domid, &q->port);
	if (rc)
		return rc;
	q->evtchn_fd = pvio_evtchn_fd(bf->hv, q->port);
	if (q->evtchn_fd < 0)
		return q->evtchn_fd;
	if (epoll_ctl(q->epfd, EPOLL_CTL_ADD, q->evtchn_fd, &ev))
		return -errno;
	return 0;
}

struct keys_arg {
	struct blkfront *bf;
};

/* The frontend's keys, written in one transaction. */
static int write_keys(struct xs_handle *h, xs_transaction_t t, void *arg)
{
	struct blkfront *bf = ((struct keys_arg *)arg)->bf;
	const struct blkfront_info *in = &bf->info;
	int rc = fe_alive(bf, t);

	for (unsigned int qi = 0; qi < in->nr_queues && !rc; qi++) {
		struct blkfront_queue *q = &bf->queue[qi];
		char dir[300];

		if (in->nr_queues == 1)
			snprintf(dir, sizeof(dir), "%s", bf->fe_path);
		else
			snprintf(dir, sizeof(dir), "%s/queue-%u", bf->fe_path, qi);
		if (in->ring_order == 0) {
			rc = wr(bf, t, dir, "ring-ref", "%u", q->ring_ref[0]);
		} else {
			for (unsigned int i = 0; i < q->ring_pages && !rc; i++) {
				char key[32];

				snprintf(key, sizeof(key), "ring-ref%u", i);
				rc = wr(bf, t, dir, key, "%u", q->ring_ref[i]);
			}
		}
		if (!rc)
			rc = wr(bf, t, dir, "event-channel", "%u", q->port);
	}
	if (!rc && in->ring_order)
		rc = wr(bf, t, bf->fe_path, "ring-page-order", "%u", in->ring_order);
	if (!rc && in->nr_queues > 1)
		rc = wr(bf, t, bf->fe_path, "multi-queue-num-queues", "%u",
			in->nr_queues);
	if (!rc)
		rc = wr(bf, t, bf->fe_path, "protocol", "%s", BLKIF_PROTOCOL_X86_64);
	if (!rc)
		rc = wr(bf, t, bf->fe_path, "feature-persistent", "%d",
			in->persistent);
	if (!rc)
		rc = wr(bf, t, bf->fe_path, "state", "%d", XenbusStateInitialised);
	return rc;
}

/*
 * Set up rings for every queue and announce them (state Initialised).
 * Queues are locked by the caller (reconnect) or not yet shared (open).
 */
static int announce(struct blkfront *bf)
{
	struct keys_arg ka = { bf };
	int rc;

	for (unsigned int i = 0; i < bf->info.nr_queues; i++) {
		struct blkfront_queue *q = &bf->queue[i];

		pthread_mutex_lock(&q->lock);
		rc = queue_setup(q);
		pthread_mutex_unlock(&q->lock);
		if (rc)
			return rc;
	}
	return xs_transaction_run(bf->xs, write_keys, &ka);
}

/* The backend is Connected: open the rings for I/O. */
static void go_live(struct blkfront *bf, bool reissue)
{
	for (unsigned int i = 0; i < bf->info.nr_queues; i++) {
		struct blkfront_queue *q = &bf->queue[i];

		pthread_mutex_lock(&q->lock);
		q->live = true;
		if (reissue)
			blkfront_reissue(q);
		else
			blkfront_dispatch(q);
		pthread_mutex_unlock(&q->lock);
	}
	fe_switch(bf, XenbusStateConnected);
	bf->connected = true;
}

/* The backend went away: keep what is in flight, drop the rings. */
static void go_dead(struct blkfront *bf)
{
	for (unsigned int i = 0; i < bf->info.nr_queues; i++) {
		struct blkfront_queue *q = &bf->queue[i];

		pthread_mutex_lock(&q->lock);
		/* answers that made it before the end still count */
		blkfront_reap(q);
		queue_teardown(q);
		pthread_mutex_unlock(&q->lock);
	}
	bf->connected = false;
}

static void be_watch(struct xs_handle *h, const char *path, const char *token,
		     void *arg)
{
	struct blkfront *bf = arg;

	pthread_mutex_lock(&bf->ctl_lock);
	bf->ctl_event = true;
	pthread_cond_signal(&bf->ctl_cond);
	pthread_mutex_unlock(&bf->ctl_lock);
}

/*
 * Let the backend go, as Linux's blkfront does: say Closing, wait until it
 * has unmapped the rings (what it answered is then in them), collect the
 * answers, drop the rings, say Closed. What was not answered stays for
 * re-issue if the backend offers the disk again.
 */
static void close_handshake(struct blkfront *bf, int timeout_ms)
{
	fe_switch(bf, XenbusStateClosing);
	if (!rings_released(bf, timeout_ms))
		fprintf(stderr, "blkfront %s: the backend kept the rings "
			"mapped for %d ms\n", bf->fe_path, timeout_ms);
	go_dead(bf);
	fe_switch(bf, XenbusStateClosed);
}

/* The toolstack removed the disk: nothing in flight will be answered. */
static void disk_removed(struct blkfront *bf)
{
	uint64_t one = 1;

	go_dead(bf);
	__atomic_store_n(&bf->removed, true, __ATOMIC_RELEASE);
	for (unsigned int i = 0; i < bf->info.nr_queues; i++) {
		struct blkfront_queue *q = &bf->queue[i];

		pthread_mutex_lock(&q->lock);
		blkfront_fail_all(q, -ENODEV);
		pthread_mutex_unlock(&q->lock);
		if (q->wake_fd >= 0 && write(q->wake_fd, &one, sizeof(one)) < 0)
			continue;
	}
}

/*
 * Control thread: Connected -> (backend Closing) close handshake;
 * (backend leaves Connected otherwise) dead -> (backend InitWait) announce
 * -> (backend Connected) live + re-issue; backend dir removed: every I/O
 * fails with -ENODEV.
 */
static void *ctl_thread(void *arg)
{
	struct blkfront *bf = arg;
	bool announced = false;

	pthread_mutex_lock(&bf->ctl_lock);
	while (!bf->ctl_quit) {
		enum xenbus_state be;

		if (!bf->ctl_event || bf->removed) {
			pthread_cond_wait(&bf->ctl_cond, &bf->ctl_lock);
			continue;
		}
		bf->ctl_event = false;
		pthread_mutex_unlock(&bf->ctl_lock);

		if (xs_read(bf->xs, XS_TXN_NULL, bf->be_path, NULL, NULL) ==
		    -ENOENT) {
			disk_removed(bf);
			pthread_mutex_lock(&bf->ctl_lock);
			continue;
		}
		be = xenbus_read_state(bf->xs, bf->be_path);
		if (be == XenbusStateClosing) {
			/* detach, or the backend is going away */
			if (bf->connected || announced)
				close_handshake(bf, bf->timeout_ms);
			announced = false;
		}
		if (bf->connected && be != XenbusStateConnected) {
			go_dead(bf);
			announced = false;
		}
		if (!bf->connected && !announced && be == XenbusStateInitWait) {
			/* the backend (re)started: same features, new rings */
			fe_switch(bf, XenbusStateInitialising);
			if (!announce(bf))
				announced = true;
			else
				go_dead(bf);
		}
		if (!bf->connected && announced && be == XenbusStateConnected) {
			bf->info.reconnects++;
			go_live(bf, true);
			announced = false;
		}
		pthread_mutex_lock(&bf->ctl_lock);
	}
	pthread_mutex_unlock(&bf->ctl_lock);
	return NULL;
}

static int pick_vdev(struct blkfront *bf, const char *vdev, char *out,
		     size_t size)
{
	char dir[128], **names = NULL;
	unsigned int n = 0;
	unsigned long best = 0;
	int rc;

	if (vdev) {
		snprintf(out, size, "%s", vdev);
		return 0;
	}
	snprintf(dir, sizeof(dir), "/local/domain/%u/device/vbd",
		 pvio_dom_id(bf->dom));
	rc = xs_directory(bf->xs, XS_TXN_NULL, dir, &names, &n);
	if (rc)
		return rc;
	for (unsigned int i = 0; i < n; i++) {
		unsigned long v = strtoul(names[i], NULL, 10);

		if (v && (!best || v < best))
			best = v;
	}
	xs_free_list(names, n);
	if (!best)
		return -ENOENT;
	snprintf(out, size, "%lu", best);
	return 0;
}

int blkfront_open(struct pvio_dom *d, struct xs_handle *xs, const char *vdev,
		  const struct blkfront_opts *opts, struct blkfront **out)
{
	struct blkfront_opts defaults = { .ring_order = -1 };
	const struct blkfront_opts *o = opts ? opts : &defaults;
	struct blkfront *bf;
	char name[32], path[400], *val;
	size_t len;
	long long v;
	uint32_t mask;
	int rc, st;

	bf = calloc(1, sizeof(*bf));
	if (!bf)
		return -ENOMEM;
	bf->dom = d;
	bf->hv = pvio_dom_hv(d);
	bf->xs = xs;
	/* a backend setting up hundreds of disks at once takes its time */
	bf->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 60000;
	bf->spin_ns = (uint64_t)o->spin_us * 1000;
	pthread_mutex_init(&bf->regions_lock, NULL);
	pthread_mutex_init(&bf->ctl_lock, NULL);
	pthread_cond_init(&bf->ctl_cond, NULL);
	for (unsigned int i = 0; i < BLKFRONT_MAX_QUEUES; i++) {
		struct blkfront_queue *q = &bf->queue[i];

		q->bf = bf;
		q->index = i;
		q->evtchn_fd = -1;
		q->epfd = -1;
		q->wake_fd = -1;
		pthread_mutex_init(&q->lock, NULL);
	}

	rc = pick_vdev(bf, vdev, name, sizeof(name));
	if (rc)
		goto err;
	snprintf(bf->fe_path, sizeof(bf->fe_path),
		 "/local/domain/%u/device/vbd/%s", pvio_dom_id(d), name);
	snprintf(path, sizeof(path), "%s/backend", bf->fe_path);
	rc = xs_read(xs, XS_TXN_NULL, path, &val, &len);
	if (rc)
		goto err;
	snprintf(bf->be_path, sizeof(bf->be_path), "%s", val);
	free(val);
	v = rd_int(bf, bf->fe_path, "backend-id", 0);
	if (v < 0 || v >= PVIO_DOMID_FIRST_RESERVED) {
		rc = -EINVAL;
		goto err;
	}
	bf->be_domid = (pvio_domid_t)v;

	/*
	 * Start from Initialising, as a frontend does when it probes: after
	 * an earlier close both ends sit in Closed, and the backend offers
	 * the disk again (InitWait) only once it sees a new handshake begin.
	 */
	rc = xenbus_switch_state(xs, bf->fe_path, XenbusStateInitialising);
	if (rc)
		goto err;
	/*
	 * A backend that cannot open the disk goes Closed with an error:
	 * fail now with its reason rather than wait out the timeout. A
	 * Closed left from an earlier close (no error) is waited past.
	 */
	st = xenbus_read_state(xs, bf->be_path);
	if (st == XenbusStateClosed || st == XenbusStateClosing) {
		rc = be_refused(bf);
		if (rc)
			goto err;
		mask = XENBUS_STATE_BIT(XenbusStateInitWait);
	} else {
		mask = XENBUS_STATE_BIT(XenbusStateInitWait) |
		       XENBUS_STATE_BIT(XenbusStateClosing) |
		       XENBUS_STATE_BIT(XenbusStateClosed);
	}
	st = xenbus_wait_state(xs, bf->be_path, mask, bf->timeout_ms);
	if (st < 0) {
		rc = st;
		goto err;
	}
	if (st != XenbusStateInitWait) {
		rc = be_refused(bf);
		if (!rc) {
			fprintf(stderr, "blkfront: %s: the backend closed the disk\n",
				bf->fe_path);
			rc = -ECONNREFUSED;
		}
		goto err;
	}
	read_features(bf, o);
	bf->ring_entries = blkif_ring_ents((size_t)PVIO_PAGE_SIZE <<
					   bf->info.ring_order);
	bf->info.ring_entries = bf->ring_entries;
	for (unsigned int i = 0; i < bf->info.nr_queues; i++) {
		struct blkfront_queue *q = &bf->queue[i];

		struct epoll_event wev = { .events = EPOLLIN };

		q->epfd = epoll_create1(EPOLL_CLOEXEC);
		q->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (q->epfd < 0 || q->wake_fd < 0 ||
		    epoll_ctl(q->epfd, EPOLL_CTL_ADD, q->wake_fd, &wev)) {
			rc = -errno;
			goto err;
		}
		rc = blkfront_queue_alloc(q);
		if (rc)
			goto err;
	}
	rc = announce(bf);
	if (rc)
		goto err;
	st = xenbus_wait_state(xs, bf->be_path,
			       XENBUS_STATE_BIT(XenbusStateConnected) |
			       XENBUS_STATE_BIT(XenbusStateClosing) |
			       XENBUS_STATE_BIT(XenbusStateClosed),
			       bf->timeout_ms);
	if (st != XenbusStateConnected) {
		rc = st < 0 ? st : be_refused(bf);
		if (!rc)
			rc = -ECONNREFUSED;
		/* the backend may have mapped our rings: it lets go first */
		close_handshake(bf, bf->timeout_ms);
		goto err;
	}
	go_live(bf, false);

	rc = pthread_create(&bf->ctl_thread, NULL, ctl_thread, bf);
	if (rc) {
		rc = -rc;
		goto err;
	}
	snprintf(path, sizeof(path), "%s/state", bf->be_path);
	rc = xs_watch(xs, path, bf->fe_path, be_watch, bf);
	if (rc) {
		blkfront_close(bf);
		return rc;
	}
	*out = bf;
	return 0;
err:
	for (unsigned int i = 0; i < BLKFRONT_MAX_QUEUES; i++) {
		queue_teardown(&bf->queue[i]);
		blkfront_queue_free(&bf->queue[i]);
		if (bf->queue[i].epfd >= 0)
			close(bf->queue[i].epfd);
		if (bf->queue[i].wake_fd >= 0)
			close(bf->queue[i].wake_fd);
	}
	free(bf);
	return rc;
}

void blkfront_get_info(struct blkfront *bf, struct blkfront_info *info)
{
	*info = bf->info;
}

void blkfront_close(struct blkfront *bf)
{
	char path[400];

	if (!bf)
		return;
	/* let what is in flight finish (bounded) */
	for (unsigned int i = 0; i < bf->info.nr_queues; i++) {
		struct blkfront_queue *q = &bf->queue[i];

		for (int tries = 0; tries < 100; tries++) {
			bool busy;

			pthread_mutex_lock(&q->lock);
			blkfront_reap(q);
			busy = q->nr_shadow_used > 0;
			pthread_mutex_unlock(&q->lock);
			if (!busy || !bf->connected)
				break;
			usleep(10000);
		}
	}
	snprintf(path, sizeof(path), "%s/state", bf->be_path);
	xs_unwatch(bf->xs, path, bf->fe_path);
	pthread_mutex_lock(&bf->ctl_lock);
	bf->ctl_quit = true;
	pthread_cond_signal(&bf->ctl_cond);
	pthread_mutex_unlock(&bf->ctl_lock);
	pthread_join(bf->ctl_thread, NULL);

	/* Closing, wait for the backend to let go of the rings, Closed */
	if (!bf->removed)
		close_handshake(bf, 2000);
	for (unsigned int i = 0; i < bf->info.nr_queues; i++) {
		blkfront_queue_free(&bf->queue[i]);
		if (bf->queue[i].epfd >= 0)
			close(bf->queue[i].epfd);
		if (bf->queue[i].wake_fd >= 0)
			close(bf->queue[i].wake_fd);
	}
	free(bf);
}
