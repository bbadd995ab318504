// SPDX-License-Identifier: MIT
/*
 * blkback data path: one thread per queue takes requests off the shared
 * ring (copy once, then validate), maps their grants in one batch per pass
 * (persistent grants stay mapped), submits I/O straight into the mapped
 * guest pages through the disk's engine, and answers on the ring.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>

#include "blkback.h"

#define RING_BATCH	32	/* requests taken per pass before mapping */
/* I/O in flight above which the backend does not ask to be notified */
#define BLKBACK_LAZY_INFLIGHT	4

static struct pvio_hv *queue_hv(struct blkback_queue *q)
{
	return q->disk->ctx->hv;
}

/* ---- ring access: the ring pages need not be contiguous here ---- */

static size_t ring_entry_off(struct blkback_queue *q, uint32_t idx)
{
	return sizeof(struct pvio_sring_hdr) +
	       (size_t)(idx & (q->ring.nr_ents - 1)) *
	       sizeof(union blkif_sring_entry);
}

static void ring_copy_from(struct blkback_queue *q, size_t off, void *buf,
			   size_t len)
{
	char *dst = buf;

	while (len) {
		size_t page = off / PVIO_PAGE_SIZE, in = off % PVIO_PAGE_SIZE;
		size_t n = PVIO_PAGE_SIZE - in < len ? PVIO_PAGE_SIZE - in : len;

		memcpy(dst, (char *)q->ring_page_addr[page] + in, n);
		dst += n;
		off += n;
		len -= n;
	}
}

static void ring_copy_to(struct blkback_queue *q, size_t off, const void *buf,
			 size_t len)
{
	const char *src = buf;

	while (len) {
		size_t page = off / PVIO_PAGE_SIZE, in = off % PVIO_PAGE_SIZE;
		size_t n = PVIO_PAGE_SIZE - in < len ? PVIO_PAGE_SIZE - in : len;

		memcpy((char *)q->ring_page_addr[page] + in, src, n);
		src += n;
		off += n;
		len -= n;
	}
}

/* ---- persistent grants (tables in blkback_pgrant.c) ---- */

struct unmap_batch {
	struct blkback_queue *q;
	struct pvio_gnt_map op[64];
	unsigned int n;
};

static void unmap_batch_flush(struct unmap_batch *b)
{
	if (b->n)
		pvio_gnttab_unmap(queue_hv(b->q), b->op, b->n);
	b->n = 0;
}

static void unmap_kept(void *arg, const struct blkback_pgrant *g)
{
	struct unmap_batch *b = arg;
	struct pvio_gnt_map *op = &b->op[b->n++];

	memset(op, 0, sizeof(*op));
	op->dom = b->q->disk->fe_domid;
	op->ref = g->gref;
	op->addr = g->addr;
	op->handle = g->handle;
	if (b->n == 64)
		unmap_batch_flush(b);
}

void blkback_queue_release_grants(struct blkback_queue *q)
{
	struct unmap_batch b = { .q = q };
	unsigned int n = q->pgrants.nr_used + q->pgrants_ro.nr_used;

	blkback_pgrant_clear(&q->pgrants, unmap_kept, &b);
	blkback_pgrant_clear(&q->pgrants_ro, unmap_kept, &b);
	unmap_batch_flush(&b);
	if (n)
		blkback_front_give(&q->disk->front->nr_pgrants, n);
}

/* ---- request lifecycle: free -> busy -> answered -> free ---- */

/* A request slot is free (on the free list, or never used yet). */
static bool req_available(const struct blkback_queue *q)
{
	return q->free_reqs || q->reqs_fresh < q->ring.nr_ents;
}

static struct blkback_req *req_get(struct blkback_queue *q)
{
	struct blkback_req *r = q->free_reqs;

	/*
	 * Slots never used are allocated in order when first needed: a
	 * queue's requests (about 12 KiB each) cost memory only once used,
	 * not for every entry of a large ring.
	 */
	if (r) {
		q->free_reqs = r->next_free;
	} else if (q->reqs_fresh < q->ring.nr_ents) {
		r = calloc(1, sizeof(*r));
		if (!r)
			return NULL;
		r->tag = q->reqs_fresh;
		q->reqs[q->reqs_fresh++] = r;
	} else {
		return NULL;
	}
	r->busy = true;
	r->iovcnt = 0;
	r->bytes = 0;
	r->buffered = false;
	r->stage = BLKBACK_STAGE_IO;
	r->flush_after = false;
	r->status = BLKIF_RSP_OKAY;
	r->reserved = false;
	r->resv_segs = 0;
	q->inflight++;
	return r;
}

/*
 * Count a request taken off the ring against its domain's limits: one
 * request, and every page it may map (data and indirect). False if the
 * domain is at a limit: the request stays on the ring until some of the
 * domain's requests are answered.
 */
