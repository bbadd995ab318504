// SPDX-License-Identifier: MIT
/*
 * blkback Ceph RBD store and engine, on librbd's asynchronous API.
 *
 * Target syntax as QEMU spells it:
 *   rbd:pool[/namespace]/image[@snap][:opt=value...]
 * where opt is conf (a ceph.conf), id (the client name without "client."),
 * or any Ceph option, handed to rados_conf_set; "\:" is a colon inside a
 * value. A snapshot opens read-only.
 *
 * One cluster connection and one image handle per disk, shared by its
 * queues (librbd's handle is thread safe; one handle keeps the image's
 * exclusive lock in one place). I/O goes straight between the mapped guest
 * pages and librbd (vectored: rbd_aio_readv/writev); flush is
 * rbd_aio_flush (librbd's cache writes back then), discard
 * rbd_aio_discard. librbd completes on its own threads: the callback puts
 * the operation's tag on the queue's done list under a lock and signals
 * the queue's eventfd; reap takes them in the queue thread.
 *
 * librbd resends to OSDs that come back by itself; an operation the
 * cluster does not finish within pvio-reconnect-timeout fails (the
 * rados_osd_op_timeout), so a stopping queue never waits forever. There is
 * no abandon: librbd may still write into guest pages until an operation
 * completes, so the queue waits for it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <rados/librados.h>
#include <rbd/librbd.h>

#include "blkback.h"

#define RBD_CONNECT_TIMEOUT_S	15	/* client_mount_timeout at open */

/* The image of a disk, shared by its queues. */
struct rbd_store {
	rados_t cluster;
	rados_ioctx_t io;
	rbd_image_t image;
	bool connected, io_open, image_open;
	uint64_t size;
};

/* ---- the target string ---- */


/* Copy up to an unescaped @stop (or the end); "\c" is c. */
static const char *take(const char *s, const char *stop, char *out,
			size_t size, int *rc)
{
	size_t n = 0;

	while (*s && !strchr(stop, *s)) {
		if (*s == '\\' && s[1])
			s++;
		if (n + 1 >= size) {
			*rc = -ENAMETOOLONG;
			return s;
		}
		out[n++] = *s++;
	}
	out[n] = 0;
	return s;
}

int blkback_rbd_parse(const char *target, struct blkback_rbd_target *t, char *why,
		      size_t whylen)
{
	const char *s = target;
	char first[256];
	int rc = 0;

	memset(t, 0, sizeof(*t));
	if (strncmp(s, "rbd:", 4)) {
		snprintf(why, whylen, "not an rbd: target");
		return -EINVAL;
	}
	s = take(s + 4, "/@:", first, sizeof(first), &rc);
	if (rc || *s != '/' || !first[0]) {
		snprintf(why, whylen, "rbd target: want rbd:pool/image[@snap][:opt=value...]");
		return -EINVAL;
	}
	if (strlen(first) >= sizeof(t->pool)) {
		snprintf(why, whylen, "rbd target: pool name too long");
		return -EINVAL;
	}
	strcpy(t->pool, first);
	s = take(s + 1, "/@:", t->image, sizeof(t->image), &rc);
	if (!rc && *s == '/') {
		/* pool/namespace/image */
		if (strlen(t->image) >= sizeof(t->ns)) {
			snprintf(why, whylen, "rbd target: namespace too long");
			return -EINVAL;
		}
		strcpy(t->ns, t->image);
		s = take(s + 1, "/@:", t->image, sizeof(t->image), &rc);
	}
	if (!rc && *s == '@')
		s = take(s + 1, ":", t->snap, sizeof(t->snap), &rc);
	if (rc || !t->image[0] || *s == '/' || *s == '@') {
		snprintf(why, whylen, "rbd target: bad pool, image or snapshot in '%.80s'",
			 target);
		return -EINVAL;
	}
	while (*s == ':') {
		char key[64], val[256];

		s = take(s + 1, "=:", key, sizeof(key), &rc);
		if (rc || *s != '=' || !key[0]) {
			snprintf(why, whylen, "rbd target: want :key=value options in '%.80s'",
				 target);
			return -EINVAL;
		}
		s = take(s + 1, ":", val, sizeof(val), &rc);
		if (rc) {
			snprintf(why, whylen, "rbd target: option %.40s too long", key);
			return -EINVAL;
		}
		if (!strcmp(key, "conf")) {
			snprintf(t->conf, sizeof(t->conf), "%s", val);
		} else if (!strcmp(key, "id")) {
			snprintf(t->id, sizeof(t->id), "%s", val);
		} else {
			if (t->nr_opts == 8 || strlen(val) >= sizeof(t->vals[0])) {
				snprintf(why, whylen, "rbd target: too many or too long options");
				return -EINVAL;
			}
			snprintf(t->keys[t->nr_opts], sizeof(t->keys[0]), "%s", key);
			snprintf(t->vals[t->nr_opts], sizeof(t->vals[0]), "%s", val);
			t->nr_opts++;
		}
	}
	return 0;
}

