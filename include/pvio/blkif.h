/* SPDX-License-Identifier: MIT */
/*
 * Block device protocol (blkif), wire-compatible with Xen's io/blkif.h for
 * the x86_64 ABI. Sectors on the wire are always 512 bytes.
 *
 * Store keys, backend dir /local/domain/0/backend/vbd/<dom>/<vdev>
 * (written by the backend unless noted; integers are decimal strings):
 *   frontend, frontend-id    toolstack: path and domid of the frontend
 *   params                   toolstack: backing file or block device path
 *   mode                     toolstack: "r" or "w" (default "w")
 *   type                     toolstack: "file" or "phy"
 *   pvio-engine              toolstack: "uring" (default) or "aio"
 *   state                    enum pvio_xenbus_state
 *   sectors                  disk size in 512-byte units
 *   sector-size              logical sector size: 512 or 4096
 *   physical-sector-size     physical sector size
 *   info                     PVIO_VDISK_* bits
 *   feature-barrier          1 if WRITE_BARRIER is served
 *   feature-flush-cache      1 if FLUSH_DISKCACHE is served
 *   feature-discard          1 if DISCARD is served, then discard-granularity,
 *                            discard-alignment (bytes), discard-secure (0/1)
 *   feature-persistent       1: grants stay mapped across requests
 *   feature-max-indirect-segments  segments per INDIRECT request (0: none)
 *   multi-queue-max-queues   queues the backend accepts (default 1)
 *   max-ring-page-order      log2 of ring pages the backend accepts
 * Frontend dir /local/domain/<dom>/device/vbd/<vdev> (written by the frontend):
 *   ring-ref or ring-ref<i>  grant refs of the ring pages (order > 0: i < 2^order)
 *   ring-page-order          log2 of ring pages (absent: 0)
 *   event-channel            port (single queue)
 *   multi-queue-num-queues   N > 1: then queue-<q>/ring-ref*, queue-<q>/event-channel
 *   protocol                 "x86_64-abi"
 *   feature-persistent       1 if the frontend reuses its grants
 *   virtual-device           toolstack: vdev number; device-type toolstack: "disk"
 *   backend, backend-id      toolstack
 */
#ifndef PVIO_BLKIF_H
#define PVIO_BLKIF_H

#include "abi.h"
#include "ring.h"

#define BLKIF_OP_READ			0
#define BLKIF_OP_WRITE			1
#define BLKIF_OP_WRITE_BARRIER		2
#define BLKIF_OP_FLUSH_DISKCACHE	3
#define BLKIF_OP_RESERVED_1		4
#define BLKIF_OP_DISCARD		5
#define BLKIF_OP_INDIRECT		6

#define BLKIF_RSP_EOPNOTSUPP	(-2)
#define BLKIF_RSP_ERROR		(-1)
#define BLKIF_RSP_OKAY		0

#define BLKIF_MAX_SEGMENTS_PER_REQUEST	11
#define BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST 8
#define BLKIF_SEGS_PER_INDIRECT_FRAME \
	(PVIO_PAGE_SIZE / sizeof(struct blkif_request_segment))
#define BLKIF_SECTOR_SHIFT		9
#define BLKIF_SECTORS_PER_PAGE		(PVIO_PAGE_SIZE >> BLKIF_SECTOR_SHIFT)

#define BLKIF_DISCARD_SECURE		1

/* info bits */
#define PVIO_VDISK_CDROM	1
#define PVIO_VDISK_REMOVABLE	2
#define PVIO_VDISK_READONLY	4

#define BLKIF_PROTOCOL_X86_64	"x86_64-abi"

struct blkif_request_segment {
	uint32_t gref;
	uint8_t first_sect;	/* first 512-byte sector in the page, 0..7 */
	uint8_t last_sect;	/* last one, first_sect <= last_sect <= 7 */
	uint16_t pad;
};
PVIO_ABI_CHECK_SIZE(struct blkif_request_segment, 8);

struct blkif_request {
	uint8_t operation;
	uint8_t nr_segments;
	uint16_t handle;
	uint32_t pad;
	uint64_t id;
	uint64_t sector_number;
	struct blkif_request_segment seg[BLKIF_MAX_SEGMENTS_PER_REQUEST];
};
PVIO_ABI_CHECK_SIZE(struct blkif_request, 112);
PVIO_ABI_CHECK_OFFSET(struct blkif_request, id, 8);
PVIO_ABI_CHECK_OFFSET(struct blkif_request, sector_number, 16);
PVIO_ABI_CHECK_OFFSET(struct blkif_request, seg, 24);

struct blkif_request_discard {
	uint8_t operation;	/* BLKIF_OP_DISCARD */
	uint8_t flag;		/* BLKIF_DISCARD_SECURE */
	uint16_t handle;
	uint32_t pad;
	uint64_t id;
	uint64_t sector_number;
	uint64_t nr_sectors;
	uint8_t pad2[80];
};
PVIO_ABI_CHECK_SIZE(struct blkif_request_discard, 112);
PVIO_ABI_CHECK_OFFSET(struct blkif_request_discard, nr_sectors, 24);

struct blkif_request_indirect {
	uint8_t operation;	/* BLKIF_OP_INDIRECT */
	uint8_t indirect_op;	/* BLKIF_OP_READ or BLKIF_OP_WRITE */
	uint16_t nr_segments;
	uint32_t pad;
	uint64_t id;
	uint64_t sector_number;
	uint16_t handle;
	uint16_t pad2;
	uint32_t indirect_grefs[BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST];
	uint8_t pad3[52];
};
PVIO_ABI_CHECK_SIZE(struct blkif_request_indirect, 112);
PVIO_ABI_CHECK_OFFSET(struct blkif_request_indirect, handle, 24);
PVIO_ABI_CHECK_OFFSET(struct blkif_request_indirect, indirect_grefs, 28);

struct blkif_response {
	uint64_t id;
	uint8_t operation;
	uint8_t pad;
	int16_t status;
	uint32_t pad2;
};
PVIO_ABI_CHECK_SIZE(struct blkif_response, 16);
PVIO_ABI_CHECK_OFFSET(struct blkif_response, status, 10);

/* Every request type shares a slot; the typed views are unions of the slot. */
union blkif_request_any {
	struct blkif_request rw;
	struct blkif_request_discard discard;
	struct blkif_request_indirect indirect;
};
PVIO_ABI_CHECK_SIZE(union blkif_request_any, 112);

PVIO_RING_DEFINE(blkif, union blkif_request_any, struct blkif_response)
PVIO_ABI_CHECK_SIZE(union blkif_sring_entry, 112);

/* Xen virtual device numbers (the vdev key). */
#define PVIO_VDEV_XVD_MAJOR	202
#define PVIO_VDEV_EXTENDED	(1u << 28)
#define PVIO_VDEV_XVD(d, p) \
	((d) < 16 ? ((PVIO_VDEV_XVD_MAJOR << 8) | ((d) << 4) | (p)) \
		  : (PVIO_VDEV_EXTENDED | ((d) << 8) | (p)))

#endif /* PVIO_BLKIF_H */
