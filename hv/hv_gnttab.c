/* SPDX-License-Identifier: MIT */
/*
 * hv's side of grant tables: registration of a domain's grant frames, map
 * and unmap with per-ref pin counts (the shared GTF_reading/GTF_writing
 * bits clear only when the last mapping holding them goes), grant copy for
 * clients that cannot copy locally, and cleanup when a mapper or a granter
 * goes away. Entry rules are in grant/gnttab_entry.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hv.h"
#include "../grant/gnttab_entry.h"

#define HV_MAX_MAPS		(1u << 20)

struct hv_map {
	struct hv_client *client;	/* the mapper, NULL if the slot is free */
	uint64_t serial;		/* granter incarnation */
	uint32_t ref;
	uint32_t frame;			/* the page mapped (dirty log) */
	pvio_domid_t granter;
	uint8_t write;
	uint8_t live;			/* 0 once the granter died */
	uint32_t next_free;
};

unsigned int hv_nr_maps;
static struct hv_map *maps;
static uint32_t nr_slots, free_head = UINT32_MAX;

static struct pvio_grant_entry_v1 *entry_of(struct hv_domain *g, uint32_t ref)
{
	uint64_t gfn = g->gnt_gfn[ref / PVIO_GNTTAB_ENTRIES_PER_FRAME];

	return (struct pvio_grant_entry_v1 *)(g->ram + gfn * PVIO_PAGE_SIZE) +
	       ref % PVIO_GNTTAB_ENTRIES_PER_FRAME;
}

static uint32_t nr_refs(const struct hv_domain *g)
{
	return g->nr_gnt_frames * (uint32_t)PVIO_GNTTAB_ENTRIES_PER_FRAME;
}

int hv_gnttab_setup(struct hv_domain *d, const uint64_t *gfn, uint32_t n)
{
	uint32_t *rd, *wr, old = nr_refs(d);

	for (uint32_t r = 0; r < old; r++)
		if (d->pin_rd[r] || d->pin_wr[r])
			return -EBUSY;	/* frames still in use by mappers */
	for (uint32_t i = 0; i < n; i++)
		if (gfn[i] >= d->nr_pages)
			return -EINVAL;
	rd = calloc((size_t)n * PVIO_GNTTAB_ENTRIES_PER_FRAME + 1, sizeof(*rd));
	wr = calloc((size_t)n * PVIO_GNTTAB_ENTRIES_PER_FRAME + 1, sizeof(*wr));
	if (!rd || !wr) {
		free(rd);
		free(wr);
		return -ENOMEM;
	}
	free(d->pin_rd);
	free(d->pin_wr);
	d->pin_rd = rd;
	d->pin_wr = wr;
	memset(d->gnt_gfn, 0, sizeof(d->gnt_gfn));
	memcpy(d->gnt_gfn, gfn, n * sizeof(*gfn));
	d->nr_gnt_frames = n;
	return 0;
}

static int map_alloc(void)
{
	if (free_head == UINT32_MAX) {
		uint32_t n = nr_slots ? nr_slots * 2 : 256;
		struct hv_map *m;

		if (n > HV_MAX_MAPS)
			return -ENOSPC;
		m = realloc(maps, n * sizeof(*m));
		if (!m)
			return -ENOMEM;
		memset(m + nr_slots, 0, (n - nr_slots) * sizeof(*m));
		for (uint32_t i = n; i-- > nr_slots;) {
			m[i].next_free = free_head;
			free_head = i;
		}
		maps = m;
		nr_slots = n;
	}
	uint32_t i = free_head;

	free_head = maps[i].next_free;
	return (int)i;
}

static void map_free(uint32_t i)
{
	memset(&maps[i], 0, sizeof(maps[i]));
	maps[i].next_free = free_head;
	free_head = i;
}

/* Drop one pin of @ref; clear the shared bits nobody holds any more. */
static void unpin(struct hv_domain *g, uint32_t ref, bool write)
{
	uint16_t bits = 0;

	if (g->pin_rd[ref] && --g->pin_rd[ref] == 0)
		bits |= GTF_reading;
	if (write && g->pin_wr[ref] && --g->pin_wr[ref] == 0)
		bits |= GTF_writing;
	gnttab_entry_unpin(entry_of(g, ref), bits);
}

/* Common checks of a map or copy on (dom, ref); the granter or NULL. */
static struct hv_domain *granter_of(struct hv_client *c, uint32_t dom,
				    uint32_t ref, int16_t *st)
{
	struct hv_domain *g = dom < PVIO_DOMID_FIRST_RESERVED ?
			      hv_domain_get((pvio_domid_t)dom) : NULL;

	if (!g || !g->ram || (g->state & PVIO_DOMSTATE_DYING) || g == c->dom) {
		*st = GNTST_bad_domain;
		return NULL;
	}
	if (ref >= nr_refs(g)) {
		*st = GNTST_bad_gntref;
		return NULL;
	}
	/* refs 0..7 are the toolstack's (console, store): dom0 only */
	if (ref < PVIO_GNTTAB_RESERVED_ENTRIES && c->domid != 0) {
		*st = GNTST_bad_gntref;
		return NULL;
	}
	*st = GNTST_okay;
	return g;
}

