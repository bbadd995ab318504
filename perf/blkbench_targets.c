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
#include "../tools/pvio_cmd.h"
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

int blkbench_native(const struct blkbench_opts *o, struct blkbench_result *res)
{
	struct native_ctx n = { .o = o };
	struct blkbench_target tg = { &n, native_submit, native_reap };
	int rc = 0;

	n.fd = open(o->file, O_RDWR | O_DIRECT);
	if (n.fd < 0)
		return -errno;
	n.t = calloc(o->queues, sizeof(*n.t));
	if (!n.t) {
		close(n.fd);
		return -ENOMEM;
	}
	for (unsigned int i = 0; i < o->queues && !rc; i++) {
		rc = io_uring_queue_init(o->iodepth, &n.t[i].ring, 0);
		n.t[i].buf = calloc(o->iodepth, sizeof(void *));
		for (unsigned int s = 0; !rc && s < o->iodepth; s++) {
			if (posix_memalign(&n.t[i].buf[s], 4096, o->bs))
				rc = -ENOMEM;
			else
				memset(n.t[i].buf[s], 0xa5, o->bs);
		}
	}
	if (!rc)
		rc = blkbench_generate(o, &tg, res);
	for (unsigned int i = 0; i < o->queues; i++) {
		if (n.t[i].ring.ring_fd > 0)
			io_uring_queue_exit(&n.t[i].ring);
		for (unsigned int s = 0; n.t[i].buf && s < o->iodepth; s++)
			free(n.t[i].buf[s]);
		free(n.t[i].buf);
	}
	free(n.t);
	close(n.fd);
	return rc;
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
	return blkfront_submit(p->bf, t, io);
}

static int pvio_reap(void *c, unsigned int t, unsigned int *slots,
		     unsigned int max, bool wait)
{
	struct pvio_ctx *p = c;
	struct blkfront_io **done = p->done[t];
	int n = blkfront_complete(p->bf, t, done, max, wait ? 10000 : 0);

	if (n == 0 && wait)
		return -ETIMEDOUT;
	for (int i = 0; i < n; i++) {
		if (done[i]->status)
			return done[i]->status;
		slots[i] = (unsigned int)done[i]->user_data;
	}
	return n;
}

int blkbench_pvio(const struct blkbench_opts *o, const char *rundir,
		  struct blkbench_result *res)
{
	struct blkfront_opts bo = { .nr_queues = o->queues, .ring_order = -1 };
	struct pvio_ctx p = { .o = o };
	struct blkbench_target tg = { &p, pvio_submit, pvio_reap };
	struct pvio_devclass *disk = pvio_devclass_find("disk");
	uint64_t mem = (64ull << 20) +
		       2ull * o->queues * o->iodepth * o->bs;
	struct blkfront_info info;
	struct pvio_dom *d;
	struct xs_handle *xs;
	char name[64], spec[600], sock[512];
	int rc;

	if (!disk)
		return -ENOSYS;
	mem = (mem + (1 << 20) - 1) & ~((1ull << 20) - 1);
	snprintf(name, sizeof(name), "bench-blk-%d", getpid());
	rc = pvio_dom_create_self(rundir, name, mem, &d);
	if (rc) {
		fprintf(stderr, "bench blk: creating a process domain: %s\n",
			strerror(-rc));
		return rc;
	}
	snprintf(spec, sizeof(spec), "vdev=xvda,engine=%s,target=%s",
		 o->engine, o->file);
	rc = disk->attach(rundir, pvio_dom_id(d), spec);
	if (rc)
		goto out_dom;
	snprintf(sock, sizeof(sock), "%s/store.sock", rundir);
	rc = xs_open(sock, &xs);
	if (rc)
		goto out_disk;
	rc = blkfront_open(d, xs, "51712", &bo, &p.bf);
	if (rc) {
		fprintf(stderr, "bench blk: connecting the disk: %s (is pvio-blkback running?)\n",
			strerror(-rc));
		goto out_xs;
	}
	blkfront_get_info(p.bf, &info);
	if (info.nr_queues < o->queues) {
		fprintf(stderr, "bench blk: the backend offers %u queues\n",
			info.nr_queues);
		rc = -EINVAL;
		goto out_bf;
	}
	p.io = calloc(o->queues, sizeof(*p.io));
	p.done = calloc(o->queues, sizeof(*p.done));
	for (unsigned int q = 0; q < o->queues; q++) {
		char *buf = blkfront_alloc(p.bf, (size_t)o->iodepth * o->bs);

		p.io[q] = calloc(o->iodepth, sizeof(**p.io));
		p.done[q] = calloc(o->iodepth, sizeof(**p.done));
		if (!buf || !p.io[q] || !p.done[q]) {
			rc = -ENOMEM;
			goto out_mem;
		}
		memset(buf, 0xa5, (size_t)o->iodepth * o->bs);
		for (unsigned int s = 0; s < o->iodepth; s++) {
			p.io[q][s].buf = buf + (size_t)s * o->bs;
			p.io[q][s].user_data = s;
		}
	}
	rc = blkbench_generate(o, &tg, res);
out_mem:
	for (unsigned int q = 0; q < o->queues; q++) {
		free(p.io[q]);
		free(p.done[q]);
	}
	free(p.io);
	free(p.done);
out_bf:
	blkfront_close(p.bf);
out_xs:
	xs_close(xs);
out_disk:
	disk->detach_all(rundir, pvio_dom_id(d));
out_dom:
	pvio_dom_detach(d);
	return rc;
}
