/*
 * A pvio-hv inside a fuzz harness: hv's own code (clients, domains, grant
 * tables, event channels, VM hypercalls) without its main loop, with an
 * honest process domain attached whose RAM hv may not touch: all of it
 * but its grant-table frame is PROT_NONE in hv's own mapping, so any byte
 * hv reads or writes there faults. Domains under attack are created and
 * attached per input, through a real client connection (a socketpair).
 */
#ifndef PVIO_FUZZ_HV_WORLD_H
#define PVIO_FUZZ_HV_WORLD_H

#include <stdbool.h>
#include <stdint.h>

#include "../../hv/hv.h"

#define FH_HONEST_REFS	8	/* refs 8..15 granted to dom0 */

struct fh_dom {
	struct hv_domain *d;
	pvio_domid_t id;
	struct hv_client *c;	/* hv's end of its connection */
	int peer;		/* the domain's end */
	uint8_t *ram;		/* the domain's own view of its RAM */
	unsigned int nr_pages;
};

extern struct fh_dom fh_honest;

/* Once per process: hv state, the honest domain, guarded. */
void fh_init(void);
/* A process domain of @pages pages attached through a new connection. */
void fh_dom_new(struct fh_dom *fd, const char *name, unsigned int pages);
/* Drop the connection (if hv did not) and with it the domain. */
void fh_dom_gone(struct fh_dom *fd);
/* Read and check every reply waiting on @fd's connection; fds closed. */
void fh_drain(struct fh_dom *fd, uint32_t op, uint32_t seq);
/* Abort unless hv is back to where it was with only the honest domain. */
void fh_check_clean(void);
void fh_finding(const char *fmt, ...)
	__attribute__((noreturn, format(printf, 1, 2)));
void fh_quiet(void);

#endif
