/*
 * Simulated guest memory and grant operations for the fuzz harnesses: see
 * fuzz_guest.h. The grant checks are the real ones (gnttab_entry.c); only
 * hv's bookkeeping is simulated, with the same statuses.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz_guest.h"
#include "../../grant/gnttab_entry.h"

struct fg_world fg;

/* One mapping, as hv would record it; handle = index + 1. */
struct fg_map {
	bool live;
	pvio_domid_t dom;
	uint32_t ref;
	bool write;
	void *addr;
};

#define FG_MAX_MAPS	(1u << 16)
static struct fg_map maps[FG_MAX_MAPS];
static uint32_t pin_rd[FG_MAX_DOMS][FG_REFS], pin_wr[FG_MAX_DOMS][FG_REFS];

void fg_finding(const char *fmt, ...)
{
	va_list ap;

	printf("FINDING: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	fprintf(stderr, "FINDING: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	abort();
}

void fg_quiet(void)
{
	if (!getenv("PVIO_FUZZ_VERBOSE") && !freopen("/dev/null", "w", stderr))
		perror("/dev/null");
	setvbuf(stdout, NULL, _IOLBF, 0);
}

static void fg_fatal(const char *what)
{
	fg_finding("fuzz_guest: %s", what);
}

struct fg_dom *fg_dom_new(pvio_domid_t domid, unsigned int nr_pages)
{
	struct fg_dom *d;
	size_t bytes = (size_t)nr_pages * PVIO_PAGE_SIZE;

	if (fg.nr_doms == FG_MAX_DOMS || nr_pages < 2)
		fg_fatal("too many domains");
	d = &fg.dom[fg.nr_doms++];
	memset(d, 0, sizeof(*d));
	d->domid = domid;
	d->nr_pages = nr_pages;
	d->fd = memfd_create("fuzz-guest", MFD_CLOEXEC);
	if (d->fd < 0 || ftruncate(d->fd, (off_t)bytes) < 0)
		fg_fatal("memfd");
	d->rw = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, d->fd, 0);
	d->ro = mmap(NULL, bytes, PROT_READ, MAP_SHARED, d->fd, 0);
	if (d->rw == MAP_FAILED || d->ro == MAP_FAILED)
		fg_fatal("mmap");
	d->gnt = (struct pvio_grant_entry_v1 *)d->rw;
	return d;
}

struct fg_dom *fg_dom_get(pvio_domid_t domid)
{
	for (unsigned int i = 0; i < fg.nr_doms; i++)
		if (fg.dom[i].domid == domid)
			return &fg.dom[i];
	return NULL;
}

static unsigned int dom_index(const struct fg_dom *d)
{
	return (unsigned int)(d - fg.dom);
}

void *fg_page(struct fg_dom *d, unsigned int frame)
{
	return d->rw + (size_t)(frame % d->nr_pages) * PVIO_PAGE_SIZE;
}

void fg_grant(struct fg_dom *d, uint32_t ref, pvio_domid_t to,
	      unsigned int frame, bool readonly)
{
	struct pvio_grant_entry_v1 *e;

	if (ref >= FG_REFS || d->guarded)
		return;
	e = &d->gnt[ref];
	if (e->flags & (GTF_reading | GTF_writing))
		return;		/* in use: the granter cannot rewrite it */
	e->frame = frame;
	e->domid = to;
	__atomic_store_n(&e->flags, (uint16_t)(GTF_permit_access |
					       (readonly ? GTF_readonly : 0)),
			 __ATOMIC_RELEASE);
}

bool fg_revoke(struct fg_dom *d, uint32_t ref)
{
	if (ref >= FG_REFS || d->guarded)
		return false;
	return gnttab_entry_end(&d->gnt[ref]) == 0;
}

void fg_guard(struct fg_dom *d, bool on)
{
	size_t bytes = (size_t)d->nr_pages * PVIO_PAGE_SIZE;

	if (mprotect(d->rw, bytes, on ? PROT_NONE : PROT_READ | PROT_WRITE) ||
	    mprotect(d->ro, bytes, on ? PROT_NONE : PROT_READ))
		fg_fatal("mprotect");
	d->guarded = on;
}

void fg_dom_clear(struct fg_dom *d)
{
	unsigned int di = dom_index(d);

	for (uint32_t r = 0; r < FG_REFS; r++)
		if (pin_rd[di][r] || pin_wr[di][r])
			fg_fatal("clearing a domain whose grants are mapped");
	memset(d->rw, 0, (size_t)d->nr_pages * PVIO_PAGE_SIZE);
}

void fg_check_no_maps(const char *when)
{
	if (fg.live_maps)
		fg_finding("%u mappings left %s", fg.live_maps, when);
}

/* ---- the grant layer the backends call (libpvio's API) ---- */