static bool req_reserve(struct blkback_queue *q, struct blkback_req *r)
{
	struct blkback_front *f = q->disk->front;
	uint32_t pages = r->status == BLKIF_RSP_OKAY ?
			 (uint32_t)r->d.nr_segs + r->d.nr_indirect : 0;

	if (!blkback_front_take(&f->nr_reqs, 1, f->lim->max_reqs))
		goto full;
	if (!blkback_front_take(&f->nr_segs, pages, f->lim->max_segs)) {
		blkback_front_give(&f->nr_reqs, 1);
		goto full;
	}
	r->reserved = true;
	r->resv_segs = pages;
	return true;
full:
	/* the first time only: a log line per request would be a flood */
	if (!q->throttled &&
	    __atomic_add_fetch(&f->nr_throttled, 1, __ATOMIC_RELAXED) == 1)
		blkback_log("domain %u at its in-flight limit (%u requests, %u pages): its requests wait",
			    f->domid, f->lim->max_reqs, f->lim->max_segs);
	return false;
}

static void req_release(struct blkback_queue *q, struct blkback_req *r)
{
	struct blkback_front *f = q->disk->front;

	if (!r->reserved)
		return;
	blkback_front_give(&f->nr_reqs, 1);
	blkback_front_give(&f->nr_segs, r->resv_segs);
	r->reserved = false;
	r->resv_segs = 0;
}

static void req_put(struct blkback_queue *q, struct blkback_req *r)
{
	if (!r->busy) {
		blkback_log("%s: queue %u: request freed twice", q->disk->be_path,
			    q->index);
		return;
	}
	req_release(q, r);
	r->busy = false;
	r->next_free = q->free_reqs;
	q->free_reqs = r;
	q->inflight--;
}

/* Unmap what was mapped for this request only. */
static void req_unmap(struct blkback_queue *q, struct blkback_req *r)
{
	struct pvio_gnt_map op[BLKBACK_MAX_SEGS];
	unsigned int n = 0;

	for (unsigned int i = 0; i < r->d.nr_segs; i++) {
		struct blkback_seg *sg = &r->seg[i];

		if (sg->state == BLKBACK_SEG_TRANSIENT) {
			memset(&op[n], 0, sizeof(op[n]));
			op[n].dom = q->disk->fe_domid;
			op[n].ref = r->d.seg[i].gref;
			op[n].addr = sg->page;
			op[n].handle = sg->handle;
			n++;
		}
		sg->page = NULL;
		sg->state = BLKBACK_SEG_NONE;
	}
	if (n)
		pvio_gnttab_unmap(queue_hv(q), op, n);
}

/* Queue the response of a finished request (published by the caller). */
static void req_answer(struct blkback_queue *q, struct blkback_req *r)
{
	struct blkif_response rsp = {
		.id = r->d.id,
		.operation = r->d.operation,
		.status = r->status,
	};

	req_unmap(q, r);
	if (r == q->barrier)
		q->barrier = NULL;
	if (r->status != BLKIF_RSP_OKAY) {
		q->nr_errors++;
		if (q->disk->ctx->verbose)
			blkback_log("%s: queue %u: request id %llu op %u sector %llu segs %u: status %d",
				    q->disk->be_path, q->index,
				    (unsigned long long)r->d.id, r->d.operation,
				    (unsigned long long)r->d.sector, r->d.nr_segs,
				    r->status);
	}
	ring_copy_to(q, ring_entry_off(q, q->ring.rsp_prod_pvt), &rsp,
		     sizeof(rsp));
	q->ring.rsp_prod_pvt++;
	req_put(q, r);
}

static void ring_publish(struct blkback_queue *q)
{
	if (pvio_back_push(&q->ring)) {
		q->nr_notified++;
		pvio_evtchn_notify(queue_hv(q), q->port);
	}
}

/* Before sleeping: a notification the frontend waits for (ring.h). */
static void ring_event_recheck(struct blkback_queue *q)
{
	if (!pvio_back_event_owed(&q->ring))
		return;
	q->nr_late_events++;
	if (!(q->nr_late_events & (q->nr_late_events - 1)))
		blkback_log("%s: queue %u: a second look found the frontend waiting on published responses: notified (%llu so far)",
			    q->disk->be_path, q->index,
			    (unsigned long long)q->nr_late_events);
	pvio_evtchn_notify(queue_hv(q), q->port);
}

/* ---- mapping ---- */

/*
 * Map the grefs listed in @ops (filled with ref/readonly) in one hv round
 * trip. Each op's status says whether it was mapped, also when the batch
 * failed part way (the ops it did map are okay and get unmapped as usual).
 */
