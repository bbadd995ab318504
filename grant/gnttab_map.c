/* SPDX-License-Identifier: MIT */
/*
 * libpvio, mapping side: map/unmap and grant copy. A dom0 client validates
 * and pins grants itself on the granter's shared entry, with the counts in
 * the pin tables hv shares with it (grant/gnttab_pin.h): no hv round trip
 * per map, unmap or copy. Domains (and dom0 with local maps turned off)
 * map in batches through hv, which does the same checks, and copy through
 * hv. A mapped page is addressed inside a per-domain mapping of the
 * granter's RAM, fetched once and cached; a read-only map points into a
 * PROT_READ view.
 *
 * Each successful map holds a reference on its view, given back when its
 * unmap succeeds; a local copy holds one while it runs (libpvio_ram.c
 * unmaps the views of dead domains once nothing holds them).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "../libpvio/libpvio_priv.h"
#include "gnttab_entry.h"
#include "gnttab_pin.h"

#define MAP_BATCH	(HV_PAYLOAD_MAX / (sizeof(struct pvio_gnttab_map_op) + 8))
#define UNMAP_BATCH	(HV_PAYLOAD_MAX / sizeof(struct pvio_gnttab_unmap_op))
#define EAGAIN_TRIES	200

static void short_sleep(void)
{
	struct timespec ts = { 0, 50 * 1000 };

	nanosleep(&ts, NULL);
}

static int map_batch(struct pvio_hv *hv, struct pvio_gnt_map *ops, unsigned int n)
{
	struct pvio_gnttab_map_op req[MAP_BATCH];
	uint8_t rep[sizeof(req) + MAP_BATCH * 8];
	unsigned int i;
	size_t len;
	int ret;

	for (i = 0; i < n; i++) {
		memset(&req[i], 0, sizeof(req[i]));
		req[i].ref = ops[i].ref;
		req[i].dom = ops[i].dom;
		req[i].flags = GNTMAP_host_map | (ops[i].readonly ? GNTMAP_readonly : 0);
	}
	ret = lp_call(hv, HV_OP_GNTTAB_MAP, req, n * sizeof(req[0]), NULL, 0, -1,
		      rep, sizeof(rep), &len, NULL, NULL);
	if (ret < 0)
		return ret;
	if (len != n * (sizeof(req[0]) + 8))
		return -EPROTO;
	for (i = 0; i < n; i++) {
		struct pvio_gnttab_map_op o;
		uint64_t serial;
		struct lp_ram *r;
		int err = 0;

		memcpy(&o, rep + i * sizeof(o), sizeof(o));
		memcpy(&serial, rep + n * sizeof(o) + i * 8, 8);
		ops[i].status = o.status;
		ops[i].handle = o.handle;
		ops[i].addr = NULL;
		if (o.status != GNTST_okay)
			continue;
		r = lp_ram_get(hv, ops[i].dom, serial, &err);
		if (r && o.frame < r->nr_pages && (ops[i].readonly || r->rw)) {
			const uint8_t *base = ops[i].readonly ? r->ro : r->rw;

			/* the view's reference now belongs to this map */
			ops[i].addr = (void *)(base + o.frame * PVIO_PAGE_SIZE);
			continue;
		}
		if (r)
			lp_ram_put(hv, r);
		/* mapped in hv but not reachable here: give it back */
		{
			struct pvio_gnttab_unmap_op u = { .handle = o.handle };

			lp_simple(hv, HV_OP_GNTTAB_UNMAP, &u, sizeof(u), &u, sizeof(u));
		}
		ops[i].status = GNTST_general_error;
		ops[i].handle = 0;
	}
	return 0;
}

/* ---- local: dom0 on the shared tables ---- */

static bool local_on(const struct pvio_hv *hv)
{
	return hv->domid == 0 && !hv->dom &&
	       !__atomic_load_n(&hv->no_local, __ATOMIC_RELAXED);
}

void pvio_gnttab_set_local(struct pvio_hv *hv, bool on)
{
	__atomic_store_n(&hv->no_local, !on, __ATOMIC_RELAXED);
}

