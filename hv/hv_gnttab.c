/* SPDX-License-Identifier: MIT */
/*
 * hv's side of grant tables: registration of a domain's grant frames, the
 * pin tables it shares with dom0 clients that map grants themselves, map
 * and unmap for the clients that ask hv (the shared GTF_reading/GTF_writing
 * bits clear only when the last pin of any kind goes), grant copy for
 * clients that cannot copy locally, and cleanup when a mapper or a granter
 * goes away: hv drops every pin a dead client held, in its own table and
 * in the pin tables. Entry rules are in grant/gnttab_entry.c, the pin
 * protocol in grant/gnttab_pin.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hv.h"
#include "../grant/gnttab_entry.h"
#include "../grant/gnttab_pin.h"

/* One dom0 client's own table for one granting domain (incarnation). */
struct hv_local {
	struct hv_client *client;
	struct hv_domain *granter;	/* removed when the granter goes */
	int fd;
	void *table;			/* struct gnttab_own_hdr, then words */
	struct hv_local *next;
};

static struct hv_local *locals;
static uint8_t owner_used[(GNTTAB_OWNER_LAST + 1) / 8];

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

/* ---- shared tables (grant/gnttab_pin.h) ---- */

/* A sealed memfd of GNTTAB_PIN_BYTES, mapped: 0 or -errno. */
static int table_create(const char *name, int *fd, void **map)
{
	void *m;
	int f = hv_memfd_sealed(name, GNTTAB_PIN_BYTES);

	if (f < 0)
		return f;
	*fd = f;
	m = mmap(NULL, GNTTAB_PIN_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED,
		 *fd, 0);
	if (m == MAP_FAILED) {
		int e = -errno;

		close(*fd);
		*fd = -1;
		return e;
	}
	*map = m;
	return 0;
}

static struct gnttab_pin_hdr *pin_hdr(struct hv_domain *g)
{
	return g->pin;
}

/* The pin table of @g, made on first use: 0 or -errno. */
static int pin_table(struct hv_domain *g)
{
	char name[32];
	struct gnttab_pin_hdr *h;
	int ret;

	if (g->pin)
		return 0;
	snprintf(name, sizeof(name), "pvio-pin-%u", g->domid);
	ret = table_create(name, &g->pin_fd, &g->pin);
	if (ret)
		return ret;
	h = g->pin;
	h->magic = GNTTAB_PIN_MAGIC;
	h->nr_refs = GNTTAB_PIN_REFS;
	h->serial = g->serial;
	return 0;
}

static struct gnttab_own_hdr *own_hdr(const struct hv_local *l)
{
	return l->table;
}

static struct gnttab_pin_ref pin_ref(struct hv_domain *g, uint32_t ref,
				     uint64_t *own)
{
	struct gnttab_pin_ref p = {
		.pin = &gnttab_pin_words(g->pin)[ref],
		.own = own,
		.entry = ref < nr_refs(g) ? entry_of(g, ref) : NULL,
	};

	return p;
}

int hv_gnttab_setup(struct hv_domain *d, const uint64_t *gfn, uint32_t n)
{
	int ret;

	/*
	 * The frames it has already: nothing changes (a guest registering
	 * again after a migration that brought its table along, with
	 * backends mapping from it).
	 */
	if (d->pin && n && n == d->nr_gnt_frames &&
	    !memcmp(d->gnt_gfn, gfn, n * sizeof(*gfn)))
		return 1;
	if (d->pin) {
		const uint64_t *w = gnttab_pin_words(d->pin);

		/* frames still in use by mappers (or a pin under way) */
		for (uint32_t r = 0; r < GNTTAB_PIN_REFS; r++)
			if (__atomic_load_n(&w[r], __ATOMIC_ACQUIRE))
				return -EBUSY;
	}
	for (uint32_t i = 0; i < n; i++)
		if (gfn[i] >= d->nr_pages)
			return -EINVAL;
	ret = pin_table(d);
	if (ret)
		return ret;
	memset(d->gnt_gfn, 0, sizeof(d->gnt_gfn));
	memcpy(d->gnt_gfn, gfn, n * sizeof(*gfn));
	d->nr_gnt_frames = n;
	/* local mappers refetch the frames when they see this change */
	__atomic_add_fetch(&pin_hdr(d)->table_gen, 1, __ATOMIC_RELEASE);
	return 0;
}

