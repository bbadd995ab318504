/* SPDX-License-Identifier: MIT */
/*
 * pvio-store request dispatcher: decodes each xenstore wire request (the
 * payload is already a private, NUL-terminated copy), runs it against the
 * tree and queues the reply or Xen's error name.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

static const struct xsd_errors xsd_errors[] = PVIO_XSD_ERRORS_INIT;

const char *store_errname(int err)
{
	if (err < 0)
		err = -err;
	for (size_t i = 0; i < sizeof(xsd_errors) / sizeof(xsd_errors[0]); i++)
		if (xsd_errors[i].errnum == err)
			return xsd_errors[i].errstring;
	return "EIO";
}

struct req {
	struct store_conn *c;
	const struct xsd_sockmsg *h;
	const char *p;		/* payload, NUL-terminated copy */
	uint32_t len;
	struct store_txn *t;
	char *out;		/* reply payload */
	uint32_t olen;
	/* set by WATCH: the initial event to send after the reply */
	const char *ev_path, *ev_token;
};

/* The i-th NUL-separated argument, or NULL if the payload has fewer. */
static const char *arg(const struct req *r, unsigned int i, uint32_t *off_out)
{
	uint32_t off = 0;

	for (;;) {
		if (off >= r->len && !(off == 0 && r->len == 0 && i == 0))
			return NULL;
		if (i == 0) {
			if (off_out)
				*off_out = off;
			return r->p + off;
		}
		off += strlen(r->p + off) + 1;
		i--;
	}
}

static int parse_uint(const char *s, uint64_t max, uint64_t *v)
{
	char *end;
	unsigned long long x;

	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		return -EINVAL;
	errno = 0;
	x = strtoull(s, &end, 10);
	if (errno || *end || x > max)
		return -EINVAL;
	*v = x;
	return 0;
}

static int reply_str(struct req *r, const char *s)
{
	size_t l = strlen(s) + 1;

	memcpy(r->out, s, l);
	r->olen = l;
	return 0;
}

static int path_arg(struct req *r, char **abs)
{
	const char *p = arg(r, 0, NULL);

	if (!p)
		return -EINVAL;
	return store_path_canon(r->c->domid, p, false, abs);
}

static int do_read(struct req *r)
{
	const struct store_node *n;
	char *path;
	int rc = path_arg(r, &path);

	if (rc)
		return rc;
	rc = store_do_read(r->c->store, r->c, r->t, path, &n);
	if (!rc) {
		uint32_t l = n->vlen > XENSTORE_PAYLOAD_MAX ?
			     XENSTORE_PAYLOAD_MAX : n->vlen;
		if (l)	/* an empty node may have no value buffer */
			memcpy(r->out, n->value, l);
		r->olen = l;
	}
	free(path);
	return rc;
}

static int do_write(struct req *r)
{
	const char *p = r->p;
	size_t pl = strnlen(p, r->len);
	char *path;
	int rc;

	if (pl >= r->len)
		return -EINVAL;		/* no value separator */
	rc = store_path_canon(r->c->domid, p, false, &path);
	if (rc)
		return rc;
	rc = store_do_write(r->c->store, r->c, r->t, path, p + pl + 1,
			    r->len - pl - 1);
	free(path);
	return rc ? rc : reply_str(r, "OK");
}

static int do_mkdir_rm(struct req *r, bool rm)
{
	char *path;
	int rc = path_arg(r, &path);

	if (rc)
		return rc;
	if (rm)
		rc = store_do_rm(r->c->store, r->c, r->t, path);
	else
		rc = store_do_mkdir(r->c->store, r->c, r->t, path);
	free(path);
	return rc ? rc : reply_str(r, "OK");
}

