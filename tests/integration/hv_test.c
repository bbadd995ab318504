/* SPDX-License-Identifier: MIT */
/*
 * Integration checks of pvio-hv through libpvio, against a real pvio-hv
 * (the calling script starts it on $PVIO_RUNDIR). One sub-command per
 * scenario: grants, evtchn, cleanup, garbage. Exit 0 pass, 1 fail.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pvio/libpvio.h"

static int failures;

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

static char uniq[32];

static struct pvio_dom *new_dom(const char *tag)
{
	struct pvio_dom *d;
	char name[64];
	int ret;

	snprintf(name, sizeof(name), "%s-%s", tag, uniq);
	ret = pvio_dom_create_self(NULL, name, 4u << 20, &d);
	MUST(ret == 0, "create_self %s: %s", name, strerror(-ret));
	return d;
}

static struct pvio_hv_stats stats(struct pvio_hv *hv)
{
	struct pvio_hv_stats st;
	int ret = pvio_hv_stats(hv, &st);

	MUST(ret == 0, "stats: %s", strerror(-ret));
	return st;
}

static int16_t map1(struct pvio_hv *hv, pvio_domid_t dom, pvio_grant_ref_t ref,
		    bool ro, struct pvio_gnt_map *m)
{
	memset(m, 0, sizeof(*m));
	m->dom = dom;
	m->ref = ref;
	m->readonly = ro;
	MUST(pvio_gnttab_map(hv, m, 1) == 0, "map call");
	return m->status;
}

static int16_t unmap1(struct pvio_hv *hv, struct pvio_gnt_map *m)
{
	MUST(pvio_gnttab_unmap(hv, m, 1) == 0, "unmap call");
	return m->status;
}

static int test_grants(void)
{
	struct pvio_dom *a = new_dom("ga"), *b = new_dom("gb");
	struct pvio_hv *hb = pvio_dom_hv(b), *h0;
	pvio_domid_t ida = pvio_dom_id(a), idb = pvio_dom_id(b);
	uint8_t *page = pvio_dom_alloc_pages(a, 1), *page2 = pvio_dom_alloc_pages(a, 1);
	struct pvio_gnt_map m, m2, m0;
	pvio_grant_ref_t ref, ref_ro, ref0;
	struct pvio_hv_stats st0;
	int ret;

	MUST(pvio_hv_open(NULL, &h0) == 0, "dom0 open");
	MUST(page && page2, "alloc pages");
	st0 = stats(h0);
	memset(page, 0x5a, 4096);
	MUST(pvio_gnttab_grant(a, idb, pvio_dom_gfn(a, page), false, &ref) == 0, "grant");
	CHECK(ref >= 8, "reserved ref handed out: %u", ref);

	/* B maps A's page writable, reads and writes through it */
	CHECK(map1(hb, ida, ref, false, &m) == GNTST_okay, "map: %d", m.status);
	MUST(m.addr, "no address");
	CHECK(((uint8_t *)m.addr)[17] == 0x5a, "content through map");
	((uint8_t *)m.addr)[100] = 0xc3;
	CHECK(page[100] == 0xc3, "write through map not seen by granter");
	CHECK(pvio_gnttab_flags(a, ref) == (GTF_permit_access | GTF_reading | GTF_writing),
	      "flags while mapped: %#x", pvio_gnttab_flags(a, ref));
	CHECK(stats(h0).nr_maps == st0.nr_maps + 1, "nr_maps");

	/* end access while mapped is refused and leaves the entry alone */
	CHECK(pvio_gnttab_end(a, ref) == -EBUSY, "end while mapped");

	/* a second mapping: the flags stay until the last one goes */
	CHECK(map1(hb, ida, ref, true, &m2) == GNTST_okay, "second map: %d", m2.status);
	CHECK(unmap1(hb, &m) == GNTST_okay, "unmap 1");
	CHECK(pvio_gnttab_flags(a, ref) & GTF_reading, "reading cleared too early");
	CHECK(!(pvio_gnttab_flags(a, ref) & GTF_writing), "writing not cleared");
	CHECK(pvio_gnttab_end(a, ref) == -EBUSY, "end while read-mapped");
	CHECK(unmap1(hb, &m2) == GNTST_okay, "unmap 2");
	CHECK(pvio_gnttab_flags(a, ref) == GTF_permit_access, "flags after unmap: %#x",
	      pvio_gnttab_flags(a, ref));
	CHECK(unmap1(hb, &m2) == GNTST_bad_handle, "double unmap");

	/* revoke after unmap; the ref then maps no more */
	CHECK(pvio_gnttab_end(a, ref) == 0, "end after unmap");
	CHECK(map1(hb, ida, ref, false, &m) == GNTST_general_error, "map ended grant: %d",
	      m.status);
	CHECK(pvio_gnttab_end(a, ref) == -EINVAL, "double end");

	/* refusals, with Xen's status codes */
	MUST(pvio_gnttab_grant(a, idb, pvio_dom_gfn(a, page), true, &ref_ro) == 0, "grant ro");
	CHECK(map1(hb, ida, ref_ro, false, &m) == GNTST_general_error,
	      "write map of read-only grant: %d", m.status);
	CHECK(pvio_gnttab_flags(a, ref_ro) == (GTF_permit_access | GTF_readonly),
	      "refused map left flags %#x", pvio_gnttab_flags(a, ref_ro));
	CHECK(map1(hb, ida, ref_ro, true, &m) == GNTST_okay, "ro map of ro grant");
	CHECK(m.addr && ((uint8_t *)m.addr)[100] == 0xc3, "ro content");
	CHECK(unmap1(hb, &m) == GNTST_okay, "unmap ro");
	CHECK(map1(h0, ida, ref_ro, true, &m) == GNTST_general_error,
	      "dom0 maps a grant made to B: %d", m.status);
	CHECK(map1(hb, ida, 4000, true, &m) == GNTST_general_error,
	      "ungranted ref: %d", m.status);
	CHECK(map1(hb, ida, 1u << 20, true, &m) == GNTST_bad_gntref,
	      "ref out of range: %d", m.status);
	CHECK(map1(hb, ida, 1, true, &m) == GNTST_bad_gntref,
	      "reserved ref by a domU: %d", m.status);
	CHECK(map1(hb, 0x7000, ref_ro, true, &m) == GNTST_bad_domain,
	      "no such domain: %d", m.status);
	CHECK(map1(hb, idb, ref_ro, true, &m) == GNTST_bad_domain,
	      "own grant: %d", m.status);

	/* a grant to dom0: dom0 maps it read-only, and copies both ways */
	MUST(pvio_gnttab_grant(a, 0, pvio_dom_gfn(a, page2), false, &ref0) == 0, "grant 0");
	strcpy((char *)page2, "from A");
	CHECK(map1(h0, ida, ref0, true, &m0) == GNTST_okay, "dom0 ro map: %d", m0.status);
	CHECK(m0.addr && !strcmp(m0.addr, "from A"), "dom0 reads");
	{
		char buf[64] = "dom0 was here";
		struct pvio_gnt_copy c = {
			.dom = ida, .ref = ref0, .offset = 1000, .buf = buf,
			.len = (uint16_t)(strlen(buf) + 1), .to_grant = 1,
		};

		CHECK(pvio_gnttab_copy(h0, &c, 1) == GNTST_okay, "copy to grant: %d", c.status);
		CHECK(!strcmp((char *)page2 + 1000, buf), "copied data");
		memset(buf, 0, sizeof(buf));
		c.to_grant = 0;
		c.offset = 0;
		c.len = 7;
		CHECK(pvio_gnttab_copy(h0, &c, 1) == GNTST_okay, "copy from grant");
		CHECK(!strcmp(buf, "from A"), "copied back: %s", buf);
		c.offset = 4090;
		c.len = 10;
		CHECK(pvio_gnttab_copy(h0, &c, 1) == GNTST_bad_copy_arg, "copy past page");
		c.offset = 0;
		c.ref = ref_ro;
		CHECK(pvio_gnttab_copy(h0, &c, 1) == GNTST_general_error, "copy of B's grant");
		/* the copy left no pin behind: only the ro mapping's bit */
		CHECK(pvio_gnttab_flags(a, ref0) == (GTF_permit_access | GTF_reading),
		      "flags after copies: %#x", pvio_gnttab_flags(a, ref0));
	}
	/* a domain copies through hv */
	{
		char buf[16] = "via hv";
		struct pvio_gnt_copy c[2] = {
			{ .dom = ida, .ref = ref_ro, .offset = 8, .buf = buf, .len = 7, .to_grant = 1 },
			{ .dom = ida, .ref = ref_ro, .offset = 100, .buf = buf, .len = 1 },
		};

		CHECK(pvio_gnttab_copy(hb, c, 2) == GNTST_general_error,
		      "B writes a read-only grant by copy: %d", c[0].status);
		CHECK(c[1].status == GNTST_okay && (uint8_t)buf[0] == 0xc3,
		      "B reads by copy: %d", c[1].status);
	}
	CHECK(unmap1(h0, &m0) == GNTST_okay, "dom0 unmap");
	CHECK(pvio_gnttab_end(a, ref0) == 0, "end after dom0 unmap");
	CHECK(stats(h0).nr_maps == st0.nr_maps, "nr_maps back: %u", stats(h0).nr_maps);

	/* batch: several ops in one round trip, mixed results */
	{
		struct pvio_gnt_map v[3] = {
			{ .dom = ida, .ref = ref_ro, .readonly = 1 },
			{ .dom = ida, .ref = ref_ro, .readonly = 0 },
			{ .dom = ida, .ref = ref_ro, .readonly = 1 },
		};

		CHECK(pvio_gnttab_map(hb, v, 3) == 0, "batch");
		CHECK(v[0].status == 0 && v[1].status == GNTST_general_error &&
		      v[2].status == 0 && v[0].handle != v[2].handle, "batch statuses");
		CHECK(pvio_gnttab_unmap(hb, v, 3) == 0, "batch unmap");
		CHECK(v[0].status == 0 && v[1].status == GNTST_bad_handle &&
		      v[2].status == 0, "batch unmap statuses");
	}
	ret = pvio_gnttab_end(a, ref_ro);
	CHECK(ret == 0, "end ro: %d", ret);
	pvio_dom_detach(b);
	pvio_dom_detach(a);
	pvio_hv_close(h0);
	return failures ? 1 : 0;
}