/*
 * A table that came from another host, before anyone here maps from it:
 * the in-use bits the old host's mappers left mean nothing here.
 */
void hv_gnttab_clear_busy(struct hv_domain *d)
{
	uint32_t n = nr_refs(d);

	for (uint32_t r = 0; r < n; r++) {
		struct pvio_grant_entry_v1 *e = entry_of(d, r);

		__atomic_fetch_and(&e->flags,
				   (uint16_t)~(GTF_reading | GTF_writing),
				   __ATOMIC_ACQ_REL);
	}
}

/* ---- local mappers: owner ids, own tables, dead clients ---- */

static uint16_t owner_alloc(void)
{
	for (uint32_t o = GNTTAB_OWNER_FIRST; o <= GNTTAB_OWNER_LAST; o++)
		if (!(owner_used[o / 8] & (1u << (o % 8)))) {
			owner_used[o / 8] |= (uint8_t)(1u << (o % 8));
			return (uint16_t)o;
		}
	return GNTTAB_OWNER_NONE;
}

static void owner_free(uint16_t o)
{
	owner_used[o / 8] &= (uint8_t)~(1u << (o % 8));
}

static struct hv_local *local_find(struct hv_client *c, struct hv_domain *g)
{
	struct hv_local *l;

	for (l = locals; l; l = l->next)
		if (l->client == c && l->granter == g)
			return l;
	return NULL;
}

static struct hv_local *local_of_owner(uint16_t owner, struct hv_domain *g)
{
	struct hv_local *l;

	for (l = locals; l; l = l->next)
		if (l->granter == g && l->client->pin_owner == owner)
			return l;
	return NULL;
}

static void local_free(struct hv_local *l)
{
	struct hv_local **p;

	for (p = &locals; *p; p = &(*p)->next)
		if (*p == l) {
			*p = l->next;
			break;
		}
	munmap(l->table, GNTTAB_PIN_BYTES);
	close(l->fd);
	free(l);
}

int hv_gnttab_local(struct hv_client *c, pvio_domid_t granter,
		    struct hv_gnttab_local_reply *rep, int fds[2])
{
	struct hv_domain *g = granter < PVIO_DOMID_FIRST_RESERVED ?
			      hv_domain_get(granter) : NULL;
	struct gnttab_own_hdr *h;
	struct hv_local *l;
	char name[32];
	int ret;

	if (c->dom || c->domid != 0)
		return -EPERM;
	if (!g || !g->ram || (g->state & PVIO_DOMSTATE_DYING))
		return -ESRCH;
	ret = pin_table(g);
	if (ret)
		return ret;
	if (!c->pin_owner) {
		c->pin_owner = owner_alloc();
		if (!c->pin_owner)
			return -ENOSPC;
	}
	l = local_find(c, g);
	if (!l) {
		l = calloc(1, sizeof(*l));
		if (!l)
			return -ENOMEM;
		snprintf(name, sizeof(name), "pvio-own-%u", g->domid);
		ret = table_create(name, &l->fd, &l->table);
		if (ret) {
			free(l);
			return ret;
		}
		l->client = c;
		l->granter = g;
		h = own_hdr(l);
		h->magic = GNTTAB_OWN_MAGIC;
		h->nr_refs = GNTTAB_PIN_REFS;
		h->serial = g->serial;
		h->owner = c->pin_owner;
		h->cap = HV_MAX_MAPS_PER_GRANTER;
		l->next = locals;
		locals = l;
	}
	memset(rep, 0, sizeof(*rep));
	rep->serial = g->serial;
	rep->nr_refs = GNTTAB_PIN_REFS;
	rep->owner = c->pin_owner;
	rep->cap = own_hdr(l)->cap;
	fds[0] = g->pin_fd;
	fds[1] = l->fd;
	return 0;
}

