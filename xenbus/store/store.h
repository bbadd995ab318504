/* SPDX-License-Identifier: MIT */
/*
 * pvio-store core: the node tree, permissions, transactions, watches, quotas
 * and the request dispatcher. Transports (Unix socket, domain ring) only
 * move bytes in and out of a struct store_conn; everything else happens
 * here, so that unit tests drive the core without any socket.
 */
#ifndef PVIO_XENBUS_STORE_H
#define PVIO_XENBUS_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pvio/xs_wire.h"

/* Xen's C xenstored defaults (4.17). */
#define STORE_QUOTA_NODES	1000	/* nodes owned by an unprivileged domain */
#define STORE_QUOTA_NODE_SIZE	2048	/* value + children + perms bytes */
#define STORE_QUOTA_WATCHES	128	/* per connection */
#define STORE_QUOTA_TXNS	10	/* open transactions per connection */
#define STORE_QUOTA_PERMS	5	/* entries of a node's ACL (unprivileged) */
/* Beyond Xen: bounds that keep a hostile client from growing our memory. */
#define STORE_TXN_NODES		1024	/* nodes touched by a domU transaction */
#define STORE_TXN_MAX_ENTRIES	8192	/* nodes touched by a dom0 transaction */
#define STORE_OUT_HIGH		(64u * 1024)	/* stop reading requests above */
#define STORE_OUT_EVENT_MAX	(1024u * 1024)	/* events queued: disconnect */
#define STORE_IN_BUF		(16u * 1024)
#define STORE_MAX_CONNS		1024

#define STORE_PERM_READ		1u
#define STORE_PERM_WRITE	2u

struct store;
struct store_conn;
struct store_txn;

/* A generic chained hash table keyed by a NUL-terminated path. */
struct store_hitem {
	struct store_hitem *next;
	const char *key;
	uint32_t hash;
};
#define STORE_HTAB_MIN		64	/* buckets */
struct store_htab {
	struct store_hitem **b;
	uint32_t nbuckets;	/* power of two */
	uint32_t count;
};
uint32_t store_hash(const char *s);
int store_htab_init(struct store_htab *t);
void store_htab_fini(struct store_htab *t);
struct store_hitem *store_htab_get(const struct store_htab *t, const char *key);
/* @it->key must be set; replaces nothing (caller checks get first). */
int store_htab_add(struct store_htab *t, struct store_hitem *it);
void store_htab_del(struct store_htab *t, struct store_hitem *it);
/* Fewer buckets after many deletions (not while iterating). */
void store_htab_shrink(struct store_htab *t);
/* Iterate: for (it = first; it; it = next) */
struct store_hitem *store_htab_next(const struct store_htab *t,
				    const struct store_hitem *it);

struct store_perm {
	uint16_t domid;
	uint8_t access;		/* STORE_PERM_* bits */
};

struct store_node {
	struct store_hitem h;	/* h.key == path */
	char *path;
	char *value;
	uint32_t vlen;
	uint16_t nperms;	/* >= 1: perms[0] = owner + default access */
	struct store_perm *perms;
	char **children;
	uint32_t nchildren;
	uint32_t children_cap;
	uint32_t childlen;	/* sum of strlen(child) + 1 */
	uint64_t gen;		/* changes with every modification */
};

struct store_node *store_node_new(const char *path);
struct store_node *store_node_clone(const struct store_node *n);
void store_node_free(struct store_node *n);
int store_node_set_value(struct store_node *n, const void *v, uint32_t len);
int store_node_set_perms(struct store_node *n, const struct store_perm *p,
			 uint16_t np);
int store_node_add_child(struct store_node *n, const char *name);
void store_node_del_child(struct store_node *n, const char *name);
uint32_t store_node_size(const struct store_node *n);

struct store_watch {
	struct store_watch *next;
	char *path;		/* absolute path or "@special" */
	char *token;
	bool relative;		/* strip the domain path from events */
};

struct store_domain {
	uint16_t domid;
	bool introduced;
	uint32_t nodes;		/* nodes owned */
	uint64_t gfn;
	uint32_t port;
	struct store_conn *conn;	/* ring connection, if introduced */
	void *transport;		/* ring transport private */
	bool released;			/* on store.released */
	struct store_domain *released_next;
};

