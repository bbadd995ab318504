/* SPDX-License-Identifier: MIT */
/*
 * User-space block frontend for process domains: opens a virtual disk
 * (device/vbd/<vdev> of this domain), negotiates multi-queue, multi-page
 * rings, persistent grants and indirect segments with the backend, and
 * offers asynchronous read, write, flush and discard.
 *
 * Usage: blkfront_open(); buffers from blkfront_alloc() are granted once
 * and used in place (zero copy); any other buffer goes through a granted
 * bounce buffer. blkfront_submit() queues an I/O on a queue and publishes
 * it; blkfront_complete() collects finished I/Os (and runs their
 * callbacks); blkfront_fd() is readable when a queue may have completions.
 *
 * If the backend restarts (its state leaves Connected and comes back to
 * InitWait) the library reconnects by itself and re-issues every request
 * that was not answered; callers only see a delay.
 *
 * Each queue may be used by one thread at a time without extra locking on
 * the caller's side (the library locks each queue); 0 or -errno.
 */
#ifndef PVIO_BLKFRONT_H
#define PVIO_BLKFRONT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pvio_dom;
struct xs_handle;
struct blkfront;

enum blkfront_op {
	BLKFRONT_OP_READ = 0,
	BLKFRONT_OP_WRITE = 1,
	BLKFRONT_OP_FLUSH = 2,		/* make completed writes durable */
	BLKFRONT_OP_DISCARD = 3,
	BLKFRONT_OP_WRITE_BARRIER = 4,	/* ordered, durable write */
};

struct blkfront_io {
	/* in */
	uint8_t op;			/* enum blkfront_op */
	uint64_t offset;		/* bytes, a multiple of 512 */
	void *buf;			/* READ/WRITE data; 512-byte aligned */
	size_t len;			/* bytes, a multiple of 512 */
	void (*cb)(struct blkfront_io *io);	/* optional, from complete() */
	void *cb_arg;
	uint64_t user_data;
	/* out */
	int status;			/* 0, -EIO, -EOPNOTSUPP, -EINVAL */
	/* library private */
	struct blkfront_io *next;
	size_t done_off;		/* bytes handed to the ring so far */
	unsigned int parts;		/* ring requests outstanding */
	uint16_t queue;
};

struct blkfront_opts {
	unsigned int nr_queues;		/* 0: as many as the backend allows (max 4) */
	int ring_order;			/* -1: the backend's maximum */
	bool no_persistent;		/* do not ask for persistent grants */
	bool no_indirect;		/* never use INDIRECT requests */
	int timeout_ms;			/* connect timeout, 0: 60 s */
	unsigned int spin_us;		/* poll this long before sleeping (0: never) */
};

struct blkfront_info {
	uint64_t sectors;		/* 512-byte units */
	uint32_t sector_size;		/* 512 or 4096 */
	bool readonly;
	bool flush;			/* feature-flush-cache */
	bool barrier;			/* feature-barrier */
	bool discard;
	bool persistent;		/* negotiated */
	unsigned int nr_queues;
	unsigned int ring_order;
	unsigned int ring_entries;
	unsigned int max_indirect_segs;	/* 0: direct requests only */
	uint64_t reconnects;		/* backend restarts survived */
	/*
	 * Responses that broke the ring protocol (id out of range or idle,
	 * operation not the request's, rsp_prod beyond the requests): the
	 * queue stops using its ring until the backend restarts, and what
	 * was not answered is re-issued then. Each is logged on stderr.
	 */
	uint64_t protocol_errors;
	uint64_t bad_status;		/* unknown response status: I/O error */
};

/*
 * Open vbd @vdev ("51712", or NULL for the first one) of domain @d. @xs is
 * a store connection of this domain (xs_open_domain) that stays open while
 * the disk is. Blocks until Connected or the timeout.
 */
int blkfront_open(struct pvio_dom *d, struct xs_handle *xs, const char *vdev,
		  const struct blkfront_opts *opts, struct blkfront **out);
/* Close the connection (Closing/Closed handshake); in-flight I/O is waited for. */
void blkfront_close(struct blkfront *bf);
void blkfront_get_info(struct blkfront *bf, struct blkfront_info *info);

/* Page-aligned, pre-granted buffer in this domain's RAM; NULL if none left. */
void *blkfront_alloc(struct blkfront *bf, size_t bytes);

/* Queue @io on @queue and publish it to the backend. */
int blkfront_submit(struct blkfront *bf, unsigned int queue,
		    struct blkfront_io *io);
/*
 * Batching: blkfront_queue_io() puts @io on the ring without publishing;
 * blkfront_kick() publishes everything queued (one notification at most).
 * blkfront_complete() kicks before it sleeps.
 */
int blkfront_queue_io(struct blkfront *bf, unsigned int queue,
		      struct blkfront_io *io);
void blkfront_kick(struct blkfront *bf, unsigned int queue);
/*
 * Collect up to @max finished I/Os of @queue into @done (may be NULL if
 * callbacks are used), waiting up to @timeout_ms (-1 forever, 0 not at
 * all) for the first. Returns the count.
 */
int blkfront_complete(struct blkfront *bf, unsigned int queue,
		      struct blkfront_io **done, unsigned int max,
		      int timeout_ms);
/*
 * What a queue cost in notifications and sleeps, since it was opened: the
 * backend's notifications are counted as the events received (an eventfd
 * sums every write, so none is lost to coalescing).
 */
struct blkfront_stats {
	uint64_t reqs;			/* ring requests published */
	uint64_t rsps;			/* responses taken */
	uint64_t notifies;		/* notifications to the backend */
	uint64_t events;		/* notifications from the backend */
	uint64_t sleeps;		/* waits that went to sleep */
	uint64_t spins;			/* waits a spin ended (no sleep) */
};
void blkfront_get_stats(struct blkfront *bf, unsigned int queue,
			struct blkfront_stats *st);

/* Readable when @queue may have completions (stable across reconnects). */
int blkfront_fd(struct blkfront *bf, unsigned int queue);
/* Submitted and not yet collected on @queue. */
unsigned int blkfront_inflight(struct blkfront *bf, unsigned int queue);

#endif /* PVIO_BLKFRONT_H */
