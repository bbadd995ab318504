/* SPDX-License-Identifier: MIT */
/*
 * Shared helpers of the hv integration checks (build/tests/hv_test): one
 * sub-command per scenario, run against a real pvio-hv on $PVIO_RUNDIR.
 */
#ifndef PVIO_TESTS_HV_TEST_H
#define PVIO_TESTS_HV_TEST_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "pvio/libpvio.h"
#include "pvio/xenbus.h"
#include "pvio/hv_proto.h"
#include "../../libpvio/libpvio_priv.h"

extern int failures;
extern char uniq[32];

#define CHECK(cond, ...) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
		fprintf(stderr, __VA_ARGS__);				\
		fprintf(stderr, "\n");					\
		failures++;						\
	}								\
} while (0)

#define MUST(cond, ...) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "FATAL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
		fprintf(stderr, __VA_ARGS__);				\
		fprintf(stderr, "\n");					\
		exit(1);						\
	}								\
} while (0)


struct pvio_dom *new_dom(const char *tag);
struct pvio_hv_stats stats(struct pvio_hv *hv);
int16_t map1(struct pvio_hv *hv, pvio_domid_t dom, pvio_grant_ref_t ref,
	     bool ro, struct pvio_gnt_map *m);
int16_t unmap1(struct pvio_hv *hv, struct pvio_gnt_map *m);
void xwrite(int fd, const void *p, size_t n);
void xread(int fd, void *p, size_t n);
double now_s(void);
int raw_connect(void);
int raw_call(int fd, const void *p, size_t n);

int test_grants(void);
int test_threads(void);
int test_evtchn(unsigned int rounds);
int test_cleanup(void);
int test_garbage(void);
int test_storm(unsigned int rounds);
int test_release(void);
int test_map_caps(void);
int test_local(void);
int test_port_cap(void);

#endif
