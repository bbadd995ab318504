// SPDX-License-Identifier: GPL-2.0
/*
 * pvio_netfront data path: per-queue rings, grants and event channels;
 * transmit (skb pages granted read-only to the backend, one slot per page
 * piece, a GSO extra slot), NAPI poll (tx completions, rx packets built
 * from the granted rx pages without copying) and rx refill.
 *
 * The backend is not trusted: every response is copied out of the ring
 * once and checked (ring index range, ids, status, offset and size within
 * the page, chain length, extra info type) before anything is touched. A
 * bad packet is dropped and counted; a bad ring index or id stops the
 * queue (it is "broken") but never the guest.
 */
#include <linux/etherdevice.h>
#include <linux/if_vlan.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/slab.h>
#include <linux/delay.h>
#include <net/ip.h>
#include "netfront.h"
#include "netif_rsp.h"

/* ring slots a stopped tx queue needs before it is woken again */
#define TX_WAKE_SLOTS	(NETFRONT_TX_MAX_SLOTS + 1)

static void queue_break(struct netfront_queue *q, const char *why, u32 a,
			u32 b)
{
	if (!q->broken)
		netdev_err(q->info->netdev,
			   "queue %u: backend broke the protocol (%s: %u, %u); queue stopped\n",
			   q->id, why, a, b);
	q->broken = true;
}

/*
 * As pvio_blkfront's: queue i's events on CPU i, so that a queue's NAPI
 * poll runs where its flows' senders and receivers are spread, not every
 * queue on vCPU 0 (docs/guest.md has the measurements behind the default).
 */
static bool queue_vcpu = true;
module_param(queue_vcpu, bool, 0444);
MODULE_PARM_DESC(queue_vcpu, "take queue i's events on CPU i (default: on; off: all on vCPU 0)");

/*
 * Revoke a grant, its ref joining @freed (the caller gives the set back).
 * While the backend still has the page mapped, wait a little if we may
 * sleep, then give up: the caller must then leak the page (never hand it
 * back while another domain can touch it).
 */
static bool end_grant_to(struct pvio_gnttab_refs *freed, int ref,
			 bool may_sleep)
{
	int i, ret;

	if (ref < 0)
		return true;
	for (i = 0; i < 100; i++) {
		ret = pvio_gnttab_refs_end(freed, ref);
		if (ret != -EBUSY)
			return ret == 0;
		if (!may_sleep)
			break;
		usleep_range(10000, 20000);
	}
	pr_warn_ratelimited("pvio_netfront: grant %d still in use by the backend, page leaked\n",
			    ref);
	return false;
}

/* The same for one grant, its ref freed at once. */
static bool end_grant(int ref, bool may_sleep)
{
	struct pvio_gnttab_refs freed = PVIO_GNTTAB_REFS_INIT;
	bool ended = end_grant_to(&freed, ref, may_sleep);

	pvio_gnttab_refs_put(&freed);
	return ended;
}

/* ---- tx ---- */

static void tx_slots_init(struct netfront_queue *q)
{
	unsigned int i;

	for (i = 0; i < NETFRONT_TX_RING_SIZE; i++) {
		q->tx_slots[i].skb = NULL;
		q->tx_slots[i].gref = NETFRONT_NO_GREF;
		q->tx_slots[i].next_free = i + 1;
	}
	q->tx_free_head = 0;
	q->tx_nr_free = NETFRONT_TX_RING_SIZE;
}

static u16 tx_get_id(struct netfront_queue *q)
{
	u16 id = q->tx_free_head;

	q->tx_free_head = q->tx_slots[id].next_free;
	q->tx_nr_free--;
	return id;
}

static void tx_put_id(struct netfront_queue *q, u16 id)
{
	q->tx_slots[id].skb = NULL;
	q->tx_slots[id].page = NULL;
	q->tx_slots[id].gref = NETFRONT_NO_GREF;
	q->tx_slots[id].next_free = q->tx_free_head;
	q->tx_free_head = id;
	q->tx_nr_free++;
}

/*
 * Release slot @id: revoke its grant (its ref joins @freed, which the
 * caller gives back once for all its slots), drop its skb reference.
 */
static void tx_release(struct netfront_queue *q, u16 id, bool may_sleep,
		       struct pvio_gnttab_refs *freed, int budget)
{
	struct netfront_tx_slot *s = &q->tx_slots[id];