static void map_batch(struct blkback_queue *q, struct pvio_gnt_map *ops,
		      unsigned int n)
{
	if (!n)
		return;
	pvio_gnttab_map(queue_hv(q), ops, n);
	q->nr_maps += n;
}

static int map_ops_reserve(struct blkback_queue *q, unsigned int n)
{
	struct pvio_gnt_map *t;
	bool *k;

	if (n <= q->map_cap)
		return 0;
	t = realloc(q->map_ops, n * sizeof(*t));
	if (!t)
		return -ENOMEM;
	q->map_ops = t;
	k = realloc(q->map_kept, n * sizeof(*k));
	if (!k)
		return -ENOMEM;
	q->map_kept = k;
	q->map_cap = n;
	return 0;
}

/* Append a map op for @gref; its index. Room was reserved. */
static uint32_t map_op_add(struct blkback_queue *q, uint32_t *k, uint32_t gref,
			   bool readonly)
{
	struct pvio_gnt_map *op = &q->map_ops[*k];

	memset(op, 0, sizeof(*op));
	op->dom = q->disk->fe_domid;
	op->ref = gref;
	op->readonly = readonly;
	q->map_kept[*k] = false;
	return (*k)++;
}

/*
 * Keep a fresh mapping persistently if the disk allows and its domain has
 * room for one more persistent grant: true if kept.
 */
static bool pgrant_keep(struct blkback_queue *q, struct blkback_pgrant_table *t,
			const struct pvio_gnt_map *op)
{
	struct blkback_front *f = q->disk->front;

	if (!q->disk->persistent)
		return false;
	if (!blkback_front_take(&f->nr_pgrants, 1, f->lim->max_pgrants)) {
		if (__atomic_add_fetch(&f->nr_pgrant_full, 1,
				       __ATOMIC_RELAXED) == 1)
			blkback_log("domain %u holds %u persistent grants, its limit: further pages are mapped per request",
				    f->domid, f->lim->max_pgrants);
		return false;
	}
	if (blkback_pgrant_add(t, op->ref, op->addr, op->handle) == 0)
		return true;
	blkback_front_give(&f->nr_pgrants, 1);
	return false;
}

/*
 * Copy the segment lists of the INDIRECT requests of a batch out of their
 * indirect pages (mapped read-only, or kept if persistent) and validate.
 *
 * Every map op belongs to exactly one page of one request (ind_op[]), also
 * when several requests name the same gref: the first op of a gref may be
 * kept persistently, every other one is transient. All transient ops are
 * unmapped before returning, whatever became of their request.
 */
static void batch_indirect(struct blkback_queue *q, struct blkback_req **batch,
			   unsigned int nb)
{
	unsigned int n = 0;
	uint32_t k = 0;

	for (unsigned int i = 0; i < nb; i++)
		if (batch[i]->status == BLKIF_RSP_OKAY)
			n += batch[i]->d.nr_indirect;
	if (!n)
		return;
	if (map_ops_reserve(q, n)) {
		for (unsigned int i = 0; i < nb; i++)
			if (batch[i]->d.nr_indirect)
				batch[i]->status = BLKIF_RSP_ERROR;
		return;
	}
	/* persistent pages now, an op for every other one */
	for (unsigned int i = 0; i < nb; i++) {
		struct blkback_req *r = batch[i];

		if (r->status != BLKIF_RSP_OKAY)
			continue;
		for (unsigned int j = 0; j < r->d.nr_indirect; j++) {
			pvio_grant_handle_t h;

			r->ind_page[j] = NULL;
			r->ind_op[j] = BLKBACK_NO_OP;
			if (!blkback_pgrant_find(&q->pgrants_ro,
						 r->d.indirect_grefs[j],
						 &r->ind_page[j], &h))
				r->ind_op[j] = map_op_add(q, &k,
							  r->d.indirect_grefs[j],
							  true);
		}
	}
	map_batch(q, q->map_ops, k);

	for (unsigned int i = 0; i < nb; i++) {
		struct blkback_req *r = batch[i];
		bool ok = true;

		if (r->status != BLKIF_RSP_OKAY || !r->d.nr_indirect)
			continue;
		for (unsigned int j = 0; j < r->d.nr_indirect; j++) {
			struct pvio_gnt_map *op;

			if (r->ind_op[j] == BLKBACK_NO_OP)
				continue;
			op = &q->map_ops[r->ind_op[j]];
			if (op->status != GNTST_okay) {
				ok = false;
				continue;
			}
			r->ind_page[j] = op->addr;
			q->map_kept[r->ind_op[j]] =
				pgrant_keep(q, &q->pgrants_ro, op);
		}
		if (ok)
			r->status = blkif_req_indirect(&r->d, r->ind_page,
							 &q->disk->lim);
		else
			r->status = BLKIF_RSP_ERROR;
		memset(r->ind_page, 0, sizeof(r->ind_page));
	}
	/* drop the transient indirect maps: their contents are copied */
	{
		uint32_t u = 0;

		for (uint32_t i = 0; i < k; i++)
			if (q->map_ops[i].status == GNTST_okay &&
			    !q->map_kept[i])
				q->map_ops[u++] = q->map_ops[i];
		if (u)
			pvio_gnttab_unmap(queue_hv(q), q->map_ops, u);
	}
}

