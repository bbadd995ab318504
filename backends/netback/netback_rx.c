/*
 * netback rx data path (TAP -> frontend): read a frame with its vnet header,
 * wait for enough posted rx requests, grant-copy it into the frontend's
 * pages slot by slot (more_data chain, a GSO extra slot), answer.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "netback.h"
#include "pvio/netfront.h"
#include "netif_offload.h"

static uint32_t rx_slots_for(struct netback_queue *q, size_t len,
			     const struct virtio_net_hdr *h)
{
	uint32_t n = (uint32_t)((len + PVIO_PAGE_SIZE - 1) / PVIO_PAGE_SIZE);

	if (h->gso_type != VIRTIO_NET_HDR_GSO_NONE)
		n++;	/* the extra info slot */
	return n;
}

/* Decide whether the pending frame can ever be delivered; 0 or -EINVAL. */
static int rx_check(struct netback_queue *q)
{
	struct netback_vif *vif = q->vif;
	struct virtio_net_hdr *h = (struct virtio_net_hdr *)q->rx_buf;
	uint8_t gso = h->gso_type & ~VIRTIO_NET_HDR_GSO_ECN;

	if (q->rx_len > PVIO_PAGE_SIZE && !vif->fe_sg)
		return -EINVAL;
	if (gso == VIRTIO_NET_HDR_GSO_TCPV4 && !vif->fe_gso4)
		return -EINVAL;
	if (gso == VIRTIO_NET_HDR_GSO_TCPV6 && !vif->fe_gso6)
		return -EINVAL;
	if (gso != VIRTIO_NET_HDR_GSO_NONE && gso != VIRTIO_NET_HDR_GSO_TCPV4 &&
	    gso != VIRTIO_NET_HDR_GSO_TCPV6)
		return -EINVAL;
	h->gso_type = gso;
	if ((h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) && !vif->fe_csum) {
		/* this frontend cannot finish checksums: do it here */
		if (netif_csum_finish(q->rx_buf + NETBACK_VNET_HDR_LEN,
					 q->rx_len, h->csum_start, h->csum_offset))
			return -EINVAL;
		h->flags = VIRTIO_NET_HDR_F_DATA_VALID;
	}
	q->rx_need = rx_slots_for(q, q->rx_len, h);
	if (q->rx_need > q->rx.nr_ents / 2)
		return -EINVAL;
	return 0;
}

