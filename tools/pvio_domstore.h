/* SPDX-License-Identifier: MIT */
/*
 * The toolstack's store side of a domain (tools/domain_store.c): introduce
 * a VM's store ring, write Xen's per-domain nodes, remove everything of a
 * domain once it is gone, and the per-VM monitor that does so when the
 * domain dies on its own.
 */
#ifndef PVIO_TOOLS_DOMSTORE_H
#define PVIO_TOOLS_DOMSTORE_H

#include <stdbool.h>
#include <stdint.h>

#include "pvio/libpvio.h"

struct xs_handle;

struct pvio_domstore {
	pvio_domid_t domid;
	const char *name;
	const char *uuid;	/* NULL: a fresh one */
	uint64_t mem_kib;
	uint32_t vcpus;		/* online */
	uint32_t max_vcpus;	/* cpu/N for N < max_vcpus (0: vcpus) */
	uint32_t store_port;	/* 0: no ring to introduce */
};

/* Open the run dir's store socket, printing a message on failure. */
int pvio_domstore_open(const char *rundir, struct xs_handle **xs);
/*
 * XS_INTRODUCE the domain (if it has a store port), then write
 * /local/domain/N (name, domid, vm, memory/, cpu/, device/, control/,
 * data/ ...) and /vm/<uuid> with libxl's permissions. 0 or -errno
 * (message printed).
 */
int pvio_domstore_make(struct xs_handle *xs, const struct pvio_domstore *ds);
/*
 * The domain is gone (or going): remove its backend dirs under every
 * /local/domain/0/backend/<type>/N (backends drop those devices),
 * /local/domain/N, its /vm path, and XS_RELEASE it. Idempotent. Returns
 * how many of those were there (0: nothing left over), or -errno.
 */
int pvio_domstore_remove(struct xs_handle *xs, pvio_domid_t domid);
/* Same, opening the store of @rundir; quiet if there is none. */
int pvio_domstore_cleanup(const char *rundir, pvio_domid_t domid);

/*
 * Fork a monitor that waits (an @releaseDomain watch, and hv's domain
 * list as a fallback) until domain @domid is gone, then removes its store
 * nodes and devices (pvio_domstore_cleanup). It exits with hv. Its log is
 * RUNDIR/vm-<domid>/monitor.log. 0 or -errno.
 */
int pvio_domstore_monitor(const char *rundir, pvio_domid_t domid);

#endif
