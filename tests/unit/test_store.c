/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the pvio-store core, driven through connections without
 * sockets: tree, permissions, watches, transactions, quotas, framing and
 * the write-ahead log.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "../../xenbus/store/store.h"

struct msg {
	uint32_t type, req_id, tx_id, len;
	char p[XENSTORE_PAYLOAD_MAX + 1];
};

/* Pop the next queued output message of @c; false if none. */
/* Watch events seen by rq() while waiting for a reply, per connection. */
static struct { struct store_conn *c; char ev[16384]; } stash[8];

static char *stash_of(struct store_conn *c)
{
	for (int i = 0; i < 8; i++)
		if (stash[i].c == c)
			return stash[i].ev;
	for (int i = 0; i < 8; i++) {
		if (!stash[i].c) {
			stash[i].c = c;
			stash[i].ev[0] = 0;
			return stash[i].ev;
		}
	}
	fail_msg("stash full");
	return NULL;
}

static void stash_add(struct store_conn *c, const struct msg *m)
{
	char *s = stash_of(c);

	if (strlen(s) + m->len + 4 >= sizeof(stash[0].ev))
		return;
	strcat(s, m->p);
	strcat(s, "|");
	strcat(s, m->p + strlen(m->p) + 1);
	strcat(s, ";");
}

static bool pop(struct store_conn *c, struct msg *m)
{
	struct xsd_sockmsg h;

	if (store_conn_pending(c) < sizeof(h))
		return false;
	memcpy(&h, c->out + c->out_head, sizeof(h));
	assert_true(h.len <= XENSTORE_PAYLOAD_MAX);
	m->type = h.type;
	m->req_id = h.req_id;
	m->tx_id = h.tx_id;
	m->len = h.len;
	memcpy(m->p, c->out + c->out_head + sizeof(h), h.len);
	m->p[h.len] = 0;
	store_conn_consumed(c, sizeof(h) + h.len);
	return true;
}

static void feed(struct store_conn *c, const void *b, size_t n)
{
	assert_true(c->in_len + n <= STORE_IN_BUF);
	memcpy(c->in + c->in_len, b, n);
	c->in_len += n;
	store_conn_process(c);
}

static void send_req(struct store_conn *c, uint32_t type, uint32_t tx,
		     const void *p, size_t n)
{
	struct xsd_sockmsg h = { type, 7, tx, (uint32_t)n };

	feed(c, &h, sizeof(h));
	if (n)
		feed(c, p, n);
}

/*
 * One request; returns 0 and the reply in @m, or the -errno of an error
 * reply. Watch events queued before the reply are skipped.
 */
static int rq(struct store_conn *c, uint32_t type, uint32_t tx,
	      const void *p, size_t n, struct msg *m)
{
	struct msg tmp;

	if (!m)
		m = &tmp;
	send_req(c, type, tx, p, n);
	while (pop(c, m)) {
		if (m->type == XS_WATCH_EVENT) {
			stash_add(c, m);
			continue;
		}
		if (m->type == XS_ERROR) {
			for (int e = 1; e < 200; e++)
				if (!strcmp(store_errname(e), m->p) &&
				    strcmp(m->p, "EIO"))
					return -e;
			return -EIO;
		}
		assert_int_equal(m->type, type);
		return 0;
	}
	fail_msg("no reply");
	return -1;
}

/* Requests built from NUL-separated strings. */
static int rqs(struct store_conn *c, uint32_t type, uint32_t tx,
	       struct msg *m, int nargs, ...)
{
	char buf[XENSTORE_PAYLOAD_MAX * 2];
	size_t o = 0;
	va_list ap;

	va_start(ap, nargs);
	for (int i = 0; i < nargs; i++) {
		const char *a = va_arg(ap, const char *);
		size_t l = strlen(a) + 1;

		memcpy(buf + o, a, l);
		o += l;
	}
	va_end(ap);
	return rq(c, type, tx, buf, o, m);
}

static int wr(struct store_conn *c, uint32_t tx, const char *path,
	      const char *v)
{
	char buf[XENSTORE_PAYLOAD_MAX + 64];
	size_t pl = strlen(path) + 1, vl = strlen(v);

	memcpy(buf, path, pl);
	memcpy(buf + pl, v, vl);
	return rq(c, XS_WRITE, tx, buf, pl + vl, NULL);
}

static int rd(struct store_conn *c, uint32_t tx, const char *path, char *out)
{
	struct msg m;
	int rc = rqs(c, XS_READ, tx, &m, 1, path);

	if (!rc && out)
		strcpy(out, m.p);
	return rc;
}

/* Collect watch events queued on @c: "path|token;..." */
static void events(struct store_conn *c, char *out)
{
	struct msg m;
	char *s;

	while (pop(c, &m))
		if (m.type == XS_WATCH_EVENT)
			stash_add(c, &m);
	s = stash_of(c);
	strcpy(out, s);
	s[0] = 0;
}

static struct store *S;
static struct store_conn *C0, *C5, *C6;

static int setup(void **state)
{
	struct store_opts o = { .quiet = true };

	memset(stash, 0, sizeof(stash));
	assert_int_equal(store_new(&o, &S), 0);
	C0 = store_conn_new(S, 0, NULL, NULL);
	C5 = store_conn_new(S, 5, NULL, NULL);
	C6 = store_conn_new(S, 6, NULL, NULL);
	return 0;
}

static int teardown(void **state)
{
	store_free(S);
	return 0;
}

static void test_fresh_tree(void **state)
{
	char v[64];
	struct msg m;

	assert_int_equal(rd(C0, 0, "/tool/xenstored", v), 0);
	assert_int_equal(rqs(C0, XS_DIRECTORY, 0, &m, 1, "/"), 0);
	assert_int_equal(m.len, strlen("tool") + strlen("local") + 2);
	assert_int_equal(rd(C0, 0, "/nope", v), -ENOENT);
}