/*
 * Map the data pages of a batch: one round trip for every gref not kept.
 * Each op belongs to one segment (PENDING with its index); a segment ends
 * KEPT (the table owns the mapping) or TRANSIENT (req_unmap drops it when
 * the request is answered, whatever its status).
 */
static void batch_map(struct blkback_queue *q, struct blkback_req **batch,
		      unsigned int nb)
{
	unsigned int n = 0;
	uint32_t k = 0;

	for (unsigned int i = 0; i < nb; i++)
		if (batch[i]->status == BLKIF_RSP_OKAY)
			n += batch[i]->d.nr_segs;
	if (map_ops_reserve(q, n ? n : 1)) {
		for (unsigned int i = 0; i < nb; i++)
			batch[i]->status = BLKIF_RSP_ERROR;
		return;
	}
	for (unsigned int i = 0; i < nb; i++) {
		struct blkback_req *r = batch[i];
		/* a kept grant serves reads and writes alike */
		bool ro = r->d.op != BLKIF_OP_READ && !q->disk->persistent;

		if (r->status != BLKIF_RSP_OKAY)
			continue;
		for (unsigned int j = 0; j < r->d.nr_segs; j++) {
			struct blkback_seg *sg = &r->seg[j];

			if (blkback_pgrant_find(&q->pgrants, r->d.seg[j].gref,
						&sg->page, &sg->handle)) {
				sg->state = BLKBACK_SEG_KEPT;
				continue;
			}
			sg->state = BLKBACK_SEG_PENDING;
			sg->op = map_op_add(q, &k, r->d.seg[j].gref, ro);
		}
	}
	map_batch(q, q->map_ops, k);

	for (unsigned int i = 0; i < nb; i++) {
		struct blkback_req *r = batch[i];

		if (r->status != BLKIF_RSP_OKAY)
			continue;
		for (unsigned int j = 0; j < r->d.nr_segs; j++) {
			struct blkback_seg *sg = &r->seg[j];
			struct pvio_gnt_map *op;

			if (sg->state != BLKBACK_SEG_PENDING)
				continue;
			op = &q->map_ops[sg->op];
			if (op->status != GNTST_okay) {
				if (q->disk->ctx->verbose)
					blkback_log("%s: queue %u: map of gref %u failed: %d",
						    q->disk->be_path, q->index,
						    op->ref, op->status);
				sg->state = BLKBACK_SEG_NONE;
				r->status = BLKIF_RSP_ERROR;
				continue;
			}
			sg->page = op->addr;
			sg->handle = op->handle;
			sg->state = pgrant_keep(q, &q->pgrants, op) ?
				    BLKBACK_SEG_KEPT : BLKBACK_SEG_TRANSIENT;
		}
	}
}

/* ---- submission ---- */

/* iovecs over the mapped pages; merged where they touch. */
static void req_build_iov(struct blkback_queue *q, struct blkback_req *r)
{
	uint32_t align = q->disk->direct ? q->disk->dio_align : 1;
	bool aligned = ((r->d.sector << BLKIF_SECTOR_SHIFT) % align) == 0;

	r->iovcnt = 0;
	r->bytes = 0;
	for (unsigned int j = 0; j < r->d.nr_segs; j++) {
		char *base = (char *)r->seg[j].page +
			     (r->d.seg[j].first_sect << BLKIF_SECTOR_SHIFT);
		size_t len = (size_t)(r->d.seg[j].last_sect -
				      r->d.seg[j].first_sect + 1) << BLKIF_SECTOR_SHIFT;
		struct iovec *last = r->iovcnt ? &r->iov[r->iovcnt - 1] : NULL;

		if (last && (char *)last->iov_base + last->iov_len == base) {
			last->iov_len += len;
		} else {
			r->iov[r->iovcnt].iov_base = base;
			r->iov[r->iovcnt].iov_len = len;
			r->iovcnt++;
		}
		r->bytes += len;
	}
	for (unsigned int j = 0; j < r->iovcnt && aligned; j++)
		if ((uintptr_t)r->iov[j].iov_base % align ||
		    r->iov[j].iov_len % align)
			aligned = false;
	/* sub-page segments on a strict device: the page cache takes them */
	r->buffered = !aligned;
	if (r->buffered)
		q->nr_buffered++;
}