struct store_conn_ops {
	/* Output was queued on @c (arm the writer). */
	void (*wake)(struct store_conn *c);
};

struct store_conn {
	struct store_conn *next, *prev;
	struct store *store;
	uint16_t domid;
	bool privileged;
	bool dead;		/* protocol violation or overflow: close it */
	const struct store_conn_ops *ops;
	void *priv;
	unsigned int id;

	struct store_watch *watches;
	unsigned int nwatches;
	struct store_txn *txns;
	unsigned int ntxns;

	/* Input: bytes not yet consumed. */
	uint8_t in[STORE_IN_BUF];
	uint32_t in_len;

	/* Output: out[out_head .. out_len) pending. */
	uint8_t *out;
	size_t out_head, out_len, out_cap;
	uint64_t events_dropped;
};

/* Hooks from the core into the daemon (all optional). */
struct store_hooks {
	/* Map the ring of @domid and create its connection. 0 or -errno. */
	int (*introduce)(struct store *s, uint16_t domid, uint64_t gfn,
			 uint32_t port);
	/* Tear down the ring connection of @domid. */
	void (*release)(struct store *s, uint16_t domid);
	/*
	 * Serve the ring of introduced @domid on a new connection (no watch,
	 * transaction or half message of the old one), asking the domain to
	 * reconnect as after a restart of ours. 0 or -errno.
	 */
	int (*reconnect)(struct store *s, uint16_t domid);
};

struct store_opts {
	const char *datadir;	/* NULL: no durability (tests) */
	bool sync;		/* fdatasync each batch of commits */
	uint64_t compact_min;	/* log size that may start a compaction
				   (0: 8 MiB) */
	const struct store_hooks *hooks;
	void *hooks_arg;
	bool quiet;
};

struct store_stats {
	uint64_t requests;
	uint64_t commits;
	uint64_t conflicts;
	uint64_t events;
	uint64_t events_dropped;
	uint64_t log_bytes;
	uint64_t compactions;	/* snapshots written while serving */
	uint64_t busy_max_us;	/* longest event-loop pass (daemon) */
};

struct store {
	struct store_htab nodes;
	uint64_t gen;
	uint32_t next_txn_id;
	unsigned int next_conn_id;
	struct store_conn *conns;	/* list of every connection */
	unsigned int nconns;
	struct store_domain *domains[PVIO_DOMID_FIRST_RESERVED];
	struct store_domain *released;	/* records store_shrink() may free */
	struct store_opts opts;
	struct store_stats st;
	struct store_log *log;
	struct store_txn *cur_txn;	/* set while a commit applies */
};

/* ---- store_core.c ---- */
int store_new(const struct store_opts *opts, struct store **out);
void store_free(struct store *s);
struct store_domain *store_domain_get(struct store *s, uint16_t domid,
				      bool create);
/*
 * Give back what a shrunken tree and released domains no longer need (the
 * node table's buckets, records of released domains that own no node).
 * Between requests only: no store_domain pointer may be held across it.
 */
void store_shrink(struct store *s);

/* ---- store_conn.c ---- */
struct store_conn *store_conn_new(struct store *s, uint16_t domid,
				  const struct store_conn_ops *ops, void *priv);
void store_conn_free(struct store_conn *c);
/*
 * Process the requests in c->in (after the transport appended bytes).
 * Stops early while too much output is pending. Returns 0, or -EPROTO when
 * the connection must be closed (also sets c->dead).
 */
int store_conn_process(struct store_conn *c);
/* Queue one message; false if it was dropped. */
bool store_conn_send(struct store_conn *c, uint32_t type, uint32_t req_id,
		     uint32_t tx_id, const void *a, size_t alen,
		     const void *b, size_t blen);
/* Consume @n output bytes the transport wrote. */
void store_conn_consumed(struct store_conn *c, size_t n);
static inline size_t store_conn_pending(const struct store_conn *c)
{
	return c->out_len - c->out_head;
}
static inline bool store_conn_can_read(const struct store_conn *c)
{
	return !c->dead && store_conn_pending(c) < STORE_OUT_HIGH &&
	       c->in_len < STORE_IN_BUF;
}

/* ---- store_tree.c: operations, through a transaction or not ---- */
/* Validate and make absolute (relative to @domid's path). malloc'd. */
int store_path_canon(uint16_t domid, const char *in, bool allow_special,
		     char **out);