	/* a page the backend still holds must not be reused: keep a ref */
	if (!end_grant_to(freed, s->gref, may_sleep))
		get_page(s->page);
	if (may_sleep)
		dev_kfree_skb(s->skb);
	else
		napi_consume_skb(s->skb, budget);
	tx_put_id(q, id);
}

struct tx_piece {
	struct page *page;
	u16 off;
	u16 len;
};

static int tx_add_range(struct tx_piece *p, int n, struct page *page,
			unsigned long off, unsigned int len)
{
	page += off >> PAGE_SHIFT;
	off &= ~PAGE_MASK;
	while (len) {
		unsigned int chunk = min_t(unsigned int, len, PAGE_SIZE - off);

		if (n >= NETFRONT_TX_MAX_SLOTS)
			return -E2BIG;
		p[n].page = page;
		p[n].off = off;
		p[n].len = chunk;
		n++;
		len -= chunk;
		off = 0;
		page++;
	}
	return n;
}

/* Split @skb into page pieces: the count, or -E2BIG past the slot limit. */
static int tx_pieces(struct sk_buff *skb, struct tx_piece *p)
{
	unsigned int i;
	int n = 0;

	if (skb_headlen(skb)) {
		n = tx_add_range(p, n, virt_to_page(skb->data),
				 offset_in_page(skb->data), skb_headlen(skb));
		if (n < 0)
			return n;
	}
	for (i = 0; i < skb_shinfo(skb)->nr_frags; i++) {
		const skb_frag_t *f = &skb_shinfo(skb)->frags[i];

		n = tx_add_range(p, n, skb_frag_page(f), skb_frag_off(f),
				 skb_frag_size(f));
		if (n < 0)
			return n;
	}
	return n;
}

static bool tx_has_room(struct netfront_queue *q, unsigned int slots)
{
	return pvio_front_free(&q->tx) >= slots + 1 && q->tx_nr_free >= slots;
}

netdev_tx_t netfront_start_xmit(struct sk_buff *skb, struct net_device *dev)
{
	struct netfront_info *info = netdev_priv(dev);
	struct tx_piece pieces[NETFRONT_TX_MAX_SLOTS];
	int refs[NETFRONT_TX_MAX_SLOTS];
	struct pvio_gnttab_refs grants = PVIO_GNTTAB_REFS_INIT;
	struct netfront_queue *q;
	struct netdev_queue *txq;
	u16 qid = skb_get_queue_mapping(skb);
	unsigned int len = skb->len;
	bool gso = skb_is_gso(skb);
	u16 flags = 0;
	int n, i;

	if (unlikely(!READ_ONCE(info->connected) || !info->nr_queues)) {
		dev_kfree_skb_any(skb);
		return NETDEV_TX_OK;
	}
	q = &info->queues[qid % info->nr_queues];
	txq = netdev_get_tx_queue(dev, qid);
	if (unlikely(q->broken || len > XEN_NETIF_MAX_TX_SIZE ||
		     len < ETH_HLEN))
		goto drop;
	if (gso && !(skb_shinfo(skb)->gso_type &
		     (SKB_GSO_TCPV4 | SKB_GSO_TCPV6)))
		goto drop;

	n = tx_pieces(skb, pieces);
	if (n < 0) {
		/* too fragmented for one packet: one linear buffer fits */
		if (skb_linearize(skb))
			goto drop;
		n = tx_pieces(skb, pieces);
		if (n < 0)
			goto drop;
	}

	/*
	 * grants first, every piece's ref taken at once: running out of refs
	 * then costs only this packet
	 */
	if (pvio_gnttab_refs_take(&grants, n))
		goto drop;
	for (i = 0; i < n; i++) {
		unsigned long gfn = pvio_page_to_gfn(pieces[i].page);

		refs[i] = pvio_gnttab_refs_grant(&grants,
						 info->pdev->otherend_id, gfn,
						 true);
		if (refs[i] < 0) {
			while (i--)
				end_grant_to(&grants, refs[i], false);
			pvio_gnttab_refs_put(&grants);
			goto drop;
		}
	}

	if (skb->ip_summed == CHECKSUM_PARTIAL)
		flags = NETTXF_csum_blank | NETTXF_data_validated;
	else if (skb->ip_summed == CHECKSUM_UNNECESSARY)
		flags = NETTXF_data_validated;

	spin_lock(&q->tx_lock);
	if (unlikely(!tx_has_room(q, n))) {
		netif_tx_stop_queue(txq);
		spin_unlock(&q->tx_lock);
		/* never published: nobody can have them mapped */
		for (i = 0; i < n; i++)
			end_grant_to(&grants, refs[i], false);
		pvio_gnttab_refs_put(&grants);
		return NETDEV_TX_BUSY;
	}
	skb_tx_timestamp(skb);
	for (i = 0; i < n; i++) {
		struct netif_tx_request *req;
		u16 id = tx_get_id(q);

		/* every slot holds a reference: answers may come in any order */
		q->tx_slots[id].skb = i ? skb_get(skb) : skb;
		q->tx_slots[id].page = pieces[i].page;
		q->tx_slots[id].gref = refs[i];

		req = &netif_tx_front_req(&q->tx, q->tx.req_prod_pvt++)->req;
		req->gref = refs[i];
		req->offset = pieces[i].off;
		req->id = id;
		req->flags = i + 1 < n ? NETTXF_more_data : 0;
		if (i) {
			req->size = pieces[i].len;
			continue;
		}
		req->flags |= flags;
		req->size = len;
		if (gso) {
			struct netif_extra_info *ex;

			req->flags |= NETTXF_extra_info;
			ex = &netif_tx_front_req(&q->tx,
						 q->tx.req_prod_pvt++)->extra;
			memset(ex, 0, sizeof(*ex));
			ex->type = XEN_NETIF_EXTRA_TYPE_GSO;
			ex->u.gso.size = skb_shinfo(skb)->gso_size;
			ex->u.gso.type = (skb_shinfo(skb)->gso_type &
					  SKB_GSO_TCPV6) ?
				XEN_NETIF_GSO_TYPE_TCPV6 :
				XEN_NETIF_GSO_TYPE_TCPV4;
		}
	}
	if (pvio_front_push(&q->tx))
		pvio_evtchn_notify(q->tx_port);
	if (!tx_has_room(q, NETFRONT_TX_MAX_SLOTS + 1))
		netif_tx_stop_queue(txq);
	spin_unlock(&q->tx_lock);

	u64_stats_update_begin(&q->st->tx.syncp);
	q->st->tx.packets++;
	q->st->tx.bytes += len;
	u64_stats_update_end(&q->st->tx.syncp);
	return NETDEV_TX_OK;

drop:
	atomic64_inc(&q->st->tx_dropped);
	dev_kfree_skb_any(skb);
	return NETDEV_TX_OK;
}