static void test_tree_basic(void **state)
{
	char v[XENSTORE_PAYLOAD_MAX + 1];
	struct msg m;

	assert_int_equal(wr(C0, 0, "/a/b/c", "hello"), 0);
	assert_int_equal(rd(C0, 0, "/a/b/c", v), 0);
	assert_string_equal(v, "hello");
	/* implicit parents exist and are empty */
	assert_int_equal(rd(C0, 0, "/a/b", v), 0);
	assert_string_equal(v, "");
	assert_int_equal(wr(C0, 0, "/a/b/d", ""), 0);
	assert_int_equal(rqs(C0, XS_DIRECTORY, 0, &m, 1, "/a/b"), 0);
	assert_int_equal(m.len, 4);
	assert_memory_equal(m.p, "c\0d\0", 4);
	/* DIRECTORY_PART: generation, names, end marker */
	assert_int_equal(rqs(C0, XS_DIRECTORY_PART, 0, &m, 2, "/a/b", "0"), 0);
	{
		size_t gl = strlen(m.p) + 1;

		assert_int_equal(m.len, gl + 5);
		assert_memory_equal(m.p + gl, "c\0d\0\0", 5);
	}
	/* mkdir of an existing node is fine, rm of an absent child too */
	assert_int_equal(rqs(C0, XS_MKDIR, 0, NULL, 1, "/a/b"), 0);
	assert_int_equal(rqs(C0, XS_RM, 0, NULL, 1, "/a/b/zz"), 0);
	assert_int_equal(rqs(C0, XS_RM, 0, NULL, 1, "/a/zz/yy"), -ENOENT);
	assert_int_equal(rqs(C0, XS_RM, 0, NULL, 1, "/a"), 0);
	assert_int_equal(rd(C0, 0, "/a/b/c", v), -ENOENT);
	assert_int_equal(rd(C0, 0, "/a", v), -ENOENT);
	/* bad paths */
	assert_int_equal(wr(C0, 0, "/a//b", "x"), -EINVAL);
	assert_int_equal(wr(C0, 0, "/a/", "x"), -EINVAL);
	assert_int_equal(wr(C0, 0, "/a b", "x"), -EINVAL);
	assert_int_equal(rqs(C0, XS_RM, 0, NULL, 1, "/"), -EINVAL);
	/* write without a value separator */
	assert_int_equal(rq(C0, XS_WRITE, 0, "/x", 2, NULL), -EINVAL);
	/* binary values survive */
	assert_int_equal(rq(C0, XS_WRITE, 0, "/bin\0a\0b", 8, NULL), 0);
	assert_int_equal(rqs(C0, XS_READ, 0, &m, 1, "/bin"), 0);
	assert_int_equal(m.len, 3);
	assert_memory_equal(m.p, "a\0b", 3);
}

static void test_relative_and_domain_path(void **state)
{
	char v[64];
	struct msg m;

	assert_int_equal(rqs(C0, XS_GET_DOMAIN_PATH, 0, &m, 1, "5"), 0);
	assert_string_equal(m.p, "/local/domain/5");
	assert_int_equal(rqs(C0, XS_GET_DOMAIN_PATH, 0, &m, 1, "x"), 0);
	assert_string_equal(m.p, "/local/domain/0");	/* as Xen */
	/* toolstack gives dom5 its directory */
	assert_int_equal(rqs(C0, XS_MKDIR, 0, NULL, 1, "/local/domain/5"), 0);
	assert_int_equal(rqs(C0, XS_SET_PERMS, 0, NULL, 3, "/local/domain/5",
			     "n5", "r0"), 0);
	assert_int_equal(wr(C5, 0, "data/x", "1"), 0);
	assert_int_equal(rd(C0, 0, "/local/domain/5/data/x", v), 0);
	assert_string_equal(v, "1");
	assert_int_equal(rd(C5, 0, "data/x", v), 0);
	/* dom6 cannot see it */
	assert_int_equal(rd(C6, 0, "/local/domain/5/data/x", v), -EACCES);
}

