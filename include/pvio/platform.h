/* SPDX-License-Identifier: MIT */
/*
 * The platform region: a shared memory block pvio-hv creates for every
 * domain. A VM sees it as BAR 2 of its ivshmem-doorbell PCI device (vendor
 * 0x1af4, device 0x1110); a process domain receives it as a memfd when it
 * attaches. Layout, at fixed offsets:
 *
 *   0x0000  shared info: identity, event-channel bitmaps, per-vCPU upcall state
 *   0x1000  hypercall slots, one per vCPU (VMs; process domains use the socket)
 *   0x2000  xenstore ring (struct xenstore_domain_interface, xs_wire.h)
 *   0x3000  console ring (struct pvio_cons_interface, xs_wire.h)
 *   0x4000  hypercall argument pages, PVIO_HC_ARG_BYTES per vCPU
 *
 * VM hypercall: fill the vCPU's slot (op, args; pointer arguments are
 * offsets into the vCPU's argument area), store state = PENDING, ring the
 * doorbell (peer 0 = hv, vector 0), then wait for state = DONE and read ret.
 * Event to dom0: ring peer evtchn_peer[port] if hv set one (no hv on the
 * way), else the fast send below.
 * Event delivery to a VM: the sender sets the port's pending bit, and if the
 * port is unmasked sets the vCPU's selector bit and upcall_pending, then
 * signals MSI-X vector <vcpu> of the platform device.
 */
#ifndef PVIO_PLATFORM_H
#define PVIO_PLATFORM_H

#include "abi.h"
#include "event_channel.h"

#define PVIO_PLATFORM_MAGIC	0x6f697670u	/* "pvio" little-endian */
#define PVIO_PLATFORM_VERSION	1
#define PVIO_PLATFORM_SIZE	(64u * 1024)	/* a power of two for ivshmem */
#define PVIO_MAX_VCPUS		16

#define PVIO_PCI_VENDOR		0x1af4		/* ivshmem */
#define PVIO_PCI_DEVICE		0x1110
#define PVIO_PLATFORM_BAR	2
#define PVIO_HV_PEER		1		/* doorbell target of hypercalls */
/*
 * Doorbell targets of event channels a dom0 client (a backend) bound: the
 * guest rings peer evtchn_peer[port], vector 0, whose eventfd is dom0's
 * end of the channel. hv hands out ids from PVIO_PORT_PEER_FIRST up, above
 * its own and the guest's (0 and 1, in either order), a fresh one each
 * time (QEMU's ivshmem must never see an id come back), for ports below
 * PVIO_DIRECT_PORTS.
 */
#define PVIO_PORT_PEER_FIRST	2
#define PVIO_PORT_PEER_LAST	0xffff
#define PVIO_DIRECT_PORTS	512

#define PVIO_PLATFORM_OFF_SHARED	0x0000
#define PVIO_PLATFORM_OFF_HCALL		0x1000
#define PVIO_PLATFORM_OFF_STORE		0x2000
#define PVIO_PLATFORM_OFF_CONSOLE	0x3000
#define PVIO_PLATFORM_OFF_HCARG		0x4000
#define PVIO_HC_ARG_BYTES		0x0C00	/* 3 KiB per vCPU */
_Static_assert(PVIO_PLATFORM_OFF_HCARG + PVIO_MAX_VCPUS * PVIO_HC_ARG_BYTES
	       <= PVIO_PLATFORM_SIZE, "argument area");

struct pvio_vcpu_info {
	uint8_t upcall_pending;	/* set by a sender, cleared by the guest */
	uint8_t upcall_mask;	/* guest: 1 = do not interrupt */
	uint8_t pad[6];
	uint64_t pending_sel;	/* bit w: evtchn_pending[w] may have bits */
	uint64_t pad2[6];
};
PVIO_ABI_CHECK_SIZE(struct pvio_vcpu_info, 64);

struct pvio_shared_info {
	uint32_t magic;		/* PVIO_PLATFORM_MAGIC */
	uint32_t version;	/* PVIO_PLATFORM_VERSION */
	uint16_t domid;		/* this domain */
	uint16_t nr_vcpus;
	uint32_t flags;
	uint64_t nr_pages;	/* RAM pages of this domain */
	uint32_t store_port;	/* event channel of the store ring */
	uint32_t console_port;	/* event channel of the console ring */
	uint64_t region_size;	/* bytes of this platform region */
	uint8_t pad0[24];
	struct pvio_vcpu_info vcpu[PVIO_MAX_VCPUS];
	uint64_t evtchn_pending[PVIO_EVTCHN_2L_WORDS];
	uint64_t evtchn_mask[PVIO_EVTCHN_2L_WORDS];
	/*
	 * VM fast send: the guest sets bit <port> here and rings hv's
	 * doorbell instead of waiting on a hypercall slot; hv takes the
	 * words with an atomic exchange and sends each port, as
	 * EVTCHNOP_send would. Usable from interrupt context.
	 */
	uint64_t evtchn_send[PVIO_EVTCHN_2L_WORDS];
	/*
	 * Set by hv for a port bound by a dom0 client once QEMU's doorbell
	 * to that ivshmem peer (vector 0) writes the client's eventfd; set to
	 * 0 before that path is taken away. The guest then rings that peer
	 * instead of hv: a notify wakes the backend without hv.
	 */
	uint16_t evtchn_peer[PVIO_DIRECT_PORTS];
};
PVIO_ABI_CHECK_OFFSET(struct pvio_shared_info, vcpu, 64);
PVIO_ABI_CHECK_OFFSET(struct pvio_shared_info, evtchn_pending,
		      64 + 64 * PVIO_MAX_VCPUS);
PVIO_ABI_CHECK_OFFSET(struct pvio_shared_info, evtchn_send,
		      64 + 64 * PVIO_MAX_VCPUS + 2 * 8 * PVIO_EVTCHN_2L_WORDS);
PVIO_ABI_CHECK_OFFSET(struct pvio_shared_info, evtchn_peer,
		      64 + 64 * PVIO_MAX_VCPUS + 3 * 8 * PVIO_EVTCHN_2L_WORDS);
_Static_assert(sizeof(struct pvio_shared_info) <= 4096, "shared info page");

#define PVIO_HC_STATE_IDLE	0
#define PVIO_HC_STATE_PENDING	1
#define PVIO_HC_STATE_BUSY	2
#define PVIO_HC_STATE_DONE	3

struct pvio_hcall_slot {
	uint32_t state;		/* PVIO_HC_STATE_*, written last by each side */
	uint32_t op;		/* PVIO_HC_* (hypercall.h) */
	uint64_t arg[6];
	int64_t ret;		/* 0 or -errno, or an op-defined value >= 0 */
	uint8_t pad[64];
};
PVIO_ABI_CHECK_SIZE(struct pvio_hcall_slot, 128);
_Static_assert(PVIO_MAX_VCPUS * sizeof(struct pvio_hcall_slot) <= 4096,
	       "hypercall slot page");

#endif /* PVIO_PLATFORM_H */
