/* SPDX-License-Identifier: MIT */
/*
 * libpvio: this process as a domain. Attach with a sealed memfd as RAM,
 * receive the platform region, allocate pages of the RAM, and register the
 * grant table frames with hv.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "libpvio_priv.h"

#define GNT_INUSE	(UINT32_MAX - 1)

/* Set by pvio_dom_detach: the hangup that follows is ours, not hv's. */
static bool domain_leaving;

static void dom_free(struct pvio_dom *d)
{
	if (d->plat)
		munmap(d->plat, PVIO_PLATFORM_SIZE);
	if (d->ram)
		munmap(d->ram, d->nr_pages * PVIO_PAGE_SIZE);
	if (d->ram_fd >= 0)
		close(d->ram_fd);
	free(d->page_map);
	free(d->gnt_next);
	free(d);
}

static int gnttab_init(struct pvio_dom *d)
{
	struct {
		struct hv_gnttab_setup s;
		uint64_t gfn[PVIO_GNTTAB_MAX_FRAMES];
	} req;
	uint64_t base;

	d->gnt = pvio_dom_alloc_pages(d, PVIO_GNTTAB_MAX_FRAMES);
	if (!d->gnt)
		return -ENOMEM;
	d->nr_refs = PVIO_GNTTAB_MAX_FRAMES * PVIO_GNTTAB_ENTRIES_PER_FRAME;
	d->gnt_next = calloc(d->nr_refs, sizeof(*d->gnt_next));
	if (!d->gnt_next)
		return -ENOMEM;
	/* the reserved refs are never handed out */
	d->gnt_free = UINT32_MAX;
	for (uint32_t r = d->nr_refs; r-- > PVIO_GNTTAB_RESERVED_ENTRIES;) {
		d->gnt_next[r] = d->gnt_free;
		d->gnt_free = r;
	}
	for (uint32_t r = 0; r < PVIO_GNTTAB_RESERVED_ENTRIES; r++)
		d->gnt_next[r] = GNT_INUSE;
	memset(&req, 0, sizeof(req));
	req.s.nr_frames = PVIO_GNTTAB_MAX_FRAMES;
	base = pvio_dom_gfn(d, d->gnt);
	for (unsigned int i = 0; i < PVIO_GNTTAB_MAX_FRAMES; i++)
		req.gfn[i] = base + i;
	return lp_simple(d->hv, HV_OP_GNTTAB_SETUP, &req, sizeof(req), NULL, 0);
}

static int dom_attach_conn(struct pvio_hv *hv, pvio_domid_t domid,
			   struct pvio_dom **out)
{
	struct pvio_domain_info info;
	struct hv_domid_arg a = { .domid = domid };
	struct hv_attach_reply rep;
	struct pvio_shared_info *si;
	struct pvio_dom *d;
	int fds[HV_MSG_MAX_FDS], nfds = 0, ret;
	size_t len;
	char name[32];

	ret = pvio_domain_info(hv, domid, &info);
	if (ret < 0)
		return ret;
	if (info.type != PVIO_DOMTYPE_PROCESS)
		return -EINVAL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->hv = hv;
	d->domid = domid;
	d->nr_pages = info.mem_bytes / PVIO_PAGE_SIZE;
	pthread_mutex_init(&d->page_lock, NULL);
	pthread_mutex_init(&d->gnt_lock, NULL);
	snprintf(name, sizeof(name), "pvio-ram-%u", domid);
	d->ram_fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (d->ram_fd < 0) {
		ret = -errno;
		goto fail;
	}
	if (ftruncate(d->ram_fd, (off_t)info.mem_bytes) < 0 ||
	    fcntl(d->ram_fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) < 0) {
		ret = -errno;
		goto fail;
	}
	d->ram = mmap(NULL, info.mem_bytes, PROT_READ | PROT_WRITE, MAP_SHARED,
		      d->ram_fd, 0);
	if (d->ram == MAP_FAILED) {
		d->ram = NULL;
		ret = -errno;
		goto fail;
	}
	d->page_map = calloc((d->nr_pages + 63) / 64, sizeof(uint64_t));
	if (!d->page_map) {
		ret = -ENOMEM;
		goto fail;
	}
	ret = lp_call(hv, HV_OP_ATTACH, &a, sizeof(a), NULL, 0, d->ram_fd,
		      &rep, sizeof(rep), &len, fds, &nfds);
	if (ret < 0)
		goto fail;
	if (nfds != 1 || len != sizeof(rep)) {
		for (int i = 0; i < nfds; i++)
			close(fds[i]);
		ret = -EPROTO;
		goto fail;
	}
	d->plat = mmap(NULL, PVIO_PLATFORM_SIZE, PROT_READ | PROT_WRITE,
		       MAP_SHARED, fds[0], 0);
	close(fds[0]);
	if (d->plat == MAP_FAILED) {
		d->plat = NULL;
		ret = -errno;
		goto fail;
	}
	si = d->plat;
	if (si->magic != PVIO_PLATFORM_MAGIC || si->domid != domid) {
		ret = -EPROTO;
		goto fail;
	}
	hv->domid = domid;
	hv->dom = d;
	ret = gnttab_init(d);
	if (ret < 0) {
		hv->dom = NULL;
		goto fail;
	}
	*out = d;
	return 0;
fail:
	dom_free(d);
	return ret;
}

