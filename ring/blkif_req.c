// SPDX-License-Identifier: MIT
/*
 * blkif request validation: every field of a request copied out of the
 * ring (and of its indirect pages) is checked here before a data path acts
 * on it. Pure functions, no I/O: unit-tested and fuzzed on their own.
 */
#include <string.h>

#include "blkif_req.h"

/* Check segments [0, n) and add up their length in 512-byte sectors. */
static int segs_check(const struct blkif_request_segment *seg, unsigned int n,
		      uint64_t *nr_sectors)
{
	uint64_t total = 0;

	for (unsigned int i = 0; i < n; i++) {
		if (seg[i].first_sect > seg[i].last_sect ||
		    seg[i].last_sect >= BLKIF_SECTORS_PER_PAGE)
			return BLKIF_RSP_ERROR;
		total += seg[i].last_sect - seg[i].first_sect + 1u;
	}
	*nr_sectors = total;
	return BLKIF_RSP_OKAY;
}

/* The range must lie inside the disk and respect its sector size. */
static int range_check(uint64_t sector, uint64_t nr, const struct blkif_limits *lim)
{
	uint64_t per = lim->sector_size >> BLKIF_SECTOR_SHIFT;

	if (sector > lim->sectors || nr > lim->sectors - sector)
		return BLKIF_RSP_ERROR;
	if (per > 1 && (sector % per || nr % per))
		return BLKIF_RSP_ERROR;
	return BLKIF_RSP_OKAY;
}

static bool op_writes(uint8_t op)
{
	return op == BLKIF_OP_WRITE || op == BLKIF_OP_WRITE_BARRIER ||
	       op == BLKIF_OP_FLUSH_DISKCACHE;
}

int blkif_req_parse(const union blkif_request_any *copy,
		      const struct blkif_limits *lim,
		      struct blkif_req_desc *d)
{
	const struct blkif_request *rw = &copy->rw;
	int rc;

	d->id = rw->id;
	d->operation = rw->operation;
	d->op = rw->operation;
	d->nr_segs = 0;
	d->nr_indirect = 0;
	d->sector = rw->sector_number;
	d->nr_sectors = 0;
	d->discard_secure = 0;

	switch (rw->operation) {
	case BLKIF_OP_READ:
	case BLKIF_OP_WRITE:
		if (rw->nr_segments == 0)
			return BLKIF_RSP_ERROR;
		/* fall through */
	case BLKIF_OP_WRITE_BARRIER:
	case BLKIF_OP_FLUSH_DISKCACHE:
		/* barrier and flush may come without data */
		if (rw->nr_segments > BLKIF_MAX_SEGMENTS_PER_REQUEST)
			return BLKIF_RSP_ERROR;
		d->nr_segs = rw->nr_segments;
		memcpy(d->seg, rw->seg, d->nr_segs * sizeof(d->seg[0]));
		rc = segs_check(d->seg, d->nr_segs, &d->nr_sectors);
		if (rc)
			return rc;
		if (d->nr_segs && lim->readonly && op_writes(d->op))
			return BLKIF_RSP_ERROR;
		if (d->nr_segs == 0)
			return BLKIF_RSP_OKAY;
		return range_check(d->sector, d->nr_sectors, lim);

	case BLKIF_OP_DISCARD: {
		const struct blkif_request_discard *dc = &copy->discard;

		d->nr_sectors = dc->nr_sectors;
		d->discard_secure = !!(dc->flag & BLKIF_DISCARD_SECURE);
		if (!lim->discard)
			return BLKIF_RSP_EOPNOTSUPP;
		if (d->discard_secure && !lim->discard_secure)
			return BLKIF_RSP_EOPNOTSUPP;
		if (lim->readonly)
			return BLKIF_RSP_ERROR;
		return range_check(d->sector, d->nr_sectors, lim);
	}

	case BLKIF_OP_INDIRECT: {
		const struct blkif_request_indirect *in = &copy->indirect;
		unsigned int pages;

		if (!lim->max_indirect_segs)
			return BLKIF_RSP_EOPNOTSUPP;
		d->sector = in->sector_number;
		if (in->indirect_op != BLKIF_OP_READ &&
		    in->indirect_op != BLKIF_OP_WRITE)
			return BLKIF_RSP_ERROR;
		d->op = in->indirect_op;
		if (in->nr_segments == 0 ||
		    in->nr_segments > lim->max_indirect_segs ||
		    in->nr_segments > BLKIF_REQ_MAX_SEGS)
			return BLKIF_RSP_ERROR;
		if (d->op == BLKIF_OP_WRITE && lim->readonly)
			return BLKIF_RSP_ERROR;
		pages = (in->nr_segments + BLKIF_SEGS_PER_INDIRECT_FRAME - 1) /
			BLKIF_SEGS_PER_INDIRECT_FRAME;
		if (pages > BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST)
			return BLKIF_RSP_ERROR;
		d->nr_segs = in->nr_segments;
		d->nr_indirect = pages;
		memcpy(d->indirect_grefs, in->indirect_grefs,
		       pages * sizeof(d->indirect_grefs[0]));
		return BLKIF_RSP_OKAY;
	}

	default:
		return BLKIF_RSP_EOPNOTSUPP;
	}
}

int blkif_req_indirect(struct blkif_req_desc *d, void *const *pages,
			 const struct blkif_limits *lim)
{
	unsigned int per = BLKIF_SEGS_PER_INDIRECT_FRAME;
	int rc;

	if (d->operation != BLKIF_OP_INDIRECT || d->nr_indirect == 0 ||
	    d->nr_segs == 0 || d->nr_segs > BLKIF_REQ_MAX_SEGS ||
	    d->nr_indirect > BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST)
		return BLKIF_RSP_ERROR;
	/* copy once: the frontend may still be writing these pages */
	for (unsigned int i = 0, done = 0; i < d->nr_indirect; i++) {
		unsigned int n = d->nr_segs - done < per ? d->nr_segs - done : per;

		memcpy(&d->seg[done], pages[i], n * sizeof(d->seg[0]));
		done += n;
	}
	rc = segs_check(d->seg, d->nr_segs, &d->nr_sectors);
	if (rc)
		return rc;
	return range_check(d->sector, d->nr_sectors, lim);
}
