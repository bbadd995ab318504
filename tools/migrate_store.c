// SPDX-License-Identifier: MIT
/*
 * The store nodes a domain owns, carried by save/restore and migration.
 *
 * Every node under /local/domain/N whose owner is N (what the guest wrote:
 * data/, attr/, control/feature-*, ... and whatever it created itself) is
 * carried with its value and permissions, except device/: the frontends
 * negotiate their connections afresh with the destination's backends. The
 * destination writes them under its /local/domain/N' with N mapped to N'
 * in the permissions (dom0 stays, other domains are not known there and are
 * dropped). The nodes the toolstack makes (name, domid, memory/, ...)
 * are made by the destination's toolstack itself.
 *
 * The blob comes from the other host: every record is checked (lengths,
 * a relative path of the store's characters, no device/, bounded counts)
 * before anything is written.
 *
 * Blob: "PVST" u32 version, u32 old domid, u32 count, then count records of
 * u16 path length, u16 number of perms, u32 value length, the path (no
 * NUL), the value, and per perm u32 domid, u32 access.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pvio/xenbus.h"
#include "migrate.h"
#include "pvio_domstore.h"

#define ST_MAGIC	"PVST"
#define ST_VERSION	1u
#define ST_PATH_MAX	256	/* below /local/domain/N/ */
#define ST_VALUE_MAX	4096	/* a store payload */
#define ST_PERMS_MAX	8
#define ST_NODES_MAX	2048	/* Xen's default quota is 1000 per domain */
#define ST_DEPTH_MAX	16

struct st_buf {
	uint8_t *p;
	size_t len, cap;
	unsigned int count;
};

static int buf_put(struct st_buf *b, const void *src, size_t n)
{
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 4096;
		uint8_t *p;

		while (cap < b->len + n)
			cap *= 2;
		if (cap > MIG_STORE_MAX)
			return -E2BIG;
		p = realloc(b->p, cap);
		if (!p)
			return -ENOMEM;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, src, n);
	b->len += n;
	return 0;
}

static int buf_u32(struct st_buf *b, uint32_t v)
{
	return buf_put(b, &v, sizeof(v));
}

/* One node (@rel below @base) and, unless it is device/, its children. */
static int collect_node(struct xs_handle *xs, xs_transaction_t t,
			const char *base, const char *rel, pvio_domid_t domid,
			unsigned int depth, struct st_buf *b)
{
	char path[ST_PATH_MAX + 64];
	struct xs_perm *perms = NULL;
	unsigned int nperms = 0, n = 0;
	char **kids = NULL, *val = NULL;
	size_t vlen = 0;
	int rc;

	if (depth > ST_DEPTH_MAX || strlen(rel) >= ST_PATH_MAX)
		return -E2BIG;
	if (!strcmp(rel, "device"))
		return 0;
	snprintf(path, sizeof(path), "%s%s%s", base, *rel ? "/" : "", rel);
	rc = xs_get_perms(xs, t, path, &perms, &nperms);
	if (rc == -ENOENT)
		return 0;	/* gone meanwhile */
	if (rc)
		return rc;
	if (*rel && nperms > 0 && perms[0].domid == domid) {
		rc = xs_read(xs, t, path, &val, &vlen);
		if (rc == -ENOENT)
			rc = 0;
		else if (!rc && (vlen > ST_VALUE_MAX || nperms > ST_PERMS_MAX))
			rc = -E2BIG;
		else if (!rc && ++b->count > ST_NODES_MAX)
			rc = -E2BIG;
		if (!rc && val) {
			uint16_t hdr[2] = { (uint16_t)strlen(rel),
					    (uint16_t)nperms };

			rc = buf_put(b, hdr, sizeof(hdr));
			rc = rc ?: buf_u32(b, (uint32_t)vlen);
			rc = rc ?: buf_put(b, rel, strlen(rel));
			rc = rc ?: buf_put(b, val, vlen);
			for (unsigned int i = 0; !rc && i < nperms; i++) {
				rc = buf_u32(b, perms[i].domid);
				rc = rc ?: buf_u32(b, perms[i].access);
			}
		}
		free(val);
	}
	free(perms);
	if (rc)
		return rc;
	rc = xs_directory(xs, t, path, &kids, &n);
	if (rc == -ENOENT)
		return 0;
	for (unsigned int i = 0; !rc && i < n; i++) {
		char sub[ST_PATH_MAX + 64];

		if (snprintf(sub, sizeof(sub), "%s%s%s", rel, *rel ? "/" : "",
			     kids[i]) >= ST_PATH_MAX) {
			rc = -E2BIG;
			break;
		}
		rc = collect_node(xs, t, base, sub, domid, depth + 1, b);
	}
	xs_free_list(kids, n);
	return rc;
}

int mig_store_collect(const char *rundir, pvio_domid_t domid, void **blob,
		      size_t *len)
{
	struct st_buf b = { 0 };
	struct xs_handle *xs;
	char base[64];
	int rc;

	rc = pvio_domstore_open(rundir, &xs);
	if (rc)
		return rc;
	snprintf(base, sizeof(base), "/local/domain/%u", domid);
	rc = buf_put(&b, ST_MAGIC, 4);
	rc = rc ?: buf_u32(&b, ST_VERSION);
	rc = rc ?: buf_u32(&b, domid);
	rc = rc ?: buf_u32(&b, 0);	/* count, set below */
	/* the guest is suspended: its nodes hold still */
	rc = rc ?: collect_node(xs, XS_TXN_NULL, base, "", domid, 0, &b);
	xs_close(xs);
	if (rc) {
		free(b.p);
		return rc;
	}
	memcpy(b.p + 12, &b.count, 4);
	*blob = b.p;
	*len = b.len;
	return 0;
}

