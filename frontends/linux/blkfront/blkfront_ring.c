// SPDX-License-Identifier: GPL-2.0
/*
 * pvio_blkfront data path: blk-mq requests onto a shared blkif ring (one
 * ring per hardware queue), responses validated and completed from the
 * event channel handler, and ring setup/teardown including the re-issue
 * of unanswered requests when the backend goes away.
 *
 * Data pages are granted per request (zero copy) or, with persistent
 * grants, copied through a pool of pages that stay granted for the life
 * of the connection, so the backend maps each page once.
 */
#include <linux/highmem.h>
#include <linux/slab.h>
#include "blkfront.h"
#include "blkif_rsp.h"

static struct blkfront_queue *hctx_to_queue(struct blk_mq_hw_ctx *hctx)
{
	struct blkfront_info *info = hctx->queue->queuedata;

	return &info->queues[hctx->queue_num % info->nr_queues];
}

/* ---- shadows: one per ring slot, free list threaded through them ---- */

static u32 shadow_get(struct blkfront_queue *q)
{
	u32 id = q->shadow_free;

	if (id != BLKFRONT_SHADOW_FREE_END)
		q->shadow_free = q->shadow[id].next_free;
	return id;
}

static void shadow_put(struct blkfront_queue *q, u32 id)
{
	q->shadow[id].rq = NULL;
	q->shadow[id].flush_after = false;
	q->shadow[id].next_free = q->shadow_free;
	q->shadow_free = id;
}

static void shadow_reset(struct blkfront_queue *q)
{
	u32 i;

	q->shadow_free = BLKFRONT_SHADOW_FREE_END;
	for (i = q->nr_ents; i-- > 0; )
		shadow_put(q, i);
}

/*
 * On by default: a completion raised on the CPU that issued the request
 * wakes its waiter there, without a cross-CPU call. With every event on
 * vCPU 0, most QD1 reads of a task on another vCPU paid one (measured
 * under QEMU's TCG, docs/guest.md); one interrupt stream per vCPU
 * coalesces less at high queue depth, which cost nothing measurable there.
 */
static bool queue_vcpu = true;
module_param(queue_vcpu, bool, 0444);
MODULE_PARM_DESC(queue_vcpu, "take queue i's events on CPU i (default: on; off: all on vCPU 0)");

/* ---- grants ---- */

/*
 * End a grant the backend should have let go of, its ref joining @freed
 * (the caller gives the set back). A backend that still holds it keeps
 * the ref: the page goes back to its owner regardless (dom0 is trusted
 * with guest memory), but the ref is never reused.
 */
static bool grant_end_to(struct pvio_gnttab_refs *freed, int gref)
{
	int ret;

	if (gref < 0)
		return true;
	ret = pvio_gnttab_refs_end(freed, gref);
	if (ret) {
		pr_warn_ratelimited("pvio_blkfront: grant %d still in use by the backend (%d), ref leaked\n",
				    gref, ret);
		return false;
	}
	return true;
}

/* The same for one grant, its ref freed at once. */
static bool grant_end(int gref)
{
	struct pvio_gnttab_refs freed = PVIO_GNTTAB_REFS_INIT;
	bool ended = grant_end_to(&freed, gref);

	pvio_gnttab_refs_put(&freed);
	return ended;
}

static struct blkfront_pgrant *pool_get(struct blkfront_queue *q)
{
	struct blkfront_info *info = q->info;
	struct blkfront_pgrant *pg;
	unsigned long flags;
	int ref;

	spin_lock_irqsave(&q->lock, flags);
	pg = q->pool_free;
	if (pg) {
		q->pool_free = pg->next;
		spin_unlock_irqrestore(&q->lock, flags);
		return pg;
	}
	if (q->pool_nr >= q->pool_max) {
		spin_unlock_irqrestore(&q->lock, flags);
		return NULL;
	}
	q->pool_nr++;		/* reserve the slot while allocating */
	spin_unlock_irqrestore(&q->lock, flags);

