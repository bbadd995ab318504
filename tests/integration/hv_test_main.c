/* SPDX-License-Identifier: MIT */
/* hv integration checks: shared helpers and the sub-command dispatch. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hv_test.h"

int failures;
char uniq[32];

struct pvio_dom *new_dom(const char *tag)
{
	struct pvio_dom *d;
	char name[64];
	int ret;

	snprintf(name, sizeof(name), "%s-%s", tag, uniq);
	ret = pvio_dom_create_self(NULL, name, 4u << 20, &d);
	MUST(ret == 0, "create_self %s: %s", name, strerror(-ret));
	return d;
}

struct pvio_hv_stats stats(struct pvio_hv *hv)
{
	struct pvio_hv_stats st;
	int ret = pvio_hv_stats(hv, &st);

	MUST(ret == 0, "stats: %s", strerror(-ret));
	return st;
}

int16_t map1(struct pvio_hv *hv, pvio_domid_t dom, pvio_grant_ref_t ref,
		    bool ro, struct pvio_gnt_map *m)
{
	memset(m, 0, sizeof(*m));
	m->dom = dom;
	m->ref = ref;
	m->readonly = ro;
	MUST(pvio_gnttab_map(hv, m, 1) == 0, "map call");
	return m->status;
}

int16_t unmap1(struct pvio_hv *hv, struct pvio_gnt_map *m)
{
	MUST(pvio_gnttab_unmap(hv, m, 1) == 0, "unmap call");
	return m->status;
}


void xwrite(int fd, const void *p, size_t n)
{
	MUST(write(fd, p, n) == (ssize_t)n, "pipe write");
}

void xread(int fd, void *p, size_t n)
{
	MUST(read(fd, p, n) == (ssize_t)n, "pipe read");
}

/* Duplicate every eventfd this process holds (a peer that cheats). */

double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}


int raw_connect(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/hv.sock", pvio_rundir(NULL));
	MUST(fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0, "raw connect");
	return fd;
}

/* Send a raw packet; returns the reply's ret, or 1000 if hv hung up. */
int raw_call(int fd, const void *p, size_t n)
{
	uint8_t buf[256];
	struct hv_msg_hdr h;
	struct timeval tv = { 2, 0 };
	ssize_t r;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (send(fd, p, n, MSG_NOSIGNAL) < 0)
		return 1000;
	r = recv(fd, buf, sizeof(buf), 0);
	if (r <= 0)
		return 1000;
	MUST((size_t)r >= sizeof(h), "short reply");
	memcpy(&h, buf, sizeof(h));
	return h.ret;
}


static int hold(const char *name)
{
	struct pvio_dom *d;
	int ret = pvio_dom_create_self(NULL, name, 8u << 20, &d);

	MUST(ret == 0, "create %s: %s", name, strerror(-ret));
	printf("%u\n", pvio_dom_id(d));
	fflush(stdout);
	for (;;)
		pause();
}


int main(int argc, char **argv)
{
	snprintf(uniq, sizeof(uniq), "%d", (int)getpid());
	if (argc < 2) {
		fprintf(stderr, "usage: hv_test grants|evtchn|cleanup|garbage\n");
		return 2;
	}
	if (!strcmp(argv[1], "grants"))
		return test_grants();
	if (!strcmp(argv[1], "hold") && argc > 2)
		return hold(argv[2]);
	if (!strcmp(argv[1], "storm"))
		return test_storm(argc > 2 ? (unsigned int)atoi(argv[2]) : 20000);
	if (!strcmp(argv[1], "threads"))
		return test_threads();
	if (!strcmp(argv[1], "portcap"))
		return test_port_cap();
	if (!strcmp(argv[1], "local"))
		return test_local();
	if (!strcmp(argv[1], "caps"))
		return test_map_caps();
	if (!strcmp(argv[1], "release"))
		return test_release();
	if (!strcmp(argv[1], "cleanup"))
		return test_cleanup();
	if (!strcmp(argv[1], "garbage"))
		return test_garbage();
	if (!strcmp(argv[1], "evtchn"))
		return test_evtchn(argc > 2 ? (unsigned int)atoi(argv[2]) : 100000);
	fprintf(stderr, "unknown test %s\n", argv[1]);
	return 2;
}