/* Collect tx responses; called by NAPI with tx_lock free. */
static void tx_complete(struct netfront_queue *q, int budget)
{
	struct netdev_queue *txq = netdev_get_tx_queue(q->info->netdev, q->id);
	struct pvio_gnttab_refs freed = PVIO_GNTTAB_REFS_INIT;
	u32 prod, cons;

	spin_lock(&q->tx_lock);
	prod = READ_ONCE(q->tx.sring->rsp_prod);
	virt_rmb();	/* responses are read after the index covering them */
	if (!pvio_front_rsp_prod_ok(&q->tx, prod)) {
		queue_break(q, "tx rsp_prod", prod, q->tx.rsp_cons);
		goto out;
	}
	for (cons = q->tx.rsp_cons; cons != prod; cons++) {
		struct netif_tx_response r;

		netif_tx_front_copy_rsp(&q->tx, cons, &r);

		if (r.status == XEN_NETIF_RSP_NULL)
			continue;	/* answer to an extra info slot */
		if (!netif_tx_rsp_id_ok(&r, NETFRONT_TX_RING_SIZE) ||
		    !q->tx_slots[r.id].skb) {
			q->tx.rsp_cons = cons + 1;
			queue_break(q, "tx response id", r.id, cons);
			goto out;
		}
		if (r.status != XEN_NETIF_RSP_OKAY)
			atomic64_inc(&q->st->tx_errors);
		tx_release(q, r.id, false, &freed, budget);
	}
	q->tx.rsp_cons = cons;
	if (unlikely(netif_tx_queue_stopped(txq)) &&
	    tx_has_room(q, NETFRONT_TX_MAX_SLOTS + 1) &&
	    READ_ONCE(q->info->connected))
		netif_tx_wake_queue(txq);
out:
	spin_unlock(&q->tx_lock);
	/* every answered slot's ref back to the free list at once */
	pvio_gnttab_refs_put(&freed);
}

/* ---- rx ---- */

