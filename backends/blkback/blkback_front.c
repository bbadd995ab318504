// SPDX-License-Identifier: MIT
/*
 * blkback per-frontend-domain accounting: whatever the disks and queues of
 * one domain hold in blkback (ring pages, persistent grants, requests in
 * flight and the pages they may map) is counted against that domain's own
 * limits, so that a domain reaching them is refused, throttled or served
 * without persistent grants on its own while every other domain goes on.
 * Bounding what one domain holds also bounds the mappings blkback asks hv
 * for on its behalf, below hv's per-(client, domain) cap.
 *
 * The list of domains belongs to the control thread; the counters are
 * atomics taken and given back by the queue threads.
 */
#include <stdlib.h>

#include "blkback.h"

struct blkback_front *blkback_front_get(struct blkback_ctx *ctx,
					pvio_domid_t domid)
{
	struct blkback_front *f;

	for (f = ctx->fronts; f; f = f->next)
		if (f->domid == domid) {
			f->refs++;
			return f;
		}
	f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->domid = domid;
	f->lim = &ctx->dom_lim;
	f->refs = 1;
	f->next = ctx->fronts;
	ctx->fronts = f;
	return f;
}

void blkback_front_put(struct blkback_ctx *ctx, struct blkback_front *f)
{
	struct blkback_front **p;

	if (!f || --f->refs)
		return;
	for (p = &ctx->fronts; *p; p = &(*p)->next)
		if (*p == f) {
			*p = f->next;
			break;
		}
	/* every disk let go: each counter must be back to zero */
	if (f->nr_pgrants || f->nr_reqs || f->nr_segs || f->nr_ring_pages)
		blkback_log("domain %u: accounting not balanced at release (grants %u requests %u segments %u ring pages %u)",
			    f->domid, f->nr_pgrants, f->nr_reqs, f->nr_segs,
			    f->nr_ring_pages);
	free(f);
}

bool blkback_front_take(unsigned int *counter, unsigned int n,
			unsigned int max)
{
	unsigned int cur = __atomic_load_n(counter, __ATOMIC_RELAXED);

	do {
		if (n > max || cur > max - n)
			return false;
	} while (!__atomic_compare_exchange_n(counter, &cur, cur + n, true,
					      __ATOMIC_RELAXED,
					      __ATOMIC_RELAXED));
	return true;
}

void blkback_front_give(unsigned int *counter, unsigned int n)
{
	__atomic_sub_fetch(counter, n, __ATOMIC_RELAXED);
}
