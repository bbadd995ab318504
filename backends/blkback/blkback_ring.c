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
#define PGRANT_SLOTS	(2 * BLKBACK_MAX_PGRANTS)	/* hash, power of two */

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

/* ---- persistent grants: open addressing keyed by gref ---- */

static unsigned int pgrant_hash(uint32_t gref)
{
	return (gref * 2654435761u) & (PGRANT_SLOTS - 1);
}

/*
 * Two tables: data pages (mapped writable) and indirect pages (mapped
 * read-only), so that a page the frontend granted read-only can never be
 * reached through a writable mapping.
 */
static struct blkback_pgrant *pgrant_find(struct blkback_queue *q, bool ro,
					  uint32_t gref)
{
	struct blkback_pgrant *tab = ro ? q->pgrants_ro : q->pgrants;
	unsigned int i = pgrant_hash(gref);

	if (!tab)
		return NULL;
	for (unsigned int n = 0; n < PGRANT_SLOTS; n++) {
		struct blkback_pgrant *g = &tab[(i + n) & (PGRANT_SLOTS - 1)];

		if (g->gref == gref)
			return g;
		if (g->gref == BLKBACK_PGRANT_FREE)
			return NULL;
	}
	return NULL;
}

/* Keep a mapping; false if the table is full (the caller unmaps later). */
static bool pgrant_add(struct blkback_queue *q, bool ro, uint32_t gref,
		       void *addr, pvio_grant_handle_t handle)
{
	struct blkback_pgrant *tab = ro ? q->pgrants_ro : q->pgrants;
	unsigned int i = pgrant_hash(gref);

	if (!tab || q->nr_pgrants >= BLKBACK_MAX_PGRANTS ||
	    gref == BLKBACK_PGRANT_FREE)
		return false;
	for (unsigned int n = 0; n < PGRANT_SLOTS; n++) {
		struct blkback_pgrant *g = &tab[(i + n) & (PGRANT_SLOTS - 1)];

		if (g->gref == gref)
			return false;	/* mapped twice in one batch */
		if (g->gref == BLKBACK_PGRANT_FREE) {
			g->gref = gref;
			g->addr = addr;
			g->handle = handle;
			q->nr_pgrants++;
			return true;
		}
	}
	return false;
}

static void pgrant_release(struct blkback_queue *q, struct blkback_pgrant *tab)
{
	struct pvio_gnt_map op[64];
	unsigned int n = 0;

	if (!tab)
		return;
	for (unsigned int i = 0; i < PGRANT_SLOTS; i++) {
		struct blkback_pgrant *g = &tab[i];

		if (g->gref == BLKBACK_PGRANT_FREE)
			continue;
		memset(&op[n], 0, sizeof(op[n]));
		op[n].dom = q->disk->fe_domid;
		op[n].ref = g->gref;
		op[n].addr = g->addr;
		op[n].handle = g->handle;
		g->gref = BLKBACK_PGRANT_FREE;
		if (++n == 64) {
			pvio_gnttab_unmap(queue_hv(q), op, n);
			n = 0;
		}
	}
	if (n)
		pvio_gnttab_unmap(queue_hv(q), op, n);
}

void blkback_queue_release_grants(struct blkback_queue *q)
{
	pgrant_release(q, q->pgrants);
	pgrant_release(q, q->pgrants_ro);
	q->nr_pgrants = 0;
}

/* ---- request lifecycle: free -> busy -> answered -> free ---- */

static struct blkback_req *req_get(struct blkback_queue *q)
{
	struct blkback_req *r = q->free_reqs;

	if (!r)
		return NULL;
	q->free_reqs = r->next_free;
	r->busy = true;
	r->iovcnt = 0;
	r->bytes = 0;
	r->buffered = false;
	r->stage = BLKBACK_STAGE_IO;
	r->flush_after = false;
	r->status = BLKIF_RSP_OKAY;
	q->inflight++;
	return r;
}

