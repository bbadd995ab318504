/* SPDX-License-Identifier: MIT */
/*
 * pvio-store transactions: a private copy-on-access view of every node the
 * transaction touches, with the generation it saw. At commit, any touched
 * node that changed since (or appeared/disappeared) makes the commit fail
 * with EAGAIN, as Xen does; otherwise the changes apply as one logged batch
 * and the recorded watch events fire.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

struct txn_ent {
	struct store_hitem h;	/* first: cast from store_hitem */
	char *path;
	struct store_node *node;	/* NULL: absent in this view */
	bool base_present;
	bool dirty;
	uint64_t base_gen;
};

int store_txn_start(struct store_conn *c, struct store_txn **out)
{
	struct store *s = c->store;
	struct store_txn *t;

	if (c->ntxns >= STORE_QUOTA_TXNS)
		return -ENOSPC;
	t = calloc(1, sizeof(*t));
	if (!t || store_htab_init(&t->ents)) {
		free(t);
		return -ENOMEM;
	}
	/* ids are global, non-zero, and not reused soon */
	if (s->next_txn_id == 0)
		s->next_txn_id = 1;
	t->id = s->next_txn_id++;
	t->conn = c;
	t->events_tail = &t->events;
	t->next = c->txns;
	c->txns = t;
	c->ntxns++;
	*out = t;
	return 0;
}

struct store_txn *store_txn_find(struct store_conn *c, uint32_t id)
{
	for (struct store_txn *t = c->txns; t; t = t->next)
		if (t->id == id)
			return t;
	return NULL;
}

static struct txn_ent *txn_capture(struct store *s, struct store_txn *t,
				   const char *path)
{
	struct txn_ent *e = (struct txn_ent *)store_htab_get(&t->ents, path);
	const struct store_node *g;

	if (e)
		return e;
	if (t->ents.count >= (t->conn->privileged ? STORE_TXN_MAX_ENTRIES :
						      STORE_TXN_NODES)) {
		t->err = -ENOSPC;
		return NULL;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		goto nomem;
	e->path = strdup(path);
	if (!e->path)
		goto nomem;
	g = (const struct store_node *)store_htab_get(&s->nodes, path);
	if (g) {
		e->node = store_node_clone(g);
		if (!e->node)
			goto nomem;
		e->base_present = true;
		e->base_gen = g->gen;
	}
	e->h.key = e->path;
	store_htab_add(&t->ents, &e->h);
	return e;
nomem:
	if (e)
		free(e->path);
	free(e);
	t->err = -ENOMEM;
	return NULL;
}

const struct store_node *store_txn_get(struct store *s, struct store_txn *t,
				       const char *path)
{
	struct txn_ent *e = txn_capture(s, t, path);

	if (!e) /* over the limit: the commit will fail anyway */
		return (const struct store_node *)store_htab_get(&s->nodes,
								  path);
	return e->node;
}

int store_txn_put(struct store *s, struct store_txn *t, struct store_node *n)
{
	struct txn_ent *e = txn_capture(s, t, n->path);

	if (!e) {
		store_node_free(n);
		return t->err;
	}
	store_node_free(e->node);
	e->node = n;
	e->dirty = true;
	return 0;
}

int store_txn_del(struct store *s, struct store_txn *t, const char *path)
{
	struct txn_ent *e = txn_capture(s, t, path);

	if (!e)
		return t->err;
	store_node_free(e->node);
	e->node = NULL;
	e->dirty = true;
	return 0;
}

static void txn_free(struct store_txn *t)
{
	struct store_hitem *it, *next;
	struct store_txn_event *ev, *en;

	for (it = store_htab_next(&t->ents, NULL); it; it = next) {
		struct txn_ent *e = (struct txn_ent *)it;

		next = store_htab_next(&t->ents, it);
		store_node_free(e->node);
		free(e->path);
		free(e);
	}
	store_htab_fini(&t->ents);
	for (ev = t->events; ev; ev = en) {
		en = ev->next;
		free(ev->perms);
		free(ev);
	}
	free(t);
}

static bool txn_conflicts(struct store *s, struct store_txn *t)
{
	struct store_hitem *it;

	for (it = store_htab_next(&t->ents, NULL); it;
	     it = store_htab_next(&t->ents, it)) {
		struct txn_ent *e = (struct txn_ent *)it;
		const struct store_node *g;

		g = (const struct store_node *)store_htab_get(&s->nodes,
							       e->path);
		if (!!g != e->base_present || (g && g->gen != e->base_gen))
			return true;
	}
	return false;
}

int store_txn_end(struct store_txn *t, bool commit)
{
	struct store_conn *c = t->conn;
	struct store *s = c->store;
	struct store_txn **pp;
	struct store_hitem *it;
	int rc = 0;

	for (pp = &c->txns; *pp; pp = &(*pp)->next) {
		if (*pp == t) {
			*pp = t->next;
			c->ntxns--;
			break;
		}
	}
	if (!commit)
		goto out;
	if (t->err) {
		rc = t->err;
		goto out;
	}
	if (txn_conflicts(s, t)) {
		s->st.conflicts++;
		rc = -EAGAIN;
		goto out;
	}
	for (it = store_htab_next(&t->ents, NULL); it;
	     it = store_htab_next(&t->ents, it)) {
		struct txn_ent *e = (struct txn_ent *)it;

		if (!e->dirty)
			continue;
		if (e->node) {
			store_commit_put(s, e->node);
			e->node = NULL;
		} else {
			store_commit_del(s, e->path);
		}
	}
	rc = store_log_commit(s);
	s->st.commits++;
	for (struct store_txn_event *ev = t->events; ev; ev = ev->next)
		store_watch_fire(s, ev->path, ev->recurse, ev->perms,
				 ev->nperms);
out:
	txn_free(t);
	return rc;
}