static int16_t map_one(struct pvio_gnt_map *op)
{
	struct fg_dom *d = fg_dom_get(op->dom);
	bool write = !op->readonly;
	uint32_t frame = 0, i;
	int16_t st;
	unsigned int di;

	op->addr = NULL;
	op->handle = 0;
	if (op->dom != fg.served)
		fg_fatal("a backend mapped a domain it does not serve");
	if (!d || d->guarded)
		return GNTST_bad_domain;
	if (op->ref >= FG_REFS)
		return GNTST_bad_gntref;
	if (op->ref < PVIO_GNTTAB_RESERVED_ENTRIES)
		return GNTST_bad_gntref;
	di = dom_index(d);
	/* as hv: share the bits other mappings of the ref hold */
	st = gnttab_entry_pin(&d->gnt[op->ref], 0, write,
			      (uint16_t)((pin_rd[di][op->ref] ? GTF_reading : 0) |
					 (pin_wr[di][op->ref] ? GTF_writing : 0)),
			      NULL, &frame);
	if (st != GNTST_okay)
		return st;
	pin_rd[di][op->ref]++;
	if (write)
		pin_wr[di][op->ref]++;
	if (frame >= d->nr_pages || frame == 0) {
		/* frame 0 is the table itself: never granted by our granters */
		uint16_t bits = 0;

		if (--pin_rd[di][op->ref] == 0)
			bits |= GTF_reading;
		if (write && --pin_wr[di][op->ref] == 0)
			bits |= GTF_writing;
		gnttab_entry_unpin(&d->gnt[op->ref], bits);
		return GNTST_bad_page;
	}
	for (i = 0; i < FG_MAX_MAPS && maps[i].live; i++)
		;
	if (i == FG_MAX_MAPS)
		return GNTST_no_device_space;
	maps[i] = (struct fg_map){ .live = true, .dom = op->dom,
				   .ref = op->ref, .write = write };
	maps[i].addr = (write ? d->rw : d->ro) + (size_t)frame * PVIO_PAGE_SIZE;
	op->addr = maps[i].addr;
	op->handle = i + 1;
	if (++fg.live_maps > fg.max_maps)
		fg.max_maps = fg.live_maps;
	return GNTST_okay;
}

int pvio_gnttab_map(struct pvio_hv *hv, struct pvio_gnt_map *ops, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		ops[i].status = map_one(&ops[i]);
		fg.nr_map_ops++;
	}
	return 0;
}

int pvio_gnttab_unmap(struct pvio_hv *hv, struct pvio_gnt_map *ops, unsigned int n)
{
	for (unsigned int k = 0; k < n; k++) {
		struct pvio_gnt_map *op = &ops[k];
		uint32_t i = op->handle - 1;
		struct fg_map *m;
		struct fg_dom *d;
		unsigned int di;
		uint16_t bits = 0;

		if (op->handle == 0 || i >= FG_MAX_MAPS || !maps[i].live)
			fg_fatal("unmap of a handle that is not mapped");
		m = &maps[i];
		if (m->addr != op->addr || m->dom != op->dom || m->ref != op->ref)
			fg_fatal("unmap of a handle with another mapping's address or ref");
		d = fg_dom_get(m->dom);
		di = dom_index(d);
		if (--pin_rd[di][m->ref] == 0)
			bits |= GTF_reading;
		if (m->write && --pin_wr[di][m->ref] == 0)
			bits |= GTF_writing;
		if (!d->guarded)
			gnttab_entry_unpin(&d->gnt[m->ref], bits);
		m->live = false;
		fg.live_maps--;
		op->status = GNTST_okay;
		op->addr = NULL;
		op->handle = 0;
	}
	return 0;
}

static int16_t copy_one(struct pvio_gnt_copy *op)
{
	struct fg_dom *d = fg_dom_get(op->dom);
	uint16_t taken = 0;
	uint32_t frame = 0;
	uint8_t *page;
	int16_t st;

	if ((uint32_t)op->offset + op->len > PVIO_PAGE_SIZE)
		return GNTST_bad_copy_arg;
	if (op->dom != fg.served)
		fg_fatal("a backend copied with a domain it does not serve");
	if (!d || d->guarded)
		return GNTST_bad_domain;
	if (op->ref >= FG_REFS || op->ref < PVIO_GNTTAB_RESERVED_ENTRIES)
		return GNTST_bad_gntref;
	st = gnttab_entry_pin(&d->gnt[op->ref], 0, op->to_grant != 0,
			      GTF_reading | GTF_writing, &taken, &frame);
	if (st != GNTST_okay)
		return st;
	if (frame >= d->nr_pages || frame == 0) {
		gnttab_entry_unpin(&d->gnt[op->ref], taken);
		return GNTST_bad_page;
	}
	page = d->rw + (size_t)frame * PVIO_PAGE_SIZE;
	if (op->to_grant)
		memcpy(page + op->offset, op->buf, op->len);
	else
		memcpy(op->buf, page + op->offset, op->len);
	gnttab_entry_unpin(&d->gnt[op->ref], taken);
	return GNTST_okay;
}

int pvio_gnttab_copy(struct pvio_hv *hv, struct pvio_gnt_copy *ops, unsigned int n)
{
	int worst = GNTST_okay;

	for (unsigned int i = 0; i < n; i++) {
		ops[i].status = copy_one(&ops[i]);
		fg.nr_copy_ops++;
		if (ops[i].status != GNTST_okay && worst == GNTST_okay)
			worst = ops[i].status;
	}
	return worst;
}

int pvio_evtchn_notify(struct pvio_hv *hv, pvio_evtchn_port_t port)
{
	fg.nr_notify++;
	return 0;
}

int pvio_evtchn_ack(struct pvio_hv *hv, pvio_evtchn_port_t port)
{
	return 0;
}