void hv_gnttab_map(struct hv_client *c, struct pvio_gnttab_map_op *op)
{
	bool write = !(op->flags & GNTMAP_readonly);
	struct hv_domain *g;
	uint16_t share = 0;
	uint32_t frame = 0;
	int16_t st;
	int i;

	op->handle = 0;
	op->frame = 0;
	op->pad = 0;
	g = granter_of(c, op->dom, op->ref, &st);
	if (!g) {
		op->status = st;
		return;
	}
	if (c->nr_maps >= HV_MAX_MAPS / 4) {
		op->status = GNTST_no_device_space;
		return;
	}
	if (g->pin_rd[op->ref])
		share |= GTF_reading;
	if (g->pin_wr[op->ref])
		share |= GTF_writing;
	st = gnttab_entry_pin(entry_of(g, op->ref), c->domid, write, share,
			      NULL, &frame);
	if (st != GNTST_okay) {
		op->status = st;
		return;
	}
	/* count the pin first, so that a failure below unpins exactly once */
	g->pin_rd[op->ref]++;
	if (write)
		g->pin_wr[op->ref]++;
	if (frame >= g->nr_pages) {
		unpin(g, op->ref, write);
		op->status = GNTST_bad_page;
		return;
	}
	i = map_alloc();
	if (i < 0) {
		unpin(g, op->ref, write);
		op->status = GNTST_no_device_space;
		return;
	}
	maps[i].client = c;
	maps[i].serial = g->serial;
	maps[i].ref = op->ref;
	maps[i].frame = frame;
	maps[i].granter = g->domid;
	maps[i].write = write;
	maps[i].live = 1;
	c->nr_maps++;
	hv_nr_maps++;
	op->handle = (uint32_t)i + 1;
	op->frame = frame;
	op->status = GNTST_okay;
}

static void release(uint32_t i)
{
	struct hv_map *m = &maps[i];

	if (m->live) {
		struct hv_domain *g = hv_domain_get(m->granter);

		if (g && g->serial == m->serial) {
			/* what was written through the map is in the log */
			if (m->write)
				hv_dirty_mark(g, m->frame);
			unpin(g, m->ref, m->write);
		}
		m->client->nr_maps--;
		hv_nr_maps--;
	}
	map_free(i);
}

void hv_gnttab_unmap(struct hv_client *c, struct pvio_gnttab_unmap_op *op)
{
	uint32_t i = op->handle - 1;

	op->pad = 0;
	if (op->handle == 0 || i >= nr_slots || maps[i].client != c) {
		op->status = GNTST_bad_handle;
		return;
	}
	/* a mapping whose granter died is already released: unmap is okay */
	release(i);
	op->status = GNTST_okay;
}

int16_t hv_gnttab_copy(struct hv_client *c, const struct hv_copy_op *op,
		       void *buf)
{
	struct pvio_grant_entry_v1 *e;
	struct hv_domain *g;
	uint16_t taken = 0;
	uint32_t frame = 0;
	uint8_t *page;
	int16_t st;

	if ((uint32_t)op->offset + op->len > PVIO_PAGE_SIZE)
		return GNTST_bad_copy_arg;
	g = granter_of(c, op->dom, op->ref, &st);
	if (!g)
		return st;
	e = entry_of(g, op->ref);
	/* a copy only borrows the bits for its duration (single-threaded hv) */
	st = gnttab_entry_pin(e, c->domid, op->to_grant != 0,
			      GTF_reading | GTF_writing, &taken, &frame);
	if (st != GNTST_okay)
		return st;
	if (frame >= g->nr_pages) {
		gnttab_entry_unpin(e, taken);
		return GNTST_bad_page;
	}
	page = g->ram + (uint64_t)frame * PVIO_PAGE_SIZE;
	if (op->to_grant) {
		memcpy(page + op->offset, buf, op->len);
		hv_dirty_mark(g, frame);
	} else {
		memcpy(buf, page + op->offset, op->len);
	}
	gnttab_entry_unpin(e, taken);
	return GNTST_okay;
}

void hv_gnttab_dirty_sync(struct hv_domain *d)
{
	for (uint32_t i = 0; i < nr_slots; i++) {
		const struct hv_map *m = &maps[i];

		if (m->client && m->live && m->write && m->granter == d->domid &&
		    m->serial == d->serial)
			hv_dirty_mark(d, m->frame);
	}
}

bool hv_gnttab_client_maps(struct hv_client *c, pvio_domid_t granter)
{
	if (!c->nr_maps)
		return false;
	for (uint32_t i = 0; i < nr_slots; i++)
		if (maps[i].client == c && maps[i].live && maps[i].granter == granter)
			return true;
	return false;
}

void hv_gnttab_client_gone(struct hv_client *c)
{
	for (uint32_t i = 0; i < nr_slots; i++)
		if (maps[i].client == c)
			release(i);
}

void hv_gnttab_domain_gone(struct hv_domain *d)
{
	for (uint32_t i = 0; i < nr_slots; i++) {
		struct hv_map *m = &maps[i];

		if (!m->client || !m->live || m->granter != d->domid ||
		    m->serial != d->serial)
			continue;
		/*
		 * The mapper keeps its handle (its later unmap succeeds); the
		 * entry lives in the dead domain's memory, so clearing the bits
		 * only keeps that memory consistent for whoever still looks.
		 */
		unpin(d, m->ref, m->write);
		m->live = 0;
		m->client->nr_maps--;
		hv_nr_maps--;
	}
}
