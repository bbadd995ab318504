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
/* A network store unreachable this long fails requests (pvio-reconnect-timeout). */
#define BLKBACK_RECONNECT_TIMEOUT_S	60
/*
 * An engine hands the kernel its prepared I/O every this many operations
 * (default of --submit-batch), not only at the end of a ring pass. A pass
 * can take 30 requests, and a batch is plugged and started at its end
 * (io_uring plugs batches of more than two): too large, and the device
 * waits for the first request until all are set up; too small, and every
 * pair costs a doorbell and sequential requests are not merged. Measured
 * in docs/blk.md, which machine preferred which.
 */
#define BLKBACK_SUBMIT_BATCH		8
#define BLKBACK_SUBMIT_BATCH_MAX	64
/*
 * Polling before a queue sleeps (blkback_ring.c spin_for, poll_adapt):
 * a busy queue polls this long, a queue with little in flight for an
 * adaptive window up to it. 100 us for a VM's disks by default, none for a
 * process domain's (both measured, docs/blk.md); at most a millisecond.
 */
#define BLKBACK_VM_SPIN_US		100
#define BLKBACK_SPIN_US_MAX		1000
#define BLKBACK_MAX_INDIRECT_PAGES \
	((BLKBACK_MAX_INDIRECT_SEGS + BLKIF_SEGS_PER_INDIRECT_FRAME - 1) / \
	 BLKIF_SEGS_PER_INDIRECT_FRAME)

/* ---- I/O engines (blkback_engine_*.c) ---- */

struct blkback_cqe {
	uint64_t tag;
	int64_t res;		/* bytes (0 for flush and discard), or -errno */
};

struct blkback_engine;
struct blkback_disk;

/*
 * How a queue thread does I/O on its disk's backing store. One engine
 * instance per queue, used by that queue's thread only; a store that needs
 * state shared by the queues of a disk (a connection's parameters, an open
 * image) keeps it in disk->engine_ctx.
 */
struct blkback_engine_ops {
	const char *name;
	/* Room for @depth operations in flight, for queue @queue of @disk. */
	int (*init)(struct blkback_engine *e, struct blkback_disk *disk,
		    unsigned int queue, unsigned int depth);
	void (*fini)(struct blkback_engine *e);
	/*
	 * Queue one operation (sent by submit). 0, or -EAGAIN when full.
	 * @fd is the file the disk's store opened (engines of network
	 * stores ignore it). @tag is below @depth and names one operation
	 * at a time.
	 */
	int (*prep_rw)(struct blkback_engine *e, int fd, bool write,
		       const struct iovec *iov, unsigned int iovcnt,
		       uint64_t offset, uint64_t tag);
	int (*prep_flush)(struct blkback_engine *e, int fd, uint64_t tag);
	/*
	 * Optional: discard @len bytes at @offset asynchronously (completes
	 * with 0, or -EOPNOTSUPP if the store cannot). Without it the
	 * store's synchronous discard runs in the queue thread.
	 */
	int (*prep_discard)(struct blkback_engine *e, uint64_t offset,
			    uint64_t len, uint64_t tag);
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
	/*
	 * Optional, for stores that can become unreachable: the queue is
	 * stopping. Give up the operations that cannot finish now (every one
	 * if @force) and write their tags to @tags: their requests are
	 * dropped unanswered, for the frontend to re-issue once it
	 * reconnects. Nothing given up is touched by the engine afterwards.
	 * Count, or -errno.
	 */
	int (*abandon)(struct blkback_engine *e, uint64_t *tags,
		       unsigned int max, bool force);
};
#define BLKBACK_WAKE_EVTCHN	1u
#define BLKBACK_WAKE_STOP	2u

struct blkback_engine {
	const struct blkback_engine_ops *ops;
	void *priv;
	unsigned int depth;
	unsigned int submit_batch;	/* start I/O every this many ops; 0: default */
};

