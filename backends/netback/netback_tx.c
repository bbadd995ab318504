/*
 * netback tx data path (frontend -> TAP): copy each packet's requests out of
 * the ring once, validate the copy, grant-copy the payload behind a vnet
 * header, write it to the TAP, answer every slot; rate limit with a credit.
 * With the queue's ring (netback_batch_init) the frames of a pass wait in the
 * queue's arena and go to the TAP in one submission.
 */
#include <errno.h>
#include <liburing.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "netback.h"
#include "pvio/netfront.h"
#include "netif_offload.h"
#include "uring_submit.h"

uint64_t netback_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void tx_respond(struct netback_queue *q, const struct netif_tx_pkt *pkt,
		       int16_t status)
{
	struct netif_tx_response *r;

	/* slot order: the first request, its extras (NULL), then the rest */
	r = netif_tx_back_rsp(&q->tx, q->tx.rsp_prod_pvt++);
	r->id = pkt->ids[0];
	r->status = status;
	for (uint32_t i = 0; i < pkt->nr_extras; i++) {
		r = netif_tx_back_rsp(&q->tx, q->tx.rsp_prod_pvt++);
		r->id = 0;
		r->status = XEN_NETIF_RSP_NULL;
	}
	for (uint32_t i = 1; i < pkt->nr_data; i++) {
		r = netif_tx_back_rsp(&q->tx, q->tx.rsp_prod_pvt++);
		r->id = pkt->ids[i];
		r->status = status;
	}
}

static void tx_count_drop(struct netback_queue *q, enum netif_tx_err err)
{
	struct netback_stats *st = &q->vif->stats;

	atomic_fetch_add(&st->tx_dropped, 1);
	atomic_fetch_add(&st->tx_err[err], 1);
}

/* Fill the vnet header from the packet's netif flags; 0 or -EINVAL. */
static int tx_vnet_hdr(struct netif_tx_pkt *pkt, uint8_t *frame,
		       struct virtio_net_hdr *h)
{
	uint16_t start, off, hlen;
	uint8_t proto;

	memset(h, 0, sizeof(*h));
	h->gso_type = VIRTIO_NET_HDR_GSO_NONE;
	if (pkt->flags & NETTXF_csum_blank) {
		if (netif_csum_locate(frame, pkt->len, &start, &off, &hlen,
					 &proto))
			return -EINVAL;
		h->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
		h->csum_start = start;
		h->csum_offset = off;
		h->hdr_len = hlen;
		if (pkt->gso_type != XEN_NETIF_GSO_TYPE_NONE) {
			if (proto != IPPROTO_TCP)
				return -EINVAL;
			h->gso_type = pkt->gso_type == XEN_NETIF_GSO_TYPE_TCPV4 ?
				VIRTIO_NET_HDR_GSO_TCPV4 : VIRTIO_NET_HDR_GSO_TCPV6;
			h->gso_size = pkt->gso_size;
		}
	} else if (pkt->flags & NETTXF_data_validated) {
		h->flags = VIRTIO_NET_HDR_F_DATA_VALID;
	}
	return 0;
}

static void tx_count_write(struct netback_queue *q, ssize_t w, size_t len)
{
	if (w < 0) {
		/* the host refused it (device down, no buffer): the host's drop,
		 * not the frontend's error; answered OKAY as a NIC would */
		atomic_fetch_add(&q->vif->stats.tx_host_dropped, 1);
		return;
	}
	atomic_fetch_add(&q->vif->stats.tx_packets, 1);
	atomic_fetch_add(&q->vif->stats.tx_bytes, len);
}

/* A written frame (its length in user_data) counted, as tx_write does. */
static void tx_written(void *arg, const struct io_uring_cqe *c)
{
	tx_count_write(arg, c->res, (size_t)c->user_data);
}

/* Bytes of the arena a frame of @len bytes takes: header, frame, aligned. */
static size_t tx_arena_len(uint32_t len)
{
	return ((size_t)NETBACK_VNET_HDR_LEN + len + 63) & ~(size_t)63;
}

