/* SPDX-License-Identifier: MIT */
/*
 * Pin counts of grant mappings, shared by pvio-hv and the dom0 clients
 * (backends) that map grants without asking hv.
 *
 * Every granting domain has a *pin table* (a memfd hv creates and hands to
 * dom0 clients): one 64-bit word per grant ref holding the total read and
 * write pins of that ref, whoever holds them, and a lock owner. Every
 * client that maps locally also has an *own table* per granter (another
 * memfd, one per (client, granter)) with the pins it holds itself, so
 * that hv can drop exactly those when the client dies.
 *
 * All changes to a ref's pins happen with its word locked (owner field set
 * by a compare-and-swap): the lock serialises the moment the shared
 * GTF_reading/GTF_writing bits are set (first pin) and cleared (last pin
 * gone), which is what makes the granter's end-access fail exactly while
 * a mapping exists. The lock is held for a few instructions (or a grant
 * copy of at most a page); a holder that dies with it is recognised by its
 * owner id, and hv finishes or rolls back its operation from the own
 * table, whose word records the count before and after the operation in
 * flight.
 */
#ifndef PVIO_GNTTAB_PIN_H
#define PVIO_GNTTAB_PIN_H

#include <stdbool.h>
#include <stdint.h>

#include "pvio/grant_table.h"

/* Refs a table covers: the most a domain can register. */
#define GNTTAB_PIN_REFS \
	(PVIO_GNTTAB_MAX_FRAMES * (uint32_t)PVIO_GNTTAB_ENTRIES_PER_FRAME)
/* Both tables: a header page, then one uint64_t per ref. */
#define GNTTAB_PIN_HDR_BYTES	4096u
#define GNTTAB_PIN_BYTES	(GNTTAB_PIN_HDR_BYTES + GNTTAB_PIN_REFS * 8u)
#define GNTTAB_PIN_MAGIC	0x6e697070u	/* "ppin" */
#define GNTTAB_OWN_MAGIC	0x6e776f70u	/* "pown" */

/* Lock owners: 0 = unlocked, 1 = hv, 2.. = dom0 clients (hv assigns). */
#define GNTTAB_OWNER_NONE	0
#define GNTTAB_OWNER_HV		1
#define GNTTAB_OWNER_FIRST	2
#define GNTTAB_OWNER_LAST	0xffff

/*
 * A pin word: bits 0-23 read pins, 24-47 write pins (every pin reads; a
 * writable pin counts in both), 48-63 the lock owner.
 */
#define GNTTAB_PIN_MAX		0xffffffu
#define GNTTAB_PIN_RD(w)	((uint32_t)(w) & GNTTAB_PIN_MAX)
#define GNTTAB_PIN_WR(w)	((uint32_t)((w) >> 24) & GNTTAB_PIN_MAX)
#define GNTTAB_PIN_OWNER(w)	((uint16_t)((w) >> 48))

/*
 * An own word: bits 0-31 this client's pins now, bits 32-63 its pins
 * before the operation in flight (equal when none is). Each half is
 * {read pins: 16 bits, write pins: 16 bits}.
 */
#define GNTTAB_OWN_MAX		0xffffu

struct gnttab_pin_hdr {
	uint32_t magic;		/* GNTTAB_PIN_MAGIC */
	uint32_t nr_refs;	/* GNTTAB_PIN_REFS */
	uint64_t serial;	/* the granter's incarnation */
	uint32_t dead;		/* hv: the granter is dying or gone */
	uint32_t table_gen;	/* hv: bumped by each grant-table setup */
};

struct gnttab_own_hdr {
	uint32_t magic;		/* GNTTAB_OWN_MAGIC */
	uint32_t nr_refs;	/* GNTTAB_PIN_REFS */
	uint64_t serial;	/* the granter's incarnation */
	uint16_t owner;		/* this client's lock owner id */
	uint16_t pad;
	uint32_t cap;		/* pins the client may hold on this granter */
	uint32_t nr;		/* pins it holds now (the client, atomically) */
};

static inline uint64_t *gnttab_pin_words(void *table)
{
	return (uint64_t *)((char *)table + GNTTAB_PIN_HDR_BYTES);
}

/* Where one ref's state lives. */
struct gnttab_pin_ref {
	uint64_t *pin;		/* the granter's pin word of the ref */
	uint64_t *own;		/* the client's own word; NULL for hv */
	struct pvio_grant_entry_v1 *entry;	/* the granter's entry */
};

/*
 * Map: lock the ref, check the entry for @mapper (permit_access, domid,
 * readonly vs @write) and set its pin bits with a compare-and-swap, check
 * the frame it names against @nr_pages, count the pin, unlock. *@frame
 * gets the frame. @patient: wait for the lock up to about a second (a
 * client) rather than a few microseconds (hv, which must never block).
 * GNTST_okay or the status Xen gives; GNTST_eagain if the lock stayed
 * taken; GNTST_no_device_space if a count is full.
 */
int16_t gnttab_pin_map(const struct gnttab_pin_ref *p, uint16_t owner,
		       uint16_t mapper, bool write, bool patient,
		       uint64_t nr_pages, uint32_t *frame);
/*
 * Unmap one pin taken by gnttab_pin_map: clears the entry's bits whose
 * last pin this was. GNTST_okay, GNTST_eagain (lock), or GNTST_bad_handle
 * if the counts hold no such pin.
 */
int16_t gnttab_pin_unmap(const struct gnttab_pin_ref *p, uint16_t owner,
			 bool write, bool patient);

/*
 * A grant copy holds the ref's lock for the copy: begin checks and pins
 * the entry like a map (without counting), end clears what begin set
 * unless mappings hold it, and unlocks. Between them the page at *@frame
 * may be accessed (written only if @write).
 */
struct gnttab_pin_hold {
	uint64_t word;		/* the pin word as locked */
	uint16_t taken;		/* entry bits begin set */
};
int16_t gnttab_pin_copy_begin(const struct gnttab_pin_ref *p, uint16_t owner,
			      uint16_t mapper, bool write, bool patient,
			      uint64_t nr_pages, uint32_t *frame,
			      struct gnttab_pin_hold *h);
void gnttab_pin_copy_end(const struct gnttab_pin_ref *p,
			 const struct gnttab_pin_hold *h);

/*
 * hv, for a client @dead that is gone: take its pins of the ref out of the
 * totals, finishing or undoing what it had in flight (its lock, if it held
 * it, is taken over), clear the entry bits nobody holds any more (@p->entry
 * may be NULL if the ref has no entry now) and zero its own word. False if
 * another client kept the lock for about a second (nothing changed).
 */
bool gnttab_pin_release_dead(const struct gnttab_pin_ref *p, uint16_t dead,
			     uint16_t owner);

/* Entry bits that no pin of @word holds. */
static inline uint16_t gnttab_pin_unheld(uint64_t word)
{
	return (uint16_t)((GNTTAB_PIN_RD(word) ? 0 : GTF_reading) |
			  (GNTTAB_PIN_WR(word) ? 0 : GTF_writing));
}

#endif /* PVIO_GNTTAB_PIN_H */
