/* SPDX-License-Identifier: MIT */
/*
 * libpvio, granting side: a process domain's grant table lives in frames of
 * its own RAM; refs come from a free list threaded through an array.
 */
#include <errno.h>

#include "../libpvio/libpvio_priv.h"
#include "gnttab_entry.h"

#define GNT_INUSE	(UINT32_MAX - 1)

int pvio_gnttab_grant(struct pvio_dom *d, pvio_domid_t to, uint64_t gfn,
		      bool readonly, pvio_grant_ref_t *ref)
{
	struct pvio_grant_entry_v1 *e;
	uint32_t r;

	if (gfn >= d->nr_pages || gfn > UINT32_MAX || to >= PVIO_DOMID_FIRST_RESERVED)
		return -EINVAL;
	pthread_mutex_lock(&d->gnt_lock);
	r = d->gnt_free;
	if (r != UINT32_MAX) {
		d->gnt_free = d->gnt_next[r];
		d->gnt_next[r] = GNT_INUSE;
	}
	pthread_mutex_unlock(&d->gnt_lock);
	if (r == UINT32_MAX)
		return -ENOSPC;
	e = &d->gnt[r];
	e->frame = (uint32_t)gfn;
	e->domid = to;
	/* frame and domid must be visible before the entry becomes valid */
	__atomic_store_n(&e->flags,
			 (uint16_t)(GTF_permit_access | (readonly ? GTF_readonly : 0)),
			 __ATOMIC_RELEASE);
	*ref = r;
	return 0;
}

int pvio_gnttab_end(struct pvio_dom *d, pvio_grant_ref_t ref)
{
	int ret;

	if (ref < PVIO_GNTTAB_RESERVED_ENTRIES || ref >= d->nr_refs)
		return -EINVAL;
	pthread_mutex_lock(&d->gnt_lock);
	if (d->gnt_next[ref] != GNT_INUSE) {
		pthread_mutex_unlock(&d->gnt_lock);
		return -EINVAL;		/* not granted */
	}
	ret = gnttab_entry_end(&d->gnt[ref]);
	if (ret == 0) {
		d->gnt_next[ref] = d->gnt_free;
		d->gnt_free = ref;
	}
	pthread_mutex_unlock(&d->gnt_lock);
	return ret;
}

int pvio_gnttab_flags(struct pvio_dom *d, pvio_grant_ref_t ref)
{
	if (ref >= d->nr_refs)
		return -EINVAL;
	return __atomic_load_n(&d->gnt[ref].flags, __ATOMIC_ACQUIRE);
}