bool store_path_is_below(const char *path, const char *ancestor);
unsigned int store_perm_for(const struct store_node *n, uint16_t domid,
			    bool privileged);
/* Node visible in transaction @t (NULL: committed tree). */
const struct store_node *store_get(struct store *s, struct store_txn *t,
				   const char *path);
int store_do_read(struct store *s, struct store_conn *c, struct store_txn *t,
		  const char *path, const struct store_node **n);
int store_do_write(struct store *s, struct store_conn *c, struct store_txn *t,
		   const char *path, const void *v, uint32_t len);
int store_do_mkdir(struct store *s, struct store_conn *c, struct store_txn *t,
		   const char *path);
int store_do_rm(struct store *s, struct store_conn *c, struct store_txn *t,
		const char *path);
int store_do_set_perms(struct store *s, struct store_conn *c,
		       struct store_txn *t, const char *path,
		       const struct store_perm *p, uint16_t np);
/* Commit-time primitives (log the change, account the owner). */
void store_commit_put(struct store *s, struct store_node *n);
void store_commit_del(struct store *s, const char *path);
/* Used by the loader: install a node record as-is (no perms, no log). */
int store_load_node(struct store *s, struct store_node *n);
void store_del_node_raw(struct store *s, const char *path);

/* ---- store_txn.c ---- */
struct store_txn {
	struct store_txn *next;
	uint32_t id;
	struct store_conn *conn;
	struct store_htab ents;
	int32_t nodes_delta;		/* nodes created - removed by conn's domain */
	int err;			/* sticky failure: commit reports it */
	struct store_txn_event *events;	/* fired at commit */
	struct store_txn_event **events_tail;
};
struct store_txn_event {
	struct store_txn_event *next;
	bool recurse;
	struct store_perm *perms;
	uint16_t nperms;
	char path[];
};
int store_txn_start(struct store_conn *c, struct store_txn **out);
struct store_txn *store_txn_find(struct store_conn *c, uint32_t id);
/* Commit (or abort) and free @t. -EAGAIN on conflict. */
int store_txn_end(struct store_txn *t, bool commit);
/* Tree-level hooks used by store_tree.c. */
const struct store_node *store_txn_get(struct store *s, struct store_txn *t,
				       const char *path);
int store_txn_put(struct store *s, struct store_txn *t, struct store_node *n);
int store_txn_del(struct store *s, struct store_txn *t, const char *path);

/* ---- store_watch.c ---- */
int store_watch_add(struct store_conn *c, const char *path, const char *token);
int store_watch_del(struct store_conn *c, const char *path, const char *token);
void store_watch_del_all(struct store_conn *c);
/*
 * @path changed (node written/created/removed). @recurse: a subtree was
 * removed, also fire watches below @path. @perms: the node's ACL for the
 * visibility check of unprivileged watchers (NULL: everyone).
 */
void store_watch_fire(struct store *s, const char *path, bool recurse,
		      const struct store_perm *perms, uint16_t nperms);
/* Fire "@introduceDomain" / "@releaseDomain". */
void store_watch_fire_special(struct store *s, const char *name);

/* ---- store_proto.c ---- */
void store_proto_handle(struct store_conn *c, const struct xsd_sockmsg *h,
			const char *payload);
const char *store_errname(int err);

/* ---- store_log.c: write-ahead log and snapshots ---- */
int store_log_open(struct store *s, const char *datadir);
void store_log_close(struct store *s);
void store_log_put(struct store *s, const struct store_node *n);
void store_log_del(struct store *s, const char *path);
/* End of a committed change: the batch is copied into the log file. */
int store_log_commit(struct store *s);
/* Before a loop iteration's replies leave: fdatasync if --sync. */
void store_log_sync(struct store *s);
/*
 * After the replies left: reap a finished snapshot writer, start one if the
 * log is large, grow the log file and fault in its next pages.
 */
int store_log_idle(struct store *s);
/* A compaction wants more loop iterations, even with no request. */
bool store_log_busy(const struct store *s);
/* Wait until the log's keeper thread has done all it was given (tests). */
void store_log_settle(struct store *s);
uint32_t store_crc32(const void *buf, size_t len);

#endif /* PVIO_XENBUS_STORE_H */
