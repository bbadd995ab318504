/* SPDX-License-Identifier: MIT */
/*
 * Shared request/response rings, wire-compatible with Xen's io/ring.h.
 *
 * A ring is one or more pages: a 64-byte header of free-running u32 indices
 * followed by an array of entries (each a union of request and response),
 * whose count is the largest power of two that fits. Each side keeps private
 * indices and publishes them with push; event fields implement notification
 * suppression (a side is notified only when the peer asked for it).
 *
 * Producer/consumer indices come from the peer and are never trusted: the
 * *_prod_ok() checks must pass before any index-driven loop.
 */
#ifndef PVIO_RING_H
#define PVIO_RING_H

#include "abi.h"

struct pvio_sring_hdr {
	uint32_t req_prod;
	uint32_t req_event;
	uint32_t rsp_prod;
	uint32_t rsp_event;
	uint8_t pad[48];
};
PVIO_ABI_CHECK_SIZE(struct pvio_sring_hdr, 64);
PVIO_ABI_CHECK_OFFSET(struct pvio_sring_hdr, rsp_event, 12);

/* Frontend view: produces requests, consumes responses. */
struct pvio_front_ring {
	uint32_t req_prod_pvt;	/* next request slot to fill */
	uint32_t rsp_cons;	/* next response to read */
	uint32_t nr_ents;
	struct pvio_sring_hdr *sring;
};

/* Backend view: consumes requests, produces responses. */
struct pvio_back_ring {
	uint32_t rsp_prod_pvt;	/* next response slot to fill */
	uint32_t req_cons;	/* next request to read */
	uint32_t nr_ents;
	uint32_t rsp_notified;	/* rsp_prod at our last notification */
	struct pvio_sring_hdr *sring;
};

/* Entries in a ring of @bytes whose entries are @ent_size: a power of two. */
static inline uint32_t pvio_ring_nr_ents(size_t bytes, size_t ent_size)
{
	size_t n = (bytes - sizeof(struct pvio_sring_hdr)) / ent_size;
	uint32_t p = 1;

	if (bytes <= sizeof(struct pvio_sring_hdr) || n == 0)
		return 0;
	while ((size_t)p * 2 <= n)
		p *= 2;
	return p;
}

static inline void pvio_sring_init(struct pvio_sring_hdr *s)
{
	s->req_prod = 0;
	s->rsp_prod = 0;
	s->req_event = 1;
	s->rsp_event = 1;
	for (unsigned int i = 0; i < sizeof(s->pad); i++)
		s->pad[i] = 0;
}

static inline void pvio_front_ring_init(struct pvio_front_ring *r,
					struct pvio_sring_hdr *s,
					uint32_t nr_ents)
{
	r->req_prod_pvt = 0;
	r->rsp_cons = 0;
	r->nr_ents = nr_ents;
	r->sring = s;
}

/* Attach to a ring the frontend initialised; indices start at the shared ones. */
static inline void pvio_back_ring_init(struct pvio_back_ring *r,
				       struct pvio_sring_hdr *s,
				       uint32_t nr_ents)
{
	r->rsp_prod_pvt = PVIO_READ_ONCE(s->rsp_prod);
	r->req_cons = r->rsp_prod_pvt;
	r->nr_ents = nr_ents;
	r->rsp_notified = r->rsp_prod_pvt;
	r->sring = s;
}

static inline void *pvio_ring_slot(struct pvio_sring_hdr *s, uint32_t nr_ents,
				   size_t ent_size, uint32_t idx)
{
	return (char *)(s + 1) + (size_t)(idx & (nr_ents - 1)) * ent_size;
}

/* Requests the frontend may still queue. */
static inline uint32_t pvio_front_free(const struct pvio_front_ring *r)
{
	return r->nr_ents - (r->req_prod_pvt - r->rsp_cons);
}

static inline bool pvio_front_full(const struct pvio_front_ring *r)
{
	return pvio_front_free(r) == 0;
}

/*
 * A response producer from the backend is valid if it does not claim more
 * responses than requests outstanding. Unsigned arithmetic makes this right
 * across the 2^32 wrap.
 */
static inline bool pvio_front_rsp_prod_ok(const struct pvio_front_ring *r,
					  uint32_t rsp_prod)
{
	return rsp_prod - r->rsp_cons <= r->req_prod_pvt - r->rsp_cons;
}

/*
 * A request producer from the frontend is valid if the requests it claims,
 * added to those consumed but not yet answered, fit in the ring.
 */
static inline bool pvio_back_req_prod_ok(const struct pvio_back_ring *r,
					 uint32_t req_prod)
{
	return req_prod - r->rsp_prod_pvt <= r->nr_ents;
}

/* Requests published and not yet consumed (bounded by the ring space). */
static inline uint32_t pvio_back_unconsumed(const struct pvio_back_ring *r)
{
	uint32_t req = PVIO_READ_ONCE(r->sring->req_prod) - r->req_cons;
	uint32_t rsp = r->nr_ents - (r->req_cons - r->rsp_prod_pvt);

	return req < rsp ? req : rsp;
}

static inline uint32_t pvio_front_unconsumed(const struct pvio_front_ring *r)
{
	return PVIO_READ_ONCE(r->sring->rsp_prod) - r->rsp_cons;
}

/*
 * Xen's notify rule: the peer asked to hear about index @event; notify iff
 * @event lies in (old, new].
 */
static inline bool pvio_ring_need_notify(uint32_t old, uint32_t new_prod,
					 uint32_t event)
{
	return (uint32_t)(new_prod - event) < (uint32_t)(new_prod - old);
}

