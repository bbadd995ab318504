/* SPDX-License-Identifier: MIT */
/* hv integration checks: hostile clients and a random request storm. */
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

int test_garbage(void)
{
	struct pvio_hv *good;
	uint32_t ver;
	struct {
		struct hv_msg_hdr h;
		uint8_t p[64];
	} m;
	static uint8_t big[100000];
	int fd;

	MUST(pvio_hv_open(NULL, &good) == 0, "open");
#define STILL_SERVING() CHECK(pvio_hv_version(good, &ver) == 0 && ver == 0x10000, \
			      "good client stopped working")
	fd = raw_connect();
	CHECK(raw_call(fd, "abc", 3) == 1000, "short packet not cut off");
	close(fd);
	STILL_SERVING();

	fd = raw_connect();
	memset(&m, 0, sizeof(m));
	m.h.op = 9999;
	CHECK(raw_call(fd, &m, sizeof(m.h)) == 1000, "unknown op not cut off");
	close(fd);
	STILL_SERVING();

	fd = raw_connect();
	m.h.op = HV_OP_VERSION;
	m.h.len = 1000;		/* lies about its length */
	CHECK(raw_call(fd, &m, sizeof(m.h) + 8) == 1000, "length lie not cut off");
	close(fd);
	STILL_SERVING();

	fd = raw_connect();
	memset(big, 0x41, sizeof(big));
	CHECK(raw_call(fd, big, sizeof(big)) == 1000, "oversized packet not cut off");
	close(fd);
	STILL_SERVING();

	/* well-framed but wrong: an error reply, and the connection lives */
	fd = raw_connect();
	memset(&m, 0, sizeof(m));
	m.h.op = HV_OP_DOMAIN_INFO;
	CHECK(raw_call(fd, &m, sizeof(m.h)) == -EINVAL, "info without argument");
	m.h.op = HV_OP_GNTTAB_MAP;
	m.h.len = 5;
	CHECK(raw_call(fd, &m, sizeof(m.h) + 5) == -EINVAL, "map op of 5 bytes");
	m.h.op = HV_OP_GNTTAB_COPY;
	m.h.len = 8;
	memset(m.p, 0xff, 8);
	CHECK(raw_call(fd, &m, sizeof(m.h) + 8) == -EINVAL, "copy claiming 2^32 ops");
	m.h.op = HV_OP_GNTTAB_UNMAP;
	m.h.len = 8;
	memset(m.p, 0xff, 8);
	CHECK(raw_call(fd, &m, sizeof(m.h) + 8) == 0, "unmap of a forged handle");
	m.h.op = HV_OP_EVTCHN_CLOSE;
	m.h.len = 8;
	CHECK(raw_call(fd, &m, sizeof(m.h) + 8) == -EINVAL, "close of a forged port");
	m.h.op = HV_OP_GNTTAB_SETUP;
	m.h.len = 8;
	CHECK(raw_call(fd, &m, sizeof(m.h) + 8) == -EPERM, "dom0 setup");
	m.h.op = HV_OP_GNTTAB_LOCAL;
	m.h.len = 0;
	CHECK(raw_call(fd, &m, sizeof(m.h)) == -EINVAL, "local tables, no domain");
	m.h.len = 8;
	memset(m.p, 0xff, 8);
	CHECK(raw_call(fd, &m, sizeof(m.h) + 8) == -EINVAL, "local tables of domain 2^32-1");
	memset(m.p, 0, 8);
	m.p[0] = 0xef;
	m.p[1] = 0x7f;
	CHECK(raw_call(fd, &m, sizeof(m.h) + 8) == -ESRCH, "local tables of no domain");
	m.p[0] = m.p[1] = 0;
	CHECK(raw_call(fd, &m, sizeof(m.h) + 8) == -ESRCH, "local tables of dom0");
	m.h.op = HV_OP_ATTACH;
	m.h.len = 8;
	memset(m.p, 0, 8);
	m.p[0] = 1;
	CHECK(raw_call(fd, &m, sizeof(m.h) + 8) == -EINVAL, "attach without fd");
	m.h.op = HV_OP_VERSION;
	m.h.len = 0;
	CHECK(raw_call(fd, &m, sizeof(m.h)) == 0x10000, "same connection still served");
	close(fd);
	STILL_SERVING();

	/* a client that sends requests and hangs up without reading replies */
	for (int i = 0; i < 50; i++) {
		fd = raw_connect();
		memset(&m, 0, sizeof(m));
		m.h.op = HV_OP_DOMAIN_LIST;
		if (send(fd, &m, sizeof(m.h), MSG_NOSIGNAL) < 0)
			failures++;
		m.h.op = HV_OP_EVTCHN_ALLOC_UNBOUND;
		m.h.len = 8;
		if (send(fd, &m, sizeof(m.h) + 8, MSG_NOSIGNAL) < 0)
			failures++;
		close(fd);
	}
	STILL_SERVING();
	{
		struct pvio_hv_stats st;

		/*
		 * hv sees the requests and hangups asynchronously, in no set
		 * order: a count of 0 can come between one client's hangup
		 * and the next one's allocation. Wait until it stays at 0.
		 */
		for (int i = 0, zero = 0; i < 300 && zero < 30; i++) {
			if (pvio_hv_stats(good, &st) == 0 && st.nr_ports == 0)
				zero++;
			else
				zero = 0;
			usleep(10000);
		}
		CHECK(pvio_hv_stats(good, &st) == 0 && st.nr_ports == 0,
		      "ports of vanished clients left: %u", st.nr_ports);
	}

	/* a client piling up requests without reading a reply is cut off */
	{
		struct timeval tv = { 0, 200000 };
		int sent = 0, got = 0;
		char rb[4096];

		fd = raw_connect();
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		memset(&m, 0, sizeof(m));
		m.h.op = HV_OP_DOMAIN_LIST;
		for (int i = 0; i < 5000; i++, sent++)
			if (send(fd, &m, sizeof(m.h), MSG_NOSIGNAL) < 0)
				break;
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		while (recv(fd, rb, sizeof(rb), 0) > 0)
			got++;
		CHECK(got < sent, "flooding client was never cut off (%d of %d answered)",
		      got, sent);
		close(fd);
		STILL_SERVING();
	}

	/* a domU cannot use dom0 operations, nor become someone else */
	{
		struct pvio_dom *b = new_dom("gx");
		struct pvio_hv *hb = pvio_dom_hv(b);
		struct pvio_domain_config cfg = { .type = PVIO_DOMTYPE_PROCESS,
						  .vcpus = 1, .mem_bytes = 1 << 20 };
		pvio_domid_t id;
		void *reg;

		strcpy(cfg.name, "sneaky");
		CHECK(pvio_domain_create(hb, &cfg, &id) == -EPERM, "domU creates");
		CHECK(pvio_domain_destroy(hb, 0) == -EPERM, "domU destroys dom0");
		CHECK(pvio_domain_map_platform(hb, pvio_dom_id(b), &reg) == -EPERM,
		      "domU maps a platform region");
		{
			uint32_t port = 7;

			CHECK(pvio_domain_import(hb, pvio_dom_id(b), NULL, 0,
						 &port, 1) == -EPERM,
			      "domU imports ports");
		}
		{
			struct hv_port_info *v = NULL;
			uint32_t n = 0, sp = 0;

			CHECK(pvio_domain_ports(hb, pvio_dom_id(b), &v, &n,
						&sp) == -EPERM,
			      "domU lists a domain's ports");
			free(v);
			CHECK(pvio_domain_suspend_ctl(hb, pvio_dom_id(b),
						      PVIO_SUSPEND_ADOPT) == -EPERM,
			      "domU has hv take a domain over");
		}
		pvio_dom_detach(b);
	}
	/*
	 * An import (a migration's kept connections) only into a VM that came
	 * in paused: never into a running or process domain, never a lie
	 * about its sizes, and nothing of a refused one stays.
	 */
	{
		struct pvio_dom *b = new_dom("imp");
		struct hv_import_arg a = { .domid = pvio_dom_id(b) };
		struct {
			struct hv_msg_hdr h;
			struct hv_import_arg a;
			uint32_t port[2];
		} im;
		uint64_t gfn = 0;
		uint32_t port = 9;
		struct pvio_evtchn_status st = { .dom = pvio_dom_id(b),
						 .port = 9 };

		CHECK(pvio_domain_import(good, pvio_dom_id(b), &gfn, 1, &port, 1) == -EBUSY,
		      "import into a process domain");
		CHECK(pvio_evtchn_status(good, &st) == 0 &&
		      st.state == EVTCHNSTAT_closed,
		      "a refused import left port 9 open (state %u)", st.state);
		CHECK(pvio_domain_import(good, 0x7fef, NULL, 0, &port, 1) == -ESRCH,
		      "import into no domain");
		CHECK(pvio_domain_import(good, pvio_dom_id(b), NULL, 0, NULL,
					 HV_IMPORT_MAX_PORTS + 1) == -EINVAL,
		      "import of too many ports");
		fd = raw_connect();
		memset(&im, 0, sizeof(im));
		im.h.op = HV_OP_DOMAIN_IMPORT;
		im.a = a;
		im.a.nr_ports = 3;	/* says 3, carries 2 */
		im.h.len = sizeof(im.a) + sizeof(im.port);
		CHECK(raw_call(fd, &im, sizeof(im)) == -EINVAL,
		      "import whose sizes lie");
		im.a.nr_ports = 0;
		im.a.nr_frames = 0xffffffffu;
		CHECK(raw_call(fd, &im, sizeof(im)) == -EINVAL,
		      "import of 2^32 frames");
		im.h.len = 4;
		CHECK(raw_call(fd, &im, sizeof(im.h) + 4) == -EINVAL,
		      "import without its header");
		close(fd);
		/* the list of ports a migration carries: dom0's, exact */
		{
			struct hv_port_info *v = NULL;
			uint32_t n = 0, sp = 1, p2 = 0, i;
			int ok;

			/* a port the domain offers dom0 is in the list, as it is */
			CHECK(pvio_evtchn_alloc_unbound(pvio_dom_hv(b), 0, &p2) == 0,
			      "domU port for the list");
			ok = pvio_domain_ports(good, pvio_dom_id(b), &v, &n, &sp);
			for (i = 0; ok == 0 && i < n && v[i].port != p2; i++)
				;
			CHECK(ok == 0 && sp == 0 && i < n &&
			      v[i].state == EVTCHNSTAT_unbound && v[i].remote_dom == 0,
			      "ports of a process domain: %d, %u listed", ok, n);
			free(v);
			v = NULL;
			CHECK(pvio_domain_ports(good, 0x7fef, &v, &n, &sp) == -ESRCH,
			      "ports of no domain");
			CHECK(pvio_domain_ports(good, 0, &v, &n, &sp) == -ESRCH,
			      "ports of dom0");
			pvio_evtchn_close(pvio_dom_hv(b), p2);
		}
		/* ADOPT only for a VM that came in paused */
		CHECK(pvio_domain_suspend_ctl(good, pvio_dom_id(b),
					      PVIO_SUSPEND_ADOPT) != 0,
		      "a process domain taken over as a moved VM");
		pvio_dom_detach(b);
	}
	/* creation is validated */
	{
		struct pvio_domain_config cfg = { .type = PVIO_DOMTYPE_PROCESS,
						  .vcpus = 1, .mem_bytes = 1 << 20 };
		pvio_domid_t id, id2;

		CHECK(pvio_domain_create(good, &cfg, &id) == -EINVAL, "empty name");
		snprintf(cfg.name, sizeof(cfg.name), "val-%s", uniq);
		cfg.mem_bytes = 12345;
		CHECK(pvio_domain_create(good, &cfg, &id) == -EINVAL, "odd memory size");
		cfg.mem_bytes = 1 << 20;
		cfg.vcpus = 1000;
		CHECK(pvio_domain_create(good, &cfg, &id) == -EINVAL, "1000 vcpus");
		cfg.vcpus = 1;
		memset(cfg.kernel, 'k', sizeof(cfg.kernel));
		CHECK(pvio_domain_create(good, &cfg, &id) == -EINVAL, "unterminated kernel");
		memset(cfg.kernel, 0, sizeof(cfg.kernel));
		CHECK(pvio_domain_create(good, &cfg, &id) == 0, "valid create");
		CHECK(pvio_domain_create(good, &cfg, &id2) == -EEXIST, "duplicate name");
		CHECK(pvio_domain_destroy(good, id) == 0, "destroy unattached");
		CHECK(pvio_domain_destroy(good, id) == -ESRCH, "destroy twice");
	}
	STILL_SERVING();
	pvio_hv_close(good);
	return failures ? 1 : 0;
}

