/* SPDX-License-Identifier: MIT */
/* pvio-store core: path hash table, node records, store lifetime. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

/* FNV-1a: paths are short, this is plenty. */
uint32_t store_hash(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s) {
		h ^= (uint8_t)*s++;
		h *= 16777619u;
	}
	return h;
}

int store_htab_init(struct store_htab *t)
{
	t->nbuckets = STORE_HTAB_MIN;
	t->count = 0;
	t->b = calloc(t->nbuckets, sizeof(*t->b));
	return t->b ? 0 : -ENOMEM;
}

void store_htab_fini(struct store_htab *t)
{
	free(t->b);
	t->b = NULL;
	t->nbuckets = t->count = 0;
}

struct store_hitem *store_htab_get(const struct store_htab *t, const char *key)
{
	uint32_t h = store_hash(key);
	struct store_hitem *it;

	for (it = t->b[h & (t->nbuckets - 1)]; it; it = it->next)
		if (it->hash == h && !strcmp(it->key, key))
			return it;
	return NULL;
}

/* Rehash into @nb buckets (a power of two); on failure keep the old. */
static void htab_resize(struct store_htab *t, uint32_t nb)
{
	struct store_hitem **b = calloc(nb, sizeof(*b));

	if (!b)
		return;		/* keep the old chains: still correct */
	for (uint32_t i = 0; i < t->nbuckets; i++) {
		struct store_hitem *it = t->b[i], *next;

		for (; it; it = next) {
			next = it->next;
			it->next = b[it->hash & (nb - 1)];
			b[it->hash & (nb - 1)] = it;
		}
	}
	free(t->b);
	t->b = b;
	t->nbuckets = nb;
}

static void htab_grow(struct store_htab *t)
{
	htab_resize(t, t->nbuckets * 2);
}

void store_htab_shrink(struct store_htab *t)
{
	uint32_t nb = STORE_HTAB_MIN;

	/* half full at most afterwards: no grow right after a shrink */
	while (nb < t->count * 2)
		nb *= 2;
	if (nb < t->nbuckets)
		htab_resize(t, nb);
}

int store_htab_add(struct store_htab *t, struct store_hitem *it)
{
	uint32_t i;

	if (t->count >= t->nbuckets)
		htab_grow(t);
	it->hash = store_hash(it->key);
	i = it->hash & (t->nbuckets - 1);
	it->next = t->b[i];
	t->b[i] = it;
	t->count++;
	return 0;
}

void store_htab_del(struct store_htab *t, struct store_hitem *it)
{
	struct store_hitem **p = &t->b[it->hash & (t->nbuckets - 1)];

	for (; *p; p = &(*p)->next) {
		if (*p == it) {
			*p = it->next;
			t->count--;
			return;
		}
	}
}

struct store_hitem *store_htab_next(const struct store_htab *t,
				    const struct store_hitem *it)
{
	uint32_t i = 0;

	if (it) {
		if (it->next)
			return it->next;
		i = (it->hash & (t->nbuckets - 1)) + 1;
	}
	for (; i < t->nbuckets; i++)
		if (t->b[i])
			return t->b[i];
	return NULL;
}

struct store_node *store_node_new(const char *path)
{
	struct store_node *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->path = strdup(path);
	n->perms = calloc(1, sizeof(*n->perms));
	if (!n->path || !n->perms) {
		store_node_free(n);
		return NULL;
	}
	n->nperms = 1;
	n->h.key = n->path;
	return n;
}

void store_node_free(struct store_node *n)
{
	if (!n)
		return;
	for (uint32_t i = 0; i < n->nchildren; i++)
		free(n->children[i]);
	free(n->children);
	free(n->perms);
	free(n->value);
	free(n->path);
	free(n);
}

struct store_node *store_node_clone(const struct store_node *o)
{
	struct store_node *n = store_node_new(o->path);

	if (!n)
		return NULL;
	if (store_node_set_value(n, o->value, o->vlen) ||
	    store_node_set_perms(n, o->perms, o->nperms))
		goto fail;
	if (o->nchildren) {
		n->children = malloc(o->nchildren * sizeof(char *));
		if (!n->children)
			goto fail;
		n->children_cap = o->nchildren;
		for (uint32_t i = 0; i < o->nchildren; i++) {
			n->children[i] = strdup(o->children[i]);
			if (!n->children[i])
				goto fail;
			n->nchildren++;
		}
		n->childlen = o->childlen;
	}
	n->gen = o->gen;
	return n;
fail:
	store_node_free(n);
	return NULL;
}

int store_node_set_value(struct store_node *n, const void *v, uint32_t len)
{
	char *nv = malloc(len + 1);

	if (!nv)
		return -ENOMEM;
	if (len)
		memcpy(nv, v, len);
	nv[len] = 0;
	free(n->value);
	n->value = nv;
	n->vlen = len;
	return 0;
}