static int req_fd(struct blkback_queue *q, struct blkback_req *r)
{
	return r->buffered && q->disk->fd_buffered >= 0 ? q->disk->fd_buffered :
							 q->disk->fd;
}

static uint64_t req_tag(struct blkback_queue *q, struct blkback_req *r)
{
	return r->tag;
}

/* One more for statistics/: this thread is the only writer. */
static void stat_add(struct blkback_queue *q, enum blkback_stat s, uint64_t n)
{
	__atomic_store_n(&q->st[s], q->st[s] + n, __ATOMIC_RELAXED);
}

static void req_count(struct blkback_queue *q, const struct blkback_req *r)
{
	switch (r->d.op) {
	case BLKIF_OP_READ:
		stat_add(q, BLKBACK_ST_RD_REQ, 1);
		stat_add(q, BLKBACK_ST_RD_SECT, r->d.nr_sectors);
		break;
	case BLKIF_OP_WRITE:
		stat_add(q, BLKBACK_ST_WR_REQ, 1);
		stat_add(q, BLKBACK_ST_WR_SECT, r->d.nr_sectors);
		break;
	case BLKIF_OP_FLUSH_DISKCACHE:
	case BLKIF_OP_WRITE_BARRIER:
		stat_add(q, BLKBACK_ST_F_REQ, 1);
		if (r->d.nr_segs) {
			stat_add(q, BLKBACK_ST_WR_REQ, 1);
			stat_add(q, BLKBACK_ST_WR_SECT, r->d.nr_sectors);
		}
		break;
	}
}

/* Hand a validated, mapped request to the engine (or finish it now). */
static void req_start(struct blkback_queue *q, struct blkback_req *r)
{
	const struct blkback_engine_ops *ops = q->engine.ops;
	int rc;

	if (r->status != BLKIF_RSP_OKAY) {
		req_answer(q, r);
		return;
	}
	switch (r->d.op) {
	case BLKIF_OP_DISCARD:
		stat_add(q, BLKBACK_ST_DS_REQ, 1);
		if (ops->prep_discard) {
			rc = ops->prep_discard(&q->engine,
					       r->d.sector << BLKIF_SECTOR_SHIFT,
					       r->d.nr_sectors << BLKIF_SECTOR_SHIFT,
					       req_tag(q, r));
			break;
		}
		rc = q->disk->store->discard ?
		     q->disk->store->discard(q->disk, r->d.sector,
					     r->d.nr_sectors) : -EOPNOTSUPP;
		if (rc == -EOPNOTSUPP)
			r->status = BLKIF_RSP_EOPNOTSUPP;
		else if (rc)
			r->status = BLKIF_RSP_ERROR;
		req_answer(q, r);
		return;
	case BLKIF_OP_FLUSH_DISKCACHE:
	case BLKIF_OP_WRITE_BARRIER:
		/* data first (if any), then make it and all before it durable */
		if (!r->d.nr_segs) {
			r->stage = BLKBACK_STAGE_FLUSH;
			rc = ops->prep_flush(&q->engine, q->disk->fd,
					     req_tag(q, r));
			break;
		}
		r->flush_after = true;
		/* fall through */
	case BLKIF_OP_READ:
	case BLKIF_OP_WRITE:
		req_build_iov(q, r);
		rc = ops->prep_rw(&q->engine, req_fd(q, r),
				  r->d.op != BLKIF_OP_READ, r->iov, r->iovcnt,
				  r->d.sector << BLKIF_SECTOR_SHIFT,
				  req_tag(q, r));
		break;
	default:
		r->status = BLKIF_RSP_EOPNOTSUPP;
		req_answer(q, r);
		return;
	}
	if (rc) {
		/* the engine is sized for a full ring: should not happen */
		r->status = BLKIF_RSP_ERROR;
		req_answer(q, r);
		return;
	}
	q->io_inflight++;
	q->nr_reqs++;
	req_count(q, r);
}

/* ---- the ring pass ---- */

/* Start a batch: indirect pages, then data grants, then the engine. */
static void batch_run(struct blkback_queue *q, struct blkback_req **batch,
		      unsigned int nb)
{
	if (!nb)
		return;
	batch_indirect(q, batch, nb);
	batch_map(q, batch, nb);
	for (unsigned int i = 0; i < nb; i++)
		req_start(q, batch[i]);
}

/*
 * Take requests off the ring. Returns false if the ring is broken.
 * A barrier waits (held) until every earlier request has completed, and
 * later requests wait on the ring until the barrier has completed.
 */
