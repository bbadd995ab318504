/* SPDX-License-Identifier: MIT */
/* Grant entry validation and pin/unpin/end-access on the shared entry. */
#include <errno.h>

#include "gnttab_entry.h"

int16_t gnttab_check_access(uint16_t flags, uint16_t domid, uint16_t mapper,
			    bool write)
{
	if ((flags & GTF_type_mask) != GTF_permit_access)
		return GNTST_general_error;
	if (domid != mapper)
		return GNTST_general_error;
	if (write && (flags & GTF_readonly))
		return GNTST_general_error;
	return GNTST_okay;
}

/* The {flags, domid} pair as one little-endian 32-bit word. */
static inline uint32_t *entry_word(struct pvio_grant_entry_v1 *e)
{
	return (uint32_t *)(void *)e;
}

int16_t gnttab_entry_pin(struct pvio_grant_entry_v1 *e, uint16_t mapper,
			 bool write, uint16_t may_share, uint16_t *taken,
			 uint32_t *frame)
{
	uint32_t *w = entry_word(e);
	uint32_t old = __atomic_load_n(w, __ATOMIC_ACQUIRE);
	uint16_t need = gnttab_pin_bits(write);

	for (int i = 0; i < GNTTAB_PIN_RETRIES; i++) {
		uint16_t flags = (uint16_t)old, domid = (uint16_t)(old >> 16);
		int16_t st = gnttab_check_access(flags, domid, mapper, write);
		uint16_t busy = flags & need & (uint16_t)~may_share;
		uint32_t nw;

		if (st != GNTST_okay)
			return st;
		if (busy)
			return GNTST_eagain;
		nw = old | need;
		/*
		 * The CAS covers domid too: a granter that rewrites the entry
		 * between our check and our pin makes us look again.
		 */
		if (nw == old ||
		    __atomic_compare_exchange_n(w, &old, nw, false,
						__ATOMIC_ACQ_REL,
						__ATOMIC_ACQUIRE)) {
			if (taken)
				*taken = (uint16_t)(need & ~flags);
			/* frame is read after the pin, as the granter wrote it before flags */
			if (frame)
				*frame = __atomic_load_n(&e->frame, __ATOMIC_ACQUIRE);
			return GNTST_okay;
		}
	}
	/* the granter keeps changing the entry under us */
	return GNTST_general_error;
}

void gnttab_entry_unpin(struct pvio_grant_entry_v1 *e, uint16_t bits)
{
	if (bits)
		__atomic_fetch_and(&e->flags, (uint16_t)~bits, __ATOMIC_RELEASE);
}

int gnttab_entry_end(struct pvio_grant_entry_v1 *e)
{
	uint16_t old = __atomic_load_n(&e->flags, __ATOMIC_ACQUIRE);

	for (;;) {
		if (old & (GTF_reading | GTF_writing))
			return -EBUSY;
		if (__atomic_compare_exchange_n(&e->flags, &old, 0, false,
						__ATOMIC_ACQ_REL,
						__ATOMIC_ACQUIRE))
			return 0;
	}
}