static inline unsigned int blkback_engine_batch(const struct blkback_engine *e)
{
	return e->submit_batch ? e->submit_batch : BLKBACK_SUBMIT_BATCH;
}

extern const struct blkback_engine_ops blkback_engine_uring;
extern const struct blkback_engine_ops blkback_engine_aio;
/* "uring" or "aio"; NULL if unknown. */
const struct blkback_engine_ops *blkback_engine_find(const char *name);

/* ---- backing stores (blkback_backing.c and one file per kind) ---- */

/*
 * A kind of backing store: a local file or device, an NBD export, a Ceph
 * RBD image, an image in one of QEMU's formats. open() reads the disk's
 * params (and format), fills disk->lim, disk->max_queues,
 * disk->discard_granularity and picks disk->engine_ops.
 */
struct blkback_store_ops {
	const char *name;
	/* 0 or -errno, with a message for a person in disk->open_why. */
	int (*open)(struct blkback_disk *disk, bool readonly,
		    uint32_t want_sector_size);
	void (*close)(struct blkback_disk *disk);
	/* Optional synchronous discard (when the engine has none): 0 or -errno. */
	int (*discard)(struct blkback_disk *disk, uint64_t sector,
		       uint64_t nr_sectors);
	/* Optional: once a second from the control thread (supervision). */
	void (*tick)(struct blkback_disk *disk);
};

extern const struct blkback_store_ops blkback_store_file;
#ifdef PVIO_HAVE_LIBNBD
extern const struct blkback_store_ops blkback_store_nbd;
extern const struct blkback_store_ops blkback_store_qdisk;
extern const struct blkback_engine_ops blkback_engine_nbd;
/* The NBD store on @uri (qdisk serves its image through it). */
int blkback_nbd_open_uri(struct blkback_disk *disk, const char *uri,
			 bool readonly, uint32_t want_sector_size);
void blkback_nbd_close(struct blkback_disk *disk);
#endif
#ifdef PVIO_HAVE_LIBRBD
extern const struct blkback_store_ops blkback_store_rbd;
extern const struct blkback_engine_ops blkback_engine_rbd;
/* rbd:pool[/namespace]/image[@snap][:opt=value...], as QEMU spells it. */
struct blkback_rbd_target {
	char pool[128];
	char ns[128];
	char image[256];
	char snap[128];
	char conf[256];		/* conf= */
	char id[64];		/* id=, the client name without "client." */
	char keys[8][64];	/* any other option, for rados_conf_set */
	char vals[8][128];
	unsigned int nr_opts;
};
/* 0, or -EINVAL with a message for a person in @why. */
int blkback_rbd_parse(const char *target, struct blkback_rbd_target *t,
		      char *why, size_t whylen);
#endif
/* One of QEMU's image formats a qdisk can open ("qcow2", "vmdk", ...). */
bool blkback_format_known(const char *format);
/*
 * The store for @params with format @format ("" = raw) and backend type
 * @type ("" = phy/file): nbd:// and nbd+unix:// URIs, rbd:pool/image,
 * images in a QEMU format or with type qdisk, else a file or device.
 * NULL (with a message in @why) if that kind is not built in or the
 * format is unknown.
 */
const struct blkback_store_ops *blkback_store_select(const char *params,
						     const char *format,
						     const char *type,
						     char *why, size_t whylen);

/* ---- per frontend domain (blkback_front.c) ---- */

/*
 * What one frontend domain may hold across all its disks and queues
 * (pvio-blkback options; defaults below). The mappings blkback holds for
 * a domain are at most max_ring_pages + max_pgrants + max_segs, under
 * hv's cap per (client, granting domain).
 */