	pg = kzalloc(sizeof(*pg), GFP_ATOMIC | __GFP_NOWARN);
	if (pg)
		pg->page = alloc_page(GFP_ATOMIC | __GFP_NOWARN);
	ref = pg && pg->page ?
	      pvio_gnttab_grant_access(info->pdev->otherend_id,
				       pvio_page_to_gfn(pg->page), false) :
	      -ENOMEM;
	if (ref < 0) {
		if (pg && pg->page)
			__free_page(pg->page);
		kfree(pg);
		spin_lock_irqsave(&q->lock, flags);
		q->pool_nr--;
		spin_unlock_irqrestore(&q->lock, flags);
		return NULL;
	}
	pg->gref = ref;
	spin_lock_irqsave(&q->lock, flags);
	pg->all = q->pool_all;
	q->pool_all = pg;
	spin_unlock_irqrestore(&q->lock, flags);
	return pg;
}

static void pool_put(struct blkfront_queue *q, struct blkfront_pgrant *pg)
{
	unsigned long flags;

	spin_lock_irqsave(&q->lock, flags);
	pg->next = q->pool_free;
	q->pool_free = pg;
	spin_unlock_irqrestore(&q->lock, flags);
}

static void pool_release(struct blkfront_queue *q)
{
	struct blkfront_pgrant *pg, *next;

	for (pg = q->pool_all; pg; pg = next) {
		next = pg->all;
		if (grant_end(pg->gref))
			__free_page(pg->page);
		kfree(pg);
	}
	q->pool_all = NULL;
	q->pool_free = NULL;
	q->pool_nr = 0;
}

/* Give back the data grants of @r (pool pages or per-request refs). */
static void rq_end_grants(struct blkfront_queue *q, struct blkfront_rq *r)
{
	unsigned int max = q->info->max_segs;
	struct blkfront_pgrant **pg = blkfront_rq_pg(r, max);
	int *gref = blkfront_rq_gref(r, max);
	struct pvio_gnttab_refs freed = PVIO_GNTTAB_REFS_INIT;
	unsigned int i;

	for (i = 0; i < r->nr_segs; i++) {
		if (r->persistent) {
			if (pg[i])
				pool_put(q, pg[i]);
			pg[i] = NULL;
		} else {
			grant_end_to(&freed, gref[i]);
		}
		gref[i] = -1;
	}
	/* the request's refs go back to the free list at once */
	pvio_gnttab_refs_put(&freed);
	r->nr_segs = 0;
}

/*
 * Map @rq's data into 512-byte aligned pieces of single pages and grant
 * each (or copy it into a pool page). Outside the ring lock.
 */
static blk_status_t rq_grant(struct blkfront_queue *q, struct request *rq,
			     struct blkfront_rq *r, bool write)
{
	struct blkfront_info *info = q->info;
	pvio_domid_t be = info->pdev->otherend_id;
	unsigned int max = info->max_segs;
	struct scatterlist *sgl = blkfront_rq_sg(r), *sg;
	struct blkfront_pgrant **pg = blkfront_rq_pg(r, max);
	int *gref = blkfront_rq_gref(r, max);
	struct pvio_gnttab_refs refs = PVIO_GNTTAB_REFS_INIT;
	int i, n;

	sg_init_table(sgl, max);
	n = blk_rq_map_sg(rq->q, rq, sgl);
	if (n <= 0 || n > max)
		return BLK_STS_IOERR;
	r->nr_segs = 0;
	/* every segment's ref at once: the free list's lock once */
	if (!r->persistent && pvio_gnttab_refs_take(&refs, n))
		return BLK_STS_RESOURCE;	/* blk-mq retries shortly */
	for_each_sg(sgl, sg, n, i) {
		if ((sg->offset | sg->length) & (SECTOR_SIZE - 1) ||
		    !sg->length || sg->offset + sg->length > PAGE_SIZE) {
			pr_err_ratelimited("%s: segment %u+%u not sector aligned in one page\n",
					   info->name, sg->offset, sg->length);
			rq_end_grants(q, r);
			pvio_gnttab_refs_put(&refs);
			return BLK_STS_IOERR;
		}
		if (r->persistent) {
			pg[i] = pool_get(q);
			if (!pg[i])
				goto busy;
			gref[i] = pg[i]->gref;
			if (write) {
				char *dst = page_address(pg[i]->page);

				memcpy_from_page(dst + sg->offset, sg_page(sg),
						 sg->offset, sg->length);
			}
		} else {
			unsigned long gfn = pvio_page_to_gfn(sg_page(sg));

			gref[i] = pvio_gnttab_refs_grant(&refs, be, gfn, write);
			if (gref[i] < 0)
				goto busy;
		}
		r->nr_segs = i + 1;
	}
	return BLK_STS_OK;
busy:
	/* out of grant refs or pool pages: blk-mq retries shortly */
	rq_end_grants(q, r);
	pvio_gnttab_refs_put(&refs);
	return BLK_STS_RESOURCE;
}