static void req_put(struct blkback_queue *q, struct blkback_req *r)
{
	if (!r->busy) {
		blkback_log("%s: queue %u: request freed twice", q->disk->be_path,
			    q->index);
		return;
	}
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
		if (!r->seg[i].transient || !r->seg[i].page)
			continue;
		memset(&op[n], 0, sizeof(op[n]));
		op[n].dom = q->disk->fe_domid;
		op[n].ref = r->d.seg[i].gref;
		op[n].addr = r->seg[i].page;
		op[n].handle = r->seg[i].handle;
		n++;
		r->seg[i].page = NULL;
		r->seg[i].transient = false;
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
	if (pvio_back_push(&q->ring))
		pvio_evtchn_notify(queue_hv(q), q->port);
}

/* ---- mapping ---- */

/*
 * Map the grefs listed in @ops (filled with ref/readonly); one hv round
 * trip for the whole batch, growing the scratch array as needed.
 */
static int map_batch(struct blkback_queue *q, struct pvio_gnt_map *ops,
		     unsigned int n)
{
	int rc;

	if (!n)
		return 0;
	rc = pvio_gnttab_map(queue_hv(q), ops, n);
	q->nr_maps += n;
	if (rc < 0) {
		for (unsigned int i = 0; i < n; i++)
			ops[i].status = GNTST_general_error;
	}
	return rc;
}

static int map_ops_reserve(struct blkback_queue *q, unsigned int n)
{
	struct pvio_gnt_map *t;

	if (n <= q->map_cap)
		return 0;
	t = realloc(q->map_ops, n * sizeof(*t));
	if (!t)
		return -ENOMEM;
	q->map_ops = t;
	q->map_cap = n;
	return 0;
}

/*
 * Copy the segment lists of the INDIRECT requests of a batch out of their
 * indirect pages (mapped read-only, or kept if persistent) and validate.
 */
static void batch_indirect(struct blkback_queue *q, struct blkback_req **batch,
			   unsigned int nb)
{
	unsigned int n = 0, k = 0;

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
	/* everything not kept persistently, in one round trip */
	for (unsigned int i = 0; i < nb; i++) {
		struct blkback_req *r = batch[i];

		if (r->status != BLKIF_RSP_OKAY)
			continue;
		for (unsigned int j = 0; j < r->d.nr_indirect; j++) {
			if (pgrant_find(q, true, r->d.indirect_grefs[j]))
				continue;
			memset(&q->map_ops[k], 0, sizeof(q->map_ops[k]));
			q->map_ops[k].dom = q->disk->fe_domid;
			q->map_ops[k].ref = r->d.indirect_grefs[j];
			q->map_ops[k].readonly = 1;
			k++;
		}
	}
	map_batch(q, q->map_ops, k);

	k = 0;
	for (unsigned int i = 0; i < nb; i++) {
		struct blkback_req *r = batch[i];
		void *pages[BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST];
		bool ok = true;

		if (r->status != BLKIF_RSP_OKAY || !r->d.nr_indirect)
			continue;
		for (unsigned int j = 0; j < r->d.nr_indirect; j++) {
			struct blkback_pgrant *g = pgrant_find(q, true,
							       r->d.indirect_grefs[j]);

			if (g) {
				pages[j] = g->addr;
				continue;
			}
			/* the op of this page, in the order they were listed */
			struct pvio_gnt_map *op = &q->map_ops[k++];

			if (op->status != GNTST_okay) {
				ok = false;
				pages[j] = NULL;
				continue;
			}
			pages[j] = op->addr;
			if (q->disk->persistent &&
			    pgrant_add(q, true, op->ref, op->addr, op->handle))
				op->ref = BLKBACK_PGRANT_FREE;	/* kept */
		}
		if (ok)
			r->status = blkif_req_indirect(&r->d, pages,
							 &q->disk->lim);
		else
			r->status = BLKIF_RSP_ERROR;
	}
	/* drop the transient indirect maps: their contents are copied */
	{
		unsigned int u = 0;

		for (unsigned int i = 0; i < k; i++) {
			if (q->map_ops[i].status == GNTST_okay &&
			    q->map_ops[i].ref != BLKBACK_PGRANT_FREE)
				q->map_ops[u++] = q->map_ops[i];
		}
		if (u)
			pvio_gnttab_unmap(queue_hv(q), q->map_ops, u);
	}
}

