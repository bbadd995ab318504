/* SPDX-License-Identifier: MIT */
/*
 * pvio-blkback shared structures: disks, queues, in-flight requests, the
 * I/O engine interface and the request validator.
 */
#ifndef PVIO_BLKBACK_H
#define PVIO_BLKBACK_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/uio.h>

#include "pvio/libpvio.h"

#include "pvio/blkif.h"
#include "pvio/grant_table.h"
#include "pvio/event_channel.h"

#include "blkif_req.h"

/* What the backend advertises (and therefore accepts). */
#define BLKBACK_MAX_INDIRECT_SEGS	BLKIF_REQ_MAX_INDIRECT_SEGS
#define BLKBACK_MAX_QUEUES		4
#define BLKBACK_MAX_RING_ORDER		4
#define BLKBACK_MAX_RING_PAGES		(1u << BLKBACK_MAX_RING_ORDER)
/* Persistent grants kept mapped per queue; beyond this, map per request. */
#define BLKBACK_MAX_PGRANTS		8192
#define BLKBACK_MAX_SEGS		BLKIF_REQ_MAX_SEGS
#define BLKBACK_MAX_INDIRECT_PAGES \
	((BLKBACK_MAX_INDIRECT_SEGS + BLKIF_SEGS_PER_INDIRECT_FRAME - 1) / \
	 BLKIF_SEGS_PER_INDIRECT_FRAME)

/* ---- I/O engines (blkback_engine_*.c) ---- */

struct blkback_cqe {
	uint64_t tag;
	int64_t res;		/* bytes, or -errno */
};

struct blkback_engine;

struct blkback_engine_ops {
	const char *name;
	/* Room for @depth operations in flight. */
	int (*init)(struct blkback_engine *e, unsigned int depth);
	void (*fini)(struct blkback_engine *e);
	/* Queue one operation (sent by submit). 0, or -EAGAIN when full. */
	int (*prep_rw)(struct blkback_engine *e, int fd, bool write,
		       const struct iovec *iov, unsigned int iovcnt,
		       uint64_t offset, uint64_t tag);
	int (*prep_flush)(struct blkback_engine *e, int fd, uint64_t tag);
	/* Send what was queued: count sent or -errno. */
	int (*submit)(struct blkback_engine *e);
	/* Collect up to @max completions without blocking: count or -errno. */
	int (*reap)(struct blkback_engine *e, struct blkback_cqe *cqe,
		    unsigned int max);
	/* Readable when completions may be ready (cleared by reap). */
	int (*event_fd)(struct blkback_engine *e);
	/*
	 * Optional: submit, then sleep until a completion or until @evtchn_fd
	 * or @stop_fd is readable (@timeout_ms, -1 forever); what woke us is
	 * reported by take_wakes after the next reap. Saves the poll, the
	 * eventfd read and the separate submit of the generic loop.
	 */
	int (*wait)(struct blkback_engine *e, int evtchn_fd, int stop_fd,
		    int timeout_ms);
	unsigned int (*take_wakes)(struct blkback_engine *e);
	/* Optional: completions are waiting (no system call). */
	bool (*ready)(struct blkback_engine *e);
};
#define BLKBACK_WAKE_EVTCHN	1u
#define BLKBACK_WAKE_STOP	2u

struct blkback_engine {
	const struct blkback_engine_ops *ops;
	void *priv;
	unsigned int depth;
};

extern const struct blkback_engine_ops blkback_engine_uring;
extern const struct blkback_engine_ops blkback_engine_aio;
/* "uring" or "aio"; NULL if unknown. */
const struct blkback_engine_ops *blkback_engine_find(const char *name);

/* ---- disks, queues, requests (blkback_ring.c, blkback_xenbus.c) ---- */

/* A grant kept mapped for the life of a connection. */
struct blkback_pgrant {
	uint32_t gref;		/* key; BLKBACK_PGRANT_FREE if slot unused */
	pvio_grant_handle_t handle;
	void *addr;
};
#define BLKBACK_PGRANT_FREE	0xffffffffu

/* One segment of a request, after mapping. */
struct blkback_seg {
	void *page;		/* mapped guest page */
	pvio_grant_handle_t handle;
	bool transient;		/* mapped for this request only: unmap at end */
};

enum blkback_req_stage {
	BLKBACK_STAGE_IO = 0,	/* data read/written */
	BLKBACK_STAGE_FLUSH,	/* fdatasync after the data (FUA, barrier) */
};

/* An in-flight request: one per ring slot. */
struct blkback_req {
	struct blkif_req_desc d;
	struct blkback_seg seg[BLKBACK_MAX_SEGS];
	struct iovec iov[BLKBACK_MAX_SEGS];
	unsigned int iovcnt;
	size_t bytes;		/* data length */
	bool buffered;		/* misaligned for O_DIRECT: via the buffered fd */
	bool busy;		/* taken off the free list (catches double free) */
	uint8_t stage;
	bool flush_after;
	int16_t status;
	struct blkback_req *next_free;
};

struct blkback_disk;