/* ---- requests onto the ring (ring lock held) ---- */

static void seg_fill(struct blkif_request_segment *seg, struct scatterlist *sg,
		     int gref)
{
	seg->gref = gref;
	seg->first_sect = sg->offset >> SECTOR_SHIFT;
	seg->last_sect = (sg->offset + sg->length - 1) >> SECTOR_SHIFT;
	seg->pad = 0;
}

/* Fill slot req_prod_pvt with shadow @id's request for @rq. */
static void ring_put_request(struct blkfront_queue *q, u32 id,
			     struct request *rq, struct blkfront_rq *r)
{
	struct blkfront_info *info = q->info;
	struct blkfront_shadow *sh = &q->shadow[id];
	union blkif_request_any req;
	unsigned int max = info->max_segs;
	struct scatterlist *sgl = blkfront_rq_sg(r), *sg;
	int *gref = blkfront_rq_gref(r, max);
	bool write = req_op(rq) == REQ_OP_WRITE;
	bool fua = write && (rq->cmd_flags & REQ_FUA) && info->flush;
	unsigned int i;

	memset(&req, 0, sizeof(req));
	sh->rq = rq;
	sh->flush_after = false;
	switch (req_op(rq)) {
	case REQ_OP_FLUSH:
		req.rw.operation = info->flush ? BLKIF_OP_FLUSH_DISKCACHE :
						 BLKIF_OP_WRITE_BARRIER;
		req.rw.nr_segments = 0;
		req.rw.handle = info->vdev;
		req.rw.id = id;
		req.rw.sector_number = 0;
		break;
	case REQ_OP_DISCARD:
	case REQ_OP_SECURE_ERASE:
		req.discard.operation = BLKIF_OP_DISCARD;
		req.discard.flag = req_op(rq) == REQ_OP_SECURE_ERASE ?
				   BLKIF_DISCARD_SECURE : 0;
		req.discard.handle = info->vdev;
		req.discard.id = id;
		req.discard.sector_number = blk_rq_pos(rq);
		req.discard.nr_sectors = blk_rq_sectors(rq);
		break;
	default:	/* READ, WRITE */
		if (r->nr_segs > BLKIF_MAX_SEGMENTS_PER_REQUEST) {
			struct blkif_request_segment *seg =
				page_address(q->ind_page[id]);

			for_each_sg(sgl, sg, r->nr_segs, i)
				seg_fill(&seg[i], sg, gref[i]);
			req.indirect.operation = BLKIF_OP_INDIRECT;
			req.indirect.indirect_op = write ? BLKIF_OP_WRITE :
							   BLKIF_OP_READ;
			req.indirect.nr_segments = r->nr_segs;
			req.indirect.handle = info->vdev;
			req.indirect.id = id;
			req.indirect.sector_number = blk_rq_pos(rq);
			req.indirect.indirect_grefs[0] = q->ind_gref[id];
			/* FLUSH_DISKCACHE cannot be indirect: flush after */
			sh->flush_after = fua;
			break;
		}
		/* a small FUA write is one FLUSH_DISKCACHE carrying the data */
		req.rw.operation = fua ? BLKIF_OP_FLUSH_DISKCACHE :
			     write ? BLKIF_OP_WRITE : BLKIF_OP_READ;
		req.rw.nr_segments = r->nr_segs;
		req.rw.handle = info->vdev;
		req.rw.id = id;
		req.rw.sector_number = blk_rq_pos(rq);
		for_each_sg(sgl, sg, r->nr_segs, i)
			seg_fill(&req.rw.seg[i], sg, gref[i]);
		break;
	}
	sh->op = req.rw.operation;
	memcpy(blkif_front_req(&q->ring, q->ring.req_prod_pvt), &req,
	       sizeof(req));
	q->ring.req_prod_pvt++;
}

