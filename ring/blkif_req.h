/* SPDX-License-Identifier: MIT */
/*
 * blkif request validation: every field of a request copied out of the ring
 * (and of its indirect pages) is checked here before a data path acts on
 * it. Pure functions, no I/O, shared by blkback, its fuzz harness and its
 * unit tests.
 */
#ifndef PVIO_RING_BLKIF_REQ_H
#define PVIO_RING_BLKIF_REQ_H

#include <stdbool.h>
#include <stdint.h>

#include "pvio/blkif.h"

/* Most segments one request may carry (through INDIRECT) in pvio. */
#define BLKIF_REQ_MAX_INDIRECT_SEGS	256
#define BLKIF_REQ_MAX_SEGS \
	(BLKIF_REQ_MAX_INDIRECT_SEGS > BLKIF_MAX_SEGMENTS_PER_REQUEST ? \
	 BLKIF_REQ_MAX_INDIRECT_SEGS : BLKIF_MAX_SEGMENTS_PER_REQUEST)

/* The geometry a request is checked against. */
struct blkif_limits {
	uint64_t sectors;		/* disk size, 512-byte units */
	uint32_t sector_size;		/* 512 or 4096 */
	uint32_t max_indirect_segs;	/* 0: INDIRECT refused */
	bool readonly;
	bool discard;			/* DISCARD served */
	bool discard_secure;
};

/* A request after validation: everything the data path needs, bounded. */
struct blkif_req_desc {
	uint64_t id;
	uint8_t operation;	/* as on the wire (INDIRECT stays INDIRECT) */
	uint8_t op;		/* effective: READ, WRITE, WRITE_BARRIER, FLUSH, DISCARD */
	uint8_t discard_secure;
	uint16_t nr_segs;	/* data segments */
	uint16_t nr_indirect;	/* indirect pages to map (INDIRECT only) */
	uint64_t sector;	/* 512-byte units */
	uint64_t nr_sectors;	/* total length (DISCARD: the range) */
	uint32_t indirect_grefs[BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST];
	struct blkif_request_segment seg[BLKIF_REQ_MAX_SEGS];
};

/*
 * Validate a request copied out of the ring. Fills @d (for INDIRECT only
 * the header: segments come with blkif_req_indirect()). Returns
 * BLKIF_RSP_OKAY, BLKIF_RSP_ERROR or BLKIF_RSP_EOPNOTSUPP; @d->id and
 * @d->operation are always set so that an error can be answered.
 */
int blkif_req_parse(const union blkif_request_any *copy,
		      const struct blkif_limits *lim,
		      struct blkif_req_desc *d);
/*
 * Copy the segments of an INDIRECT request out of its mapped indirect
 * pages (each PVIO_PAGE_SIZE bytes, @d->nr_indirect of them) and validate
 * them and the resulting sector range. BLKIF_RSP_OKAY or BLKIF_RSP_ERROR.
 */
int blkif_req_indirect(struct blkif_req_desc *d, void *const *pages,
			 const struct blkif_limits *lim);

#endif /* PVIO_RING_BLKIF_REQ_H */