/* ---- the store ---- */

static void store_free(struct rbd_store *st)
{
	if (st->image_open)
		rbd_close(st->image);
	if (st->io_open)
		rados_ioctx_destroy(st->io);
	if (st->connected || st->cluster)
		rados_shutdown(st->cluster);
	free(st);
}

static int rbd_store_open(struct blkback_disk *disk, bool readonly,
			  uint32_t want_sector_size)
{
	struct blkback_rbd_target t;
	struct rbd_store *st;
	char num[32], who[80];
	uint32_t lbs = want_sector_size ? want_sector_size : 512;
	int rc;

	rc = blkback_rbd_parse(disk->params, &t, disk->open_why,
			       sizeof(disk->open_why));
	if (rc)
		return rc;
	st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	snprintf(who, sizeof(who), "client.%s", t.id[0] ? t.id : "admin");
	rc = rados_create2(&st->cluster, "ceph", who, 0);
	if (rc) {
		st->cluster = NULL;
		snprintf(disk->open_why, sizeof(disk->open_why),
			 "rados_create2 (%s): %s", who, strerror(-rc));
		goto err;
	}
	/* an explicit conf=, else $CEPH_CONF and the default search */
	rc = rados_conf_read_file(st->cluster, t.conf[0] ? t.conf : NULL);
	if (rc && t.conf[0]) {
		snprintf(disk->open_why, sizeof(disk->open_why),
			 "reading %.100s: %s", t.conf, strerror(-rc));
		goto err;
	}
	for (unsigned int i = 0; i < t.nr_opts; i++) {
		rc = rados_conf_set(st->cluster, t.keys[i], t.vals[i]);
		if (rc) {
			snprintf(disk->open_why, sizeof(disk->open_why),
				 "rbd option %.40s=%.60s: %s", t.keys[i], t.vals[i],
				 strerror(-rc));
			goto err;
		}
	}
	snprintf(num, sizeof(num), "%u", RBD_CONNECT_TIMEOUT_S);
	rados_conf_set(st->cluster, "client_mount_timeout", num);
	/* an operation the cluster never finishes fails after the timeout */
	snprintf(num, sizeof(num), "%u", disk->reconnect_timeout_ms / 1000);
	rados_conf_set(st->cluster, "rados_osd_op_timeout", num);
	rados_conf_set(st->cluster, "rados_mon_op_timeout", num);
	rc = rados_connect(st->cluster);
	if (rc) {
		snprintf(disk->open_why, sizeof(disk->open_why),
			 "connecting to the Ceph cluster as %s: %s", who,
			 strerror(-rc));
		goto err;
	}
	st->connected = true;
	rc = rados_ioctx_create(st->cluster, t.pool, &st->io);
	if (rc) {
		snprintf(disk->open_why, sizeof(disk->open_why),
			 "pool %.60s: %s", t.pool, strerror(-rc));
		goto err;
	}
	st->io_open = true;
	if (t.ns[0])
		rados_ioctx_set_namespace(st->io, t.ns);
	if (readonly || t.snap[0])
		rc = rbd_open_read_only(st->io, t.image, &st->image,
					t.snap[0] ? t.snap : NULL);
	else
		rc = rbd_open(st->io, t.image, &st->image, NULL);
	if (rc) {
		snprintf(disk->open_why, sizeof(disk->open_why),
			 "image %.60s%s%.40s in pool %.40s: %s", t.image,
			 t.snap[0] ? "@" : "", t.snap, t.pool, strerror(-rc));
		goto err;
	}
	st->image_open = true;
	if (t.snap[0] && !readonly) {
		rc = -EROFS;
		snprintf(disk->open_why, sizeof(disk->open_why),
			 "snapshot %.60s is read-only: attach it with access=ro",
			 t.snap);
		goto err;
	}
	rc = rbd_get_size(st->image, &st->size);
	if (rc) {
		snprintf(disk->open_why, sizeof(disk->open_why),
			 "size of %.60s: %s", t.image, strerror(-rc));
		goto err;
	}
	if (lbs != 512 && lbs != 4096) {
		rc = -EINVAL;
		goto err;
	}
	disk->engine_ctx = st;
	disk->engine_ops = &blkback_engine_rbd;
	disk->fd = -1;
	disk->fd_buffered = -1;
	disk->direct = false;
	disk->blockdev = false;
	disk->dio_align = 1;
	disk->lim.sector_size = lbs;
	disk->lim.sectors = (st->size / lbs) * (lbs >> BLKIF_SECTOR_SHIFT);
	disk->lim.readonly = readonly;
	disk->lim.max_indirect_segs = BLKBACK_MAX_INDIRECT_SEGS;
	disk->lim.discard = !readonly;
	disk->lim.discard_secure = false;
	disk->discard_granularity = lbs;
	disk->max_queues = BLKBACK_MAX_QUEUES;
	blkback_log("%s: RBD %s/%s%s%s%s: %llu bytes as %s", disk->be_path,
		    t.pool, t.ns[0] ? t.ns : "", t.ns[0] ? "/" : "", t.image,
		    t.snap[0] ? " (snapshot)" : "", (unsigned long long)st->size,
		    who);
	return 0;
err:
	store_free(st);
	return rc ? rc : -EIO;
}

