/* SPDX-License-Identifier: MIT */
/*
 * Event channels: op numbers and port states as in Xen's event_channel.h,
 * and the 2-level pending/mask bitmaps kept in each domain's shared info
 * (see platform.h). A port pair connects two domains; delivery to a process
 * domain is an eventfd per port, to a VM an MSI-X vector of its platform
 * device after setting the port's pending bit.
 */
#ifndef PVIO_EVENT_CHANNEL_H
#define PVIO_EVENT_CHANNEL_H

#include "abi.h"

typedef uint32_t pvio_evtchn_port_t;

#define EVTCHNOP_bind_interdomain	0
#define EVTCHNOP_bind_virq		1
#define EVTCHNOP_close			3
#define EVTCHNOP_send			4
#define EVTCHNOP_status			5
#define EVTCHNOP_alloc_unbound		6
#define EVTCHNOP_bind_ipi		7
#define EVTCHNOP_unmask			9
#define PVIO_EVTCHNOP_mask		100	/* pvio: Xen masks in shared info */

#define EVTCHNSTAT_closed	0
#define EVTCHNSTAT_unbound	1
#define EVTCHNSTAT_interdomain	2
#define EVTCHNSTAT_pirq		3
#define EVTCHNSTAT_virq		4
#define EVTCHNSTAT_ipi		5

/* 2-level ABI: 64 words of 64 bits. Port 0 is never allocated. */
#define PVIO_EVTCHN_2L_WORDS	64
#define PVIO_EVTCHN_MAX_PORTS	(PVIO_EVTCHN_2L_WORDS * 64)

struct pvio_evtchn_status {
	uint16_t dom;		/* in */
	uint16_t pad;
	uint32_t port;		/* in */
	uint32_t state;		/* out: EVTCHNSTAT_* */
	uint16_t remote_dom;	/* out: unbound: allowed peer; interdomain: peer */
	uint16_t pad2;
	uint32_t remote_port;	/* out: interdomain only */
	uint32_t vcpu;		/* out */
};
PVIO_ABI_CHECK_SIZE(struct pvio_evtchn_status, 24);

#endif /* PVIO_EVENT_CHANNEL_H */
