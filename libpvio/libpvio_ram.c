/* SPDX-License-Identifier: MIT */
/*
 * libpvio: views of foreign domains' RAM. hv hands a dom0 client the fd of a
 * domain's RAM once; the client maps it (read-write where allowed, and a
 * PROT_READ view) and caches the mapping per domain, so that mapping a grant
 * is pointer arithmetic once the grant is validated. A dom0 client also
 * gets the domain's pin table and its own table for it (grant/gnttab_pin.h)
 * so that it validates and pins grants itself.
 *
 * A view counts what points into it: each live grant map (taken when the
 * map succeeds, given back when its unmap does) and each local copy while
 * it runs. A view of a domain that is gone (pvio_hv_forget_dead) or was
 * replaced by a new incarnation of its domid is unmapped as soon as that
 * count is zero, so the memory of dead domains is not kept; its index for
 * local handles is then free for another view.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "libpvio_priv.h"
#include "../grant/gnttab_pin.h"

static void local_unmap(struct lp_ram *r)
{
	if (r->pin)
		munmap(r->pin, GNTTAB_PIN_BYTES);
	if (r->own)
		munmap(r->own, GNTTAB_PIN_BYTES);
	r->pin = NULL;
	r->own = NULL;
}

static void ram_unmap(struct lp_ram *r)
{
	size_t bytes = r->nr_pages * PVIO_PAGE_SIZE;

	local_unmap(r);
	if (r->rw)
		munmap(r->rw, bytes);
	if (r->ro)
		munmap((void *)r->ro, bytes);
	if (r->dirty)
		munmap(r->dirty, lp_dirty_bytes(r->nr_pages));
	free(r);
}

static bool local_wanted(const struct pvio_hv *hv)
{
	return hv->domid == 0 && !hv->dom && !hv->no_local;
}

/*
 * dom0: the domain's pin table and our own table for it, mapped into @r
 * (left NULL if hv gives none: maps then go through hv).
 */
static void local_fetch(struct pvio_hv *hv, pvio_domid_t domid,
			struct lp_ram *r)
{
	struct hv_domid_arg a = { .domid = domid };
	struct hv_gnttab_local_reply rep;
	const struct gnttab_own_hdr *oh;
	const struct gnttab_pin_hdr *ph;
	int fds[HV_MSG_MAX_FDS], nfds, ret;
	size_t len;

	ret = lp_call(hv, HV_OP_GNTTAB_LOCAL, &a, sizeof(a), NULL, 0, -1, &rep,
		      sizeof(rep), &len, fds, &nfds);
	if (ret < 0)
		return;
	if (nfds == 2 && len == sizeof(rep) &&
	    rep.nr_refs == GNTTAB_PIN_REFS &&
	    rep.owner >= GNTTAB_OWNER_FIRST) {
		r->pin = mmap(NULL, GNTTAB_PIN_BYTES, PROT_READ | PROT_WRITE,
			      MAP_SHARED, fds[0], 0);
		r->own = mmap(NULL, GNTTAB_PIN_BYTES, PROT_READ | PROT_WRITE,
			      MAP_SHARED, fds[1], 0);
		if (r->pin == MAP_FAILED)
			r->pin = NULL;
		if (r->own == MAP_FAILED)
			r->own = NULL;
	}
	for (int i = 0; i < nfds; i++)
		close(fds[i]);
	ph = r->pin;
	oh = r->own;
	if (!ph || !oh || ph->magic != GNTTAB_PIN_MAGIC ||
	    oh->magic != GNTTAB_OWN_MAGIC || ph->serial != rep.serial ||
	    oh->serial != rep.serial || oh->owner != rep.owner) {
		local_unmap(r);
		return;
	}
	r->serial = rep.serial;
	r->owner = rep.owner;
	/* read before the frames: a setup after this makes us look again */
	r->table_gen = __atomic_load_n(&ph->table_gen, __ATOMIC_ACQUIRE);
}

/*
 * The domain's RAM fd, and for a VM (dom0 only) its dirty log's fd in
 * *@dirty_fd (-1 if none; closed if @dirty_fd is NULL).
 */
static int get_ram(struct pvio_hv *hv, pvio_domid_t domid,
		   struct hv_ram_reply *rep, int *fd, int *dirty_fd)
{
	struct hv_domid_arg a = { .domid = domid };
	int fds[HV_MSG_MAX_FDS], nfds, ret;
	size_t len;

	ret = lp_call(hv, HV_OP_GET_RAM, &a, sizeof(a), NULL, 0, -1, rep,
		      sizeof(*rep), &len, fds, &nfds);
	if (ret < 0)
		return ret;
	if (nfds < 1 || nfds > 2 || len != sizeof(*rep) || rep->nr_pages == 0 ||
	    rep->nr_gnttab_frames > PVIO_GNTTAB_MAX_FRAMES) {
		for (int i = 0; i < nfds; i++)
			close(fds[i]);
		return -EPROTO;
	}
	*fd = fds[0];
	if (dirty_fd)
		*dirty_fd = nfds == 2 ? fds[1] : -1;
	else if (nfds == 2)
		close(fds[1]);
	return 0;
}

static struct lp_ram *ram_fetch(struct pvio_hv *hv, pvio_domid_t domid, int *err)
{
	struct hv_ram_reply rep;
	struct lp_ram *r;
	size_t bytes;
	int fd, dfd, ret;