static void test_perms(void **state)
{
	struct msg m;
	char v[64];

	assert_int_equal(wr(C0, 0, "/p/node", "v"), 0);
	/* default: n0, only dom0 */
	assert_int_equal(rd(C5, 0, "/p/node", v), -EACCES);
	assert_int_equal(wr(C5, 0, "/p/node", "x"), -EACCES);
	assert_int_equal(wr(C5, 0, "/p/new", "x"), -EACCES);
	/* ACL: owner 0, dom5 may read, dom6 may write */
	assert_int_equal(rqs(C0, XS_SET_PERMS, 0, NULL, 4, "/p/node", "n0",
			     "r5", "w6"), 0);
	assert_int_equal(rqs(C0, XS_GET_PERMS, 0, &m, 1, "/p/node"), 0);
	assert_memory_equal(m.p, "n0\0r5\0w6\0", 9);
	assert_int_equal(rd(C5, 0, "/p/node", v), 0);
	assert_int_equal(wr(C5, 0, "/p/node", "x"), -EACCES);
	assert_int_equal(wr(C6, 0, "/p/node", "y"), 0);
	assert_int_equal(rd(C6, 0, "/p/node", v), -EACCES);
	/* a writer of the parent creates children it owns, ACL inherited */
	assert_int_equal(rqs(C0, XS_SET_PERMS, 0, NULL, 3, "/p", "n0", "b5"),
			 0);
	assert_int_equal(wr(C5, 0, "/p/mine/deep", "z"), 0);
	assert_int_equal(rqs(C0, XS_GET_PERMS, 0, &m, 1, "/p/mine/deep"), 0);
	/* owner becomes dom5; its own entry is dropped */
	assert_int_equal(m.len, 3);
	assert_string_equal(m.p, "n5");
	/* dom0 creating under it keeps the inherited owner */
	assert_int_equal(wr(C0, 0, "/p/mine/d0", "z"), 0);
	assert_int_equal(rqs(C0, XS_GET_PERMS, 0, &m, 1, "/p/mine/d0"), 0);
	assert_string_equal(m.p, "n5");
	/* only the owner changes an ACL, and may not give the node away */
	assert_int_equal(rqs(C6, XS_SET_PERMS, 0, NULL, 2, "/p/mine", "b6"),
			 -EACCES);
	assert_int_equal(rqs(C5, XS_SET_PERMS, 0, NULL, 2, "/p/mine", "b6"),
			 -EPERM);
	assert_int_equal(rqs(C5, XS_SET_PERMS, 0, NULL, 3, "/p/mine", "n5",
			     "r6"), 0);
	assert_int_equal(rd(C6, 0, "/p/mine", v), 0);
	/* bad ACL strings */
	assert_int_equal(rqs(C0, XS_SET_PERMS, 0, NULL, 2, "/p", "x0"),
			 -EINVAL);
	assert_int_equal(rqs(C0, XS_SET_PERMS, 0, NULL, 2, "/p", "r"),
			 -EINVAL);
	assert_int_equal(rqs(C0, XS_SET_PERMS, 0, NULL, 1, "/p"), -EINVAL);
	/* privileged-only requests */
	assert_int_equal(rqs(C5, XS_INTRODUCE, 0, NULL, 3, "7", "1", "2"),
			 -EACCES);
	assert_int_equal(rqs(C5, XS_CONTROL, 0, NULL, 1, "quota"), -EACCES);
}

static void test_watches(void **state)
{
	char ev[4096];

	assert_int_equal(rqs(C0, XS_WATCH, 0, NULL, 2, "/w", "tok"), 0);
	events(C0, ev);
	assert_string_equal(ev, "/w|tok;");	/* fires once at once */
	assert_int_equal(rqs(C0, XS_WATCH, 0, NULL, 2, "/w", "tok"), -EEXIST);
	{
		/* a token so long that an event could not fit a message */
		char tok[1100];

		memset(tok, 't', sizeof(tok) - 1);
		tok[sizeof(tok) - 1] = 0;
		assert_int_equal(rqs(C0, XS_WATCH, 0, NULL, 2, "/w", tok),
				 -EINVAL);
	}
	assert_int_equal(wr(C0, 0, "/w/a/b", "1"), 0);
	assert_int_equal(wr(C0, 0, "/other", "1"), 0);
	assert_int_equal(wr(C0, 0, "/wx", "1"), 0);	/* not below /w */
	events(C0, ev);
	assert_string_equal(ev, "/w/a/b|tok;");
	/* a watch inside a removed subtree fires with its own path */
	assert_int_equal(rqs(C0, XS_WATCH, 0, NULL, 2, "/w/a/b", "t2"), 0);
	events(C0, ev);
	assert_int_equal(rqs(C0, XS_RM, 0, NULL, 1, "/w"), 0);
	events(C0, ev);
	assert_string_equal(ev, "/w|tok;/w/a/b|t2;");
	assert_int_equal(rqs(C0, XS_UNWATCH, 0, NULL, 2, "/w", "tok"), 0);
	assert_int_equal(rqs(C0, XS_UNWATCH, 0, NULL, 2, "/w", "tok"),
			 -ENOENT);
	assert_int_equal(wr(C0, 0, "/w", "1"), 0);
	events(C0, ev);
	assert_string_equal(ev, "");
	/* special watches */
	assert_int_equal(rqs(C0, XS_WATCH, 0, NULL, 2, "@introduceDomain",
			     "in"), 0);
	assert_int_equal(rqs(C0, XS_WATCH, 0, NULL, 2, "@releaseDomain",
			     "out"), 0);
	events(C0, ev);
	assert_string_equal(ev, "@introduceDomain|in;@releaseDomain|out;");
	assert_int_equal(rqs(C0, XS_INTRODUCE, 0, NULL, 3, "9", "100", "3"),
			 0);
	{
		struct msg m;

		assert_int_equal(rqs(C0, XS_IS_DOMAIN_INTRODUCED, 0, &m, 1,
				     "9"), 0);
		assert_string_equal(m.p, "T");
	}
	assert_int_equal(rqs(C0, XS_RELEASE, 0, NULL, 1, "9"), 0);
	assert_int_equal(rqs(C0, XS_RELEASE, 0, NULL, 1, "9"), -ENOENT);
	events(C0, ev);
	assert_string_equal(ev, "@introduceDomain|in;@releaseDomain|out;");
	/* relative watch: relative event paths; unreadable nodes hidden */
	assert_int_equal(rqs(C0, XS_MKDIR, 0, NULL, 1, "/local/domain/5"), 0);
	assert_int_equal(rqs(C0, XS_SET_PERMS, 0, NULL, 2, "/local/domain/5",
			     "n5"), 0);
	assert_int_equal(rqs(C5, XS_WATCH, 0, NULL, 2, "dev", "d"), 0);
	assert_int_equal(rqs(C5, XS_WATCH, 0, NULL, 2, "/secret", "s"), 0);
	events(C5, ev);
	assert_string_equal(ev, "dev|d;/secret|s;");
	assert_int_equal(wr(C0, 0, "/local/domain/5/dev/vbd", "1"), 0);
	assert_int_equal(wr(C0, 0, "/secret/key", "1"), 0);
	events(C5, ev);
	assert_string_equal(ev, "dev/vbd|d;");
	/* RESET_WATCHES drops them all */
	assert_int_equal(rqs(C5, XS_RESET_WATCHES, 0, NULL, 0), 0);
	assert_int_equal(wr(C0, 0, "/local/domain/5/dev/vbd", "2"), 0);
	events(C5, ev);
	assert_string_equal(ev, "");
}