static const struct gnttab_pin_hdr *pin_hdr(const struct lp_ram *r)
{
	return r->pin;
}

static struct gnttab_own_hdr *own_hdr(const struct lp_ram *r)
{
	return r->own;
}

static bool view_stale(const struct lp_ram *r)
{
	const struct gnttab_pin_hdr *h = pin_hdr(r);

	return __atomic_load_n(&h->dead, __ATOMIC_ACQUIRE) ||
	       __atomic_load_n(&h->table_gen, __ATOMIC_ACQUIRE) !=
	       __atomic_load_n(&r->table_gen, __ATOMIC_ACQUIRE);
}

/*
 * The view of @dom to pin a grant of in, with a reference the caller gives
 * back (lp_ram_put) or hands to a map: up to date (a new incarnation of
 * the domid, or frames registered again, are fetched). NULL and *@st if
 * the domain is gone; a view without tables (r->pin NULL) means "ask hv".
 */
static struct lp_ram *local_view(struct pvio_hv *hv, pvio_domid_t dom,
				 int16_t *st)
{
	struct lp_ram *r;
	int err = 0;

	*st = GNTST_bad_domain;
	if (dom == 0 || dom >= PVIO_DOMID_FIRST_RESERVED)
		return NULL;
	r = lp_ram_get(hv, dom, 0, &err);
	if (r && r->pin && view_stale(r)) {
		if (__atomic_load_n(&pin_hdr(r)->dead, __ATOMIC_ACQUIRE)) {
			lp_ram_put(hv, r);
			r = lp_ram_get(hv, dom, UINT64_MAX, &err);
		} else if (lp_ram_refresh(hv, r) < 0) {
			lp_ram_put(hv, r);
			r = NULL;
		}
	}
	if (r && (!r->rw ||
		  (r->pin && __atomic_load_n(&pin_hdr(r)->dead, __ATOMIC_ACQUIRE)))) {
		lp_ram_put(hv, r);
		r = NULL;
	}
	if (!r)
		return NULL;
	*st = GNTST_okay;
	return r;
}

/* The granter's entry of @ref in view @r; NULL if the ref has none. */
static struct pvio_grant_entry_v1 *view_entry(const struct lp_ram *r,
					      uint32_t ref)
{
	uint32_t frames = __atomic_load_n(&r->nr_gnt_frames, __ATOMIC_ACQUIRE);
	uint64_t gfn;

	if (ref >= frames * PVIO_GNTTAB_ENTRIES_PER_FRAME)
		return NULL;
	gfn = r->gnt_gfn[ref / PVIO_GNTTAB_ENTRIES_PER_FRAME];
	if (gfn >= r->nr_pages)
		return NULL;
	return (struct pvio_grant_entry_v1 *)(r->rw + gfn * PVIO_PAGE_SIZE) +
	       ref % PVIO_GNTTAB_ENTRIES_PER_FRAME;
}

static struct gnttab_pin_ref view_ref(const struct lp_ram *r, uint32_t ref)
{
	struct gnttab_pin_ref p = {
		.pin = &gnttab_pin_words(r->pin)[ref],
		.own = &gnttab_pin_words(r->own)[ref],
		.entry = view_entry(r, ref),
	};

	return p;
}

static uint32_t local_handle(const struct lp_ram *r, uint32_t ref, bool write)
{
	return LP_LOCAL_HANDLE | r->local_idx << 16 | (write ? 1u << 15 : 0) |
	       ref;
}

