/* SPDX-License-Identifier: MIT */
/*
 * pvio-store tree operations with Xen's semantics: path rules, implicit
 * parents, permission inheritance and checks, node quotas. Each operation
 * works on the committed tree or inside a transaction's view.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

static bool path_char_ok(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9') || ch == '-' || ch == '/' ||
	       ch == '_' || ch == '@';
}

int store_path_canon(uint16_t domid, const char *in, bool allow_special,
		     char **out)
{
	size_t len = strlen(in);
	char *p;

	if (in[0] == '@') {
		/* Special watch paths: "@introduceDomain", "@releaseDomain"... */
		if (!allow_special || len < 2 || len > XENSTORE_REL_PATH_MAX)
			return -EINVAL;
		for (size_t i = 1; i < len; i++)
			if (!path_char_ok(in[i]) || in[i] == '/')
				return -EINVAL;
		p = strdup(in);
		if (!p)
			return -ENOMEM;
		*out = p;
		return 0;
	}
	if (len == 0)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (!path_char_ok(in[i]))
			return -EINVAL;
		if (in[i] == '/' && in[i + 1] == '/')
			return -EINVAL;
	}
	if (len > 1 && in[len - 1] == '/')
		return -EINVAL;
	if (in[0] == '/') {
		if (len > XENSTORE_ABS_PATH_MAX)
			return -EINVAL;
		p = strdup(in);
	} else {
		if (len > XENSTORE_REL_PATH_MAX)
			return -EINVAL;
		if (asprintf(&p, "/local/domain/%u/%s", domid, in) < 0)
			p = NULL;
	}
	if (!p)
		return -ENOMEM;
	*out = p;
	return 0;
}

/* True if @path is @ancestor or lies below it. */
bool store_path_is_below(const char *path, const char *ancestor)
{
	size_t al = strlen(ancestor);

	if (al == 1 && ancestor[0] == '/')
		return path[0] == '/';
	return !strncmp(path, ancestor, al) &&
	       (path[al] == 0 || path[al] == '/');
}

unsigned int store_perm_for(const struct store_node *n, uint16_t domid,
			    bool privileged)
{
	if (privileged || n->perms[0].domid == domid)
		return STORE_PERM_READ | STORE_PERM_WRITE;
	for (uint16_t i = 1; i < n->nperms; i++)
		if (n->perms[i].domid == domid)
			return n->perms[i].access;
	return n->perms[0].access;
}

const struct store_node *store_get(struct store *s, struct store_txn *t,
				   const char *path)
{
	if (t)
		return store_txn_get(s, t, path);
	return (const struct store_node *)store_htab_get(&s->nodes, path);
}

static void account(struct store *s, uint16_t owner, int delta)
{
	struct store_domain *d = store_domain_get(s, owner, true);

	if (d)
		d->nodes += delta;
}

/* Commit a node record into the tree (owns @n). Logged. */
void store_commit_put(struct store *s, struct store_node *n)
{
	struct store_node *old;

	old = (struct store_node *)store_htab_get(&s->nodes, n->path);
	if (old) {
		store_htab_del(&s->nodes, &old->h);
		account(s, old->perms[0].domid, -1);
		store_node_free(old);
	}
	n->gen = ++s->gen;
	n->h.key = n->path;
	store_htab_add(&s->nodes, &n->h);
	account(s, n->perms[0].domid, 1);
	store_log_put(s, n);
}

void store_commit_del(struct store *s, const char *path)
{
	struct store_node *old;

	old = (struct store_node *)store_htab_get(&s->nodes, path);
	if (!old)
		return;
	store_htab_del(&s->nodes, &old->h);
	account(s, old->perms[0].domid, -1);
	store_log_del(s, path);
	store_node_free(old);
}

int store_load_node(struct store *s, struct store_node *n)
{
	struct store_node *old;

	old = (struct store_node *)store_htab_get(&s->nodes, n->path);
	if (old) {
		store_htab_del(&s->nodes, &old->h);
		account(s, old->perms[0].domid, -1);
		store_node_free(old);
	}
	n->gen = ++s->gen;
	n->h.key = n->path;
	store_htab_add(&s->nodes, &n->h);
	account(s, n->perms[0].domid, 1);
	return 0;
}

