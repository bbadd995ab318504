/* SPDX-License-Identifier: MIT */
/*
 * Hypercall numbers. A VM issues them through its slot in the platform
 * region (platform.h); dom0 and process domains send the same ops as
 * messages on pvio-hv's control socket (framing in hv/hv_proto.h, private to
 * hv and libpvio). Pointer arguments of a VM are offsets into its vCPU's
 * argument area. Every op returns 0 or -errno unless noted.
 */
#ifndef PVIO_HYPERCALL_H
#define PVIO_HYPERCALL_H

#include "abi.h"

#define PVIO_HV_VERSION_MAJOR	1
#define PVIO_HV_VERSION_MINOR	0

enum pvio_hypercall_op {
	PVIO_HC_VERSION = 0,		/* ret = major << 16 | minor */
	PVIO_HC_GNTTAB_SETUP = 1,	/* arg0 nr_frames, arg1 ptr to u64 gfn[] */
	PVIO_HC_GNTTAB_MAP = 2,		/* arg0 count, arg1 ptr to map_op[] */
	PVIO_HC_GNTTAB_UNMAP = 3,	/* arg0 count, arg1 ptr to unmap_op[] */
	PVIO_HC_GNTTAB_COPY = 4,	/* arg0 count, arg1 ptr to copy_op[] */
	PVIO_HC_EVTCHN = 5,		/* arg0 EVTCHNOP_*, arg1.. op args */
	PVIO_HC_SCHED_SHUTDOWN = 6,	/* arg0 PVIO_SHUTDOWN_* */
	PVIO_HC_CONSOLE_IO = 7,		/* arg0 len, arg1 ptr: debug output */
	PVIO_HC_DOMCTL = 8,		/* dom0 only: domain control */
	PVIO_HC_COUNT
};

/*
 * PVIO_HC_EVTCHN argument use (VM slots; the socket carries the same):
 *   alloc_unbound:    arg1 remote dom, arg2 vCPU for its events (pvio;
 *                     0 by default)             -> ret port
 *   bind_interdomain: arg1 remote dom, arg2 remote port -> ret local port
 *   send, close, unmask, mask: arg1 port
 *   status:           arg1 dom, arg2 port, arg3 ptr to pvio_evtchn_status
 *   bind_vcpu (pvio): arg1 port, arg2 vcpu
 */
#define PVIO_EVTCHNOP_bind_vcpu	8

#define PVIO_SHUTDOWN_POWEROFF	0
#define PVIO_SHUTDOWN_REBOOT	1
#define PVIO_SHUTDOWN_SUSPEND	2
#define PVIO_SHUTDOWN_CRASH	3

#endif /* PVIO_HYPERCALL_H */
