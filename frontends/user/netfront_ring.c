/*
 * User-space netfront data path: per-queue tx/rx rings over pages of the
 * domain's RAM granted once to the backend; frames in and out with a
 * virtio_net_hdr that maps to netif's checksum flags and GSO extra slot.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "netfront_priv.h"
#include "netif_offload.h"
#include "netif_rsp.h"

#define RING_MASK	(NETFRONT_RING_ENTS - 1)

int netfront_queue_alloc_buffers(struct netfront_queue *q)
{
	struct netfront *nf = q->nf;
	int ret;

	for (unsigned int i = 0; i < NETFRONT_RING_ENTS; i++) {
		q->tx_page[i] = pvio_dom_alloc_pages(nf->dom, 1);
		q->rx_page[i] = pvio_dom_alloc_pages(nf->dom, 1);
		if (!q->tx_page[i] || !q->rx_page[i])
			return -ENOMEM;
		/* the backend only reads tx pages and only writes rx pages */
		ret = pvio_gnttab_grant(nf->dom, nf->backend_id,
					pvio_dom_gfn(nf->dom, q->tx_page[i]),
					true, &q->tx_ref[i]);
		if (ret)
			return ret;
		ret = pvio_gnttab_grant(nf->dom, nf->backend_id,
					pvio_dom_gfn(nf->dom, q->rx_page[i]),
					false, &q->rx_ref[i]);
		if (ret)
			return ret;
	}
	return 0;
}

void netfront_queue_free_buffers(struct netfront_queue *q)
{
	struct netfront *nf = q->nf;

	for (unsigned int i = 0; i < NETFRONT_RING_ENTS; i++) {
		/* a page still mapped by the backend is leaked, never reused */
		if (q->tx_page[i] && !pvio_gnttab_end(nf->dom, q->tx_ref[i]))
			pvio_dom_free_pages(nf->dom, q->tx_page[i], 1);
		if (q->rx_page[i] && !pvio_gnttab_end(nf->dom, q->rx_ref[i]))
			pvio_dom_free_pages(nf->dom, q->rx_page[i], 1);
		q->tx_page[i] = q->rx_page[i] = NULL;
	}
}

static void rx_post(struct netfront_queue *q)
{
	/* fill every free request slot; page follows the ring index */
	while (pvio_front_free(&q->rx)) {
		uint32_t idx = q->rx.req_prod_pvt++;
		struct netif_rx_request *r = netif_rx_front_req(&q->rx, idx);

		r->id = (uint16_t)(idx & RING_MASK);
		r->pad = 0;
		r->gref = q->rx_ref[idx & RING_MASK];
	}
	if (pvio_front_push(&q->rx))
		pvio_evtchn_notify(q->nf->hv, q->port_rx);
}

