/* SPDX-License-Identifier: MIT */
/* hv integration checks: what a dying domain leaves behind, and the store's @releaseDomain. */
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

/* ---- cleanup when a domain dies (kill -9) or is destroyed ---- */

/*
 * A child that becomes domain C: grants a page to @peer, offers a port to
 * it, maps a page @peer granted to it, then waits. With @probe it checks,
 * after the parent's go, that hv has cut it off.
 */
static int victim(int rd, int wr, pvio_domid_t peer, const char *tag, bool probe)
{
	struct pvio_dom *c = new_dom(tag);
	struct pvio_hv *hc = pvio_dom_hv(c);
	pvio_domid_t idc = pvio_dom_id(c);
	void *pg = pvio_dom_alloc_pages(c, 1), *pg0 = pvio_dom_alloc_pages(c, 1);
	pvio_grant_ref_t ref, ref0, aref;
	pvio_evtchn_port_t port;
	struct pvio_gnt_map m;
	uint64_t go;
	uint32_t ver;
	int ret;

	MUST(pvio_gnttab_grant(c, peer, pvio_dom_gfn(c, pg), false, &ref) == 0, "grant");
	MUST(pvio_gnttab_grant(c, 0, pvio_dom_gfn(c, pg0), false, &ref0) == 0, "grant 0");
	MUST(pvio_evtchn_alloc_unbound(hc, peer, &port) == 0, "alloc");
	xwrite(wr, &idc, sizeof(idc));
	xwrite(wr, &ref, sizeof(ref));
	xwrite(wr, &ref0, sizeof(ref0));
	xwrite(wr, &port, sizeof(port));
	xread(rd, &aref, sizeof(aref));
	MUST(map1(hc, peer, aref, false, &m) == GNTST_okay, "victim map: %d", m.status);
	xwrite(wr, &aref, sizeof(aref));
	xread(rd, &go, sizeof(go));
	if (!probe)
		pause();
	ret = pvio_hv_version(hc, &ver);
	return ret < 0 ? 0 : 1;		/* must have been cut off */
}

static int test_cleanup_one(struct pvio_hv *h0, struct pvio_dom *a, bool destroy)
{
	struct pvio_hv *ha = pvio_dom_hv(a);
	pvio_domid_t ida = pvio_dom_id(a), idc;
	int p2c[2], c2p[2], status;
	pvio_grant_ref_t ref, ref0, aref;
	pvio_evtchn_port_t cport, port;
	struct pvio_hv_stats before, mid, after;
	struct pvio_gnt_map m, m0;
	struct pvio_domain_info info;
	struct pvio_evtchn_status st;
	void *pg = pvio_dom_alloc_pages(a, 1);
	uint64_t go = 1;
	pid_t pid;

	before = stats(h0);
	MUST(pipe(p2c) == 0 && pipe(c2p) == 0, "pipes");
	pid = fork();
	MUST(pid >= 0, "fork");
	if (pid == 0)
		_exit(victim(p2c[0], c2p[1], ida, destroy ? "vd" : "vk", destroy));
	xread(c2p[0], &idc, sizeof(idc));
	xread(c2p[0], &ref, sizeof(ref));
	xread(c2p[0], &ref0, sizeof(ref0));
	xread(c2p[0], &cport, sizeof(cport));
	MUST(pvio_gnttab_grant(a, idc, pvio_dom_gfn(a, pg), false, &aref) == 0, "grant to C");
	xwrite(p2c[1], &aref, sizeof(aref));
	xread(c2p[0], &aref, sizeof(aref));
	CHECK(map1(ha, idc, ref, false, &m) == GNTST_okay, "A maps C: %d", m.status);
	CHECK(map1(h0, idc, ref0, false, &m0) == GNTST_okay, "dom0 maps C: %d", m0.status);
	CHECK(pvio_evtchn_bind_interdomain(ha, idc, cport, &port) == 0, "bind to C");
	mid = stats(h0);
	CHECK(mid.nr_maps == before.nr_maps + 3, "maps %u -> %u", before.nr_maps, mid.nr_maps);
	CHECK(mid.nr_ports == before.nr_ports + 2, "ports %u -> %u", before.nr_ports,
	      mid.nr_ports);
	CHECK(pvio_gnttab_flags(a, aref) & GTF_writing, "C's map pins A's grant");
	CHECK(pvio_gnttab_end(a, aref) == -EBUSY, "end while C maps");

	if (destroy) {
		CHECK(pvio_domain_destroy(h0, idc) == 0, "destroy");
		CHECK(pvio_domain_info(h0, idc, &info) == -ESRCH, "gone at once");
		xwrite(p2c[1], &go, sizeof(go));
		MUST(waitpid(pid, &status, 0) == pid, "waitpid");
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "destroyed domain's process not cut off");
	} else {
		kill(pid, SIGKILL);
		MUST(waitpid(pid, &status, 0) == pid, "waitpid");
		for (int i = 0; i < 100 && pvio_domain_info(h0, idc, &info) == 0; i++)
			usleep(20000);
		CHECK(pvio_domain_info(h0, idc, &info) == -ESRCH, "killed domain still listed");
	}
	after = stats(h0);
	CHECK(after.nr_maps == before.nr_maps, "maps left: %u (was %u)", after.nr_maps,
	      before.nr_maps);
	/* our port survives, unbound; C's is gone */
	CHECK(after.nr_ports == before.nr_ports + 1, "ports left: %u (was %u)",
	      after.nr_ports, before.nr_ports);
	memset(&st, 0, sizeof(st));
	st.dom = ida;
	st.port = port;
	CHECK(pvio_evtchn_status(ha, &st) == 0 && st.state == EVTCHNSTAT_unbound,
	      "survivor port state %u", st.state);
	CHECK(pvio_evtchn_wait(ha, port, 0) == 0, "event from the dead");
	CHECK(pvio_gnttab_flags(a, aref) == GTF_permit_access, "A's grant still pinned: %#x",
	      pvio_gnttab_flags(a, aref));
	CHECK(pvio_gnttab_end(a, aref) == 0, "end after C died");
	/* a mapping of the dead domain unmaps cleanly */
	CHECK(unmap1(ha, &m) == GNTST_okay, "unmap of dead granter");
	CHECK(unmap1(h0, &m0) == GNTST_okay, "dom0 unmap of dead granter");
	CHECK(map1(h0, idc, ref0, false, &m0) == GNTST_bad_domain, "map of dead domain");
	CHECK(pvio_evtchn_close(ha, port) == 0, "close survivor");
	close(p2c[0]);
	close(p2c[1]);
	close(c2p[0]);
	close(c2p[1]);
	return failures;
}

