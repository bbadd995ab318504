/* SPDX-License-Identifier: MIT */
/*
 * pvio-store watches: per connection, never persisted. A change at a path
 * fires every watch at or above it; removing a subtree also fires the
 * watches inside it (with their own path), as Xen does.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

static void watch_free(struct store_watch *w)
{
	free(w->path);
	free(w->token);
	free(w);
}

/* The path as the watcher registered it: relative watches see relative. */
static const char *event_path(const struct store_conn *c,
			      const struct store_watch *w, const char *path,
			      char *buf, size_t bufsz)
{
	int n;

	if (!w->relative)
		return path;
	n = snprintf(buf, bufsz, "/local/domain/%u/", c->domid);
	if (n > 0 && !strncmp(path, buf, n))
		return path + n;
	return path;
}

static void watch_send(struct store_conn *c, const struct store_watch *w,
		       const char *path)
{
	char buf[32];
	const char *p = event_path(c, w, path, buf, sizeof(buf));

	if (!store_conn_send(c, XS_WATCH_EVENT, 0, 0, p, strlen(p) + 1,
			     w->token, strlen(w->token) + 1))
		c->store->st.events_dropped++;
	else
		c->store->st.events++;
}

int store_watch_add(struct store_conn *c, const char *path, const char *token)
{
	struct store_watch *w;
	char *abs;
	int rc;

	/* every event (path up to the absolute maximum + token) fits a message */
	if (strlen(token) + 2 + XENSTORE_ABS_PATH_MAX > XENSTORE_PAYLOAD_MAX)
		return -EINVAL;
	rc = store_path_canon(c->domid, path, true, &abs);
	if (rc)
		return rc;
	for (w = c->watches; w; w = w->next) {
		if (!strcmp(w->path, abs) && !strcmp(w->token, token)) {
			free(abs);
			return -EEXIST;
		}
	}
	if (c->nwatches >= STORE_QUOTA_WATCHES) {
		free(abs);
		return -E2BIG;
	}
	w = calloc(1, sizeof(*w));
	if (!w || !(w->token = strdup(token))) {
		free(w);
		free(abs);
		return -ENOMEM;
	}
	w->path = abs;
	w->relative = path[0] != '/' && path[0] != '@';
	/* append: events go out in registration order */
	{
		struct store_watch **pp = &c->watches;

		while (*pp)
			pp = &(*pp)->next;
		*pp = w;
	}
	c->nwatches++;
	return 0;
}

int store_watch_del(struct store_conn *c, const char *path, const char *token)
{
	struct store_watch **pp;
	char *abs;
	int rc;

	rc = store_path_canon(c->domid, path, true, &abs);
	if (rc)
		return rc;
	for (pp = &c->watches; *pp; pp = &(*pp)->next) {
		struct store_watch *w = *pp;

		if (strcmp(w->path, abs) || strcmp(w->token, token))
			continue;
		*pp = w->next;
		watch_free(w);
		c->nwatches--;
		free(abs);
		return 0;
	}
	free(abs);
	return -ENOENT;
}

void store_watch_del_all(struct store_conn *c)
{
	while (c->watches) {
		struct store_watch *w = c->watches;

		c->watches = w->next;
		watch_free(w);
	}
	c->nwatches = 0;
}

static bool can_see(const struct store_conn *c, const struct store_perm *perms,
		    uint16_t nperms)
{
	struct store_node n;

	if (c->privileged || !perms || !nperms)
		return true;
	memset(&n, 0, sizeof(n));
	n.perms = (struct store_perm *)perms;
	n.nperms = nperms;
	return store_perm_for(&n, c->domid, false) & STORE_PERM_READ;
}

void store_watch_fire(struct store *s, const char *path, bool recurse,
		      const struct store_perm *perms, uint16_t nperms)
{
	struct store_conn *c, *cn;

	for (c = s->conns; c; c = cn) {
		cn = c->next;
		if (c->dead || !can_see(c, perms, nperms))
			continue;
		for (struct store_watch *w = c->watches; w; w = w->next) {
			if (w->path[0] == '@')
				continue;
			if (store_path_is_below(path, w->path))
				watch_send(c, w, path);
			else if (recurse && store_path_is_below(w->path, path))
				watch_send(c, w, w->path);
		}
	}
}

void store_watch_fire_special(struct store *s, const char *name)
{
	for (struct store_conn *c = s->conns; c; c = c->next) {
		if (c->dead)
			continue;
		for (struct store_watch *w = c->watches; w; w = w->next)
			if (!strcmp(w->path, name))
				watch_send(c, w, name);
	}
}
