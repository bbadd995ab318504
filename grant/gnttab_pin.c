/* SPDX-License-Identifier: MIT */
/*
 * The pin-table protocol (gnttab_pin.h): lock a ref's pin word, act on
 * the granter's entry, count, unlock. Shared by pvio-hv and libpvio.
 */
#include <sched.h>
#include <time.h>

#include "gnttab_entry.h"
#include "gnttab_pin.h"

#define OWNER_SHIFT	48
#define WR_ONE		(1ull << 24)
#define OWN_WR_ONE	0x10000u

/* Spins: pause first, then yield the CPU, then sleep (patient only). */
#define SPIN_PAUSE	64
#define SPIN_YIELD	256
#define SPIN_BRIEF	(SPIN_PAUSE + 16)
#define SPIN_SLEEP_NS	20000
#define SPIN_PATIENT	(SPIN_YIELD + 50000)	/* about a second asleep */

static bool backoff(unsigned int i, bool patient)
{
	if (i >= (patient ? SPIN_PATIENT : SPIN_BRIEF))
		return false;
	if (i < SPIN_PAUSE) {
		__builtin_ia32_pause();
	} else if (i < SPIN_YIELD || !patient) {
		sched_yield();
	} else {
		struct timespec ts = { 0, SPIN_SLEEP_NS };

		nanosleep(&ts, NULL);
	}
	return true;
}

/* Lock the word as @owner: true and the word (unlocked value) in *@val. */
static bool pin_lock(uint64_t *w, uint16_t owner, bool patient, uint64_t *val)
{
	uint64_t old = __atomic_load_n(w, __ATOMIC_ACQUIRE);

	for (unsigned int i = 0;; i++) {
		if (GNTTAB_PIN_OWNER(old) == GNTTAB_OWNER_NONE) {
			if (__atomic_compare_exchange_n(w, &old,
					old | (uint64_t)owner << OWNER_SHIFT,
					false, __ATOMIC_ACQUIRE,
					__ATOMIC_ACQUIRE)) {
				*val = old;
				return true;
			}
			continue;	/* counts changed: try again at once */
		}
		if (!backoff(i, patient))
			return false;
		old = __atomic_load_n(w, __ATOMIC_ACQUIRE);
	}
}

/* Store the new counts and release the lock in one store. */
static void pin_unlock(uint64_t *w, uint64_t val)
{
	__atomic_store_n(w, val & ~(0xffffull << OWNER_SHIFT),
			 __ATOMIC_RELEASE);
}

static void own_store(uint64_t *own, uint32_t before, uint32_t now)
{
	if (own)
		__atomic_store_n(own, (uint64_t)before << 32 | now,
				 __ATOMIC_RELEASE);
}

/*
 * After the unlock: mark the operation finished ({after, after}) unless
 * another thread of this client has started one on the word meanwhile
 * (its own {before, after} must stay, a plain store would undo its count).
 */
static void own_settle(uint64_t *own, uint32_t before, uint32_t now)
{
	uint64_t expect = (uint64_t)before << 32 | now;

	if (own)
		__atomic_compare_exchange_n(own, &expect,
					    (uint64_t)now << 32 | now, false,
					    __ATOMIC_RELEASE, __ATOMIC_RELAXED);
}

static uint32_t own_now(const uint64_t *own)
{
	return own ? (uint32_t)__atomic_load_n(own, __ATOMIC_ACQUIRE) : 0;
}

/* Check and pin the entry under the lock; frame checked too. */
static int16_t entry_take(const struct gnttab_pin_ref *p, uint16_t mapper,
			  bool write, uint64_t nr_pages, uint32_t *frame,
			  uint16_t *taken, uint64_t word)
{
	int16_t st;

	*taken = 0;
	/* pins are counted in the table: bits already set are ours to share */
	st = gnttab_entry_pin(p->entry, mapper, write,
			      GTF_reading | GTF_writing, taken, frame);
	if (st != GNTST_okay)
		return st;
	if (*frame >= nr_pages) {
		gnttab_entry_unpin(p->entry, *taken & gnttab_pin_unheld(word));
		return GNTST_bad_page;
	}
	return GNTST_okay;
}

