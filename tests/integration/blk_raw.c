/*
 * Hand-driven block frontend for hostile tests: see blk_raw.h.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blk_raw.h"

pvio_grant_ref_t blk_raw_grant(struct blk_raw *b, void *page, bool readonly)
{
	pvio_grant_ref_t ref;
	int rc = pvio_gnttab_grant(b->dom, 0, pvio_dom_gfn(b->dom, page),
				   readonly, &ref);

	if (rc) {
		fprintf(stderr, "FAIL: grant: %s\n", strerror(-rc));
		exit(1);
	}
	return ref;
}

static int fe_write(struct blk_raw *b, const char *dir, const char *key,
		    const char *val)
{
	char path[400];

	snprintf(path, sizeof(path), "%s/%s", dir, key);
	return xs_write(b->xs, XS_TXN_NULL, path, val, strlen(val));
}

static int fe_write_u(struct blk_raw *b, const char *dir, const char *key,
		      unsigned int v)
{
	char val[32];

	snprintf(val, sizeof(val), "%u", v);
	return fe_write(b, dir, key, val);
}

/* Ring and event channel of one queue, its keys under @dir. */
static int queue_setup(struct blk_raw *b, struct blk_raw_queue *q,
		       const char *dir)
{
	unsigned int pages = 1u << b->order;
	int rc;

	q->sring = pvio_dom_alloc_pages(b->dom, pages);
	if (!q->sring)
		return -ENOMEM;
	pvio_sring_init(q->sring);
	pvio_front_ring_init(&q->ring, q->sring,
			     blkif_ring_ents((size_t)pages * PVIO_PAGE_SIZE));
	for (unsigned int i = 0; i < pages; i++)
		q->ring_ref[i] = blk_raw_grant(b, (char *)q->sring +
					       i * PVIO_PAGE_SIZE, false);
	rc = pvio_evtchn_alloc_unbound(b->hv, 0, &q->port);
	if (rc)
		return rc;
	if (b->order == 0) {
		rc = fe_write_u(b, dir, "ring-ref", q->ring_ref[0]);
	} else {
		rc = 0;
		for (unsigned int i = 0; !rc && i < pages; i++) {
			char key[32];

			snprintf(key, sizeof(key), "ring-ref%u", i);
			rc = fe_write_u(b, dir, key, q->ring_ref[i]);
		}
	}
	return rc ?: fe_write_u(b, dir, "event-channel", q->port);
}

int blk_raw_open(struct blk_raw *b, struct pvio_dom *dom, struct xs_handle *xs,
		 const char *vdev, unsigned int nr_queues, unsigned int order,
		 bool persistent)
{
	char path[300], *v;
	long long sectors;
	int rc = 0, st;

	memset(b, 0, sizeof(*b));
	b->dom = dom;
	b->hv = pvio_dom_hv(dom);
	b->xs = xs;
	b->order = order;
	b->nr_queues = nr_queues;
	b->next_id = 1;
	if (order > 4 || !nr_queues || nr_queues > BLK_RAW_MAX_QUEUES)
		return -EINVAL;
	snprintf(b->fe, sizeof(b->fe), "/local/domain/%u/device/vbd/%s",
		 pvio_dom_id(dom), vdev);
	snprintf(path, sizeof(path), "%s/backend", b->fe);
	if (xs_read(xs, XS_TXN_NULL, path, &v, NULL))
		return -ENOENT;
	snprintf(b->be, sizeof(b->be), "%s", v);
	free(v);
	fe_write_u(b, b->fe, "state", XenbusStateInitialising);
	st = xenbus_wait_state(xs, b->be, XENBUS_STATE_BIT(XenbusStateInitWait),
			       10000);
	if (st < 0)
		return st;
	snprintf(path, sizeof(path), "%s/sectors", b->be);
	if (xs_read_int(xs, XS_TXN_NULL, path, &sectors))
		return -EPROTO;
	b->sectors = (uint64_t)sectors;
	if (order)
		rc = fe_write_u(b, b->fe, "ring-page-order", order);
	if (nr_queues > 1)
		rc = rc ?: fe_write_u(b, b->fe, "multi-queue-num-queues",
				      nr_queues);
	for (unsigned int i = 0; !rc && i < nr_queues; i++) {
		char dir[160];

		if (nr_queues == 1)
			snprintf(dir, sizeof(dir), "%s", b->fe);
		else
			snprintf(dir, sizeof(dir), "%s/queue-%u", b->fe, i);
		rc = queue_setup(b, &b->q[i], dir);
	}
	rc = rc ?: fe_write(b, b->fe, "protocol", BLKIF_PROTOCOL_X86_64);
	rc = rc ?: fe_write_u(b, b->fe, "feature-persistent", persistent);
	rc = rc ?: fe_write_u(b, b->fe, "state", XenbusStateInitialised);
	if (rc)
		return rc;
	st = xenbus_wait_state(xs, b->be, XENBUS_STATE_BIT(XenbusStateConnected) |
			       XENBUS_STATE_BIT(XenbusStateClosed), 10000);
	if (st == XenbusStateConnected) {
		fe_write_u(b, b->fe, "state", XenbusStateConnected);
		return 0;
	}
	if (st == XenbusStateClosed) {
		snprintf(path, sizeof(path), "%s/error", b->be);
		if (!xs_read(xs, XS_TXN_NULL, path, &v, NULL)) {
			snprintf(b->error, sizeof(b->error), "%s", v);
			free(v);
		}
		return -ECONNREFUSED;
	}
	return st;
}

