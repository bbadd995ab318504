/* SPDX-License-Identifier: MIT */
/*
 * Requests/s through a one-page blkif ring (32 slots) with Xen's
 * notification suppression, between two process domains (ring page granted
 * and mapped, pvio event channel), against the same ring loop between two
 * threads of one process (plain memory, eventfds) in the same run.
 *
 *   pvio-perf-ring [REQUESTS]
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pvio/blkif.h"
#include "pvio/libpvio.h"
#include "perf_hv.h"

/* How a side notifies its peer and sleeps until notified. */
struct chan {
	int (*notify)(struct chan *c);
	int (*wait)(struct chan *c);
	struct pvio_hv *hv;
	pvio_evtchn_port_t port;
	int tx, rx;		/* baseline eventfds */
	uint64_t notifies, waits;
};

static int ev_notify(struct chan *c)
{
	uint64_t v = 1;

	return write(c->tx, &v, 8) == 8 ? 0 : -1;
}

static int ev_wait(struct chan *c)
{
	uint64_t v;

	return read(c->rx, &v, 8) == 8 ? 0 : -1;
}

static int pv_notify(struct chan *c)
{
	return pvio_evtchn_notify(c->hv, c->port);
}

static int pv_wait(struct chan *c)
{
	if (pvio_evtchn_wait(c->hv, c->port, 10000) != 1)
		return -1;
	pvio_evtchn_ack(c->hv, c->port);
	return 0;
}

static int front_loop(struct pvio_sring_hdr *s, uint64_t n, struct chan *c)
{
	struct pvio_front_ring f;
	uint64_t sent = 0, done = 0;

	pvio_front_ring_init(&f, s, blkif_ring_ents(PVIO_PAGE_SIZE));
	while (done < n) {
		bool queued = false;
		uint32_t rp;

		while (sent < n && !pvio_front_full(&f)) {
			union blkif_request_any *rq = blkif_front_req(&f, f.req_prod_pvt++);

			rq->rw.operation = BLKIF_OP_READ;
			rq->rw.nr_segments = 0;
			rq->rw.id = sent++;
			queued = true;
		}
		if (queued && pvio_front_push(&f)) {
			c->notifies++;
			c->notify(c);
		}
		rp = PVIO_READ_ONCE(f.sring->rsp_prod);
		PVIO_RMB();	/* responses after the index that covers them */
		if (!pvio_front_rsp_prod_ok(&f, rp))
			return -1;
		while (f.rsp_cons != rp) {
			struct blkif_response *r = blkif_front_rsp(&f, f.rsp_cons++);

			if (r->id != done++)
				return -1;
		}
		if (done == n)
			break;
		if (sent < n && !pvio_front_full(&f))
			continue;
		if (!pvio_front_final_check(&f)) {
			c->waits++;
			if (c->wait(c) < 0)
				return -1;
		}
	}
	return 0;
}

static int back_loop(struct pvio_sring_hdr *s, uint64_t n, struct chan *c)
{
	struct pvio_back_ring b;
	uint64_t handled = 0;

	pvio_back_ring_init(&b, s, blkif_ring_ents(PVIO_PAGE_SIZE));
	while (handled < n) {
		uint32_t rp = PVIO_READ_ONCE(b.sring->req_prod);

		PVIO_RMB();	/* requests after the index that covers them */
		if (!pvio_back_req_prod_ok(&b, rp))
			return -1;
		while (b.req_cons != rp) {
			union blkif_request_any rq = *blkif_back_req(&b, b.req_cons++);
			struct blkif_response *r = blkif_back_rsp(&b, b.rsp_prod_pvt++);

			r->id = rq.rw.id;
			r->operation = rq.rw.operation;
			r->status = BLKIF_RSP_OKAY;
			handled++;
		}
		if (pvio_back_push(&b)) {
			c->notifies++;
			c->notify(c);
		}
		if (handled == n)
			break;
		if (!pvio_back_final_check(&b)) {
			c->waits++;
			if (c->wait(c) < 0)
				return -1;
		}
	}
	return 0;
}

struct thr {
	struct pvio_sring_hdr *s;
	uint64_t n;
	struct chan c;
	int ret;
};

static void *back_thread(void *arg)
{
	struct thr *t = arg;

	t->ret = back_loop(t->s, t->n, &t->c);
	return NULL;
}

static double baseline(uint64_t n)
{
	struct pvio_sring_hdr *s = aligned_alloc(PVIO_PAGE_SIZE, PVIO_PAGE_SIZE);
	int to_back = eventfd(0, 0), to_front = eventfd(0, 0);
	struct chan fc = { .notify = ev_notify, .wait = ev_wait, .tx = to_back, .rx = to_front };
	struct thr bt = { .s = s, .n = n,
			  .c = { .notify = ev_notify, .wait = ev_wait, .tx = to_front, .rx = to_back } };
	pthread_t th;
	double t0, t;

	memset(s, 0, PVIO_PAGE_SIZE);
	pvio_sring_init(s);
	t0 = perf_now();
	pthread_create(&th, NULL, back_thread, &bt);
	if (front_loop(s, n, &fc) < 0) {
		fprintf(stderr, "baseline ring broke\n");
		exit(1);
	}
	pthread_join(th, NULL);
	t = perf_now() - t0;
	printf("  baseline: %llu notifies, %llu waits (front); %llu/%llu (back)\n",
	       (unsigned long long)fc.notifies, (unsigned long long)fc.waits,
	       (unsigned long long)bt.c.notifies, (unsigned long long)bt.c.waits);
	free(s);
	return (double)n / t;
}