static void rbd_store_close(struct blkback_disk *disk)
{
	if (disk->engine_ctx)
		store_free(disk->engine_ctx);
	disk->engine_ctx = NULL;
}

const struct blkback_store_ops blkback_store_rbd = {
	.name = "rbd",
	.open = rbd_store_open,
	.close = rbd_store_close,
};

/* ---- the engine of one queue ---- */

enum rbd_op_state { RBD_OP_FREE = 0, RBD_OP_INFLIGHT, RBD_OP_DONE };

struct rbd_queue;

struct rbd_op {
	struct rbd_queue *rq;
	uint8_t state;		/* under rq->lock once in flight */
	bool data;		/* read or write: success means len bytes */
	uint64_t len;
	int64_t res;
};

struct rbd_queue {
	struct rbd_store *st;
	struct rbd_op *ops;	/* indexed by tag */
	unsigned int depth;
	int efd;
	unsigned int issued;	/* since the last submit */
	pthread_mutex_t lock;	/* done list, op states after issue */
	uint32_t *done;		/* tags, depth of them */
	unsigned int nr_done;
};

/* On a librbd thread. */
static void rbd_done(rbd_completion_t c, void *arg)
{
	struct rbd_op *op = arg;
	struct rbd_queue *rq = op->rq;
	ssize_t r = rbd_aio_get_return_value(c);
	uint64_t one = 1;

	rbd_aio_release(c);
	pthread_mutex_lock(&rq->lock);
	if (op->state == RBD_OP_INFLIGHT && rq->nr_done < rq->depth) {
		op->res = r < 0 ? r : (op->data ? (int64_t)op->len : 0);
		op->state = RBD_OP_DONE;
		rq->done[rq->nr_done++] = (uint32_t)(op - rq->ops);
	}
	pthread_mutex_unlock(&rq->lock);
	if (write(rq->efd, &one, sizeof(one)) < 0)
		blkback_log("rbd: cannot signal a completion");
}

static struct rbd_op *op_begin(struct rbd_queue *rq, uint64_t tag,
			       rbd_completion_t *c)
{
	struct rbd_op *op;

	if (tag >= rq->depth || rq->ops[tag].state != RBD_OP_FREE)
		return NULL;
	op = &rq->ops[tag];
	if (rbd_aio_create_completion(op, rbd_done, c))
		return NULL;
	op->state = RBD_OP_INFLIGHT;
	op->res = 0;
	op->len = 0;
	op->data = false;
	return op;
}

/* librbd refused the operation: it never completes, take it back. */
static int op_refused(struct rbd_queue *rq, struct rbd_op *op,
		      rbd_completion_t c, int rc)
{
	rbd_aio_release(c);
	op->state = RBD_OP_FREE;
	return rc == -EAGAIN ? -EIO : rc;
}

