/* SPDX-License-Identifier: MIT */
/*
 * libpvio, mapping side: batched map/unmap through hv (which validates and
 * pins each entry), and grant copy. A mapped page is addressed inside a
 * per-domain mapping of the granter's RAM, fetched once and cached; a
 * read-only map points into a PROT_READ view. dom0 copies locally on the
 * granter's shared entry (no hv round trip); domains copy through hv.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "../libpvio/libpvio_priv.h"
#include "gnttab_entry.h"

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

			ops[i].addr = (void *)(base + o.frame * PVIO_PAGE_SIZE);
			continue;
		}
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

int pvio_gnttab_map(struct pvio_hv *hv, struct pvio_gnt_map *ops, unsigned int n)
{
	unsigned int done = 0;

	while (done < n) {
		unsigned int k = n - done < MAP_BATCH ? n - done : (unsigned int)MAP_BATCH;
		int ret = map_batch(hv, ops + done, k);

		if (ret < 0)
			return ret;
		/*
		 * GNTST_eagain: a dom0 local copy held the entry for a moment;
		 * retry those ops alone, a bounded number of times.
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

int pvio_gnttab_unmap(struct pvio_hv *hv, struct pvio_gnt_map *ops, unsigned int n)
{
	struct pvio_gnttab_unmap_op req[UNMAP_BATCH];
	unsigned int done = 0;

	while (done < n) {
		unsigned int k = n - done < UNMAP_BATCH ? n - done : (unsigned int)UNMAP_BATCH;
		size_t len;
		int ret;

		for (unsigned int i = 0; i < k; i++) {
			memset(&req[i], 0, sizeof(req[i]));
			req[i].handle = ops[done + i].handle;
		}
		ret = lp_call(hv, HV_OP_GNTTAB_UNMAP, req, k * sizeof(req[0]), NULL,
			      0, -1, req, sizeof(req), &len, NULL, NULL);
		if (ret < 0)
			return ret;
		if (len != k * sizeof(req[0]))
			return -EPROTO;
		for (unsigned int i = 0; i < k; i++) {
			ops[done + i].status = req[i].status;
			if (req[i].status == GNTST_okay) {
				ops[done + i].addr = NULL;
				ops[done + i].handle = 0;
			}
		}
		done += k;
	}
	return 0;
}

/* dom0: copy on the granter's shared entry, with no hv round trip. */
static int16_t copy_local(struct pvio_hv *hv, struct pvio_gnt_copy *op)
{
	struct pvio_grant_entry_v1 *e;
	struct lp_ram *r;
	uint16_t taken = 0;
	uint32_t frame = 0;
	uint8_t *page;
	int16_t st;
	int err = 0;

	if ((uint32_t)op->offset + op->len > PVIO_PAGE_SIZE)
		return GNTST_bad_copy_arg;
	if (op->dom == 0 || op->dom >= PVIO_DOMID_FIRST_RESERVED)
		return GNTST_bad_domain;
	r = lp_ram_get(hv, op->dom, 0, &err);
	if (!r || !r->rw)
		return GNTST_bad_domain;
	if (op->ref >= r->nr_gnt_frames * PVIO_GNTTAB_ENTRIES_PER_FRAME) {
		/* the table may have been registered after we cached the view */
		r = lp_ram_get(hv, op->dom, UINT64_MAX, &err);
		if (!r || !r->rw)
			return GNTST_bad_domain;
		if (op->ref >= r->nr_gnt_frames * PVIO_GNTTAB_ENTRIES_PER_FRAME)
			return GNTST_bad_gntref;
	}
	if (r->gnt_gfn[op->ref / PVIO_GNTTAB_ENTRIES_PER_FRAME] >= r->nr_pages)
		return GNTST_bad_gntref;
	e = (struct pvio_grant_entry_v1 *)(r->rw +
		r->gnt_gfn[op->ref / PVIO_GNTTAB_ENTRIES_PER_FRAME] * PVIO_PAGE_SIZE) +
		op->ref % PVIO_GNTTAB_ENTRIES_PER_FRAME;
	/*
	 * Borrow the bits for the copy: set them if nobody has, so that the
	 * granter cannot end access mid-copy; if a mapping already holds
	 * them, they are left to it.
	 */
	st = gnttab_entry_pin(e, 0, op->to_grant != 0, GTF_reading | GTF_writing,
			      &taken, &frame);
	if (st != GNTST_okay)
		return st;
	if (frame >= r->nr_pages) {
		gnttab_entry_unpin(e, taken);
		return GNTST_bad_page;
	}
	page = r->rw + (uint64_t)frame * PVIO_PAGE_SIZE;
	if (op->to_grant) {
		memcpy(page + op->offset, op->buf, op->len);
		lp_ram_dirty(r, frame);
	} else {
		memcpy(op->buf, page + op->offset, op->len);
	}
	gnttab_entry_unpin(e, taken);
	return GNTST_okay;
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

	if (hv->domid != 0 || hv->dom) {
		int ret = copy_remote(hv, ops, n);

		if (ret < 0)
			return GNTST_general_error;
	} else {
		for (unsigned int i = 0; i < n; i++)
			ops[i].status = copy_local(hv, &ops[i]);
	}
	/* the batch's status: okay, or the first failure */
	for (unsigned int i = 0; i < n; i++)
		if (ops[i].status != GNTST_okay) {
			worst = ops[i].status;
			break;
		}
	return worst;
}
