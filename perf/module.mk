# Store benchmarks (pvio-store vs Xen's xenstored in the same run).
PROGRAMS += pvio-perf-store
pvio-perf-store_SRCS := perf/store_bench.c