int netfront_queue_setup(struct netfront_queue *q)
{
	struct netfront *nf = q->nf;
	struct epoll_event ev = { .events = EPOLLIN };
	int ret;

	q->tx_sring = pvio_dom_alloc_pages(nf->dom, 1);
	q->rx_sring = pvio_dom_alloc_pages(nf->dom, 1);
	if (!q->tx_sring || !q->rx_sring)
		return -ENOMEM;
	pvio_sring_init(q->tx_sring);
	pvio_sring_init(q->rx_sring);
	pvio_front_ring_init(&q->tx, q->tx_sring,
			     netif_tx_ring_ents(PVIO_PAGE_SIZE));
	pvio_front_ring_init(&q->rx, q->rx_sring,
			     netif_rx_ring_ents(PVIO_PAGE_SIZE));
	ret = pvio_gnttab_grant(nf->dom, nf->backend_id,
				pvio_dom_gfn(nf->dom, q->tx_sring), false,
				&q->tx_ring_ref);
	if (ret)
		return ret;
	q->tx_ring_granted = true;
	ret = pvio_gnttab_grant(nf->dom, nf->backend_id,
				pvio_dom_gfn(nf->dom, q->rx_sring), false,
				&q->rx_ring_ref);
	if (ret)
		return ret;
	q->rx_ring_granted = true;
	ret = pvio_evtchn_alloc_unbound(nf->hv, nf->backend_id, &q->port_tx);
	if (ret)
		return ret;
	q->port_tx_open = true;
	if (nf->split) {
		ret = pvio_evtchn_alloc_unbound(nf->hv, nf->backend_id,
						&q->port_rx);
		if (ret)
			return ret;
		q->port_rx_open = true;
	} else {
		q->port_rx = q->port_tx;
	}
	q->evfd_tx = pvio_evtchn_fd(nf->hv, q->port_tx);
	q->evfd_rx = pvio_evtchn_fd(nf->hv, q->port_rx);
	if (q->evfd_tx < 0 || q->evfd_rx < 0)
		return q->evfd_tx < 0 ? q->evfd_tx : q->evfd_rx;
	if (epoll_ctl(q->epfd, EPOLL_CTL_ADD, q->evfd_tx, &ev))
		return -errno;
	if (q->evfd_rx != q->evfd_tx &&
	    epoll_ctl(q->epfd, EPOLL_CTL_ADD, q->evfd_rx, &ev))
		return -errno;
	/* every tx id free, every rx page posted; loans and peeks are void */
	q->gen++;
	q->nborrow = 0;
	q->npeek = 0;
	q->tx_nfree = 0;
	for (unsigned int i = NETFRONT_RING_ENTS; i-- > 0;) {
		q->tx_free[q->tx_nfree++] = (uint16_t)i;
		q->tx_busy[i] = 0;
	}
	rx_post(q);
	return 0;
}

void netfront_queue_teardown(struct netfront_queue *q)
{
	struct netfront *nf = q->nf;

	if (q->evfd_tx >= 0)
		epoll_ctl(q->epfd, EPOLL_CTL_DEL, q->evfd_tx, NULL);
	if (q->evfd_rx >= 0 && q->evfd_rx != q->evfd_tx)
		epoll_ctl(q->epfd, EPOLL_CTL_DEL, q->evfd_rx, NULL);
	q->evfd_tx = q->evfd_rx = -1;
	if (q->port_rx_open)
		pvio_evtchn_close(nf->hv, q->port_rx);
	if (q->port_tx_open)
		pvio_evtchn_close(nf->hv, q->port_tx);
	q->port_tx_open = q->port_rx_open = false;
	/* a ring page the old backend still maps is leaked, not reused */
	if (q->tx_ring_granted && !pvio_gnttab_end(nf->dom, q->tx_ring_ref))
		pvio_dom_free_pages(nf->dom, q->tx_sring, 1);
	if (q->rx_ring_granted && !pvio_gnttab_end(nf->dom, q->rx_ring_ref))
		pvio_dom_free_pages(nf->dom, q->rx_sring, 1);
	q->tx_ring_granted = q->rx_ring_granted = false;
	q->tx_sring = q->rx_sring = NULL;
}

int netfront_fd(struct netfront *nf, unsigned int q)
{
	return q < nf->nr_queues ? nf->queues[q].epfd : -EINVAL;
}

