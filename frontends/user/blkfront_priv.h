/* SPDX-License-Identifier: MIT */
/*
 * User-space blkfront internals shared by the data path (blkfront_ring.c)
 * and the connection handling (blkfront_xenbus.c).
 */
#ifndef PVIO_BLKFRONT_PRIV_H
#define PVIO_BLKFRONT_PRIV_H

#include <pthread.h>

#include "pvio/blkfront.h"
#include "pvio/blkif.h"
#include "pvio/libpvio.h"
#include "pvio/xenbus.h"

#define BLKFRONT_MAX_QUEUES	4
#define BLKFRONT_MAX_ORDER	4
#define BLKFRONT_MAX_INDIRECT	256
#define BLKFRONT_MAX_REGIONS	64

/* A granted buffer from blkfront_alloc: page i has gref[i]. */
struct blkfront_region {
	char *base;
	unsigned int npages;
	pvio_grant_ref_t *gref;
};

/* Granted pages owned by a shadow (indirect pages, bounce pages). */
struct blkfront_pages {
	char *base;
	unsigned int npages;
	pvio_grant_ref_t *gref;
};

/* One ring slot's request, kept until answered (and re-issued if need be). */
struct blkfront_shadow {
	struct blkfront_io *io;		/* NULL: free */
	union blkif_request_any req;	/* what was put on the ring */
	size_t io_off;			/* part of io->buf this request covers */
	size_t bytes;
	bool bounced;			/* data went through bounce pages */
	struct blkfront_pages indirect;
	struct blkfront_pages bounce;
	uint32_t next_free;
};

struct blkfront_queue {
	struct blkfront *bf;
	unsigned int index;
	pthread_mutex_t lock;

	/* ring */
	struct pvio_front_ring ring;
	void *ring_mem;
	unsigned int ring_pages;
	pvio_grant_ref_t ring_ref[1u << BLKFRONT_MAX_ORDER];
	pvio_evtchn_port_t port;
	int evtchn_fd;
	int epfd;			/* stable fd for callers: wraps evtchn_fd */
	int wake_fd;			/* in epfd: readable once the disk is gone */
	bool live;			/* ring usable: backend connected */
	bool ring_released;		/* the backend let go: grants ended */
	bool broken;			/* the backend broke the ring protocol */
	uint32_t ring_ended;		/* bit i: ring_ref[i] ended */

	struct blkfront_shadow *shadow;	/* ring_entries of them */
	uint32_t free_head;		/* shadow free list, UINT32_MAX = none */
	unsigned int nr_shadow_used;

	/* I/Os waiting for ring space, and finished ones waiting for pickup */
	struct blkfront_io *pend_head, *pend_tail;
	struct blkfront_io *done_head, *done_tail;
	unsigned int inflight;		/* submitted, not yet collected */

	struct blkfront_stats stats;	/* under lock */
};

struct blkfront {
	struct pvio_dom *dom;
	struct pvio_hv *hv;
	struct xs_handle *xs;
	pvio_domid_t be_domid;
	char fe_path[128];
	char be_path[256];

	struct blkfront_info info;	/* negotiated */
	unsigned int ring_entries;

	pthread_mutex_t regions_lock;
	struct blkfront_region regions[BLKFRONT_MAX_REGIONS];
	unsigned int nr_regions;

	struct blkfront_queue queue[BLKFRONT_MAX_QUEUES];

	/* control thread: follows the backend's state, reconnects */
	pthread_t ctl_thread;
	pthread_mutex_t ctl_lock;
	pthread_cond_t ctl_cond;
	bool ctl_event;
	bool ctl_quit;
	bool connected;
	bool removed;			/* the toolstack removed the disk */
	int timeout_ms;
	uint64_t spin_ns;		/* poll before sleeping in complete() */
};

/* blkfront_ring.c */
int blkfront_queue_alloc(struct blkfront_queue *q);
void blkfront_queue_free(struct blkfront_queue *q);
/* Put waiting I/O on the ring (queue locked). */
void blkfront_dispatch(struct blkfront_queue *q);
/* Consume responses (queue locked). */
void blkfront_reap(struct blkfront_queue *q);
/* After a reconnect: every unanswered request goes on the new ring (locked). */
void blkfront_reissue(struct blkfront_queue *q);
/* The disk is gone: every I/O not answered completes with @err (locked). */
void blkfront_fail_all(struct blkfront_queue *q, int err);
int blkfront_grant_pages(struct blkfront *bf, struct blkfront_pages *p,
			 unsigned int npages, bool readonly);

#endif /* PVIO_BLKFRONT_PRIV_H */
