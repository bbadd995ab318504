/* SPDX-License-Identifier: MIT */
/*
 * Event-channel port state machine of one domain: pure bookkeeping (no fds,
 * no I/O) so that every transition is unit-testable.
 *
 *   closed --alloc(remote)--> unbound(remote)
 *   unbound(R) --R binds--> interdomain(R, rport)   (both ends)
 *   interdomain --close--> closed; the peer end reverts to unbound(us)
 *   unbound --close--> closed
 */
#ifndef PVIO_HV_EVTCHN_TABLE_H
#define PVIO_HV_EVTCHN_TABLE_H

#include <stdbool.h>
#include <stdint.h>

#include "pvio/event_channel.h"

struct evtchn_port {
	uint8_t state;		/* EVTCHNSTAT_* */
	uint8_t masked;
	uint8_t vcpu;		/* VM: the vCPU its events are raised on */
	uint16_t remote_dom;	/* unbound: who may bind; interdomain: peer */
	uint32_t remote_port;	/* interdomain only */
	uint32_t gen;		/* generation of recv_fd in poll_fd */
	void *owner;		/* the connection that owns the port */
	int poll_fd;		/* epoll handed to the owner, -1 if none */
	int recv_fd;		/* eventfd the peer writes, -1 if none */
};

/*
 * Ports come in chunks allocated (and fully initialised: closed, no fds)
 * the first time one of their ports is needed: a domain with a few ports
 * costs a chunk, not the whole range.
 */
#define EVTCHN_CHUNK_PORTS	64u
#define EVTCHN_NR_CHUNKS	(PVIO_EVTCHN_MAX_PORTS / EVTCHN_CHUNK_PORTS)

struct evtchn_table {
	struct evtchn_port *chunk[EVTCHN_NR_CHUNKS];	/* NULL: all closed */
	uint32_t nr_open;
	uint32_t max_open;		/* ports open at once, at most */
};

/* An empty table allowing @max_open open ports (< PVIO_EVTCHN_MAX_PORTS). */
int evtchn_table_init(struct evtchn_table *t, uint32_t max_open);
void evtchn_table_free(struct evtchn_table *t);
/* The port if it is open (not closed) and in range, else NULL. */
struct evtchn_port *evtchn_lookup(const struct evtchn_table *t, uint32_t port);
/*
 * The slot of @port whatever its state, NULL if out of range or if its
 * chunk was never needed (then it is closed). For ports known to be open
 * (just allocated, or found by evtchn_lookup) it is never NULL.
 */
struct evtchn_port *evtchn_slot(const struct evtchn_table *t, uint32_t port);
/*
 * Lowest free port >= 1, now unbound and offered to @remote; -ENOSPC when
 * none is free or max_open are open.
 */
int evtchn_alloc(struct evtchn_table *t, uint16_t remote, void *owner);
/*
 * @port itself, now unbound and offered to @remote: -EEXIST if it is
 * open, -EINVAL if out of range (or 0), -ENOSPC past max_open.
 */
int evtchn_alloc_at(struct evtchn_table *t, uint32_t port, uint16_t remote,
		    void *owner);
/* 0 if @binder may bind @rport of @rt (unbound, offered to @binder). */
int evtchn_bind_check(const struct evtchn_table *rt, uint32_t rport,
		      uint16_t binder);
/* Both ends interdomain, pointing at each other. */
void evtchn_connect(struct evtchn_table *lt, uint16_t ldom, uint32_t lport,
		    struct evtchn_table *rt, uint16_t rdom, uint32_t rport);
/*
 * Close @port of domain @dom. If it was interdomain, the peer end (in
 * @peer_t, which may be @t itself) reverts to unbound offered to @dom and
 * its number is returned; otherwise 0. -EINVAL if @port is not open.
 */
int evtchn_close(struct evtchn_table *t, uint16_t dom, uint32_t port,
		 struct evtchn_table *peer_t);

#endif /* PVIO_HV_EVTCHN_TABLE_H */