static void rx_deliver(struct netback_queue *q)
{
	struct pvio_gnt_copy ops[XEN_NETBK_LEGACY_SLOTS_MAX + 2];
	struct netif_rx_request reqs[XEN_NETBK_LEGACY_SLOTS_MAX + 2];
	struct virtio_net_hdr *h = (struct virtio_net_hdr *)q->rx_buf;
	uint8_t *frame = q->rx_buf + NETBACK_VNET_HDR_LEN;
	bool gso = h->gso_type != VIRTIO_NET_HDR_GSO_NONE;
	uint32_t nreq = q->rx_need, ndata = 0, i, pos = 0, last;
	uint16_t flags0 = 0;
	int16_t err = 0;

	/* copy each request once */
	for (i = 0; i < nreq; i++)
		reqs[i] = *netif_rx_back_req(&q->rx, q->rx.req_cons + i);
	q->rx.req_cons += nreq;

	/* data goes in every slot but the one after the first (the extra) */
	for (i = 0; i < nreq; i++) {
		size_t chunk;

		if (gso && i == 1)
			continue;
		chunk = q->rx_len - pos;
		if (chunk > PVIO_PAGE_SIZE)
			chunk = PVIO_PAGE_SIZE;
		ops[ndata++] = (struct pvio_gnt_copy){
			.dom = q->vif->domid,
			.ref = reqs[i].gref,
			.offset = 0,
			.buf = frame + pos,
			.len = (uint16_t)chunk,
			.to_grant = 1,
		};
		pos += chunk;
	}
	if (pvio_gnttab_copy(q->vif->nb->hv, ops, ndata) < 0)
		err = XEN_NETIF_RSP_ERROR;
	for (i = 0; i < ndata && !err; i++)
		if (ops[i].status != GNTST_okay)
			err = XEN_NETIF_RSP_ERROR;

	if (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)
		flags0 |= NETRXF_csum_blank | NETRXF_data_validated;
	else if (h->flags & VIRTIO_NET_HDR_F_DATA_VALID)
		flags0 |= NETRXF_data_validated;
	if (gso)
		flags0 |= NETRXF_extra_info;

	/*
	 * more_data means another *data* slot follows: the extra slot does
	 * not count, so a GSO frame that fits one page has none (the frontend
	 * would otherwise take the next frame's first slot as its second).
	 */
	last = nreq - 1;
	if (gso && last == 1)
		last = 0;
	ndata = 0;
	for (i = 0; i < nreq; i++) {
		union netif_rx_slot *s = netif_rx_back_rsp(&q->rx,
							  q->rx.rsp_prod_pvt++);

		if (gso && i == 1) {
			memset(&s->extra, 0, sizeof(s->extra));
			s->extra.type = XEN_NETIF_EXTRA_TYPE_GSO;
			s->extra.u.gso.size = h->gso_size;
			s->extra.u.gso.type =
				h->gso_type == VIRTIO_NET_HDR_GSO_TCPV4 ?
				XEN_NETIF_GSO_TYPE_TCPV4 : XEN_NETIF_GSO_TYPE_TCPV6;
			continue;
		}
		s->rsp.id = reqs[i].id;
		s->rsp.offset = 0;
		s->rsp.flags = (i == 0 ? flags0 : 0) |
			(i < last ? NETRXF_more_data : 0);
		s->rsp.status = err ? err : (int16_t)ops[ndata].len;
		ndata++;
	}
	if (err) {
		atomic_fetch_add(&q->vif->stats.rx_dropped, 1);
	} else {
		atomic_fetch_add(&q->vif->stats.rx_packets, 1);
		atomic_fetch_add(&q->vif->stats.rx_bytes, q->rx_len);
	}
	q->rx_len = 0;
}

bool netback_rx_run(struct netback_queue *q)
{
	unsigned int done = 0;
	uint32_t prod;
	bool starved = false;

	prod = PVIO_READ_ONCE(q->rx.sring->req_prod);
	PVIO_RMB();	/* requests read after the index that covers them */
	if (!pvio_back_req_prod_ok(&q->rx, prod)) {
		netback_queue_fatal(q, "rx req_prod %u out of range (rsp_prod %u, %u slots)",
				    prod, q->rx.rsp_prod_pvt, q->rx.nr_ents);
		return false;
	}
	while (done < NETBACK_RX_BATCH) {
		if (!q->rx_len) {
			ssize_t n = read(q->tap_fd, q->rx_buf,
					 NETBACK_VNET_HDR_LEN + NETBACK_PKT_MAX);

			if (n <= NETBACK_VNET_HDR_LEN)
				break;	/* EAGAIN: the TAP is empty */
			q->rx_len = (size_t)n - NETBACK_VNET_HDR_LEN;
			if (rx_check(q)) {
				atomic_fetch_add(&q->vif->stats.rx_dropped, 1);
				q->rx_len = 0;
				continue;
			}
		}
		if (pvio_back_unconsumed(&q->rx) < q->rx_need) {
			starved = true;
			break;
		}
		rx_deliver(q);
		done++;
	}
	if (done && pvio_back_push(&q->rx))
		pvio_evtchn_notify(q->vif->nb->hv, q->port_rx);
	if (starved) {
		/* ask to hear when the frontend has posted what we need */
		PVIO_WRITE_ONCE(q->rx.sring->req_event,
				q->rx.req_cons + q->rx_need);
		PVIO_MB();	/* event visible before the second look */
		return pvio_back_unconsumed(&q->rx) >= q->rx_need;
	}
	return done >= NETBACK_RX_BATCH;
}