void store_del_node_raw(struct store *s, const char *path)
{
	struct store_node *old;

	old = (struct store_node *)store_htab_get(&s->nodes, path);
	if (!old)
		return;
	store_htab_del(&s->nodes, &old->h);
	account(s, old->perms[0].domid, -1);
	store_node_free(old);
}

static int tree_put(struct store *s, struct store_txn *t, struct store_node *n)
{
	if (t)
		return store_txn_put(s, t, n);
	store_commit_put(s, n);
	return 0;
}

static int tree_del(struct store *s, struct store_txn *t, const char *path)
{
	if (t)
		return store_txn_del(s, t, path);
	store_commit_del(s, path);
	return 0;
}

/* A change to report to watchers: now, or when @t commits. */
static void tree_event(struct store *s, struct store_txn *t, const char *path,
		       bool recurse, const struct store_perm *perms,
		       uint16_t nperms)
{
	struct store_txn_event *e;

	if (!t) {
		store_watch_fire(s, path, recurse, perms, nperms);
		return;
	}
	e = calloc(1, sizeof(*e) + strlen(path) + 1);
	if (!e)
		return;
	strcpy(e->path, path);
	e->recurse = recurse;
	e->perms = malloc(nperms * sizeof(*perms));
	if (e->perms) {
		memcpy(e->perms, perms, nperms * sizeof(*perms));
		e->nperms = nperms;
	}
	*t->events_tail = e;
	t->events_tail = &e->next;
}

/* Parent of an absolute path, in @buf (same size as path + 1). */
static void parent_of(const char *path, char *buf)
{
	const char *slash = strrchr(path, '/');
	size_t l = slash == path ? 1 : (size_t)(slash - path);

	memcpy(buf, path, l);
	buf[l] = 0;
}

static bool quota_applies(const struct store_conn *c)
{
	return !c->privileged;
}

static uint32_t domain_nodes(struct store *s, uint16_t domid)
{
	struct store_domain *d = store_domain_get(s, domid, false);

	return d ? d->nodes : 0;
}

/*
 * Create @path (absent) and every missing ancestor. The nearest existing
 * ancestor must be writable; new nodes inherit its ACL, and an unprivileged
 * creator becomes their owner (Xen's rule).
 */