	r = calloc(1, sizeof(*r));
	if (!r) {
		*err = -ENOMEM;
		return NULL;
	}
	if (local_wanted(hv))
		local_fetch(hv, domid, r);
	ret = get_ram(hv, domid, &rep, &fd, &dfd);
	if (ret < 0) {
		local_unmap(r);
		free(r);
		*err = ret;
		return NULL;
	}
	if (r->pin && r->serial != rep.serial)
		local_unmap(r);		/* another incarnation in between */
	r->domid = domid;
	r->serial = rep.serial;
	r->nr_pages = rep.nr_pages;
	r->nr_gnt_frames = rep.nr_gnttab_frames;
	memcpy(r->gnt_gfn, rep.gnttab_gfn, sizeof(r->gnt_gfn));
	bytes = r->nr_pages * PVIO_PAGE_SIZE;
	r->rw = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (r->rw == MAP_FAILED)
		r->rw = NULL;
	r->ro = mmap(NULL, bytes, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (r->ro == MAP_FAILED) {
		r->ro = NULL;
		*err = -errno;
		if (dfd >= 0)
			close(dfd);
		ram_unmap(r);
		return NULL;
	}
	if (dfd >= 0) {
		/* a VM's dirty log: our writes into it must be seen there */
		void *dl = mmap(NULL, lp_dirty_bytes(r->nr_pages),
				PROT_READ | PROT_WRITE, MAP_SHARED, dfd, 0);

		close(dfd);
		r->dirty = dl == MAP_FAILED ? NULL : dl;
		if (!r->dirty) {
			*err = -errno;
			ram_unmap(r);
			return NULL;
		}
	}
	if (!r->rw)
		local_unmap(r);		/* local maps write the entries */
	return r;
}

/* Give @r an index for local handles (ram_lock held); else no local maps. */
static void local_index(struct pvio_hv *hv, struct lp_ram *r)
{
	uint32_t i = hv->nr_local_views;
	struct lp_ram ***c;

	if (!r->pin)
		return;
	if (hv->nr_local_free) {
		i = hv->local_free[--hv->nr_local_free];
		r->local_idx = i;
		c = &hv->local_views[i / LP_LOCAL_CHUNK];
		__atomic_store_n(&(*c)[i % LP_LOCAL_CHUNK], r, __ATOMIC_RELEASE);
		return;
	}
	if (i >= LP_LOCAL_VIEWS) {
		local_unmap(r);
		return;
	}
	c = &hv->local_views[i / LP_LOCAL_CHUNK];
	if (!*c) {
		struct lp_ram **n = calloc(LP_LOCAL_CHUNK, sizeof(*n));

		if (!n) {
			local_unmap(r);
			return;
		}
		__atomic_store_n(c, n, __ATOMIC_RELEASE);
	}
	r->local_idx = i;
	__atomic_store_n(&(*c)[i % LP_LOCAL_CHUNK], r, __ATOMIC_RELEASE);
	hv->nr_local_views = i + 1;
}

int lp_ram_refresh(struct pvio_hv *hv, struct lp_ram *r)
{
	const struct gnttab_pin_hdr *ph = r->pin;
	struct hv_ram_reply rep;
	uint32_t gen;
	int fd, ret;

	if (!ph)
		return 0;
	gen = __atomic_load_n(&ph->table_gen, __ATOMIC_ACQUIRE);
	ret = get_ram(hv, r->domid, &rep, &fd, NULL);
	if (ret < 0)
		return ret;
	close(fd);
	if (rep.serial != r->serial)
		return -ESRCH;
	/*
	 * In place, no new mapping of the RAM: a domain that re-registers
	 * its table in a loop costs us a round trip per change, nothing
	 * more. Frames only change while no grant of the table is pinned.
	 */
	pthread_mutex_lock(&hv->ram_lock);
	memcpy(r->gnt_gfn, rep.gnttab_gfn, sizeof(r->gnt_gfn));
	__atomic_store_n(&r->nr_gnt_frames, rep.nr_gnttab_frames,
			 __ATOMIC_RELEASE);
	__atomic_store_n(&r->table_gen, gen, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&hv->ram_lock);
	return 0;
}

/*
 * Unlink and unmap @r (ram_lock held); its local index, if it has one,
 * is free again. Nothing points into it: every map of it was unmapped.
 */
static void ram_drop_locked(struct pvio_hv *hv, struct lp_ram *r)
{
	struct lp_ram **p;

	for (p = &hv->rams; *p; p = &(*p)->next) {
		if (*p == r) {
			*p = r->next;
			break;
		}
	}
	if (r->pin && r->local_idx < hv->nr_local_views) {
		struct lp_ram **c = hv->local_views[r->local_idx / LP_LOCAL_CHUNK];

		if (!hv->local_free)
			hv->local_free = calloc(LP_LOCAL_VIEWS,
						sizeof(*hv->local_free));
		/* without room to remember it, the index stays unused */
		__atomic_store_n(&c[r->local_idx % LP_LOCAL_CHUNK], NULL,
				 __ATOMIC_RELEASE);
		if (hv->local_free)
			hv->local_free[hv->nr_local_free++] = r->local_idx;
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
		local_index(hv, r);
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
	for (unsigned int i = 0; i < LP_LOCAL_VIEWS / LP_LOCAL_CHUNK; i++) {
		free(hv->local_views[i]);
		hv->local_views[i] = NULL;
	}
	free(hv->local_free);
	hv->local_free = NULL;
	hv->nr_local_views = hv->nr_local_free = 0;
}