/*
 * Hand the queued frames to the TAP and take every completion, so that
 * the arena is free again. Each write is RWF_NOWAIT: the TAP takes it in
 * the submission itself, in ring order, or refuses it at once (counted
 * as the host's drop, as a refused write() is); nothing waits for room.
 */
void netback_tx_flush(struct netback_queue *q)
{
	unsigned int n = q->tx_pending, submitted;
	int ret;

	if (!n)
		return;
	submitted = pvio_uring_submit_all(q->uring, n, &ret);
	if (submitted < n) {
		/* the kernel refused the ring itself: give up on this queue */
		netback_queue_fatal(q, "TAP writes cannot be submitted: %s",
				    strerror(-ret));
	}
	pvio_uring_reap(q->uring, submitted, tx_written, q);
	q->tx_pending = 0;
	q->tx_arena_used = 0;
}

/* Where the next frame of @len bytes goes: the arena, or the one buffer. */
static uint8_t *tx_slot(struct netback_queue *q, uint32_t len)
{
	if (!q->uring)
		return q->tx_buf;
	if (q->tx_pending == NETBACK_TX_INFLIGHT ||
	    q->tx_arena_used + tx_arena_len(len) > NETBACK_TX_ARENA)
		netback_tx_flush(q);
	return q->tx_arena + q->tx_arena_used;
}

/* The frame at @buf goes to the TAP: now, or queued with the others. */
static void tx_write(struct netback_queue *q, uint8_t *buf, uint32_t len)
{
	size_t total = (size_t)NETBACK_VNET_HDR_LEN + len;
	struct io_uring_sqe *sqe;

	if (!q->uring) {
		tx_count_write(q, write(q->tap_fd, buf, total), len);
		return;
	}
	sqe = io_uring_get_sqe(q->uring);
	if (!sqe) {
		/* cannot happen (a slot per frame in flight): write it now */
		tx_count_write(q, write(q->tap_fd, buf, total), len);
		return;
	}
	io_uring_prep_write(sqe, q->tap_fd, buf, (unsigned int)total, 0);
	sqe->rw_flags = RWF_NOWAIT;
	io_uring_sqe_set_data64(sqe, len);
	q->tx_pending++;
	q->tx_arena_used += tx_arena_len(len);
}

/* Copy the payload of a validated packet and write it to the TAP. */
static enum netif_tx_err tx_send(struct netback_queue *q,
				   struct netif_tx_pkt *pkt)
{
	struct pvio_gnt_copy ops[XEN_NETBK_LEGACY_SLOTS_MAX];
	uint8_t *buf = tx_slot(q, pkt->len);
	struct virtio_net_hdr *h = (struct virtio_net_hdr *)buf;
	uint8_t *frame = buf + NETBACK_VNET_HDR_LEN;
	uint32_t pos = 0;

	for (uint32_t i = 0; i < pkt->nr_data; i++) {
		ops[i] = (struct pvio_gnt_copy){
			.dom = q->vif->domid,
			.ref = pkt->req[i].gref,
			.offset = pkt->req[i].offset,
			.buf = frame + pos,
			.len = pkt->req[i].size,
			.to_grant = 0,
		};
		pos += pkt->req[i].size;
	}
	if (pvio_gnttab_copy(q->vif->nb->hv, ops, pkt->nr_data) < 0)
		return NETIF_TX_EGRANT;
	for (uint32_t i = 0; i < pkt->nr_data; i++)
		if (ops[i].status != GNTST_okay)
			return NETIF_TX_EGRANT;
	if (tx_vnet_hdr(pkt, frame, h))
		return pkt->gso_type != XEN_NETIF_GSO_TYPE_NONE ?
			NETIF_TX_EGSO : NETIF_TX_ESIZE;
	tx_write(q, buf, pkt->len);
	return NETIF_TX_OK;
}