static int tree_create(struct store *s, struct store_conn *c,
		       struct store_txn *t, const char *path,
		       const void *v, uint32_t len)
{
	size_t plen = strlen(path);
	char *anc = malloc(plen + 1);
	const struct store_node *a = NULL;
	struct store_perm *perms = NULL;
	struct store_node *pc = NULL;
	unsigned int missing = 0;
	uint16_t np = 0;
	int rc;

	if (!anc)
		return -ENOMEM;
	strcpy(anc, path);
	while (!(a = store_get(s, t, anc))) {
		char *slash = strrchr(anc, '/');

		missing++;
		if (slash == anc)
			anc[1] = 0;
		else
			*slash = 0;
	}
	if (!(store_perm_for(a, c->domid, c->privileged) & STORE_PERM_WRITE)) {
		rc = -EACCES;
		goto out;
	}
	if (quota_applies(c) &&
	    (int64_t)domain_nodes(s, c->domid) + (t ? t->nodes_delta : 0) +
	    missing > STORE_QUOTA_NODES) {
		rc = -ENOSPC;
		goto out;
	}
	if (quota_applies(c) && len > STORE_QUOTA_NODE_SIZE) {
		rc = -ENOSPC;
		goto out;
	}
	/* Inherited ACL: an unprivileged creator owns the new nodes. */
	perms = malloc(a->nperms * sizeof(*perms));
	if (!perms) {
		rc = -ENOMEM;
		goto out;
	}
	for (uint16_t i = 0; i < a->nperms; i++) {
		if (i && !c->privileged && a->perms[i].domid == c->domid)
			continue;
		perms[np++] = a->perms[i];
	}
	if (!c->privileged)
		perms[0].domid = c->domid;

	/* Link under the ancestor, then create each level down to @path. */
	pc = store_node_clone(a);
	if (!pc) {
		rc = -ENOMEM;
		goto out;
	}
	{
		size_t al = strlen(anc);
		const char *rest = path + (al == 1 ? 1 : al + 1);
		char *cur = malloc(plen + 1);
		const char *end;

		if (!cur) {
			rc = -ENOMEM;
			goto out;
		}
		strcpy(cur, anc);
		for (;;) {
			size_t cl = strlen(cur);
			char name[XENSTORE_ABS_PATH_MAX + 1];
			struct store_node *nn;

			end = strchr(rest, '/');
			if (!end)
				end = rest + strlen(rest);
			memcpy(name, rest, end - rest);
			name[end - rest] = 0;
			rc = store_node_add_child(pc, name);
			if (!rc && quota_applies(c) &&
			    pc->perms[0].domid == c->domid &&
			    store_node_size(pc) > STORE_QUOTA_NODE_SIZE)
				rc = -ENOSPC;
			if (rc) {
				free(cur);
				goto out;
			}
			rc = tree_put(s, t, pc);
			pc = NULL;
			if (rc) {
				free(cur);
				goto out;
			}
			if (cl > 1)
				cur[cl++] = '/';
			memcpy(cur + cl, name, end - rest + 1);
			nn = store_node_new(cur);
			if (!nn) {
				free(cur);
				rc = -ENOMEM;
				goto out;
			}
			store_node_set_perms(nn, perms, np);
			if (t && quota_applies(c))
				t->nodes_delta++;
			if (!*end) {
				rc = store_node_set_value(nn, v, len);
				if (!rc)
					rc = tree_put(s, t, nn);
				else
					store_node_free(nn);
				free(cur);
				goto out;
			}
			pc = nn;
			rest = end + 1;
		}
	}
out:
	store_node_free(pc);
	free(perms);
	free(anc);
	return rc;
}

int store_do_read(struct store *s, struct store_conn *c, struct store_txn *t,
		  const char *path, const struct store_node **out)
{
	const struct store_node *n = store_get(s, t, path);

	if (!n)
		return -ENOENT;
	if (!(store_perm_for(n, c->domid, c->privileged) & STORE_PERM_READ))
		return -EACCES;
	*out = n;
	return 0;
}

int store_do_write(struct store *s, struct store_conn *c, struct store_txn *t,
		   const char *path, const void *v, uint32_t len)
{
	const struct store_node *n = store_get(s, t, path);
	struct store_node *nn;
	int rc;

	if (!n) {
		rc = tree_create(s, c, t, path, v, len);
		if (rc)
			return rc;
		n = store_get(s, t, path);
		if (n)
			tree_event(s, t, path, false, n->perms, n->nperms);
		return 0;
	}
	if (!(store_perm_for(n, c->domid, c->privileged) & STORE_PERM_WRITE))
		return -EACCES;
	nn = store_node_clone(n);
	if (!nn)
		return -ENOMEM;
	rc = store_node_set_value(nn, v, len);
	if (!rc && quota_applies(c) &&
	    store_node_size(nn) > STORE_QUOTA_NODE_SIZE)
		rc = -ENOSPC;
	if (rc) {
		store_node_free(nn);
		return rc;
	}
	rc = tree_put(s, t, nn);
	if (rc)
		return rc;
	n = store_get(s, t, path);
	if (n)
		tree_event(s, t, path, false, n->perms, n->nperms);
	return 0;
}

int store_do_mkdir(struct store *s, struct store_conn *c, struct store_txn *t,
		   const char *path)
{
	const struct store_node *n = store_get(s, t, path);
	int rc;

	if (n) {
		/* Xen: mkdir of an existing node succeeds, silently. */
		if (!(store_perm_for(n, c->domid, c->privileged) &
		      STORE_PERM_WRITE))
			return -EACCES;
		return 0;
	}
	rc = tree_create(s, c, t, path, "", 0);
	if (rc)
		return rc;
	n = store_get(s, t, path);
	if (n)
		tree_event(s, t, path, false, n->perms, n->nperms);
	return 0;
}