static bool client_hung_up(struct hv_client *c)
{
	struct pollfd p = { .fd = c->fd, .events = POLLIN | POLLRDHUP };

	if (c->fd < 0)
		return true;
	return poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLRDHUP |
						    POLLERR | POLLNVAL));
}

/* Take @l's pins of @ref out of the totals (its client is gone). */
static bool local_release_ref(struct hv_local *l, uint32_t ref)
{
	uint64_t *own = &gnttab_pin_words(l->table)[ref];
	struct gnttab_pin_ref p = pin_ref(l->granter, ref, own);

	return gnttab_pin_release_dead(&p, l->client->pin_owner,
				       GNTTAB_OWNER_HV);
}

/*
 * The lock of @ref of @g is held by a client whose connection hung up
 * (its death not yet handled): release its part of the ref now.
 */
static bool break_dead_lock(struct hv_domain *g, uint32_t ref)
{
	uint64_t w = __atomic_load_n(&gnttab_pin_words(g->pin)[ref],
				     __ATOMIC_ACQUIRE);
	uint16_t o = GNTTAB_PIN_OWNER(w);
	struct hv_local *l;

	if (o < GNTTAB_OWNER_FIRST)
		return false;
	l = local_of_owner(o, g);
	if (!l || !client_hung_up(l->client))
		return false;
	return local_release_ref(l, ref);
}

/* Release everything @l's client held of its granter. */
static void local_release(struct hv_local *l)
{
	uint16_t o = l->client->pin_owner;
	const uint64_t *pin = gnttab_pin_words(l->granter->pin);
	const uint64_t *own = gnttab_pin_words(l->table);
	unsigned int leaked = 0;

	for (uint32_t r = 0; r < GNTTAB_PIN_REFS; r++) {
		if (!__atomic_load_n(&own[r], __ATOMIC_ACQUIRE) &&
		    GNTTAB_PIN_OWNER(__atomic_load_n(&pin[r],
						     __ATOMIC_ACQUIRE)) != o)
			continue;
		for (int t = 0; !local_release_ref(l, r); t++)
			if (t == 8 || !break_dead_lock(l->granter, r)) {
				leaked++;
				break;
			}
	}
	if (leaked)
		hv_log("client pid %d: %u pins of domain %u kept (lock held by another client)",
		       (int)l->client->pid, leaked, l->granter->domid);
}

/* hv's own pins, with a brief wait for the lock (hv must not block). */
static int16_t hv_pin(struct hv_domain *g, uint32_t ref, uint16_t mapper,
		      bool write, uint32_t *frame)
{
	struct gnttab_pin_ref p = pin_ref(g, ref, NULL);
	int16_t st = gnttab_pin_map(&p, GNTTAB_OWNER_HV, mapper, write, false,
				    g->nr_pages, frame);

	if (st == GNTST_eagain && break_dead_lock(g, ref))
		st = gnttab_pin_map(&p, GNTTAB_OWNER_HV, mapper, write, false,
				    g->nr_pages, frame);
	return st;
}

/* Drop one of hv's pins: insists, a pin must not leak. */
static void hv_unpin(struct hv_domain *g, uint32_t ref, bool write)
{
	struct gnttab_pin_ref p = pin_ref(g, ref, NULL);
	int16_t st;

	for (int t = 0; t < 10000; t++) {
		st = gnttab_pin_unmap(&p, GNTTAB_OWNER_HV, write, false);
		if (st != GNTST_eagain) {
			if (st != GNTST_okay)
				hv_log("domain %u ref %u: no pin of hv to drop",
				       g->domid, ref);
			return;
		}
		break_dead_lock(g, ref);
	}
	hv_log("domain %u ref %u: lock held too long, a pin is kept", g->domid,
	       ref);
}

unsigned int hv_gnttab_nr_maps(void)
{
	unsigned int n = hv_nr_maps;
	struct hv_local *l;

	for (l = locals; l; l = l->next)
		n += __atomic_load_n(&own_hdr(l)->nr, __ATOMIC_RELAXED);
	return n;
}

unsigned int hv_gnttab_domain_maps(const struct hv_domain *d)
{
	unsigned int n = d->nr_mapped;
	struct hv_local *l;

	for (l = locals; l; l = l->next)
		if (l->granter == d)
			n += __atomic_load_n(&own_hdr(l)->nr, __ATOMIC_RELAXED);
	return n;
}