/* Replenish the rate-limit credit; false if the queue must wait. */
static bool tx_credit_ok(struct netback_queue *q, int *timeout_ms)
{
	struct netback_vif *vif = q->vif;
	uint64_t now, interval;

	if (!vif->rate_bytes)
		return true;
	if (q->credit > 0)
		return true;
	now = netback_now_ns();
	interval = (uint64_t)vif->rate_usec * 1000ull;
	if (now - q->credit_stamp_ns >= interval) {
		uint64_t n = (now - q->credit_stamp_ns) / interval;
		int64_t add = (int64_t)(n * vif->rate_bytes);

		q->credit += add;
		/* a token bucket of one interval: no saving up across idle time */
		if (q->credit > (int64_t)vif->rate_bytes)
			q->credit = (int64_t)vif->rate_bytes;
		q->credit_stamp_ns += n * interval;
	}
	if (q->credit > 0)
		return true;
	{
		uint64_t wait = q->credit_stamp_ns + interval - now;
		int ms = (int)(wait / 1000000ull) + 1;

		if (*timeout_ms < 0 || ms < *timeout_ms)
			*timeout_ms = ms;
	}
	return false;
}

bool netback_tx_run(struct netback_queue *q, int *timeout_ms)
{
	struct netif_tx_pkt pkt;
	unsigned int done = 0;
	uint32_t prod;
	bool limited = false, incomplete = false;

	prod = PVIO_READ_ONCE(q->tx.sring->req_prod);
	PVIO_RMB();	/* requests read after the index that covers them */
	if (!pvio_back_req_prod_ok(&q->tx, prod)) {
		netback_queue_fatal(q, "tx req_prod %u out of range (rsp_prod %u, %u slots)",
				    prod, q->tx.rsp_prod_pvt, q->tx.nr_ents);
		return false;
	}
	while (done < NETBACK_TX_BATCH) {
		uint32_t avail = pvio_back_unconsumed(&q->tx);
		unsigned int n, used;

		if (!avail)
			break;
		if (!tx_credit_ok(q, timeout_ms)) {
			limited = true;
			break;
		}
		n = avail < NETIF_TX_WINDOW ? avail : NETIF_TX_WINDOW;
		/* one copy of the slots; everything below reads the copy */
		for (unsigned int i = 0; i < n; i++)
			q->tx_window[i] = *netif_tx_back_req(&q->tx,
							     q->tx.req_cons + i);
		used = netif_tx_parse(q->tx_window, n, &pkt);
		if (!used) {
			if (pkt.err == NETIF_TX_EFATAL) {
				netback_queue_fatal(q, "tx packet longer than %u slots",
						    NETIF_TX_WINDOW);
				return false;
			}
			incomplete = true;	/* rest not published yet */
			break;
		}
		q->tx.req_cons += used;
		if (pkt.err == NETIF_TX_OK)
			pkt.err = tx_send(q, &pkt);
		if (pkt.err != NETIF_TX_OK) {
			tx_count_drop(q, pkt.err);
			tx_respond(q, &pkt, XEN_NETIF_RSP_ERROR);
		} else {
			tx_respond(q, &pkt, XEN_NETIF_RSP_OKAY);
			if (q->vif->rate_bytes)
				q->credit -= pkt.len;
		}
		done++;
	}
	if (done && pvio_back_push(&q->tx))
		pvio_evtchn_notify(q->vif->nb->hv, q->port_tx);
	/* the frontend has its slots back; the frames leave together */
	netback_tx_flush(q);
	if (done >= NETBACK_TX_BATCH)
		return true;
	if (limited)
		return false;	/* the poll timeout brings us back */
	if (incomplete) {
		/* wake on the next request published, not the one we hold */
		prod = PVIO_READ_ONCE(q->tx.sring->req_prod);
		PVIO_WRITE_ONCE(q->tx.sring->req_event, prod + 1);
		PVIO_MB();	/* event visible before the second look */
		return PVIO_READ_ONCE(q->tx.sring->req_prod) != prod;
	}
	return pvio_back_final_check(&q->tx);
}
