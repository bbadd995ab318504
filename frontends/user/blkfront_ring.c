// SPDX-License-Identifier: MIT
/*
 * User-space blkfront data path: splits I/Os into ring requests (direct or
 * indirect), grants data in place when it lives in a pre-granted buffer
 * (bounce otherwise), publishes with notification suppression, consumes
 * responses, and re-issues unanswered requests after a reconnect.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>

#include "blkfront_priv.h"
#include "blkif_rsp.h"

#define NO_SHADOW		UINT32_MAX
#define BOUNCE_MAX_PAGES	32

/* ---- grants ---- */

int blkfront_grant_pages(struct blkfront *bf, struct blkfront_pages *p,
			 unsigned int npages, bool readonly)
{
	int rc;

	p->base = pvio_dom_alloc_pages(bf->dom, npages);
	if (!p->base)
		return -ENOMEM;
	p->gref = calloc(npages, sizeof(*p->gref));
	if (!p->gref) {
		pvio_dom_free_pages(bf->dom, p->base, npages);
		p->base = NULL;
		return -ENOMEM;
	}
	for (unsigned int i = 0; i < npages; i++) {
		rc = pvio_gnttab_grant(bf->dom, bf->be_domid,
				       pvio_dom_gfn(bf->dom, p->base + i * PVIO_PAGE_SIZE),
				       readonly, &p->gref[i]);
		if (rc) {
			while (i--)
				pvio_gnttab_end(bf->dom, p->gref[i]);
			free(p->gref);
			pvio_dom_free_pages(bf->dom, p->base, npages);
			p->base = NULL;
			p->gref = NULL;
			return rc;
		}
	}
	p->npages = npages;
	return 0;
}

void *blkfront_alloc(struct blkfront *bf, size_t bytes)
{
	unsigned int npages = (bytes + PVIO_PAGE_SIZE - 1) / PVIO_PAGE_SIZE;
	struct blkfront_pages p;
	struct blkfront_region *r;

	if (!npages)
		return NULL;
	pthread_mutex_lock(&bf->regions_lock);
	if (bf->nr_regions == BLKFRONT_MAX_REGIONS ||
	    blkfront_grant_pages(bf, &p, npages, false)) {
		pthread_mutex_unlock(&bf->regions_lock);
		return NULL;
	}
	r = &bf->regions[bf->nr_regions];
	r->base = p.base;
	r->npages = p.npages;
	r->gref = p.gref;
	/* readers look at regions without the lock: publish the count last */
	__atomic_store_n(&bf->nr_regions, bf->nr_regions + 1, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&bf->regions_lock);
	return p.base;
}

/* The grant of the page at @page if it lies in a pre-granted buffer. */
static bool region_gref(struct blkfront *bf, const char *page,
			pvio_grant_ref_t *gref)
{
	unsigned int n = __atomic_load_n(&bf->nr_regions, __ATOMIC_ACQUIRE);

	for (unsigned int i = 0; i < n; i++) {
		const struct blkfront_region *r = &bf->regions[i];

		if (page >= r->base &&
		    page < r->base + (size_t)r->npages * PVIO_PAGE_SIZE) {
			*gref = r->gref[(page - r->base) / PVIO_PAGE_SIZE];
			return true;
		}
	}
	return false;
}

/* ---- shadows ---- */

int blkfront_queue_alloc(struct blkfront_queue *q)
{
	unsigned int n = q->bf->ring_entries;

	q->shadow = calloc(n, sizeof(*q->shadow));
	if (!q->shadow)
		return -ENOMEM;
	for (unsigned int i = 0; i < n; i++)
		q->shadow[i].next_free = i + 1 < n ? i + 1 : NO_SHADOW;
	q->free_head = 0;
	q->nr_shadow_used = 0;
	return 0;
}

void blkfront_queue_free(struct blkfront_queue *q)
{
	free(q->shadow);
	q->shadow = NULL;
}

static struct blkfront_shadow *shadow_get(struct blkfront_queue *q, uint32_t *id)
{
	struct blkfront_shadow *s;

	if (q->free_head == NO_SHADOW)
		return NULL;
	*id = q->free_head;
	s = &q->shadow[*id];
	q->free_head = s->next_free;
	s->next_free = NO_SHADOW;
	q->nr_shadow_used++;
	return s;
}

static void shadow_put(struct blkfront_queue *q, uint32_t id)
{
	struct blkfront_shadow *s = &q->shadow[id];

	s->io = NULL;
	s->next_free = q->free_head;
	q->free_head = id;
	q->nr_shadow_used--;
}

