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
