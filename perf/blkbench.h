/* SPDX-License-Identifier: MIT */
/*
 * `pvio bench blk`: one I/O generator run against two targets (the pvio
 * stack through the user-space blkfront, and native io_uring on the same
 * file), plus fio on the same file as an outside reference.
 */
#ifndef PVIO_PERF_BLKBENCH_H
#define PVIO_PERF_BLKBENCH_H

#include <stdbool.h>
#include <stdint.h>

enum blkbench_rw { BB_READ, BB_WRITE, BB_RANDREAD, BB_RANDWRITE, BB_RANDRW };

struct blkbench_opts {
	enum blkbench_rw rw;
	uint32_t bs;
	unsigned int iodepth;
	unsigned int queues;
	unsigned int runtime;	/* seconds */
	uint64_t size;		/* bytes of the file used */
	const char *file;
	const char *engine;	/* blkback engine: uring or aio */
};

struct blkbench_result {
	double iops, mbps, lat_p50_us, lat_p99_us;
	bool valid;
};

/*
 * A target the generator drives: @slot identifies one of iodepth buffers
 * of thread @t; reap returns finished slots (waiting for one if @wait).
 */
struct blkbench_target {
	void *ctx;
	int (*submit)(void *ctx, unsigned int t, unsigned int slot, bool write,
		      uint64_t offset);
	int (*reap)(void *ctx, unsigned int t, unsigned int *slots,
		    unsigned int max, bool wait);
};

/* Run the generator on @tg with one thread per queue. */
int blkbench_generate(const struct blkbench_opts *o,
		      const struct blkbench_target *tg,
		      struct blkbench_result *res);

/* The targets (blkbench_targets.c). */
int blkbench_native(const struct blkbench_opts *o, struct blkbench_result *res);
int blkbench_pvio(const struct blkbench_opts *o, const char *rundir,
		  struct blkbench_result *res);

#endif /* PVIO_PERF_BLKBENCH_H */