int store_node_set_perms(struct store_node *n, const struct store_perm *p,
			 uint16_t np)
{
	struct store_perm *np_ = malloc(np * sizeof(*p));

	if (!np_ || !np) {
		free(np_);
		return -EINVAL;
	}
	memcpy(np_, p, np * sizeof(*p));
	free(n->perms);
	n->perms = np_;
	n->nperms = np;
	return 0;
}

int store_node_add_child(struct store_node *n, const char *name)
{
	for (uint32_t i = 0; i < n->nchildren; i++)
		if (!strcmp(n->children[i], name))
			return 0;
	if (n->nchildren == n->children_cap) {
		uint32_t cap = n->children_cap ? n->children_cap * 2 : 4;
		char **c = realloc(n->children, cap * sizeof(char *));

		if (!c)
			return -ENOMEM;
		n->children = c;
		n->children_cap = cap;
	}
	n->children[n->nchildren] = strdup(name);
	if (!n->children[n->nchildren])
		return -ENOMEM;
	n->nchildren++;
	n->childlen += strlen(name) + 1;
	return 0;
}

void store_node_del_child(struct store_node *n, const char *name)
{
	for (uint32_t i = 0; i < n->nchildren; i++) {
		if (strcmp(n->children[i], name))
			continue;
		n->childlen -= strlen(name) + 1;
		free(n->children[i]);
		/* keep creation order, as Xen lists children */
		memmove(&n->children[i], &n->children[i + 1],
			(n->nchildren - i - 1) * sizeof(char *));
		n->nchildren--;
		return;
	}
}

uint32_t store_node_size(const struct store_node *n)
{
	return n->vlen + n->childlen + n->nperms * 4u;
}

struct store_domain *store_domain_get(struct store *s, uint16_t domid,
				      bool create)
{
	struct store_domain *d;

	if (domid >= PVIO_DOMID_FIRST_RESERVED)
		return NULL;
	d = s->domains[domid];
	if (d || !create)
		return d;
	d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->domid = domid;
	s->domains[domid] = d;
	return d;
}

void store_shrink(struct store *s)
{
	struct store_domain **pp = &s->released, *d;

	/*
	 * The snapshot being encoded walks the buckets by index across event
	 * loop passes and relies on the table only growing meanwhile.
	 */
	if (!store_log_busy(s))
		store_htab_shrink(&s->nodes);
	/*
	 * A released domain that owns nothing any more needs no record. Only
	 * the released ones are looked at: the table of every domid is large
	 * and mostly never touched.
	 */
	while ((d = *pp)) {
		if (d->introduced) {
			/* introduced again */
			*pp = d->released_next;
			d->released = false;
		} else if (!d->nodes && !d->conn && !d->transport) {
			*pp = d->released_next;
			s->domains[d->domid] = NULL;
			free(d);
		} else {
			pp = &d->released_next;
		}
	}
}

static struct store_node *node_of(struct store_hitem *it)
{
	return it ? (struct store_node *)((char *)it -
					  offsetof(struct store_node, h)) : NULL;
}

/*
 * Make @path exist with every ancestor, each listed by its parent; what
 * is created belongs to dom0, readable by nobody else. Counts the nodes
 * created or changed in *@fixed and logs them.
 */
static int link_path(struct store *s, const char *path, unsigned int *fixed)
{
	size_t len = strlen(path);
	char *p = malloc(len + 1), *parent = malloc(len + 1);
	int rc = 0;

	if (!p || !parent) {
		free(p);
		free(parent);
		return -ENOMEM;
	}
	/* every prefix in turn: "/", "/a", "/a/b", ... */
	for (size_t end = 1;;) {
		struct store_node *n, *up;
		char *slash;

		memcpy(p, path, end);
		p[end] = 0;
		n = node_of(store_htab_get(&s->nodes, p));
		if (!n) {
			n = store_node_new(p);
			if (!n) {
				rc = -ENOMEM;
				break;
			}
			n->perms[0] = (struct store_perm){ 0, 0 };
			n->gen = ++s->gen;
			store_htab_add(&s->nodes, &n->h);
			store_domain_get(s, 0, true)->nodes++;
			store_log_put(s, n);
			(*fixed)++;
		}
		if (end > 1) {
			uint32_t before;

			slash = strrchr(p, '/');
			memcpy(parent, p, slash == p ? 1 : (size_t)(slash - p));
			parent[slash == p ? 1 : slash - p] = 0;
			up = node_of(store_htab_get(&s->nodes, parent));
			before = up->nchildren;
			rc = store_node_add_child(up, slash + 1);
			if (rc)
				break;
			if (up->nchildren != before) {
				store_log_put(s, up);
				(*fixed)++;
			}
		}
		if (end == len)
			break;
		end = end == 1 ? 1 : end + 1;
		while (end < len && path[end] != '/')
			end++;
	}
	free(p);
	free(parent);
	return rc;
}

