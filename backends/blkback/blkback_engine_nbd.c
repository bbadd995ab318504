// SPDX-License-Identifier: MIT
/*
 * blkback NBD store and engine, on libnbd's asynchronous API.
 *
 * The store probes the export once at open (size, read-only, flush, trim,
 * zero, multi-conn, block sizes). Each queue then keeps its own connection
 * (several queues only when the server offers multi-conn, so that a flush
 * on one covers writes done on the others), driven from the queue thread:
 * the engine's event fd is an epoll set holding the connection's socket
 * (watched in the direction libnbd asks for), a timer for reconnects and
 * an eventfd for operations that finish without the server.
 *
 * Every operation has an explicit state (free, pending, sent, replied,
 * done). A request is answered only after the server replied: when the
 * connection drops, what was sent and not answered goes back to pending
 * and is sent again once a new connection is up (with backoff, 50 ms to
 * 1 s between attempts); a request is failed only after the server has
 * been unreachable for the reconnect timeout. Flush maps to NBD_CMD_FLUSH
 * (a no-op when the server has no write cache to flush), discard to TRIM,
 * or WRITE_ZEROES when the server only has that. Requests spread over
 * several guest pages go through a bounce buffer: libnbd has no vectored
 * read or write.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <libnbd.h>

#include "blkback.h"

#define NBD_CONNECT_TIMEOUT_MS	10000	/* one connection attempt */
#define NBD_BACKOFF_MIN_MS	50
#define NBD_BACKOFF_MAX_MS	1000

/* epoll data of the engine's fds */
#define WATCH_SOCK	1
#define WATCH_TIMER	2
#define WATCH_KICK	3

/* What the queues of a disk share: the export and what it offers. */
struct nbd_export {
	char uri[512];
	uint64_t size;
	bool readonly, can_flush, can_trim, can_zero, multi_conn;
	unsigned int down_timeout_ms;	/* 0: wait for the server forever */
};

enum op_state {
	OP_FREE = 0,
	OP_PENDING,	/* waiting for a connection to be sent on */
	OP_SENT,	/* on the wire, no reply yet */
	OP_REPLIED,	/* reply seen in a callback, not yet looked at */
	OP_DONE,	/* result known, waiting for reap */
};

enum op_kind { OPK_READ, OPK_WRITE, OPK_FLUSH, OPK_TRIM, OPK_ZERO };

struct nbd_queue;

struct nbd_op {
	struct nbd_queue *nq;
	uint8_t state;
	uint8_t kind;
	int err;		/* errno of the reply, 0 if OK */
	int64_t res;		/* for reap, once done */
	uint64_t gen;		/* connection it was sent on */
	uint64_t off, len;
	void *buf;		/* the single iovec's base, or the bounce */
	void *bounce;
	const struct iovec *iov;	/* the request's, stable while in flight */
	unsigned int iovcnt;
	bool listed;		/* on one of the queue's lists */
	struct nbd_op *next;
};

struct op_list {
	struct nbd_op *head, *tail;
};

enum link_state { LINK_DOWN, LINK_CONNECTING, LINK_UP };

struct nbd_queue {
	struct blkback_disk *disk;
	struct nbd_export *ex;
	unsigned int index;
	struct nbd_handle *h;
	enum link_state link;
	uint64_t gen;		/* bumped for every new handle */
	bool ever_up;
	bool failing;		/* down beyond the timeout: requests fail */
	uint64_t down_since;	/* ns, 0 while up */
	unsigned int backoff_ms;
	int epfd, tfd, kick;
	bool kicked;			/* kick written, not read back yet */
	int sock;		/* fd in the epoll set, -1 if none */
	uint32_t sock_events;
	struct nbd_op *ops;	/* depth of them, indexed by tag */
	unsigned int depth;
	struct op_list pending, replied, done;
	char why[160];		/* what libnbd said when the link failed */
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/*
 * An op is on at most one list (pending, replied or done) at a time;
 * putting it on a second is a bug that would corrupt both: it is logged
 * and refused.
 */
static bool list_check(struct nbd_op *op)
{
	if (!op->listed)
		return true;
	blkback_log("nbd: operation %p queued twice (state %u): bug", (void *)op,
		    op->state);
	return false;
}

static void list_push(struct op_list *l, struct nbd_op *op)
{
	if (!list_check(op))
		return;
	op->listed = true;
	op->next = NULL;
	if (l->tail)
		l->tail->next = op;
	else
		l->head = op;
	l->tail = op;
}

static struct nbd_op *list_pop(struct op_list *l)
{
	struct nbd_op *op = l->head;

