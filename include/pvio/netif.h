/* SPDX-License-Identifier: MIT */
/*
 * Network device protocol (netif), wire-compatible with Xen's io/netif.h.
 * Two rings per queue: tx (frontend to backend packets) and rx (backend to
 * frontend, into pages the frontend granted; "rx-copy" mode).
 *
 * Store keys, backend dir /local/domain/0/backend/vif/<dom>/<devid>:
 *   frontend, frontend-id, handle, mac, bridge, script, mtu, rate,
 *   vifname, ip              toolstack
 *   state                    backend
 *   feature-sg, feature-gso-tcpv4, feature-gso-tcpv6,
 *   feature-ipv6-csum-offload, feature-rx-copy (1), feature-rx-flip (0),
 *   feature-split-event-channels, multi-queue-max-queues,
 *   feature-ctrl-ring (0)    backend: what it serves
 * Frontend dir /local/domain/<dom>/device/vif/<devid>:
 *   tx-ring-ref, rx-ring-ref, event-channel | event-channel-tx + -rx
 *   (or queue-<q>/... with multi-queue-num-queues > 1),
 *   request-rx-copy (1), feature-rx-notify, feature-sg, feature-gso-tcpv4,
 *   feature-gso-tcpv6, feature-no-csum-offload, feature-ipv6-csum-offload,
 *   mac, mtu (toolstack copies), state
 */
#ifndef PVIO_NETIF_H
#define PVIO_NETIF_H

#include "abi.h"
#include "ring.h"

/* tx request flags */
#define NETTXF_csum_blank	(1u << 0)
#define NETTXF_data_validated	(1u << 1)
#define NETTXF_more_data	(1u << 2)
#define NETTXF_extra_info	(1u << 3)

/* rx response flags */
#define NETRXF_data_validated	(1u << 0)
#define NETRXF_csum_blank	(1u << 1)
#define NETRXF_more_data	(1u << 2)
#define NETRXF_extra_info	(1u << 3)
#define NETRXF_gso_prefix	(1u << 4)

#define XEN_NETIF_EXTRA_TYPE_NONE	0
#define XEN_NETIF_EXTRA_TYPE_GSO	1
#define XEN_NETIF_EXTRA_TYPE_MCAST_ADD	2
#define XEN_NETIF_EXTRA_TYPE_MCAST_DEL	3
#define XEN_NETIF_EXTRA_TYPE_HASH	4
#define XEN_NETIF_EXTRA_TYPE_MAX	5
#define XEN_NETIF_EXTRA_FLAG_MORE	(1u << 0)

#define XEN_NETIF_GSO_TYPE_NONE		0
#define XEN_NETIF_GSO_TYPE_TCPV4	1
#define XEN_NETIF_GSO_TYPE_TCPV6	2

#define XEN_NETIF_RSP_DROPPED	(-2)
#define XEN_NETIF_RSP_ERROR	(-1)
#define XEN_NETIF_RSP_OKAY	0
#define XEN_NETIF_RSP_NULL	1

/* Slots one packet may use that every backend and frontend must accept. */
#define XEN_NETBK_LEGACY_SLOTS_MAX	18
#define XEN_NETIF_MAX_TX_SIZE		0xFFFF
#define PVIO_NETIF_MAX_MTU		9000

struct netif_tx_request {
	uint32_t gref;
	uint16_t offset;
	uint16_t flags;
	uint16_t id;
	uint16_t size;	/* first slot: the whole packet; others: this slot */
};
PVIO_ABI_CHECK_SIZE(struct netif_tx_request, 12);

struct netif_extra_info {
	uint8_t type;
	uint8_t flags;
	union {
		struct {
			uint16_t size;	/* MSS */
			uint8_t type;	/* XEN_NETIF_GSO_TYPE_* */
			uint8_t pad;
			uint16_t features;
		} gso;
		struct {
			uint8_t addr[6];
		} mcast;
		uint16_t pad[3];
	} u;
};
PVIO_ABI_CHECK_SIZE(struct netif_extra_info, 8);

struct netif_tx_response {
	uint16_t id;
	int16_t status;
};
PVIO_ABI_CHECK_SIZE(struct netif_tx_response, 4);

struct netif_rx_request {
	uint16_t id;
	uint16_t pad;
	uint32_t gref;
};
PVIO_ABI_CHECK_SIZE(struct netif_rx_request, 8);

struct netif_rx_response {
	uint16_t id;
	uint16_t offset;
	uint16_t flags;
	int16_t status;	/* >= 0: bytes; < 0: XEN_NETIF_RSP_* */
};
PVIO_ABI_CHECK_SIZE(struct netif_rx_response, 8);

/* An extra-info slot sits in the request/response slot after the packet's. */
union netif_tx_slot {
	struct netif_tx_request req;
	struct netif_extra_info extra;
};
union netif_rx_slot {
	struct netif_rx_response rsp;
	struct netif_extra_info extra;
};

PVIO_RING_DEFINE(netif_tx, union netif_tx_slot, struct netif_tx_response)
PVIO_RING_DEFINE(netif_rx, struct netif_rx_request, union netif_rx_slot)
PVIO_ABI_CHECK_SIZE(union netif_tx_sring_entry, 12);
PVIO_ABI_CHECK_SIZE(union netif_rx_sring_entry, 8);

#endif /* PVIO_NETIF_H */