/* ---- I/O lifecycle: pending -> on the ring -> done -> collected ---- */

static void io_done(struct blkfront_queue *q, struct blkfront_io *io)
{
	io->next = NULL;
	if (q->done_tail)
		q->done_tail->next = io;
	else
		q->done_head = io;
	q->done_tail = io;
}

/* Build the ring request for the next part of @io; false if no room. */
static bool io_put_part(struct blkfront_queue *q, struct blkfront_io *io)
{
	struct blkfront *bf = q->bf;
	const struct blkfront_info *in = &bf->info;
	struct blkfront_shadow *s;
	union blkif_request_any *req;
	uint32_t id;

	if (pvio_front_full(&q->ring))
		return false;
	s = shadow_get(q, &id);
	if (!s)
		return false;
	req = &s->req;
	memset(req, 0, sizeof(*req));
	s->io = io;
	s->io_off = io->done_off;
	s->bytes = 0;
	s->bounced = false;

	if (io->op == BLKFRONT_OP_FLUSH) {
		req->rw.operation = in->flush ? BLKIF_OP_FLUSH_DISKCACHE :
						BLKIF_OP_WRITE_BARRIER;
		req->rw.id = id;
		io->done_off = io->len;
	} else if (io->op == BLKFRONT_OP_DISCARD) {
		req->discard.operation = BLKIF_OP_DISCARD;
		req->discard.id = id;
		req->discard.sector_number = io->offset >> BLKIF_SECTOR_SHIFT;
		req->discard.nr_sectors = io->len >> BLKIF_SECTOR_SHIFT;
		io->done_off = io->len;
	} else {
		struct blkif_request_segment segs[BLKFRONT_MAX_INDIRECT];
		unsigned int max = in->max_indirect_segs ? in->max_indirect_segs :
				   BLKIF_MAX_SEGMENTS_PER_REQUEST;
		uint8_t op = io->op == BLKFRONT_OP_READ ? BLKIF_OP_READ :
			     io->op == BLKFRONT_OP_WRITE ? BLKIF_OP_WRITE :
			     BLKIF_OP_WRITE_BARRIER;
		char *p = (char *)io->buf + io->done_off;
		size_t left = io->len - io->done_off;
		unsigned int n = 0;
		bool bounce = in->sector_size > 512 &&
			      ((uintptr_t)io->buf % PVIO_PAGE_SIZE);

		if (op == BLKIF_OP_WRITE_BARRIER)
			max = BLKIF_MAX_SEGMENTS_PER_REQUEST;
		/* zero copy: every page of the part is pre-granted */
		while (!bounce && n < max && left) {
			char *page = (char *)((uintptr_t)p & ~(uintptr_t)(PVIO_PAGE_SIZE - 1));
			size_t off = p - page;
			size_t len = PVIO_PAGE_SIZE - off < left ? PVIO_PAGE_SIZE - off : left;
			pvio_grant_ref_t gref;

			if (!region_gref(bf, page, &gref)) {
				if (n == 0)
					bounce = true;
				break;
			}
			segs[n].gref = gref;
			segs[n].first_sect = off >> BLKIF_SECTOR_SHIFT;
			segs[n].last_sect = ((off + len) >> BLKIF_SECTOR_SHIFT) - 1;
			segs[n].pad = 0;
			n++;
			p += len;
			left -= len;
			s->bytes += len;
		}
		if (bounce) {
			unsigned int pages = max < BOUNCE_MAX_PAGES ? max :
					     BOUNCE_MAX_PAGES;
			size_t len = left < (size_t)pages * PVIO_PAGE_SIZE ?
				     left : (size_t)pages * PVIO_PAGE_SIZE;

			if (!s->bounce.base &&
			    blkfront_grant_pages(bf, &s->bounce, BOUNCE_MAX_PAGES,
						 false)) {
				shadow_put(q, id);
				io->status = -ENOMEM;
				io->done_off = io->len;
				return true;
			}
			s->bounced = true;
			s->bytes = len;
			if (op != BLKIF_OP_READ)
				memcpy(s->bounce.base, p, len);
			for (n = 0; len; n++) {
				size_t l = len < PVIO_PAGE_SIZE ? len : PVIO_PAGE_SIZE;

				segs[n].gref = s->bounce.gref[n];
				segs[n].first_sect = 0;
				segs[n].last_sect = (l >> BLKIF_SECTOR_SHIFT) - 1;
				segs[n].pad = 0;
				len -= l;
			}
		}
		io->done_off += s->bytes;
		if (n <= BLKIF_MAX_SEGMENTS_PER_REQUEST) {
			req->rw.operation = op;
			req->rw.nr_segments = n;
			req->rw.id = id;
			req->rw.sector_number = (io->offset + s->io_off) >>
						BLKIF_SECTOR_SHIFT;
			memcpy(req->rw.seg, segs, n * sizeof(segs[0]));
		} else {
			if (!s->indirect.base &&
			    blkfront_grant_pages(bf, &s->indirect, 1, true)) {
				shadow_put(q, id);
				io->status = -ENOMEM;
				io->done_off = io->len;
				return true;
			}
			memcpy(s->indirect.base, segs, n * sizeof(segs[0]));
			req->indirect.operation = BLKIF_OP_INDIRECT;
			req->indirect.indirect_op = op;
			req->indirect.nr_segments = n;
			req->indirect.id = id;
			req->indirect.sector_number = (io->offset + s->io_off) >>
						      BLKIF_SECTOR_SHIFT;
			req->indirect.indirect_grefs[0] = s->indirect.gref[0];
		}
	}
	*blkif_front_req(&q->ring, q->ring.req_prod_pvt) = *req;
	q->ring.req_prod_pvt++;
	io->parts++;
	return true;
}