/* ---- per (client, granter) counts ---- */

static struct hv_map_count *count_find(struct hv_client *c, pvio_domid_t g)
{
	for (unsigned int i = 0; i < c->nr_map_count; i++)
		if (c->map_count[i].granter == g)
			return &c->map_count[i];
	return NULL;
}

/* The count of @g in @c, added at 0 if absent; NULL on ENOMEM. */
static struct hv_map_count *count_get(struct hv_client *c, pvio_domid_t g)
{
	struct hv_map_count *e = count_find(c, g);

	if (e)
		return e;
	if (c->nr_map_count == c->map_count_cap) {
		unsigned int n = c->map_count_cap ? c->map_count_cap * 2 : 4;
		struct hv_map_count *t = realloc(c->map_count, n * sizeof(*t));

		if (!t)
			return NULL;
		c->map_count = t;
		c->map_count_cap = n;
	}
	e = &c->map_count[c->nr_map_count++];
	e->granter = g;
	e->nr = 0;
	return e;
}

/* One mapping of @g's grants by @c went away. */
static void count_drop(struct hv_client *c, pvio_domid_t g)
{
	struct hv_map_count *e = count_find(c, g);

	if (!e || !e->nr) {
		hv_log("client pid %d: no mapping of domain %u left to drop",
		       (int)c->pid, g);
		return;
	}
	if (--e->nr == 0)
		*e = c->map_count[--c->nr_map_count];
}

static unsigned int client_cap(const struct hv_client *c)
{
	return c->dom ? HV_MAX_MAPS_DOMU_CLIENT : HV_MAX_MAPS_DOM0_CLIENT;
}

/* A mapping of @g's grants by @c is live: count it everywhere. */
static void count_live(struct hv_client *c, struct hv_domain *g,
		       struct hv_map_count *e)
{
	e->nr++;
	c->nr_maps++;
	g->nr_mapped++;
	hv_nr_maps++;
}

/* A live mapping of domain @granter (NULL if gone) by @c ended. */
static void count_dead(struct hv_client *c, pvio_domid_t granter,
		       struct hv_domain *g)
{
	count_drop(c, granter);
	c->nr_maps--;
	if (g && g->nr_mapped)
		g->nr_mapped--;
	hv_nr_maps--;
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
	struct hv_map_count *cnt;
	struct hv_domain *g;
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
	/* this client's caps first: its own, then its share of @g */
	if (c->nr_maps >= client_cap(c)) {
		op->status = GNTST_no_device_space;
		return;
	}
	cnt = count_get(c, g->domid);
	if (!cnt || cnt->nr >= HV_MAX_MAPS_PER_GRANTER) {
		op->status = GNTST_no_device_space;
		return;
	}
	/* a slot first, so that a pin never needs undoing */
	i = map_alloc();
	if (i < 0) {
		op->status = GNTST_no_device_space;
		goto unused;
	}
	st = hv_pin(g, op->ref, c->domid, write, &frame);
	if (st != GNTST_okay) {
		map_free((uint32_t)i);
		op->status = st;
		goto unused;
	}
	maps[i].client = c;
	maps[i].serial = g->serial;
	maps[i].ref = op->ref;
	maps[i].frame = frame;
	maps[i].granter = g->domid;
	maps[i].write = write;
	maps[i].live = 1;
	count_live(c, g, cnt);
	op->handle = (uint32_t)i + 1;
	op->frame = frame;
	op->status = GNTST_okay;
	return;
unused:
	/* a count added for this op alone goes again */
	if (!cnt->nr)
		*cnt = c->map_count[--c->nr_map_count];
}