/* Map one op locally; false if it must go through hv instead. */
static bool local_map(struct pvio_hv *hv, struct pvio_gnt_map *op)
{
	bool write = !op->readonly;
	struct gnttab_pin_ref p;
	struct gnttab_own_hdr *oh;
	struct lp_ram *r;
	uint32_t frame = 0;
	int16_t st;

	r = local_view(hv, op->dom, &st);
	if (r && !r->pin) {
		lp_ram_put(hv, r);
		return false;
	}
	if (!r)
		goto out;
	p = view_ref(r, op->ref);
	if (op->ref >= GNTTAB_PIN_REFS || !p.entry) {
		st = GNTST_bad_gntref;
		goto out;
	}
	oh = own_hdr(r);
	/* hv's cap per (client, granting domain), kept by us */
	if (__atomic_add_fetch(&oh->nr, 1, __ATOMIC_ACQ_REL) > oh->cap) {
		__atomic_sub_fetch(&oh->nr, 1, __ATOMIC_ACQ_REL);
		st = GNTST_no_device_space;
		goto out;
	}
	st = gnttab_pin_map(&p, r->owner, 0, write, true, r->nr_pages, &frame);
	if (st != GNTST_okay) {
		__atomic_sub_fetch(&oh->nr, 1, __ATOMIC_ACQ_REL);
		goto out;
	}
	/* the view's reference now belongs to this map */
	op->addr = (void *)((op->readonly ? r->ro : r->rw) +
			    (uint64_t)frame * PVIO_PAGE_SIZE);
	op->handle = local_handle(r, op->ref, write);
	r = NULL;
out:
	if (r)
		lp_ram_put(hv, r);
	op->status = st;
	return true;
}

static int16_t local_unmap(struct pvio_hv *hv, pvio_grant_handle_t handle)
{
	uint32_t ref = handle & (GNTTAB_PIN_REFS - 1);
	bool write = handle & (1u << 15);
	struct lp_ram *r = lp_local_view(hv, (handle >> 16) & 0x7fff);
	struct gnttab_pin_ref p;
	int16_t st;

	if (!r || !r->pin)
		return GNTST_bad_handle;
	p = view_ref(r, ref);
	if (__atomic_load_n(&pin_hdr(r)->dead, __ATOMIC_ACQUIRE)) {
		/* the granter is gone with its entries: only our count */
		st = GNTST_okay;
	} else {
		/*
		 * What was written through the map is in the VM's dirty log
		 * (migration): the entry still names the page while pinned.
		 */
		if (write && p.entry)
			lp_ram_dirty(r, __atomic_load_n(&p.entry->frame, __ATOMIC_RELAXED));
		st = gnttab_pin_unmap(&p, r->owner, write, true);
	}
	if (st == GNTST_okay) {
		__atomic_sub_fetch(&own_hdr(r)->nr, 1, __ATOMIC_ACQ_REL);
		lp_ram_put(hv, r);	/* the map's reference */
	}
	return st;
}

#define COPY_VIA_HV	INT16_MAX	/* no local tables for this domain */

/* dom0: copy on the granter's shared entry, holding the ref's lock. */
static int16_t copy_view(struct pvio_hv *hv, struct pvio_gnt_copy *op,
			 struct lp_ram *r)
{
	struct gnttab_pin_hold hold;
	struct gnttab_pin_ref p;
	uint32_t frame = 0;
	uint8_t *page;
	int16_t st;

	if (!r->pin)
		return COPY_VIA_HV;
	p = view_ref(r, op->ref);
	if (op->ref >= GNTTAB_PIN_REFS || !p.entry)
		return GNTST_bad_gntref;
	st = gnttab_pin_copy_begin(&p, r->owner, 0, op->to_grant != 0, true,
				   r->nr_pages, &frame, &hold);
	if (st != GNTST_okay)
		return st;
	page = r->rw + (uint64_t)frame * PVIO_PAGE_SIZE;
	if (op->to_grant) {
		memcpy(page + op->offset, op->buf, op->len);
		lp_ram_dirty(r, frame);		/* migration sees it */
	} else {
		memcpy(op->buf, page + op->offset, op->len);
	}
	gnttab_pin_copy_end(&p, &hold);
	return GNTST_okay;
}

/* The copy holds a reference on the view while it runs. */
static int16_t copy_local(struct pvio_hv *hv, struct pvio_gnt_copy *op)
{
	struct lp_ram *r;
	int16_t st;

	if ((uint32_t)op->offset + op->len > PVIO_PAGE_SIZE)
		return GNTST_bad_copy_arg;
	r = local_view(hv, op->dom, &st);
	if (!r)
		return st;
	st = copy_view(hv, op, r);
	lp_ram_put(hv, r);
	return st;
}