static void rx_refill(struct netfront_queue *q)
{
	u32 posted = 0;

	while (q->rx.req_prod_pvt - q->rx.rsp_cons < q->rx.nr_ents) {
		u32 idx = q->rx.req_prod_pvt & (NETFRONT_RX_RING_SIZE - 1);
		struct netif_rx_request *req;

		if (!q->rx_pages[idx]) {
			struct page *page = alloc_page(GFP_ATOMIC | __GFP_NOWARN);
			int ref;

			if (!page)
				goto retry_later;
			ref = pvio_gnttab_grant_access(q->info->pdev->otherend_id,
						       pvio_page_to_gfn(page),
						       false);
			if (ref < 0) {
				__free_page(page);
				goto retry_later;
			}
			q->rx_pages[idx] = page;
			q->rx_grefs[idx] = ref;
		}
		req = netif_rx_front_req(&q->rx, q->rx.req_prod_pvt++);
		req->id = idx;
		req->pad = 0;
		req->gref = q->rx_grefs[idx];
		posted++;
	}
	goto push;
retry_later:
	mod_timer(&q->rx_refill_timer, jiffies + HZ / 10);
push:
	if (posted && pvio_front_push(&q->rx))
		pvio_evtchn_notify(q->rx_port);
}

static void rx_refill_timer_fn(struct timer_list *t)
{
	struct netfront_queue *q = from_timer(q, t, rx_refill_timer);

	napi_schedule(&q->napi);
}

/* A received packet as described by its responses (copied, validated). */
struct rx_packet {
	u32 idx[MAX_SKB_FRAGS];		/* ring positions of data slots */
	u16 off[MAX_SKB_FRAGS];
	u16 len[MAX_SKB_FRAGS];
	unsigned int ndata;
	unsigned int total;
	u16 flags;			/* of the first slot */
	u16 gso_size;
	u8 gso_type;
	bool bad;
};

/*
 * Parse the packet starting at rsp_cons without consuming it. Returns
 * the responses it spans, or 0 while its chain is incomplete.
 */
static u32 rx_parse(struct netfront_queue *q, u32 prod, struct rx_packet *p)
{
	u32 i = q->rx.rsp_cons;
	unsigned int extras = 0;
	union netif_rx_slot slot;
	struct netif_rx_response r;
	bool more;

	p->ndata = 0;
	p->total = 0;
	p->gso_size = 0;
	p->gso_type = XEN_NETIF_GSO_TYPE_NONE;
	p->bad = false;

	netif_rx_front_copy_rsp(&q->rx, i++, &slot);
	r = slot.rsp;
	p->flags = r.flags;
	more = r.flags & NETRXF_more_data;
	for (;;) {
		/* one data slot in r at ring position i - 1 */
		if (!netif_rx_rsp_data_ok(&r, PAGE_SIZE)) {
			p->bad = true;
		} else if (p->ndata >= MAX_SKB_FRAGS) {
			p->bad = true;
		} else if (!p->bad) {
			p->idx[p->ndata] = i - 1;
			p->off[p->ndata] = r.offset;
			p->len[p->ndata] = r.status;
			p->ndata++;
			p->total += r.status;
		}
		if (i - 1 == q->rx.rsp_cons && (p->flags & NETRXF_extra_info)) {
			struct netif_extra_info ex;

			do {
				if (i == prod)
					return 0;
				netif_rx_front_copy_rsp(&q->rx, i++, &slot);
				ex = slot.extra;
				if (!netif_rx_extra_ok(&ex, ++extras,
						       NETFRONT_RX_MAX_EXTRAS)) {
					p->bad = true;
					break;
				}
				if (ex.type == XEN_NETIF_EXTRA_TYPE_GSO) {
					p->gso_size = ex.u.gso.size;
					p->gso_type = ex.u.gso.type;
				}
			} while (ex.flags & XEN_NETIF_EXTRA_FLAG_MORE);
		}
		if (!more)
			break;
		if (i == prod)
			return 0;
		netif_rx_front_copy_rsp(&q->rx, i++, &slot);
		r = slot.rsp;
		more = r.flags & NETRXF_more_data;
	}
	if (!p->ndata || p->total < ETH_HLEN)
		p->bad = true;
	return i - q->rx.rsp_cons;
}

/* Build an skb from a parsed packet; NULL if it must be dropped. */
static struct sk_buff *rx_build(struct netfront_queue *q, struct rx_packet *p)
{
	struct sk_buff *skb;
	unsigned int i;

	if (p->total <= NETFRONT_RX_COPYBREAK && p->ndata == 1) {
		/* small: copy, the page stays granted and is reposted */
		u32 idx = p->idx[0] & (NETFRONT_RX_RING_SIZE - 1);

		skb = napi_alloc_skb(&q->napi, p->total);
		if (!skb)
			return NULL;
		skb_put_data(skb, page_address(q->rx_pages[idx]) + p->off[0],
			     p->total);
		return skb;
	}

