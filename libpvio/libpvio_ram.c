/* SPDX-License-Identifier: MIT */
/*
 * libpvio: views of foreign domains' RAM. hv hands a dom0 client the fd of a
 * domain's RAM once; the client maps it (read-write where allowed, and a
 * PROT_READ view) and caches the mapping per domain, so that mapping a grant
 * is pointer arithmetic once hv has validated it.
 *
 * A view counts what points into it: each live grant map (taken when the
 * map succeeds, given back when its unmap does) and each local copy while
 * it runs. A view of a domain that is gone (pvio_hv_forget_dead) or was
 * replaced by a new incarnation of its domid is unmapped as soon as that
 * count is zero, so the memory of dead domains is not kept.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "libpvio_priv.h"

static void ram_unmap(struct lp_ram *r)
{
	size_t bytes = r->nr_pages * PVIO_PAGE_SIZE;

	if (r->rw)
		munmap(r->rw, bytes);
	if (r->ro)
		munmap((void *)r->ro, bytes);
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
	if (nfds != 1 || len != sizeof(rep) || rep.nr_pages == 0 ||
	    rep.nr_gnttab_frames > PVIO_GNTTAB_MAX_FRAMES) {
		for (int i = 0; i < nfds; i++)
			close(fds[i]);
		*err = -EPROTO;
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		close(fds[0]);
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
		ram_unmap(r);
		return NULL;
	}
	return r;
}

/* Unlink and unmap @r (ram_lock held). */
static void ram_drop_locked(struct pvio_hv *hv, struct lp_ram *r)
{
	struct lp_ram **p;

	for (p = &hv->rams; *p; p = &(*p)->next) {
		if (*p == r) {
			*p = r->next;
			break;
		}
	}
	ram_unmap(r);
}

struct lp_ram *lp_ram_get(struct pvio_hv *hv, pvio_domid_t domid,
			  uint64_t serial_hint, int *err)
{
	struct lp_ram *r;

	pthread_mutex_lock(&hv->ram_lock);
	for (r = hv->rams; r; r = r->next)
		if (r->domid == domid && !r->dead)
			break;
	if (r && (serial_hint == 0 || r->serial == serial_hint)) {
		r->users++;
		pthread_mutex_unlock(&hv->ram_lock);
		return r;
	}
	if (r) {
		/* another incarnation of this domid: the old view goes */
		r->dead = true;
		if (!r->users)
			ram_drop_locked(hv, r);
	}
	r = ram_fetch(hv, domid, err);
	if (r) {
		r->users = 1;
		r->next = hv->rams;
		hv->rams = r;
	}
	pthread_mutex_unlock(&hv->ram_lock);
	return r;
}

void lp_ram_put(struct pvio_hv *hv, struct lp_ram *r)
{
	pthread_mutex_lock(&hv->ram_lock);
	if (r->users && !--r->users && r->dead)
		ram_drop_locked(hv, r);
	pthread_mutex_unlock(&hv->ram_lock);
}

void lp_ram_put_addr(struct pvio_hv *hv, const void *addr)
{
	const uint8_t *a = addr;
	struct lp_ram *r;

	pthread_mutex_lock(&hv->ram_lock);
	for (r = hv->rams; r; r = r->next) {
		size_t bytes = r->nr_pages * PVIO_PAGE_SIZE;

		if ((r->rw && a >= r->rw && a < r->rw + bytes) ||
		    (a >= r->ro && a < r->ro + bytes))
			break;
	}
	if (r && r->users && !--r->users && r->dead)
		ram_drop_locked(hv, r);
	pthread_mutex_unlock(&hv->ram_lock);
}

int pvio_hv_forget_dead(struct pvio_hv *hv)
{
	struct pvio_domain_info *v;
	struct lp_ram *r, *next;
	unsigned int n;
	int ret, dropped = 0;

	ret = pvio_domain_list(hv, &v, &n);
	if (ret < 0)
		return ret;
	pthread_mutex_lock(&hv->ram_lock);
	for (r = hv->rams; r; r = next) {
		next = r->next;
		if (!pvio_domain_gone(hv, v, n, r->domid))
			continue;
		r->dead = true;
		if (!r->users) {
			ram_drop_locked(hv, r);
			dropped++;
		}
	}
	pthread_mutex_unlock(&hv->ram_lock);
	free(v);
	return dropped;
}

void pvio_hv_ram_stats(struct pvio_hv *hv, unsigned int *views,
		       unsigned int *dead)
{
	struct lp_ram *r;

	*views = *dead = 0;
	pthread_mutex_lock(&hv->ram_lock);
	for (r = hv->rams; r; r = r->next) {
		(*views)++;
		*dead += r->dead;
	}
	pthread_mutex_unlock(&hv->ram_lock);
}

void lp_ram_drop_all(struct pvio_hv *hv)
{
	struct lp_ram *r;

	while ((r = hv->rams)) {
		hv->rams = r->next;
		ram_unmap(r);
	}
}