/* A process domain that stays until killed: for CLI tests. */

/* ---- a storm of random requests, well framed but otherwise anything ---- */

static uint32_t rnd_state = 12345;

static uint32_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 17;
	rnd_state ^= rnd_state << 5;
	return rnd_state;
}

/* One random request on @fd; false if hv hung up on us. */
static bool storm_one(int fd, bool dom0)
{
	static uint8_t pkt[HV_MSG_MAX + 64], rep[HV_MSG_MAX];
	struct hv_msg_hdr *h = (struct hv_msg_hdr *)pkt;
	union {
		char b[CMSG_SPACE(sizeof(int) * HV_MSG_MAX_FDS)];
		struct cmsghdr a;
	} cm;
	struct iovec iov = { .iov_base = rep, .iov_len = sizeof(rep) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = cm.b, .msg_controllen = sizeof(cm.b) };
	uint32_t len = rnd() % 4 ? rnd() % 96 : rnd() % (HV_PAYLOAD_MAX + 1);
	uint32_t op;
	ssize_t n;

	do {
		op = 1 + rnd() % (HV_OP_COUNT - 1);
		/* dom0 could stop or signal this very process: not those */
	} while (dom0 && (op == HV_OP_DOMAIN_PAUSE || op == HV_OP_DOMAIN_SHUTDOWN ||
			  op == HV_OP_DOMAIN_DESTROY || op == HV_OP_ATTACH));
	h->op = op;
	h->seq = rnd();
	h->ret = 0;
	h->len = len;
	for (uint32_t i = 0; i < len; i++)
		pkt[sizeof(*h) + i] = (uint8_t)rnd();
	/* small numbers reach deeper: domids, ports, refs, counts */
	for (uint32_t i = 0; i + 4 <= len && i < 32; i += 4)
		if (rnd() % 2) {
			uint32_t v = rnd() % 12;

			memcpy(pkt + sizeof(*h) + i, &v, 4);
		}
	if (send(fd, pkt, sizeof(*h) + len, MSG_NOSIGNAL) < 0)
		return false;
	n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); n > 0 && c; c = CMSG_NXTHDR(&msg, c))
		for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
			int f;

			memcpy(&f, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			close(f);
		}
	return n > 0;
}