/* Map the data pages of a batch: one round trip for every missing gref. */
static void batch_map(struct blkback_queue *q, struct blkback_req **batch,
		      unsigned int nb)
{
	unsigned int n = 0, k = 0;

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
		bool ro = r->d.op != BLKIF_OP_READ;

		if (r->status != BLKIF_RSP_OKAY)
			continue;
		for (unsigned int j = 0; j < r->d.nr_segs; j++) {
			struct blkback_pgrant *g = pgrant_find(q, false,
							       r->d.seg[j].gref);

			r->seg[j].transient = false;
			if (g) {
				r->seg[j].page = g->addr;
				r->seg[j].handle = g->handle;
				continue;
			}
			r->seg[j].page = NULL;
			memset(&q->map_ops[k], 0, sizeof(q->map_ops[k]));
			q->map_ops[k].dom = q->disk->fe_domid;
			q->map_ops[k].ref = r->d.seg[j].gref;
			/* a kept grant serves reads and writes alike */
			q->map_ops[k].readonly = ro && !q->disk->persistent;
			k++;
		}
	}
	map_batch(q, q->map_ops, k);

	k = 0;
	for (unsigned int i = 0; i < nb; i++) {
		struct blkback_req *r = batch[i];

		if (r->status != BLKIF_RSP_OKAY)
			continue;
		for (unsigned int j = 0; j < r->d.nr_segs; j++) {
			struct pvio_gnt_map *op;

			if (r->seg[j].page)
				continue;
			op = &q->map_ops[k++];
			if (op->status != GNTST_okay) {
				if (q->disk->ctx->verbose)
					blkback_log("%s: queue %u: map of gref %u failed: %d",
						    q->disk->be_path, q->index,
						    op->ref, op->status);
				r->status = BLKIF_RSP_ERROR;
				continue;
			}
			r->seg[j].page = op->addr;
			r->seg[j].handle = op->handle;
			if (!q->disk->persistent ||
			    !pgrant_add(q, false, op->ref, op->addr, op->handle))
				r->seg[j].transient = true;
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
	return (uint64_t)(r - q->reqs);
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
		rc = blkback_backing_discard(q->disk, r->d.sector, r->d.nr_sectors);
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
		if (q->ring.req_cons == rp || !q->free_reqs)
			break;
		r = req_get(q);
		/* copy once: the frontend may rewrite the slot under us */
		ring_copy_from(q, ring_entry_off(q, q->ring.req_cons), &copy,
			       sizeof(copy));
		q->ring.req_cons++;
		r->status = blkif_req_parse(&copy, &q->disk->lim, &r->d);
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
			r = &q->reqs[q->cqes[i].tag];
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
			req_answer(q, r);
		}
		if (resubmit)
			ops->submit(&q->engine);
		if ((unsigned int)n < q->ring.nr_ents)
			break;
	}
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Spin for new requests or completions: true if some arrived. */
static bool spin_until(struct blkback_queue *q)
{
	unsigned int us = q->disk->ctx->spin_us;
	uint64_t end;

	if (!us || !q->engine.ops->ready || !q->free_reqs || q->held ||
	    q->barrier)
		return false;
	end = mono_ns() + us * 1000ull;
	do {
		if (q->engine.ops->ready(&q->engine) ||
		    pvio_back_unconsumed(&q->ring))
			return true;
		__builtin_ia32_pause();
	} while (mono_ns() < end);
	return false;
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

	if (!ops->wait)
		pfd[1].fd = ops->event_fd(&q->engine);
	for (;;) {
		if (!stopping) {
			if (!ring_pass(q))
				stopping = true;
			/* with wait(), the submit rides on the wait call */
			if (!ops->wait && ops->submit(&q->engine) < 0)
				blkback_log("%s: submit failed", q->disk->be_path);
		}
		reap(q);
		ring_publish(q);
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
			 * per batch.
			 */
			if (!q->held && !q->barrier && q->free_reqs) {
				if (q->io_inflight >= BLKBACK_LAZY_INFLIGHT) {
					if (pvio_back_unconsumed(&q->ring))
						continue;
				} else if (pvio_back_final_check(&q->ring)) {
					continue;
				}
			}
			/*
			 * Optionally poll a little: a request or a completion
			 * that shows up now costs no wakeup. Only pays with
			 * idle CPUs, hence off by default (--spin-us).
			 */
			if (spin_until(q))
				continue;
		}
		if (ops->wait) {
			unsigned int w;

			if (ops->wait(&q->engine, q->evtchn_fd, q->stop_fd,
				      stopping ? 100 : -1) < 0)
				break;
			reap(q);
			w = ops->take_wakes(&q->engine);
			if (w & BLKBACK_WAKE_EVTCHN)
				pvio_evtchn_ack(queue_hv(q), q->port);
			if (w & BLKBACK_WAKE_STOP)
				stopping = true;
			continue;
		}
		if (poll(pfd, 3, stopping ? 100 : -1) < 0 && errno != EINTR)
			break;
		if (pfd[0].revents & POLLIN)
			pvio_evtchn_ack(queue_hv(q), q->port);
		if (pfd[2].revents & POLLIN)
			stopping = true;
	}
	return NULL;
}