	skb = napi_alloc_skb(&q->napi, NETFRONT_RX_PULL);
	if (!skb)
		return NULL;
	for (i = 0; i < p->ndata; i++) {
		u32 idx = p->idx[i] & (NETFRONT_RX_RING_SIZE - 1);
		struct page *page = q->rx_pages[idx];

		/* the page becomes the stack's: take it back from the backend */
		if (!end_grant(q->rx_grefs[idx], false)) {
			q->rx_pages[idx] = NULL;	/* leaked on purpose */
			q->rx_grefs[idx] = NETFRONT_NO_GREF;
			kfree_skb(skb);
			return NULL;
		}
		q->rx_pages[idx] = NULL;
		q->rx_grefs[idx] = NETFRONT_NO_GREF;
		skb_add_rx_frag(skb, i, page, p->off[i], p->len[i], PAGE_SIZE);
	}
	__pskb_pull_tail(skb, min_t(unsigned int, skb->len, NETFRONT_RX_PULL));
	return skb;
}

/* Checksum and GSO state from the packet's flags and extra info. */
static int rx_offloads(struct sk_buff *skb, struct rx_packet *p)
{
	if (p->flags & NETRXF_csum_blank) {
		/* the checksum field holds the pseudo-header sum */
		if (skb_checksum_setup(skb, false))
			return -EPROTO;
	} else if (p->flags & NETRXF_data_validated) {
		skb->ip_summed = CHECKSUM_UNNECESSARY;
	}
	if (p->gso_type != XEN_NETIF_GSO_TYPE_NONE) {
		if (skb->ip_summed != CHECKSUM_PARTIAL)
			return -EPROTO;
		skb_shinfo(skb)->gso_size = p->gso_size;
		skb_shinfo(skb)->gso_type =
			(p->gso_type == XEN_NETIF_GSO_TYPE_TCPV4 ?
			 SKB_GSO_TCPV4 : SKB_GSO_TCPV6) | SKB_GSO_DODGY;
		skb_shinfo(skb)->gso_segs = 0;
	}
	return 0;
}

static int rx_poll(struct netfront_queue *q, int budget)
{
	struct net_device *dev = q->info->netdev;
	struct rx_packet p;
	int done = 0;
	u32 prod;

	prod = READ_ONCE(q->rx.sring->rsp_prod);
	virt_rmb();	/* responses are read after the index covering them */
	if (!pvio_front_rsp_prod_ok(&q->rx, prod)) {
		queue_break(q, "rx rsp_prod", prod, q->rx.rsp_cons);
		return 0;
	}
	while (q->rx.rsp_cons != prod && done < budget) {
		struct sk_buff *skb;
		u32 n = rx_parse(q, prod, &p);

		if (!n) {
			/*
			 * Incomplete chain. If every posted buffer is already
			 * answered it can never complete: drop what is there.
			 */
			if (prod - q->rx.rsp_cons !=
			    q->rx.req_prod_pvt - q->rx.rsp_cons)
				break;
			atomic64_inc(&q->st->rx_errors);
			q->rx.rsp_cons = prod;
			break;
		}
		if (p.bad) {
			atomic64_inc(&q->st->rx_errors);
			q->rx.rsp_cons += n;
			done++;
			continue;
		}
		skb = rx_build(q, &p);
		q->rx.rsp_cons += n;
		done++;
		if (!skb) {
			atomic64_inc(&q->st->rx_dropped);
			continue;
		}
		skb->protocol = eth_type_trans(skb, dev);
		/* the checksum setup parses from the network header */
		skb_reset_network_header(skb);
		if (rx_offloads(skb, &p)) {
			atomic64_inc(&q->st->rx_errors);
			kfree_skb(skb);
			continue;
		}
		skb_record_rx_queue(skb, q->id);
		u64_stats_update_begin(&q->st->rx.syncp);
		q->st->rx.packets++;
		q->st->rx.bytes += p.total;
		u64_stats_update_end(&q->st->rx.syncp);
		napi_gro_receive(&q->napi, skb);
	}
	rx_refill(q);
	return done;
}

