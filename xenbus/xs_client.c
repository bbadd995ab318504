/* SPDX-License-Identifier: MIT */
/*
 * xenstore client library: the connection, its reader thread (replies by
 * req_id, watch events to the dispatcher thread), reconnection with watch
 * re-arming and retry of requests cut by a daemon restart, and the Unix
 * socket transport.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "xs_client.h"

struct xs_req {
	struct xs_req *next;
	uint32_t req_id;
	uint32_t type;
	uint32_t tx_id;
	unsigned int tx_epoch;	/* epoch the transaction belongs to */
	unsigned int sent_epoch;	/* 0: not sent on any connection */
	uint8_t *msg;		/* header + payload, kept for a retry */
	size_t mlen;
	bool done;
	int err;
	char *reply;
	size_t rlen;
};

struct xs_wentry {
	struct xs_wentry *next;
	char *path;
	char *token;
	xs_watch_cb cb;
	void *arg;
};

struct xs_event {
	struct xs_event *next;
	char *path;
	char *token;
};

struct xs_txn_ent {
	struct xs_txn_ent *next;
	xs_transaction_t id;
	unsigned int epoch;
};

static const struct xsd_errors xs_errors[] = PVIO_XSD_ERRORS_INIT;

int xs_errno_of(const char *name)
{
	for (size_t i = 0; i < sizeof(xs_errors) / sizeof(xs_errors[0]); i++)
		if (!strcmp(xs_errors[i].errstring, name))
			return xs_errors[i].errnum;
	return EIO;
}

/* ---- Unix socket transport ---- */

static int sock_connect(struct xs_handle *h)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(h->path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, h->path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		int e = errno;

		close(fd);
		return -e;
	}
	h->fd = fd;
	return 0;
}

static int sock_send(struct xs_handle *h, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = send(h->fd, p, len, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= n;
	}
	return 0;
}

static int sock_recv(struct xs_handle *h, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = recv(h->fd, p, len, 0);

		if (n == 0)
			return -ECONNRESET;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= n;
	}
	return 0;
}

static void sock_disconnect(struct xs_handle *h)
{
	if (h->fd >= 0) {
		close(h->fd);
		h->fd = -1;
	}
}

static void sock_shutdown(struct xs_handle *h)
{
	if (h->fd >= 0)
		shutdown(h->fd, SHUT_RDWR);
}

static void sock_free(struct xs_handle *h)
{
	sock_disconnect(h);
}

static const struct xs_transport_ops sock_ops = {
	.connect = sock_connect,
	.send = sock_send,
	.recv = sock_recv,
	.disconnect = sock_disconnect,
	.shutdown = sock_shutdown,
	.free = sock_free,
};

/* ---- requests ---- */

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ull + ts.tv_nsec / 1000000;
}