int pvio_dom_attach(const char *rundir, pvio_domid_t domid, struct pvio_dom **out)
{
	struct pvio_hv *hv;
	int ret;

	if (domid == PVIO_DOMID_SELF) {
		const char *e = getenv("PVIO_DOMID");
		char *end;
		unsigned long v;

		if (!e || !*e)
			return -EINVAL;
		v = strtoul(e, &end, 10);
		if (*end || v == 0 || v >= PVIO_DOMID_FIRST_RESERVED)
			return -EINVAL;
		domid = (pvio_domid_t)v;
	}
	ret = lp_connect(rundir, &hv);
	if (ret < 0)
		return ret;
	ret = dom_attach_conn(hv, domid, out);
	if (ret < 0)
		pvio_hv_close(hv);
	return ret;
}

int pvio_dom_create_self(const char *rundir, const char *name, uint64_t mem_bytes,
			 struct pvio_dom **out)
{
	struct pvio_domain_config cfg;
	struct pvio_hv *hv;
	pvio_domid_t id;
	int ret;

	memset(&cfg, 0, sizeof(cfg));
	if (strlen(name) >= sizeof(cfg.name))
		return -ENAMETOOLONG;
	strcpy(cfg.name, name);
	cfg.type = PVIO_DOMTYPE_PROCESS;
	cfg.vcpus = 1;
	cfg.mem_bytes = mem_bytes;
	ret = lp_connect(rundir, &hv);
	if (ret < 0)
		return ret;
	ret = pvio_domain_create(hv, &cfg, &id);
	if (ret == 0) {
		ret = dom_attach_conn(hv, id, out);
		if (ret < 0)
			pvio_domain_destroy(hv, id);
	}
	if (ret < 0)
		pvio_hv_close(hv);
	return ret;
}

void pvio_dom_detach(struct pvio_dom *d)
{
	if (!d)
		return;
	__atomic_store_n(&domain_leaving, true, __ATOMIC_RELEASE);
	/* closing the connection is what makes hv destroy the domain */
	pvio_hv_close(d->hv);
	dom_free(d);
}

struct domain_watch_arg {
	int fd;
	pvio_domid_t domid;
};

static void *domain_watch(void *arg)
{
	struct domain_watch_arg w = *(struct domain_watch_arg *)arg;
	struct pollfd p = { .fd = w.fd, .events = POLLRDHUP };

	free(arg);
	/* replies make the socket readable; only the peer's hangup wakes us */
	while (poll(&p, 1, -1) < 0 || !(p.revents & (POLLRDHUP | POLLHUP |
						     POLLERR)))
		;
	if (__atomic_load_n(&domain_leaving, __ATOMIC_ACQUIRE))
		return NULL;
	fprintf(stderr, "pvio: domain %u is gone (hv closed its connection)\n",
		w.domid);
	_exit(3);
	return NULL;
}

int pvio_dom_exit_with_domain(struct pvio_dom *d)
{
	struct domain_watch_arg *w = malloc(sizeof(*w));
	pthread_attr_t a;
	pthread_t t;
	int ret;

	if (!w)
		return -ENOMEM;
	w->fd = d->hv->fd;
	w->domid = d->domid;
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	ret = pthread_create(&t, &a, domain_watch, w);
	pthread_attr_destroy(&a);
	if (ret)
		free(w);
	return -ret;
}

struct pvio_hv *pvio_dom_hv(struct pvio_dom *d)
{
	return d->hv;
}

pvio_domid_t pvio_dom_id(const struct pvio_dom *d)
{
	return d->domid;
}

struct pvio_shared_info *pvio_dom_shared_info(struct pvio_dom *d)
{
	return (struct pvio_shared_info *)((char *)d->plat + PVIO_PLATFORM_OFF_SHARED);
}

void *pvio_dom_platform(struct pvio_dom *d)
{
	return d->plat;
}

static bool page_used(const struct pvio_dom *d, uint64_t i)
{
	return d->page_map[i / 64] & (1ull << (i % 64));
}

static void page_set(struct pvio_dom *d, uint64_t i, bool used)
{
	if (used)
		d->page_map[i / 64] |= 1ull << (i % 64);
	else
		d->page_map[i / 64] &= ~(1ull << (i % 64));
}

void *pvio_dom_alloc_pages(struct pvio_dom *d, unsigned int n)
{
	uint64_t run = 0, i;
	void *p = NULL;

	if (n == 0)
		return NULL;
	pthread_mutex_lock(&d->page_lock);
	for (i = 0; i < d->nr_pages; i++) {
		run = page_used(d, i) ? 0 : run + 1;
		if (run == n) {
			uint64_t first = i + 1 - n;

			for (uint64_t k = first; k <= i; k++)
				page_set(d, k, true);
			p = d->ram + first * PVIO_PAGE_SIZE;
			break;
		}
	}
	pthread_mutex_unlock(&d->page_lock);
	if (p)
		memset(p, 0, (size_t)n * PVIO_PAGE_SIZE);
	return p;
}

void pvio_dom_free_pages(struct pvio_dom *d, void *p, unsigned int n)
{
	uint64_t first;

	if (!p)
		return;
	first = pvio_dom_gfn(d, p);
	if (first >= d->nr_pages || first + n > d->nr_pages)
		return;
	pthread_mutex_lock(&d->page_lock);
	for (uint64_t k = first; k < first + n; k++)
		page_set(d, k, false);
	pthread_mutex_unlock(&d->page_lock);
}

uint64_t pvio_dom_gfn(const struct pvio_dom *d, const void *p)
{
	return (uint64_t)((const uint8_t *)p - d->ram) / PVIO_PAGE_SIZE;
}