/* Publish what is on the ring; notify only if the backend asked. */
static void ring_kick(struct blkfront_queue *q)
{
	uint32_t old = q->ring.sring->req_prod;

	if (!q->live || q->broken || q->ring.req_prod_pvt == old)
		return;
	q->stats.reqs += q->ring.req_prod_pvt - old;
	if (pvio_front_push(&q->ring)) {
		pvio_evtchn_notify(q->bf->hv, q->port);
		q->stats.notifies++;
	}
}

/* Put waiting I/O on the ring; publish it unless the caller batches. */
static void dispatch(struct blkfront_queue *q, bool kick)
{
	if (!q->live || q->broken)
		return;
	while (q->pend_head) {
		struct blkfront_io *io = q->pend_head;

		if (!io_put_part(q, io))
			break;
		if (io->done_off == io->len) {
			q->pend_head = io->next;
			if (!q->pend_head)
				q->pend_tail = NULL;
			if (!io->parts)		/* failed before reaching the ring */
				io_done(q, io);
		}
	}
	if (kick)
		ring_kick(q);
}

void blkfront_dispatch(struct blkfront_queue *q)
{
	dispatch(q, true);
}

/*
 * The backend broke the ring protocol: say so once, count it, and stop
 * using this ring (nothing more is read from it or put on it) until the
 * backend restarts; the requests it did not answer are re-issued then.
 */
static void queue_broken(struct blkfront_queue *q, const char *why,
			 unsigned long long a, unsigned long long b)
{
	if (!q->broken)
		fprintf(stderr, "blkfront %s: queue %u: backend broke the ring "
			"protocol (%s: %llu, %llu); waiting for it to restart\n",
			q->bf->fe_path, q->index, why, a, b);
	q->broken = true;
	__atomic_add_fetch(&q->bf->info.protocol_errors, 1, __ATOMIC_RELAXED);
}

/* One response, copied out of the ring; false if it broke the protocol. */
static bool rsp_handle(struct blkfront_queue *q,
		       const struct blkif_response *rsp)
{
	struct blkfront_shadow *s;
	struct blkfront_io *io;
	uint64_t id = rsp->id;
	enum blkif_rsp_verdict v;
	int st;

	/* the backend is a peer too: only ids we handed out, as they were */
	if (!blkif_rsp_id_ok(rsp, q->bf->ring_entries))
		v = BLKIF_RSP_BAD_ID;
	else
		v = blkif_rsp_check(rsp, q->shadow[id].io != NULL,
				    q->shadow[id].req.rw.operation);
	if (v != BLKIF_RSP_VALID) {
		queue_broken(q, blkif_rsp_verdict_name(v), id, rsp->operation);
		return false;
	}
	s = &q->shadow[id];
	io = s->io;
	st = blkif_rsp_status_class(rsp->status);
	if (st < 0 && rsp->status != BLKIF_RSP_ERROR) {
		if (!__atomic_fetch_add(&q->bf->info.bad_status, 1,
					__ATOMIC_RELAXED))
			fprintf(stderr, "blkfront %s: unknown response status "
				"%d: I/O error\n", q->bf->fe_path, rsp->status);
	}
	if (st && !io->status)
		io->status = st > 0 ? -EOPNOTSUPP : -EIO;
	if (s->bounced && io->op == BLKFRONT_OP_READ && !rsp->status)
		memcpy((char *)io->buf + s->io_off, s->bounce.base, s->bytes);
	shadow_put(q, (uint32_t)id);
	if (--io->parts == 0 && io->done_off == io->len &&
	    !(q->pend_head == io))
		io_done(q, io);
	return true;
}

