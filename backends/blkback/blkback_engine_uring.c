// SPDX-License-Identifier: MIT
/*
 * blkback I/O engine on io_uring (liburing): readv/writev straight into the
 * mapped guest pages and IORING_OP_FSYNC(DATASYNC) for flushes. One ring
 * per queue; completions signal an eventfd the queue thread polls.
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <liburing.h>

#include "blkback.h"

/* tags of the polls that wake the queue thread (I/O tags are slot numbers) */
#define TAG_EVTCHN	(~0ull)
#define TAG_STOP	(~0ull - 1)

struct uring_priv {
	struct io_uring ring;
	int efd;		/* -1 until someone asks for event_fd */
	unsigned int queued;
	bool evt_armed, stop_armed;
	unsigned int fired;	/* BLKBACK_WAKE_* seen by reap */
};

static int uring_init(struct blkback_engine *e, struct blkback_disk *disk,
		      unsigned int queue, unsigned int depth)
{
	struct uring_priv *p = calloc(1, sizeof(*p));
	int rc;

	if (!p)
		return -ENOMEM;
	/* room for the I/O and the two polls of uring_wait */
	rc = io_uring_queue_init(depth + 2, &p->ring, 0);
	if (rc < 0) {
		free(p);
		return rc;
	}
	p->efd = -1;
	e->priv = p;
	e->depth = depth;
	return 0;
}

static void uring_fini(struct blkback_engine *e)
{
	struct uring_priv *p = e->priv;

	if (!p)
		return;
	io_uring_queue_exit(&p->ring);
	if (p->efd >= 0)
		close(p->efd);
	free(p);
	e->priv = NULL;
}

static int uring_submit(struct blkback_engine *e);

/* Start what is prepared once a few operations are (e->submit_batch). */
static void uring_queued(struct blkback_engine *e)
{
	struct uring_priv *p = e->priv;

	if (++p->queued >= blkback_engine_batch(e))
		uring_submit(e);
}

static int uring_prep_rw(struct blkback_engine *e, int fd, bool write,
			 const struct iovec *iov, unsigned int iovcnt,
			 uint64_t offset, uint64_t tag)
{
	struct uring_priv *p = e->priv;
	struct io_uring_sqe *sqe = io_uring_get_sqe(&p->ring);

	if (!sqe)
		return -EAGAIN;
	if (iovcnt == 1) {
		/* plain read/write: no iovec import on the kernel side */
		if (write)
			io_uring_prep_write(sqe, fd, iov[0].iov_base,
					    iov[0].iov_len, offset);
		else
			io_uring_prep_read(sqe, fd, iov[0].iov_base,
					   iov[0].iov_len, offset);
	} else if (write) {
		io_uring_prep_writev(sqe, fd, iov, iovcnt, offset);
	} else {
		io_uring_prep_readv(sqe, fd, iov, iovcnt, offset);
	}
	io_uring_sqe_set_data64(sqe, tag);
	uring_queued(e);
	return 0;
}

static int uring_prep_flush(struct blkback_engine *e, int fd, uint64_t tag)
{
	struct uring_priv *p = e->priv;
	struct io_uring_sqe *sqe = io_uring_get_sqe(&p->ring);

	if (!sqe)
		return -EAGAIN;
	io_uring_prep_fsync(sqe, fd, IORING_FSYNC_DATASYNC);
	io_uring_sqe_set_data64(sqe, tag);
	uring_queued(e);
	return 0;
}

static int uring_submit(struct blkback_engine *e)
{
	struct uring_priv *p = e->priv;
	int rc;

	if (!p->queued)
		return 0;
	do {
		rc = io_uring_submit(&p->ring);
	} while (rc == -EINTR);
	if (rc >= 0)
		p->queued = 0;
	return rc;
}

static int uring_reap(struct blkback_engine *e, struct blkback_cqe *out,
		      unsigned int max)
{
	struct uring_priv *p = e->priv;
	struct io_uring_cqe *cqe;
	unsigned int head, n = 0;
	uint64_t v;

	unsigned int seen = 0;

	/* clear the eventfd first: a completion after this re-arms it */
	if (p->efd >= 0 && read(p->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return -errno;
	io_uring_for_each_cqe(&p->ring, head, cqe) {
		uint64_t tag = io_uring_cqe_get_data64(cqe);

		if (n == max)
			break;
		seen++;
		if (tag == TAG_EVTCHN) {
			p->evt_armed = false;
			p->fired |= BLKBACK_WAKE_EVTCHN;
			continue;
		}
		if (tag == TAG_STOP) {
			p->stop_armed = false;
			p->fired |= BLKBACK_WAKE_STOP;
			continue;
		}
		out[n].tag = tag;
		out[n].res = cqe->res;
		n++;
	}
	io_uring_cq_advance(&p->ring, seen);
	return n;
}

static int uring_event_fd(struct blkback_engine *e)
{
	struct uring_priv *p = e->priv;

	if (p->efd < 0) {
		p->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (p->efd < 0)
			return -errno;
		if (io_uring_register_eventfd(&p->ring, p->efd) < 0) {
			close(p->efd);
			p->efd = -1;
			return -EIO;
		}
	}
	return p->efd;
}

/*
 * Submit what is queued and sleep until an I/O completes or one of the
 * two fds becomes readable, all in one system call: the fds are watched by
 * poll requests on the same ring.
 */
static int uring_wait(struct blkback_engine *e, int evtchn_fd, int stop_fd,
		      int timeout_ms)
{
	struct uring_priv *p = e->priv;
	struct io_uring_sqe *sqe;
	int rc;

	if (!p->evt_armed && (sqe = io_uring_get_sqe(&p->ring))) {
		io_uring_prep_poll_add(sqe, evtchn_fd, POLLIN);
		io_uring_sqe_set_data64(sqe, TAG_EVTCHN);
		p->evt_armed = true;
	}
	if (!p->stop_armed && (sqe = io_uring_get_sqe(&p->ring))) {
		io_uring_prep_poll_add(sqe, stop_fd, POLLIN);
		io_uring_sqe_set_data64(sqe, TAG_STOP);
		p->stop_armed = true;
	}
	if (timeout_ms >= 0) {
		struct __kernel_timespec ts = {
			.tv_sec = timeout_ms / 1000,
			.tv_nsec = (timeout_ms % 1000) * 1000000ll,
		};
		struct io_uring_cqe *cqe;

		rc = io_uring_submit_and_wait_timeout(&p->ring, &cqe, 1, &ts, NULL);
		if (rc == -ETIME)
			rc = 0;
	} else {
		rc = io_uring_submit_and_wait(&p->ring, 1);
	}
	if (rc >= 0)
		p->queued = 0;
	return rc == -EINTR ? 0 : (rc < 0 ? rc : 0);
}

static unsigned int uring_take_wakes(struct blkback_engine *e)
{
	struct uring_priv *p = e->priv;
	unsigned int w = p->fired;

	p->fired = 0;
	return w;
}

static bool uring_ready(struct blkback_engine *e)
{
	return io_uring_cq_ready(&((struct uring_priv *)e->priv)->ring) > 0;
}

const struct blkback_engine_ops blkback_engine_uring = {
	.name = "uring",
	.init = uring_init,
	.fini = uring_fini,
	.prep_rw = uring_prep_rw,
	.prep_flush = uring_prep_flush,
	.submit = uring_submit,
	.reap = uring_reap,
	.event_fd = uring_event_fd,
	.wait = uring_wait,
	.take_wakes = uring_take_wakes,
	.ready = uring_ready,
};