static bool ring_pass(struct blkback_queue *q)
{
	struct blkback_req *batch[RING_BATCH];
	unsigned int nb = 0, segs = 0;

	q->throttled = false;
	if (q->held) {
		if (q->inflight > 1)
			return true;
		batch[0] = q->barrier = q->held;
		q->held = NULL;
		batch_run(q, batch, 1);
	}
	if (q->barrier)
		return true;
	for (;;) {
		uint32_t rp = PVIO_READ_ONCE(q->ring.sring->req_prod);
		union blkif_request_any copy;
		struct blkback_req *r;

		PVIO_RMB();	/* read requests only after the index covering them */
		if (!pvio_back_req_prod_ok(&q->ring, rp)) {
			char why[128];

			snprintf(why, sizeof(why),
				 "queue %u: req_prod %u out of range (rsp_prod %u, %u entries)",
				 q->index, rp, q->ring.rsp_prod_pvt, q->ring.nr_ents);
			q->broken = true;
			batch_run(q, batch, nb);
			blkback_disk_broken(q->disk, why);
			return false;
		}
		if (q->ring.req_cons == rp || !req_available(q))
			break;
		r = req_get(q);
		if (!r) {
			/* out of memory for a new slot: look again shortly */
			q->throttled = true;
			break;
		}
		/* copy once: the frontend may rewrite the slot under us */
		ring_copy_from(q, ring_entry_off(q, q->ring.req_cons), &copy,
			       sizeof(copy));
		r->status = blkif_req_parse(&copy, &q->disk->lim, &r->d);
		if (!req_reserve(q, r)) {
			/* its domain is at a limit: leave it on the ring */
			req_put(q, r);
			q->throttled = true;
			break;
		}
		q->ring.req_cons++;
		if (r->status == BLKIF_RSP_OKAY &&
		    r->d.op == BLKIF_OP_WRITE_BARRIER) {
			/* what came before runs first; the barrier waits */
			batch_run(q, batch, nb);
			q->held = r;
			return true;
		}
		batch[nb++] = r;
		segs += r->d.nr_segs;
		if (nb == RING_BATCH || segs >= 1024) {
			batch_run(q, batch, nb);
			nb = 0;
			segs = 0;
		}
	}
	batch_run(q, batch, nb);
	return true;
}

/* Reap engine completions, advance or answer their requests. */
static void reap(struct blkback_queue *q)
{
	const struct blkback_engine_ops *ops = q->engine.ops;
	int n;

	while ((n = ops->reap(&q->engine, q->cqes, q->ring.nr_ents)) > 0) {
		bool resubmit = false;

		for (int i = 0; i < n; i++) {
			struct blkback_req *r;

			if (q->cqes[i].tag >= q->ring.nr_ents)
				continue;
			r = q->reqs[q->cqes[i].tag];
			if (!r || !r->busy)
				continue;	/* not ours: the engine misbehaved */
			q->io_inflight--;
			if (r->stage == BLKBACK_STAGE_IO) {
				if (q->cqes[i].res != (int64_t)r->bytes) {
					if (q->cqes[i].res >= 0)
						blkback_log("%s: short I/O at sector %llu: %lld of %zu",
							    q->disk->be_path,
							    (unsigned long long)r->d.sector,
							    (long long)q->cqes[i].res, r->bytes);
					if (q->cqes[i].res < 0)
						blkback_log("%s: I/O at sector %llu: %s",
							    q->disk->be_path,
							    (unsigned long long)r->d.sector,
							    strerror((int)-q->cqes[i].res));
					r->status = BLKIF_RSP_ERROR;
				} else if (r->flush_after) {
					r->stage = BLKBACK_STAGE_FLUSH;
					if (!ops->prep_flush(&q->engine,
							     q->disk->fd,
							     q->cqes[i].tag)) {
						q->io_inflight++;
						resubmit = true;
						continue;
					}
					r->status = BLKIF_RSP_ERROR;
				}
			} else if (q->cqes[i].res < 0) {
				r->status = BLKIF_RSP_ERROR;
			}
			if (q->cqes[i].res == -EOPNOTSUPP &&
			    r->d.op == BLKIF_OP_DISCARD)
				r->status = BLKIF_RSP_EOPNOTSUPP;
			req_answer(q, r);
		}
		if (resubmit)
			ops->submit(&q->engine);
		if ((unsigned int)n < q->ring.nr_ents)
			break;
	}
}

/*
 * The queue is stopping with I/O in flight that the store may never
 * finish (an NBD server gone): drop those requests unanswered, as if the
 * backend had died, so that the frontend re-issues them after it
 * reconnects. After BLKBACK_STOP_GRACE_NS even I/O the store still holds.
 */
#define BLKBACK_STOP_GRACE_NS	(10ull * 1000000000ull)

