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
	const char *disk_spec;	/* --disk: an xl disk spec instead of file */
	unsigned int round_seconds;	/* --disk: seconds per round and path */
	bool prefill;		/* --disk: write the measured range first */
	unsigned int spin_us;	/* blkfront polling before sleeping */
	bool no_persistent;	/* blkfront does not ask for persistent grants */
	unsigned int reap_batch;	/* completions taken per reap (0 = 1) */
};
/* the largest reap_batch the generator takes */
#define BLKBENCH_REAP_MAX	64

struct blkbench_result {
	double iops, mbps, lat_p50_us, lat_p99_us, lat_p999_us;
	double reaps_per_io;	/* calls of the target's reap (each may sleep) */
	double cpu_us_per_io;	/* the generator threads' CPU time */
	bool valid;
};

/* Notifications and sleeps of the pvio target, per request. */
struct blkbench_cost {
	double fe_notify;	/* frontend -> backend */
	double be_notify;	/* backend -> frontend */
	double fe_sleep;	/* frontend waits that slept */
	/* CPU per request of the bench's own daemons (-1: not known) */
	double be_cpu_us;	/* pvio-blkback, every thread */
	double hv_cpu_us;	/* pvio-hv */
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

/* Raw counts, summed over the rounds of a target. */
struct blkbench_acc {
	uint64_t ios, bytes, ns, reaps;
	uint64_t cpu_ns;	/* the generator threads' CPU time */
	uint32_t *hist;		/* blkbench_acc_init allocates it */
};
int blkbench_acc_init(struct blkbench_acc *a);
void blkbench_acc_result(struct blkbench_acc *a, struct blkbench_result *res);
void blkbench_acc_free(struct blkbench_acc *a);

/* Run the generator on @tg for @seconds, one thread per queue, into @acc. */
int blkbench_generate(const struct blkbench_opts *o,
		      const struct blkbench_target *tg, unsigned int seconds,
		      struct blkbench_acc *acc);

/* The targets (blkbench_targets.c): open, then generate rounds, close. */
struct blkbench_native;
struct blkbench_pvio;
int blkbench_native_open(const struct blkbench_opts *o,
			 struct blkbench_native **out,
			 const struct blkbench_target **tg);
void blkbench_native_close(struct blkbench_native *n);
int blkbench_pvio_open(const struct blkbench_opts *o, const char *rundir,
		       struct blkbench_pvio **out,
		       const struct blkbench_target **tg);
void blkbench_pvio_close(struct blkbench_pvio *p);
unsigned int blkbench_pvio_domid(struct blkbench_pvio *p);
uint64_t blkbench_pvio_bytes(struct blkbench_pvio *p);
/* Counters of the pvio target's queues, summed, since it was opened. */
void blkbench_pvio_counters(struct blkbench_pvio *p, uint64_t *reqs,
			    uint64_t *notifies, uint64_t *events,
			    uint64_t *sleeps);

#define BLKBENCH_USAGE \
	"blk [--rw read|write|randread|randwrite|randrw] [--bs SIZE] " \
	"[--iodepth N] [--queues N] [--runtime S] [--size SIZE] " \
	"[--file PATH] [--engine uring|aio] [--no-persistent] [--json] " \
	"[--no-fio] [--only pvio|native]\n" \
	"       [--disk XL-DISK-SPEC [--round-seconds S] [--no-prefill]]"

/* A fio run: engine arguments, workload; @runtime 0 = until @size is done. */
struct blkbench_fio_job {
	const char *engine_args;	/* --ioengine=... and its target */
	const char *rw;
	uint32_t bs;
	unsigned int iodepth, numjobs, runtime;
	uint64_t size;			/* per job */
};
/* Run fio and read its terse output into @res: 0 or -errno. */
int blkbench_fio(const struct blkbench_fio_job *j, struct blkbench_result *res);
const char *blkbench_rw_name(enum blkbench_rw rw);

/*
 * `pvio bench blk --disk SPEC` (blkbench_disk.c): pvio on any xl disk spec
 * against the same store read without pvio, in alternating rounds.
 */
int blkbench_disk_run(struct blkbench_opts *o, const char *rundir,
		      const char *only, bool json);

#endif /* PVIO_PERF_BLKBENCH_H */
