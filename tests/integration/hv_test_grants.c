/* SPDX-License-Identifier: MIT */
/* hv integration checks: grants between two domains and dom0, and from several threads. */
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
#include "../../hv/hv.h"

int test_grants(void)
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


/* ---- one connection used by several threads (backends do) ---- */

struct mt_arg {
	struct pvio_hv *hv;
	pvio_domid_t dom;
	pvio_grant_ref_t ref;
	pvio_evtchn_port_t port;
	int bad;
};

static void *mt_worker(void *p)
{
	struct mt_arg *a = p;

	for (int i = 0; i < 500; i++) {
		struct pvio_gnt_map m[4];
		uint8_t buf[8];
		struct pvio_gnt_copy c = { .dom = a->dom, .ref = a->ref, .buf = buf,
					   .len = sizeof(buf) };

		for (int k = 0; k < 4; k++) {
			memset(&m[k], 0, sizeof(m[k]));
			m[k].dom = a->dom;
			m[k].ref = a->ref;
			m[k].readonly = k & 1;
		}
		if (pvio_gnttab_map(a->hv, m, 4) < 0)
			a->bad++;
		for (int k = 0; k < 4; k++)
			if (m[k].status != GNTST_okay || ((uint8_t *)m[k].addr)[0] != 0x77)
				a->bad++;
		if (pvio_gnttab_unmap(a->hv, m, 4) < 0)
			a->bad++;
		for (int k = 0; k < 4; k++)
			if (m[k].status != GNTST_okay)
				a->bad++;
		if (pvio_gnttab_copy(a->hv, &c, 1) != GNTST_okay || buf[0] != 0x77)
			a->bad++;
		if (pvio_evtchn_notify(a->hv, a->port) < 0)
			a->bad++;
	}
	return NULL;
}