static void release(uint32_t i)
{
	struct hv_map *m = &maps[i];

	if (m->live) {
		struct hv_domain *g = hv_domain_get(m->granter);

		if (g && g->serial != m->serial)
			g = NULL;	/* another incarnation of the domid */
		if (g) {
			/* what was written through the map is in the log */
			if (m->write)
				hv_dirty_mark(g, m->frame);
			hv_unpin(g, m->ref, m->write);
		}
		count_dead(m->client, m->granter, g);
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
	struct gnttab_pin_hold hold;
	struct gnttab_pin_ref p;
	struct hv_domain *g;
	uint32_t frame = 0;
	uint8_t *page;
	int16_t st;

	if ((uint32_t)op->offset + op->len > PVIO_PAGE_SIZE)
		return GNTST_bad_copy_arg;
	g = granter_of(c, op->dom, op->ref, &st);
	if (!g)
		return st;
	/* the copy holds the ref's lock: no mapping can come or go meanwhile */
	p = pin_ref(g, op->ref, NULL);
	st = gnttab_pin_copy_begin(&p, GNTTAB_OWNER_HV, c->domid,
				   op->to_grant != 0, false, g->nr_pages,
				   &frame, &hold);
	if (st == GNTST_eagain && break_dead_lock(g, op->ref))
		st = gnttab_pin_copy_begin(&p, GNTTAB_OWNER_HV, c->domid,
					   op->to_grant != 0, false,
					   g->nr_pages, &frame, &hold);
	if (st != GNTST_okay)
		return st;
	page = g->ram + (uint64_t)frame * PVIO_PAGE_SIZE;
	if (op->to_grant) {
		memcpy(page + op->offset, buf, op->len);
		hv_dirty_mark(g, frame);
	} else {
		memcpy(buf, page + op->offset, op->len);
	}
	gnttab_pin_copy_end(&p, &hold);
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
	/*
	 * dom0's local maps are not in hv's table: every ref the pin table
	 * counts write pins on may be written through a live mapping. Its
	 * frame is the entry's (the granter may not change a pinned entry;
	 * one that does only loses track of its own page).
	 */
	if (d->pin) {
		const uint64_t *w = gnttab_pin_words(d->pin);
		uint32_t n = nr_refs(d);

		for (uint32_t ref = 0; ref < n && ref < GNTTAB_PIN_REFS; ref++)
			if (GNTTAB_PIN_WR(__atomic_load_n(&w[ref], __ATOMIC_ACQUIRE)))
				hv_dirty_mark(d, entry_of(d, ref)->frame);
	}
}

bool hv_gnttab_client_maps(struct hv_client *c, pvio_domid_t granter)
{
	const struct hv_map_count *e = count_find(c, granter);

	return e && e->nr;
}

void hv_gnttab_client_gone(struct hv_client *c)
{
	struct hv_local *l, *next;

	for (uint32_t i = 0; i < nr_slots; i++)
		if (maps[i].client == c)
			release(i);
	free(c->map_count);
	c->map_count = NULL;
	c->nr_map_count = 0;
	c->map_count_cap = 0;
	/* the pins it took itself, and any lock it died holding */
	for (l = locals; l; l = next) {
		next = l->next;
		if (l->client != c)
			continue;
		local_release(l);
		local_free(l);
	}
	if (c->pin_owner)
		owner_free(c->pin_owner);
	c->pin_owner = GNTTAB_OWNER_NONE;
}

void hv_gnttab_domain_dying(struct hv_domain *d)
{
	/* local mappers look here before each map: they refetch and fail */
	if (d->pin)
		__atomic_store_n(&pin_hdr(d)->dead, 1, __ATOMIC_RELEASE);
}

void hv_gnttab_domain_gone(struct hv_domain *d)
{
	struct hv_local *l, *next;

	hv_gnttab_domain_dying(d);
	for (uint32_t i = 0; i < nr_slots; i++) {
		struct hv_map *m = &maps[i];

		if (!m->client || !m->live || m->granter != d->domid ||
		    m->serial != d->serial)
			continue;
		/*
		 * The mapper keeps its handle (its later unmap succeeds); the
		 * entry and the pin table go with the dead domain's memory,
		 * where local mappers may still hold pins: left as they are.
		 */
		m->live = 0;
		count_dead(m->client, m->granter, d);
	}
	/* clients keep their mappings of the tables until they drop them */
	for (l = locals; l; l = next) {
		next = l->next;
		if (l->granter == d)
			local_free(l);
	}
}