/* The second step of a large FUA write: a flush with no data. */
static void ring_put_flush(struct blkfront_queue *q, u32 id)
{
	union blkif_request_any req;

	memset(&req, 0, sizeof(req));
	req.rw.operation = BLKIF_OP_FLUSH_DISKCACHE;
	req.rw.handle = q->info->vdev;
	req.rw.id = id;
	q->shadow[id].op = BLKIF_OP_FLUSH_DISKCACHE;
	q->shadow[id].flush_after = false;
	memcpy(blkif_front_req(&q->ring, q->ring.req_prod_pvt), &req,
	       sizeof(req));
	q->ring.req_prod_pvt++;
}

static void ring_push(struct blkfront_queue *q)
{
	if (pvio_front_push(&q->ring))
		pvio_evtchn_notify(q->port);
}

static blk_status_t blkfront_queue_rq(struct blk_mq_hw_ctx *hctx,
				      const struct blk_mq_queue_data *bd)
{
	struct blkfront_queue *q = hctx_to_queue(hctx);
	struct blkfront_info *info = q->info;
	struct request *rq = bd->rq;
	struct blkfront_rq *r = blk_mq_rq_to_pdu(rq);
	unsigned long flags;
	blk_status_t st;
	u32 id;

	blk_mq_start_request(rq);
	r->nr_segs = 0;
	r->persistent = info->persistent;
	r->status = BLK_STS_OK;
	r->queue = q;
	switch (req_op(rq)) {
	case REQ_OP_READ:
	case REQ_OP_WRITE:
		st = rq_grant(q, rq, r, req_op(rq) == REQ_OP_WRITE);
		if (st)
			return st;
		break;
	case REQ_OP_FLUSH:
		if (!info->flush && !info->barrier)
			return BLK_STS_NOTSUPP;
		break;
	case REQ_OP_DISCARD:
		if (!info->discard)
			return BLK_STS_NOTSUPP;
		break;
	case REQ_OP_SECURE_ERASE:
		if (!info->discard_secure)
			return BLK_STS_NOTSUPP;
		break;
	default:
		return BLK_STS_NOTSUPP;
	}

	spin_lock_irqsave(&q->lock, flags);
	id = BLKFRONT_SHADOW_FREE_END;
	/* detached (suspended): the ring is left as the suspend found it */
	if (q->live && !q->detached && !q->broken &&
	    !pvio_front_full(&q->ring))
		id = shadow_get(q);
	if (id == BLKFRONT_SHADOW_FREE_END) {
		bool dead = info->dead;

		/*
		 * Stopped under the lock: the completion that frees a slot
		 * (or a reconnect) restarts the queue after taking it.
		 */
		if (!dead)
			blk_mq_stop_hw_queue(hctx);
		spin_unlock_irqrestore(&q->lock, flags);
		rq_end_grants(q, r);
		return dead ? BLK_STS_IOERR : BLK_STS_DEV_RESOURCE;
	}
	ring_put_request(q, id, rq, r);
	if (bd->last)
		ring_push(q);
	spin_unlock_irqrestore(&q->lock, flags);
	return BLK_STS_OK;
}

static void blkfront_commit_rqs(struct blk_mq_hw_ctx *hctx)
{
	struct blkfront_queue *q = hctx_to_queue(hctx);
	unsigned long flags;

	spin_lock_irqsave(&q->lock, flags);
	if (q->live && !q->detached)
		ring_push(q);
	spin_unlock_irqrestore(&q->lock, flags);
}

/* ---- responses (event handler, or a last look before teardown) ---- */

static void queue_broken(struct blkfront_queue *q, const char *why,
			 unsigned long long v)
{
	atomic_long_inc(&q->info->bad_responses);
	if (!q->broken)
		pr_err("%s: queue %u: backend broke the ring protocol: %s (%llu); queue stopped until the backend reconnects\n",
		       q->info->name, q->index, why, v);
	q->broken = true;
}

