/*
 * Hostile block frontend: a process domain with two disks. On the first
 * it does the xenbus handshake by hand and writes raw, malformed requests
 * into the ring (sector beyond the end, bad segment counts, bad grant
 * refs, read into a read-only grant, first_sect > last_sect, unknown
 * operations, garbage indirect pages, bad discards) and checks each answer;
 * after every case the second disk, driven through the normal blkfront,
 * must still read back what it wrote. Last, req_prod jumps far ahead: the
 * backend must disconnect that disk with an error node, and the second
 * disk must keep working. Exit 0 pass, 1 fail.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pvio/blkfront.h"
#include "pvio/blkif.h"
#include "pvio/libpvio.h"
#include "pvio/xenbus.h"
#include "blk_raw.h"

#define FAIL(...) do { fprintf(stderr, "FAIL: " __VA_ARGS__); \
	fprintf(stderr, "\n"); exit(1); } while (0)

static struct pvio_dom *dom;
static struct pvio_hv *hv;
static struct xs_handle *xs;
static struct blk_raw raw;		/* the disk under attack */

/* pages granted to dom0 */
static uint8_t *data;			/* 4 pages, writable grants */
static pvio_grant_ref_t data_ref[4];
static uint8_t *ro_page;		/* granted read-only */
static pvio_grant_ref_t ro_ref;
static struct blkif_request_segment *ind;	/* indirect page */
static pvio_grant_ref_t ind_ref;

/* the well-behaved disk */
static struct blkfront *good;
static uint8_t *good_buf;
static unsigned int good_round;

static void grant(void *p, bool ro, pvio_grant_ref_t *ref)
{
	int rc = pvio_gnttab_grant(dom, 0, pvio_dom_gfn(dom, p), ro, ref);

	if (rc)
		FAIL("grant: %s", strerror(-rc));
}

/* Put @req on the ring and wait for its answer: the status. */
static int16_t send(union blkif_request_any *req)
{
	int16_t st;
	int rc = blk_raw_run(&raw, 0, req, 1, &st, 5000);

	if (rc)
		FAIL("operation %u: %s", req->rw.operation, strerror(-rc));
	return st;
}

static union blkif_request_any rw_req(uint8_t op, uint64_t sector,
				      unsigned int nseg)
{
	union blkif_request_any r;

	memset(&r, 0, sizeof(r));
	r.rw.operation = op;
	r.rw.sector_number = sector;
	r.rw.nr_segments = nseg;
	for (unsigned int i = 0; i < nseg && i < BLKIF_MAX_SEGMENTS_PER_REQUEST; i++) {
		r.rw.seg[i].gref = data_ref[i % 4];
		r.rw.seg[i].first_sect = 0;
		r.rw.seg[i].last_sect = 7;
	}
	return r;
}

static void good_io(struct blkfront_io *io, const char *after)
{
	struct blkfront_io *done;

	if (blkfront_submit(good, 0, io))
		FAIL("good disk: submit after %s", after);
	if (blkfront_complete(good, 0, &done, 1, 5000) != 1 || io->status)
		FAIL("good disk: I/O after %s: status %d", after, io->status);
}

/* The good disk still stores and returns data correctly. */
static void good_check(const char *after)
{
	struct blkfront_io io = { .op = BLKFRONT_OP_WRITE, .buf = good_buf,
				  .len = 8192 };
	uint8_t want[8192];

	good_round++;
	io.offset = (uint64_t)(good_round % 64) * 8192;
	for (unsigned int i = 0; i < sizeof(want); i++)
		want[i] = (uint8_t)(i * 31 + good_round);
	memcpy(good_buf, want, sizeof(want));
	good_io(&io, after);
	memset(good_buf, 0, sizeof(want));
	io.op = BLKFRONT_OP_READ;
	good_io(&io, after);
	if (memcmp(good_buf, want, sizeof(want)))
		FAIL("good disk: data differs after %s", after);
}

static void expect(const char *what, union blkif_request_any r, int16_t want)
{
	int16_t got = send(&r);

	if (got != want)
		FAIL("%s: status %d, want %d", what, got, want);
	printf("ok: %-44s -> %d\n", what, got);
	good_check(what);
}

/*
 * A handshake that lies (vdev @vdev): the backend must refuse it with an
 * error node and Closed, not crash and not connect.
 */
