/*
 * pvio-netback shared structures: the daemon, its vifs (one per backend dir
 * /local/domain/0/backend/vif/<dom>/<devid>) and their queues (one thread,
 * one tx ring, one rx ring, one TAP queue each).
 */
#ifndef PVIO_NETBACK_H
#define PVIO_NETBACK_H

#include <linux/virtio_net.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "pvio/libpvio.h"
#include "pvio/netif.h"
#include "pvio/xenbus.h"
#include "netif_tx.h"

#define NETBACK_MAX_QUEUES	8
#define NETBACK_VNET_HDR_LEN	((int)sizeof(struct virtio_net_hdr))
/* largest frame the TAP may hand us: 64 KiB GSO plus headroom */
#define NETBACK_PKT_MAX		(65536 + 256)
#define NETBACK_RX_BATCH	64	/* packets per wakeup before yielding */
#define NETBACK_TX_BATCH	64
/*
 * tx frames wait, copied out, in an arena of the queue and go to the TAP
 * together: one io_uring submission for up to NETBACK_TX_INFLIGHT frames
 * (or as many 64 KiB frames as fit) instead of a write() each.
 */
#define NETBACK_TX_INFLIGHT	32
#define NETBACK_TX_ARENA	(4 * (NETBACK_VNET_HDR_LEN + NETBACK_PKT_MAX))

struct netback;
struct netback_vif;
struct io_uring;

/* Per-vif counters, summed over queues; published in the store by main. */
struct netback_stats {
	atomic_uint_fast64_t tx_packets;	/* frontend -> TAP */
	atomic_uint_fast64_t tx_bytes;
	atomic_uint_fast64_t tx_dropped;	/* malformed requests, all kinds */
	atomic_uint_fast64_t tx_err[NETIF_TX_NR_ERR];
	atomic_uint_fast64_t tx_host_dropped;	/* TAP refused the write */
	atomic_uint_fast64_t rx_packets;	/* TAP -> frontend */
	atomic_uint_fast64_t rx_bytes;
	atomic_uint_fast64_t rx_dropped;	/* too big, or no slots for it */
};

struct netback_queue {
	struct netback_vif *vif;
	unsigned int id;
	pthread_t thread;
	bool thread_running;
	int stop_fd;			/* eventfd: ask the thread to exit */

	struct pvio_gnt_map ring_map[2];	/* tx, rx ring pages */
	bool rings_mapped;
	struct pvio_back_ring tx;
	struct pvio_back_ring rx;
	pvio_evtchn_port_t port_tx, port_rx;	/* equal without split channels */
	bool port_tx_bound, port_rx_bound;
	int evfd_tx, evfd_rx;
	int tap_fd;

	/* tx: one packet assembled at a time behind its vnet header */
	uint8_t *tx_buf;
	/*
	 * Batched TAP writes (netback_batch_init): frames in the arena, their
	 * writes queued. NULL: one write() per frame.
	 */
	struct io_uring *uring;
	uint8_t *tx_arena;
	size_t tx_arena_used;
	unsigned int tx_pending;	/* writes queued, not yet submitted */
	union netif_tx_slot tx_window[NETIF_TX_WINDOW];
	int64_t credit;			/* rate limit, bytes; may dip below 0 */
	uint64_t credit_stamp_ns;	/* last replenish */

	/* rx: a packet read from the TAP waits here for enough rx requests */
	uint8_t *rx_buf;		/* vnet header, then the frame */
	size_t rx_len;			/* frame bytes, 0 = none pending */
	uint32_t rx_need;		/* ring slots it needs */
};

struct netback_vif {
	struct netback *nb;
	struct netback_vif *next;
	uint16_t domid;
	uint32_t devid;
	char bedir[96];
	char fedir[96];
	char token[64];
	bool listed;			/* seen by the current scan */
	bool marked;			/* kept by a full scan */

	/* from the toolstack's keys */
	char ifname[16];
	char bridge[16];
	char script[256];
	char mac[18];
	unsigned int mtu;
	uint64_t rate_bytes;		/* 0: unlimited */
	uint32_t rate_usec;

	/* host side */
	int tap_fd0;			/* queue 0 of the TAP, lives with the vif */
	bool hotplugged;		/* vif-bridge online succeeded */

	/* xenbus */
	enum xenbus_state state;	/* ours, as last written */
	bool connected;
	/*
	 * A migration holds the connection still (pause = 1 in our dir):
	 * rings unmapped, every slot answered, the states unchanged.
	 */
	bool paused;
	/* last disconnect: its queues stopped, then rings and ports let go */
	uint64_t stop_ns, let_go_ns;
	bool need_fe_reset;		/* frontend was up when we probed */
	atomic_bool fatal;		/* a queue saw a protocol violation */
	char fatal_msg[128];
	uint64_t closing_since_ms;

	/* what the frontend asked for at connect */
	unsigned int nr_queues;
	bool fe_sg, fe_gso4, fe_gso6, fe_csum, fe_ipv6_csum;
	struct netback_queue queues[NETBACK_MAX_QUEUES];

	struct netback_stats stats;
	uint64_t stats_published[3];	/* tx_dropped, tx_packets, rx_packets */
};

/*
 * What a watch said changed: a vif (dom, dev), a domain's dir (dev < 0),
 * everything (dom < 0).
 */
struct netback_event {
	long dom;
	long dev;
	struct netback_event *next;
};

struct netback {
	const char *rundir;
	struct xs_handle *xs;
	struct pvio_hv *hv;
	pthread_mutex_t lock;		/* the event list */
	struct netback_event *events;	/* pending, deduplicated */
	bool rescan_all;
	bool released;			/* @releaseDomain fired */
	struct netback_vif *vifs;	/* main thread only */
	int wake_fd;			/* eventfd: a watch fired */
	unsigned int max_queues;
	char exe_dir[256];		/* to find scripts/ next to the build */
};

/* netback_xenbus.c: the backend state machine, run by the main thread */
/* Handle what the watches reported since the last call. */
void netback_handle_events(struct netback *nb);
/* Once a second: vifs waiting for a frontend that does not answer. */
void netback_tick(struct netback *nb);
/* Any thread: have the main thread look at @vif again. */
void netback_vif_changed(struct netback_vif *vif);
void netback_vif_destroy(struct netback_vif *vif);
void netback_publish_stats(struct netback_vif *vif);
void netback_watch_cb(struct xs_handle *h, const char *path, const char *token,
		      void *arg);

/* netback_tap.c */
int netback_tap_open(const char *name, char *actual, size_t actual_len);
int netback_tap_set_offload(int fd, unsigned int tun_flags);
int netback_hotplug(struct netback_vif *vif, const char *action);

/* netback_queue.c: per-queue thread */
int netback_queue_start(struct netback_queue *q);
void netback_queue_stop(struct netback_queue *q);
void netback_queue_fatal(struct netback_queue *q, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* netback_tx.c: frontend -> TAP; true if there may be more work */
bool netback_tx_run(struct netback_queue *q, int *timeout_ms);
/* the queued TAP writes go out; every completion taken */
void netback_tx_flush(struct netback_queue *q);
/* netback_queue.c: batched TAP writes for @q (0, or a write() per frame) */
int netback_batch_init(struct netback_queue *q);
void netback_batch_fini(struct netback_queue *q);	/* flushes first */
/* netback_rx.c: TAP -> frontend; true if there may be more work */
bool netback_rx_run(struct netback_queue *q);

uint64_t netback_now_ns(void);

#endif /* PVIO_NETBACK_H */