static void queue_abandon(struct blkback_queue *q, bool force)
{
	uint64_t tags[64];
	int n;

	while ((n = q->engine.ops->abandon(&q->engine, tags, 64, force)) > 0) {
		for (int i = 0; i < n; i++) {
			struct blkback_req *r;

			if (tags[i] >= q->ring.nr_ents)
				continue;
			r = q->reqs[tags[i]];
			if (!r || !r->busy)
				continue;	/* not ours: the engine misbehaved */
			q->io_inflight--;
			req_unmap(q, r);
			if (r == q->barrier)
				q->barrier = NULL;
			req_put(q, r);
		}
		blkback_log("%s: queue %u: %d request(s) left for the frontend to re-issue",
			    q->disk->be_path, q->index, n);
		if (n < 64)
			break;
	}
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/*
 * Poll the ring and the engine's completions for up to @ns: true if
 * something arrived. A request the frontend adds meanwhile costs it no
 * notification (we have not asked for one) and us no wakeup.
 */
static bool spin_for(struct blkback_queue *q, uint64_t ns)
{
	uint64_t end;

	if (!ns || !q->engine.ops->ready)
		return false;
	end = mono_ns() + ns;
	do {
		if (q->engine.ops->ready(&q->engine) ||
		    pvio_back_unconsumed(&q->ring))
			return true;
		__builtin_ia32_pause();
	} while (mono_ns() < end);
	return false;
}

/*
 * The polling window of a queue with little in flight adapts to how long
 * the queue then slept (@idle_ns, polling included), within the disk's
 * spin_us: it opens (4 us, then doubling) while the next event came
 * within spin_us, and closes at once when one took longer. A queue whose
 * events come further apart than spin_us thus stops polling, and one fed
 * steadily keeps its frontend from notifying.
 */
#define BLKBACK_POLL_START_NS	4000u

static void poll_adapt(struct blkback_queue *q, uint64_t idle_ns)
{
	uint64_t max = q->disk->spin_us * 1000ull;

	if (idle_ns <= q->poll_ns)
		return;
	if (idle_ns > max)
		q->poll_ns = 0;
	else if (!q->poll_ns)
		q->poll_ns = BLKBACK_POLL_START_NS < max ? BLKBACK_POLL_START_NS : max;
	else
		q->poll_ns = 2ull * q->poll_ns < max ? 2 * q->poll_ns : max;
}

/*
 * How long the queue thread may sleep: throttled, it looks at the ring
 * again soon, since the requests that free its domain's budget may be
 * another queue's.
 */
static int queue_sleep_ms(struct blkback_queue *q, bool stopping)
{
	if (stopping)
		return 100;
	return q->throttled ? 1 : -1;
}

bool blkback_queue_turn(struct blkback_queue *q, bool take)
{
	const struct blkback_engine_ops *ops = q->engine.ops;
	bool ok = true;

	if (take) {
		ok = ring_pass(q);
		/* with wait(), the submit rides on the wait call */
		if (!ops->wait && ops->submit(&q->engine) < 0)
			blkback_log("%s: submit failed", q->disk->be_path);
	}
	reap(q);
	ring_publish(q);
	return ok;
}

static void *queue_thread(void *arg)
{
	struct blkback_queue *q = arg;
	const struct blkback_engine_ops *ops = q->engine.ops;
	struct pollfd pfd[3] = {
		{ .fd = q->evtchn_fd, .events = POLLIN },
		{ .fd = -1, .events = POLLIN },
		{ .fd = q->stop_fd, .events = POLLIN },
	};
	bool stopping = false;
	uint64_t stop_ns = 0;
	uint64_t idle_from;

	if (!ops->wait)
		pfd[1].fd = ops->event_fd(&q->engine);
	for (;;) {
		idle_from = 0;
		if (!blkback_queue_turn(q, !stopping))
			stopping = true;
		if (stopping && q->io_inflight && ops->abandon) {
			if (!stop_ns)
				stop_ns = mono_ns();
			queue_abandon(q, mono_ns() - stop_ns > BLKBACK_STOP_GRACE_NS);
		}
		if (stopping && q->io_inflight == 0)
			break;
		if (!stopping) {
			/* a held barrier became runnable */
			if (q->held && q->inflight == 1)
				continue;
			/*
			 * Before sleeping: ask for a notification, look again.
			 * With enough I/O in flight a completion wakes us soon
			 * anyway and we look at the ring then: do not ask, and
			 * the frontend saves a notification (a cross-CPU wakeup)
			 * per batch. Such a busy queue first polls a little: a
			 * request or a completion that shows up now costs no
			 * wakeup (--vm-spin-us, on for VMs; --spin-us, off for
			 * process domains). A queue with little in flight polls
			 * for the window its recent sleeps earned (poll_adapt),
			 * still without asking, then asks and looks again.
			 */
			if (!q->held && !q->barrier && req_available(q) &&
			    !q->throttled) {
				if (q->io_inflight >= BLKBACK_LAZY_INFLIGHT) {
					if (pvio_back_unconsumed(&q->ring) ||
					    spin_for(q, q->disk->spin_us * 1000ull))
						continue;
				} else {
					/* the window stays 0 without polling */
					if (q->disk->spin_us)
						idle_from = mono_ns();
					if (spin_for(q, q->poll_ns) ||
					    pvio_back_final_check(&q->ring))
						continue;
				}
			}
			ring_event_recheck(q);
		}
		if (ops->wait) {
			unsigned int w;

			if (ops->wait(&q->engine, q->evtchn_fd, q->stop_fd,
				      queue_sleep_ms(q, stopping)) < 0)
				break;
			if (idle_from)
				poll_adapt(q, mono_ns() - idle_from);
			reap(q);
			w = ops->take_wakes(&q->engine);
			if (w & BLKBACK_WAKE_EVTCHN)
				pvio_evtchn_ack(queue_hv(q), q->port);
			if (w & BLKBACK_WAKE_STOP)
				stopping = true;
			continue;
		}
		if (poll(pfd, 3, queue_sleep_ms(q, stopping)) < 0 &&
		    errno != EINTR)
			break;
		if (idle_from)
			poll_adapt(q, mono_ns() - idle_from);
		if (pfd[0].revents & POLLIN)
			pvio_evtchn_ack(queue_hv(q), q->port);
		if (pfd[2].revents & POLLIN)
			stopping = true;
	}
	return NULL;
}

int blkback_queue_init(struct blkback_queue *q)
{
	unsigned int n = q->ring.nr_ents;
	int rc;

	q->reqs = calloc(n, sizeof(*q->reqs));
	q->cqes = calloc(n, sizeof(*q->cqes));
	if (!q->reqs || !q->cqes)
		return -ENOMEM;
	q->free_reqs = NULL;
	q->reqs_fresh = 0;
	q->inflight = 0;
	q->io_inflight = 0;
	q->held = NULL;
	q->barrier = NULL;
	/* fresh tables for this connection: nothing of an earlier one */
	if (q->disk->persistent) {
		rc = blkback_pgrant_init(&q->pgrants, BLKBACK_MAX_PGRANTS);
		if (!rc)
			rc = blkback_pgrant_init(&q->pgrants_ro,
						 BLKBACK_MAX_PGRANTS);
		if (rc)
			return rc;
	}
	q->engine.ops = q->disk->engine_ops;
	q->engine.submit_batch = q->disk->ctx->submit_batch;
	/* each request holds at most one engine operation at a time */
	return q->engine.ops->init(&q->engine, q->disk, q->index, n);
}

int blkback_queue_start(struct blkback_queue *q)
{
	int rc = blkback_queue_init(q);

	if (rc)
		return rc;
	q->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (q->stop_fd < 0)
		return -errno;
	rc = pthread_create(&q->thread, NULL, queue_thread, q);
	if (rc)
		return -rc;
	q->thread_started = true;
	return 0;
}

void blkback_queue_stop(struct blkback_queue *q)
{
	uint64_t one = 1;

	if (q->thread_started) {
		if (write(q->stop_fd, &one, sizeof(one)) < 0)
			blkback_log("%s: cannot stop queue %u", q->disk->be_path,
				    q->index);
		pthread_join(q->thread, NULL);
		q->thread_started = false;
	}
	if (q->engine.priv)
		q->engine.ops->fini(&q->engine);
	/*
	 * Requests never answered (a held barrier; anything in flight if the
	 * thread left early) give back their mappings and their domain's
	 * budget: the ring goes with them.
	 */
	for (unsigned int i = 0; q->reqs && i < q->reqs_fresh; i++) {
		if (!q->reqs[i]->busy)
			continue;
		req_unmap(q, q->reqs[i]);
		req_put(q, q->reqs[i]);
	}
	for (unsigned int i = 0; q->reqs && i < q->reqs_fresh; i++)
		free(q->reqs[i]);
	q->reqs_fresh = 0;
	q->free_reqs = NULL;
	q->held = NULL;
	q->barrier = NULL;
	if (q->stop_fd > 0)
		close(q->stop_fd);
	q->stop_fd = -1;
	blkback_queue_release_grants(q);
	blkback_pgrant_fini(&q->pgrants);
	blkback_pgrant_fini(&q->pgrants_ro);
	free(q->reqs);
	q->reqs = NULL;
	free(q->cqes);
	q->cqes = NULL;
	free(q->map_ops);
	q->map_ops = NULL;
	free(q->map_kept);
	q->map_kept = NULL;
	q->map_cap = 0;
}