static blk_status_t rsp_status(struct blkfront_queue *q, s16 status)
{
	switch (status) {
	case BLKIF_RSP_OKAY:
		return BLK_STS_OK;
	case BLKIF_RSP_EOPNOTSUPP:
		return BLK_STS_NOTSUPP;
	case BLKIF_RSP_ERROR:
		return BLK_STS_IOERR;
	default:
		pr_warn_ratelimited("%s: unknown response status %d\n",
				    q->info->name, status);
		return BLK_STS_IOERR;
	}
}

/*
 * One response, already copied out of the ring. False if it breaks the
 * protocol (the caller stops reading the ring).
 */
static bool rsp_handle(struct blkfront_queue *q,
		       const struct blkif_response *rsp, struct request **done,
		       bool *push)
{
	struct blkfront_shadow *sh;
	enum blkif_rsp_verdict v;
	struct blkfront_rq *r;
	blk_status_t st;
	u32 id;

	if (!blkif_rsp_id_ok(rsp, q->nr_ents)) {
		queue_broken(q, blkif_rsp_verdict_name(BLKIF_RSP_BAD_ID),
			     rsp->id);
		return false;
	}
	id = rsp->id;
	sh = &q->shadow[id];
	v = blkif_rsp_check(rsp, sh->rq != NULL, sh->op);
	if (v != BLKIF_RSP_VALID) {
		queue_broken(q, blkif_rsp_verdict_name(v),
			     v == BLKIF_RSP_BAD_OP ? rsp->operation : id);
		return false;
	}
	st = rsp_status(q, rsp->status);
	if (st == BLK_STS_OK && sh->flush_after) {
		/* this response freed a slot, so the flush fits */
		ring_put_flush(q, id);
		*push = true;
		return true;
	}
	r = blk_mq_rq_to_pdu(sh->rq);
	r->status = st;
	rq_list_add(done, sh->rq);
	shadow_put(q, id);
	return true;
}

/* A request's data is in place: copy reads out of pool pages, end grants. */
static void rq_finish(struct request *rq)
{
	struct blkfront_rq *r = blk_mq_rq_to_pdu(rq);
	struct blkfront_queue *q = r->queue;
	unsigned int max = q->info->max_segs;

	if (r->persistent && req_op(rq) == REQ_OP_READ &&
	    r->status == BLK_STS_OK) {
		struct blkfront_pgrant **pg = blkfront_rq_pg(r, max);
		struct scatterlist *sg;
		unsigned int i;

		for_each_sg(blkfront_rq_sg(r), sg, r->nr_segs, i)
			memcpy_to_page(sg_page(sg), sg->offset,
				       (char *)page_address(pg[i]->page) +
				       sg->offset, sg->length);
	}
	rq_end_grants(q, r);
}

static void blkfront_complete_rq(struct request *rq)
{
	struct blkfront_rq *r = blk_mq_rq_to_pdu(rq);

	rq_finish(rq);
	blk_mq_end_request(rq, r->status);
}

/* Successful requests taken in one pass (blkfront_queue_poll). */
static void blkfront_complete_batch(struct io_comp_batch *iob)
{
	struct request *rq;

	rq_list_for_each(&iob->req_list, rq)
		rq_finish(rq);
	blk_mq_end_request_batch(iob);
}

void blkfront_queue_poll(struct blkfront_queue *q)
{
	struct blkfront_info *info = q->info;
	struct request *done = NULL, *rq;
	DEFINE_IO_COMP_BATCH(iob);
	unsigned long flags;
	bool push = false, freed = false;

	spin_lock_irqsave(&q->lock, flags);
	if (!q->ring_mem || q->broken)
		goto out;
	do {
		u32 rp = READ_ONCE(q->ring.sring->rsp_prod);

		if (!pvio_front_rsp_prod_ok(&q->ring, rp)) {
			queue_broken(q, "rsp_prod beyond the requests", rp);
			goto out;
		}
		/* responses are read after the index that covers them */
		virt_rmb();
		while (q->ring.rsp_cons != rp) {
			struct blkif_response rsp;

			blkif_front_copy_rsp(&q->ring, q->ring.rsp_cons, &rsp);
			q->ring.rsp_cons++;
			if (!rsp_handle(q, &rsp, &done, &push))
				goto out;
			freed = true;
		}
	} while (pvio_front_final_check(&q->ring));
out:
	if (push)
		ring_push(q);
	spin_unlock_irqrestore(&q->lock, flags);

	/*
	 * Completions taken here end as one batch (one clock read and one
	 * tag release for all of them); a request owed to another CPU, or
	 * one that failed, ends on its own.
	 */
	while (done) {
		struct blkfront_rq *r;

		rq = done;
		done = rq_list_next(rq);
		if (blk_mq_complete_request_remote(rq))
			continue;
		r = blk_mq_rq_to_pdu(rq);
		if (blk_mq_add_to_batch(rq, &iob, r->status != BLK_STS_OK,
					blkfront_complete_batch))
			continue;
		blkfront_complete_rq(rq);
	}
	if (iob.complete)
		iob.complete(&iob);
	if (freed && info->disk)
		blk_mq_start_stopped_hw_queues(info->disk->queue, true);
}

