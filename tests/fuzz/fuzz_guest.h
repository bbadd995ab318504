/*
 * Simulated guest memory for the fuzz harnesses of the backends' ring
 * passes: domains whose RAM is a memfd seen through a writable and a
 * read-only view (as libpvio maps a granter's RAM), a v1 grant table in
 * the domain's own first frame checked and pinned with the real entry
 * rules (grant/gnttab_entry.c), and the grant operations the backends call
 * (pvio_gnttab_map/unmap/copy, pvio_evtchn_notify/ack) implemented over
 * them, with every live mapping tracked.
 *
 * A domain can be guarded: all of its RAM is made PROT_NONE in both views,
 * so any byte of it a backend reads or writes faults (a finding). Any
 * misuse of the grant layer (unmapping a handle twice, a mapping of a
 * domain other than the one served) aborts.
 */
#ifndef PVIO_FUZZ_GUEST_H
#define PVIO_FUZZ_GUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pvio/libpvio.h"

#define FG_MAX_DOMS	4
#define FG_REFS		PVIO_GNTTAB_ENTRIES_PER_FRAME	/* one table frame */

struct fg_dom {
	pvio_domid_t domid;
	unsigned int nr_pages;
	int fd;
	uint8_t *rw, *ro;		/* the two views of its RAM */
	struct pvio_grant_entry_v1 *gnt;	/* frame 0 */
	bool guarded;
};

/* What the harness lets the backend see: domains and their mappings. */
struct fg_world {
	struct fg_dom dom[FG_MAX_DOMS];
	unsigned int nr_doms;
	pvio_domid_t served;		/* the only domain the backend may map */
	unsigned int live_maps;		/* mappings not yet unmapped */
	unsigned int max_maps;		/* high-water mark */
	uint64_t nr_map_ops, nr_copy_ops, nr_notify;
};

extern struct fg_world fg;

/* A domain of @nr_pages pages (frame 0 holds its grant table). */
struct fg_dom *fg_dom_new(pvio_domid_t domid, unsigned int nr_pages);
struct fg_dom *fg_dom_get(pvio_domid_t domid);
/* Page @frame of @d, writable view (for the harness, as the granter). */
void *fg_page(struct fg_dom *d, unsigned int frame);
/* Grant @frame of @d to @to as @ref (the granter's side). */
void fg_grant(struct fg_dom *d, uint32_t ref, pvio_domid_t to,
	      unsigned int frame, bool readonly);
/* Revoke @ref as the granter would (refused while mapped: returns false). */
bool fg_revoke(struct fg_dom *d, uint32_t ref);
/* Make every byte of @d fault (both views), or accessible again. */
void fg_guard(struct fg_dom *d, bool on);
/* Zero @d's RAM and grant table (it must have no mapping left). */
void fg_dom_clear(struct fg_dom *d);
/* Abort unless no mapping is left (after a backend released everything). */
void fg_check_no_maps(const char *when);
/* Report a finding on stdout and stderr, then abort. */
void fg_finding(const char *fmt, ...)
	__attribute__((noreturn, format(printf, 1, 2)));
/*
 * Smoke runs: silence what the code under test logs on stderr, unless
 * PVIO_FUZZ_VERBOSE is set (findings still go to stdout).
 */
void fg_quiet(void);

#endif
