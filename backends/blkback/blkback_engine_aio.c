// SPDX-License-Identifier: MIT
/*
 * blkback I/O engine on Linux native AIO (libaio): preadv/pwritev iocbs into
 * the mapped guest pages, completions signalled on an eventfd. Kernel AIO
 * has no asynchronous fdatasync on most file systems, so a flush runs
 * synchronously in the queue thread and completes at the next reap.
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <libaio.h>

#include "blkback.h"

struct aio_priv {
	io_context_t ctx;
	int efd;
	struct iocb *iocbs;		/* depth of them, a free list */
	struct iocb **free;
	unsigned int nr_free;
	struct iocb **queued;
	unsigned int nr_queued;
	struct blkback_cqe *done;	/* synchronous flushes waiting for reap */
	unsigned int nr_done;
	struct io_event *events;
};

static int aio_init(struct blkback_engine *e, struct blkback_disk *disk,
		    unsigned int queue, unsigned int depth)
{
	struct aio_priv *p = calloc(1, sizeof(*p));
	int rc;

	if (!p)
		return -ENOMEM;
	p->iocbs = calloc(depth, sizeof(*p->iocbs));
	p->free = calloc(depth, sizeof(*p->free));
	p->queued = calloc(depth, sizeof(*p->queued));
	p->done = calloc(depth, sizeof(*p->done));
	p->events = calloc(depth, sizeof(*p->events));
	if (!p->iocbs || !p->free || !p->queued || !p->done || !p->events) {
		rc = -ENOMEM;
		goto err;
	}
	for (unsigned int i = 0; i < depth; i++)
		p->free[i] = &p->iocbs[i];
	p->nr_free = depth;
	rc = io_setup(depth, &p->ctx);
	if (rc < 0)
		goto err;
	p->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (p->efd < 0) {
		rc = -errno;
		io_destroy(p->ctx);
		goto err;
	}
	e->priv = p;
	e->depth = depth;
	return 0;
err:
	free(p->iocbs);
	free(p->free);
	free(p->queued);
	free(p->done);
	free(p->events);
	free(p);
	return rc;
}

static void aio_fini(struct blkback_engine *e)
{
	struct aio_priv *p = e->priv;

	if (!p)
		return;
	io_destroy(p->ctx);
	close(p->efd);
	free(p->iocbs);
	free(p->free);
	free(p->queued);
	free(p->done);
	free(p->events);
	free(p);
	e->priv = NULL;
}

static int aio_submit(struct blkback_engine *e);

static int aio_prep_rw(struct blkback_engine *e, int fd, bool write,
		       const struct iovec *iov, unsigned int iovcnt,
		       uint64_t offset, uint64_t tag)
{
	struct aio_priv *p = e->priv;
	struct iocb *cb;

	if (!p->nr_free)
		return -EAGAIN;
	cb = p->free[--p->nr_free];
	if (iovcnt == 1) {
		if (write)
			io_prep_pwrite(cb, fd, iov[0].iov_base, iov[0].iov_len,
				       offset);
		else
			io_prep_pread(cb, fd, iov[0].iov_base, iov[0].iov_len,
				      offset);
	} else if (write) {
		io_prep_pwritev(cb, fd, iov, iovcnt, offset);
	} else {
		io_prep_preadv(cb, fd, iov, iovcnt, offset);
	}
	cb->data = (void *)(uintptr_t)tag;
	io_set_eventfd(cb, p->efd);
	p->queued[p->nr_queued++] = cb;
	/* start a few at a time (e->submit_batch), not a whole pass */
	if (p->nr_queued >= blkback_engine_batch(e))
		aio_submit(e);
	return 0;
}

static int aio_prep_flush(struct blkback_engine *e, int fd, uint64_t tag)
{
	struct aio_priv *p = e->priv;
	uint64_t one = 1;
	int rc;

	if (p->nr_done == e->depth)
		return -EAGAIN;
	rc = fdatasync(fd) ? -errno : 0;
	p->done[p->nr_done].tag = tag;
	p->done[p->nr_done].res = rc;
	p->nr_done++;
	/* make the queue thread come back for it */
	if (write(p->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		return -errno;
	return 0;
}

static int aio_submit(struct blkback_engine *e)
{
	struct aio_priv *p = e->priv;
	unsigned int sent = 0;

	while (sent < p->nr_queued) {
		int rc = io_submit(p->ctx, p->nr_queued - sent, p->queued + sent);

		if (rc == -EINTR || rc == -EAGAIN)
			continue;
		if (rc < 0) {
			/* fail the rest: give them back as completions */
			for (unsigned int i = sent; i < p->nr_queued; i++) {
				struct iocb *cb = p->queued[i];

				if (p->nr_done < e->depth) {
					p->done[p->nr_done].tag = (uintptr_t)cb->data;
					p->done[p->nr_done].res = rc;
					p->nr_done++;
				}
				p->free[p->nr_free++] = cb;
			}
			p->nr_queued = 0;
			return rc;
		}
		sent += rc;
	}
	p->nr_queued = 0;
	return sent;
}

static int aio_reap(struct blkback_engine *e, struct blkback_cqe *out,
		    unsigned int max)
{
	struct aio_priv *p = e->priv;
	struct timespec zero = { 0, 0 };
	unsigned int n = 0;
	uint64_t v;
	int rc;

	if (read(p->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return -errno;
	while (p->nr_done && n < max)
		out[n++] = p->done[--p->nr_done];
	if (n == max)
		return n;
	if (max - n > e->depth)
		max = n + e->depth;
	rc = io_getevents(p->ctx, 0, max - n, p->events, &zero);
	if (rc < 0)
		return n ? (int)n : rc;
	for (int i = 0; i < rc; i++) {
		struct iocb *cb = p->events[i].obj;

		out[n].tag = (uintptr_t)p->events[i].data;
		out[n].res = (long)p->events[i].res;
		p->free[p->nr_free++] = cb;
		n++;
	}
	return n;
}

static int aio_event_fd(struct blkback_engine *e)
{
	return ((struct aio_priv *)e->priv)->efd;
}

const struct blkback_engine_ops blkback_engine_aio = {
	.name = "aio",
	.init = aio_init,
	.fini = aio_fini,
	.prep_rw = aio_prep_rw,
	.prep_flush = aio_prep_flush,
	.submit = aio_submit,
	.reap = aio_reap,
	.event_fd = aio_event_fd,
};
