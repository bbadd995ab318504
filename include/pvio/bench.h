/* SPDX-License-Identifier: MIT */
/*
 * Benchmarks built into the `pvio` toolstack: the entry points perf/ offers
 * and tools/ calls (`pvio bench blk`). Scripted benchmarks (perf/bench-KIND)
 * are run by path instead.
 */
#ifndef PVIO_BENCH_H
#define PVIO_BENCH_H

/*
 * `pvio bench blk ARGS`: argv[0] is "blk"; @rundir is the run directory
 * given to the toolstack (NULL: libpvio's default). Returns the exit
 * status.
 */
int blkbench_main(const char *rundir, int argc, char **argv);

#endif /* PVIO_BENCH_H */
