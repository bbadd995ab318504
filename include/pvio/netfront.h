/* SPDX-License-Identifier: MIT */
/*
 * User-space netfront: a process domain's vif. Frames go in and out with a
 * virtio_net_hdr describing their offloads (partial checksum, TCP
 * segmentation), the same header a TAP device with IFF_VNET_HDR uses, so a
 * TAP bridge is a loop of read/netfront_send and netfront_recv/write.
 *
 * One thread per queue may call send/recv/ack on that queue; the library's
 * control thread follows the backend's xenbus state and reconnects by itself
 * after a backend restart (send returns -ENOTCONN meanwhile).
 * Every function returning int returns 0 (or a count) or -errno.
 */
#ifndef PVIO_NETFRONT_H
#define PVIO_NETFRONT_H

#include <linux/virtio_net.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "netif.h"

struct netfront;
struct pvio_dom;
struct xs_handle;

struct netfront_opts {
	unsigned int nr_queues;	/* 0 = 1; capped by multi-queue-max-queues */
	bool no_sg;		/* do not offer feature-sg (and so no GSO) */
	bool no_gso;
	bool no_csum;		/* feature-no-csum-offload */
	bool no_split_evtchn;
};

/*
 * Connect vif @devid of domain @d (its frontend dir is written by the
 * toolstack), through the store handle @xs. Waits up to @timeout_ms for the
 * backend to connect (-1: forever).
 */
int netfront_open(struct pvio_dom *d, struct xs_handle *xs, unsigned int devid,
		  const struct netfront_opts *opts, int timeout_ms,
		  struct netfront **out);
void netfront_close(struct netfront *nf);

unsigned int netfront_nr_queues(const struct netfront *nf);
void netfront_mac(const struct netfront *nf, uint8_t mac[6]);
unsigned int netfront_mtu(const struct netfront *nf);
/* Offloads the backend agreed to: true if GSO frames may be sent. */
bool netfront_can_gso(const struct netfront *nf);
bool netfront_connected(const struct netfront *nf);

/*
 * Pollable fd of queue @q (stable across reconnects): readable when the
 * backend answered or a reconnect happened. Call netfront_ack() then
 * recv until -EAGAIN and retry any send that got -EAGAIN.
 */
int netfront_fd(struct netfront *nf, unsigned int q);
void netfront_ack(struct netfront *nf, unsigned int q);

/*
 * Queue one frame. @hdr may be NULL (no offloads). 0 when queued (and the
 * backend notified if it asked), -EAGAIN if the ring is full (poll and
 * retry), -ENOTCONN while reconnecting, -EINVAL for a frame that cannot be
 * sent (too big, unsupported offload).
 */
int netfront_send(struct netfront *nf, unsigned int q,
		  const struct virtio_net_hdr *hdr, const struct iovec *iov,
		  int iovcnt);
/*
 * Take one received frame into @buf (@len >= mtu + 14, or 65536 + 14 with
 * GSO). Returns its length and fills @hdr, or -EAGAIN if none is ready.
 * Malformed responses are counted and skipped.
 */
int netfront_recv(struct netfront *nf, unsigned int q,
		  struct virtio_net_hdr *hdr, void *buf, size_t len);

/*
 * Zero-copy variants (for a TAP bridge: readv/writev straight into and out
 * of the granted pages).
 *
 * netfront_tx_borrow() lends the NETFRONT_TX_BORROW pages (4 KiB each) a
 * 65535-byte frame may need, as @iov (@max >= NETFRONT_TX_BORROW); returns
 * their count, -EAGAIN (ring full: poll), -ENOTCONN. netfront_tx_commit()
 * sends the @len bytes placed from the first page on and takes the unused
 * pages back (also on error; @len 0 just returns them).
 */
#define NETFRONT_TX_BORROW	16
int netfront_tx_borrow(struct netfront *nf, unsigned int q, struct iovec *iov,
		       unsigned int max);
int netfront_tx_commit(struct netfront *nf, unsigned int q,
		       const struct virtio_net_hdr *hdr, size_t len);
/*
 * netfront_rx_peek() describes the next received frame in place (@iov into
 * the rx pages, at most @max entries; NETFRONT_RX_IOV_MAX always do) and
 * returns the
 * entry count or -EAGAIN; the pages stay ours until netfront_rx_release().
 */
#define NETFRONT_RX_IOV_MAX	(XEN_NETBK_LEGACY_SLOTS_MAX + 4)
int netfront_rx_peek(struct netfront *nf, unsigned int q,
		     struct virtio_net_hdr *hdr, struct iovec *iov,
		     unsigned int max);
void netfront_rx_release(struct netfront *nf, unsigned int q);

struct netfront_stats {
	uint64_t tx_packets, tx_bytes, tx_errors;
	uint64_t rx_packets, rx_bytes, rx_errors;
	uint64_t reconnects;
};
void netfront_get_stats(struct netfront *nf, struct netfront_stats *st);

/*
 * For tests of the backend's validation: place raw tx slots on queue @q's
 * ring as they are (no check at all), push and notify. The slots' grant refs
 * may name pages from netfront_test_tx_page(). Returns 0 or -EAGAIN.
 */
int netfront_test_tx_raw(struct netfront *nf, unsigned int q,
			 const union netif_tx_slot *slots, unsigned int n);
/* Collect raw tx responses (up to @max) of queue @q; returns how many. */
int netfront_test_tx_responses(struct netfront *nf, unsigned int q,
			       struct netif_tx_response *rsp, unsigned int max);
/* Grant ref and address of tx page @i (0..255) of queue @q. */
uint32_t netfront_test_tx_page(struct netfront *nf, unsigned int q,
			       unsigned int i, void **addr);
/* Overwrite the shared tx req_prod of queue @q (ring protocol violation). */
void netfront_test_set_tx_prod(struct netfront *nf, unsigned int q,
			       uint32_t prod);

#endif /* PVIO_NETFRONT_H */