static int do_directory(struct req *r, bool part)
{
	const struct store_node *n;
	uint64_t offset = 0;
	uint32_t o = 0;
	char *path;
	int rc = path_arg(r, &path);

	if (rc)
		return rc;
	if (part && parse_uint(arg(r, 1, NULL), UINT32_MAX, &offset)) {
		free(path);
		return -EINVAL;
	}
	rc = store_do_read(r->c->store, r->c, r->t, path, &n);
	free(path);
	if (rc)
		return rc;
	if (!part) {
		if (n->childlen > XENSTORE_PAYLOAD_MAX)
			return -E2BIG;
		for (uint32_t i = 0; i < n->nchildren; i++) {
			size_t l = strlen(n->children[i]) + 1;

			memcpy(r->out + o, n->children[i], l);
			o += l;
		}
		r->olen = o;
		return 0;
	}
	/*
	 * DIRECTORY_PART: "<generation>\0" then the children list from byte
	 * @offset; an extra "\0" marks that the list is complete.
	 */
	if (offset > n->childlen)
		return -EINVAL;
	o = snprintf(r->out, 32, "%" PRIu64, n->gen) + 1;
	{
		uint32_t pos = 0;

		for (uint32_t i = 0; i < n->nchildren; i++) {
			size_t l = strlen(n->children[i]) + 1;

			if (pos + l <= offset) {
				pos += l;
				continue;
			}
			if (pos < offset)
				return -EINVAL;	/* not on a name boundary */
			if (o + l + 1 > XENSTORE_PAYLOAD_MAX) {
				r->olen = o;
				return 0;
			}
			memcpy(r->out + o, n->children[i], l);
			o += l;
			pos += l;
		}
		r->out[o++] = 0;
	}
	r->olen = o;
	return 0;
}

static int do_get_perms(struct req *r)
{
	const struct store_node *n;
	uint32_t o = 0;
	char *path;
	int rc = path_arg(r, &path);

	if (rc)
		return rc;
	rc = store_do_read(r->c->store, r->c, r->t, path, &n);
	free(path);
	if (rc)
		return rc;
	for (uint16_t i = 0; i < n->nperms; i++) {
		static const char letters[] = "nrwb";

		if (o + 8 > XENSTORE_PAYLOAD_MAX)
			return -E2BIG;
		o += snprintf(r->out + o, 8, "%c%u",
			      letters[n->perms[i].access & 3],
			      n->perms[i].domid) + 1;
	}
	r->olen = o;
	return 0;
}

static int do_set_perms(struct req *r)
{
	struct store_perm perms[XENSTORE_PAYLOAD_MAX / 2];
	uint16_t np = 0;
	uint32_t off;
	char *path;
	int rc;

	if (!arg(r, 1, NULL))
		return -EINVAL;
	for (unsigned int i = 1; arg(r, i, &off); i++) {
		const char *s = r->p + off;
		uint64_t d;

		switch (s[0]) {
		case 'n': perms[np].access = 0; break;
		case 'r': perms[np].access = STORE_PERM_READ; break;
		case 'w': perms[np].access = STORE_PERM_WRITE; break;
		case 'b': perms[np].access = STORE_PERM_READ |
					     STORE_PERM_WRITE; break;
		default: return -EINVAL;
		}
		if (parse_uint(s + 1, UINT16_MAX, &d))
			return -EINVAL;
		perms[np++].domid = d;
	}
	rc = path_arg(r, &path);
	if (rc)
		return rc;
	rc = store_do_set_perms(r->c->store, r->c, r->t, path, perms, np);
	free(path);
	return rc ? rc : reply_str(r, "OK");
}

static int do_watch(struct req *r, bool add)
{
	const char *path = arg(r, 0, NULL), *token = arg(r, 1, NULL);
	int rc;

	if (!path || !token)
		return -EINVAL;
	if (add)
		rc = store_watch_add(r->c, path, token);
	else
		rc = store_watch_del(r->c, path, token);
	if (rc)
		return rc;
	if (add) {
		r->ev_path = path;
		r->ev_token = token;
	}
	return reply_str(r, "OK");
}

static int do_txn_start(struct req *r)
{
	struct store_txn *t;
	int rc;

	if (r->h->tx_id)
		return -EBUSY;	/* no nesting */
	rc = store_txn_start(r->c, &t);
	if (rc)
		return rc;
	r->olen = snprintf(r->out, 16, "%u", t->id) + 1;
	return 0;
}

static int do_txn_end(struct req *r)
{
	const char *a = arg(r, 0, NULL);
	bool commit;
	int rc;

	if (!r->t)
		return -ENOENT;
	if (!a || (strcmp(a, "T") && strcmp(a, "F")))
		return -EINVAL;
	commit = !strcmp(a, "T");
	rc = store_txn_end(r->t, commit);
	r->t = NULL;
	return rc ? rc : reply_str(r, "OK");
}