static uint32_t txn_start(struct store_conn *c)
{
	struct msg m;

	assert_int_equal(rqs(c, XS_TRANSACTION_START, 0, &m, 1, ""), 0);
	return strtoul(m.p, NULL, 10);
}

static void test_transactions(void **state)
{
	char v[64], ev[1024];
	uint32_t t1, t2;

	assert_int_equal(rqs(C0, XS_MKDIR, 0, NULL, 1, "/t"), 0);
	assert_int_equal(rqs(C0, XS_SET_PERMS, 0, NULL, 2, "/t", "r0"), 0);
	assert_int_equal(wr(C0, 0, "/t/a", "0"), 0);
	assert_int_equal(rqs(C6, XS_WATCH, 0, NULL, 2, "/t", "w"), 0);
	t1 = txn_start(C0);
	assert_true(t1 != 0);
	assert_int_equal(wr(C0, t1, "/t/a", "1"), 0);
	assert_int_equal(wr(C0, t1, "/t/new/deep", "n"), 0);
	/* isolation */
	assert_int_equal(rd(C0, t1, "/t/a", v), 0);
	assert_string_equal(v, "1");
	assert_int_equal(rd(C0, 0, "/t/a", v), 0);
	assert_string_equal(v, "0");
	assert_int_equal(rd(C0, 0, "/t/new/deep", v), -ENOENT);
	events(C6, ev);
	assert_string_equal(ev, "/t|w;");	/* nothing before commit */
	assert_int_equal(rqs(C0, XS_TRANSACTION_END, t1, NULL, 1, "T"), 0);
	assert_int_equal(rd(C0, 0, "/t/new/deep", v), 0);
	events(C6, ev);
	assert_string_equal(ev, "/t/a|w;/t/new/deep|w;");

	/* conflict: both read /t/a, the second commit loses */
	t1 = txn_start(C0);
	t2 = txn_start(C5);
	assert_int_equal(rd(C0, t1, "/t/a", v), 0);
	assert_int_equal(wr(C0, t1, "/t/a", "x"), 0);
	assert_int_equal(rd(C5, t2, "/t/a", v), 0);
	assert_int_equal(rqs(C0, XS_TRANSACTION_END, t1, NULL, 1, "T"), 0);
	assert_int_equal(rqs(C5, XS_TRANSACTION_END, t2, NULL, 1, "T"),
			 -EAGAIN);
	/* a plain write also conflicts with an open transaction */
	t1 = txn_start(C0);
	assert_int_equal(wr(C0, t1, "/t/a", "y"), 0);
	assert_int_equal(wr(C0, 0, "/t/a", "z"), 0);
	assert_int_equal(rqs(C0, XS_TRANSACTION_END, t1, NULL, 1, "T"),
			 -EAGAIN);
	assert_int_equal(rd(C0, 0, "/t/a", v), 0);
	assert_string_equal(v, "z");
	/* abort discards; rm inside a transaction */
	t1 = txn_start(C0);
	assert_int_equal(rqs(C0, XS_RM, t1, NULL, 1, "/t"), 0);
	assert_int_equal(rd(C0, t1, "/t/a", v), -ENOENT);
	assert_int_equal(rqs(C0, XS_TRANSACTION_END, t1, NULL, 1, "F"), 0);
	assert_int_equal(rd(C0, 0, "/t/a", v), 0);
	t1 = txn_start(C0);
	assert_int_equal(rqs(C0, XS_RM, t1, NULL, 1, "/t"), 0);
	assert_int_equal(rqs(C0, XS_TRANSACTION_END, t1, NULL, 1, "T"), 0);
	assert_int_equal(rd(C0, 0, "/t/a", v), -ENOENT);
	assert_int_equal(rd(C0, 0, "/t", v), -ENOENT);
	/* unknown transaction, bad end argument */
	assert_int_equal(rd(C0, 12345, "/t", v), -ENOENT);
	t1 = txn_start(C0);
	assert_int_equal(rqs(C0, XS_TRANSACTION_END, t1, NULL, 1, "X"),
			 -EINVAL);
	/* another connection cannot use it */
	assert_int_equal(rd(C5, t1, "/tool", v), -ENOENT);
	assert_int_equal(rqs(C0, XS_TRANSACTION_END, t1, NULL, 1, "F"), 0);
}