static void die(const char *what)
{
	fprintf(stderr, "pvio-perf-ring: %s failed\n", what);
	perf_hv_stop();
	exit(1);
}

static double pvio(uint64_t n)
{
	int c2p[2], p2c[2], st;
	struct pvio_dom *a;
	struct pvio_hv *ha;
	pvio_domid_t ida, idb;
	pvio_grant_ref_t ref;
	pvio_evtchn_port_t port;
	struct pvio_sring_hdr *s;
	struct chan fc = { .notify = pv_notify, .wait = pv_wait };
	double t0, t;
	pid_t pid;

	if (pipe(c2p) || pipe(p2c))
		die("pipe");
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		/* the backend: domain B maps the ring A granted it */
		struct pvio_dom *b;
		struct chan bc = { .notify = pv_notify, .wait = pv_wait };
		struct pvio_gnt_map m = { 0 };
		char ok = 1;

		if (pvio_dom_create_self(NULL, "perf-ring-b", 4u << 20, &b) < 0)
			_exit(1);
		bc.hv = pvio_dom_hv(b);
		idb = pvio_dom_id(b);
		if (write(c2p[1], &idb, sizeof(idb)) < 0 ||
		    read(p2c[0], &ida, sizeof(ida)) < 0 ||
		    read(p2c[0], &ref, sizeof(ref)) < 0 ||
		    read(p2c[0], &port, sizeof(port)) < 0)
			_exit(1);
		m.dom = ida;
		m.ref = ref;
		if (pvio_gnttab_map(bc.hv, &m, 1) < 0 || m.status != GNTST_okay ||
		    pvio_evtchn_bind_interdomain(bc.hv, ida, port, &bc.port) < 0)
			_exit(1);
		if (write(c2p[1], &ok, 1) < 0)
			_exit(1);
		if (back_loop(m.addr, n, &bc) < 0)
			_exit(2);
		printf("  pvio:     %llu notifies, %llu waits (back)\n",
		       (unsigned long long)bc.notifies, (unsigned long long)bc.waits);
		fflush(stdout);
		pvio_gnttab_unmap(bc.hv, &m, 1);
		pvio_dom_detach(b);
		_exit(0);
	}
	if (pvio_dom_create_self(NULL, "perf-ring-a", 4u << 20, &a) < 0)
		die("create domain");
	ha = pvio_dom_hv(a);
	ida = pvio_dom_id(a);
	s = pvio_dom_alloc_pages(a, 1);
	if (!s || read(c2p[0], &idb, sizeof(idb)) != sizeof(idb))
		die("peer start");
	pvio_sring_init(s);
	if (pvio_gnttab_grant(a, idb, pvio_dom_gfn(a, s), false, &ref) < 0 ||
	    pvio_evtchn_alloc_unbound(ha, idb, &port) < 0)
		die("grant/alloc");
	fc.hv = ha;
	fc.port = port;
	{
		char ok;

		if (write(p2c[1], &ida, sizeof(ida)) < 0 ||
		    write(p2c[1], &ref, sizeof(ref)) < 0 ||
		    write(p2c[1], &port, sizeof(port)) < 0 ||
		    read(c2p[0], &ok, 1) != 1)
			die("peer bind");
	}
	t0 = perf_now();
	if (front_loop(s, n, &fc) < 0)
		die("pvio ring");
	t = perf_now() - t0;
	waitpid(pid, &st, 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		die("backend domain");
	printf("  pvio:     %llu notifies, %llu waits (front)\n",
	       (unsigned long long)fc.notifies, (unsigned long long)fc.waits);
	pvio_dom_detach(a);
	return (double)n / t;
}

int main(int argc, char **argv)
{
	uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 5000000;
	double base, pv;

	if (n == 0) {
		fprintf(stderr, "usage: pvio-perf-ring [REQUESTS]\n");
		return 2;
	}
	if (perf_hv_start() < 0)
		die("start pvio-hv");
	printf("blkif ring (%u slots), %llu requests\n", blkif_ring_ents(PVIO_PAGE_SIZE),
	       (unsigned long long)n);
	fflush(stdout);
	base = baseline(n);
	pv = pvio(n);
	perf_hv_stop();
	printf("  baseline, two threads of one process : %12.0f req/s\n", base);
	printf("  pvio, two process domains            : %12.0f req/s\n", pv);
	printf("  ratio pvio/baseline                  : %12.2f\n", pv / base);
	return 0;
}