int test_threads(void)
{
	struct pvio_dom *a = new_dom("ta");
	struct pvio_hv *h0, *ha = pvio_dom_hv(a);
	uint8_t *pg = pvio_dom_alloc_pages(a, 1);
	struct mt_arg args[4];
	pthread_t th[4];
	pvio_evtchn_port_t aport, port;
	pvio_grant_ref_t ref;
	long total = 0;
	int n;

	MUST(pvio_hv_open(NULL, &h0) == 0, "open");
	memset(pg, 0x77, 4096);
	MUST(pvio_gnttab_grant(a, 0, pvio_dom_gfn(a, pg), false, &ref) == 0, "grant");
	MUST(pvio_evtchn_alloc_unbound(ha, 0, &aport) == 0, "alloc");
	MUST(pvio_evtchn_bind_interdomain(h0, pvio_dom_id(a), aport, &port) == 0, "bind");
	for (int i = 0; i < 4; i++) {
		args[i] = (struct mt_arg){ .hv = h0, .dom = pvio_dom_id(a), .ref = ref,
					   .port = port };
		pthread_create(&th[i], NULL, mt_worker, &args[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		CHECK(args[i].bad == 0, "thread %d: %d bad results", i, args[i].bad);
	}
	/* 2000 notifications arrived (counted, perhaps coalesced by the eventfd) */
	while (pvio_evtchn_wait(ha, aport, 200) == 1 && (n = pvio_evtchn_ack(ha, aport)) > 0)
		total += n;
	CHECK(total == 2000, "events: %ld", total);
	CHECK(pvio_gnttab_flags(a, ref) == GTF_permit_access, "pins left: %#x",
	      pvio_gnttab_flags(a, ref));
	CHECK(stats(h0).nr_maps == 0, "maps left");
	pvio_hv_close(h0);
	pvio_dom_detach(a);
	return failures ? 1 : 0;
}


/* ---- mapping caps: per (client, granting domain), per client ---- */

static unsigned int dom_maps(struct pvio_hv *h0, pvio_domid_t dom)
{
	struct pvio_domain_info info;

	MUST(pvio_domain_info(h0, dom, &info) == 0, "info of %u", dom);
	return info.nr_grant_maps;
}

/*
 * A dom0 client (a backend) maps one domain's grant until hv's cap per
 * (client, granter) refuses: that domain alone is refused, another
 * domain's grants and another client's maps of the first still work, and
 * every count goes back to zero after the unmaps.
 */
int test_map_caps(void)
{
	const unsigned int cap = HV_MAX_MAPS_PER_GRANTER;
	struct pvio_dom *a = new_dom("ca"), *b = new_dom("cb");
	pvio_domid_t ida = pvio_dom_id(a), idb = pvio_dom_id(b);
	uint8_t *pa = pvio_dom_alloc_pages(a, 1), *pb = pvio_dom_alloc_pages(b, 1);
	struct pvio_gnt_map *m = calloc(cap, sizeof(*m)), extra, mb, m1;
	struct pvio_hv *h0, *h1;
	pvio_grant_ref_t ra, rb;
	unsigned int ok = 0;
	struct pvio_hv_stats st0;

	MUST(m && pa && pb, "memory");
	MUST(pvio_hv_open(NULL, &h0) == 0 && pvio_hv_open(NULL, &h1) == 0,
	     "dom0 open");
	st0 = stats(h0);
	MUST(pvio_gnttab_grant(a, 0, pvio_dom_gfn(a, pa), false, &ra) == 0, "grant a");
	MUST(pvio_gnttab_grant(b, 0, pvio_dom_gfn(b, pb), false, &rb) == 0, "grant b");
	for (unsigned int i = 0; i < cap; i++)
		m[i] = (struct pvio_gnt_map){ .dom = ida, .ref = ra,
					      .readonly = i & 1 };
	MUST(pvio_gnttab_map(h0, m, cap) == 0, "map %u", cap);
	for (unsigned int i = 0; i < cap; i++)
		ok += m[i].status == GNTST_okay;
	CHECK(ok == cap, "%u of %u maps under the cap", ok, cap);
	CHECK(dom_maps(h0, ida) == cap, "a's maps: %u", dom_maps(h0, ida));

	/* one more of a: refused, for this client and this granter only */
	CHECK(map1(h0, ida, ra, true, &extra) == GNTST_no_device_space,
	      "map over the cap: %d", extra.status);
	CHECK(map1(h0, idb, rb, false, &mb) == GNTST_okay,
	      "another domain's grant refused: %d", mb.status);
	CHECK(map1(h1, ida, ra, false, &m1) == GNTST_okay,
	      "another client refused: %d", m1.status);
	CHECK(dom_maps(h0, ida) == cap + 1, "a's maps: %u", dom_maps(h0, ida));
	CHECK(dom_maps(h0, idb) == 1, "b's maps: %u", dom_maps(h0, idb));

	/* after one unmap, one map fits again */
	CHECK(unmap1(h0, &m[0]) == GNTST_okay, "unmap");
	CHECK(map1(h0, ida, ra, false, &m[0]) == GNTST_okay, "map after unmap: %d",
	      m[0].status);

	MUST(pvio_gnttab_unmap(h0, m, cap) == 0, "unmap all");
	for (unsigned int i = 0; i < cap; i++)
		CHECK(m[i].status == GNTST_okay, "unmap %u: %d", i, m[i].status);
	CHECK(unmap1(h0, &mb) == GNTST_okay, "unmap b");
	CHECK(unmap1(h1, &m1) == GNTST_okay, "unmap 2nd client");
	CHECK(dom_maps(h0, ida) == 0 && dom_maps(h0, idb) == 0,
	      "maps left: a %u b %u", dom_maps(h0, ida), dom_maps(h0, idb));
	CHECK(stats(h0).nr_maps == st0.nr_maps, "nr_maps %u, was %u",
	      stats(h0).nr_maps, st0.nr_maps);
	CHECK(pvio_gnttab_flags(a, ra) == GTF_permit_access, "pins left: %#x",
	      pvio_gnttab_flags(a, ra));
	free(m);
	pvio_hv_close(h1);
	pvio_hv_close(h0);
	pvio_dom_detach(b);
	pvio_dom_detach(a);
	return failures ? 1 : 0;
}


/* ---- dom0 maps without hv: checks, pins shared with hv, dead mappers ---- */

#include "../../grant/gnttab_pin.h"

static unsigned int maps_of(struct pvio_hv *h0, pvio_domid_t dom)
{
	struct pvio_domain_info info;

	MUST(pvio_domain_info(h0, dom, &info) == 0, "info of %u", dom);
	return info.nr_grant_maps;
}

/* The pin word of @ref of @dom as this dom0 client sees it. */
static uint64_t *pin_word(struct pvio_hv *h, pvio_domid_t dom, uint32_t ref,
			  uint64_t **own, uint16_t *owner)
{
	int err = 0;
	struct lp_ram *r = lp_ram_get(h, dom, 0, &err);

	MUST(r && r->pin && r->own, "no local tables of domain %u", dom);
	*own = &gnttab_pin_words(r->own)[ref];
	*owner = r->owner;
	return &gnttab_pin_words(r->pin)[ref];
}

/*
 * A dom0 child maps @ref of @dom writable on its own, then dies: after a
 * plain exit with the pin held (@mid_op false), or in the middle of the
 * unmap, holding the ref's lock (@mid_op true).
 */
static pid_t dead_mapper(pvio_domid_t dom, pvio_grant_ref_t ref, bool mid_op)
{
	int p[2];
	pid_t pid;
	char c;

	MUST(pipe(p) == 0, "pipe");
	pid = fork();
	MUST(pid >= 0, "fork");
	if (pid == 0) {
		struct pvio_hv *h;
		struct pvio_gnt_map m;
		uint64_t *pin, *own;
		uint16_t owner;

		MUST(pvio_hv_open(NULL, &h) == 0, "child open");
		MUST(map1(h, dom, ref, false, &m) == GNTST_okay,
		     "child map: %d", m.status);
		MUST(m.handle & LP_LOCAL_HANDLE, "child map went through hv");
		if (mid_op) {
			pin = pin_word(h, dom, ref, &own, &owner);
			/* the unmap's first steps: lock, then the journal */
			__atomic_fetch_or(pin, (uint64_t)owner << 48,
					  __ATOMIC_SEQ_CST);
			__atomic_store_n(own, 0x10001ull << 32 | 0,
					 __ATOMIC_SEQ_CST);
		}
		xwrite(p[1], "x", 1);
		_exit(0);
	}
	close(p[1]);
	xread(p[0], &c, 1);
	close(p[0]);
	return pid;
}

int test_local(void)
{
	struct pvio_dom *a = new_dom("la"), *b = new_dom("lb");
	pvio_domid_t ida = pvio_dom_id(a), idb = pvio_dom_id(b);
	struct pvio_hv *h0, *h1, *ha = pvio_dom_hv(a);
	uint8_t *pg = pvio_dom_alloc_pages(a, 1), *pg2 = pvio_dom_alloc_pages(a, 1);
	struct pvio_gnt_map m, m1, mr;
	pvio_grant_ref_t ref, ref_ro, ref_b;
	struct pvio_hv_stats st0;
	uint64_t *pin, *own;
	uint16_t owner;
	int status;
	pid_t pid;

	MUST(pg && pg2, "pages");
	MUST(pvio_hv_open(NULL, &h0) == 0 && pvio_hv_open(NULL, &h1) == 0,
	     "dom0 open");
	pvio_gnttab_set_local(h1, false);	/* h1 asks hv, h0 does it itself */
	st0 = stats(h0);
	strcpy((char *)pg, "granted to dom0");
	MUST(pvio_gnttab_grant(a, 0, pvio_dom_gfn(a, pg), false, &ref) == 0, "grant");
	MUST(pvio_gnttab_grant(a, 0, pvio_dom_gfn(a, pg), true, &ref_ro) == 0,
	     "grant ro");
	MUST(pvio_gnttab_grant(a, idb, pvio_dom_gfn(a, pg), false, &ref_b) == 0,
	     "grant to b");

	/* a local map: no hv round trip, the same rules */
	CHECK(map1(h0, ida, ref, false, &m) == GNTST_okay, "local map: %d", m.status);
	CHECK(m.handle & LP_LOCAL_HANDLE, "map went through hv");
	CHECK(m.addr && !strcmp(m.addr, "granted to dom0"), "content");
	strcpy((char *)m.addr + 100, "dom0 wrote");
	CHECK(!strcmp((char *)pg + 100, "dom0 wrote"), "write not seen by granter");
	CHECK(pvio_gnttab_flags(a, ref) == (GTF_permit_access | GTF_reading | GTF_writing),
	      "flags: %#x", pvio_gnttab_flags(a, ref));
	CHECK(pvio_gnttab_end(a, ref) == -EBUSY, "end while locally mapped");
	CHECK(stats(h0).nr_maps == st0.nr_maps + 1, "local map not counted");
	CHECK(maps_of(h0, ida) == 1, "a's maps: %u", maps_of(h0, ida));

	/* hv maps the same ref read-only for another client: shared pins */
	CHECK(map1(h1, ida, ref, true, &m1) == GNTST_okay, "hv map: %d", m1.status);
	CHECK(!(m1.handle & LP_LOCAL_HANDLE), "h1 mapped locally");
	CHECK(unmap1(h0, &m) == GNTST_okay, "local unmap");
	CHECK(pvio_gnttab_flags(a, ref) == (GTF_permit_access | GTF_reading),
	      "after local unmap, hv's read pin: %#x", pvio_gnttab_flags(a, ref));
	CHECK(pvio_gnttab_end(a, ref) == -EBUSY, "end while hv maps");
	CHECK(map1(h0, ida, ref, true, &m) == GNTST_okay, "local ro map");
	CHECK(unmap1(h1, &m1) == GNTST_okay, "hv unmap");
	CHECK(pvio_gnttab_flags(a, ref) == (GTF_permit_access | GTF_reading),
	      "hv's unmap took the local pin's bit: %#x", pvio_gnttab_flags(a, ref));
	CHECK(unmap1(h0, &m) == GNTST_okay, "local unmap 2");
	CHECK(unmap1(h0, &m) == GNTST_bad_handle, "double local unmap");
	CHECK(pvio_gnttab_flags(a, ref) == GTF_permit_access, "flags left: %#x",
	      pvio_gnttab_flags(a, ref));

	/* a domain gets no tables: it maps through hv */
	{
		struct hv_domid_arg arg = { .domid = ida };
		struct hv_gnttab_local_reply rep;

		CHECK(lp_simple(pvio_dom_hv(b), HV_OP_GNTTAB_LOCAL, &arg, sizeof(arg),
				&rep, sizeof(rep)) == -EPERM, "a domain's local tables");
	}

	/* refusals, with hv's status codes */
	CHECK(map1(h0, ida, ref_ro, false, &m) == GNTST_general_error,
	      "write map of a read-only grant: %d", m.status);
	CHECK(map1(h0, ida, ref_b, true, &m) == GNTST_general_error,
	      "map of b's grant: %d", m.status);
	CHECK(map1(h0, ida, 4000, true, &m) == GNTST_general_error,
	      "ungranted ref: %d", m.status);
	CHECK(map1(h0, ida, 1u << 20, true, &m) == GNTST_bad_gntref,
	      "ref out of range: %d", m.status);
	CHECK(map1(h0, ida, PVIO_GNTTAB_MAX_FRAMES * 512, true, &m) == GNTST_bad_gntref,
	      "first ref past the table: %d", m.status);
	CHECK(map1(h0, 0x7000, ref, true, &m) == GNTST_bad_domain,
	      "no such domain: %d", m.status);
	CHECK(map1(h0, 0, ref, true, &m) == GNTST_bad_domain, "dom0: %d", m.status);
	CHECK(pvio_gnttab_flags(a, ref_ro) == (GTF_permit_access | GTF_readonly),
	      "refusal left flags %#x", pvio_gnttab_flags(a, ref_ro));
	{
		/* a grant naming a frame outside the granter's RAM */
		struct pvio_grant_entry_v1 *e = &a->gnt[ref_ro];

		__atomic_store_n(&e->frame, 0x7fffffff, __ATOMIC_SEQ_CST);
		CHECK(map1(h0, ida, ref_ro, true, &m) == GNTST_bad_page,
		      "frame out of RAM: %d", m.status);
		CHECK(pvio_gnttab_flags(a, ref_ro) == (GTF_permit_access | GTF_readonly),
		      "bad page left flags %#x", pvio_gnttab_flags(a, ref_ro));
		__atomic_store_n(&e->frame, (uint32_t)pvio_dom_gfn(a, pg),
				 __ATOMIC_SEQ_CST);
	}

	/* a local copy, and the lock it holds leaves nothing behind */
	{
		char buf[32] = "copied in";
		struct pvio_gnt_copy c = { .dom = ida, .ref = ref, .offset = 200,
					   .buf = buf, .len = 10, .to_grant = 1 };

		CHECK(pvio_gnttab_copy(h0, &c, 1) == GNTST_okay, "copy: %d", c.status);
		CHECK(!strcmp((char *)pg + 200, "copied in"), "copied data");
		c.ref = ref_ro;
		CHECK(pvio_gnttab_copy(h0, &c, 1) == GNTST_general_error,
		      "copy into a read-only grant: %d", c.status);
		CHECK(pvio_gnttab_flags(a, ref) == GTF_permit_access &&
		      pvio_gnttab_flags(a, ref_ro) == (GTF_permit_access | GTF_readonly),
		      "copies left pins");
	}

	/* a dom0 mapper killed while it holds a pin: hv drops it */
	pid = dead_mapper(ida, ref, false);
	MUST(waitpid(pid, &status, 0) == pid, "waitpid");
	for (int i = 0; i < 200 && pvio_gnttab_flags(a, ref) != GTF_permit_access; i++)
		usleep(10000);
	CHECK(pvio_gnttab_flags(a, ref) == GTF_permit_access,
	      "dead mapper's pin kept: %#x", pvio_gnttab_flags(a, ref));
	CHECK(maps_of(h0, ida) == 0, "dead mapper's maps counted: %u",
	      maps_of(h0, ida));

	/* ...and one that dies holding the ref's lock mid-unmap: hv takes
	 * the lock over, and both kinds of mappers go on at once */
	CHECK(map1(h0, ida, ref, true, &m) == GNTST_okay, "map before: %d", m.status);
	pid = dead_mapper(ida, ref, true);
	MUST(waitpid(pid, &status, 0) == pid, "waitpid");
	CHECK(map1(h1, ida, ref, false, &m1) == GNTST_okay,
	      "hv map past a dead lock holder: %d", m1.status);
	CHECK(map1(h0, ida, ref, false, &mr) == GNTST_okay,
	      "local map past a dead lock holder: %d", mr.status);
	pin = pin_word(h0, ida, ref, &own, &owner);
	CHECK(GNTTAB_PIN_RD(*pin) == 3 && GNTTAB_PIN_WR(*pin) == 2 &&
	      GNTTAB_PIN_OWNER(*pin) == 0, "pin word after: %#llx",
	      (unsigned long long)*pin);
	CHECK(unmap1(h1, &m1) == GNTST_okay && unmap1(h0, &mr) == GNTST_okay &&
	      unmap1(h0, &m) == GNTST_okay, "unmaps");
	CHECK(pvio_gnttab_flags(a, ref) == GTF_permit_access, "flags: %#x",
	      pvio_gnttab_flags(a, ref));
	CHECK(*pin == 0 && *own == 0, "words left: %#llx %#llx",
	      (unsigned long long)*pin, (unsigned long long)*own);

	/* frames registered again: busy while mapped, then seen by mappers */
	CHECK(map1(h0, ida, ref, true, &m) == GNTST_okay, "map: %d", m.status);
	{
		struct {
			struct hv_gnttab_setup s;
			uint64_t gfn[1];
		} req = { .s.nr_frames = 1 };
		struct pvio_grant_entry_v1 *t = (struct pvio_grant_entry_v1 *)pg2;

		req.gfn[0] = pvio_dom_gfn(a, pg2);
		CHECK(lp_simple(ha, HV_OP_GNTTAB_SETUP, &req, sizeof(req), NULL, 0) ==
		      -EBUSY, "setup while mapped");
		CHECK(unmap1(h0, &m) == GNTST_okay, "unmap");
		/* the new table grants ref 9 of a page with other content */
		strcpy((char *)pg + 2048, "new table");
		t[9].frame = (uint32_t)pvio_dom_gfn(a, pg);
		t[9].domid = 0;
		__atomic_store_n(&t[9].flags, GTF_permit_access | GTF_readonly,
				 __ATOMIC_RELEASE);
		CHECK(lp_simple(ha, HV_OP_GNTTAB_SETUP, &req, sizeof(req), NULL, 0) ==
		      0, "setup again");
		CHECK(map1(h0, ida, 9, true, &m) == GNTST_okay, "map in the new table: %d",
		      m.status);
		CHECK(m.addr && !strcmp((char *)m.addr + 2048, "new table"),
		      "new table's grant");
		CHECK(t[9].flags == (GTF_permit_access | GTF_readonly | GTF_reading),
		      "new entry's flags: %#x", t[9].flags);
		CHECK(map1(h0, ida, 600, true, &m1) == GNTST_bad_gntref,
		      "ref past the new table: %d", m1.status);
		CHECK(unmap1(h0, &m) == GNTST_okay, "unmap new");
		CHECK(t[9].flags == (GTF_permit_access | GTF_readonly),
		      "new entry's flags after: %#x", t[9].flags);
	}
	CHECK(stats(h0).nr_maps == st0.nr_maps, "nr_maps %u, was %u",
	      stats(h0).nr_maps, st0.nr_maps);

	/* the granter dies under a local mapping: unmap is fine, maps fail */
	CHECK(map1(h0, ida, 9, true, &m) == GNTST_okay, "map: %d", m.status);
	pvio_dom_detach(a);
	for (int i = 0; i < 200 && pvio_domain_info(h0, ida, &(struct pvio_domain_info){ 0 }) == 0; i++)
		usleep(10000);
	CHECK(map1(h0, ida, 9, true, &m1) == GNTST_bad_domain,
	      "map of a dead granter: %d", m1.status);
	CHECK(unmap1(h0, &m) == GNTST_okay, "unmap of a dead granter");
	CHECK(stats(h0).nr_maps == st0.nr_maps, "nr_maps %u, was %u",
	      stats(h0).nr_maps, st0.nr_maps);
	pvio_dom_detach(b);
	pvio_hv_close(h1);
	pvio_hv_close(h0);
	return failures ? 1 : 0;
}
