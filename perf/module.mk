# Benchmarks: each prints its in-run baseline and the ratio (never a test).
PROGRAMS += pvio-perf-evtchn pvio-perf-ring pvio-perf-store \
	pvio-perf-store-latency pvio-perf-rr
pvio-perf-evtchn_SRCS := perf/evtchn_pingpong.c perf/perf_hv.c
pvio-perf-ring_SRCS := perf/ring_throughput.c perf/perf_hv.c
pvio-perf-store_SRCS := perf/store_bench.c
pvio-perf-store-latency_SRCS := perf/store_latency.c
pvio-perf-rr_SRCS := perf/net_rr.c

# `pvio bench blk` runs inside the toolstack (pvio/bench.h)
pvio_SRCS += perf/blkbench.c perf/blkbench_gen.c perf/blkbench_targets.c \
	perf/blkbench_disk.c
pvio_LDLIBS += -luring