/* ---- event channels ---- */

static void xwrite(int fd, const void *p, size_t n)
{
	MUST(write(fd, p, n) == (ssize_t)n, "pipe write");
}

static void xread(int fd, void *p, size_t n)
{
	MUST(read(fd, p, n) == (ssize_t)n, "pipe read");
}

/* Duplicate every eventfd this process holds (a peer that cheats). */
static int grab_eventfds(int *out, int max)
{
	char path[64], link[64];
	int n = 0;

	for (int fd = 3; fd < 1024 && n < max; fd++) {
		ssize_t l;

		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		l = readlink(path, link, sizeof(link) - 1);
		if (l <= 0)
			continue;
		link[l] = 0;
		if (strstr(link, "eventfd"))
			out[n++] = dup(fd);
	}
	return n;
}

static int evtchn_child(int rd, int wr, unsigned int rounds)
{
	struct pvio_dom *b = new_dom("eb");
	struct pvio_hv *hb = pvio_dom_hv(b);
	pvio_domid_t idb = pvio_dom_id(b), ida;
	pvio_evtchn_port_t rport, port;
	int stolen[64], nstolen, ret;
	uint64_t one = 1;

	xwrite(wr, &idb, sizeof(idb));
	xread(rd, &ida, sizeof(ida));
	xread(rd, &rport, sizeof(rport));
	ret = pvio_evtchn_bind_interdomain(hb, ida, rport, &port);
	MUST(ret == 0, "bind: %s", strerror(-ret));
	/* a second bind of the same offer is refused */
	CHECK(pvio_evtchn_bind_interdomain(hb, ida, rport, &rport) == -EINVAL,
	      "double bind");
	xwrite(wr, &port, sizeof(port));
	for (unsigned int i = 0; i < rounds; i++) {
		MUST(pvio_evtchn_wait(hb, port, 5000) == 1, "child wait %u", i);
		ret = pvio_evtchn_ack(hb, port);
		MUST(ret == 1, "child ack %u: %d", i, ret);
		MUST(pvio_evtchn_notify(hb, port) == 0, "child notify");
	}
	/* masked: the parent sees nothing until it unmasks */
	xread(rd, &one, sizeof(one));
	CHECK(pvio_evtchn_notify(hb, port) == 0, "notify masked");
	CHECK(pvio_evtchn_notify(hb, port) == 0, "notify masked 2");
	xwrite(wr, &one, sizeof(one));
	/* close, keeping copies of the eventfds to cheat with */
	xread(rd, &one, sizeof(one));
	nstolen = grab_eventfds(stolen, 64);
	CHECK(nstolen >= 2, "found %d eventfds", nstolen);
	CHECK(pvio_evtchn_close(hb, port) == 0, "close");
	CHECK(pvio_evtchn_notify(hb, port) == -EINVAL, "notify after close");
	for (int i = 0; i < nstolen; i++)
		if (write(stolen[i], &one, sizeof(one)) != sizeof(one))
			failures++;
	xwrite(wr, &one, sizeof(one));
	xread(rd, &one, sizeof(one));
	pvio_dom_detach(b);
	return failures ? 1 : 0;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int test_evtchn(unsigned int rounds)
{
	int p2c[2], c2p[2], status, ret;
	pid_t pid;
	struct pvio_dom *a;
	struct pvio_hv *ha;
	pvio_domid_t ida, idb;
	pvio_evtchn_port_t port, bport;
	struct pvio_evtchn_status st;
	uint64_t one = 1, total = 0;
	double t0;

	MUST(pipe(p2c) == 0 && pipe(c2p) == 0, "pipes");
	pid = fork();
	MUST(pid >= 0, "fork");
	if (pid == 0) {
		close(p2c[1]);
		close(c2p[0]);
		_exit(evtchn_child(p2c[0], c2p[1], rounds));
	}
	close(p2c[0]);
	close(c2p[1]);
	a = new_dom("ea");
	ha = pvio_dom_hv(a);
	ida = pvio_dom_id(a);
	xread(c2p[0], &idb, sizeof(idb));
	/* port 0 is never handed out; offer a port to B */
	ret = pvio_evtchn_alloc_unbound(ha, idb, &port);
	MUST(ret == 0, "alloc_unbound: %s", strerror(-ret));
	CHECK(port != 0, "port 0 allocated");
	memset(&st, 0, sizeof(st));
	st.dom = ida;
	st.port = port;
	CHECK(pvio_evtchn_status(ha, &st) == 0 && st.state == EVTCHNSTAT_unbound &&
	      st.remote_dom == idb, "unbound status %u", st.state);
	CHECK(pvio_evtchn_notify(ha, port) == -ENOTCONN, "notify unbound");
	xwrite(p2c[1], &ida, sizeof(ida));
	xwrite(p2c[1], &port, sizeof(port));
	xread(c2p[0], &bport, sizeof(bport));
	CHECK(pvio_evtchn_status(ha, &st) == 0 && st.state == EVTCHNSTAT_interdomain &&
	      st.remote_dom == idb && st.remote_port == bport, "bound status");
	/* a domain may not look at another's ports */
	st.dom = idb;
	CHECK(pvio_evtchn_status(ha, &st) == -EPERM, "status of another domain");
	st.dom = ida;

	t0 = now_s();
	for (unsigned int i = 0; i < rounds; i++) {
		MUST(pvio_evtchn_notify(ha, port) == 0, "notify %u", i);
		MUST(pvio_evtchn_wait(ha, port, 5000) == 1, "parent wait %u", i);
		ret = pvio_evtchn_ack(ha, port);
		MUST(ret == 1, "parent ack %u: %d", i, ret);
		total += (uint64_t)ret;
	}
	printf("%u round trips in %.3f s, %llu events back\n", rounds, now_s() - t0,
	       (unsigned long long)total);
	CHECK(total == rounds, "lost or extra events");

	/* masking holds events until unmask */
	CHECK(pvio_evtchn_mask(ha, port) == 0, "mask");
	xwrite(p2c[1], &one, sizeof(one));
	xread(c2p[0], &one, sizeof(one));
	CHECK(pvio_evtchn_wait(ha, port, 100) == 0, "event while masked");
	CHECK(pvio_evtchn_ack(ha, port) == 0, "ack while masked");
	CHECK(pvio_evtchn_unmask(ha, port) == 0, "unmask");
	CHECK(pvio_evtchn_wait(ha, port, 1000) == 1, "held event after unmask");
	CHECK(pvio_evtchn_ack(ha, port) == 2, "two held events");

	/* the child closes, then writes to every eventfd it had kept */
	xwrite(p2c[1], &one, sizeof(one));
	xread(c2p[0], &one, sizeof(one));
	CHECK(pvio_evtchn_wait(ha, port, 300) == 0, "event after close");
	CHECK(pvio_evtchn_ack(ha, port) == 0, "ack after close");
	CHECK(pvio_evtchn_status(ha, &st) == 0 && st.state == EVTCHNSTAT_unbound &&
	      st.remote_dom == idb, "survivor status %u", st.state);
	xwrite(p2c[1], &one, sizeof(one));
	MUST(waitpid(pid, &status, 0) == pid, "waitpid");
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child failed");
	CHECK(pvio_evtchn_close(ha, port) == 0, "close survivor");
	CHECK(pvio_evtchn_close(ha, port) == -EINVAL, "double close");
	pvio_dom_detach(a);
	return failures ? 1 : 0;
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
	if (!strcmp(argv[1], "evtchn"))
		return test_evtchn(argc > 2 ? (unsigned int)atoi(argv[2]) : 100000);
	fprintf(stderr, "unknown test %s\n", argv[1]);
	return 2;
}