static void blkfront_event(pvio_evtchn_port_t port, void *data)
{
	blkfront_queue_poll(data);
}

/*
 * A request unanswered for a while. A backend that is slow or restarting
 * is waited for, never timed out; but an event lost on the way, either
 * way, would leave the request unanswered for ever. So look at the ring:
 * responses published and not taken mean their event was lost (they are
 * taken now); otherwise ring the backend again (a request it may not have
 * been told about). Both are counted and logged with the ring's indexes
 * and the port's state, which say which end missed what.
 */
static enum blk_eh_timer_return blkfront_timeout(struct request *rq)
{
	struct blkfront_rq *r = blk_mq_rq_to_pdu(rq);
	struct blkfront_queue *q = r->queue;
	struct blkfront_info *info = q->info;
	u32 pvt, prod = 0, ev_req = 0, rsp_prod = 0, ev_rsp = 0, cons;
	bool unseen = false;
	unsigned long flags;

	/* suspended: the requests are re-issued once we are resumed */
	if (READ_ONCE(q->detached))
		return BLK_EH_RESET_TIMER;
	spin_lock_irqsave(&q->lock, flags);
	pvt = q->ring.req_prod_pvt;
	cons = q->ring.rsp_cons;
	if (q->ring_mem && !q->broken) {
		prod = READ_ONCE(q->ring.sring->req_prod);
		ev_req = READ_ONCE(q->ring.sring->req_event);
		rsp_prod = READ_ONCE(q->ring.sring->rsp_prod);
		ev_rsp = READ_ONCE(q->ring.sring->rsp_event);
		unseen = rsp_prod != cons;
	}
	spin_unlock_irqrestore(&q->lock, flags);
	if (unseen) {
		atomic_long_inc(&info->lost_events);
		pr_warn_ratelimited("%s: queue %u: responses came without their event (%ld so far)\n",
				    info->name, q->index,
				    atomic_long_read(&info->lost_events));
	} else if (q->live && q->port_bound) {
		atomic_long_inc(&info->renotified);
		pr_info_ratelimited("%s: queue %u: a request unanswered for %u s, backend rung again (%ld so far)\n",
				    info->name, q->index, BLKFRONT_RQ_TIMEOUT_S,
				    atomic_long_read(&info->renotified));
	}
	pr_info_ratelimited("%s: queue %u: requests %u queued, %u published, backend asks at %u; responses %u published, %u taken, we ask at %u; port %u state %#x, %lu events taken\n",
			    info->name, q->index, pvt, prod, ev_req, rsp_prod,
			    cons, ev_rsp, q->port, pvio_evtchn_state(q->port),
			    pvio_evtchn_taken(q->port));
	blkfront_queue_poll(q);
	/* the timeout code holds a reference: rq is not reused meanwhile */
	if (blk_mq_request_completed(rq))
		return BLK_EH_DONE;
	spin_lock_irqsave(&q->lock, flags);
	if (!unseen && q->live && q->port_bound)
		pvio_evtchn_notify(q->port);
	spin_unlock_irqrestore(&q->lock, flags);
	return BLK_EH_RESET_TIMER;
}

const struct blk_mq_ops blkfront_mq_ops = {
	.queue_rq = blkfront_queue_rq,
	.commit_rqs = blkfront_commit_rqs,
	.complete = blkfront_complete_rq,
	.timeout = blkfront_timeout,
};