static int netfront_poll(struct napi_struct *napi, int budget)
{
	struct netfront_queue *q = container_of(napi, struct netfront_queue,
						napi);
	bool more;
	int done;

	if (unlikely(q->broken)) {
		napi_complete(napi);
		return 0;
	}
	tx_complete(q, budget);
	done = rx_poll(q, budget);
	if (done >= budget)
		return budget;
	if (!napi_complete_done(napi, done))
		return done;
	/* ask for an event on the next response of each ring, look again */
	spin_lock(&q->tx_lock);
	more = pvio_front_final_check(&q->tx);
	spin_unlock(&q->tx_lock);
	more |= pvio_front_final_check(&q->rx);
	if (more && !q->broken)
		napi_schedule(napi);
	return done;
}

static void netfront_event(pvio_evtchn_port_t port, void *data)
{
	struct netfront_queue *q = data;

	napi_schedule(&q->napi);
}

void netfront_get_stats64(struct net_device *dev, struct rtnl_link_stats64 *s)
{
	struct netfront_info *info = netdev_priv(dev);
	unsigned int i, start;

	/* counters live in info: they survive reconnections */
	for (i = 0; i < NETFRONT_MAX_QUEUES; i++) {
		struct netfront_qstats *st = &info->stats[i];
		u64 tp, tb, rp, rb;

		do {
			start = u64_stats_fetch_begin(&st->tx.syncp);
			tp = st->tx.packets;
			tb = st->tx.bytes;
		} while (u64_stats_fetch_retry(&st->tx.syncp, start));
		do {
			start = u64_stats_fetch_begin(&st->rx.syncp);
			rp = st->rx.packets;
			rb = st->rx.bytes;
		} while (u64_stats_fetch_retry(&st->rx.syncp, start));
		s->tx_packets += tp;
		s->tx_bytes += tb;
		s->rx_packets += rp;
		s->rx_bytes += rb;
		s->tx_dropped += atomic64_read(&st->tx_dropped);
		s->rx_dropped += atomic64_read(&st->rx_dropped);
		s->rx_errors += atomic64_read(&st->rx_errors);
		s->tx_errors += atomic64_read(&st->tx_errors);
	}
}

/* ---- queue setup and teardown ---- */

static int ring_alloc(struct netfront_queue *q, struct pvio_front_ring *r,
		      int *gref, u32 nr_ents)
{
	struct pvio_sring_hdr *s;
	int ref;

	s = (struct pvio_sring_hdr *)get_zeroed_page(GFP_KERNEL);
	if (!s)
		return -ENOMEM;
	pvio_sring_init(s);
	pvio_front_ring_init(r, s, nr_ents);
	ref = pvio_gnttab_grant_access(q->info->pdev->otherend_id,
				       pvio_page_to_gfn(virt_to_page(s)), false);
	if (ref < 0) {
		free_page((unsigned long)s);
		r->sring = NULL;
		return ref;
	}
	*gref = ref;
	return 0;
}

static void ring_free(struct pvio_front_ring *r, int *gref)
{
	if (!r->sring)
		return;
	/* a ring the backend still maps is leaked, never reused */
	if (end_grant(*gref, true))
		free_page((unsigned long)r->sring);
	r->sring = NULL;
	*gref = NETFRONT_NO_GREF;
}

/* Events of @q's ports to its handler (one port or a tx and an rx one). */
static int queue_bind(struct netfront_queue *q)
{
	int ret;

	ret = pvio_evtchn_bind_handler(q->tx_port, netfront_event, q);
	if (ret)
		return ret;
	q->tx_bound = true;
	if (q->rx_port != q->tx_port) {
		ret = pvio_evtchn_bind_handler(q->rx_port, netfront_event, q);
		if (ret)
			return ret;
	}
	q->rx_bound = true;
	return 0;
}

/* No event handler of ours runs on the queue's ports afterwards. */
static void queue_unbind(struct netfront_queue *q)
{
	if (q->tx_bound)
		pvio_evtchn_unbind_handler(q->tx_port);
	if (q->rx_bound && q->rx_port != q->tx_port)
		pvio_evtchn_unbind_handler(q->rx_port);
	q->tx_bound = false;
	q->rx_bound = false;
}

/* No refill, no port (closed; a port of the old host names nothing). */
static void queue_close_ports(struct netfront_queue *q)
{
	del_timer_sync(&q->rx_refill_timer);
	if (q->tx_port)
		pvio_evtchn_close(q->tx_port);
	if (q->rx_port && q->rx_port != q->tx_port)
		pvio_evtchn_close(q->rx_port);
	q->tx_port = 0;
	q->rx_port = 0;
}