	if (op) {
		l->head = op->next;
		if (!l->head)
			l->tail = NULL;
		op->next = NULL;
		op->listed = false;
	}
	return op;
}

static void list_push_front(struct op_list *l, struct nbd_op *op)
{
	if (!list_check(op))
		return;
	op->listed = true;
	op->next = l->head;
	l->head = op;
	if (!l->tail)
		l->tail = op;
}

#define nq_debug(nq, fmt, ...) do { \
	if ((nq)->disk->ctx && (nq)->disk->ctx->verbose > 1) \
		blkback_log("%s: queue %u: " fmt, (nq)->disk->be_path, \
			    (nq)->index, ##__VA_ARGS__); \
} while (0)

static const char *nbd_why(void)
{
	const char *e = nbd_get_error();

	return e ? e : "unknown error";
}

/* ---- the store ---- */

/* Connect @h to @uri within @timeout_ms, driving the handshake by hand. */
static int connect_wait(struct nbd_handle *h, const char *uri, int timeout_ms)
{
	uint64_t end = now_ns() + (uint64_t)timeout_ms * 1000000ull;

	if (nbd_aio_connect_uri(h, uri) == -1)
		return -(nbd_get_errno() ? nbd_get_errno() : EIO);
	while (nbd_aio_is_ready(h) != 1) {
		unsigned int dir;
		struct pollfd p;
		uint64_t t = now_ns();
		int rc;

		if (nbd_aio_is_dead(h) == 1 || nbd_aio_is_closed(h) == 1)
			return -(nbd_get_errno() ? nbd_get_errno() : ECONNRESET);
		if (t >= end)
			return -ETIMEDOUT;
		dir = nbd_aio_get_direction(h);
		p.fd = nbd_aio_get_fd(h);
		p.events = ((dir & LIBNBD_AIO_DIRECTION_READ) ? POLLIN : 0) |
			   ((dir & LIBNBD_AIO_DIRECTION_WRITE) ? POLLOUT : 0);
		p.revents = 0;
		rc = poll(&p, 1, (int)((end - t) / 1000000ull) + 1);
		if (rc < 0 && errno != EINTR)
			return -errno;
		if (p.revents & (POLLIN | POLLHUP | POLLERR))
			nbd_aio_notify_read(h);
		else if (p.revents & POLLOUT)
			nbd_aio_notify_write(h);
	}
	return 0;
}

int blkback_nbd_open_uri(struct blkback_disk *disk, const char *uri,
			 bool readonly, uint32_t want_sector_size)
{
	struct nbd_export *ex;
	struct nbd_handle *h;
	int64_t size, minbs, prefbs;
	uint32_t lbs;
	int rc;

	if (strlen(uri) >= sizeof(ex->uri)) {
		snprintf(disk->open_why, sizeof(disk->open_why), "NBD URI too long");
		return -ENAMETOOLONG;
	}
	ex = calloc(1, sizeof(*ex));
	h = nbd_create();
	if (!ex || !h) {
		free(ex);
		if (h)
			nbd_close(h);
		return -ENOMEM;
	}
	strcpy(ex->uri, uri);
	rc = connect_wait(h, uri, NBD_CONNECT_TIMEOUT_MS);
	if (rc) {
		snprintf(disk->open_why, sizeof(disk->open_why),
			 "connecting to %.60s: %s", uri,
			 rc == -ETIMEDOUT ? "timed out" : nbd_why());
		goto err;
	}
	size = nbd_get_size(h);
	if (size < 0) {
		rc = -EIO;
		snprintf(disk->open_why, sizeof(disk->open_why),
			 "size of %.80s: %s", uri, nbd_why());
		goto err;
	}
	ex->size = (uint64_t)size;
	ex->readonly = nbd_is_read_only(h) == 1;
	ex->can_flush = nbd_can_flush(h) == 1;
	ex->can_trim = nbd_can_trim(h) == 1;
	ex->can_zero = nbd_can_zero(h) == 1;
	ex->multi_conn = nbd_can_multi_conn(h) == 1;
	if (!readonly && ex->readonly) {
		rc = -EROFS;
		snprintf(disk->open_why, sizeof(disk->open_why),
			 "%.80s is a read-only export: attach it with access=ro",
			 uri);
		goto err;
	}
	/* the server's smallest block becomes the disk's sector if larger */
	minbs = nbd_get_block_size(h, LIBNBD_SIZE_MINIMUM);
	prefbs = nbd_get_block_size(h, LIBNBD_SIZE_PREFERRED);
	lbs = want_sector_size ? want_sector_size : 512;
	if (!want_sector_size && minbs > 512)
		lbs = (uint32_t)minbs;
	if ((lbs != 512 && lbs != 4096) || (minbs > 0 && (uint64_t)minbs > lbs)) {
		rc = -EINVAL;
		snprintf(disk->open_why, sizeof(disk->open_why),
			 "%.80s needs %lld-byte blocks (sector size 512 or 4096)",
			 uri, (long long)minbs);
		goto err;
	}
	nbd_shutdown(h, 0);
	nbd_close(h);

	ex->down_timeout_ms = disk->reconnect_timeout_ms;
	disk->engine_ctx = ex;
	disk->engine_ops = &blkback_engine_nbd;
	disk->fd = -1;
	disk->fd_buffered = -1;
	disk->direct = false;
	disk->blockdev = false;
	disk->dio_align = 1;
	disk->lim.sector_size = lbs;
	disk->lim.sectors = (ex->size / lbs) * (lbs >> BLKIF_SECTOR_SHIFT);
	disk->lim.readonly = readonly;
	disk->lim.max_indirect_segs = BLKBACK_MAX_INDIRECT_SEGS;
	disk->lim.discard = !readonly && (ex->can_trim || ex->can_zero);
	disk->lim.discard_secure = false;
	disk->discard_granularity = prefbs > lbs && prefbs <= (1 << 20) ?
				    (uint32_t)prefbs : lbs;
	disk->max_queues = ex->multi_conn ? BLKBACK_MAX_QUEUES : 1;
	snprintf(disk->export_uri, sizeof(disk->export_uri), "%s", uri);
	blkback_log("%s: NBD %s: %llu bytes%s%s%s%s%s", disk->be_path, uri,
		    (unsigned long long)ex->size, ex->readonly ? ", read-only" : "",
		    ex->can_flush ? ", flush" : "", ex->can_trim ? ", trim" : "",
		    ex->can_zero ? ", zero" : "",
		    ex->multi_conn ? ", multi-conn" : "");
	return 0;
err:
	nbd_close(h);
	free(ex);
	return rc;
}

void blkback_nbd_close(struct blkback_disk *disk)
{
	free(disk->engine_ctx);
	disk->engine_ctx = NULL;
}

static int store_open(struct blkback_disk *disk, bool readonly,
		      uint32_t want_sector_size)
{
	return blkback_nbd_open_uri(disk, disk->params, readonly,
				    want_sector_size);
}

const struct blkback_store_ops blkback_store_nbd = {
	.name = "nbd",
	.open = store_open,
	.close = blkback_nbd_close,
};

/* ---- the connection of one queue ---- */

static void watch_remove(struct nbd_queue *nq)
{
	if (nq->sock >= 0)
		epoll_ctl(nq->epfd, EPOLL_CTL_DEL, nq->sock, NULL);
	nq->sock = -1;
	nq->sock_events = 0;
}

/* Watch the socket in the direction libnbd wants to move data. */
static void watch_update(struct nbd_queue *nq)
{
	struct epoll_event ev = { .data.u64 = WATCH_SOCK };
	unsigned int dir;
	int fd = nq->h ? nbd_aio_get_fd(nq->h) : -1;

	if (fd < 0) {
		watch_remove(nq);
		return;
	}
	dir = nbd_aio_get_direction(nq->h);
	ev.events = ((dir & LIBNBD_AIO_DIRECTION_READ) ? EPOLLIN : 0) |
		    ((dir & LIBNBD_AIO_DIRECTION_WRITE) ? EPOLLOUT : 0);
	if (fd != nq->sock) {
		watch_remove(nq);
		if (epoll_ctl(nq->epfd, EPOLL_CTL_ADD, fd, &ev))
			return;
		nq->sock = fd;
	} else if (ev.events != nq->sock_events) {
		epoll_ctl(nq->epfd, EPOLL_CTL_MOD, fd, &ev);
	}
	nq->sock_events = ev.events;
}

static void timer_arm(struct nbd_queue *nq, unsigned int ms)
{
	struct itimerspec its = {
		.it_value.tv_sec = ms / 1000,
		.it_value.tv_nsec = (long)(ms % 1000) * 1000000l,
	};

	if (!ms)
		its.it_value.tv_nsec = 1;
	timerfd_settime(nq->tfd, 0, &its, NULL);
}

static void timer_disarm(struct nbd_queue *nq)
{
	struct itimerspec its = { 0 };

	timerfd_settime(nq->tfd, 0, &its, NULL);
}

/*
 * Wake the queue thread's wait: completions are ready without the server.
 * Only the queue thread kicks, so one write covers every kick until reap
 * reads it back; a reap with nothing kicked spares the read.
 */
static void kick(struct nbd_queue *nq)
{
	uint64_t one = 1;

	if (nq->kicked)
		return;
	if (write(nq->kick, &one, sizeof(one)) < 0 && errno != EAGAIN)
		blkback_log("%s: NBD queue %u: cannot signal completion",
			    nq->disk->be_path, nq->index);
	nq->kicked = true;
}

/* The result of @op is known: hand it to reap. */
static void op_finish(struct nbd_queue *nq, struct nbd_op *op, int err)
{
	if (err) {
		op->res = -err;
	} else if (op->kind == OPK_READ || op->kind == OPK_WRITE) {
		op->res = (int64_t)op->len;
		if (op->kind == OPK_READ && op->bounce) {
			const char *src = op->bounce;

			for (unsigned int i = 0; i < op->iovcnt; i++) {
				memcpy(op->iov[i].iov_base, src, op->iov[i].iov_len);
				src += op->iov[i].iov_len;
			}
		}
	} else {
		op->res = 0;
	}
	free(op->bounce);
	op->bounce = NULL;
	op->state = OP_DONE;
	list_push(&nq->done, op);
}

/* libnbd calls this when the server replied (or the connection died). */
static int op_replied(void *opaque, int *error)
{
	struct nbd_op *op = opaque;
	struct nbd_queue *nq = op->nq;

	/* a reply from a connection given up: the op was sent again */
	if (op->state != OP_SENT || op->gen != nq->gen)
		return 1;
	op->err = *error;
	op->state = OP_REPLIED;
	list_push(&nq->replied, op);
	return 1;	/* retire the command */
}

static void link_try(struct nbd_queue *nq);

/* Schedule the next connection attempt. */
static void link_retry_later(struct nbd_queue *nq)
{
	nq_debug(nq, "connection attempt failed (%s); again in %u ms",
		 nbd_why(), nq->backoff_ms);
	nq->link = LINK_DOWN;
	timer_arm(nq, nq->backoff_ms);
	nq->backoff_ms *= 2;
	if (nq->backoff_ms > NBD_BACKOFF_MAX_MS)
		nq->backoff_ms = NBD_BACKOFF_MAX_MS;
}

static void link_close(struct nbd_queue *nq)
{
	watch_remove(nq);
	if (nq->h)
		nbd_close(nq->h);
	nq->h = NULL;
}

/*
 * The connection is gone: what was sent without an answer goes back to
 * pending (callbacks that libnbd still runs for it are ignored), and a
 * new connection is tried.
 */
static void link_lost(struct nbd_queue *nq, const char *why,
		      unsigned int resend)
{
	for (unsigned int i = 0; i < nq->depth; i++) {
		struct nbd_op *op = &nq->ops[i];

		if (op->state == OP_SENT) {
			op->state = OP_PENDING;
			list_push_front(&nq->pending, op);
			resend++;
		}
	}
	blkback_log("%s: queue %u: lost %s (%s); %u request(s) to send again",
		    nq->disk->be_path, nq->index, nq->ex->uri, why, resend);
	if (nq->disk->ctx && nq->disk->ctx->verbose > 1) {
		unsigned int st[5] = { 0 };

		for (unsigned int i = 0; i < nq->depth; i++)
			st[nq->ops[i].state]++;
		nq_debug(nq, "ops: free %u pending %u sent %u replied %u done %u",
			 st[0], st[1], st[2], st[3], st[4]);
	}
	link_close(nq);
	nq->why[0] = 0;
	if (!nq->down_since)
		nq->down_since = now_ns();
	nq->backoff_ms = NBD_BACKOFF_MIN_MS;
	link_retry_later(nq);
}

/* Fail what waits, once the server has been away for too long. */
static void check_down_timeout(struct nbd_queue *nq)
{
	struct nbd_op *op;
	unsigned int n = 0;

	if (nq->link == LINK_UP || !nq->down_since || !nq->ex->down_timeout_ms)
		return;
	if (!nq->failing &&
	    now_ns() - nq->down_since < nq->ex->down_timeout_ms * 1000000ull)
		return;
	if (!nq->failing)
		blkback_log("%s: queue %u: %s unreachable for %u s: failing requests until it is back",
			    nq->disk->be_path, nq->index, nq->ex->uri,
			    nq->ex->down_timeout_ms / 1000);
	nq->failing = true;
	while ((op = list_pop(&nq->pending))) {
		op_finish(nq, op, EIO);
		n++;
	}
	if (n)
		kick(nq);
}

static int submit_pending(struct nbd_queue *nq);
static void process_replied(struct nbd_queue *nq);

static void link_up(struct nbd_queue *nq)
{
	int64_t size = nbd_get_size(nq->h);

	if (size < 0 || (uint64_t)size < nq->ex->size) {
		blkback_log("%s: queue %u: %s now has %lld bytes, not %llu: not using it",
			    nq->disk->be_path, nq->index, nq->ex->uri,
			    (long long)size, (unsigned long long)nq->ex->size);
		link_close(nq);
		link_retry_later(nq);
		return;
	}
	timer_disarm(nq);
	if (nq->ever_up)
		blkback_log("%s: queue %u: reconnected to %s after %llu ms",
			    nq->disk->be_path, nq->index, nq->ex->uri,
			    (unsigned long long)((now_ns() - nq->down_since) /
						 1000000ull));
	nq_debug(nq, "connected (gen %llu)", (unsigned long long)nq->gen);
	nq->ever_up = true;
	nq->link = LINK_UP;
	nq->down_since = 0;
	nq->failing = false;
	nq->backoff_ms = NBD_BACKOFF_MIN_MS;
	submit_pending(nq);
}

/* Start a connection attempt (asynchronous: the handshake runs in reap). */
static void link_try(struct nbd_queue *nq)
{
	link_close(nq);
	nq->h = nbd_create();
	nq->gen++;
	if (!nq->h || nbd_aio_connect_uri(nq->h, nq->ex->uri) == -1) {
		link_close(nq);
		link_retry_later(nq);
		return;
	}
	nq->link = LINK_CONNECTING;
	nq_debug(nq, "connecting (gen %llu, fd %d, dir %u)",
		 (unsigned long long)nq->gen, nbd_aio_get_fd(nq->h),
		 nbd_aio_get_direction(nq->h));
	timer_arm(nq, NBD_CONNECT_TIMEOUT_MS);
	if (nbd_aio_is_ready(nq->h) == 1)
		link_up(nq);
	watch_update(nq);
}

static void check_connecting(struct nbd_queue *nq)
{
	if (nq->link != LINK_CONNECTING || !nq->h)
		return;
	if (nbd_aio_is_ready(nq->h) == 1) {
		link_up(nq);
	} else if (nbd_aio_is_dead(nq->h) == 1 || nbd_aio_is_closed(nq->h) == 1) {
		link_close(nq);
		link_retry_later(nq);
	}
}

static void on_timer(struct nbd_queue *nq)
{
	uint64_t v;

	if (read(nq->tfd, &v, sizeof(v)) < 0)
		return;
	nq_debug(nq, "timer (link %d)", nq->link);
	if (nq->link == LINK_DOWN) {
		link_try(nq);
	} else if (nq->link == LINK_CONNECTING) {
		/* the attempt took too long */
		link_close(nq);
		link_retry_later(nq);
	}
	check_down_timeout(nq);
}

/* ---- operations ---- */

static bool transport_error(int err)
{
	return err == ENOTCONN || err == ESHUTDOWN || err == ECONNRESET ||
	       err == EPIPE;
}

/* Send one op on the live connection: 0, or -errno. */
static int op_issue(struct nbd_queue *nq, struct nbd_op *op)
{
	nbd_completion_callback cb = { .callback = op_replied, .user_data = op };
	int64_t cookie = -1;

	op->gen = nq->gen;
	op->state = OP_SENT;
	switch (op->kind) {
	case OPK_READ:
		cookie = nbd_aio_pread(nq->h, op->buf, op->len, op->off, cb, 0);
		break;
	case OPK_WRITE:
		cookie = nbd_aio_pwrite(nq->h, op->buf, op->len, op->off, cb, 0);
		break;
	case OPK_FLUSH:
		cookie = nbd_aio_flush(nq->h, cb, 0);
		break;
	case OPK_TRIM:
		cookie = nbd_aio_trim(nq->h, op->len, op->off, cb, 0);
		break;
	case OPK_ZERO:
		cookie = nbd_aio_zero(nq->h, op->len, op->off, cb, 0);
		break;
	}
	if (cookie == -1) {
		int err = nbd_get_errno() ? nbd_get_errno() : EIO;

		/*
		 * The connection died while libnbd tried to send it: libnbd
		 * has failed it through the callback already, and it is on
		 * the replied list, to be sent again from there.
		 */
		if (op->state == OP_REPLIED)
			return -EINPROGRESS;
		op->state = OP_PENDING;
		return -err;
	}
	return 0;
}

static int submit_pending(struct nbd_queue *nq)
{
	struct nbd_op *op;
	int sent = 0;

	if (nq->link != LINK_UP) {
		check_down_timeout(nq);
		/* a handshake in progress may have changed direction */
		if (nq->h)
			watch_update(nq);
		return 0;
	}
	while ((op = list_pop(&nq->pending))) {
		int rc = op_issue(nq, op);

		if (!rc) {
			sent++;
			continue;
		}
		if (rc == -EINPROGRESS) {
			/* failed by the callback: process_replied takes it */
			process_replied(nq);
			break;
		}
		if (transport_error(-rc) || nbd_aio_is_dead(nq->h) == 1 ||
		    nbd_aio_is_closed(nq->h) == 1) {
			list_push_front(&nq->pending, op);
			link_lost(nq, nbd_why(), 1);
			break;
		}
		/* refused by libnbd itself (bounds, alignment) */
		op_finish(nq, op, -rc);
		kick(nq);
	}
	if (nq->h)
		watch_update(nq);
	return sent;
}

/* Look at the replies the callbacks collected. */
static void process_replied(struct nbd_queue *nq)
{
	bool dead = nq->h && (nbd_aio_is_dead(nq->h) == 1 ||
			      nbd_aio_is_closed(nq->h) == 1);
	unsigned int resend = 0;
	struct nbd_op *op;

	while ((op = list_pop(&nq->replied))) {
		/* failed by a connection that is gone already */
		bool stale = op->gen != nq->gen || !nq->h;

		if (op->err && (stale || dead || transport_error(op->err))) {
			/*
			 * no answer from the server (or "shutting down"):
			 * send it again, on a new connection; an error of
			 * the live connection means it is going
			 */
			op->state = OP_PENDING;
			list_push(&nq->pending, op);
			if (!stale)
				dead = true;
			resend++;
			continue;
		}
		if (op->err)
			blkback_log("%s: queue %u: server error on %s of %llu bytes at %llu: %s",
				    nq->disk->be_path, nq->index,
				    op->kind == OPK_READ ? "read" :
				    op->kind == OPK_WRITE ? "write" : "command",
				    (unsigned long long)op->len,
				    (unsigned long long)op->off, strerror(op->err));
		op_finish(nq, op, op->err);
	}
	if (dead && nq->link != LINK_DOWN)
		link_lost(nq, nq->why[0] ? nq->why : "the server went away",
			  resend);
}

static struct nbd_op *op_take(struct nbd_queue *nq, uint64_t tag,
			      enum op_kind kind)
{
	struct nbd_op *op;