/* ---- ring setup and teardown (process context, info->mutex held) ---- */

int blkfront_queue_setup(struct blkfront_info *info, struct blkfront_queue *q)
{
	pvio_domid_t be = info->pdev->otherend_id;
	unsigned int pages = 1u << info->ring_order, i;
	int ret;

	q->info = info;
	q->ring_order = info->ring_order;
	q->broken = false;
	q->live = false;
	q->detached = false;
	q->port_bound = false;
	q->handler_bound = false;
	for (i = 0; i < BLKFRONT_MAX_RING_PAGES; i++)
		q->ring_ref[i] = -1;
	q->ring_mem = (void *)__get_free_pages(GFP_KERNEL | __GFP_ZERO,
					       q->ring_order);
	if (!q->ring_mem)
		return -ENOMEM;
	pvio_sring_init(q->ring_mem);
	q->nr_ents = blkif_ring_ents((size_t)pages * PAGE_SIZE);
	pvio_front_ring_init(&q->ring, q->ring_mem, q->nr_ents);
	for (i = 0; i < pages; i++) {
		struct page *pg = virt_to_page((char *)q->ring_mem +
					       i * PAGE_SIZE);

		ret = pvio_gnttab_grant_access(be, pvio_page_to_gfn(pg), false);
		if (ret < 0)
			goto err;
		q->ring_ref[i] = ret;
	}

	ret = -ENOMEM;
	q->shadow = kcalloc(q->nr_ents, sizeof(*q->shadow), GFP_KERNEL);
	if (!q->shadow)
		goto err;
	shadow_reset(q);
	if (info->indirect_segs) {
		q->ind_page = kcalloc(q->nr_ents, sizeof(*q->ind_page),
				      GFP_KERNEL);
		q->ind_gref = kcalloc(q->nr_ents, sizeof(*q->ind_gref),
				      GFP_KERNEL);
		if (!q->ind_page || !q->ind_gref)
			goto err;
		for (i = 0; i < q->nr_ents; i++)
			q->ind_gref[i] = -1;
		for (i = 0; i < q->nr_ents; i++) {
			q->ind_page[i] = alloc_page(GFP_KERNEL | __GFP_ZERO);
			if (!q->ind_page[i])
				goto err;
			/* the backend only reads segment lists */
			unsigned long gfn = pvio_page_to_gfn(q->ind_page[i]);

			ret = pvio_gnttab_grant_access(be, gfn, true);
			if (ret < 0)
				goto err;
			q->ind_gref[i] = ret;
		}
	}
	q->pool_max = info->persistent ? q->nr_ents * info->max_segs : 0;

	/*
	 * With queue_vcpu, queue i's completions are raised on CPU i, the
	 * CPU blk-mq's default map gives it (a request completes where it
	 * was issued, without a cross-CPU call); else on vCPU 0.
	 */
	ret = pvio_evtchn_alloc_unbound_on(be, queue_vcpu && info->nr_queues > 1 ?
					   q->index : 0, &q->port);
	if (ret)
		goto err;
	q->port_bound = true;
	ret = pvio_evtchn_bind_handler(q->port, blkfront_event, q);
	if (ret)
		goto err;
	q->handler_bound = true;
	return 0;
err:
	blkfront_queue_teardown(info, q, false);
	return ret;
}

/* Stop delivering events to @q (waits for a running handler). */
void blkfront_queue_unbind(struct blkfront_queue *q)
{
	if (q->handler_bound)
		pvio_evtchn_unbind_handler(q->port);
	q->handler_bound = false;
}

/*
 * Suspend: no event from this ring's backend reaches us any more. The
 * ring, its grants, its port and the requests in flight stay: the
 * toolstack has the backend let go of them once we are suspended. After
 * the resume either a backend took them over where they were (a migration
 * that kept the connection: blkfront_queue_reattach) or the teardown
 * takes what the old backend answered and re-issues the rest.
 */
void blkfront_queue_detach(struct blkfront_queue *q)
{
	unsigned long flags;

	blkfront_queue_unbind(q);
	spin_lock_irqsave(&q->lock, flags);
	q->detached = true;
	spin_unlock_irqrestore(&q->lock, flags);
}