/* Through hv, in batches; @ops are all to be sent. */
static int map_via_hv(struct pvio_hv *hv, struct pvio_gnt_map *ops,
		      unsigned int n)
{
	unsigned int done = 0;

	while (done < n) {
		unsigned int k = n - done < MAP_BATCH ? n - done : (unsigned int)MAP_BATCH;
		int ret = map_batch(hv, ops + done, k);

		if (ret < 0)
			return ret;
		/*
		 * GNTST_eagain: a local mapper held the ref's lock longer than
		 * hv waits; retry those ops alone, a bounded number of times.
		 */
		for (unsigned int i = done; i < done + k; i++)
			for (int t = 0; ops[i].status == GNTST_eagain && t < EAGAIN_TRIES; t++) {
				short_sleep();
				ret = map_batch(hv, &ops[i], 1);
				if (ret < 0)
					return ret;
			}
		done += k;
	}
	return 0;
}

int pvio_gnttab_map(struct pvio_hv *hv, struct pvio_gnt_map *ops, unsigned int n)
{
	unsigned int i, first;
	int ret = 0;

	/* what is never sent reads as not mapped, even if we stop early */
	for (i = 0; i < n; i++) {
		ops[i].status = GNTST_general_error;
		ops[i].handle = 0;
		ops[i].addr = NULL;
	}
	if (!local_on(hv))
		return map_via_hv(hv, ops, n);
	/* locally, except runs of ops whose domain gave us no tables */
	for (i = 0; i < n; i = first) {
		for (first = i; first < n && local_map(hv, &ops[first]);)
			first++;
		if (first == n)
			break;
		for (i = first; first < n && ops[first].dom == ops[i].dom;)
			first++;
		ret = map_via_hv(hv, &ops[i], first - i);
		if (ret < 0)
			break;
	}
	return ret;
}

int pvio_gnttab_unmap(struct pvio_hv *hv, struct pvio_gnt_map *ops, unsigned int n)
{
	struct pvio_gnttab_unmap_op req[UNMAP_BATCH];
	unsigned int done = 0;

	/* local handles in place; the others go to hv in batches */
	while (done < n) {
		struct pvio_gnt_map *idx[UNMAP_BATCH];
		unsigned int k = 0;
		size_t len;
		int ret;

		for (; done < n && k < UNMAP_BATCH; done++) {
			struct pvio_gnt_map *o = &ops[done];

			if (o->handle & LP_LOCAL_HANDLE) {
				/*
				 * Our own pin: only another mapper holding the
				 * ref's lock (a preempted thread) delays it, and
				 * a pin left behind would keep the granter from
				 * ending access. Wait it out.
				 */
				int t = 0;

				do
					o->status = local_unmap(hv, o->handle);
				while (o->status == GNTST_eagain &&
				       ++t < EAGAIN_TRIES);
				if (o->status == GNTST_okay) {
					o->addr = NULL;
					o->handle = 0;
				}
				continue;
			}
			memset(&req[k], 0, sizeof(req[k]));
			req[k].handle = o->handle;
			idx[k++] = o;
		}
		if (!k)
			break;
		ret = lp_call(hv, HV_OP_GNTTAB_UNMAP, req, k * sizeof(req[0]), NULL,
			      0, -1, req, sizeof(req), &len, NULL, NULL);
		if (ret < 0)
			return ret;
		if (len != k * sizeof(req[0]))
			return -EPROTO;
		for (unsigned int i = 0; i < k; i++) {
			idx[i]->status = req[i].status;
			if (req[i].status == GNTST_okay) {
				if (idx[i]->addr)
					lp_ram_put_addr(hv, idx[i]->addr);
				idx[i]->addr = NULL;
				idx[i]->handle = 0;
			}
		}
	}
	return 0;
}

