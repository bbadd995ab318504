// SPDX-License-Identifier: MIT
/*
 * Targets of the block generator: native io_uring on the backing file
 * (O_DIRECT), and the pvio stack: this process becomes a process domain,
 * gets the file attached as xvda, and drives it through blkfront.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <liburing.h>

#include "pvio/blkfront.h"
#include "pvio/libpvio.h"
#include "pvio/xenbus.h"
#include "pvio/devclass.h"
#include "blkbench.h"

/* ---- native io_uring ---- */

struct native_thread {
	struct io_uring ring;
	void **buf;
	unsigned int pending;	/* prepared, not yet submitted */
};

struct native_ctx {
	const struct blkbench_opts *o;
	int fd;
	struct native_thread *t;
};

static int native_submit(void *c, unsigned int t, unsigned int slot, bool write,
			 uint64_t off)
{
	struct native_ctx *n = c;
	struct native_thread *th = &n->t[t];
	struct io_uring_sqe *sqe = io_uring_get_sqe(&th->ring);

	if (!sqe)
		return -EBUSY;
	if (write)
		io_uring_prep_write(sqe, n->fd, th->buf[slot], n->o->bs, off);
	else
		io_uring_prep_read(sqe, n->fd, th->buf[slot], n->o->bs, off);
	io_uring_sqe_set_data64(sqe, slot);
	th->pending++;
	return 0;
}

static int native_reap(void *c, unsigned int t, unsigned int *slots,
		       unsigned int max, bool wait)
{
	struct native_ctx *n = c;
	struct native_thread *th = &n->t[t];
	struct io_uring_cqe *cqe;
	unsigned int head, got = 0;
	int rc;

	/* submit what was prepared and wait, in one system call */
	rc = io_uring_submit_and_wait(&th->ring, wait ? 1 : 0);
	if (rc < 0 && rc != -EINTR)
		return rc;
	th->pending = 0;
	io_uring_for_each_cqe(&th->ring, head, cqe) {
		if (got == max)
			break;
		if (cqe->res != (int)n->o->bs)
			return cqe->res < 0 ? cqe->res : -EIO;
		slots[got++] = (unsigned int)io_uring_cqe_get_data64(cqe);
	}
	io_uring_cq_advance(&th->ring, got);
	return (int)got;
}

struct blkbench_native {
	struct native_ctx n;
	struct blkbench_target tg;
};

void blkbench_native_close(struct blkbench_native *bn)
{
	struct native_ctx *n = &bn->n;

	for (unsigned int i = 0; n->t && i < n->o->queues; i++) {
		if (n->t[i].ring.ring_fd > 0)
			io_uring_queue_exit(&n->t[i].ring);
		for (unsigned int s = 0; n->t[i].buf && s < n->o->iodepth; s++)
			free(n->t[i].buf[s]);
		free(n->t[i].buf);
	}
	free(n->t);
	if (n->fd >= 0)
		close(n->fd);
	free(bn);
}

int blkbench_native_open(const struct blkbench_opts *o,
			 struct blkbench_native **out,
			 const struct blkbench_target **tg)
{
	struct blkbench_native *bn = calloc(1, sizeof(*bn));
	struct native_ctx *n;
	int rc = 0;

	if (!bn)
		return -ENOMEM;
	n = &bn->n;
	n->o = o;
	n->fd = open(o->file, O_RDWR | O_DIRECT);
	if (n->fd < 0) {
		rc = -errno;
		free(bn);
		return rc;
	}
	n->t = calloc(o->queues, sizeof(*n->t));
	if (!n->t)
		rc = -ENOMEM;
	for (unsigned int i = 0; !rc && i < o->queues; i++) {
		rc = io_uring_queue_init(o->iodepth, &n->t[i].ring, 0);
		n->t[i].buf = calloc(o->iodepth, sizeof(void *));
		if (!n->t[i].buf)
			rc = -ENOMEM;
		for (unsigned int s = 0; !rc && s < o->iodepth; s++) {
			if (posix_memalign(&n->t[i].buf[s], 4096, o->bs))
				rc = -ENOMEM;
			else
				memset(n->t[i].buf[s], 0xa5, o->bs);
		}
	}
	if (rc) {
		blkbench_native_close(bn);
		return rc;
	}
	bn->tg.ctx = n;
	bn->tg.submit = native_submit;
	bn->tg.reap = native_reap;
	*tg = &bn->tg;
	*out = bn;
	return 0;
}