static int domid_arg(struct req *r, unsigned int i, uint16_t *domid)
{
	uint64_t v;

	if (parse_uint(arg(r, i, NULL), PVIO_DOMID_FIRST_RESERVED - 1, &v))
		return -EINVAL;
	*domid = v;
	return 0;
}

static int do_get_domain_path(struct req *r)
{
	const char *a = arg(r, 0, NULL);

	if (!a)
		return -EINVAL;
	/* as lenient as Xen's: digits are read as far as they go */
	r->olen = snprintf(r->out, 32, "/local/domain/%u",
			   (uint32_t)strtoul(a, NULL, 10)) + 1;
	return 0;
}

static int do_introduce(struct req *r)
{
	struct store *s = r->c->store;
	struct store_domain *d;
	uint64_t gfn, port;
	uint16_t domid;
	int rc;

	if (!r->c->privileged)
		return -EACCES;
	if (domid_arg(r, 0, &domid) || domid == 0 ||
	    parse_uint(arg(r, 1, NULL), UINT64_MAX, &gfn) ||
	    parse_uint(arg(r, 2, NULL), UINT32_MAX, &port))
		return -EINVAL;
	d = store_domain_get(s, domid, true);
	if (!d)
		return -ENOMEM;
	if (d->introduced) {
		/* Xen: a repeated introduction with the same ring is fine */
		if (d->gfn == gfn && d->port == port)
			return reply_str(r, "OK");
		return -EEXIST;
	}
	if (s->opts.hooks && s->opts.hooks->introduce) {
		rc = s->opts.hooks->introduce(s, domid, gfn, port);
		if (rc)
			return rc;
	}
	d->introduced = true;
	d->gfn = gfn;
	d->port = port;
	store_watch_fire_special(s, "@introduceDomain");
	return reply_str(r, "OK");
}

static int do_release(struct req *r)
{
	struct store *s = r->c->store;
	struct store_domain *d;
	uint16_t domid;

	if (!r->c->privileged)
		return -EACCES;
	if (domid_arg(r, 0, &domid) || domid == 0)
		return -EINVAL;
	d = store_domain_get(s, domid, false);
	if (!d || !d->introduced)
		return -ENOENT;
	if (s->opts.hooks && s->opts.hooks->release)
		s->opts.hooks->release(s, domid);
	d->introduced = false;
	if (!d->released) {
		/* store_shrink() frees the record once it owns nothing */
		d->released = true;
		d->released_next = s->released;
		s->released = d;
	}
	store_watch_fire_special(s, "@releaseDomain");
	return reply_str(r, "OK");
}

static int do_is_introduced(struct req *r)
{
	struct store_domain *d;
	uint16_t domid;

	if (domid_arg(r, 0, &domid))
		return -EINVAL;
	d = store_domain_get(r->c->store, domid, false);
	return reply_str(r, domid == 0 || (d && d->introduced) ? "T" : "F");
}

static int do_reset_watches(struct req *r)
{
	store_watch_del_all(r->c);
	while (r->c->txns)
		store_txn_end(r->c->txns, false);
	r->t = NULL;
	return reply_str(r, "OK");
}