static int rbd_prep_rw(struct blkback_engine *e, int fd, bool write,
		       const struct iovec *iov, unsigned int iovcnt,
		       uint64_t offset, uint64_t tag)
{
	struct rbd_queue *rq = e->priv;
	rbd_completion_t c;
	struct rbd_op *op = op_begin(rq, tag, &c);
	int rc;

	if (!op)
		return -EBUSY;
	op->data = true;
	for (unsigned int i = 0; i < iovcnt; i++)
		op->len += iov[i].iov_len;
	rc = write ? rbd_aio_writev(rq->st->image, iov, (int)iovcnt, offset, c) :
		     rbd_aio_readv(rq->st->image, iov, (int)iovcnt, offset, c);
	if (rc < 0)
		return op_refused(rq, op, c, rc);
	rq->issued++;
	return 0;
}

static int rbd_prep_flush(struct blkback_engine *e, int fd, uint64_t tag)
{
	struct rbd_queue *rq = e->priv;
	rbd_completion_t c;
	struct rbd_op *op = op_begin(rq, tag, &c);
	int rc;

	if (!op)
		return -EBUSY;
	rc = rbd_aio_flush(rq->st->image, c);
	if (rc < 0)
		return op_refused(rq, op, c, rc);
	rq->issued++;
	return 0;
}

static int rbd_prep_discard(struct blkback_engine *e, uint64_t offset,
			    uint64_t len, uint64_t tag)
{
	struct rbd_queue *rq = e->priv;
	rbd_completion_t c;
	struct rbd_op *op = op_begin(rq, tag, &c);
	int rc;

	if (!op)
		return -EBUSY;
	rc = rbd_aio_discard(rq->st->image, offset, len, c);
	if (rc < 0)
		return op_refused(rq, op, c, rc);
	rq->issued++;
	return 0;
}

/* librbd sends as it is asked: nothing is held back. */
static int rbd_submit(struct blkback_engine *e)
{
	struct rbd_queue *rq = e->priv;
	int n = (int)rq->issued;

	rq->issued = 0;
	return n;
}

static int rbd_reap(struct blkback_engine *e, struct blkback_cqe *out,
		    unsigned int max)
{
	struct rbd_queue *rq = e->priv;
	unsigned int n = 0;
	uint64_t v;

	if (read(rq->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return -errno;
	pthread_mutex_lock(&rq->lock);
	while (n < max && rq->nr_done) {
		uint32_t tag = rq->done[--rq->nr_done];

		out[n].tag = tag;
		out[n].res = rq->ops[tag].res;
		rq->ops[tag].state = RBD_OP_FREE;
		n++;
	}
	if (rq->nr_done) {
		/* more than @max: come back */
		v = 1;
		if (write(rq->efd, &v, sizeof(v)) < 0)
			blkback_log("rbd: cannot signal a completion");
	}
	pthread_mutex_unlock(&rq->lock);
	return (int)n;
}

static int rbd_event_fd(struct blkback_engine *e)
{
	return ((struct rbd_queue *)e->priv)->efd;
}

static void rbd_fini(struct blkback_engine *e)
{
	struct rbd_queue *rq = e->priv;

	if (!rq)
		return;
	/* the queue thread waited for every operation: nothing in flight */
	if (rq->efd >= 0)
		close(rq->efd);
	pthread_mutex_destroy(&rq->lock);
	free(rq->ops);
	free(rq->done);
	free(rq);
	e->priv = NULL;
}

static int rbd_init(struct blkback_engine *e, struct blkback_disk *disk,
		    unsigned int queue, unsigned int depth)
{
	struct rbd_queue *rq = calloc(1, sizeof(*rq));

	if (!rq)
		return -ENOMEM;
	pthread_mutex_init(&rq->lock, NULL);
	rq->st = disk->engine_ctx;
	rq->depth = depth;
	rq->ops = calloc(depth, sizeof(*rq->ops));
	rq->done = calloc(depth, sizeof(*rq->done));
	rq->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	e->priv = rq;
	e->depth = depth;
	if (!rq->st || !rq->ops || !rq->done || rq->efd < 0) {
		rbd_fini(e);
		return -ENOMEM;
	}
	for (unsigned int i = 0; i < depth; i++)
		rq->ops[i].rq = rq;
	return 0;
}

const struct blkback_engine_ops blkback_engine_rbd = {
	.name = "rbd",
	.init = rbd_init,
	.fini = rbd_fini,
	.prep_rw = rbd_prep_rw,
	.prep_flush = rbd_prep_flush,
	.prep_discard = rbd_prep_discard,
	.submit = rbd_submit,
	.reap = rbd_reap,
	.event_fd = rbd_event_fd,
};