struct blkback_dom_limits {
	unsigned int max_pgrants;	/* persistent grants; then per request */
	unsigned int max_reqs;		/* requests in flight; then wait */
	unsigned int max_segs;		/* pages those may map; then wait */
	unsigned int max_ring_pages;	/* ring pages; then connect refused */
};
#define BLKBACK_DOM_MAX_PGRANTS		8192
#define BLKBACK_DOM_MAX_REQS		2048
#define BLKBACK_DOM_MAX_SEGS		16384
#define BLKBACK_DOM_MAX_RING_PAGES	256
/* A single request needs this much of max_segs: the smallest allowed. */
#define BLKBACK_REQ_MAX_PAGES \
	(BLKBACK_MAX_SEGS + BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST)

struct blkback_front {
	pvio_domid_t domid;
	unsigned int refs;		/* disks using it (control thread) */
	const struct blkback_dom_limits *lim;
	/* held now; atomics (blkback_front_take/give) */
	unsigned int nr_pgrants;
	unsigned int nr_reqs;
	unsigned int nr_segs;
	unsigned int nr_ring_pages;
	/* times a limit was reached (statistics, atomics) */
	unsigned int nr_throttled;
	unsigned int nr_pgrant_full;
	struct blkback_front *next;
};

struct blkback_ctx;
/* The accounting of @domid, created on first use; NULL on ENOMEM. */
struct blkback_front *blkback_front_get(struct blkback_ctx *ctx,
					pvio_domid_t domid);
void blkback_front_put(struct blkback_ctx *ctx, struct blkback_front *f);
/* Add @n to *@counter unless it would pass @max: true if added. */
bool blkback_front_take(unsigned int *counter, unsigned int n,
			unsigned int max);
void blkback_front_give(unsigned int *counter, unsigned int n);

/* ---- disks, queues, requests (blkback_ring.c, blkback_xenbus.c) ---- */

/* ---- persistent grants (blkback_pgrant.c) ---- */

enum blkback_pgrant_state {
	BLKBACK_PGRANT_EMPTY = 0,	/* no mapping; gref, addr unused */
	BLKBACK_PGRANT_USED,		/* gref is mapped at addr */
};

/* A grant kept mapped for the life of a connection: one table slot. */
struct blkback_pgrant {
	void *addr;
	uint32_t gref;		/* the key, any value the frontend chose */
	pvio_grant_handle_t handle;
	uint8_t state;		/* enum blkback_pgrant_state */
};

/* Open addressing, linear probing, at most half full. */
struct blkback_pgrant_table {
	struct blkback_pgrant *slot;
	uint32_t nr_slots;	/* 1 << bits */
	uint32_t nr_used;
	uint32_t max;		/* entries allowed */
	uint32_t mult;		/* hash key, odd, random per table */
	unsigned int bits;
};

/* An empty table for at most @max entries: 0 or -ENOMEM. */
int blkback_pgrant_init(struct blkback_pgrant_table *t, unsigned int max);
/* Free the table (its mappings must have been cleared first). */
void blkback_pgrant_fini(struct blkback_pgrant_table *t);
/* The mapping of @gref if kept: true and *@addr, *@handle. */
bool blkback_pgrant_find(const struct blkback_pgrant_table *t, uint32_t gref,
			 void **addr, pvio_grant_handle_t *handle);
/* Keep a mapping: 0, -EEXIST (already kept), -ENOSPC (full), -ENOMEM. */
int blkback_pgrant_add(struct blkback_pgrant_table *t, uint32_t gref,
		       void *addr, pvio_grant_handle_t handle);
/* Call @fn on every kept mapping (to unmap it), then empty the table. */
void blkback_pgrant_clear(struct blkback_pgrant_table *t,
			  void (*fn)(void *arg, const struct blkback_pgrant *g),
			  void *arg);

/* Where a segment's page comes from; NONE whenever the request is free. */
enum blkback_seg_state {
	BLKBACK_SEG_NONE = 0,	/* not mapped (page unused) */
	BLKBACK_SEG_PENDING,	/* map op @op of the batch under way */
	BLKBACK_SEG_KEPT,	/* a persistent grant: the table owns it */
	BLKBACK_SEG_TRANSIENT,	/* mapped for this request: unmap at answer */
};