static void deadline_ts(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static struct xs_txn_ent *txn_find(struct xs_handle *h, xs_transaction_t t)
{
	for (struct xs_txn_ent *e = h->txns; e; e = e->next)
		if (e->id == t)
			return e;
	return NULL;
}

/* Send @r on the current connection if it was not yet. Lock held. */
static void req_send_locked(struct xs_handle *h, struct xs_req *r)
{
	unsigned int epoch = h->epoch;

	if (!h->connected || r->sent_epoch == epoch || r->done)
		return;
	r->sent_epoch = epoch;
	pthread_mutex_unlock(&h->lock);
	pthread_mutex_lock(&h->wlock);
	/* a failure shows up as EOF in the reader, which resends */
	h->ops->send(h, r->msg, r->mlen);
	pthread_mutex_unlock(&h->wlock);
	pthread_mutex_lock(&h->lock);
}

int xs_talk(struct xs_handle *h, uint32_t type, xs_transaction_t t,
	    const struct iovec *iov, int niov, char **reply, size_t *rlen)
{
	struct xsd_sockmsg hdr = { .type = type, .tx_id = t };
	struct xs_req *r, **pp;
	size_t len = 0, off;
	int rc;

	for (int i = 0; i < niov; i++)
		len += iov[i].iov_len;
	if (len > XENSTORE_PAYLOAD_MAX)
		return -E2BIG;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->msg = malloc(sizeof(hdr) + len);
	if (!r->msg) {
		free(r);
		return -ENOMEM;
	}
	off = sizeof(hdr);
	for (int i = 0; i < niov; i++) {
		memcpy(r->msg + off, iov[i].iov_base, iov[i].iov_len);
		off += iov[i].iov_len;
	}
	r->mlen = off;
	r->type = type;
	r->tx_id = t;

	pthread_mutex_lock(&h->lock);
	if (t != XS_TXN_NULL) {
		struct xs_txn_ent *te = txn_find(h, t);

		/* a transaction of a lost connection: the caller restarts */
		if (!te || te->epoch != h->epoch) {
			pthread_mutex_unlock(&h->lock);
			free(r->msg);
			free(r);
			return -EAGAIN;
		}
		r->tx_epoch = te->epoch;
	}
	if (++h->next_req_id == 0)
		h->next_req_id = 1;
	r->req_id = h->next_req_id;
	hdr.req_id = r->req_id;
	hdr.len = len;
	memcpy(r->msg, &hdr, sizeof(hdr));
	r->next = h->pending;
	h->pending = r;

	req_send_locked(h, r);
	while (!r->done) {
		if (h->closing || h->gave_up) {
			r->done = true;
			r->err = -ENOTCONN;
			break;
		}
		pthread_cond_wait(&h->cond, &h->lock);
	}
	for (pp = &h->pending; *pp; pp = &(*pp)->next) {
		if (*pp == r) {
			*pp = r->next;
			break;
		}
	}
	pthread_mutex_unlock(&h->lock);

	rc = r->err;
	if (!rc) {
		if (reply)
			*reply = r->reply;
		else
			free(r->reply);
		if (rlen)
			*rlen = r->rlen;
	} else {
		free(r->reply);
	}
	free(r->msg);
	free(r);
	return rc;
}

/* ---- reader thread ---- */

static void deliver(struct xs_handle *h, const struct xsd_sockmsg *m,
		    char *payload)
{
	if (m->type == XS_WATCH_EVENT) {
		struct xs_event *ev = calloc(1, sizeof(*ev));
		size_t pl = strnlen(payload, m->len);

		if (!ev || pl >= m->len) {
			free(ev);
			free(payload);
			return;
		}
		ev->path = payload;	/* path\0token\0 in one block */
		ev->token = payload + pl + 1;
		pthread_mutex_lock(&h->lock);
		*h->evq_tail = ev;
		h->evq_tail = &ev->next;
		pthread_cond_signal(&h->evcond);
		pthread_mutex_unlock(&h->lock);
		return;
	}
	pthread_mutex_lock(&h->lock);
	for (struct xs_req *r = h->pending; r; r = r->next) {
		if (r->req_id != m->req_id || r->done || !r->sent_epoch)
			continue;
		r->done = true;
		if (m->type == XS_ERROR) {
			r->err = -xs_errno_of(payload);
			free(payload);
		} else if (m->type != r->type) {
			r->err = -EIO;
			free(payload);
		} else {
			r->reply = payload;
			r->rlen = m->len;
		}
		payload = NULL;
		pthread_cond_broadcast(&h->cond);
		break;
	}
	pthread_mutex_unlock(&h->lock);
	free(payload);	/* replies to re-arming WATCHes and stale ids */
}

/* After a reconnection: re-arm every watch, resend what was cut. */
static void rearm(struct xs_handle *h)
{
	pthread_mutex_lock(&h->lock);
	for (struct xs_wentry *w = h->watches; w; w = w->next) {
		size_t pl = strlen(w->path) + 1, tl = strlen(w->token) + 1;
		struct xsd_sockmsg m = { .type = XS_WATCH, .req_id = 0,
					 .len = pl + tl };
		uint8_t *buf = malloc(sizeof(m) + pl + tl);

		if (!buf)
			continue;
		memcpy(buf, &m, sizeof(m));
		memcpy(buf + sizeof(m), w->path, pl);
		memcpy(buf + sizeof(m) + pl, w->token, tl);
		pthread_mutex_lock(&h->wlock);
		h->ops->send(h, buf, sizeof(m) + pl + tl);
		pthread_mutex_unlock(&h->wlock);
		free(buf);
	}
	for (struct xs_req *r = h->pending; r; r = r->next) {
		if (r->done)
			continue;
		if (r->tx_id && r->tx_epoch != h->epoch) {
			/* its transaction died with the old connection */
			r->done = true;
			r->err = -EAGAIN;
			continue;
		}
		if (r->type == XS_TRANSACTION_END && r->sent_epoch) {
			r->done = true;
			r->err = -EAGAIN;
			continue;
		}
	}
	pthread_cond_broadcast(&h->cond);
restart:
	for (struct xs_req *r = h->pending; r; r = r->next) {
		if (!r->done && r->sent_epoch != h->epoch) {
			req_send_locked(h, r);	/* drops the lock */
			goto restart;
		}
	}
	pthread_mutex_unlock(&h->lock);
}

static void *reader_main(void *arg)
{
	struct xs_handle *h = arg;
	uint64_t lost_at = 0;

	for (;;) {
		struct xsd_sockmsg m;
		char *payload;
		int rc;

		pthread_mutex_lock(&h->lock);
		if (h->closing) {
			pthread_mutex_unlock(&h->lock);
			break;
		}
		if (!h->connected) {
			pthread_mutex_unlock(&h->lock);
			rc = h->ops->connect(h);
			pthread_mutex_lock(&h->lock);
			if (rc) {
				if (!lost_at)
					lost_at = now_ms();
				if (now_ms() - lost_at > (uint64_t)h->reconnect_ms &&
				    !h->gave_up) {
					h->gave_up = true;
					pthread_cond_broadcast(&h->cond);
				}
				pthread_mutex_unlock(&h->lock);
				usleep(20000);
				continue;
			}
			lost_at = 0;
			h->gave_up = false;
			h->connected = true;
			h->epoch++;
			pthread_mutex_unlock(&h->lock);
			rearm(h);
			continue;
		}
		pthread_mutex_unlock(&h->lock);

		rc = h->ops->recv(h, &m, sizeof(m));
		if (!rc && m.len > XENSTORE_PAYLOAD_MAX)
			rc = -EPROTO;
		payload = rc ? NULL : malloc(m.len + 1);
		if (!rc && !payload)
			rc = -ENOMEM;
		if (!rc && m.len)
			rc = h->ops->recv(h, payload, m.len);
		if (rc) {
			free(payload);
			pthread_mutex_lock(&h->lock);
			h->connected = false;
			pthread_mutex_lock(&h->wlock);
			h->ops->disconnect(h);
			pthread_mutex_unlock(&h->wlock);
			lost_at = now_ms();
			pthread_mutex_unlock(&h->lock);
			continue;
		}
		payload[m.len] = 0;
		deliver(h, &m, payload);
	}
	return NULL;
}

/* ---- watch dispatcher thread ---- */

static void *dispatcher_main(void *arg)
{
	struct xs_handle *h = arg;

	pthread_mutex_lock(&h->lock);
	for (;;) {
		struct xs_event *ev;
		struct xs_wentry *w, *best = NULL;

		while (!h->evq && !h->closing)
			pthread_cond_wait(&h->evcond, &h->lock);
		if (h->closing)
			break;
		ev = h->evq;
		h->evq = ev->next;
		if (!h->evq)
			h->evq_tail = &h->evq;
		for (w = h->watches; w; w = w->next) {
			if (strcmp(w->token, ev->token))
				continue;
			if (!best)
				best = w;
			if (!strncmp(ev->path, w->path, strlen(w->path))) {
				best = w;
				break;
			}
		}
		if (best) {
			xs_watch_cb cb = best->cb;
			void *cbarg = best->arg;

			h->cb_entry = best;
			pthread_mutex_unlock(&h->lock);
			cb(h, ev->path, ev->token, cbarg);
			pthread_mutex_lock(&h->lock);
			h->cb_entry = NULL;
			pthread_cond_broadcast(&h->cond);
		}
		free(ev->path);
		free(ev);
	}
	pthread_mutex_unlock(&h->lock);
	return NULL;
}

/* ---- registries ---- */

int xs_watch_register(struct xs_handle *h, const char *path, const char *token,
		      xs_watch_cb cb, void *arg)
{
	struct xs_wentry *w;

	pthread_mutex_lock(&h->lock);
	for (w = h->watches; w; w = w->next) {
		if (!strcmp(w->path, path) && !strcmp(w->token, token)) {
			pthread_mutex_unlock(&h->lock);
			return -EEXIST;
		}
	}
	w = calloc(1, sizeof(*w));
	if (!w || !(w->path = strdup(path)) || !(w->token = strdup(token))) {
		if (w)
			free(w->path);
		free(w);
		pthread_mutex_unlock(&h->lock);
		return -ENOMEM;
	}
	w->cb = cb;
	w->arg = arg;
	w->next = h->watches;
	h->watches = w;
	pthread_mutex_unlock(&h->lock);
	return 0;
}

void xs_watch_unregister(struct xs_handle *h, const char *path,
			 const char *token)
{
	struct xs_wentry **pp;

	pthread_mutex_lock(&h->lock);
	for (pp = &h->watches; *pp; pp = &(*pp)->next) {
		struct xs_wentry *w = *pp;

		if (strcmp(w->path, path) || strcmp(w->token, token))
			continue;
		*pp = w->next;
		/*
		 * Its callback may be running: once we return, the caller may
		 * free the callback's argument, so wait (unless we are that
		 * callback).
		 */
		while (h->cb_entry == w &&
		       !pthread_equal(pthread_self(), h->dispatcher))
			pthread_cond_wait(&h->cond, &h->lock);
		free(w->path);
		free(w->token);
		free(w);
		break;
	}
	pthread_mutex_unlock(&h->lock);
}

void xs_txn_register(struct xs_handle *h, xs_transaction_t t)
{
	struct xs_txn_ent *e = calloc(1, sizeof(*e));

	if (!e)
		return;	/* later requests in @t get -EAGAIN: retried */
	pthread_mutex_lock(&h->lock);
	e->id = t;
	e->epoch = h->epoch;
	e->next = h->txns;
	h->txns = e;
	pthread_mutex_unlock(&h->lock);
}

bool xs_txn_forget(struct xs_handle *h, xs_transaction_t t)
{
	struct xs_txn_ent **pp;
	bool live = false;

	pthread_mutex_lock(&h->lock);
	for (pp = &h->txns; *pp; pp = &(*pp)->next) {
		struct xs_txn_ent *e = *pp;

		if (e->id != t)
			continue;
		live = e->epoch == h->epoch;
		*pp = e->next;
		free(e);
		break;
	}
	pthread_mutex_unlock(&h->lock);
	return live;
}

/* ---- open / close ---- */

struct xs_handle *xs_handle_alloc(void)
{
	struct xs_handle *h = calloc(1, sizeof(*h));
	const char *e = getenv("PVIO_XS_RECONNECT_MS");

	if (!h)
		return NULL;
	pthread_mutex_init(&h->lock, NULL);
	pthread_mutex_init(&h->wlock, NULL);
	pthread_cond_init(&h->cond, NULL);
	pthread_cond_init(&h->evcond, NULL);
	h->fd = -1;
	h->evq_tail = &h->evq;
	h->reconnect_ms = e ? atoi(e) : 30000;
	return h;
}

int xs_handle_start(struct xs_handle *h)
{
	int rc = h->ops->connect(h);

	if (rc)
		return rc;
	h->connected = true;
	h->epoch = 1;
	if (pthread_create(&h->dispatcher, NULL, dispatcher_main, h))
		return -EAGAIN;
	h->dispatcher_started = true;
	if (pthread_create(&h->reader, NULL, reader_main, h))
		return -EAGAIN;
	h->reader_started = true;
	return 0;
}

int xs_open(const char *path, struct xs_handle **out)
{
	struct xs_handle *h;
	const char *rd;
	int rc;

	if (!path)
		path = getenv("XENSTORED_PATH");
	h = xs_handle_alloc();
	if (!h)
		return -ENOMEM;
	if (path) {
		h->path = strdup(path);
	} else {
		rd = getenv("PVIO_RUNDIR");
		if (asprintf(&h->path, "%s/store.sock",
			     rd && *rd ? rd : "/run/pvio") < 0)
			h->path = NULL;
	}
	h->ops = &sock_ops;
	if (!h->path) {
		xs_close(h);
		return -ENOMEM;
	}
	rc = xs_handle_start(h);
	if (rc) {
		xs_close(h);
		return rc;
	}
	*out = h;
	return 0;
}

void xs_close(struct xs_handle *h)
{
	if (!h)
		return;
	pthread_mutex_lock(&h->lock);
	h->closing = true;
	pthread_cond_broadcast(&h->cond);
	pthread_cond_broadcast(&h->evcond);
	pthread_mutex_unlock(&h->lock);
	if (h->ops)
		h->ops->shutdown(h);
	if (h->reader_started)
		pthread_join(h->reader, NULL);
	if (h->dispatcher_started)
		pthread_join(h->dispatcher, NULL);
	if (h->ops)
		h->ops->free(h);
	while (h->watches) {
		struct xs_wentry *w = h->watches;

		h->watches = w->next;
		free(w->path);
		free(w->token);
		free(w);
	}
	while (h->txns) {
		struct xs_txn_ent *e = h->txns;

		h->txns = e->next;
		free(e);
	}
	while (h->evq) {
		struct xs_event *ev = h->evq;

		h->evq = ev->next;
		free(ev->path);
		free(ev);
	}
	free(h->path);
	pthread_mutex_destroy(&h->lock);
	pthread_mutex_destroy(&h->wlock);
	pthread_cond_destroy(&h->cond);
	pthread_cond_destroy(&h->evcond);
	free(h);
}

/* Used by xenbus_wait_state and tools: monotonic milliseconds. */
uint64_t xs_now_ms(void);
uint64_t xs_now_ms(void)
{
	return now_ms();
}

void xs_deadline(struct timespec *ts, int ms);
void xs_deadline(struct timespec *ts, int ms)
{
	deadline_ts(ts, ms);
}
