/* SPDX-License-Identifier: MIT */
/*
 * xenstore client library internals: the connection object shared by the
 * transport/reader code (xs_client.c), the domain ring transport
 * (xs_client_ring.c) and the request wrappers (xs_client_ops.c).
 */
#ifndef PVIO_XENBUS_XS_CLIENT_H
#define PVIO_XENBUS_XS_CLIENT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "pvio/xenbus.h"
#include "pvio/xs_wire.h"

struct xs_handle;

/* How bytes reach the daemon: a Unix socket or a domain's store ring. */
struct xs_transport_ops {
	/* (Re)connect; 0 or -errno. Called by the reader thread or at open. */
	int (*connect)(struct xs_handle *h);
	/* Send one whole message; 0 or -errno. Serialised by the caller. */
	int (*send)(struct xs_handle *h, const void *buf, size_t len);
	/* Receive exactly @len bytes (blocking); 0 or -errno. Reader only. */
	int (*recv)(struct xs_handle *h, void *buf, size_t len);
	/* Drop the connection; wakes a blocked recv. */
	void (*disconnect)(struct xs_handle *h);
	/* Wake the reader for good (closing). */
	void (*shutdown)(struct xs_handle *h);
	void (*free)(struct xs_handle *h);
};

struct xs_req;
struct xs_wentry;
struct xs_event;
struct xs_txn_ent;

struct xs_handle {
	pthread_mutex_t lock;
	pthread_cond_t cond;		/* replies, connection state */
	pthread_mutex_t wlock;		/* one writer at a time */
	const struct xs_transport_ops *ops;
	void *tpriv;			/* transport state */
	int fd;				/* socket transport */
	char *path;

	bool connected;
	bool closing;
	bool gave_up;			/* disconnected beyond the timeout */
	unsigned int epoch;		/* bumps at every (re)connection */
	uint32_t next_req_id;
	struct xs_req *pending;
	struct xs_wentry *watches;
	struct xs_txn_ent *txns;

	pthread_t reader;
	pthread_t dispatcher;
	pthread_cond_t evcond;
	struct xs_event *evq, **evq_tail;
	bool dispatcher_started, reader_started;
	struct xs_wentry *cb_entry;	/* watch whose callback runs now */
	int reconnect_ms;		/* give up on requests after this */
};

/*
 * One request/reply: @iov joined is the payload (<= 4096). On success
 * *reply (malloc'd, NUL-terminated, may be NULL) and *rlen; an XS_ERROR
 * reply becomes its -errno.
 */
int xs_talk(struct xs_handle *h, uint32_t type, xs_transaction_t t,
	    const struct iovec *iov, int niov, char **reply, size_t *rlen);
/* Shared open: transport chosen, connect once, start the threads. */
int xs_handle_start(struct xs_handle *h);
struct xs_handle *xs_handle_alloc(void);
int xs_errno_of(const char *name);

/* Watch and transaction registry (xs_client.c). */
int xs_watch_register(struct xs_handle *h, const char *path, const char *token,
		      xs_watch_cb cb, void *arg);
void xs_watch_unregister(struct xs_handle *h, const char *path,
			 const char *token);
void xs_txn_register(struct xs_handle *h, xs_transaction_t t);
/* false if @t belongs to a connection that is gone. */
bool xs_txn_forget(struct xs_handle *h, xs_transaction_t t);

#endif /* PVIO_XENBUS_XS_CLIENT_H */