static void test_quotas(void **state)
{
	char name[64], big[STORE_QUOTA_NODE_SIZE + 2];
	int i, rc = 0;

	assert_int_equal(rqs(C0, XS_MKDIR, 0, NULL, 1, "/local/domain/5"), 0);
	assert_int_equal(rqs(C0, XS_SET_PERMS, 0, NULL, 2, "/local/domain/5",
			     "n5"), 0);
	/* nodes: the domain owns its directory already */
	for (i = 0; i < STORE_QUOTA_NODES + 5; i++) {
		/* 100 per directory: a directory's size counts its names */
		snprintf(name, sizeof(name), "q/%d/%d", i / 100, i % 100);
		rc = wr(C5, 0, name, "v");
		if (rc)
			break;
	}
	assert_int_equal(rc, -ENOSPC);
	print_message("node quota hit after %d writes\n", i);
	/* owned already: the domain dir, q, and one dir per 100 nodes */
	assert_true(i >= STORE_QUOTA_NODES - 15 && i <= STORE_QUOTA_NODES);
	assert_int_equal(rqs(C5, XS_RM, 0, NULL, 1, "q"), 0);
	assert_int_equal(wr(C5, 0, "again", "v"), 0);
	/* node size */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	assert_int_equal(wr(C5, 0, "big", big), -ENOSPC);
	big[STORE_QUOTA_NODE_SIZE - 64] = 0;
	assert_int_equal(wr(C5, 0, "big", big), 0);
	/* dom0 is not limited by node quotas */
	big[sizeof(big) - 1] = 'x';
	big[STORE_QUOTA_NODE_SIZE - 64] = 'x';
	big[sizeof(big) - 1] = 0;
	assert_int_equal(wr(C0, 0, "/big", big), 0);
	/* permissions per node */
	assert_int_equal(rqs(C5, XS_SET_PERMS, 0, NULL, 7, "again", "n5",
			     "r1", "r2", "r3", "r4", "r6"), -ENOSPC);
	assert_int_equal(rqs(C5, XS_SET_PERMS, 0, NULL, 6, "again", "n5",
			     "r1", "r2", "r3", "r4"), 0);
	/* watches per connection */
	for (i = 0; i < STORE_QUOTA_WATCHES + 1; i++) {
		snprintf(name, sizeof(name), "%d", i);
		rc = rqs(C6, XS_WATCH, 0, NULL, 2, "/w", name);
		if (rc)
			break;
	}
	assert_int_equal(rc, -E2BIG);
	assert_int_equal(i, STORE_QUOTA_WATCHES);
	/* transactions per connection */
	for (i = 0; i < STORE_QUOTA_TXNS + 1; i++) {
		rc = rqs(C6, XS_TRANSACTION_START, 0, NULL, 1, "");
		if (rc)
			break;
	}
	assert_int_equal(rc, -ENOSPC);
	assert_int_equal(i, STORE_QUOTA_TXNS);
	/* nodes touched by one transaction of a domain */
	{
		uint32_t t;
		struct msg m;
		char v[64];

		assert_int_equal(rqs(C5, XS_TRANSACTION_START, 0, &m, 1, ""),
				 0);
		t = strtoul(m.p, NULL, 10);
		for (i = 0; i < STORE_TXN_NODES + 10; i++) {
			snprintf(name, sizeof(name), "absent/%d", i);
			rd(C5, t, name, v);
		}
		assert_int_equal(rqs(C5, XS_TRANSACTION_END, t, NULL, 1, "T"),
				 -ENOSPC);
	}
	/* freeing the connection releases everything */
	store_conn_free(C6);
	C6 = store_conn_new(S, 6, NULL, NULL);
	assert_int_equal(rqs(C6, XS_TRANSACTION_START, 0, NULL, 1, ""), 0);
}

static void test_framing(void **state)
{
	struct xsd_sockmsg h = { XS_READ, 99, 0, 15 };
	const char *p = "/tool/xenstored";
	struct msg m;
	struct store_conn *c = store_conn_new(S, 0, NULL, NULL);

	/* one byte at a time */
	for (size_t i = 0; i < sizeof(h); i++)
		feed(c, (char *)&h + i, 1);
	for (size_t i = 0; i < 15; i++) {
		assert_false(pop(c, &m));
		feed(c, p + i, 1);
	}
	assert_true(pop(c, &m));
	assert_int_equal(m.type, XS_READ);
	assert_int_equal(m.req_id, 99);
	/* unknown type: an error, connection alive */
	assert_int_equal(rq(c, 200, 0, "x", 1, NULL), -EINVAL);
	assert_int_equal(rq(c, XS_RESUME, 0, "1", 2, NULL), -ENOSYS);
	assert_false(c->dead);
	/* oversized payload: the connection is dropped */
	h.len = XENSTORE_PAYLOAD_MAX + 1;
	feed(c, &h, sizeof(h));
	assert_true(c->dead);
	store_conn_free(c);
}

static void test_event_overflow(void **state)
{
	struct store_conn *slow = store_conn_new(S, 0, NULL, NULL);
	struct store_conn *c = store_conn_new(S, 0, NULL, NULL);
	char v[64];
	int i;

	assert_int_equal(rqs(slow, XS_WATCH, 0, NULL, 2, "/flood", "t"), 0);
	/* @slow never reads its events */
	for (i = 0; i < 100000 && !slow->dead; i++)
		assert_int_equal(wr(c, 0, "/flood/x", "1234567890"), 0);
	assert_true(slow->dead);
	assert_true(store_conn_pending(slow) <= STORE_OUT_EVENT_MAX);
	/* the writer is unaffected */
	assert_int_equal(rd(c, 0, "/flood/x", v), 0);
	store_conn_free(slow);
	store_conn_free(c);
}