/*
 * Make the tree consistent after recovery (and build a fresh one): drop
 * nodes whose path is not canonical, make every node's ancestors exist and
 * list it, drop children that name no node, and have the base nodes a
 * toolstack expects ("/", "/local/domain/0", ...). A store written by us
 * needs none of it; a snapshot or log that is corrupt yet whole (its CRC
 * right) would otherwise leave orphans or phantom children that later
 * requests trip over. Repairs are logged like any change.
 */
static int store_repair(struct store *s)
{
	static const char *const base[] = {
		"/", "/tool", "/tool/xenstored", "/local", "/local/domain",
		"/local/domain/0",
	};
	unsigned int fixed = 0, bad = 0, cap = 0, nr = 0;
	bool fresh = !store_htab_get(&s->nodes, "/");
	char **todo = NULL;
	int rc = 0;

	/* every path, collected first: the table changes below */
	for (struct store_hitem *it = store_htab_next(&s->nodes, NULL); it;
	     it = store_htab_next(&s->nodes, it)) {
		if (nr == cap) {
			char **t;

			cap = cap ? cap * 2 : 64;
			t = realloc(todo, cap * sizeof(*t));
			if (!t) {
				rc = -ENOMEM;
				goto out;
			}
			todo = t;
		}
		todo[nr] = strdup(it->key);
		if (!todo[nr]) {
			rc = -ENOMEM;
			goto out;
		}
		nr++;
	}
	for (unsigned int i = 0; i < nr; i++) {
		char *canon = NULL;

		if (todo[i][0] != '/' ||
		    store_path_canon(0, todo[i], false, &canon) ||
		    strcmp(canon, todo[i])) {
			store_del_node_raw(s, todo[i]);
			store_log_del(s, todo[i]);
			free(todo[i]);
			todo[i] = NULL;
			bad++;
		}
		free(canon);
	}
	for (size_t i = 0; !rc && i < sizeof(base) / sizeof(base[0]); i++)
		rc = link_path(s, base[i], &fixed);
	for (unsigned int i = 0; !rc && i < nr; i++)
		if (todo[i])
			rc = link_path(s, todo[i], &fixed);
	/* children that name no node (or no name) */
	for (struct store_hitem *it = store_htab_next(&s->nodes, NULL);
	     !rc && it; it = store_htab_next(&s->nodes, it)) {
		struct store_node *n = node_of(it);

		for (uint32_t c = 0; c < n->nchildren;) {
			char *child;
			bool gone;

			if (asprintf(&child, "%s%s%s", n->path,
				     strcmp(n->path, "/") ? "/" : "",
				     n->children[c]) < 0) {
				rc = -ENOMEM;
				break;
			}
			gone = !n->children[c][0] || strchr(n->children[c], '/') ||
			       !store_htab_get(&s->nodes, child);
			free(child);
			if (!gone) {
				c++;
				continue;
			}
			store_node_del_child(n, n->children[c]);
			store_log_put(s, n);
			fixed++;
		}
	}
out:
	for (unsigned int i = 0; i < nr; i++)
		free(todo[i]);
	free(todo);
	if (rc)
		return rc;
	if ((bad || fixed) && !fresh && !s->opts.quiet)
		fprintf(stderr, "pvio-store: recovery: %u nodes with a bad path dropped, %u repairs to the tree\n",
			bad, fixed);
	return store_log_commit(s);
}

int store_new(const struct store_opts *opts, struct store **out)
{
	struct store *s = calloc(1, sizeof(*s));
	int rc;

	if (!s)
		return -ENOMEM;
	s->opts = *opts;
	s->next_txn_id = 1;
	rc = store_htab_init(&s->nodes);
	if (rc)
		goto fail;
	if (!store_domain_get(s, 0, true)) {
		rc = -ENOMEM;
		goto fail;
	}
	if (opts->datadir) {
		rc = store_log_open(s, opts->datadir);
		if (rc)
			goto fail;
	}
	rc = store_repair(s);
	if (rc)
		goto fail;
	*out = s;
	return 0;
fail:
	store_free(s);
	return rc;
}

void store_free(struct store *s)
{
	struct store_hitem *it, *next;

	if (!s)
		return;
	while (s->conns)
		store_conn_free(s->conns);
	store_log_close(s);
	if (s->nodes.b) {
		for (it = store_htab_next(&s->nodes, NULL); it; it = next) {
			next = store_htab_next(&s->nodes, it);
			store_node_free((struct store_node *)it);
		}
	}
	store_htab_fini(&s->nodes);
	for (unsigned int i = 0; i < PVIO_DOMID_FIRST_RESERVED; i++)
		free(s->domains[i]);
	free(s);
}
