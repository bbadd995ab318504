// SPDX-License-Identifier: MIT
/*
 * blkback I/O engine on io_uring (liburing): readv/writev straight into the
 * mapped guest pages and IORING_OP_FSYNC(DATASYNC) for flushes. One ring
 * per queue; completions signal an eventfd the queue thread polls.
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <liburing.h>

#include "blkback.h"

struct uring_priv {
	struct io_uring ring;
	int efd;
	unsigned int queued;
};

static int uring_init(struct blkback_engine *e, unsigned int depth)
{
	struct uring_priv *p = calloc(1, sizeof(*p));
	int rc;

	if (!p)
		return -ENOMEM;
	rc = io_uring_queue_init(depth, &p->ring, 0);
	if (rc < 0)
		goto err_free;
	p->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (p->efd < 0) {
		rc = -errno;
		goto err_ring;
	}
	rc = io_uring_register_eventfd(&p->ring, p->efd);
	if (rc < 0)
		goto err_efd;
	e->priv = p;
	e->depth = depth;
	return 0;
err_efd:
	close(p->efd);
err_ring:
	io_uring_queue_exit(&p->ring);
err_free:
	free(p);
	return rc;
}

static void uring_fini(struct blkback_engine *e)
{
	struct uring_priv *p = e->priv;

	if (!p)
		return;
	io_uring_queue_exit(&p->ring);
	close(p->efd);
	free(p);
	e->priv = NULL;
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
	p->queued++;
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
	p->queued++;
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

	/* clear the eventfd first: a completion after this re-arms it */
	if (read(p->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return -errno;
	io_uring_for_each_cqe(&p->ring, head, cqe) {
		if (n == max)
			break;
		out[n].tag = io_uring_cqe_get_data64(cqe);
		out[n].res = cqe->res;
		n++;
	}
	io_uring_cq_advance(&p->ring, n);
	return n;
}

static int uring_event_fd(struct blkback_engine *e)
{
	return ((struct uring_priv *)e->priv)->efd;
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
};
