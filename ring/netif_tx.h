/* SPDX-License-Identifier: MIT */
/*
 * netif tx request validation: pure functions over a private copy of a
 * frontend's tx slots. Every driver that consumes tx requests (netback's
 * data path, its fuzz harness, its unit tests) parses them here.
 */
#ifndef PVIO_RING_NETIF_TX_H
#define PVIO_RING_NETIF_TX_H

#include <stdint.h>

#include "pvio/netif.h"

/*
 * Slots copied out of the ring before parsing one packet. A chain longer than
 * this is not a packet but a frontend breaking the protocol (Xen's
 * "fatal_skb_slots" idea): the vif is disconnected.
 */
#define NETIF_TX_WINDOW	64
#define NETIF_TX_MAX_EXTRAS	(XEN_NETIF_EXTRA_TYPE_MAX - 1)
#define NETIF_ETH_HLEN	14

enum netif_tx_err {
	NETIF_TX_OK = 0,
	NETIF_TX_ESIZE,	/* size 0, < Ethernet header, or slots overrun */
	NETIF_TX_ESLOTS,	/* more than XEN_NETBK_LEGACY_SLOTS_MAX slots */
	NETIF_TX_EPAGE,	/* offset + size beyond the granted page */
	NETIF_TX_EEXTRA,	/* unknown or repeated extra info */
	NETIF_TX_EGSO,	/* bad GSO type or size */
	NETIF_TX_EGRANT,	/* grant copy refused (set by the data path) */
	NETIF_TX_EFATAL,	/* chain longer than the window: disconnect */
	NETIF_TX_NR_ERR,
};

struct netif_tx_pkt {
	/* slot layout, all that is needed to answer every slot */
	/*
	 * Responses go in slot order: ids[0], one NULL response per extra (the
	 * extras follow the first request), then ids[1..nr_data-1].
	 */
	uint32_t nr_slots;	/* ring slots used: data + extras */
	uint32_t nr_data;	/* data requests */
	uint32_t nr_extras;
	uint16_t ids[NETIF_TX_WINDOW];	/* data ids, in order */
	/* the packet, valid when err == NETIF_TX_OK */
	struct netif_tx_request req[XEN_NETBK_LEGACY_SLOTS_MAX];
	uint32_t len;		/* whole packet */
	uint16_t flags;		/* NETTXF_* of the first request */
	uint8_t gso_type;	/* XEN_NETIF_GSO_TYPE_* */
	uint16_t gso_size;
	enum netif_tx_err err;
};

/*
 * Parse the packet at the head of @slots (@n slots available, already copied
 * out of the shared ring). Returns the number of slots it uses (> 0) and fills
 * @pkt; pkt->err says whether it is acceptable. Returns 0 if the packet is
 * still incomplete (the frontend has not published all its slots): the caller
 * waits for more; but if @n >= NETIF_TX_WINDOW the chain is too long for any
 * packet and pkt->err is NETIF_TX_EFATAL (disconnect the frontend).
 */
unsigned int netif_tx_parse(const union netif_tx_slot *slots, unsigned int n,
			      struct netif_tx_pkt *pkt);

const char *netif_tx_err_name(enum netif_tx_err e);

#endif /* PVIO_RING_NETIF_TX_H */
