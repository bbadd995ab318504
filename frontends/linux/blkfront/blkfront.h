/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pvio_blkfront: shared structures of the guest block frontend. The
 * control plane (blkfront_xenbus.c) negotiates with pvio-blkback and owns
 * the gendisk; the data path (blkfront_ring.c) moves blk-mq requests over
 * one shared ring per hardware queue.
 */
#ifndef PVIO_BLKFRONT_H
#define PVIO_BLKFRONT_H

#include <linux/blk-mq.h>
#include <linux/mutex.h>
#include <linux/scatterlist.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>
#include <pvio_core.h>
#include <pvio/blkif.h>

#define BLKFRONT_MAX_QUEUES		4
#define BLKFRONT_MAX_RING_ORDER		4
#define BLKFRONT_MAX_RING_PAGES		BIT(BLKFRONT_MAX_RING_ORDER)
/* one indirect page holds 512 segments; we never ask for more */
#define BLKFRONT_MAX_INDIRECT_SEGS	256
#define BLKFRONT_SHADOW_FREE_END	0xffffffffu

/* A granted page kept for the life of a connection (persistent grants). */
struct blkfront_pgrant {
	struct blkfront_pgrant *next;	/* free list */
	struct blkfront_pgrant *all;	/* every page of the queue */
	struct page *page;
	int gref;
};

/* One ring slot's request as the backend should answer it. */
struct blkfront_shadow {
	struct request *rq;		/* NULL: slot free */
	u32 next_free;
	u8 op;				/* the response must carry it */
	bool flush_after;		/* FUA write sent in two steps */
};

/* One ring: its pages, event channel, shadows and indirect pages. */
struct blkfront_queue {
	struct blkfront_info *info;
	unsigned int index;
	spinlock_t lock;		/* ring, shadows, pool */
	struct pvio_front_ring ring;
	void *ring_mem;
	unsigned int ring_order;
	int ring_ref[BLKFRONT_MAX_RING_PAGES];
	pvio_evtchn_port_t port;
	bool port_bound;		/* port allocated */
	bool handler_bound;		/* events delivered to us */
	bool live;			/* the backend is connected: send */
	bool detached;			/* suspended: port closed, ring kept */
	bool broken;			/* the backend broke the protocol */
	unsigned int nr_ents;
	struct blkfront_shadow *shadow;
	u32 shadow_free;
	/* per slot: a read-only granted page of segments (indirect) */
	struct page **ind_page;
	int *ind_gref;
	/* persistent grants */
	struct blkfront_pgrant *pool_free;
	struct blkfront_pgrant *pool_all;
	unsigned int pool_nr;
	unsigned int pool_max;
};

enum blkfront_conn {
	BLKFRONT_IDLE,		/* no rings */
	BLKFRONT_INITIALISED,	/* rings offered, backend not yet there */
	BLKFRONT_CONNECTED,	/* I/O flows */
	BLKFRONT_CLOSING,	/* disk gone, backend still holds rings */
};

struct blkfront_info {
	struct pvio_device *pdev;
	struct mutex mutex;		/* the state machine */
	struct work_struct state_work;
	bool removing;
	bool suspended;			/* save/migration: the state is ours */
	bool resuming;			/* reconnecting after a suspend */
	bool dead;			/* no backend will come: fail I/O */
	enum blkfront_conn conn;

	unsigned int vdev;
	unsigned int index;		/* disk number: xvda = 0 */
	char name[DISK_NAME_LEN];
	struct gendisk *disk;
	struct blk_mq_tag_set tag_set;
	bool quiesced;
	/*
	 * Quiesced at a suspend without waiting: dispatches that were under
	 * way may still run until this grace period ends (rings_teardown
	 * waits for it, usually long over by then).
	 */
	bool quiesce_gp_pending;
	unsigned long quiesce_gp;

	/* fixed when the disk is created */
	unsigned int max_segs;		/* segments per request */
	unsigned int hw_queues;

	/* negotiated per connection */
	unsigned int nr_queues;
	unsigned int ring_order;
	unsigned int indirect_segs;	/* 0: direct requests only */
	bool persistent;
	struct blkfront_queue queues[BLKFRONT_MAX_QUEUES];

	/* disk properties, read when the backend is Connected */
	u64 sectors;
	unsigned int sector_size;
	unsigned int physical_sector_size;
	bool readonly;
	bool flush;			/* FLUSH_DISKCACHE */
	bool barrier;			/* WRITE_BARRIER */
	bool discard;
	bool discard_secure;
	unsigned int discard_granularity;
	unsigned int discard_alignment;

	/* statistics */
	atomic_long_t reissued;
	atomic_long_t bad_responses;
	atomic_long_t lost_events;	/* responses found by the timeout */
	atomic_long_t renotified;	/* backend rung again by the timeout */
	unsigned int reconnects;
	ktime_t resumed_at;		/* the last resume, until connected */
};

/* blk-mq's request timeout: then the ring is looked at again */
#define BLKFRONT_RQ_TIMEOUT_S	5

/* Per-request state, in the blk-mq PDU, followed by the arrays below. */
struct blkfront_rq {
	struct blkfront_queue *queue;
	unsigned int nr_segs;
	bool persistent;
	blk_status_t status;
};

static inline struct scatterlist *blkfront_rq_sg(struct blkfront_rq *r)
{
	return (struct scatterlist *)(r + 1);
}

static inline int *blkfront_rq_gref(struct blkfront_rq *r, unsigned int max)
{
	return (int *)(blkfront_rq_sg(r) + max);
}

static inline struct blkfront_pgrant **
blkfront_rq_pg(struct blkfront_rq *r, unsigned int max)
{
	return (struct blkfront_pgrant **)(blkfront_rq_gref(r, max) + max);
}

static inline unsigned int blkfront_cmd_size(unsigned int max)
{
	return sizeof(struct blkfront_rq) +
	       max * (sizeof(struct scatterlist) + sizeof(int) +
		      sizeof(struct blkfront_pgrant *));
}

/* blkfront_ring.c */
extern const struct blk_mq_ops blkfront_mq_ops;
int blkfront_queue_setup(struct blkfront_info *info, struct blkfront_queue *q);
void blkfront_queue_teardown(struct blkfront_info *info,
			     struct blkfront_queue *q, bool requeue);
void blkfront_queue_unbind(struct blkfront_queue *q);
void blkfront_queue_detach(struct blkfront_queue *q);
int blkfront_queue_reattach(struct blkfront_queue *q);
void blkfront_queue_kick(struct blkfront_queue *q);
void blkfront_queue_go_live(struct blkfront_queue *q);
/* Requests of @q awaiting their response. */
unsigned int blkfront_queue_inflight(struct blkfront_queue *q);
void blkfront_queue_poll(struct blkfront_queue *q);

#endif /* PVIO_BLKFRONT_H */