/* One segment of a request, after mapping. */
struct blkback_seg {
	void *page;		/* mapped guest page (KEPT, TRANSIENT) */
	pvio_grant_handle_t handle;
	uint32_t op;		/* PENDING: index in the queue's map_ops */
	uint8_t state;		/* enum blkback_seg_state */
};
/* blkback_req.ind_op[] of an indirect page found in the persistent table */
#define BLKBACK_NO_OP		UINT32_MAX

enum blkback_req_stage {
	BLKBACK_STAGE_IO = 0,	/* data read/written */
	BLKBACK_STAGE_FLUSH,	/* fdatasync after the data (FUA, barrier) */
};

/* An in-flight request: one per ring slot. */
struct blkback_req {
	struct blkif_req_desc d;
	struct blkback_seg seg[BLKBACK_MAX_SEGS];
	/* indirect pages while the batch maps them */
	void *ind_page[BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST];
	uint32_t ind_op[BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST];
	struct iovec iov[BLKBACK_MAX_SEGS];
	unsigned int iovcnt;
	size_t bytes;		/* data length */
	bool buffered;		/* misaligned for O_DIRECT: via the buffered fd */
	bool busy;		/* taken off the free list (catches double free) */
	uint8_t stage;
	bool flush_after;
	int16_t status;
	uint32_t tag;		/* index in the queue's reqs[] (engine tag) */
	bool reserved;		/* counted against the domain's limits */
	uint32_t resv_segs;	/* of the domain's max_segs, held till answered */
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
	unsigned int ring_pages_counted;	/* against the domain's limit */

	/* event channel */
	pvio_evtchn_port_t remote_port;
	pvio_evtchn_port_t port;
	bool port_bound;
	int evtchn_fd;

	struct blkback_engine engine;
	struct blkback_req **reqs;	/* ring.nr_ents slots, filled when used */
	struct blkback_req *free_reqs;	/* answered ones, to reuse first */
	unsigned int reqs_fresh;	/* reqs[reqs_fresh..] never used yet */
	unsigned int inflight;		/* requests taken off the ring, unanswered */
	unsigned int io_inflight;	/* engine operations outstanding */
	struct blkback_req *held;	/* a barrier waiting for earlier requests */
	bool throttled;			/* the domain's in-flight limit was hit */
	struct blkback_req *barrier;	/* a barrier in flight: the ring waits */
	struct pvio_gnt_map *map_ops;	/* scratch for batched maps */
	bool *map_kept;			/* per op: kept as a persistent grant */
	unsigned int map_cap;
	struct blkback_cqe *cqes;	/* scratch for reaping */

	/*
	 * Persistent grants (feature-persistent only): data pages mapped
	 * writable, indirect pages read-only, in two tables so that a page
	 * granted read-only is never reached through a writable mapping.
	 * Fresh for every connection of the queue.
	 */
	struct blkback_pgrant_table pgrants;
	struct blkback_pgrant_table pgrants_ro;

	/* polling window with little in flight (blkback_ring.c poll_adapt) */
	uint64_t poll_ns;

	/* notifications a second look before sleeping found owed */
	uint64_t nr_late_events;
	uint32_t rsp_start;		/* the ring's response index at connect */
	uint64_t nr_notified;		/* pushes that owed the frontend an event */

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
	char format[16];		/* "raw", "qcow2", ... */
	char type[16];			/* backend type: "phy", "file", "qdisk" */
	const struct blkback_store_ops *store;
	void *store_priv;		/* the store's own state */
	void *engine_ctx;		/* what the queues' engines share */
	unsigned int max_queues;	/* what the store can serve in parallel */
	unsigned int reconnect_timeout_ms; /* network stores: then fail I/O */
	char open_why[160];		/* why open failed, for the error node */
	char export_uri[256];		/* NBD URI served from, shown as pvio-export */
	int fd;
	int fd_buffered;		/* same file without O_DIRECT, or -1 */
	bool direct;			/* fd is O_DIRECT */
	bool blockdev;
	uint32_t dio_align;		/* alignment O_DIRECT needs (mem and length) */
	const struct blkback_engine_ops *engine_ops;
	struct blkif_limits lim;
	uint32_t discard_granularity;