static void bad_handshake(const char *vdev, const char *key, const char *val,
			  const char *what)
{
	char dir[128], bdir[256], path[400], num[16], *v;
	pvio_evtchn_port_t p;
	pvio_grant_ref_t ref;
	void *page = pvio_dom_alloc_pages(dom, 1);
	int st;

	snprintf(dir, sizeof(dir), "/local/domain/%u/device/vbd/%s",
		 pvio_dom_id(dom), vdev);
	snprintf(path, sizeof(path), "%s/backend", dir);
	if (!page || xs_read(xs, XS_TXN_NULL, path, &v, NULL))
		FAIL("%s: setup", what);
	snprintf(bdir, sizeof(bdir), "%s", v);
	free(v);
	if (xenbus_wait_state(xs, bdir, XENBUS_STATE_BIT(XenbusStateInitWait),
			      10000) < 0)
		FAIL("%s: backend not in InitWait", what);
	pvio_sring_init(page);
	grant(page, false, &ref);
	if (pvio_evtchn_alloc_unbound(hv, 0, &p))
		FAIL("evtchn");
	snprintf(path, sizeof(path), "%s/ring-ref", dir);
	snprintf(num, sizeof(num), "%u", ref);
	xs_write(xs, XS_TXN_NULL, path, num, strlen(num));
	snprintf(path, sizeof(path), "%s/event-channel", dir);
	snprintf(num, sizeof(num), "%u", p);
	xs_write(xs, XS_TXN_NULL, path, num, strlen(num));
	snprintf(path, sizeof(path), "%s/%s", dir, key);
	xs_write(xs, XS_TXN_NULL, path, val, strlen(val));
	snprintf(path, sizeof(path), "%s/state", dir);
	xs_write(xs, XS_TXN_NULL, path, "3", 1);
	st = xenbus_wait_state(xs, bdir, XENBUS_STATE_BIT(XenbusStateClosed) |
			       XENBUS_STATE_BIT(XenbusStateConnected), 5000);
	if (st != XenbusStateClosed)
		FAIL("%s: backend state %d, want Closed", what, st);
	snprintf(path, sizeof(path), "%s/error", bdir);
	if (xs_read(xs, XS_TXN_NULL, path, &v, NULL))
		FAIL("%s: no error node", what);
	printf("ok: %-44s -> Closed, error \"%s\"\n", what, v);
	free(v);
	good_check(what);
}