/* Remove @path and everything below it (children first). */
static int rm_subtree(struct store *s, struct store_txn *t, const char *path,
		      int *count)
{
	const struct store_node *n = store_get(s, t, path);
	size_t pl = strlen(path);
	char **names;
	uint32_t nc;
	int rc = 0;

	if (!n)
		return 0;
	nc = n->nchildren;
	names = calloc(nc ? nc : 1, sizeof(char *));
	if (!names)
		return -ENOMEM;
	for (uint32_t i = 0; i < nc; i++) {
		names[i] = strdup(n->children[i]);
		if (!names[i])
			rc = -ENOMEM;
	}
	for (uint32_t i = 0; i < nc && !rc; i++) {
		char *cp = malloc(pl + strlen(names[i]) + 2);

		if (!cp) {
			rc = -ENOMEM;
			break;
		}
		sprintf(cp, "%s/%s", pl == 1 ? "" : path, names[i]);
		rc = rm_subtree(s, t, cp, count);
		free(cp);
	}
	for (uint32_t i = 0; i < nc; i++)
		free(names[i]);
	free(names);
	if (rc)
		return rc;
	(*count)++;
	return tree_del(s, t, path);
}

int store_do_rm(struct store *s, struct store_conn *c, struct store_txn *t,
		const char *path)
{
	const struct store_node *n = store_get(s, t, path);
	char *parent = malloc(strlen(path) + 1);
	struct store_perm *perms = NULL;
	struct store_node *pc;
	uint16_t np;
	int count = 0;
	int rc;

	if (!parent)
		return -ENOMEM;
	parent_of(path, parent);
	if (!n) {
		/* Xen: removing an absent node is fine if its parent exists. */
		rc = store_get(s, t, parent) ? 0 : -ENOENT;
		goto out;
	}
	if (!strcmp(path, "/")) {
		rc = -EINVAL;
		goto out;
	}
	if (!(store_perm_for(n, c->domid, c->privileged) & STORE_PERM_WRITE)) {
		rc = -EACCES;
		goto out;
	}
	np = n->nperms;
	perms = malloc(np * sizeof(*perms));
	if (!perms) {
		rc = -ENOMEM;
		goto out;
	}
	memcpy(perms, n->perms, np * sizeof(*perms));
	{
		const struct store_node *p = store_get(s, t, parent);
		const char *name = path + strlen(parent) +
				   (strlen(parent) == 1 ? 0 : 1);

		pc = p ? store_node_clone(p) : NULL;
		if (!pc) {
			rc = -ENOMEM;
			goto out;
		}
		store_node_del_child(pc, name);
		rc = tree_put(s, t, pc);
		if (rc)
			goto out;
	}
	rc = rm_subtree(s, t, path, &count);
	if (rc)
		goto out;
	if (t && quota_applies(c))
		t->nodes_delta -= count;
	tree_event(s, t, path, true, perms, np);
out:
	free(perms);
	free(parent);
	return rc;
}

int store_do_set_perms(struct store *s, struct store_conn *c,
		       struct store_txn *t, const char *path,
		       const struct store_perm *p, uint16_t np)
{
	const struct store_node *n = store_get(s, t, path);
	struct store_node *nn;
	int rc;

	if (!n)
		return -ENOENT;
	/* Only the owner (or a privileged domain) changes an ACL. */
	if (!c->privileged && n->perms[0].domid != c->domid)
		return -EACCES;
	if (!c->privileged && p[0].domid != n->perms[0].domid)
		return -EPERM;
	if (quota_applies(c) && np > STORE_QUOTA_PERMS)
		return -ENOSPC;
	nn = store_node_clone(n);
	if (!nn)
		return -ENOMEM;
	rc = store_node_set_perms(nn, p, np);
	if (rc) {
		store_node_free(nn);
		return rc;
	}
	rc = tree_put(s, t, nn);
	if (rc)
		return rc;
	tree_event(s, t, path, false, p, np);
	return 0;
}