	/* connection */
	struct blkback_front *front;	/* accounting of fe_domid, once opened */
	unsigned int spin_us;		/* the ctx's figure for this frontend's kind */
	int be_state;			/* what we last wrote */
	bool persistent;
	unsigned int nr_queues;
	struct blkback_queue queue[BLKBACK_MAX_QUEUES];
	bool connected;
	/*
	 * A migration holds the connection still (pause = 1 in our dir):
	 * rings unmapped, every request answered, the states unchanged.
	 */
	bool paused;
	uint64_t st_published[BLKBACK_NR_STATS];
	bool opened;			/* backing store open, features written */
	bool seen;			/* found by the last scan */
	bool watching;			/* watch on the frontend state set */
	char fe_token[32];		/* that watch's token: "fe D V" */
	char broken_why[128];		/* set by a queue thread */
	volatile bool broken;

	struct blkback_ctx *ctx;
	struct blkback_disk *next;
};

/*
 * Something changed for the control thread to look at: a disk (dom, vdev),
 * every disk of a domain (vdev < 0), or everything (dom < 0).
 */
struct blkback_event {
	long dom;
	long vdev;
	struct blkback_event *next;
};

/* The daemon. */
struct blkback_ctx {
	const char *rundir;
	struct pvio_hv *hv;
	struct xs_handle *xs;
	pthread_mutex_t lock;		/* the event list and quit */
	pthread_cond_t cond;
	struct blkback_event *events;	/* pending, deduplicated */
	bool rescan_all;		/* look at every dir */
	bool released;			/* @releaseDomain fired */
	bool quit;
	struct blkback_disk *disks;
	struct blkback_front *fronts;	/* per frontend domain (control thread) */
	struct blkback_dom_limits dom_lim;
	int verbose;
	/*
	 * A busy queue (BLKBACK_LAZY_INFLIGHT or more I/Os in flight) polls
	 * ring and completions this long before sleeping, a queue with less
	 * in flight for an adaptive window up to it: spin_us for a process
	 * domain's disks, vm_spin_us for a VM's (docs/blk.md).
	 */
	unsigned int spin_us;
	unsigned int vm_spin_us;
	unsigned int submit_batch;	/* --submit-batch */
	unsigned int reconnect_timeout_s; /* default of pvio-reconnect-timeout */
};

/* blkback_ring.c */
/* Set a connected queue up (requests, tables, engine), no thread: 0/-errno. */
int blkback_queue_init(struct blkback_queue *q);
/* blkback_queue_init, then the queue's thread. */
int blkback_queue_start(struct blkback_queue *q);
/*
 * One turn of a queue: take what the ring holds (if @take) and submit it,
 * reap completions, publish answers. What the queue thread runs before it
 * sleeps (and the fuzz harness drives directly). False once the frontend
 * broke the ring (the disk is being disconnected).
 */
bool blkback_queue_turn(struct blkback_queue *q, bool take);
/* Stop the thread (if any), drop every request, mapping and buffer. */
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

/* blkback_backing.c: open and probe a file or device as @disk's store. */
int blkback_backing_open(struct blkback_disk *disk, bool readonly,
			 uint32_t want_sector_size);
void blkback_backing_close(struct blkback_disk *disk);
/* Discard (punch a hole / BLKDISCARD) @nr_sectors at @sector: 0 or -errno. */
int blkback_backing_discard(struct blkback_disk *disk, uint64_t sector,
			    uint64_t nr_sectors);

#define blkback_log(fmt, ...) \
	fprintf(stderr, "pvio-blkback: " fmt "\n", ##__VA_ARGS__)

#endif /* PVIO_BLKBACK_H */