	if (tag >= nq->depth || nq->ops[tag].state != OP_FREE)
		return NULL;
	op = &nq->ops[tag];
	op->kind = kind;
	op->err = 0;
	op->res = 0;
	op->off = 0;
	op->len = 0;
	op->buf = NULL;
	op->bounce = NULL;
	op->iov = NULL;
	op->iovcnt = 0;
	return op;
}

/* Queue @op for sending (or fail it now when the server is long gone). */
static void op_queue(struct nbd_queue *nq, struct nbd_op *op)
{
	if (nq->failing) {
		op_finish(nq, op, EIO);
		kick(nq);
		return;
	}
	op->state = OP_PENDING;
	list_push(&nq->pending, op);
}

static int nbd_prep_rw(struct blkback_engine *e, int fd, bool write,
		       const struct iovec *iov, unsigned int iovcnt,
		       uint64_t offset, uint64_t tag)
{
	struct nbd_queue *nq = e->priv;
	struct nbd_op *op = op_take(nq, tag, write ? OPK_WRITE : OPK_READ);

	if (!op)
		return -EBUSY;
	op->off = offset;
	op->iov = iov;
	op->iovcnt = iovcnt;
	for (unsigned int i = 0; i < iovcnt; i++)
		op->len += iov[i].iov_len;
	if (iovcnt == 1) {
		op->buf = iov[0].iov_base;
	} else {
		char *dst;

		op->bounce = malloc(op->len ? op->len : 1);
		if (!op->bounce)
			return -ENOMEM;
		op->buf = op->bounce;
		dst = op->bounce;
		for (unsigned int i = 0; write && i < iovcnt; i++) {
			memcpy(dst, iov[i].iov_base, iov[i].iov_len);
			dst += iov[i].iov_len;
		}
	}
	op_queue(nq, op);
	return 0;
}

static int nbd_prep_flush(struct blkback_engine *e, int fd, uint64_t tag)
{
	struct nbd_queue *nq = e->priv;
	struct nbd_op *op = op_take(nq, tag, OPK_FLUSH);

	if (!op)
		return -EBUSY;
	if (!nq->ex->can_flush) {
		/* no write cache on the server: written is durable */
		op_finish(nq, op, 0);
		kick(nq);
		return 0;
	}
	op_queue(nq, op);
	return 0;
}

static int nbd_prep_discard(struct blkback_engine *e, uint64_t offset,
			    uint64_t len, uint64_t tag)
{
	struct nbd_queue *nq = e->priv;
	struct nbd_op *op = op_take(nq, tag, nq->ex->can_trim ? OPK_TRIM :
					     OPK_ZERO);

	if (!op)
		return -EBUSY;
	op->off = offset;
	op->len = len;
	if ((!nq->ex->can_trim && !nq->ex->can_zero) || !len) {
		op_finish(nq, op, len ? EOPNOTSUPP : 0);
		kick(nq);
		return 0;
	}
	op_queue(nq, op);
	return 0;
}

static int nbd_submit(struct blkback_engine *e)
{
	return submit_pending(e->priv);
}

/*
 * libnbd reads one reply per read notification. Replies that are already
 * in the socket are read now, in the same pass: their requests are
 * answered together, with one notification to the frontend, and the
 * requests it sends back reach the server together too. libnbd reads no
 * more than the reply it is on, so what the socket holds is what is left.
 * Bounded by the queue's depth (a reply per request in flight).
 */
static int read_waiting_replies(struct nbd_queue *nq)
{
	for (unsigned int i = 0; i < nq->depth && nq->h; i++) {
		int avail = 0;

		if (!(nbd_aio_get_direction(nq->h) & LIBNBD_AIO_DIRECTION_READ) ||
		    ioctl(nbd_aio_get_fd(nq->h), FIONREAD, &avail) < 0 ||
		    avail <= 0)
			return 0;
		if (nbd_aio_notify_read(nq->h))
			return -1;
	}
	return 0;
}

static int nbd_reap(struct blkback_engine *e, struct blkback_cqe *out,
		    unsigned int max)
{
	struct nbd_queue *nq = e->priv;
	struct epoll_event ev[4];
	struct nbd_op *op;
	unsigned int n = 0;
	uint64_t v;
	int ne;

	if (nq->kicked) {
		nq->kicked = false;
		if (read(nq->kick, &v, sizeof(v)) < 0 && errno != EAGAIN)
			return -errno;
	}
	ne = epoll_wait(nq->epfd, ev, 4, 0);
	for (int i = 0; i < ne; i++) {
		if (ev[i].data.u64 == WATCH_TIMER) {
			on_timer(nq);
		} else if (ev[i].data.u64 == WATCH_SOCK && nq->h) {
			int rc = 0;

			if (ev[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
				rc = nbd_aio_notify_read(nq->h);
			if (!rc && (ev[i].events & EPOLLIN) &&
			    nq->link == LINK_UP)
				rc = read_waiting_replies(nq);
			if (!rc && (ev[i].events & EPOLLOUT))
				rc = nbd_aio_notify_write(nq->h);
			if (rc)
				snprintf(nq->why, sizeof(nq->why), "%s", nbd_why());
		}
	}
	check_connecting(nq);
	process_replied(nq);
	if (nq->pending.head)
		submit_pending(nq);
	/* whatever happened, watch the direction libnbd wants now */
	if (nq->h)
		watch_update(nq);
	while (n < max && (op = list_pop(&nq->done))) {
		out[n].tag = (uint64_t)(op - nq->ops);
		out[n].res = op->res;
		op->state = OP_FREE;
		n++;
	}
	/* more than @max done: come back without waiting for the server */
	if (nq->done.head)
		kick(nq);
	return (int)n;
}

static int nbd_event_fd(struct blkback_engine *e)
{
	return ((struct nbd_queue *)e->priv)->epfd;
}

static bool nbd_ready(struct blkback_engine *e)
{
	return ((struct nbd_queue *)e->priv)->done.head != NULL;
}

static int nbd_abandon(struct blkback_engine *e, uint64_t *tags,
		       unsigned int max, bool force)
{
	struct nbd_queue *nq = e->priv;
	unsigned int n = 0;

	if (nq->link == LINK_UP && !force)
		return 0;
	/* nothing may touch the requests' pages once they are given up */
	link_close(nq);
	nq->link = LINK_DOWN;
	timer_disarm(nq);
	for (unsigned int i = 0; i < nq->depth && n < max; i++) {
		struct nbd_op *op = &nq->ops[i];

		if (op->state != OP_PENDING && op->state != OP_SENT &&
		    op->state != OP_REPLIED)
			continue;
		free(op->bounce);
		op->bounce = NULL;
		op->state = OP_FREE;
		tags[n++] = i;
	}
	/* the lists only hold ops that are still pending or replied */
	{
		struct op_list keep = { 0 };
		struct nbd_op *op;

		while ((op = list_pop(&nq->pending)))
			if (op->state == OP_PENDING)
				list_push(&keep, op);
		nq->pending = keep;
		memset(&keep, 0, sizeof(keep));
		while ((op = list_pop(&nq->replied)))
			if (op->state == OP_REPLIED)
				list_push(&keep, op);
		nq->replied = keep;
	}
	return (int)n;
}

/*
 * Say goodbye (NBD_CMD_DISC) on a live connection, giving the server up to
 * a second to close its end, so that it sees a clean disconnect.
 */
static void link_goodbye(struct nbd_queue *nq)
{
	uint64_t end = now_ns() + 1000000000ull;

	if (nq->link != LINK_UP || !nq->h ||
	    nbd_aio_disconnect(nq->h, 0) == -1)
		return;
	while (nbd_aio_is_closed(nq->h) != 1 && nbd_aio_is_dead(nq->h) != 1 &&
	       now_ns() < end) {
		unsigned int dir = nbd_aio_get_direction(nq->h);
		struct pollfd p = { .fd = nbd_aio_get_fd(nq->h) };

		p.events = ((dir & LIBNBD_AIO_DIRECTION_READ) ? POLLIN : 0) |
			   ((dir & LIBNBD_AIO_DIRECTION_WRITE) ? POLLOUT : 0);
		if (p.fd < 0 || poll(&p, 1, 100) < 0)
			break;
		if (p.revents & (POLLIN | POLLHUP | POLLERR))
			nbd_aio_notify_read(nq->h);
		else if (p.revents & POLLOUT)
			nbd_aio_notify_write(nq->h);
	}
}

static void nbd_fini(struct blkback_engine *e)
{
	struct nbd_queue *nq = e->priv;

	if (!nq)
		return;
	link_goodbye(nq);
	link_close(nq);
	for (unsigned int i = 0; nq->ops && i < nq->depth; i++)
		free(nq->ops[i].bounce);
	free(nq->ops);
	if (nq->epfd >= 0)
		close(nq->epfd);
	if (nq->tfd >= 0)
		close(nq->tfd);
	if (nq->kick >= 0)
		close(nq->kick);
	free(nq);
	e->priv = NULL;
}

static int nbd_init(struct blkback_engine *e, struct blkback_disk *disk,
		    unsigned int queue, unsigned int depth)
{
	struct nbd_queue *nq = calloc(1, sizeof(*nq));
	struct epoll_event ev = { .events = EPOLLIN };

	if (!nq)
		return -ENOMEM;
	nq->disk = disk;
	nq->ex = disk->engine_ctx;
	nq->index = queue;
	nq->sock = -1;
	nq->depth = depth;
	nq->backoff_ms = NBD_BACKOFF_MIN_MS;
	nq->ops = calloc(depth, sizeof(*nq->ops));
	nq->epfd = epoll_create1(EPOLL_CLOEXEC);
	nq->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	nq->kick = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	e->priv = nq;
	e->depth = depth;
	if (!nq->ex || !nq->ops || nq->epfd < 0 || nq->tfd < 0 || nq->kick < 0) {
		nbd_fini(e);
		return -ENOMEM;
	}
	for (unsigned int i = 0; i < depth; i++)
		nq->ops[i].nq = nq;
	ev.data.u64 = WATCH_TIMER;
	if (epoll_ctl(nq->epfd, EPOLL_CTL_ADD, nq->tfd, &ev))
		goto err;
	ev.data.u64 = WATCH_KICK;
	if (epoll_ctl(nq->epfd, EPOLL_CTL_ADD, nq->kick, &ev))
		goto err;
	/* requests queue up until the handshake is done */
	nq->down_since = now_ns();
	link_try(nq);
	return 0;
err:
	nbd_fini(e);
	return -errno;
}

const struct blkback_engine_ops blkback_engine_nbd = {
	.name = "nbd",
	.init = nbd_init,
	.fini = nbd_fini,
	.prep_rw = nbd_prep_rw,
	.prep_flush = nbd_prep_flush,
	.prep_discard = nbd_prep_discard,
	.submit = nbd_submit,
	.reap = nbd_reap,
	.event_fd = nbd_event_fd,
	.ready = nbd_ready,
	.abandon = nbd_abandon,
};