/*
 * Resumed on a host whose backend took this very ring, port and grants
 * (the connection was kept): bind the handler again. The ring goes on
 * where it was; blkfront_queue_kick() once it is live.
 */
int blkfront_queue_reattach(struct blkfront_queue *q)
{
	unsigned long flags;
	int ret;

	ret = pvio_evtchn_bind_handler(q->port, blkfront_event, q);
	if (ret)
		return ret;
	q->handler_bound = true;
	spin_lock_irqsave(&q->lock, flags);
	q->detached = false;
	spin_unlock_irqrestore(&q->lock, flags);
	return 0;
}

/*
 * A kept ring live again: take what the backends answered meanwhile,
 * publish what was queued but not yet published, and ring the backend
 * (it may have looked before our last requests were there).
 */
void blkfront_queue_kick(struct blkfront_queue *q)
{
	unsigned long flags;

	blkfront_queue_poll(q);
	spin_lock_irqsave(&q->lock, flags);
	if (q->live && !q->detached && !q->broken && q->port_bound) {
		pvio_front_push(&q->ring);
		pvio_evtchn_notify(q->port);
	}
	spin_unlock_irqrestore(&q->lock, flags);
}

/*
 * Take the ring down. Responses already on it are taken first (they are
 * answers the backend gave); requests still unanswered are put back on
 * the blk-mq requeue list (@requeue, for the next connection) or failed.
 */
void blkfront_queue_teardown(struct blkfront_info *info,
			     struct blkfront_queue *q, bool requeue)
{
	struct request *pending = NULL, *rq;
	unsigned int i, pages = 1u << q->ring_order;
	unsigned long flags;
	bool ring_free = true;

	blkfront_queue_unbind(q);
	if (q->ring_mem && q->shadow)
		blkfront_queue_poll(q);
	if (q->port_bound)
		pvio_evtchn_close(q->port);
	q->port_bound = false;

	spin_lock_irqsave(&q->lock, flags);
	q->live = false;
	if (q->shadow) {
		for (i = 0; i < q->nr_ents; i++) {
			if (q->shadow[i].rq)
				rq_list_add(&pending, q->shadow[i].rq);
			q->shadow[i].rq = NULL;
		}
		shadow_reset(q);
	}
	spin_unlock_irqrestore(&q->lock, flags);

	while (pending) {
		struct blkfront_rq *r;

		rq = pending;
		pending = rq_list_next(rq);
		r = blk_mq_rq_to_pdu(rq);
		rq_end_grants(q, r);
		if (requeue) {
			atomic_long_inc(&info->reissued);
			blk_mq_requeue_request(rq, false);
		} else {
			blk_mq_end_request(rq, BLK_STS_IOERR);
		}
	}
	if (requeue && info->disk)
		blk_mq_kick_requeue_list(info->disk->queue);

	if (q->ind_page) {
		for (i = 0; i < q->nr_ents; i++) {
			if (q->ind_page[i] && grant_end(q->ind_gref[i]))
				__free_page(q->ind_page[i]);
		}
	}
	kfree(q->ind_page);
	kfree(q->ind_gref);
	q->ind_page = NULL;
	q->ind_gref = NULL;
	pool_release(q);
	kfree(q->shadow);
	q->shadow = NULL;

	for (i = 0; i < pages; i++) {
		if (!grant_end(q->ring_ref[i]))
			ring_free = false;
		q->ring_ref[i] = -1;
	}
	if (q->ring_mem && ring_free)
		free_pages((unsigned long)q->ring_mem, q->ring_order);
	q->ring_mem = NULL;
	q->broken = false;
}

/* Let requests flow on a ring the backend has connected. */
void blkfront_queue_go_live(struct blkfront_queue *q)
{
	unsigned long flags;

	spin_lock_irqsave(&q->lock, flags);
	q->live = true;
	spin_unlock_irqrestore(&q->lock, flags);
}

unsigned int blkfront_queue_inflight(struct blkfront_queue *q)
{
	unsigned int i, n = 0;
	unsigned long flags;

	spin_lock_irqsave(&q->lock, flags);
	if (q->shadow)
		for (i = 0; i < q->nr_ents; i++)
			n += !!q->shadow[i].rq;
	spin_unlock_irqrestore(&q->lock, flags);
	return n;
}