void blk_raw_close(struct blk_raw *b)
{
	fe_write_u(b, b->fe, "state", XenbusStateClosing);
	xenbus_wait_state(b->xs, b->be, XENBUS_STATE_BIT(XenbusStateClosing) |
			  XENBUS_STATE_BIT(XenbusStateClosed), 5000);
	fe_write_u(b, b->fe, "state", XenbusStateClosed);
	xenbus_wait_state(b->xs, b->be, XENBUS_STATE_BIT(XenbusStateClosed),
			  5000);
	for (unsigned int i = 0; i < b->nr_queues; i++) {
		if (b->q[i].port)
			pvio_evtchn_close(b->hv, b->q[i].port);
		b->q[i].port = 0;
	}
}

int blk_raw_push(struct blk_raw *b, unsigned int qi,
		 union blkif_request_any *req, unsigned int n)
{
	struct blk_raw_queue *q = &b->q[qi];

	if (qi >= b->nr_queues ||
	    n > q->ring.nr_ents - (q->ring.req_prod_pvt - q->ring.rsp_cons))
		return -EINVAL;
	q->first_id = b->next_id;
	for (unsigned int i = 0; i < n; i++) {
		req[i].rw.id = b->next_id++;	/* same offset in every type */
		*blkif_front_req(&q->ring, q->ring.req_prod_pvt) = req[i];
		q->ring.req_prod_pvt++;
	}
	if (pvio_front_push(&q->ring))
		pvio_evtchn_notify(b->hv, q->port);
	return 0;
}

int blk_raw_collect(struct blk_raw *b, unsigned int qi, unsigned int n,
		    int16_t *status, int timeout_ms)
{
	struct blk_raw_queue *q = &b->q[qi];
	int fd = pvio_evtchn_fd(b->hv, q->port);
	unsigned int got = 0;

	for (unsigned int i = 0; i < n; i++)
		status[i] = INT16_MIN;
	for (int waited = 0; got < n; ) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };

		while (got < n && pvio_front_unconsumed(&q->ring)) {
			struct blkif_response rsp =
				*blkif_front_rsp(&q->ring, q->ring.rsp_cons);
			uint64_t k = rsp.id - q->first_id;

			q->ring.rsp_cons++;
			if (rsp.id < q->first_id || k >= n ||
			    status[k] != INT16_MIN)
				return -EPROTO;
			status[k] = rsp.status;
			got++;
		}
		if (got == n)
			break;
		if (pvio_front_final_check(&q->ring))
			continue;
		if (waited >= timeout_ms)
			return -ETIMEDOUT;
		poll(&pfd, 1, 10);
		waited += 10;
		pvio_evtchn_ack(b->hv, q->port);
	}
	return 0;
}

int blk_raw_run(struct blk_raw *b, unsigned int qi,
		union blkif_request_any *req, unsigned int n, int16_t *status,
		int timeout_ms)
{
	int rc = blk_raw_push(b, qi, req, n);

	return rc ?: blk_raw_collect(b, qi, n, status, timeout_ms);
}
