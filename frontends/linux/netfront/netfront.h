/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pvio_netfront: shared structures of the guest network frontend. A vif
 * is a net_device with one or more queues; each queue owns a tx ring and
 * an rx ring (one page each, granted to the backend), one or two event
 * channels and a NAPI context that handles tx completions and rx.
 */
#ifndef PVIO_NETFRONT_H
#define PVIO_NETFRONT_H

#include <linux/netdevice.h>
#include <linux/skbuff.h>
#include <linux/spinlock.h>
#include <linux/timer.h>
#include <linux/u64_stats_sync.h>
#include <pvio_core.h>
#include <pvio/netif.h>

#define NETFRONT_TX_RING_SIZE	256	/* netif tx entries in one page */
#define NETFRONT_RX_RING_SIZE	256	/* netif rx entries in one page */
#define NETFRONT_MAX_QUEUES	8
/* data slots of one tx packet every backend accepts */
#define NETFRONT_TX_MAX_SLOTS	XEN_NETBK_LEGACY_SLOTS_MAX
/* extra info slots we accept after an rx packet's first slot */
#define NETFRONT_RX_MAX_EXTRAS	4
/* rx packets up to this size are copied and their page reposted */
#define NETFRONT_RX_COPYBREAK	256
/* bytes of headers pulled into the linear area of a paged rx skb */
#define NETFRONT_RX_PULL	128
#define NETFRONT_NO_GREF	(-1)

struct netfront_info;

struct netfront_stats {
	u64 packets;
	u64 bytes;
	struct u64_stats_sync syncp;
};

/* Counters of queue N, kept in the device across reconnections. */
struct netfront_qstats {
	struct netfront_stats tx, rx;
	atomic64_t tx_dropped, rx_dropped, rx_errors, tx_errors;
};

/* One tx ring slot in use: the skb it holds a reference on, its grant. */
struct netfront_tx_slot {
	struct sk_buff *skb;		/* NULL: free */
	struct page *page;
	int gref;
	u16 next_free;
};

struct netfront_queue {
	struct netfront_info *info;
	unsigned int id;
	char name[IFNAMSIZ + 8];
	struct napi_struct napi;
	bool napi_added;
	bool napi_enabled;		/* changed under rtnl */
	bool broken;			/* the backend broke the protocol */

	/* tx: ring and slots, under tx_lock */
	spinlock_t tx_lock;
	struct pvio_front_ring tx;
	int tx_ring_gref;
	struct netfront_tx_slot tx_slots[NETFRONT_TX_RING_SIZE];
	u16 tx_free_head;
	unsigned int tx_nr_free;

	/* rx: one page per ring position; touched only by NAPI */
	struct pvio_front_ring rx;
	int rx_ring_gref;
	struct page *rx_pages[NETFRONT_RX_RING_SIZE];
	int rx_grefs[NETFRONT_RX_RING_SIZE];
	struct timer_list rx_refill_timer;

	pvio_evtchn_port_t tx_port;
	pvio_evtchn_port_t rx_port;	/* == tx_port unless split */
	bool tx_bound, rx_bound;

	struct netfront_qstats *st;
};

struct netfront_info {
	struct net_device *netdev;
	struct pvio_device *pdev;
	struct mutex lock;		/* state machine, connect/disconnect */
	bool dir_seen;			/* our dir was there at the connect */
	struct netfront_queue *queues;	/* nr_queues while connected */
	unsigned int nr_queues;
	/* the old host's queues after a resume, freed once we run again */
	struct netfront_queue *retired;
	unsigned int nr_retired;
	struct work_struct retire_work;
	/* the backend's state is followed here, off the store's watch queue */
	struct work_struct state_work;
	struct work_struct announce_work;	/* after a kept resume */
	bool connected;			/* queues exist and backend is live */
	bool removing;
	bool suspended;			/* save/migration: the state is ours */
	bool announce;			/* after a resume: tell the network */

	/* what the backend accepts on tx (its feature-* keys) */
	bool be_sg, be_gso4, be_gso6, be_ipv6_csum, be_split;
	unsigned int be_max_queues;
	unsigned int reconnects;
	struct netfront_qstats stats[NETFRONT_MAX_QUEUES];
};

/* netfront_ring.c: queues and the data path */
int netfront_queues_create(struct netfront_info *info, unsigned int n);
void netfront_queues_destroy(struct netfront_info *info);
bool netfront_queues_kept(struct netfront_info *info);
int netfront_queues_reattach(struct netfront_info *info);
void netfront_queues_forget_ports(struct netfront_info *info);
void netfront_queues_detach(struct netfront_info *info);
void netfront_queues_retire(struct netfront_info *info);
void netfront_queues_free_retired(struct netfront_info *info);
void netfront_queue_start(struct netfront_queue *q);
void netfront_queue_stop(struct netfront_queue *q);
netdev_tx_t netfront_start_xmit(struct sk_buff *skb, struct net_device *dev);
void netfront_get_stats64(struct net_device *dev,
			  struct rtnl_link_stats64 *s);

#endif /* PVIO_NETFRONT_H */
