/*
 * User-space netfront internals shared by its control plane
 * (netfront_xenbus.c) and data path (netfront_ring.c).
 */
#ifndef PVIO_NETFRONT_PRIV_H
#define PVIO_NETFRONT_PRIV_H

#include <pthread.h>
#include <stdatomic.h>

#include "pvio/libpvio.h"
#include "pvio/netfront.h"
#include "pvio/xenbus.h"

#define NETFRONT_MAX_QUEUES	8
#define NETFRONT_RING_ENTS	256	/* one-page netif rings */
#define NETFRONT_RX_MAX_EXTRAS	3	/* extra-info slots after an rx packet */
#define NETFRONT_SLOTS_MAX	XEN_NETBK_LEGACY_SLOTS_MAX
/* pages for the largest frame, 65535 bytes */
#define NETFRONT_TX_PAGES_MAX	NETFRONT_TX_BORROW

struct netfront_queue {
	struct netfront *nf;
	unsigned int id;
	pthread_mutex_t lock;	/* data path of this queue vs reconnect */
	bool up;		/* rings live and given to the backend */

	void *tx_sring, *rx_sring;
	pvio_grant_ref_t tx_ring_ref, rx_ring_ref;
	bool tx_ring_granted, rx_ring_granted;
	struct pvio_front_ring tx, rx;
	pvio_evtchn_port_t port_tx, port_rx;	/* equal without split */
	bool port_tx_open, port_rx_open;
	int evfd_tx, evfd_rx;
	int epfd;		/* what netfront_fd() returns; stable */
	int ctl_fd;		/* eventfd: a reconnect happened */
	atomic_bool ctl_pending;	/* ctl_fd has a count to read */

	/* tx: page i belongs to request id i while in flight */
	uint8_t *tx_page[NETFRONT_RING_ENTS];
	pvio_grant_ref_t tx_ref[NETFRONT_RING_ENTS];
	uint16_t tx_free[NETFRONT_RING_ENTS];
	unsigned int tx_nfree;
	uint8_t tx_busy[NETFRONT_RING_ENTS];
	uint16_t borrow[NETFRONT_TX_PAGES_MAX];	/* lent by netfront_tx_borrow */
	unsigned int nborrow;
	uint64_t borrow_gen;
	unsigned int npeek;		/* slots of the frame netfront_rx_peek shows */
	uint64_t peek_gen;
	uint64_t gen;			/* bumped by every (re)connect */

	/* rx: the request at ring index i always posts page i & mask */
	uint8_t *rx_page[NETFRONT_RING_ENTS];
	pvio_grant_ref_t rx_ref[NETFRONT_RING_ENTS];

	uint64_t tx_packets, tx_bytes, tx_errors;
	uint64_t rx_packets, rx_bytes, rx_errors;
};

struct netfront {
	struct pvio_dom *dom;
	struct pvio_hv *hv;
	struct xs_handle *xs;
	unsigned int devid;
	pvio_domid_t backend_id;
	char fedir[96];
	char bedir[128];
	char token[48];
	struct netfront_opts opts;

	uint8_t mac[6];
	unsigned int mtu;
	unsigned int nr_queues;
	bool split, sg, gso4, gso6, csum;

	pthread_mutex_t lock;	/* control state below */
	pthread_cond_t cond;
	bool kick;		/* a watch fired */
	bool stop;
	bool connected;
	enum xenbus_state state;	/* ours */
	uint64_t reconnects;
	pthread_t ctl_thread;

	struct netfront_queue queues[NETFRONT_MAX_QUEUES];
};

/* netfront_ring.c */
int netfront_queue_alloc_buffers(struct netfront_queue *q);
void netfront_queue_free_buffers(struct netfront_queue *q);
int netfront_queue_setup(struct netfront_queue *q);	/* rings, evtchn */
void netfront_queue_teardown(struct netfront_queue *q);

#endif /* PVIO_NETFRONT_PRIV_H */