static void test_reply_backpressure(void **state)
{
	struct store_conn *c = store_conn_new(S, 0, NULL, NULL);
	struct xsd_sockmsg h = { XS_READ, 1, 0, 16 };
	char big[4000];
	size_t before;

	memset(big, 'b', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	assert_int_equal(wr(c, 0, "/bp", big), 0);
	/* requests keep coming, replies are never read */
	while (c->in_len + sizeof(h) + 4 <= STORE_IN_BUF) {
		memcpy(c->in + c->in_len, &h, sizeof(h));
		memcpy(c->in + c->in_len + sizeof(h), "/bp", 4);
		h.len = 4;
		memcpy(c->in + c->in_len, &h, sizeof(h));
		c->in_len += sizeof(h) + 4;
	}
	store_conn_process(c);
	before = store_conn_pending(c);
	assert_true(before < STORE_OUT_HIGH + XENSTORE_PAYLOAD_MAX + 64);
	assert_true(c->in_len > 0);	/* the rest waits */
	assert_false(store_conn_can_read(c));
	store_conn_free(c);
}

static void test_log_replay(void **state)
{
	char dir[] = "/tmp/pvio-store-unit.XXXXXX";
	struct store_opts o = { .quiet = true };
	struct store *s;
	struct store_conn *c;
	char v[64], path[256];
	uint32_t t;
	FILE *f;

	assert_non_null(mkdtemp(dir));
	o.datadir = dir;
	assert_int_equal(store_new(&o, &s), 0);
	c = store_conn_new(s, 0, NULL, NULL);
	assert_int_equal(wr(c, 0, "/d/a", "1"), 0);
	assert_int_equal(wr(c, 0, "/d/b", "2"), 0);
	assert_int_equal(rqs(c, XS_SET_PERMS, 0, NULL, 2, "/d/b", "r3"), 0);
	assert_int_equal(rqs(c, XS_RM, 0, NULL, 1, "/d/a"), 0);
	t = txn_start(c);
	assert_int_equal(wr(c, t, "/d/t", "3"), 0);
	assert_int_equal(rqs(c, XS_TRANSACTION_END, t, NULL, 1, "T"), 0);
	/* simulate a crash: no snapshot, just reopen the log copy */
	snprintf(path, sizeof(path), "cp -r %s %s.crash", dir, dir);
	assert_int_equal(system(path), 0);
	store_free(s);

	snprintf(path, sizeof(path), "%s.crash", dir);
	o.datadir = path;
	/* a torn tail (half-written batch) is discarded */
	snprintf(v, sizeof(v), "/store.log");
	{
		char lp[300];

		snprintf(lp, sizeof(lp), "%s/store.log", path);
		f = fopen(lp, "a");
		assert_non_null(f);
		fwrite("PVSL\x40\0\0\0garbage", 1, 15, f);
		fclose(f);
	}
	assert_int_equal(store_new(&o, &s), 0);
	c = store_conn_new(s, 0, NULL, NULL);
	assert_int_equal(rd(c, 0, "/d/a", v), -ENOENT);
	assert_int_equal(rd(c, 0, "/d/b", v), 0);
	assert_string_equal(v, "2");
	assert_int_equal(rd(c, 0, "/d/t", v), 0);
	{
		struct msg m;

		assert_int_equal(rqs(c, XS_GET_PERMS, 0, &m, 1, "/d/b"), 0);
		assert_string_equal(m.p, "r3");
		assert_int_equal(rqs(c, XS_DIRECTORY, 0, &m, 1, "/d"), 0);
		assert_int_equal(m.len, 4);
	}
	store_free(s);	/* clean: snapshot */
	assert_int_equal(store_new(&o, &s), 0);
	c = store_conn_new(s, 0, NULL, NULL);
	assert_int_equal(rd(c, 0, "/d/t", v), 0);
	assert_string_equal(v, "3");
	store_free(s);
	snprintf(path, sizeof(path), "rm -rf %s %s.crash", dir, dir);
	assert_int_equal(system(path), 0);
}

/* Both trees hold the same nodes: values, ACLs and child lists. */
static void same_tree(struct store *a, struct store *b)
{
	struct store_hitem *it;

	assert_int_equal(a->nodes.count, b->nodes.count);
	for (it = store_htab_next(&a->nodes, NULL); it;
	     it = store_htab_next(&a->nodes, it)) {
		const struct store_node *x = (const void *)it, *y;

		y = (const void *)store_htab_get(&b->nodes, x->path);
		if (!y)
			fail_msg("%s missing after reload", x->path);
		assert_int_equal(x->vlen, y->vlen);
		assert_memory_equal(x->value, y->value, x->vlen);
		assert_int_equal(x->nperms, y->nperms);
		for (int i = 0; i < x->nperms; i++) {
			assert_int_equal(x->perms[i].domid, y->perms[i].domid);
			assert_int_equal(x->perms[i].access,
					 y->perms[i].access);
		}
		assert_int_equal(x->nchildren, y->nchildren);
		for (uint32_t i = 0; i < x->nchildren; i++)
			assert_string_equal(x->children[i], y->children[i]);
	}
}

/*
 * As if the daemon died now: copy its data directory once the log's
 * keeper has settled, optionally move files around in the copy (@fixup,
 * run in it), load the copy and compare with the live tree.
 */
static void check_crash_copy(struct store *live, const char *dir,
			     const char *fixup)
{
	struct store_opts o = { .quiet = true };
	char cmd[1400], copy[300];
	struct store *s;

	store_log_settle(live);
	snprintf(copy, sizeof(copy), "%s.copy", dir);
	snprintf(cmd, sizeof(cmd), "rm -rf %s && cp -r %s %s && cd %s && "
		 "rm -f lock%s%s", copy, dir, copy, copy, fixup ? " && " : "",
		 fixup ? fixup : "");
	assert_int_equal(system(cmd), 0);
	o.datadir = copy;
	assert_int_equal(store_new(&o, &s), 0);
	same_tree(live, s);
	store_free(s);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", copy);
	assert_int_equal(system(cmd), 0);
}

static bool file_in(const char *dir, const char *name)
{
	char p[300];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return access(p, F_OK) == 0;
}

/*
 * Compaction while serving: the log switches to a fresh file and the tree
 * is encoded a piece per loop iteration while requests keep changing it.
 * Whenever the daemon could die (before the log files are renamed, between
 * the renames, in the middle of the snapshot, after it), what is on disk
 * loads back into exactly the live tree.
 */
static void test_log_compaction(void **state)
{
	char dir[] = "/tmp/pvio-store-unit.XXXXXX";
	struct store_opts o = { .quiet = true, .compact_min = 128 << 10 };
	char path[64], val[256], cmd[300];
	struct store *s;
	struct store_conn *c;
	bool seen_encoding = false, seen_mid = false;
	unsigned int nodes;
	int rc;

	assert_non_null(mkdtemp(dir));
	o.datadir = dir;
	assert_int_equal(store_new(&o, &s), 0);
	c = store_conn_new(s, 0, NULL, NULL);
	for (int i = 0; s->st.compactions < 3; i++) {
		assert_true(i < 200000);
		snprintf(path, sizeof(path), "/c/d%d/k%d", i % 17, i % 1500);
		memset(val, 'a' + i % 26, sizeof(val));
		val[40 + i % 200] = 0;
		assert_int_equal(wr(c, 0, path, val), 0);
		if (i % 7 == 0) {
			snprintf(path, sizeof(path), "/c/d%d/k%d", (i * 3) % 17,
				 (i * 5) % 1500);
			rc = rqs(c, XS_RM, 0, NULL, 1, path);
			assert_true(rc == 0 || rc == -ENOENT);
		}
		if (i % 11 == 0) {
			rc = rqs(c, XS_SET_PERMS, 0, NULL, 3, path, "n0",
				 "r5");
			assert_true(rc == 0 || rc == -ENOENT);
		}
		if (i % 997 == 0) {
			snprintf(path, sizeof(path), "/c/d%d", i % 17);
			assert_int_equal(rqs(c, XS_RM, 0, NULL, 1, path), 0);
		}
		/* what the event loop does after each batch of replies */
		store_log_idle(s);
		if (store_log_busy(s) && !seen_encoding) {
			/* just switched: the new log may still be .next */
			seen_encoding = true;
			for (int k = 0; k < 40; k++) {
				snprintf(path, sizeof(path), "/c/new%d", k);
				assert_int_equal(wr(c, 0, path, "n"), 0);
				snprintf(path, sizeof(path), "/c/d%d/k%d",
					 k % 17, k);
				rc = rqs(c, XS_RM, 0, NULL, 1, path);
				assert_true(rc == 0 || rc == -ENOENT);
			}
			check_crash_copy(s, dir, NULL);
			check_crash_copy(s, dir, "mv store.log store.log.next "
					 "&& mv store.log.1 store.log");
			check_crash_copy(s, dir, "mv store.log "
					 "store.log.next");
		} else if (store_log_busy(s) && !seen_mid) {
			seen_mid = true;	/* store.snap.tmp half written */
			check_crash_copy(s, dir, NULL);
		}
		if (i % 3001 == 0)
			check_crash_copy(s, dir, NULL);
		if (!store_log_busy(s) && s->st.compactions) {
			/* once a snapshot is in, its old log is gone */
			store_log_settle(s);
			store_log_idle(s);
		}
	}
	assert_true(seen_encoding);
	assert_true(seen_mid);
	store_log_settle(s);
	store_log_idle(s);
	assert_false(file_in(dir, "store.log.1"));
	assert_true(file_in(dir, "store.snap"));
	check_crash_copy(s, dir, NULL);
	nodes = s->nodes.count;
	store_free(s);
	/* a clean stop: snapshot, empty log, no leftovers */
	assert_false(file_in(dir, "store.log.1"));
	assert_false(file_in(dir, "store.log.next"));
	assert_int_equal(store_new(&o, &s), 0);
	assert_int_equal(s->nodes.count, nodes);
	store_free(s);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

/* One log batch (magic, length, CRC, body) appended to @f. */
static void log_batch(FILE *f, const void *body, uint32_t len)
{
	uint32_t hdr[3] = { 0x4c535650u, len, store_crc32(body, len) };

	fwrite(hdr, sizeof(hdr), 1, f);
	fwrite(body, len, 1, f);
}

/* A PUT record: @path, owner dom0, @value, @nchild children named @kids. */
static size_t rec_put(uint8_t *p, const char *path, const char *value,
		      const char *const *kids, uint32_t nchild)
{
	uint16_t pl = (uint16_t)strlen(path), np = 1, dom = 0;
	uint32_t vl = (uint32_t)strlen(value);
	size_t n = 0;

	p[n++] = 1;
	memcpy(p + n, &pl, 2);
	n += 2;
	memcpy(p + n, path, pl);
	n += pl;
	memcpy(p + n, &np, 2);
	n += 2;
	memcpy(p + n, &dom, 2);
	n += 2;
	p[n++] = 0;
	memcpy(p + n, &vl, 4);
	n += 4;
	memcpy(p + n, value, vl);
	n += vl;
	memcpy(p + n, &nchild, 4);
	n += 4;
	for (uint32_t i = 0; i < nchild; i++) {
		uint16_t cl = (uint16_t)strlen(kids[i]);

		memcpy(p + n, &cl, 2);
		n += 2;
		memcpy(p + n, kids[i], cl);
		n += cl;
	}
	return n;
}

/*
 * A log whose batches are whole (CRC right) but describe a broken tree:
 * orphans, phantom children, a relative path, no root. Recovery repairs
 * it to a consistent tree and loses no node with a valid path.
 */
static void test_log_repair(void **state)
{
	static const char *const ghost[] = { "ghost", "real" };
	char dir[] = "/tmp/pvio-store-unit.XXXXXX", path[300], v[64];
	struct store_opts o = { .quiet = true };
	uint8_t body[512];
	struct store *s;
	struct store_conn *c;
	struct msg m;
	size_t n = 0;
	FILE *f;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/store.log", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	n += rec_put(body + n, "/a/b/c", "deep", NULL, 0);	/* no parents */
	n += rec_put(body + n, "/x", "", ghost, 2);		/* a phantom child */
	n += rec_put(body + n, "/x/real", "r", NULL, 0);
	n += rec_put(body + n, "rel", "bad", NULL, 0);		/* not absolute */
	n += rec_put(body + n, "/y//z", "bad", NULL, 0);	/* not canonical */
	log_batch(f, body, (uint32_t)n);
	fclose(f);

	o.datadir = dir;
	assert_int_equal(store_new(&o, &s), 0);
	c = store_conn_new(s, 0, NULL, NULL);
	assert_int_equal(rd(c, 0, "/a/b/c", v), 0);
	assert_string_equal(v, "deep");
	assert_int_equal(rqs(c, XS_DIRECTORY, 0, &m, 1, "/a/b"), 0);
	assert_int_equal(m.len, 2);		/* "c\0" */
	assert_int_equal(rqs(c, XS_DIRECTORY, 0, &m, 1, "/x"), 0);
	assert_int_equal(m.len, 5);		/* "real\0": the ghost is gone */
	assert_int_equal(rd(c, 0, "/local/domain/0", v), 0);	/* base nodes */
	assert_null(store_htab_get(&s->nodes, "rel"));
	assert_null(store_htab_get(&s->nodes, "/y//z"));
	/* the repaired tree is what the next recovery finds */
	store_free(s);
	assert_int_equal(store_new(&o, &s), 0);
	c = store_conn_new(s, 0, NULL, NULL);
	assert_int_equal(rqs(c, XS_DIRECTORY, 0, &m, 1, "/x"), 0);
	assert_int_equal(m.len, 5);
	assert_int_equal(rd(c, 0, "/a/b/c", v), 0);
	store_free(s);
	snprintf(path, sizeof(path), "rm -rf %s", dir);
	assert_int_equal(system(path), 0);
}

/*
 * Many domains come and go: afterwards store_shrink() gives the node table
 * back its small size and drops the records of released domains that own
 * nothing, and keeps every record still needed.
 */
static void test_shrink(void **state)
{
	char path[64], id[8], v[32];
	uint32_t peak;

	/* dom7 owns a node but is not introduced: its record stays */
	assert_int_equal(wr(C0, 0, "/kept", "k"), 0);
	assert_int_equal(rqs(C0, XS_SET_PERMS, 0, NULL, 2, "/kept", "n7"), 0);
	assert_int_equal(rqs(C0, XS_INTRODUCE, 0, NULL, 3, "8", "100", "3"),
			 0);
	/* dom9 released, then introduced again: its record stays */
	assert_int_equal(rqs(C0, XS_INTRODUCE, 0, NULL, 3, "9", "100", "3"),
			 0);
	assert_int_equal(rqs(C0, XS_RELEASE, 0, NULL, 1, "9"), 0);
	assert_int_equal(rqs(C0, XS_INTRODUCE, 0, NULL, 3, "9", "100", "3"),
			 0);
	for (int d = 10; d < 74; d++) {
		snprintf(id, sizeof(id), "%d", d);
		assert_int_equal(rqs(C0, XS_INTRODUCE, 0, NULL, 3, id, "100",
				     "3"), 0);
		for (int i = 0; i < 40; i++) {
			snprintf(path, sizeof(path), "/local/domain/%d/n%d", d,
				 i);
			assert_int_equal(wr(C0, 0, path, "x"), 0);
		}
		snprintf(path, sizeof(path), "/local/domain/%d", d);
		snprintf(v, sizeof(v), "n%d", d);
		assert_int_equal(rqs(C0, XS_SET_PERMS, 0, NULL, 2, path, v), 0);
		assert_non_null(S->domains[d]);
	}
	peak = S->nodes.nbuckets;
	assert_true(peak >= 2048);
	for (int d = 10; d < 74; d++) {
		snprintf(id, sizeof(id), "%d", d);
		snprintf(path, sizeof(path), "/local/domain/%d", d);
		/* dom10 still owns its dir when released */
		if (d != 10)
			assert_int_equal(rqs(C0, XS_RM, 0, NULL, 1, path), 0);
		assert_int_equal(rqs(C0, XS_RELEASE, 0, NULL, 1, id), 0);
	}
	assert_int_equal(S->nodes.nbuckets, peak);	/* deleting keeps it */
	store_shrink(S);
	assert_non_null(S->domains[10]);
	assert_int_equal(S->domains[10]->nodes, 1);	/* its dir */
	assert_int_equal(rqs(C0, XS_RM, 0, NULL, 1, "/local/domain/10"), 0);
	store_shrink(S);
	assert_int_equal(S->nodes.nbuckets, STORE_HTAB_MIN);
	for (int d = 10; d < 74; d++)
		assert_null(S->domains[d]);
	assert_non_null(S->domains[0]);
	assert_non_null(S->domains[7]);		/* owns /kept */
	assert_non_null(S->domains[8]);		/* still introduced */
	assert_non_null(S->domains[9]);		/* introduced again */
	assert_true(S->domains[9]->introduced);
	/* the tree is intact and works on: reads, new nodes, quotas */
	assert_int_equal(rd(C5, 0, "/kept", v), -EACCES);
	assert_int_equal(rd(C0, 0, "/kept", v), 0);
	assert_string_equal(v, "k");
	assert_int_equal(rd(C0, 0, "/local/domain/10/n0", v), -ENOENT);
	assert_int_equal(wr(C0, 0, "/local/domain/10/again", "y"), 0);
	assert_int_equal(rqs(C0, XS_SET_PERMS, 0, NULL, 2,
			     "/local/domain/10/again", "n10"), 0);
	assert_int_equal(S->domains[10]->nodes, 1);
	assert_int_equal(rd(C0, 0, "/local/domain/10/again", v), 0);
	assert_string_equal(v, "y");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_fresh_tree, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tree_basic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_relative_and_domain_path,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_perms, setup, teardown),
		cmocka_unit_test_setup_teardown(test_watches, setup, teardown),
		cmocka_unit_test_setup_teardown(test_transactions, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_quotas, setup, teardown),
		cmocka_unit_test_setup_teardown(test_framing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_event_overflow, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_reply_backpressure, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_shrink, setup, teardown),
		cmocka_unit_test(test_log_replay),
		cmocka_unit_test(test_log_compaction),
		cmocka_unit_test(test_log_repair),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
