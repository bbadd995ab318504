/* SPDX-License-Identifier: MIT */
/*
 * pvio-store daemon internals shared by the socket transport (store_main.c)
 * and the domain ring transport (store_domain.c): epoll sources with an
 * after-batch flush, and deferred freeing.
 */
#ifndef PVIO_XENBUS_STORE_DAEMON_H
#define PVIO_XENBUS_STORE_DAEMON_H

#include <stdbool.h>
#include <stdint.h>

#include "store.h"

struct store_daemon_src {
	/* epoll readiness */
	void (*fn)(struct store_daemon_src *src, uint32_t events);
	/* after each batch of events, if on the dirty list */
	void (*flush)(struct store_daemon_src *src);
	/* free the source (after it went dead) */
	void (*destroy)(struct store_daemon_src *src);
	bool dead;
	bool on_dirty;
	struct store_daemon_src *dirty_next;
	struct store_daemon_src *reap_next;
};

struct store_daemon {
	struct store *store;
	int epfd;
	int lfd;
	struct store_daemon_src *dirty;
	struct store_daemon_src *reap;
	const char *rundir;	/* for pvio-hv (domain rings) */
	void *hv;		/* struct pvio_hv *, opened on first INTRODUCE */
	bool trim_due;		/* a connection went: trim the heap when idle */
};

void store_daemon_dirty(struct store_daemon *d, struct store_daemon_src *src);
void store_daemon_kill(struct store_daemon *d, struct store_daemon_src *src);
void store_daemon_reap(struct store_daemon *d);

/* store_domain.c */
void store_domain_hooks(struct store_daemon *d, struct store_opts *so);
void store_domain_restore(struct store_daemon *d);
void store_domain_shutdown(struct store_daemon *d);

#endif /* PVIO_XENBUS_STORE_DAEMON_H */