void netfront_ack(struct netfront *nf, unsigned int qi)
{
	struct netfront_queue *q = &nf->queues[qi];
	uint64_t v;

	/* the control eventfd only fires on reconnects: skip the syscall */
	if (atomic_exchange(&q->ctl_pending, false) &&
	    read(q->ctl_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		perror("netfront: ack");
	pthread_mutex_lock(&q->lock);
	if (q->up) {
		pvio_evtchn_ack(nf->hv, q->port_tx);
		if (q->port_rx != q->port_tx)
			pvio_evtchn_ack(nf->hv, q->port_rx);
	}
	pthread_mutex_unlock(&q->lock);
}

/* Reclaim answered tx requests. */
static void tx_gc(struct netfront_queue *q)
{
	uint32_t prod = PVIO_READ_ONCE(q->tx.sring->rsp_prod);

	PVIO_RMB();	/* responses read after the index that covers them */
	if (!pvio_front_rsp_prod_ok(&q->tx, prod)) {
		q->tx_errors++;
		return;
	}
	while (q->tx.rsp_cons != prod) {
		struct netif_tx_response r = *netif_tx_front_rsp(&q->tx,
							       q->tx.rsp_cons++);

		if (r.status == XEN_NETIF_RSP_NULL)
			continue;	/* an extra info slot */
		if (!netif_tx_rsp_id_ok(&r, NETFRONT_RING_ENTS) ||
		    !q->tx_busy[r.id]) {
			q->tx_errors++;
			continue;
		}
		if (r.status != XEN_NETIF_RSP_OKAY)
			q->tx_errors++;
		q->tx_busy[r.id] = 0;
		q->tx_free[q->tx_nfree++] = r.id;
	}
}

/* Check a frame's offload header; fills the first request's flags. */
static int tx_check(struct netfront *nf, const struct virtio_net_hdr *hdr,
		    size_t len, uint16_t *flags, bool *gso, unsigned int *ndata)
{
	*flags = 0;
	*gso = false;
	if (len < 14 || len > XEN_NETIF_MAX_TX_SIZE)
		return -EINVAL;
	if (hdr && hdr->gso_type != VIRTIO_NET_HDR_GSO_NONE) {
		uint8_t t = hdr->gso_type & ~VIRTIO_NET_HDR_GSO_ECN;

		if (!(hdr->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) || !hdr->gso_size ||
		    (t == VIRTIO_NET_HDR_GSO_TCPV4 && !nf->gso4) ||
		    (t == VIRTIO_NET_HDR_GSO_TCPV6 && !nf->gso6) ||
		    (t != VIRTIO_NET_HDR_GSO_TCPV4 && t != VIRTIO_NET_HDR_GSO_TCPV6))
			return -EINVAL;
		*gso = true;
	}
	if (hdr && (hdr->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM))
		*flags |= NETTXF_csum_blank | NETTXF_data_validated;
	else if (hdr && (hdr->flags & VIRTIO_NET_HDR_F_DATA_VALID))
		*flags |= NETTXF_data_validated;
	*ndata = (unsigned int)((len + PVIO_PAGE_SIZE - 1) / PVIO_PAGE_SIZE);
	if (*ndata > 1 && !nf->sg)
		return -EINVAL;
	return 0;
}

/* Make room for @ndata pages and @nslots ring slots; under q->lock. */
static int tx_room(struct netfront_queue *q, unsigned int ndata,
		   unsigned int nslots)
{
	if (!q->up)
		return -ENOTCONN;
	tx_gc(q);
	if (q->tx_nfree >= ndata && pvio_front_free(&q->tx) >= nslots)
		return 0;
	/* ask for a notification when answers arrive, then look again */
	if (pvio_front_final_check(&q->tx))
		tx_gc(q);
	if (q->tx_nfree >= ndata && pvio_front_free(&q->tx) >= nslots)
		return 0;
	return -EAGAIN;
}

/* Put a frame held in pages @ids on the ring and push; under q->lock. */
static void tx_queue(struct netfront_queue *q, const uint16_t *ids,
		     unsigned int ndata, size_t len, uint16_t flags, bool gso,
		     const struct virtio_net_hdr *hdr)
{
	for (unsigned int s = 0; s < ndata; s++) {
		uint16_t id = ids[s];
		size_t chunk = len - (size_t)s * PVIO_PAGE_SIZE;
		struct netif_tx_request *r;

		if (chunk > PVIO_PAGE_SIZE)
			chunk = PVIO_PAGE_SIZE;
		q->tx_busy[id] = 1;
		r = &netif_tx_front_req(&q->tx, q->tx.req_prod_pvt++)->req;
		r->id = id;
		r->gref = q->tx_ref[id];
		r->offset = 0;
		r->size = (uint16_t)(s == 0 ? len : chunk);
		r->flags = (uint16_t)((s == 0 ? flags : 0) |
				      (s + 1 < ndata ? NETTXF_more_data : 0) |
				      (s == 0 && gso ? NETTXF_extra_info : 0));
		if (s == 0 && gso) {
			union netif_tx_slot *x =
				netif_tx_front_req(&q->tx, q->tx.req_prod_pvt++);

			memset(&x->extra, 0, sizeof(x->extra));
			x->extra.type = XEN_NETIF_EXTRA_TYPE_GSO;
			x->extra.u.gso.size = hdr->gso_size;
			x->extra.u.gso.type =
				(hdr->gso_type & ~VIRTIO_NET_HDR_GSO_ECN) ==
				VIRTIO_NET_HDR_GSO_TCPV4 ?
				XEN_NETIF_GSO_TYPE_TCPV4 : XEN_NETIF_GSO_TYPE_TCPV6;
		}
	}
	q->tx_packets++;
	q->tx_bytes += len;
	if (pvio_front_push(&q->tx))
		pvio_evtchn_notify(q->nf->hv, q->port_tx);
}

int netfront_send(struct netfront *nf, unsigned int qi,
		  const struct virtio_net_hdr *hdr, const struct iovec *iov,
		  int iovcnt)
{
	struct netfront_queue *q;
	uint16_t ids[NETFRONT_TX_PAGES_MAX], flags;
	size_t len = 0, ivoff = 0;
	unsigned int ndata, iv = 0;
	bool gso;
	int ret;

	if (qi >= nf->nr_queues || iovcnt < 0)
		return -EINVAL;
	q = &nf->queues[qi];
	for (int i = 0; i < iovcnt; i++)
		len += iov[i].iov_len;
	ret = tx_check(nf, hdr, len, &flags, &gso, &ndata);
	if (ret)
		return ret;
	pthread_mutex_lock(&q->lock);
	ret = tx_room(q, ndata, ndata + (gso ? 1 : 0));
	if (ret)
		goto out;
	for (unsigned int s = 0; s < ndata; s++) {
		uint8_t *page;
		size_t chunk = len - (size_t)s * PVIO_PAGE_SIZE, got = 0;

		ids[s] = q->tx_free[--q->tx_nfree];
		page = q->tx_page[ids[s]];
		if (chunk > PVIO_PAGE_SIZE)
			chunk = PVIO_PAGE_SIZE;
		while (got < chunk) {
			size_t take = iov[iv].iov_len - ivoff;

			if (take > chunk - got)
				take = chunk - got;
			memcpy(page + got, (const uint8_t *)iov[iv].iov_base + ivoff,
			       take);
			got += take;
			ivoff += take;
			if (ivoff == iov[iv].iov_len) {
				iv++;
				ivoff = 0;
			}
		}
	}
	tx_queue(q, ids, ndata, len, flags, gso, hdr);
out:
	pthread_mutex_unlock(&q->lock);
	return ret;
}

int netfront_tx_borrow(struct netfront *nf, unsigned int qi,
		       struct iovec *iov, unsigned int max)
{
	struct netfront_queue *q;
	int ret;

	if (qi >= nf->nr_queues || max < NETFRONT_TX_PAGES_MAX)
		return -EINVAL;
	q = &nf->queues[qi];
	pthread_mutex_lock(&q->lock);
	if (q->nborrow) {
		ret = -EBUSY;
		goto out;
	}
	ret = tx_room(q, NETFRONT_TX_PAGES_MAX, NETFRONT_TX_PAGES_MAX + 1);
	if (ret)
		goto out;
	for (unsigned int i = 0; i < NETFRONT_TX_PAGES_MAX; i++) {
		q->borrow[i] = q->tx_free[--q->tx_nfree];
		iov[i].iov_base = q->tx_page[q->borrow[i]];
		iov[i].iov_len = PVIO_PAGE_SIZE;
	}
	q->nborrow = NETFRONT_TX_PAGES_MAX;
	q->borrow_gen = q->gen;
	ret = NETFRONT_TX_PAGES_MAX;
out:
	pthread_mutex_unlock(&q->lock);
	return ret;
}

int netfront_tx_commit(struct netfront *nf, unsigned int qi,
		       const struct virtio_net_hdr *hdr, size_t len)
{
	struct netfront_queue *q;
	unsigned int ndata = 0, keep = 0;
	uint16_t flags;
	bool gso;
	int ret;

	if (qi >= nf->nr_queues)
		return -EINVAL;
	q = &nf->queues[qi];
	pthread_mutex_lock(&q->lock);
	if (!q->nborrow) {
		ret = -EINVAL;
		goto out;
	}
	if (q->borrow_gen != q->gen || !q->up) {
		/* a reconnect rebuilt the free list: the loan is void */
		q->nborrow = 0;
		ret = -ENOTCONN;
		goto out;
	}
	ret = tx_check(nf, hdr, len, &flags, &gso, &ndata);
	if (!ret && (ndata > q->nborrow ||
		     pvio_front_free(&q->tx) < ndata + (gso ? 1 : 0)))
		ret = -EINVAL;
	if (!ret) {
		tx_queue(q, q->borrow, ndata, len, flags, gso, hdr);
		keep = ndata;
	}
	/* pages not used go back, last borrowed first */
	for (unsigned int i = q->nborrow; i-- > keep;)
		q->tx_free[q->tx_nfree++] = q->borrow[i];
	q->nborrow = 0;
out:
	pthread_mutex_unlock(&q->lock);
	return ret;
}

/* Slots of the response chain starting at rsp_cons, or 0 if incomplete. */
static unsigned int rx_chain(struct netfront_queue *q, uint32_t prod,
			     bool *bad)
{
	uint32_t i = q->rx.rsp_cons;
	union netif_rx_slot s;
	bool more;

	*bad = false;
	if (i == prod)
		return 0;
	s = *netif_rx_front_rsp(&q->rx, i++);
	more = s.rsp.flags & NETRXF_more_data;
	if (s.rsp.flags & NETRXF_extra_info) {
		bool xmore;

		do {
			if (i == prod)
				return 0;
			s = *netif_rx_front_rsp(&q->rx, i++);
			xmore = s.extra.flags & XEN_NETIF_EXTRA_FLAG_MORE;
			if (i - q->rx.rsp_cons > 1 + NETFRONT_RX_MAX_EXTRAS)
				*bad = true;
		} while (xmore && !*bad);
	}
	while (more && !*bad) {
		if (i == prod)
			return 0;
		s = *netif_rx_front_rsp(&q->rx, i++);
		more = s.rsp.flags & NETRXF_more_data;
		if (i - q->rx.rsp_cons > NETFRONT_RX_IOV_MAX)
			*bad = true;
	}
	return i - q->rx.rsp_cons;
}

/* Consume @n response slots and repost their pages; under q->lock. */
static void rx_consume(struct netfront_queue *q, unsigned int n)
{
	q->rx.rsp_cons += n;
	rx_post(q);
}

int netfront_rx_peek(struct netfront *nf, unsigned int qi,
		     struct virtio_net_hdr *hdr, struct iovec *iov,
		     unsigned int max)
{
	struct netfront_queue *q;
	uint32_t prod, i, end;
	unsigned int n, niov;
	size_t total;
	uint16_t flags0;
	struct netif_extra_info gso = { 0 };
	bool bad, have_gso, in_extra;
	unsigned int nextra;
	int ret;

	if (qi >= nf->nr_queues)
		return -EINVAL;
	q = &nf->queues[qi];
	pthread_mutex_lock(&q->lock);
	if (!q->up) {
		ret = -EAGAIN;
		goto out;
	}
	if (q->npeek)
		rx_consume(q, q->npeek);	/* a peek never released */
	q->npeek = 0;
again:
	prod = PVIO_READ_ONCE(q->rx.sring->rsp_prod);
	PVIO_RMB();	/* responses read after the index that covers them */
	if (!pvio_front_rsp_prod_ok(&q->rx, prod)) {
		q->rx_errors++;
		ret = -EIO;
		goto out;
	}
	n = rx_chain(q, prod, &bad);
	if (!n && prod != q->rx.rsp_cons &&
	    prod - q->rx.rsp_cons == q->rx.req_prod_pvt - q->rx.rsp_cons) {
		/* every posted page answered, the chain still open: never ends */
		q->rx_errors++;
		rx_consume(q, prod - q->rx.rsp_cons);
		goto again;
	}
	if (!n) {
		/*
		 * Nothing, or a chain the backend has not published whole:
		 * ask to be told when more comes and look once more. Asking
		 * "is anything unconsumed" would spin on the partial chain.
		 */
		PVIO_WRITE_ONCE(q->rx.sring->rsp_event, prod + 1);
		PVIO_MB();	/* event visible before the second look */
		if (PVIO_READ_ONCE(q->rx.sring->rsp_prod) != prod)
			goto again;
		ret = -EAGAIN;
		goto out;
	}
	end = q->rx.rsp_cons + n;
	niov = 0;
	total = 0;
	flags0 = 0;
	have_gso = false;
	in_extra = false;
	nextra = 0;
	for (i = q->rx.rsp_cons; i != end && !bad; i++) {
		union netif_rx_slot s = *netif_rx_front_rsp(&q->rx, i);

		if (in_extra) {
			/* the extras follow the first data slot */
			if (!netif_rx_extra_ok(&s.extra, ++nextra,
					       NETFRONT_RX_MAX_EXTRAS)) {
				bad = true;
				break;
			}
			if (s.extra.type == XEN_NETIF_EXTRA_TYPE_GSO) {
				gso = s.extra;
				have_gso = true;
			}
			in_extra = s.extra.flags & XEN_NETIF_EXTRA_FLAG_MORE;
			continue;
		}
		if (i == q->rx.rsp_cons) {
			flags0 = s.rsp.flags;
			in_extra = flags0 & NETRXF_extra_info;
		}
		if (niov >= max || !netif_rx_rsp_data_ok(&s.rsp, PVIO_PAGE_SIZE)) {
			bad = true;
			break;
		}
		iov[niov].iov_base = q->rx_page[i & RING_MASK] + s.rsp.offset;
		iov[niov].iov_len = (size_t)s.rsp.status;
		total += (size_t)s.rsp.status;
		niov++;
	}
	if (bad || total < 14 || iov[0].iov_len < 14) {
		q->rx_errors++;
		rx_consume(q, n);
		goto again;
	}
	memset(hdr, 0, sizeof(*hdr));
	hdr->gso_type = VIRTIO_NET_HDR_GSO_NONE;
	if (flags0 & NETRXF_csum_blank) {
		uint16_t start, off, hlen;
		uint8_t proto;

		/* the headers sit in the first slot */
		if (netif_csum_locate(iov[0].iov_base, iov[0].iov_len, &start,
					 &off, &hlen, &proto)) {
			q->rx_errors++;
			rx_consume(q, n);
			goto again;
		}
		hdr->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
		hdr->csum_start = start;
		hdr->csum_offset = off;
		hdr->hdr_len = hlen;
		if (have_gso && gso.u.gso.size &&
		    (gso.u.gso.type == XEN_NETIF_GSO_TYPE_TCPV4 ||
		     gso.u.gso.type == XEN_NETIF_GSO_TYPE_TCPV6)) {
			hdr->gso_type = gso.u.gso.type == XEN_NETIF_GSO_TYPE_TCPV4 ?
				VIRTIO_NET_HDR_GSO_TCPV4 : VIRTIO_NET_HDR_GSO_TCPV6;
			hdr->gso_size = gso.u.gso.size;
		}
	} else if (flags0 & NETRXF_data_validated) {
		hdr->flags = VIRTIO_NET_HDR_F_DATA_VALID;
	}
	q->rx_packets++;
	q->rx_bytes += total;
	q->npeek = n;
	q->peek_gen = q->gen;
	ret = (int)niov;
out:
	pthread_mutex_unlock(&q->lock);
	return ret;
}

void netfront_rx_release(struct netfront *nf, unsigned int qi)
{
	struct netfront_queue *q = &nf->queues[qi];

	pthread_mutex_lock(&q->lock);
	/* after a reconnect the ring is new and every page was reposted */
	if (q->npeek && q->peek_gen == q->gen && q->up)
		rx_consume(q, q->npeek);
	q->npeek = 0;
	pthread_mutex_unlock(&q->lock);
}

int netfront_recv(struct netfront *nf, unsigned int qi,
		  struct virtio_net_hdr *hdr, void *buf, size_t len)
{
	struct iovec iov[NETFRONT_RX_IOV_MAX];
	size_t total = 0;
	int n = netfront_rx_peek(nf, qi, hdr, iov, NETFRONT_RX_IOV_MAX);

	if (n < 0)
		return n;
	for (int i = 0; i < n; i++) {
		if (total + iov[i].iov_len > len) {
			netfront_rx_release(nf, qi);
			return -EMSGSIZE;
		}
		memcpy((uint8_t *)buf + total, iov[i].iov_base, iov[i].iov_len);
		total += iov[i].iov_len;
	}
	netfront_rx_release(nf, qi);
	return (int)total;
}

/* ---- raw access for tests of the backend ---- */

int netfront_test_tx_raw(struct netfront *nf, unsigned int qi,
			 const union netif_tx_slot *slots, unsigned int n)
{
	struct netfront_queue *q = &nf->queues[qi];
	int ret = 0;

	pthread_mutex_lock(&q->lock);
	if (!q->up) {
		ret = -ENOTCONN;
	} else if (pvio_front_free(&q->tx) < n) {
		ret = -EAGAIN;
	} else {
		for (unsigned int i = 0; i < n; i++)
			*netif_tx_front_req(&q->tx, q->tx.req_prod_pvt++) =
				slots[i];
		if (pvio_front_push(&q->tx))
			pvio_evtchn_notify(nf->hv, q->port_tx);
	}
	pthread_mutex_unlock(&q->lock);
	return ret;
}

int netfront_test_tx_responses(struct netfront *nf, unsigned int qi,
			       struct netif_tx_response *rsp, unsigned int max)
{
	struct netfront_queue *q = &nf->queues[qi];
	unsigned int n = 0;
	uint32_t prod;

	pthread_mutex_lock(&q->lock);
	if (q->up) {
		prod = PVIO_READ_ONCE(q->tx.sring->rsp_prod);
		PVIO_RMB();
		while (q->tx.rsp_cons != prod && n < max &&
		       pvio_front_rsp_prod_ok(&q->tx, prod))
			rsp[n++] = *netif_tx_front_rsp(&q->tx, q->tx.rsp_cons++);
	}
	pthread_mutex_unlock(&q->lock);
	return (int)n;
}

uint32_t netfront_test_tx_page(struct netfront *nf, unsigned int qi,
			       unsigned int i, void **addr)
{
	struct netfront_queue *q = &nf->queues[qi];

	i &= RING_MASK;
	if (addr)
		*addr = q->tx_page[i];
	return q->tx_ref[i];
}

void netfront_test_set_tx_prod(struct netfront *nf, unsigned int qi,
			       uint32_t prod)
{
	struct netfront_queue *q = &nf->queues[qi];

	pthread_mutex_lock(&q->lock);
	if (q->up) {
		PVIO_WRITE_ONCE(q->tx.sring->req_prod, prod);
		pvio_evtchn_notify(nf->hv, q->port_tx);
	}
	pthread_mutex_unlock(&q->lock);
}