int main(void)
{
	union blkif_request_any r;
	char path[400], *v;
	int rc, st;

	setvbuf(stdout, NULL, _IOLBF, 0);
	rc = pvio_dom_attach(NULL, PVIO_DOMID_SELF, &dom);
	if (rc)
		FAIL("attach: %s", strerror(-rc));
	hv = pvio_dom_hv(dom);
	/* as a guest would: through this domain's own store ring */
	rc = xs_open_domain(dom, &xs);
	if (rc) {
		fprintf(stderr, "note: no store ring (%s), using the socket\n",
			strerror(-rc));
		rc = xs_open(NULL, &xs);
	}
	if (rc)
		FAIL("store: %s", strerror(-rc));
	rc = blkfront_open(dom, xs, "51728", NULL, &good);
	if (rc)
		FAIL("good disk: %s", strerror(-rc));
	good_buf = blkfront_alloc(good, 8192);

	data = pvio_dom_alloc_pages(dom, 4);
	ro_page = pvio_dom_alloc_pages(dom, 1);
	ind = pvio_dom_alloc_pages(dom, 1);
	if (!data || !ro_page || !ind || !good_buf)
		FAIL("pages");
	for (int i = 0; i < 4; i++)
		grant(data + i * 4096, false, &data_ref[i]);
	grant(ro_page, true, &ro_ref);
	grant(ind, true, &ind_ref);
	rc = blk_raw_open(&raw, dom, xs, "51712", 1, 0, true);
	if (rc)
		FAIL("raw disk: %s %s", strerror(-rc), raw.error);

	/* sanity: the raw ring works */
	memset(data, 0x5a, 4096);
	expect("valid write", rw_req(BLKIF_OP_WRITE, 0, 1), BLKIF_RSP_OKAY);
	memset(data, 0, 4096);
	expect("valid read", rw_req(BLKIF_OP_READ, 0, 1), BLKIF_RSP_OKAY);
	if (data[17] != 0x5a)
		FAIL("valid read returned wrong data");

	expect("sector beyond the end", rw_req(BLKIF_OP_READ, raw.sectors - 4, 1),
	       BLKIF_RSP_ERROR);
	expect("sector far beyond the end (wrap)",
	       rw_req(BLKIF_OP_WRITE, ~0ull - 2, 1), BLKIF_RSP_ERROR);
	expect("nr_segments 0", rw_req(BLKIF_OP_READ, 0, 0), BLKIF_RSP_ERROR);
	expect("nr_segments 12", rw_req(BLKIF_OP_READ, 0, 12), BLKIF_RSP_ERROR);
	expect("nr_segments 255", rw_req(BLKIF_OP_WRITE, 0, 255), BLKIF_RSP_ERROR);
	r = rw_req(BLKIF_OP_READ, 0, 2);
	r.rw.seg[1].gref = 30000;	/* never granted */
	expect("bad grant ref", r, BLKIF_RSP_ERROR);
	r = rw_req(BLKIF_OP_READ, 0, 1);
	r.rw.seg[0].gref = 0xffffffffu;
	expect("grant ref 0xffffffff", r, BLKIF_RSP_ERROR);
	r = rw_req(BLKIF_OP_READ, 0, 1);
	r.rw.seg[0].gref = ro_ref;
	expect("read into a read-only grant", r, BLKIF_RSP_ERROR);
	r = rw_req(BLKIF_OP_READ, 0, 1);
	r.rw.seg[0].first_sect = 5;
	r.rw.seg[0].last_sect = 2;
	expect("first_sect > last_sect", r, BLKIF_RSP_ERROR);
	r = rw_req(BLKIF_OP_READ, 0, 1);
	r.rw.seg[0].last_sect = 8;
	expect("last_sect 8", r, BLKIF_RSP_ERROR);
	expect("unknown operation 99", rw_req(99, 0, 1), BLKIF_RSP_EOPNOTSUPP);
	expect("reserved operation 4", rw_req(BLKIF_OP_RESERVED_1, 0, 1),
	       BLKIF_RSP_EOPNOTSUPP);

	/* indirect */
	memset(&r, 0, sizeof(r));
	r.indirect.operation = BLKIF_OP_INDIRECT;
	r.indirect.indirect_op = BLKIF_OP_READ;
	r.indirect.nr_segments = 4;
	r.indirect.indirect_grefs[0] = ind_ref;
	for (int i = 0; i < 512; i++) {
		ind[i].gref = data_ref[i % 4];
		ind[i].first_sect = 0;
		ind[i].last_sect = 7;
	}
	expect("valid indirect read", r, BLKIF_RSP_OKAY);
	r.indirect.nr_segments = 300;
	expect("indirect nr_segments 300", r, BLKIF_RSP_ERROR);
	r.indirect.nr_segments = 0;
	expect("indirect nr_segments 0", r, BLKIF_RSP_ERROR);
	r.indirect.nr_segments = 4;
	ind[2].first_sect = 9;
	expect("garbage in the indirect page", r, BLKIF_RSP_ERROR);
	ind[2].first_sect = 0;
	ind[3].gref = 31000;
	expect("bad grant inside the indirect page", r, BLKIF_RSP_ERROR);
	ind[3].gref = data_ref[3];
	r.indirect.indirect_grefs[0] = 31001;
	expect("bad indirect page grant", r, BLKIF_RSP_ERROR);
	r.indirect.indirect_grefs[0] = ind_ref;
	r.indirect.indirect_op = BLKIF_OP_FLUSH_DISKCACHE;
	expect("indirect op flush", r, BLKIF_RSP_ERROR);
	r.indirect.indirect_op = BLKIF_OP_READ;
	r.indirect.sector_number = raw.sectors - 8;
	expect("indirect beyond the end", r, BLKIF_RSP_ERROR);

	/* discard */
	memset(&r, 0, sizeof(r));
	r.discard.operation = BLKIF_OP_DISCARD;
	r.discard.sector_number = raw.sectors - 8;
	r.discard.nr_sectors = 16;
	expect("discard beyond the end", r, BLKIF_RSP_ERROR);
	r.discard.nr_sectors = 8;
	r.discard.flag = BLKIF_DISCARD_SECURE;
	expect("secure discard", r, BLKIF_RSP_EOPNOTSUPP);

	/* the ring still works */
	memset(data, 0, 4096);
	expect("valid read after all that", rw_req(BLKIF_OP_READ, 0, 1),
	       BLKIF_RSP_OKAY);
	if (data[17] != 0x5a)
		FAIL("read after abuse returned wrong data");

	/* break the ring: the backend must drop this disk only */
	raw.q[0].ring.sring->req_prod = raw.q[0].ring.req_prod_pvt + 1000;
	pvio_evtchn_notify(hv, raw.q[0].port);
	st = xenbus_wait_state(xs, raw.be, XENBUS_STATE_BIT(XenbusStateClosing) |
			       XENBUS_STATE_BIT(XenbusStateClosed), 5000);
	if (st < 0)
		FAIL("backend did not disconnect the broken ring");
	snprintf(path, sizeof(path), "%s/error", raw.be);
	if (xs_read(xs, XS_TXN_NULL, path, &v, NULL))
		FAIL("no error node in %s", raw.be);
	printf("ok: req_prod far ahead -> backend %s, error \"%s\"\n",
	       xenbus_state_name(st), v);
	free(v);
	good_check("the broken ring");
	good_check("the broken ring (again)");

	/* lying handshakes on the third and fourth disks */
	bad_handshake("51744", "ring-page-order", "9", "ring-page-order 9");
	bad_handshake("51760", "multi-queue-num-queues", "99", "99 queues");
	blkfront_close(good);
	xs_close(xs);
	pvio_dom_detach(dom);
	printf("hostile: all cases answered, the other disk unaffected\n");
	return 0;
}
