/* SPDX-License-Identifier: MIT */
/* Benchmarks' private pvio-hv (in a temp run dir) and timing helpers. */
#ifndef PVIO_PERF_HV_H
#define PVIO_PERF_HV_H

#include <stdint.h>

/* Start pvio-hv (next to this binary) in a fresh run dir; sets PVIO_RUNDIR. */
int perf_hv_start(void);
void perf_hv_stop(void);
double perf_now(void);

#endif
