/* SPDX-License-Identifier: MIT */
/*
 * blkif response checks shared by every frontend (the guest kernel's
 * blkfront and the user-space one). The backend is a peer, not a trusted
 * party: a response is read once out of the ring into a private copy, and
 * only that copy is checked here and acted on.
 */
#ifndef PVIO_RING_BLKIF_RSP_H
#define PVIO_RING_BLKIF_RSP_H

#include "pvio/blkif.h"

enum blkif_rsp_verdict {
	BLKIF_RSP_VALID = 0,
	BLKIF_RSP_BAD_ID,	/* the id is beyond the frontend's id space */
	BLKIF_RSP_IDLE_ID,	/* no request with that id is in flight */
	BLKIF_RSP_BAD_OP,	/* the operation differs from the request's */
};

/*
 * Check a copied response against the request it names: @nr_ids ids were
 * handed out, @in_flight tells whether @rsp->id is one of them (only
 * meaningful when the id is in range: call blkif_rsp_id_ok first), @req_op
 * is the operation that request had on the wire.
 */
static inline int blkif_rsp_id_ok(const struct blkif_response *rsp,
				  uint32_t nr_ids)
{
	return rsp->id < nr_ids;
}

static inline enum blkif_rsp_verdict
blkif_rsp_check(const struct blkif_response *rsp, int in_flight,
		uint8_t req_op)
{
	if (!in_flight)
		return BLKIF_RSP_IDLE_ID;
	if (rsp->operation != req_op)
		return BLKIF_RSP_BAD_OP;
	return BLKIF_RSP_VALID;
}

static inline const char *blkif_rsp_verdict_name(enum blkif_rsp_verdict v)
{
	switch (v) {
	case BLKIF_RSP_VALID:
		return "valid";
	case BLKIF_RSP_BAD_ID:
		return "response id out of range";
	case BLKIF_RSP_IDLE_ID:
		return "response for an idle id";
	case BLKIF_RSP_BAD_OP:
		return "response operation differs from request";
	}
	return "invalid";
}

/* What a status means: 0 done, 1 not supported, -1 error or unknown. */
static inline int blkif_rsp_status_class(int16_t status)
{
	if (status == BLKIF_RSP_OKAY)
		return 0;
	if (status == BLKIF_RSP_EOPNOTSUPP)
		return 1;
	return -1;
}

#endif /* PVIO_RING_BLKIF_RSP_H */
