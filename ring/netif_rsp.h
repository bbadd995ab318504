/* SPDX-License-Identifier: MIT */
/*
 * netif response checks shared by every frontend (the guest kernel's
 * netfront and the user-space one). Each check runs on a private copy of a
 * response slot, never on the shared ring.
 */
#ifndef PVIO_RING_NETIF_RSP_H
#define PVIO_RING_NETIF_RSP_H

#include "pvio/netif.h"

/* A tx response names a request id the frontend has in flight. */
static inline int netif_tx_rsp_id_ok(const struct netif_tx_response *r,
				     uint32_t nr_ids)
{
	return r->id < nr_ids;
}

/* An rx data slot stays inside its granted page of @page_size bytes. */
static inline int netif_rx_rsp_data_ok(const struct netif_rx_response *r,
				       uint32_t page_size)
{
	return r->status >= 0 && r->offset < page_size &&
	       (uint32_t)r->offset + (uint32_t)r->status <= page_size;
}

/*
 * The @nth (from 1) extra-info slot of an rx packet: a known type, at most
 * @max of them; a GSO extra names TCPv4/TCPv6 with a non-zero size.
 */
static inline int netif_rx_extra_ok(const struct netif_extra_info *ex,
				    unsigned int nth, unsigned int max)
{
	if (nth > max || ex->type == XEN_NETIF_EXTRA_TYPE_NONE ||
	    ex->type >= XEN_NETIF_EXTRA_TYPE_MAX)
		return 0;
	if (ex->type == XEN_NETIF_EXTRA_TYPE_GSO)
		return ex->u.gso.size &&
		       (ex->u.gso.type == XEN_NETIF_GSO_TYPE_TCPV4 ||
			ex->u.gso.type == XEN_NETIF_GSO_TYPE_TCPV6);
	return 1;
}

#endif /* PVIO_RING_NETIF_RSP_H */
