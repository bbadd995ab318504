/* SPDX-License-Identifier: MIT */
/*
 * Event-channel round-trip latency between two process domains (two
 * processes), against the baseline of a plain eventfd ping-pong between
 * two processes measured in the same run. Prints both and the ratio.
 *
 *   pvio-perf-evtchn [ROUNDS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pvio/libpvio.h"
#include "perf_hv.h"

static void die(const char *what, int err)
{
	fprintf(stderr, "pvio-perf-evtchn: %s: %s\n", what, strerror(err < 0 ? -err : err));
	perf_hv_stop();
	exit(1);
}

static double baseline(unsigned int rounds)
{
	int ping = eventfd(0, 0), pong = eventfd(0, 0);
	uint64_t v = 1;
	double t0, t;
	pid_t pid;

	if (ping < 0 || pong < 0)
		die("eventfd", -1);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		for (unsigned int i = 0; i < rounds; i++) {
			if (read(ping, &v, 8) != 8 || write(pong, &v, 8) != 8)
				_exit(1);
		}
		_exit(0);
	}
	t0 = perf_now();
	for (unsigned int i = 0; i < rounds; i++) {
		if (write(ping, &v, 8) != 8 || read(pong, &v, 8) != 8)
			die("eventfd ping-pong", -1);
	}
	t = perf_now() - t0;
	waitpid(pid, NULL, 0);
	close(ping);
	close(pong);
	return t / rounds;
}

static double pvio(unsigned int rounds)
{
	int c2p[2], p2c[2], ret;
	struct pvio_dom *a;
	pvio_domid_t ida, idb;
	pvio_evtchn_port_t port, bport;
	struct pvio_hv *ha;
	double t0, t;
	pid_t pid;

	if (pipe(c2p) || pipe(p2c))
		die("pipe", -1);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		struct pvio_dom *b;
		struct pvio_hv *hb;

		if (pvio_dom_create_self(NULL, "perf-b", 4u << 20, &b) < 0)
			_exit(1);
		hb = pvio_dom_hv(b);
		idb = pvio_dom_id(b);
		if (write(c2p[1], &idb, sizeof(idb)) < 0 ||
		    read(p2c[0], &ida, sizeof(ida)) < 0 ||
		    read(p2c[0], &port, sizeof(port)) < 0 ||
		    pvio_evtchn_bind_interdomain(hb, ida, port, &bport) < 0 ||
		    write(c2p[1], &bport, sizeof(bport)) < 0)
			_exit(1);
		for (unsigned int i = 0; i < rounds; i++) {
			if (pvio_evtchn_wait(hb, bport, -1) != 1)
				_exit(1);
			pvio_evtchn_ack(hb, bport);
			pvio_evtchn_notify(hb, bport);
		}
		pvio_dom_detach(b);
		_exit(0);
	}
	ret = pvio_dom_create_self(NULL, "perf-a", 4u << 20, &a);
	if (ret < 0)
		die("create domain", ret);
	ha = pvio_dom_hv(a);
	ida = pvio_dom_id(a);
	if (read(c2p[0], &idb, sizeof(idb)) != sizeof(idb))
		die("peer start", -1);
	ret = pvio_evtchn_alloc_unbound(ha, idb, &port);
	if (ret < 0)
		die("alloc_unbound", ret);
	if (write(p2c[1], &ida, sizeof(ida)) < 0 || write(p2c[1], &port, sizeof(port)) < 0 ||
	    read(c2p[0], &bport, sizeof(bport)) != sizeof(bport))
		die("peer bind", -1);
	/* first round trips fetch fds and fault pages in: not measured */
	for (unsigned int i = 0; i < 100 && i < rounds; i++) {
		pvio_evtchn_notify(ha, port);
		pvio_evtchn_wait(ha, port, -1);
		pvio_evtchn_ack(ha, port);
	}
	t0 = perf_now();
	for (unsigned int i = 100; i < rounds; i++) {
		pvio_evtchn_notify(ha, port);
		if (pvio_evtchn_wait(ha, port, 5000) != 1)
			die("lost event", -1);
		pvio_evtchn_ack(ha, port);
	}
	t = perf_now() - t0;
	waitpid(pid, NULL, 0);
	pvio_dom_detach(a);
	return t / (rounds - 100);
}

int main(int argc, char **argv)
{
	unsigned int rounds = argc > 1 ? (unsigned int)atoi(argv[1]) : 200000;
	double base, pv;
	int ret;

	if (rounds <= 100) {
		fprintf(stderr, "usage: pvio-perf-evtchn [ROUNDS > 100]\n");
		return 2;
	}
	ret = perf_hv_start();
	if (ret < 0)
		die("start pvio-hv", ret);
	base = baseline(rounds);
	pv = pvio(rounds);
	perf_hv_stop();
	printf("evtchn round trip, %u rounds, two processes\n", rounds);
	printf("  baseline eventfd ping-pong : %8.2f us\n", base * 1e6);
	printf("  pvio event channel         : %8.2f us\n", pv * 1e6);
	printf("  ratio pvio/baseline        : %8.2f\n", pv / base);
	return 0;
}