/* requests and sectors by kind, published under statistics/ */
enum blkback_stat {
	BLKBACK_ST_RD_REQ, BLKBACK_ST_WR_REQ, BLKBACK_ST_RD_SECT,
	BLKBACK_ST_WR_SECT, BLKBACK_ST_F_REQ, BLKBACK_ST_DS_REQ,
	BLKBACK_NR_STATS
};

struct blkback_queue {
	struct blkback_disk *disk;
	unsigned int index;
	pthread_t thread;
	bool thread_started;
	int stop_fd;			/* eventfd: ask the thread to leave */

	/* ring */
	unsigned int ring_pages;
	uint32_t ring_ref[BLKBACK_MAX_RING_PAGES];
	pvio_grant_handle_t ring_handle[BLKBACK_MAX_RING_PAGES];
	void *ring_addr;		/* contiguous view of the ring pages */
	void *ring_page_addr[BLKBACK_MAX_RING_PAGES];
	struct pvio_back_ring ring;

	/* event channel */
	pvio_evtchn_port_t remote_port;
	pvio_evtchn_port_t port;
	bool port_bound;
	int evtchn_fd;

	struct blkback_engine engine;
	struct blkback_req *reqs;	/* ring.nr_ents of them */
	struct blkback_req *free_reqs;
	unsigned int inflight;		/* requests taken off the ring, unanswered */
	unsigned int io_inflight;	/* engine operations outstanding */
	struct blkback_req *held;	/* a barrier waiting for earlier requests */
	struct blkback_req *barrier;	/* a barrier in flight: the ring waits */
	struct pvio_gnt_map *map_ops;	/* scratch for batched maps */
	unsigned int map_cap;
	struct blkback_cqe *cqes;	/* scratch for reaping */

	struct blkback_pgrant *pgrants;	/* data pages, open-addressed by gref */
	struct blkback_pgrant *pgrants_ro; /* indirect pages, mapped read-only */
	unsigned int nr_pgrants;

	/* statistics (dump) */
	uint64_t nr_reqs, nr_errors, nr_maps, nr_buffered;
	/*
	 * statistics/ in the store, as Linux blkback's sysfs has them:
	 * written by this queue's thread only, read by the xenbus thread
	 */
	uint64_t st[BLKBACK_NR_STATS];
	volatile bool broken;		/* ring protocol violated */
};

struct blkback_disk {
	/* identity */
	pvio_domid_t domid;
	uint32_t vdev;
	char be_path[256];		/* /local/domain/0/backend/vbd/D/V */
	char fe_path[256];		/* frontend dir, from the "frontend" key */
	pvio_domid_t fe_domid;

	/* backing store */
	char params[512];
	int fd;
	int fd_buffered;		/* same file without O_DIRECT, or -1 */
	bool direct;			/* fd is O_DIRECT */
	bool blockdev;
	uint32_t dio_align;		/* alignment O_DIRECT needs (mem and length) */
	const struct blkback_engine_ops *engine_ops;
	struct blkif_limits lim;
	uint32_t discard_granularity;

	/* connection */
	int be_state;			/* what we last wrote */
	bool persistent;
	unsigned int nr_queues;
	struct blkback_queue queue[BLKBACK_MAX_QUEUES];
	bool connected;
	uint64_t st_published[BLKBACK_NR_STATS];
	bool opened;			/* backing store open, features written */
	bool seen;			/* found by the last scan */
	bool watching;			/* watch on the frontend state set */
	char broken_why[128];		/* set by a queue thread */
	volatile bool broken;

	struct blkback_ctx *ctx;
	struct blkback_disk *next;
};

/* The daemon. */
struct blkback_ctx {
	const char *rundir;
	struct pvio_hv *hv;
	struct xs_handle *xs;
	pthread_mutex_t lock;		/* disks list and every state change */
	pthread_cond_t cond;
	bool rescan;
	bool quit;
	struct blkback_disk *disks;
	int verbose;
	unsigned int spin_us;		/* poll the ring this long before sleeping */
};

/* blkback_ring.c */
int blkback_queue_start(struct blkback_queue *q);
void blkback_queue_stop(struct blkback_queue *q);
/* Release every persistent grant of the queue. */
void blkback_queue_release_grants(struct blkback_queue *q);

/* blkback_xenbus.c */
int blkback_xenbus_start(struct blkback_ctx *ctx);
/* Run the control loop until ctx->quit. */
void blkback_xenbus_run(struct blkback_ctx *ctx);
void blkback_xenbus_stop(struct blkback_ctx *ctx);
/* A queue found its ring broken: disconnect the disk (from any thread). */
void blkback_disk_broken(struct blkback_disk *disk, const char *why);

/* blkback_backing.c: open and probe the backing store of @disk. */
int blkback_backing_open(struct blkback_disk *disk, bool readonly,
			 uint32_t want_sector_size);
void blkback_backing_close(struct blkback_disk *disk);
/* Discard (punch a hole / BLKDISCARD) @nr_sectors at @sector: 0 or -errno. */
int blkback_backing_discard(struct blkback_disk *disk, uint64_t sector,
			    uint64_t nr_sectors);

#define blkback_log(fmt, ...) \
	fprintf(stderr, "pvio-blkback: " fmt "\n", ##__VA_ARGS__)

#endif /* PVIO_BLKBACK_H */