/* A relative store path of the store's characters, nothing odd. */
static bool rel_path_ok(const char *p)
{
	if (!*p || *p == '/' || p[strlen(p) - 1] == '/' || strstr(p, "//"))
		return false;
	if (!strcmp(p, "device") || !strncmp(p, "device/", 7))
		return false;
	for (; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || strchr("/_@-.", *p)))
			return false;
	return true;
}

struct st_rec {
	char path[ST_PATH_MAX];
	const uint8_t *val;
	uint32_t vlen;
	struct xs_perm perms[ST_PERMS_MAX];
	unsigned int nperms;
};

/* Parse record @i at *@off of @blob (@len bytes): 0 or -EPROTO. */
static int rec_next(const uint8_t *blob, size_t len, size_t *off,
		    uint32_t old, pvio_domid_t new, struct st_rec *r)
{
	uint16_t hdr[2];
	uint32_t vlen;
	size_t o = *off;
	unsigned int k = 0;

	if (len - o < sizeof(hdr) + 4)
		return -EPROTO;
	memcpy(hdr, blob + o, sizeof(hdr));
	memcpy(&vlen, blob + o + sizeof(hdr), 4);
	o += sizeof(hdr) + 4;
	if (hdr[0] == 0 || hdr[0] >= ST_PATH_MAX || hdr[1] == 0 ||
	    hdr[1] > ST_PERMS_MAX || vlen > ST_VALUE_MAX ||
	    len - o < (size_t)hdr[0] + vlen + hdr[1] * 8u)
		return -EPROTO;
	memcpy(r->path, blob + o, hdr[0]);
	r->path[hdr[0]] = 0;
	if (strlen(r->path) != hdr[0] || !rel_path_ok(r->path))
		return -EPROTO;
	o += hdr[0];
	r->val = blob + o;
	r->vlen = vlen;
	o += vlen;
	for (unsigned int i = 0; i < hdr[1]; i++, o += 8) {
		uint32_t d, acc;

		memcpy(&d, blob + o, 4);
		memcpy(&acc, blob + o + 4, 4);
		if (acc > XS_PERM_BOTH)
			return -EPROTO;
		if (d == old)
			d = new;
		else if (d != 0)
			continue;	/* a domain of the other host */
		r->perms[k].domid = (pvio_domid_t)d;
		r->perms[k].access = (uint8_t)acc;
		k++;
	}
	/* the owner is the domain itself (that is why the node came) */
	if (k == 0 || r->perms[0].domid != new) {
		if (k == ST_PERMS_MAX)
			k--;
		memmove(r->perms + 1, r->perms, k * sizeof(*r->perms));
		r->perms[0].domid = new;
		r->perms[0].access = XS_PERM_NONE;
		k++;
	}
	r->nperms = k;
	*off = o;
	return 0;
}

struct apply_arg {
	const uint8_t *blob;
	size_t len;
	uint32_t old, count;
	pvio_domid_t new;
};

static int apply_txn(struct xs_handle *xs, xs_transaction_t t, void *arg)
{
	struct apply_arg *a = arg;
	struct st_rec *r = malloc(sizeof(*r));
	size_t off = 16;
	int rc = 0;

	if (!r)
		return -ENOMEM;
	for (uint32_t i = 0; !rc && i < a->count; i++) {
		char path[ST_PATH_MAX + 64];

		rc = rec_next(a->blob, a->len, &off, a->old, a->new, r);
		if (rc)
			break;
		snprintf(path, sizeof(path), "/local/domain/%u/%s", a->new,
			 r->path);
		rc = xs_write(xs, t, path, r->val, r->vlen);
		rc = rc ?: xs_set_perms(xs, t, path, r->perms, r->nperms);
	}
	free(r);
	return rc;
}

int mig_store_apply(const char *rundir, pvio_domid_t domid, const void *blob,
		    size_t len)
{
	struct apply_arg a = { .blob = blob, .len = len, .new = domid };
	struct st_rec *r;
	struct xs_handle *xs;
	uint32_t version;
	size_t off = 16;
	int rc = 0;

	if (len < 16 || len > MIG_STORE_MAX || memcmp(blob, ST_MAGIC, 4))
		return -EPROTO;
	memcpy(&version, a.blob + 4, 4);
	memcpy(&a.old, a.blob + 8, 4);
	memcpy(&a.count, a.blob + 12, 4);
	if (version != ST_VERSION || a.count > ST_NODES_MAX)
		return -EPROTO;
	/* every record is checked before anything is written */
	r = malloc(sizeof(*r));
	if (!r)
		return -ENOMEM;
	for (uint32_t i = 0; !rc && i < a.count; i++)
		rc = rec_next(a.blob, len, &off, a.old, domid, r);
	free(r);
	if (!rc && off != len)
		rc = -EPROTO;
	if (rc)
		return rc;
	rc = pvio_domstore_open(rundir, &xs);
	if (rc)
		return rc;
	rc = xs_transaction_run(xs, apply_txn, &a);
	xs_close(xs);
	return rc;
}