/* Domains: through hv, as many ops per message as fit. */
static int copy_remote(struct pvio_hv *hv, struct pvio_gnt_copy *ops, unsigned int n)
{
	static const size_t room = HV_PAYLOAD_MAX - 8;
	uint8_t *req = malloc(HV_PAYLOAD_MAX), *rep = malloc(HV_PAYLOAD_MAX);
	unsigned int done = 0;
	int ret = 0;

	if (!req || !rep) {
		free(req);
		free(rep);
		return -ENOMEM;
	}
	while (done < n) {
		size_t in_bytes = 0, out_bytes = 0, len, off;
		unsigned int k = 0;
		struct hv_copy_op *o = (struct hv_copy_op *)(req + 8);
		uint32_t cnt;

		/* ops that fit, with their data both ways */
		while (done + k < n) {
			struct pvio_gnt_copy *c = &ops[done + k];
			size_t l = c->len > PVIO_PAGE_SIZE ? 0 : c->len;
			size_t need = (k + 1) * sizeof(*o) +
				      in_bytes + (c->to_grant ? l : 0);
			size_t need_out = (k + 1) * sizeof(*o) +
					  out_bytes + (c->to_grant ? 0 : l);

			if (need > room || need_out > room)
				break;
			if (c->to_grant)
				in_bytes += l;
			else
				out_bytes += l;
			k++;
		}
		if (k == 0) {
			ret = -E2BIG;
			break;
		}
		cnt = k;
		memcpy(req, &cnt, 4);
		memset(req + 4, 0, 4);
		off = 8 + k * sizeof(*o);
		for (unsigned int i = 0; i < k; i++) {
			struct pvio_gnt_copy *c = &ops[done + i];

			memset(&o[i], 0, sizeof(o[i]));
			o[i].ref = c->ref;
			o[i].dom = c->dom;
			o[i].offset = c->offset;
			o[i].len = c->len;
			o[i].to_grant = c->to_grant;
			if (c->to_grant && c->len <= PVIO_PAGE_SIZE) {
				memcpy(req + off, c->buf, c->len);
				off += c->len;
			}
		}
		ret = lp_call(hv, HV_OP_GNTTAB_COPY, req, off, NULL, 0, -1, rep,
			      HV_PAYLOAD_MAX, &len, NULL, NULL);
		if (ret < 0)
			break;
		if (len < 8 + k * sizeof(*o)) {
			ret = -EPROTO;
			break;
		}
		off = 8 + k * sizeof(*o);
		for (unsigned int i = 0; i < k; i++) {
			struct pvio_gnt_copy *c = &ops[done + i];
			struct hv_copy_op r;

			memcpy(&r, rep + 8 + i * sizeof(r), sizeof(r));
			c->status = r.status;
			if (c->to_grant || c->len > PVIO_PAGE_SIZE)
				continue;
			if (off + c->len > len) {
				c->status = GNTST_general_error;
				continue;
			}
			if (c->status == GNTST_okay)
				memcpy(c->buf, rep + off, c->len);
			off += c->len;
		}
		done += k;
	}
	free(req);
	free(rep);
	return ret;
}

int pvio_gnttab_copy(struct pvio_hv *hv, struct pvio_gnt_copy *ops, unsigned int n)
{
	int worst = GNTST_okay;

	if (!local_on(hv)) {
		if (copy_remote(hv, ops, n) < 0)
			return GNTST_general_error;
		/* hv found the ref locked by a local mapper for a moment */
		for (unsigned int i = 0; i < n; i++)
			for (int t = 0; ops[i].status == GNTST_eagain &&
			     t < EAGAIN_TRIES; t++) {
				short_sleep();
				if (copy_remote(hv, &ops[i], 1) < 0)
					return GNTST_general_error;
			}
	} else {
		for (unsigned int i = 0; i < n; i++) {
			ops[i].status = copy_local(hv, &ops[i]);
			if (ops[i].status == COPY_VIA_HV &&
			    copy_remote(hv, &ops[i], 1) < 0)
				ops[i].status = GNTST_general_error;
		}
	}
	/* the batch's status: okay, or the first failure */
	for (unsigned int i = 0; i < n; i++)
		if (ops[i].status != GNTST_okay) {
			worst = ops[i].status;
			break;
		}
	return worst;
}
