// SPDX-License-Identifier: MIT
/*
 * netif tx validation: walks one packet's slot chain in a private copy of
 * the ring and decides, before any grant is touched, whether it is sound.
 */
#include <string.h>

#include "netif_tx.h"

static const char *const err_names[NETIF_TX_NR_ERR] = {
	[NETIF_TX_OK] = "ok",
	[NETIF_TX_ESIZE] = "bad-size",
	[NETIF_TX_ESLOTS] = "too-many-slots",
	[NETIF_TX_EPAGE] = "beyond-page",
	[NETIF_TX_EEXTRA] = "bad-extra",
	[NETIF_TX_EGSO] = "bad-gso",
	[NETIF_TX_EGRANT] = "bad-grant",
	[NETIF_TX_EFATAL] = "chain-too-long",
};

const char *netif_tx_err_name(enum netif_tx_err e)
{
	return (unsigned int)e < NETIF_TX_NR_ERR ? err_names[e] : "?";
}

static enum netif_tx_err check_extra(struct netif_tx_pkt *pkt,
				       const struct netif_extra_info *x,
				       uint32_t *seen)
{
	if (x->type == XEN_NETIF_EXTRA_TYPE_NONE ||
	    x->type >= XEN_NETIF_EXTRA_TYPE_MAX)
		return NETIF_TX_EEXTRA;
	if (*seen & (1u << x->type))
		return NETIF_TX_EEXTRA;	/* each type at most once */
	*seen |= 1u << x->type;
	switch (x->type) {
	case XEN_NETIF_EXTRA_TYPE_GSO:
		if (x->u.gso.type != XEN_NETIF_GSO_TYPE_TCPV4 &&
		    x->u.gso.type != XEN_NETIF_GSO_TYPE_TCPV6)
			return NETIF_TX_EGSO;
		if (x->u.gso.size == 0)
			return NETIF_TX_EGSO;
		pkt->gso_type = x->u.gso.type;
		pkt->gso_size = x->u.gso.size;
		break;
	default:
		/* multicast control and hash: not advertised, harmless, ignored */
		break;
	}
	return NETIF_TX_OK;
}

unsigned int netif_tx_parse(const union netif_tx_slot *slots, unsigned int n,
			      struct netif_tx_pkt *pkt)
{
	enum netif_tx_err err = NETIF_TX_OK;
	unsigned int pos = 1;
	uint32_t seen = 0, rest = 0;
	bool more;

	memset(pkt, 0, offsetof(struct netif_tx_pkt, req));
	pkt->err = NETIF_TX_OK;
	pkt->gso_type = XEN_NETIF_GSO_TYPE_NONE;
	pkt->gso_size = 0;
	if (n > NETIF_TX_WINDOW)
		n = NETIF_TX_WINDOW;
	if (n == 0)
		return 0;

	pkt->req[0] = slots[0].req;
	pkt->ids[0] = slots[0].req.id;
	pkt->flags = slots[0].req.flags;
	pkt->nr_data = 1;

	/* extras follow the first request, chained by their MORE flag */
	if (pkt->flags & NETTXF_extra_info) {
		do {
			if (pos >= n)
				goto incomplete;
			const struct netif_extra_info *x = &slots[pos++].extra;

			if (pkt->nr_extras >= NETIF_TX_MAX_EXTRAS) {
				err = NETIF_TX_EEXTRA;
			} else {
				enum netif_tx_err e = check_extra(pkt, x, &seen);

				if (e != NETIF_TX_OK && err == NETIF_TX_OK)
					err = e;
			}
			pkt->nr_extras++;
			more = x->flags & XEN_NETIF_EXTRA_FLAG_MORE;
		} while (more);
	}

	/* then the data requests, chained by more_data */
	more = pkt->flags & NETTXF_more_data;
	while (more) {
		if (pos >= n)
			goto incomplete;
		const struct netif_tx_request *r = &slots[pos++].req;

		if (pkt->nr_data < XEN_NETBK_LEGACY_SLOTS_MAX)
			pkt->req[pkt->nr_data] = *r;
		pkt->ids[pkt->nr_data++] = r->id;
		more = r->flags & NETTXF_more_data;
	}
	pkt->nr_slots = pos;

	if (err != NETIF_TX_OK)
		goto out;
	if (pkt->nr_data > XEN_NETBK_LEGACY_SLOTS_MAX) {
		err = NETIF_TX_ESLOTS;
		goto out;
	}
	pkt->len = pkt->req[0].size;
	if (pkt->len < NETIF_ETH_HLEN) {
		err = NETIF_TX_ESIZE;
		goto out;
	}
	for (unsigned int i = 1; i < pkt->nr_data; i++) {
		const struct netif_tx_request *r = &pkt->req[i];

		if ((uint32_t)r->offset + r->size > PVIO_PAGE_SIZE) {
			err = NETIF_TX_EPAGE;
			goto out;
		}
		rest += r->size;
	}
	/* the first slot holds what the others do not; it must hold something */
	if (rest >= pkt->len) {
		err = NETIF_TX_ESIZE;
		goto out;
	}
	pkt->req[0].size = (uint16_t)(pkt->len - rest);
	if ((uint32_t)pkt->req[0].offset + pkt->req[0].size > PVIO_PAGE_SIZE) {
		err = NETIF_TX_EPAGE;
		goto out;
	}
	if (pkt->gso_type != XEN_NETIF_GSO_TYPE_NONE &&
	    !(pkt->flags & NETTXF_csum_blank)) {
		/* segmentation needs a partial checksum to finish per segment */
		err = NETIF_TX_EGSO;
		goto out;
	}
out:
	pkt->err = err;
	return pkt->nr_slots;

incomplete:
	pkt->err = n >= NETIF_TX_WINDOW ? NETIF_TX_EFATAL : NETIF_TX_OK;
	return 0;
}
