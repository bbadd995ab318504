/* SPDX-License-Identifier: MIT */
/*
 * libpvio: views of foreign domains' RAM. hv hands a dom0 client the fd of a
 * domain's RAM once; the client maps it (read-write where allowed, and a
 * PROT_READ view) and caches the mapping per domain, so that mapping a grant
 * is pointer arithmetic once hv has validated it. A view of an earlier
 * incarnation of a domid is retired, not unmapped: pages of it may still be
 * in use by a caller.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "libpvio_priv.h"

static struct lp_ram *retired;	/* stale views kept mapped: pages may be in use */
static pthread_mutex_t retired_lock = PTHREAD_MUTEX_INITIALIZER;

static void ram_unmap(struct lp_ram *r)
{
	size_t bytes = r->nr_pages * PVIO_PAGE_SIZE;

	if (r->rw)
		munmap(r->rw, bytes);
	if (r->ro)
		munmap((void *)r->ro, bytes);
	if (r->dirty)
		munmap(r->dirty, lp_dirty_bytes(r->nr_pages));
	free(r);
}

static struct lp_ram *ram_fetch(struct pvio_hv *hv, pvio_domid_t domid, int *err)
{
	struct hv_domid_arg a = { .domid = domid };
	struct hv_ram_reply rep;
	struct lp_ram *r;
	int fds[HV_MSG_MAX_FDS], nfds, ret;
	size_t len, bytes;

	ret = lp_call(hv, HV_OP_GET_RAM, &a, sizeof(a), NULL, 0, -1, &rep,
		      sizeof(rep), &len, fds, &nfds);
	if (ret < 0) {
		*err = ret;
		return NULL;
	}
	if (nfds < 1 || nfds > 2 || len != sizeof(rep) || rep.nr_pages == 0 ||
	    rep.nr_gnttab_frames > PVIO_GNTTAB_MAX_FRAMES) {
		for (int i = 0; i < nfds; i++)
			close(fds[i]);
		*err = -EPROTO;
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		for (int i = 0; i < nfds; i++)
			close(fds[i]);
		*err = -ENOMEM;
		return NULL;
	}
	r->domid = domid;
	r->serial = rep.serial;
	r->nr_pages = rep.nr_pages;
	r->nr_gnt_frames = rep.nr_gnttab_frames;
	memcpy(r->gnt_gfn, rep.gnttab_gfn, sizeof(r->gnt_gfn));
	bytes = r->nr_pages * PVIO_PAGE_SIZE;
	r->rw = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fds[0], 0);
	if (r->rw == MAP_FAILED)
		r->rw = NULL;
	r->ro = mmap(NULL, bytes, PROT_READ, MAP_SHARED, fds[0], 0);
	close(fds[0]);
	if (r->ro == MAP_FAILED) {
		r->ro = NULL;
		*err = -errno;
		if (nfds == 2)
			close(fds[1]);
		ram_unmap(r);
		return NULL;
	}
	if (nfds == 2) {
		/* a VM's dirty log: our writes into it must be seen there */
		void *dl = mmap(NULL, lp_dirty_bytes(r->nr_pages),
				PROT_READ | PROT_WRITE, MAP_SHARED, fds[1], 0);

		close(fds[1]);
		r->dirty = dl == MAP_FAILED ? NULL : dl;
		if (!r->dirty) {
			*err = -errno;
			ram_unmap(r);
			return NULL;
		}
	}
	return r;
}

struct lp_ram *lp_ram_get(struct pvio_hv *hv, pvio_domid_t domid,
			  uint64_t serial_hint, int *err)
{
	struct lp_ram *r, **p;

	pthread_mutex_lock(&hv->ram_lock);
	for (p = &hv->rams; (r = *p); p = &r->next)
		if (r->domid == domid)
			break;
	if (r && (serial_hint == 0 || r->serial == serial_hint)) {
		pthread_mutex_unlock(&hv->ram_lock);
		return r;
	}
	if (r) {
		/* another incarnation of this domid: retire the old view */
		*p = r->next;
		pthread_mutex_lock(&retired_lock);
		r->next = retired;
		retired = r;
		pthread_mutex_unlock(&retired_lock);
	}
	r = ram_fetch(hv, domid, err);
	if (r) {
		r->next = hv->rams;
		hv->rams = r;
	}
	pthread_mutex_unlock(&hv->ram_lock);
	return r;
}

void lp_ram_drop_all(struct pvio_hv *hv)
{
	struct lp_ram *r;

	while ((r = hv->rams)) {
		hv->rams = r->next;
		ram_unmap(r);
	}
}