/* ---- pvio: this process as a domain, through blkfront ---- */

struct pvio_ctx {
	const struct blkbench_opts *o;
	struct blkfront *bf;
	struct blkfront_io **io;	/* [queue][slot] */
	struct blkfront_io ***done;
};

static int pvio_submit(void *c, unsigned int t, unsigned int slot, bool write,
		       uint64_t off)
{
	struct pvio_ctx *p = c;
	struct blkfront_io *io = &p->io[t][slot];

	io->op = write ? BLKFRONT_OP_WRITE : BLKFRONT_OP_READ;
	io->offset = off;
	io->len = p->o->bs;
	/* published by the next reap, as native io_uring does */
	return blkfront_queue_io(p->bf, t, io);
}

static int pvio_reap(void *c, unsigned int t, unsigned int *slots,
		     unsigned int max, bool wait)
{
	struct pvio_ctx *p = c;
	struct blkfront_io **done = p->done[t];
	int n;

	/* done[] holds iodepth entries: a larger reap batch never fits */
	if (max > p->o->iodepth)
		max = p->o->iodepth;
	n = blkfront_complete(p->bf, t, done, max, wait ? 10000 : 0);

	if (n == 0 && wait)
		return -ETIMEDOUT;
	for (int i = 0; i < n; i++) {
		if (done[i]->status)
			return done[i]->status;
		slots[i] = (unsigned int)done[i]->user_data;
	}
	return n;
}

struct blkbench_pvio {
	struct pvio_ctx p;
	struct blkbench_target tg;
	struct pvio_dom *d;
	struct xs_handle *xs;
	struct pvio_devclass *disk;
	const char *rundir;
	bool attached;
	uint64_t bytes;		/* the disk's size */
};

unsigned int blkbench_pvio_domid(struct blkbench_pvio *bp)
{
	return pvio_dom_id(bp->d);
}

uint64_t blkbench_pvio_bytes(struct blkbench_pvio *bp)
{
	return bp->bytes;
}

void blkbench_pvio_close(struct blkbench_pvio *bp)
{
	const struct blkbench_opts *o = bp->p.o;

	for (unsigned int q = 0; bp->p.io && q < o->queues; q++) {
		free(bp->p.io[q]);
		free(bp->p.done[q]);
	}
	free(bp->p.io);
	free(bp->p.done);
	if (bp->p.bf)
		blkfront_close(bp->p.bf);
	if (bp->xs)
		xs_close(bp->xs);
	if (bp->attached)
		bp->disk->detach_all(bp->rundir, pvio_dom_id(bp->d));
	if (bp->d)
		pvio_dom_detach(bp->d);
	free(bp);
}

void blkbench_pvio_counters(struct blkbench_pvio *bp, uint64_t *reqs,
			    uint64_t *notifies, uint64_t *events,
			    uint64_t *sleeps)
{
	*reqs = *notifies = *events = *sleeps = 0;
	for (unsigned int q = 0; q < bp->p.o->queues; q++) {
		struct blkfront_stats st;

		blkfront_get_stats(bp->p.bf, q, &st);
		*reqs += st.reqs;
		*notifies += st.notifies;
		*events += st.events;
		*sleeps += st.sleeps;
	}
}

