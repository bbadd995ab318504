// SPDX-License-Identifier: MIT
/*
 * blkback persistent grants: a table per queue and access mode that keeps
 * grant mappings across requests, keyed by the grant ref the frontend
 * chose. Every slot carries its state (EMPTY or USED) apart from its key,
 * so no ref value is ever also a marker; a table starts zeroed (every slot
 * EMPTY, no address) and grows by rehashing into a fresh zeroed array, so
 * nothing of an earlier table, disk or domain can be found in it. The
 * hash is keyed per table with a random multiplier: a frontend cannot
 * pick refs that all land in one probe chain.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "blkback.h"

#define PGRANT_MIN_SLOTS	64u

_Static_assert(BLKBACK_PGRANT_EMPTY == 0,
	       "a zeroed slot must read as EMPTY");

static uint32_t pgrant_seed(void)
{
	uint32_t s = 0;

	if (getrandom(&s, sizeof(s), GRND_NONBLOCK) != sizeof(s))
		s = (uint32_t)(uintptr_t)&s ^ 0x9e3779b9u;
	return s | 1;	/* odd: a bijection on 32 bits */
}

static uint32_t slot_of(const struct blkback_pgrant_table *t, uint32_t gref)
{
	/* multiply-shift: the high bits of a keyed product */
	return (uint32_t)((gref * t->mult) >> (32 - t->bits));
}

static int table_alloc(struct blkback_pgrant_table *t, unsigned int bits)
{
	t->slot = calloc((size_t)1 << bits, sizeof(*t->slot));
	if (!t->slot)
		return -ENOMEM;
	t->bits = bits;
	t->nr_slots = 1u << bits;
	t->nr_used = 0;
	return 0;
}

int blkback_pgrant_init(struct blkback_pgrant_table *t, unsigned int max)
{
	unsigned int bits = 0;

	memset(t, 0, sizeof(*t));
	while ((1u << bits) < PGRANT_MIN_SLOTS)
		bits++;
	t->max = max;
	t->mult = pgrant_seed();
	return table_alloc(t, bits);
}

void blkback_pgrant_fini(struct blkback_pgrant_table *t)
{
	free(t->slot);
	memset(t, 0, sizeof(*t));
}

static struct blkback_pgrant *lookup(const struct blkback_pgrant_table *t,
				     uint32_t gref)
{
	uint32_t mask = t->nr_slots - 1, i;

	if (!t->slot)
		return NULL;
	i = slot_of(t, gref);
	/* at most half the slots are used: an EMPTY one ends every probe */
	for (uint32_t n = 0; n < t->nr_slots; n++) {
		struct blkback_pgrant *g = &t->slot[(i + n) & mask];

		if (g->state == BLKBACK_PGRANT_EMPTY)
			return NULL;
		if (g->gref == gref)
			return g;
	}
	return NULL;
}

bool blkback_pgrant_find(const struct blkback_pgrant_table *t, uint32_t gref,
			 void **addr, pvio_grant_handle_t *handle)
{
	const struct blkback_pgrant *g = lookup(t, gref);

	if (!g)
		return false;
	*addr = g->addr;
	*handle = g->handle;
	return true;
}

/* Place an entry known to be absent, in a table with room. */
static void place(struct blkback_pgrant_table *t, uint32_t gref, void *addr,
		  pvio_grant_handle_t handle)
{
	uint32_t mask = t->nr_slots - 1, i = slot_of(t, gref);
	struct blkback_pgrant *g;

	while (t->slot[i].state != BLKBACK_PGRANT_EMPTY)
		i = (i + 1) & mask;
	g = &t->slot[i];
	g->gref = gref;
	g->addr = addr;
	g->handle = handle;
	g->state = BLKBACK_PGRANT_USED;
	t->nr_used++;
}

static int grow(struct blkback_pgrant_table *t)
{
	struct blkback_pgrant_table n = *t;
	int rc = table_alloc(&n, t->bits + 1);

	if (rc)
		return rc;
	for (uint32_t i = 0; i < t->nr_slots; i++)
		if (t->slot[i].state == BLKBACK_PGRANT_USED)
			place(&n, t->slot[i].gref, t->slot[i].addr,
			      t->slot[i].handle);
	free(t->slot);
	*t = n;
	return 0;
}

int blkback_pgrant_add(struct blkback_pgrant_table *t, uint32_t gref,
		       void *addr, pvio_grant_handle_t handle)
{
	int rc;

	if (!t->slot)
		return -ENOSPC;
	if (lookup(t, gref))
		return -EEXIST;
	if (t->nr_used >= t->max)
		return -ENOSPC;
	/* keep the load at or under one half: probes stay short */
	if ((t->nr_used + 1) * 2 > t->nr_slots) {
		rc = grow(t);
		if (rc)
			return rc;
	}
	place(t, gref, addr, handle);
	return 0;
}

void blkback_pgrant_clear(struct blkback_pgrant_table *t,
			  void (*fn)(void *arg, const struct blkback_pgrant *g),
			  void *arg)
{
	if (!t->slot)
		return;
	for (uint32_t i = 0; i < t->nr_slots; i++)
		if (t->slot[i].state == BLKBACK_PGRANT_USED)
			fn(arg, &t->slot[i]);
	memset(t->slot, 0, (size_t)t->nr_slots * sizeof(*t->slot));
	t->nr_used = 0;
}
