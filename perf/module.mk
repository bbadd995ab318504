# Benchmarks: each prints its in-run baseline and the ratio (never a test).
PROGRAMS += pvio-perf-evtchn pvio-perf-ring
pvio-perf-evtchn_SRCS := perf/evtchn_pingpong.c perf/perf_hv.c
pvio-perf-ring_SRCS := perf/ring_throughput.c perf/perf_hv.c
