// SPDX-License-Identifier: MIT
/*
 * The block I/O generator of `pvio bench blk`: one thread per queue keeps
 * iodepth requests in flight on a target for the runtime, and records
 * per-request latency in a log-linear histogram. The same code drives the
 * pvio stack and native io_uring, so the two differ only in the target.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "blkbench.h"

/* 1 us buckets below 4 ms, then 64 us buckets up to ~1 s */
#define HIST_FINE	4096
#define HIST_COARSE	16384
#define HIST_N		(HIST_FINE + HIST_COARSE)

struct gen_thread {
	const struct blkbench_opts *o;
	const struct blkbench_target *tg;
	unsigned int index;
	pthread_t tid;
	uint64_t ios, bytes, reaps, cpu_ns;
	uint64_t *start;	/* per slot, ns */
	uint32_t *hist;
	uint64_t rnd, seq_off;
	int err;
};

/* ns of @clock: CLOCK_MONOTONIC, or this thread's CPU time */
static uint64_t clock_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t now_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

static unsigned int hist_index(uint64_t us)
{
	if (us < HIST_FINE)
		return (unsigned int)us;
	us = (us - HIST_FINE) / 64;
	return HIST_FINE + (us < HIST_COARSE ? (unsigned int)us : HIST_COARSE - 1);
}

static double hist_value(unsigned int i)
{
	if (i < HIST_FINE)
		return i + 0.5;
	return HIST_FINE + (i - HIST_FINE) * 64.0 + 32;
}

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Next request of thread @g: offset and direction. */
static void next_io(struct gen_thread *g, uint64_t *off, bool *write)
{
	const struct blkbench_opts *o = g->o;
	uint64_t blocks = o->size / o->bs;
	uint64_t per = blocks / o->queues;

	switch (o->rw) {
	case BB_READ:
	case BB_WRITE:
		/* each thread streams through its own slice */
		if (!per)
			per = 1;
		*off = ((uint64_t)g->index * per + g->seq_off % per) * o->bs;
		g->seq_off = (g->seq_off + 1) % (per ? per : 1);
		*write = o->rw == BB_WRITE;
		return;
	default:
		*off = (xorshift(&g->rnd) % blocks) * o->bs;
		*write = o->rw == BB_RANDWRITE ||
			 (o->rw == BB_RANDRW && (xorshift(&g->rnd) & 1));
	}
}

static void *gen_thread(void *arg)
{
	struct gen_thread *g = arg;
	const struct blkbench_opts *o = g->o;
	unsigned int inflight = 0;
	uint64_t end = now_ns() + (uint64_t)o->runtime * 1000000000ull;
	uint64_t cpu0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	uint64_t off;
	bool w;

	for (unsigned int s = 0; s < o->iodepth; s++) {
		next_io(g, &off, &w);
		g->start[s] = now_ns();
		g->err = g->tg->submit(g->tg->ctx, g->index, s, w, off);
		if (g->err)
			return NULL;
		inflight++;
	}
	while (inflight && !g->err) {
		/*
		 * By default one completion per call, its replacement submitted
		 * at once, as fio does (iodepth_batch_complete_max = 1); with
		 * reap_batch N, up to N completions per call and their
		 * replacements submitted together. Which one is native
		 * io_uring's best depends on the device: the bench runs both
		 * for the native target (blkbench.c).
		 */
		unsigned int slots[BLKBENCH_REAP_MAX];
		unsigned int max = o->reap_batch ? o->reap_batch : 1;
		int n;
		uint64_t t;

		if (max > BLKBENCH_REAP_MAX)
			max = BLKBENCH_REAP_MAX;
		n = g->tg->reap(g->tg->ctx, g->index, slots, max, true);
		t = now_ns();
		g->reaps++;
		if (n < 0) {
			g->err = n;
			break;
		}
		for (int k = 0; k < n; k++) {
			unsigned int s = slots[k];

			g->hist[hist_index((t - g->start[s]) / 1000)]++;
			g->ios++;
			g->bytes += o->bs;
			inflight--;
			if (t >= end)
				continue;	/* the runtime is over: drain */
			next_io(g, &off, &w);
			g->start[s] = now_ns();
			g->err = g->tg->submit(g->tg->ctx, g->index, s, w, off);
			if (g->err)
				break;
			inflight++;
		}
	}
	g->cpu_ns = clock_ns(CLOCK_THREAD_CPUTIME_ID) - cpu0;
	return NULL;
}

int blkbench_acc_init(struct blkbench_acc *a)
{
	memset(a, 0, sizeof(*a));
	a->hist = calloc(HIST_N, sizeof(*a->hist));
	return a->hist ? 0 : -ENOMEM;
}

void blkbench_acc_free(struct blkbench_acc *a)
{
	free(a->hist);
	a->hist = NULL;
}

void blkbench_acc_result(struct blkbench_acc *a, struct blkbench_result *res)
{
	uint64_t seen = 0;
	bool have50 = false, have99 = false;

	memset(res, 0, sizeof(*res));
	if (!a->ios || !a->ns)
		return;
	res->iops = a->ios / (a->ns / 1e9);
	res->mbps = a->bytes / (a->ns / 1e9) / 1e6;
	res->reaps_per_io = (double)a->reaps / a->ios;
	res->cpu_us_per_io = a->cpu_ns / 1e3 / a->ios;
	for (unsigned int b = 0; b < HIST_N; b++) {
		seen += a->hist[b];
		if (!have50 && seen * 2 >= a->ios) {
			res->lat_p50_us = hist_value(b);
			have50 = true;
		}
		if (!have99 && seen * 100 >= a->ios * 99) {
			res->lat_p99_us = hist_value(b);
			have99 = true;
		}
		if (seen * 1000 >= a->ios * 999) {
			res->lat_p999_us = hist_value(b);
			break;
		}
	}
	res->valid = true;
}

int blkbench_generate(const struct blkbench_opts *o,
		      const struct blkbench_target *tg, unsigned int seconds,
		      struct blkbench_acc *acc)
{
	struct blkbench_opts oo = *o;
	struct gen_thread *g = calloc(o->queues, sizeof(*g));
	uint64_t t0, t1;
	int rc = 0;

	if (!g)
		return -ENOMEM;
	oo.runtime = seconds;
	t0 = now_ns();
	for (unsigned int i = 0; i < o->queues; i++) {
		g[i].o = &oo;
		g[i].tg = tg;
		g[i].index = i;
		g[i].rnd = 0x9e3779b97f4a7c15ull * (i + 1) + acc->ios;
		g[i].seq_off = acc->ios / o->queues;
		g[i].start = calloc(o->iodepth, sizeof(uint64_t));
		g[i].hist = calloc(HIST_N, sizeof(uint32_t));
		if (!g[i].start || !g[i].hist) {
			rc = -ENOMEM;
			break;
		}
		if (pthread_create(&g[i].tid, NULL, gen_thread, &g[i])) {
			rc = -EAGAIN;
			break;
		}
	}
	for (unsigned int i = 0; i < o->queues; i++) {
		if (g[i].tid)
			pthread_join(g[i].tid, NULL);
		if (g[i].err && !rc)
			rc = g[i].err;
		acc->ios += g[i].ios;
		acc->bytes += g[i].bytes;
		acc->reaps += g[i].reaps;
		acc->cpu_ns += g[i].cpu_ns;
		for (unsigned int b = 0; g[i].hist && b < HIST_N; b++)
			acc->hist[b] += g[i].hist[b];
		free(g[i].start);
		free(g[i].hist);
	}
	t1 = now_ns();
	acc->ns += t1 - t0;
	free(g);
	return rc;
}