static void queue_free(struct netfront_queue *q)
{
	struct pvio_gnttab_refs freed = PVIO_GNTTAB_REFS_INIT;
	unsigned int i;

	queue_unbind(q);
	if (q->napi_added) {
		netif_napi_del(&q->napi);
		q->napi_added = false;
	}
	queue_close_ports(q);

	/* packets in flight: their answers will never come */
	spin_lock_bh(&q->tx_lock);
	for (i = 0; i < NETFRONT_TX_RING_SIZE; i++) {
		if (!q->tx_slots[i].skb)
			continue;
		spin_unlock_bh(&q->tx_lock);
		tx_release(q, i, true, &freed, 0);
		spin_lock_bh(&q->tx_lock);
	}
	spin_unlock_bh(&q->tx_lock);
	for (i = 0; i < NETFRONT_RX_RING_SIZE; i++) {
		if (!q->rx_pages[i])
			continue;
		if (end_grant_to(&freed, q->rx_grefs[i], true))
			__free_page(q->rx_pages[i]);
		q->rx_pages[i] = NULL;
		q->rx_grefs[i] = NETFRONT_NO_GREF;
	}
	pvio_gnttab_refs_put(&freed);
	ring_free(&q->tx, &q->tx_ring_gref);
	ring_free(&q->rx, &q->rx_ring_gref);
}

static int queue_init(struct netfront_info *info, struct netfront_queue *q,
		      unsigned int id)
{
	pvio_domid_t be = info->pdev->otherend_id;
	unsigned int i, cpu;
	int ret;

	q->info = info;
	q->id = id;
	snprintf(q->name, sizeof(q->name), "%s-q%u", info->netdev->name, id);
	spin_lock_init(&q->tx_lock);
	timer_setup(&q->rx_refill_timer, rx_refill_timer_fn, 0);
	q->st = &info->stats[id];
	tx_slots_init(q);
	q->tx_ring_gref = NETFRONT_NO_GREF;
	q->rx_ring_gref = NETFRONT_NO_GREF;
	for (i = 0; i < NETFRONT_RX_RING_SIZE; i++)
		q->rx_grefs[i] = NETFRONT_NO_GREF;

	ret = ring_alloc(q, &q->tx, &q->tx_ring_gref, NETFRONT_TX_RING_SIZE);
	if (ret)
		return ret;
	ret = ring_alloc(q, &q->rx, &q->rx_ring_gref, NETFRONT_RX_RING_SIZE);
	if (ret)
		return ret;
	/* with queue_vcpu, queue i's events are taken on CPU i */
	cpu = queue_vcpu && info->nr_queues > 1 ? q->id : 0;
	ret = pvio_evtchn_alloc_unbound_on(be, cpu, &q->tx_port);
	if (ret)
		return ret;
	if (info->be_split) {
		ret = pvio_evtchn_alloc_unbound_on(be, cpu, &q->rx_port);
		if (ret)
			return ret;
	} else {
		q->rx_port = q->tx_port;
	}
	netif_napi_add(info->netdev, &q->napi, netfront_poll);
	q->napi_added = true;
	/* buffers are posted before the backend can look at the ring */
	rx_refill(q);
	return queue_bind(q);
}

/* Called under rtnl and info->lock with the device's queues stopped. */
int netfront_queues_create(struct netfront_info *info, unsigned int n)
{
	struct netfront_queue *qs;
	unsigned int i;
	int ret;

	BUILD_BUG_ON(NETFRONT_TX_RING_SIZE & (NETFRONT_TX_RING_SIZE - 1));
	if (netif_tx_ring_ents(PAGE_SIZE) != NETFRONT_TX_RING_SIZE ||
	    netif_rx_ring_ents(PAGE_SIZE) != NETFRONT_RX_RING_SIZE)
		return -EINVAL;
	qs = kvcalloc(n, sizeof(*qs), GFP_KERNEL);
	if (!qs)
		return -ENOMEM;
	info->queues = qs;
	info->nr_queues = n;
	for (i = 0; i < n; i++) {
		ret = queue_init(info, &qs[i], i);
		if (ret)
			goto fail;
	}
	ret = netif_set_real_num_tx_queues(info->netdev, n);
	if (!ret)
		ret = netif_set_real_num_rx_queues(info->netdev, n);
	if (ret)
		goto fail;
	return 0;
fail:
	netfront_queues_destroy(info);
	return ret;
}

/* NAPI on (device up and connected); pick up work that waited. */
void netfront_queue_start(struct netfront_queue *q)
{
	if (q->napi_enabled)
		return;
	napi_enable(&q->napi);
	q->napi_enabled = true;
	napi_schedule(&q->napi);
}