/* Publish queued requests; true if the backend must be notified. */
static inline bool pvio_front_push(struct pvio_front_ring *r)
{
	uint32_t old = r->sring->req_prod;
	uint32_t new_prod = r->req_prod_pvt;

	PVIO_WMB();	/* requests visible before the index that covers them */
	PVIO_WRITE_ONCE(r->sring->req_prod, new_prod);
	PVIO_MB();	/* index visible before we read the peer's event */
	return pvio_ring_need_notify(old, new_prod,
				     PVIO_READ_ONCE(r->sring->req_event));
}

/* Publish queued responses; true if the frontend must be notified. */
/*
 * Every request this backend took has its response published: whoever
 * takes the ring over next (pvio_back_ring_init starts after the last
 * response) finds exactly the requests nobody took.
 */
static inline bool pvio_back_drained(const struct pvio_back_ring *r)
{
	return r->req_cons == r->rsp_prod_pvt &&
	       PVIO_READ_ONCE(r->sring->rsp_prod) == r->rsp_prod_pvt;
}

static inline bool pvio_back_push(struct pvio_back_ring *r)
{
	uint32_t old = r->sring->rsp_prod;
	uint32_t new_prod = r->rsp_prod_pvt;

	PVIO_WMB();	/* responses visible before the index that covers them */
	PVIO_WRITE_ONCE(r->sring->rsp_prod, new_prod);
	PVIO_MB();	/* index visible before we read the peer's event */
	if (!pvio_ring_need_notify(old, new_prod,
				   PVIO_READ_ONCE(r->sring->rsp_event)))
		return false;
	r->rsp_notified = new_prod;	/* the caller notifies */
	return true;
}

/*
 * A second look before the backend sleeps. The push (publish rsp_prod,
 * then read rsp_event) and the frontend's last look (publish rsp_event,
 * then read rsp_prod) each have a full barrier, so one of them sees the
 * other's write; but should a frontend's platform ever run without its
 * barrier, both could miss, and the frontend would wait for an event that
 * nobody sends. True if the frontend asks for an event at an index we
 * have published, past what our last notification covered: the caller
 * notifies (and this covers up to rsp_prod, so it is not owed twice).
 */
static inline bool pvio_back_event_owed(struct pvio_back_ring *r)
{
	uint32_t ev, prod;

	PVIO_MB();	/* our published index before the look at its event */
	ev = PVIO_READ_ONCE(r->sring->rsp_event);
	prod = r->rsp_prod_pvt;	/* ours, published: never the shared copy */
	if ((int32_t)(prod - ev) < 0 || (int32_t)(ev - r->rsp_notified) <= 0)
		return false;
	r->rsp_notified = prod;
	return true;
}

/*
 * Before sleeping: ask to be notified of the next request, then look again,
 * so that a request published in between is not missed. True if there is work.
 */
static inline bool pvio_back_final_check(struct pvio_back_ring *r)
{
	if (pvio_back_unconsumed(r))
		return true;
	PVIO_WRITE_ONCE(r->sring->req_event, r->req_cons + 1);
	PVIO_MB();	/* event visible before the second look at req_prod */
	return pvio_back_unconsumed(r) != 0;
}

static inline bool pvio_front_final_check(struct pvio_front_ring *r)
{
	if (pvio_front_unconsumed(r))
		return true;
	PVIO_WRITE_ONCE(r->sring->rsp_event, r->rsp_cons + 1);
	PVIO_MB();	/* event visible before the second look at rsp_prod */
	return pvio_front_unconsumed(r) != 0;
}

/*
 * PVIO_RING_DEFINE(name, req_type, rsp_type) declares union name_sring_entry
 * and typed slot accessors: name_front_req(r, idx), name_front_rsp(r, idx),
 * name_back_req(r, idx), name_back_rsp(r, idx), and name_ring_ents(bytes);
 * name_front_copy_rsp(r, idx, out) reads a response slot exactly once (the
 * peer may rewrite it at any time: validate the copy, never the slot).
 */
#define PVIO_RING_DEFINE(name, req_t, rsp_t)				\
union name##_sring_entry {						\
	req_t req;							\
	rsp_t rsp;							\
};									\
static inline uint32_t name##_ring_ents(size_t bytes)			\
{									\
	return pvio_ring_nr_ents(bytes, sizeof(union name##_sring_entry)); \
}									\
static inline req_t *name##_front_req(struct pvio_front_ring *r,	\
				       uint32_t idx)			\
{									\
	return (req_t *)pvio_ring_slot(r->sring, r->nr_ents,		\
			sizeof(union name##_sring_entry), idx);		\
}									\
static inline rsp_t *name##_front_rsp(struct pvio_front_ring *r,	\
				       uint32_t idx)			\
{									\
	return (rsp_t *)pvio_ring_slot(r->sring, r->nr_ents,		\
			sizeof(union name##_sring_entry), idx);		\
}									\
static inline void name##_front_copy_rsp(struct pvio_front_ring *r,	\
					  uint32_t idx, rsp_t *out)	\
{									\
	*out = *(volatile rsp_t *)name##_front_rsp(r, idx);		\
}									\
static inline req_t *name##_back_req(struct pvio_back_ring *r,		\
				      uint32_t idx)			\
{									\
	return (req_t *)pvio_ring_slot(r->sring, r->nr_ents,		\
			sizeof(union name##_sring_entry), idx);		\
}									\
static inline rsp_t *name##_back_rsp(struct pvio_back_ring *r,		\
				      uint32_t idx)			\
{									\
	return (rsp_t *)pvio_ring_slot(r->sring, r->nr_ents,		\
			sizeof(union name##_sring_entry), idx);		\
}

#endif /* PVIO_RING_H */