int blkbench_pvio_open(const struct blkbench_opts *o, const char *rundir,
		       struct blkbench_pvio **out,
		       const struct blkbench_target **tg)
{
	struct blkfront_opts bo = { .nr_queues = o->queues, .ring_order = -1,
				    .spin_us = o->spin_us,
				    .no_persistent = o->no_persistent };
	struct blkbench_pvio *bp = calloc(1, sizeof(*bp));
	uint64_t mem = (64ull << 20) + 2ull * o->queues * o->iodepth * o->bs;
	struct blkfront_info info;
	char name[64], spec[1200], sock[512];
	int rc;

	if (!bp)
		return -ENOMEM;
	bp->p.o = o;
	bp->rundir = rundir;
	bp->disk = pvio_devclass_find("disk");
	if (!bp->disk) {
		free(bp);
		return -ENOSYS;
	}
	mem = (mem + (1 << 20) - 1) & ~((1ull << 20) - 1);
	snprintf(name, sizeof(name), "bench-blk-%d", getpid());
	rc = pvio_dom_create_self(rundir, name, mem, &bp->d);
	if (rc) {
		fprintf(stderr, "bench blk: creating a process domain: %s\n",
			strerror(-rc));
		bp->d = NULL;
		goto err;
	}
	if (o->disk_spec)
		/* any xl disk spec; the frontend looks for xvda */
		snprintf(spec, sizeof(spec), "%s%s",
			 strstr(o->disk_spec, "vdev=") ? "" : "vdev=xvda,",
			 o->disk_spec);
	else
		snprintf(spec, sizeof(spec), "vdev=xvda,engine=%s,target=%s",
			 o->engine, o->file);
	rc = bp->disk->attach(rundir, pvio_dom_id(bp->d), spec);
	if (rc)
		goto err;
	bp->attached = true;
	snprintf(sock, sizeof(sock), "%s/store.sock", rundir);
	/* the domain's own store ring, as a guest; the socket if none */
	rc = xs_open_domain(bp->d, &bp->xs);
	if (rc)
		rc = xs_open(sock, &bp->xs);
	if (rc) {
		bp->xs = NULL;
		goto err;
	}
	rc = blkfront_open(bp->d, bp->xs, "51712", &bo, &bp->p.bf);
	if (rc) {
		fprintf(stderr, "bench blk: connecting the disk: %s (is pvio-blkback running?)\n",
			strerror(-rc));
		bp->p.bf = NULL;
		goto err;
	}
	blkfront_get_info(bp->p.bf, &info);
	bp->bytes = info.sectors * 512;
	if (info.nr_queues < o->queues) {
		fprintf(stderr, "bench blk: the backend offers %u queues\n",
			info.nr_queues);
		rc = -EINVAL;
		goto err;
	}
	bp->p.io = calloc(o->queues, sizeof(*bp->p.io));
	bp->p.done = calloc(o->queues, sizeof(*bp->p.done));
	if (!bp->p.io || !bp->p.done) {
		rc = -ENOMEM;
		goto err;
	}
	for (unsigned int q = 0; q < o->queues; q++) {
		char *buf = blkfront_alloc(bp->p.bf, (size_t)o->iodepth * o->bs);

		bp->p.io[q] = calloc(o->iodepth, sizeof(**bp->p.io));
		bp->p.done[q] = calloc(o->iodepth, sizeof(**bp->p.done));
		if (!buf || !bp->p.io[q] || !bp->p.done[q]) {
			rc = -ENOMEM;
			goto err;
		}
		memset(buf, 0xa5, (size_t)o->iodepth * o->bs);
		for (unsigned int s = 0; s < o->iodepth; s++) {
			bp->p.io[q][s].buf = buf + (size_t)s * o->bs;
			bp->p.io[q][s].user_data = s;
		}
	}
	bp->tg.ctx = &bp->p;
	bp->tg.submit = pvio_submit;
	bp->tg.reap = pvio_reap;
	*tg = &bp->tg;
	*out = bp;
	return 0;
err:
	blkbench_pvio_close(bp);
	return rc;
}