int blkback_queue_start(struct blkback_queue *q)
{
	unsigned int n = q->ring.nr_ents;
	int rc;

	q->reqs = calloc(n, sizeof(*q->reqs));
	q->cqes = calloc(n, sizeof(*q->cqes));
	if (!q->reqs || !q->cqes)
		return -ENOMEM;
	for (unsigned int i = 0; i < n; i++)
		q->reqs[i].next_free = i + 1 < n ? &q->reqs[i + 1] : NULL;
	q->free_reqs = &q->reqs[0];
	q->inflight = 0;
	q->io_inflight = 0;
	q->held = NULL;
	q->barrier = NULL;
	if (q->disk->persistent) {
		q->pgrants = malloc(PGRANT_SLOTS * sizeof(*q->pgrants));
		q->pgrants_ro = malloc(PGRANT_SLOTS * sizeof(*q->pgrants_ro));
		if (!q->pgrants || !q->pgrants_ro)
			return -ENOMEM;
		for (unsigned int i = 0; i < PGRANT_SLOTS; i++) {
			q->pgrants[i].gref = BLKBACK_PGRANT_FREE;
			q->pgrants_ro[i].gref = BLKBACK_PGRANT_FREE;
		}
	}
	q->engine.ops = q->disk->engine_ops;
	/* each request holds at most one engine operation at a time */
	rc = q->engine.ops->init(&q->engine, n);
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
	/* requests still held (a barrier) are never answered: the ring goes */
	if (q->engine.priv)
		q->engine.ops->fini(&q->engine);
	if (q->stop_fd > 0)
		close(q->stop_fd);
	q->stop_fd = -1;
	blkback_queue_release_grants(q);
	free(q->pgrants);
	q->pgrants = NULL;
	free(q->pgrants_ro);
	q->pgrants_ro = NULL;
	free(q->reqs);
	q->reqs = NULL;
	free(q->cqes);
	q->cqes = NULL;
	free(q->map_ops);
	q->map_ops = NULL;
	q->map_cap = 0;
}