static int do_control(struct req *r)
{
	struct store *s = r->c->store;
	const char *cmd = arg(r, 0, NULL);

	if (!r->c->privileged)
		return -EACCES;
	if (!cmd)
		return -EINVAL;
	if (!strcmp(cmd, "print")) {
		const char *m = arg(r, 1, NULL);

		fprintf(stderr, "pvio-store: control print: %s\n", m ? m : "");
		return reply_str(r, "OK");
	}
	if (!strcmp(cmd, "quota")) {
		r->olen = snprintf(r->out, XENSTORE_PAYLOAD_MAX,
			"nodes %d\nnode-size %d\nwatches %d\n"
			"transactions %d\npermissions %d\n",
			STORE_QUOTA_NODES, STORE_QUOTA_NODE_SIZE,
			STORE_QUOTA_WATCHES, STORE_QUOTA_TXNS,
			STORE_QUOTA_PERMS) + 1;
		return 0;
	}
	if (!strcmp(cmd, "stats")) {
		r->olen = snprintf(r->out, XENSTORE_PAYLOAD_MAX,
			"nodes %u\nconnections %u\nrequests %" PRIu64
			"\ncommits %" PRIu64 "\nconflicts %" PRIu64
			"\nevents %" PRIu64 "\nlog-bytes %" PRIu64
			"\ncompactions %" PRIu64 "\nbusy-max-us %" PRIu64
			"\n",
			s->nodes.count, s->nconns, s->st.requests,
			s->st.commits, s->st.conflicts, s->st.events,
			s->st.log_bytes, s->st.compactions,
			s->st.busy_max_us) + 1;
		return 0;
	}
	if (!strcmp(cmd, "reconnect")) {
		/* a domain that moved here while it ran: its ring, afresh */
		struct store_domain *d;
		uint16_t domid;
		int rc;

		if (domid_arg(r, 1, &domid) || domid == 0)
			return -EINVAL;
		d = store_domain_get(s, domid, false);
		if (!d || !d->introduced)
			return -ENOENT;
		if (!s->opts.hooks || !s->opts.hooks->reconnect)
			return -EOPNOTSUPP;
		rc = s->opts.hooks->reconnect(s, domid);
		return rc ? rc : reply_str(r, "OK");
	}
	if (!strcmp(cmd, "help"))
		return reply_str(r, "print quota stats reconnect help\n");
	return -EINVAL;
}

void store_proto_handle(struct store_conn *c, const struct xsd_sockmsg *h,
			const char *payload)
{
	struct store *s = c->store;
	char out[XENSTORE_PAYLOAD_MAX + 32];
	struct req r = {
		.c = c, .h = h, .p = payload, .len = h->len, .out = out,
	};
	int rc;

	if (h->tx_id && h->type != XS_TRANSACTION_START) {
		r.t = store_txn_find(c, h->tx_id);
		if (!r.t) {
			rc = -ENOENT;
			goto reply;
		}
	}
	switch (h->type) {
	case XS_READ: rc = do_read(&r); break;
	case XS_WRITE: rc = do_write(&r); break;
	case XS_MKDIR: rc = do_mkdir_rm(&r, false); break;
	case XS_RM: rc = do_mkdir_rm(&r, true); break;
	case XS_DIRECTORY: rc = do_directory(&r, false); break;
	case XS_DIRECTORY_PART: rc = do_directory(&r, true); break;
	case XS_GET_PERMS: rc = do_get_perms(&r); break;
	case XS_SET_PERMS: rc = do_set_perms(&r); break;
	case XS_WATCH: rc = do_watch(&r, true); break;
	case XS_UNWATCH: rc = do_watch(&r, false); break;
	case XS_TRANSACTION_START: rc = do_txn_start(&r); break;
	case XS_TRANSACTION_END: rc = do_txn_end(&r); break;
	case XS_GET_DOMAIN_PATH: rc = do_get_domain_path(&r); break;
	case XS_INTRODUCE: rc = do_introduce(&r); break;
	case XS_RELEASE: rc = do_release(&r); break;
	case XS_IS_DOMAIN_INTRODUCED: rc = do_is_introduced(&r); break;
	case XS_RESET_WATCHES: rc = do_reset_watches(&r); break;
	case XS_CONTROL: rc = do_control(&r); break;
	case XS_RESUME:
	case XS_SET_TARGET:
	case XS_GET_FEATURE:
	case XS_SET_FEATURE:
	case XS_GET_QUOTA:
	case XS_SET_QUOTA:
		rc = -ENOSYS;
		break;
	default:
		rc = -EINVAL;
		break;
	}
	/* The change is in the log (page cache) before anyone hears of it. */
	if (store_log_commit(s) && !rc)
		rc = -EIO;
reply:
	if (rc) {
		const char *e = store_errname(rc);

		store_conn_send(c, XS_ERROR, h->req_id, h->tx_id, e,
				strlen(e) + 1, NULL, 0);
		return;
	}
	store_conn_send(c, h->type, h->req_id, h->tx_id, out, r.olen, NULL, 0);
	if (r.ev_path)
		store_conn_send(c, XS_WATCH_EVENT, 0, 0, r.ev_path,
				strlen(r.ev_path) + 1, r.ev_token,
				strlen(r.ev_token) + 1);
}