void blkfront_reap(struct blkfront_queue *q)
{
	if (!q->live || q->broken)
		return;
	do {
		uint32_t rp = PVIO_READ_ONCE(q->ring.sring->rsp_prod);

		PVIO_RMB();	/* responses only after the index covering them */
		if (!pvio_front_rsp_prod_ok(&q->ring, rp)) {
			queue_broken(q, "rsp_prod beyond the requests", rp,
				     q->ring.rsp_cons);
			return;
		}
		while (q->ring.rsp_cons != rp) {
			struct blkif_response rsp =
				*blkif_front_rsp(&q->ring, q->ring.rsp_cons);

			q->ring.rsp_cons++;
			q->stats.rsps++;
			if (!rsp_handle(q, &rsp))
				return;
		}
	} while (pvio_front_final_check(&q->ring));
	/* slots came free: waiting I/O may go now */
	blkfront_dispatch(q);
}

void blkfront_reissue(struct blkfront_queue *q)
{
	unsigned int n = 0;

	for (uint32_t id = 0; id < q->bf->ring_entries; id++) {
		if (!q->shadow[id].io)
			continue;
		*blkif_front_req(&q->ring, q->ring.req_prod_pvt) = q->shadow[id].req;
		q->ring.req_prod_pvt++;
		n++;
	}
	if (n && pvio_front_push(&q->ring))
		pvio_evtchn_notify(q->bf->hv, q->port);
	blkfront_dispatch(q);
}

void blkfront_fail_all(struct blkfront_queue *q, int err)
{
	struct blkfront_io *io;

	for (uint32_t id = 0; q->shadow && id < q->bf->ring_entries; id++) {
		io = q->shadow[id].io;
		if (!io)
			continue;
		if (!io->status)
			io->status = err;
		shadow_put(q, id);
		if (--io->parts == 0 && io->done_off == io->len &&
		    q->pend_head != io)
			io_done(q, io);
	}
	while ((io = q->pend_head)) {
		q->pend_head = io->next;
		if (!io->status)
			io->status = err;
		/* its parts on the ring were failed above */
		if (!io->parts)
			io_done(q, io);
	}
	q->pend_tail = NULL;
}

/* ---- the API ---- */

static int io_check(struct blkfront *bf, const struct blkfront_io *io)
{
	const struct blkfront_info *in = &bf->info;
	uint64_t mask = in->sector_size - 1;

	switch (io->op) {
	case BLKFRONT_OP_FLUSH:
		if (!in->flush && !in->barrier)
			return -EOPNOTSUPP;
		return 0;
	case BLKFRONT_OP_DISCARD:
		if (!in->discard)
			return -EOPNOTSUPP;
		break;
	case BLKFRONT_OP_WRITE_BARRIER:
		if (!in->barrier)
			return -EOPNOTSUPP;
		/* fall through */
	case BLKFRONT_OP_WRITE:
	case BLKFRONT_OP_READ:
		if (!io->buf || ((uintptr_t)io->buf & 511))
			return -EINVAL;
		break;
	default:
		return -EINVAL;
	}
	if (!io->len || (io->offset & mask) || (io->len & mask))
		return -EINVAL;
	if (io->offset >> BLKIF_SECTOR_SHIFT > in->sectors ||
	    io->len >> BLKIF_SECTOR_SHIFT > in->sectors -
	    (io->offset >> BLKIF_SECTOR_SHIFT))
		return -EINVAL;
	if (in->readonly && io->op != BLKFRONT_OP_READ)
		return -EROFS;
	return 0;
}

int blkfront_submit(struct blkfront *bf, unsigned int queue,
		    struct blkfront_io *io)
{
	int rc = blkfront_queue_io(bf, queue, io);

	if (!rc)
		blkfront_kick(bf, queue);
	return rc;
}

void blkfront_kick(struct blkfront *bf, unsigned int queue)
{
	struct blkfront_queue *q;

	if (queue >= bf->info.nr_queues)
		return;
	q = &bf->queue[queue];
	pthread_mutex_lock(&q->lock);
	ring_kick(q);
	pthread_mutex_unlock(&q->lock);
}

int blkfront_queue_io(struct blkfront *bf, unsigned int queue,
		      struct blkfront_io *io)
{
	struct blkfront_queue *q;
	int rc;

