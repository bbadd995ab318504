/* SPDX-License-Identifier: MIT */
/*
 * Grant entry rules shared by pvio-hv (map, unmap, copy) and libpvio (the
 * granter's end access, dom0's local copy). The shared entry lives in the
 * granter's memory: every decision is taken on one atomic snapshot of the
 * {flags, domid} word, and committed with a compare-and-swap on that word.
 */
#ifndef PVIO_GNTTAB_ENTRY_H
#define PVIO_GNTTAB_ENTRY_H

#include <stdbool.h>
#include <stdint.h>

#include "pvio/grant_table.h"

/* CAS attempts before an entry the granter keeps changing is refused. */
#define GNTTAB_PIN_RETRIES	64

/*
 * May @mapper access an entry whose snapshot is @flags/@domid, for writing
 * if @write? GNTST_okay, or the status Xen gives: general_error for a bad
 * type, a domid other than the mapper, or a write to a read-only grant.
 */
int16_t gnttab_check_access(uint16_t flags, uint16_t domid, uint16_t mapper,
			    bool write);

/* Flags a pin sets: reading always, writing for a writable pin. */
static inline uint16_t gnttab_pin_bits(bool write)
{
	return (uint16_t)(GTF_reading | (write ? GTF_writing : 0));
}

/*
 * Pin an entry: validate, then set the pin bits. A needed bit that is
 * already set and not in @may_share belongs to someone else (a dom0 local
 * copy in flight) and gives GNTST_eagain. *@taken (may be NULL) gets the
 * bits this call set; *@frame the entry's frame.
 */
int16_t gnttab_entry_pin(struct pvio_grant_entry_v1 *e, uint16_t mapper,
			 bool write, uint16_t may_share, uint16_t *taken,
			 uint32_t *frame);
/* Clear pin bits (when the last mapping holding them goes). */
void gnttab_entry_unpin(struct pvio_grant_entry_v1 *e, uint16_t bits);
/*
 * The granter ends access: 0, or -EBUSY while reading or writing is set
 * (the entry is then left as is).
 */
int gnttab_entry_end(struct pvio_grant_entry_v1 *e);

#endif /* PVIO_GNTTAB_ENTRY_H */
