/* SPDX-License-Identifier: MIT */
/*
 * Grant tables, v1 layout as in Xen's grant_table.h. A domain's table is a
 * list of frames of its own RAM, registered with pvio-hv; entry `ref` lives
 * in frame ref / 512 at slot ref % 512. The granter writes frame and domid,
 * then flags; the hypervisor sets READING/WRITING while the grant is mapped.
 */
#ifndef PVIO_GRANT_TABLE_H
#define PVIO_GRANT_TABLE_H

#include "abi.h"

typedef uint32_t pvio_grant_ref_t;
typedef uint32_t pvio_grant_handle_t;

struct pvio_grant_entry_v1 {
	uint16_t flags;
	uint16_t domid;		/* the domain allowed to map or copy */
	uint32_t frame;		/* granter's frame number (gfn) */
};
PVIO_ABI_CHECK_SIZE(struct pvio_grant_entry_v1, 8);

#define PVIO_GNTTAB_ENTRIES_PER_FRAME \
	(PVIO_PAGE_SIZE / sizeof(struct pvio_grant_entry_v1))
#define PVIO_GNTTAB_MAX_FRAMES		64	/* 32768 refs per domain */
#define PVIO_GNTTAB_RESERVED_ENTRIES	8
#define PVIO_GREF_CONSOLE		0
#define PVIO_GREF_XENSTORE		1

#define GTF_invalid		0u
#define GTF_permit_access	1u
#define GTF_accept_transfer	2u
#define GTF_type_mask		3u
#define GTF_readonly		(1u << 2)
#define GTF_reading		(1u << 3)
#define GTF_writing		(1u << 4)
#define GTF_sub_page		(1u << 8)

/* map op flags */
#define GNTMAP_device_map	(1u << 0)
#define GNTMAP_host_map		(1u << 1)
#define GNTMAP_readonly		(1u << 2)
#define GNTMAP_application_map	(1u << 3)

/* copy op flags */
#define GNTCOPY_source_gref	(1u << 0)
#define GNTCOPY_dest_gref	(1u << 1)

#define GNTST_okay		0
#define GNTST_general_error	(-1)
#define GNTST_bad_domain	(-2)
#define GNTST_bad_gntref	(-3)
#define GNTST_bad_handle	(-4)
#define GNTST_bad_virt_addr	(-5)
#define GNTST_bad_dev_addr	(-6)
#define GNTST_no_device_space	(-7)
#define GNTST_permission_denied	(-8)
#define GNTST_bad_page		(-9)
#define GNTST_bad_copy_arg	(-10)
#define GNTST_address_too_big	(-11)
#define GNTST_eagain		(-12)

/* One map request of a batch (hypercall argument). */
struct pvio_gnttab_map_op {
	uint32_t ref;		/* in */
	uint16_t dom;		/* in: granting domain */
	uint16_t flags;		/* in: GNTMAP_* */
	int16_t status;		/* out: GNTST_* */
	uint16_t pad;
	uint32_t handle;	/* out: for unmap */
	uint64_t frame;		/* out: granter's frame (offset in its RAM / 4096) */
};
PVIO_ABI_CHECK_SIZE(struct pvio_gnttab_map_op, 24);

struct pvio_gnttab_unmap_op {
	uint32_t handle;	/* in */
	int16_t status;		/* out */
	uint16_t pad;
};
PVIO_ABI_CHECK_SIZE(struct pvio_gnttab_unmap_op, 8);

struct pvio_gnttab_copy_ptr {
	uint32_t ref_or_gfn;	/* a grant ref if the matching flag is set */
	uint16_t domid;
	uint16_t offset;
};
PVIO_ABI_CHECK_SIZE(struct pvio_gnttab_copy_ptr, 8);

struct pvio_gnttab_copy_op {
	struct pvio_gnttab_copy_ptr source;
	struct pvio_gnttab_copy_ptr dest;
	uint16_t len;
	uint16_t flags;		/* GNTCOPY_* */
	int16_t status;		/* out */
	uint16_t pad;
};
PVIO_ABI_CHECK_SIZE(struct pvio_gnttab_copy_op, 24);

#endif /* PVIO_GRANT_TABLE_H */