	if (queue >= bf->info.nr_queues)
		return -EINVAL;
	rc = io_check(bf, io);
	if (rc)
		return rc;
	q = &bf->queue[queue];
	if (__atomic_load_n(&bf->removed, __ATOMIC_ACQUIRE))
		return -ENODEV;
	io->status = 0;
	io->done_off = 0;
	io->parts = 0;
	io->next = NULL;
	io->queue = queue;
	if (io->op == BLKFRONT_OP_FLUSH)
		io->len = 0;
	pthread_mutex_lock(&q->lock);
	if (q->pend_tail)
		q->pend_tail->next = io;
	else
		q->pend_head = io;
	q->pend_tail = io;
	q->inflight++;
	dispatch(q, false);
	pthread_mutex_unlock(&q->lock);
	return 0;
}

static unsigned int take_done(struct blkfront_queue *q, struct blkfront_io **done,
			      unsigned int max, struct blkfront_io **cbs)
{
	unsigned int n = 0;

	while (q->done_head && n < max) {
		struct blkfront_io *io = q->done_head;

		q->done_head = io->next;
		if (!q->done_head)
			q->done_tail = NULL;
		io->next = NULL;
		q->inflight--;
		if (done)
			done[n] = io;
		if (io->cb) {
			io->next = *cbs;
			*cbs = io;
		}
		n++;
	}
	return n;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Poll the ring for a while before sleeping: true if a response came. */
static bool spin_for_response(struct blkfront_queue *q, uint64_t ns)
{
	uint64_t end = mono_ns() + ns;

	do {
		if (PVIO_READ_ONCE(q->ring.sring->rsp_prod) != q->ring.rsp_cons)
			return true;
		__builtin_ia32_pause();
	} while (mono_ns() < end);
	return false;
}

int blkfront_complete(struct blkfront *bf, unsigned int queue,
		      struct blkfront_io **done, unsigned int max,
		      int timeout_ms)
{
	struct blkfront_queue *q;
	struct blkfront_io *cbs = NULL;
	unsigned int n;

	if (queue >= bf->info.nr_queues || !max)
		return -EINVAL;
	q = &bf->queue[queue];
	for (;;) {
		struct epoll_event ev;
		int rc;

		/* look at the ring first: no system call when work is there */
		pthread_mutex_lock(&q->lock);
		ring_kick(q);	/* never sleep on requests we did not publish */
		blkfront_reap(q);
		n = take_done(q, done, max, &cbs);
		pthread_mutex_unlock(&q->lock);
		if (n || timeout_ms == 0)
			break;
		if (__atomic_load_n(&bf->removed, __ATOMIC_ACQUIRE))
			return -ENODEV;	/* nothing will ever complete */
		if (bf->spin_ns && spin_for_response(q, bf->spin_ns)) {
			q->stats.spins++;
			continue;
		}
		rc = epoll_wait(q->epfd, &ev, 1, timeout_ms);
		if (rc < 0 && errno != EINTR)
			return -errno;
		if (rc > 0) {
			/* consume the event; the next reap sees what it announced */
			pthread_mutex_lock(&q->lock);
			q->stats.sleeps++;
			if (q->live && q->evtchn_fd >= 0) {
				int got = pvio_evtchn_ack(bf->hv, q->port);

				if (got > 0)
					q->stats.events += (uint64_t)got;
			}
			pthread_mutex_unlock(&q->lock);
		}
		if (rc == 0 && timeout_ms > 0)
			break;
	}
	while (cbs) {
		struct blkfront_io *io = cbs;

		cbs = io->next;
		io->next = NULL;
		io->cb(io);
	}
	return (int)n;
}

void blkfront_get_stats(struct blkfront *bf, unsigned int queue,
			struct blkfront_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (queue >= bf->info.nr_queues)
		return;
	pthread_mutex_lock(&bf->queue[queue].lock);
	*st = bf->queue[queue].stats;
	pthread_mutex_unlock(&bf->queue[queue].lock);
}

int blkfront_fd(struct blkfront *bf, unsigned int queue)
{
	if (queue >= bf->info.nr_queues)
		return -EINVAL;
	return bf->queue[queue].epfd;
}

unsigned int blkfront_inflight(struct blkfront *bf, unsigned int queue)
{
	unsigned int n;

	if (queue >= bf->info.nr_queues)
		return 0;
	pthread_mutex_lock(&bf->queue[queue].lock);
	n = bf->queue[queue].inflight;
	pthread_mutex_unlock(&bf->queue[queue].lock);
	return n;
}