int test_storm(unsigned int rounds)
{
	struct pvio_dom *a = new_dom("sa"), *b = new_dom("sb");
	struct pvio_hv *good;
	uint32_t ver;
	unsigned int cut = 0;
	int fd = raw_connect();
	bool b_alive = true;

	if (getenv("HV_STORM_SEED"))
		rnd_state = (uint32_t)strtoul(getenv("HV_STORM_SEED"), NULL, 0) | 1;
	printf("storm seed %u\n", rnd_state);
	MUST(pvio_hv_open(NULL, &good) == 0, "open");
	/* A grants B and dom0 something to find */
	for (int i = 0; i < 4; i++) {
		pvio_grant_ref_t r;
		void *pg = pvio_dom_alloc_pages(a, 1);

		pvio_gnttab_grant(a, pvio_dom_id(b), pvio_dom_gfn(a, pg), i & 1, &r);
		pvio_gnttab_grant(a, 0, pvio_dom_gfn(a, pg), i & 1, &r);
	}
	for (unsigned int i = 0; i < rounds; i++) {
		if (!storm_one(fd, true)) {
			close(fd);
			fd = raw_connect();
			cut++;
		}
		/* B is a domain: its connection carries the same storm */
		if (b_alive && !storm_one(pvio_dom_hv(b)->fd, false))
			b_alive = false;
		if (i % 1000 == 0)
			CHECK(pvio_hv_version(good, &ver) == 0, "hv stopped serving at %u", i);
	}
	printf("storm: %u requests each, dom0 raw connection cut %u times, domain %s\n",
	       rounds, cut, b_alive ? "kept" : "cut off");
	CHECK(pvio_hv_version(good, &ver) == 0 && ver == 0x10000, "hv after the storm");
	close(fd);
	pvio_dom_detach(b);
	pvio_dom_detach(a);
	pvio_hv_close(good);
	return failures ? 1 : 0;
}