int test_cleanup(void)
{
	struct pvio_dom *a = new_dom("ca");
	struct pvio_hv *h0;
	struct pvio_domain_info *v;
	unsigned int n;

	MUST(pvio_hv_open(NULL, &h0) == 0, "dom0 open");
	test_cleanup_one(h0, a, false);
	test_cleanup_one(h0, a, true);
	MUST(pvio_domain_list(h0, &v, &n) == 0, "list");
	CHECK(n == 2 && v[0].domid == 0 && v[1].domid == pvio_dom_id(a),
	      "list after cleanup: %u entries", n);
	free(v);
	pvio_dom_detach(a);
	pvio_hv_close(h0);
	return failures ? 1 : 0;
}


/* ---- hv tells the store when a domain dies ---- */

static int release_fired;

static void on_release(struct xs_handle *h, const char *path, const char *token,
		       void *arg)
{
	__atomic_add_fetch(&release_fired, 1, __ATOMIC_SEQ_CST);
}

int test_release(void)
{
	struct xs_handle *xs;
	int p[2], status, ret, before;
	pvio_domid_t id;
	pid_t pid;

	MUST(pipe(p) == 0, "pipe");
	pid = fork();
	MUST(pid >= 0, "fork");
	if (pid == 0) {
		struct pvio_dom *d = new_dom("rel");

		id = pvio_dom_id(d);
		xwrite(p[1], &id, sizeof(id));
		for (;;)
			pause();
	}
	xread(p[0], &id, sizeof(id));
	ret = xs_open(NULL, &xs);
	MUST(ret == 0, "xs_open: %s", strerror(-ret));
	ret = xs_introduce_domain(xs, id, 0, 1);
	MUST(ret == 0, "introduce: %s", strerror(-ret));
	MUST(xs_watch(xs, "@releaseDomain", "rel", on_release, NULL) == 0, "watch");
	for (int i = 0; i < 100 && !__atomic_load_n(&release_fired, __ATOMIC_SEQ_CST); i++)
		usleep(10000);
	before = __atomic_load_n(&release_fired, __ATOMIC_SEQ_CST);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	for (int i = 0; i < 300 && __atomic_load_n(&release_fired, __ATOMIC_SEQ_CST) == before; i++)
		usleep(10000);
	CHECK(__atomic_load_n(&release_fired, __ATOMIC_SEQ_CST) > before,
	      "@releaseDomain did not fire for domain %u", id);
	xs_close(xs);
	return failures ? 1 : 0;
}