int16_t gnttab_pin_map(const struct gnttab_pin_ref *p, uint16_t owner,
		       uint16_t mapper, bool write, bool patient,
		       uint64_t nr_pages, uint32_t *frame)
{
	uint32_t now, next;
	uint16_t taken;
	uint64_t t;
	int16_t st;

	if (!pin_lock(p->pin, owner, patient, &t))
		return GNTST_eagain;
	now = own_now(p->own);
	if (GNTTAB_PIN_RD(t) == GNTTAB_PIN_MAX ||
	    (write && GNTTAB_PIN_WR(t) == GNTTAB_PIN_MAX) ||
	    (now & GNTTAB_OWN_MAX) == GNTTAB_OWN_MAX ||
	    (write && (now >> 16) == GNTTAB_OWN_MAX)) {
		pin_unlock(p->pin, t);
		return GNTST_no_device_space;
	}
	next = now + 1 + (write ? OWN_WR_ONE : 0);
	/* what we are about to do, should we die before the unlock */
	own_store(p->own, now, next);
	st = entry_take(p, mapper, write, nr_pages, frame, &taken, t);
	if (st != GNTST_okay) {
		own_store(p->own, now, now);
		pin_unlock(p->pin, t);
		return st;
	}
	pin_unlock(p->pin, t + 1 + (write ? WR_ONE : 0));
	own_settle(p->own, now, next);
	return GNTST_okay;
}

int16_t gnttab_pin_unmap(const struct gnttab_pin_ref *p, uint16_t owner,
			 bool write, bool patient)
{
	uint32_t now, next;
	uint64_t t, n;

	if (!pin_lock(p->pin, owner, patient, &t))
		return GNTST_eagain;
	now = own_now(p->own);
	if (GNTTAB_PIN_RD(t) == 0 || (write && GNTTAB_PIN_WR(t) == 0) ||
	    (p->own && ((now & GNTTAB_OWN_MAX) == 0 ||
			(write && (now >> 16) == 0)))) {
		pin_unlock(p->pin, t);
		return GNTST_bad_handle;
	}
	next = now - 1 - (write ? OWN_WR_ONE : 0);
	own_store(p->own, now, next);
	n = t - 1 - (write ? WR_ONE : 0);
	/* the last pin of a kind takes its bit with it */
	gnttab_entry_unpin(p->entry, gnttab_pin_unheld(n));
	pin_unlock(p->pin, n);
	own_settle(p->own, now, next);
	return GNTST_okay;
}

int16_t gnttab_pin_copy_begin(const struct gnttab_pin_ref *p, uint16_t owner,
			      uint16_t mapper, bool write, bool patient,
			      uint64_t nr_pages, uint32_t *frame,
			      struct gnttab_pin_hold *h)
{
	int16_t st;

	if (!pin_lock(p->pin, owner, patient, &h->word))
		return GNTST_eagain;
	st = entry_take(p, mapper, write, nr_pages, frame, &h->taken, h->word);
	if (st != GNTST_okay)
		pin_unlock(p->pin, h->word);
	return st;
}

void gnttab_pin_copy_end(const struct gnttab_pin_ref *p,
			 const struct gnttab_pin_hold *h)
{
	gnttab_entry_unpin(p->entry, h->taken & gnttab_pin_unheld(h->word));
	pin_unlock(p->pin, h->word);
}

bool gnttab_pin_release_dead(const struct gnttab_pin_ref *p, uint16_t dead,
			     uint16_t owner)
{
	uint64_t t = __atomic_load_n(p->pin, __ATOMIC_ACQUIRE);
	uint64_t k = __atomic_load_n(p->own, __ATOMIC_ACQUIRE);
	uint32_t held, rd, wr;

	if (GNTTAB_PIN_OWNER(t) == dead) {
		/* it died holding the lock: the totals lack its operation */
		held = (uint32_t)(k >> 32);
	} else {
		if (!k)
			return true;
		if (!pin_lock(p->pin, owner, true, &t))
			return false;
		held = (uint32_t)k;
	}
	rd = GNTTAB_PIN_RD(t);
	wr = GNTTAB_PIN_WR(t);
	rd -= (held & GNTTAB_OWN_MAX) < rd ? (held & GNTTAB_OWN_MAX) : rd;
	wr -= (held >> 16) < wr ? (held >> 16) : wr;
	t = (uint64_t)wr << 24 | rd;
	if (p->entry)
		gnttab_entry_unpin(p->entry, gnttab_pin_unheld(t));
	__atomic_store_n(p->own, 0, __ATOMIC_RELEASE);
	pin_unlock(p->pin, t);
	return true;
}
