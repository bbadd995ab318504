/* SPDX-License-Identifier: MIT */
/*
 * xenbus client library: talks to pvio-store (or any xenstored) over its
 * Unix socket or a domain's store ring, and the xenbus state machine used by
 * every frontend and backend. 0 or -errno, thread-safe.
 *
 * Watch callbacks run on the library's own reader thread; they may call the
 * library again (but not xs_close). After a daemon restart the library
 * reconnects and re-registers every watch by itself; a request cut by the
 * restart is retried.
 */
#ifndef PVIO_XENBUS_H
#define PVIO_XENBUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "abi.h"

struct xs_handle;
struct pvio_dom;
typedef uint32_t xs_transaction_t;
#define XS_TXN_NULL	0u

enum xenbus_state {
	XenbusStateUnknown = 0,
	XenbusStateInitialising = 1,
	XenbusStateInitWait = 2,
	XenbusStateInitialised = 3,
	XenbusStateConnected = 4,
	XenbusStateClosing = 5,
	XenbusStateClosed = 6,
	XenbusStateReconfiguring = 7,
	XenbusStateReconfigured = 8,
};
const char *xenbus_state_name(enum xenbus_state s);

/*
 * Socket: @path, else $XENSTORED_PATH, else $PVIO_RUNDIR/store.sock,
 * else /run/pvio/store.sock.
 */
int xs_open(const char *path, struct xs_handle **out);
/* A process domain: through the store ring of its platform region. */
int xs_open_domain(struct pvio_dom *d, struct xs_handle **out);
/*
 * Same, naming the store socket used if the domain has to introduce itself
 * (shared_info.store_port still 0; see docs/store.md). NULL: as xs_open.
 */
int xs_open_domain_at(struct pvio_dom *d, const char *store_path,
		      struct xs_handle **out);
void xs_close(struct xs_handle *h);

/* *val is malloc'd and NUL-terminated (len excludes the NUL). */
int xs_read(struct xs_handle *h, xs_transaction_t t, const char *path,
	    char **val, size_t *len);
int xs_write(struct xs_handle *h, xs_transaction_t t, const char *path,
	     const void *val, size_t len);
int xs_printf(struct xs_handle *h, xs_transaction_t t, const char *path,
	      const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Read a decimal integer; -ENOENT if absent, -EINVAL if not a number. */
int xs_read_int(struct xs_handle *h, xs_transaction_t t, const char *path,
		long long *v);
int xs_mkdir(struct xs_handle *h, xs_transaction_t t, const char *path);
int xs_rm(struct xs_handle *h, xs_transaction_t t, const char *path);
/* *names: malloc'd array of malloc'd strings; free with xs_free_list. */
int xs_directory(struct xs_handle *h, xs_transaction_t t, const char *path,
		 char ***names, unsigned int *n);
void xs_free_list(char **names, unsigned int n);

enum xs_perm_access { XS_PERM_NONE = 0, XS_PERM_READ = 1, XS_PERM_WRITE = 2,
		      XS_PERM_BOTH = 3 };
struct xs_perm {
	pvio_domid_t domid;
	uint8_t access;		/* enum xs_perm_access */
};
/* First entry: owner, and the access of domains not listed. */
int xs_get_perms(struct xs_handle *h, xs_transaction_t t, const char *path,
		 struct xs_perm **perms, unsigned int *n);
int xs_set_perms(struct xs_handle *h, xs_transaction_t t, const char *path,
		 const struct xs_perm *perms, unsigned int n);

typedef void (*xs_watch_cb)(struct xs_handle *h, const char *path,
			    const char *token, void *arg);
/* Fires once at registration, then on every change at or below @path. */
int xs_watch(struct xs_handle *h, const char *path, const char *token,
	     xs_watch_cb cb, void *arg);
int xs_unwatch(struct xs_handle *h, const char *path, const char *token);

int xs_transaction_start(struct xs_handle *h, xs_transaction_t *t);
/* -EAGAIN: conflict, nothing was committed; start again. */
int xs_transaction_end(struct xs_handle *h, xs_transaction_t t, bool abort);
/* Run @fn in a transaction, retrying on -EAGAIN (bounded). */
int xs_transaction_run(struct xs_handle *h,
		       int (*fn)(struct xs_handle *h, xs_transaction_t t, void *arg),
		       void *arg);

int xs_get_domain_path(struct xs_handle *h, pvio_domid_t domid, char **path);
int xs_introduce_domain(struct xs_handle *h, pvio_domid_t domid,
			uint64_t gfn, uint32_t port);
int xs_release_domain(struct xs_handle *h, pvio_domid_t domid);
/*
 * pvio-store (XS_CONTROL "reconnect"): serve the ring of introduced
 * @domid on a new connection, the domain asked to reconnect (it resends
 * what was not answered and registers its watches again): a guest that
 * moved here while it ran.
 */
int xs_reconnect_domain(struct xs_handle *h, pvio_domid_t domid);

/* ---- xenbus state machine ---- */

/*
 * Write @dir/state = @s if it differs, only if the node exists (one
 * transaction): a device the toolstack is removing is never resurrected by
 * a late switch. 0, -ENOENT if the device is gone, or -errno.
 */
int xenbus_switch_state(struct xs_handle *h, const char *dir, enum xenbus_state s);
/* Read @dir/state; XenbusStateUnknown if absent or unreadable. */
enum xenbus_state xenbus_read_state(struct xs_handle *h, const char *dir);
/*
 * Wait until @dir/state is one of the states in @mask (bit per state),
 * or @timeout_ms passes (-1 forever). Returns the state, or -ETIMEDOUT.
 */
int xenbus_wait_state(struct xs_handle *h, const char *dir, uint32_t mask,
		      int timeout_ms);
/*
 * Wait (a watch on @path, no polling) until @path's value is @want
 * (@equal) or is not (!@equal; an absent node is not): 0, -ETIMEDOUT
 * after @timeout_ms (< 0: no limit), -errno.
 */
int xenbus_wait_value(struct xs_handle *h, const char *path, const char *want,
		      bool equal, int timeout_ms);
#define XENBUS_STATE_BIT(s)	(1u << (s))

/* Report a fatal per-device error: writes @dir/error and logs it. */
void xenbus_dev_fatal(struct xs_handle *h, const char *dir, int err,
		      const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#endif /* PVIO_XENBUS_H */