void netfront_queue_stop(struct netfront_queue *q)
{
	if (!q->napi_enabled)
		return;
	napi_disable(&q->napi);
	q->napi_enabled = false;
}

/* No xmit, no NAPI, no events: nothing runs on the queues afterwards. */
static void queues_quiet(struct netfront_info *info)
{
	unsigned int i;

	netif_tx_disable(info->netdev);
	for (i = 0; i < info->nr_queues; i++) {
		struct netfront_queue *q = &info->queues[i];

		queue_unbind(q);
		netfront_queue_stop(q);
	}
	synchronize_net();
}

/*
 * Suspend (under rtnl and info->lock): no xmit, no NAPI, no events. Rings,
 * buffers and ports stay: the toolstack has the backend let go of them
 * once we are suspended. After the resume a backend here took them over
 * where they were (netfront_queues_reattach) or the resume retires them.
 */
void netfront_queues_detach(struct netfront_info *info)
{
	unsigned int i;

	if (!info->queues)
		return;
	WRITE_ONCE(info->connected, false);
	queues_quiet(info);
	for (i = 0; i < info->nr_queues; i++)
		del_timer_sync(&info->queues[i].rx_refill_timer);
}

/*
 * On a new host, did its backend take over our rings where they were (its
 * end connected to every port of ours before we resumed)?
 */
bool netfront_queues_kept(struct netfront_info *info)
{
	pvio_domid_t be = info->pdev->otherend_id;
	unsigned int i;

	if (!info->queues || !info->nr_queues)
		return false;
	for (i = 0; i < info->nr_queues; i++) {
		struct netfront_queue *q = &info->queues[i];

		if (!q->tx_port || !q->rx_port ||
		    !pvio_evtchn_connected_to(q->tx_port, be) ||
		    (q->rx_port != q->tx_port &&
		     !pvio_evtchn_connected_to(q->rx_port, be)))
			return false;
	}
	return true;
}

/* Kept rings: events again; netfront_queue_start() takes what came. */
int netfront_queues_reattach(struct netfront_info *info)
{
	unsigned int i;
	int ret;

	for (i = 0; i < info->nr_queues; i++) {
		ret = queue_bind(&info->queues[i]);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * On a new host the numbers of our old ports name nothing of ours (or,
 * soon, someone's new port): forget them without closing.
 */
void netfront_queues_forget_ports(struct netfront_info *info)
{
	unsigned int i;

	for (i = 0; info->queues && i < info->nr_queues; i++) {
		queue_unbind(&info->queues[i]);
		info->queues[i].tx_port = 0;
		info->queues[i].rx_port = 0;
	}
}

/*
 * Resume (under rtnl and info->lock): the detached queues, which the old
 * backend has let go of, are set aside and freed once the new ones run.
 * Freeing them (a grace period per NAPI instance, every buffer's grant)
 * is no reason to keep the guest off the network longer.
 */
void netfront_queues_retire(struct netfront_info *info)
{
	if (!info->queues)
		return;
	netfront_queues_free_retired(info);	/* a second resume meanwhile */
	WRITE_ONCE(info->connected, false);
	info->retired = info->queues;
	info->nr_retired = info->nr_queues;
	info->queues = NULL;
	info->nr_queues = 0;
}

/* Under rtnl. */
void netfront_queues_free_retired(struct netfront_info *info)
{
	struct netfront_queue *qs = info->retired;
	unsigned int i, n = info->nr_retired;

	if (!qs)
		return;
	info->retired = NULL;
	info->nr_retired = 0;
	for (i = 0; i < n; i++)
		queue_free(&qs[i]);
	kvfree(qs);
}

/*
 * Called under rtnl and info->lock. Stops everything first (no xmit, no
 * NAPI, no events), then frees. Packets in flight are released.
 */
void netfront_queues_destroy(struct netfront_info *info)
{
	struct net_device *dev = info->netdev;
	unsigned int i;

	if (!info->queues)
		return;
	WRITE_ONCE(info->connected, false);
	/*
	 * Across a suspend the link stays up: the qdisc keeps what is sent
	 * meanwhile, and the announcement after the resume is not dropped
	 * while the link watcher brings a fresh qdisc up.
	 */
	if (!info->suspended)
		netif_carrier_off(dev);
	queues_quiet(info);
	for (i = 0; i < info->nr_queues; i++)
		queue_free(&info->queues[i]);
	kvfree(info->queues);
	info->queues = NULL;
	info->nr_queues = 0;
}
