/*
 * Attacks on blkback's grant handling, each from a process domain that
 * speaks the ring by hand (blk_raw), and the honest victim they aim at.
 * Run as process domains by the blk_attack_*.sh tests, which synchronise
 * the parties through files in --sync DIR and check the outcome (images,
 * mapping counts, blkback alive). One mode per run:
 *
 *   victim    an honest domain: uses its disk with persistent grants
 *             through blkfront, from pages whose grant refs reach past
 *             16383, closes it and keeps running with known memory; after
 *             the attack its memory and its disk must be exactly as left
 *   stale     grant ref 0xffffffff as the page of WRITEs and READs on a
 *             fresh persistent disk: each must be refused
 *   stale-ind grant ref 0xffffffff as the indirect page of INDIRECT
 *             requests: refused, and blkback stays up
 *   dupind    100 batches of 32 INDIRECT requests naming the same fresh
 *             indirect page (an invalid segment each): all refused, and
 *             no mapping may be left behind
 *   flood     two disks: many distinct grants, duplicate indirect pages,
 *             full rings, then a third disk past the domain's ring-page
 *             limit: every request answered, the third disk refused
 *   detach    rings offered and taken, but not yet Connected (a frontend
 *             reading its partition table): the toolstack's detach must
 *             ask us to close (Closing) and answer our read before it
 *             lets go, not drop the connection under it
 *   maps      (dom0, not a domain) print the live mappings of the grants
 *             of the domain named NAME
 *
 * Exit 0 pass, 1 fail.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "pvio/blkfront.h"
#include "blk_raw.h"

#define FAIL(...) do { fprintf(stderr, "FAIL: " __VA_ARGS__); \
	fprintf(stderr, "\n"); exit(1); } while (0)

#define SECT		512u
#define VICTIM_PAGES	64
/* the victim's data pages get refs from here up, across 16383 */
#define VICTIM_FIRST_REF	(16384 - VICTIM_PAGES / 2)

static struct {
	const char *sync, *file;
} opt;

static struct pvio_dom *dom;
static struct xs_handle *xs;

/* ---- synchronisation with the test script and the other domains ---- */

static void sync_mark(const char *name)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", opt.sync, name);
	fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	if (fd < 0)
		FAIL("create %s: %s", path, strerror(errno));
	close(fd);
}

static void sync_wait(const char *name, int seconds)
{
	char path[512];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", opt.sync, name);
	for (int i = 0; i < seconds * 100; i++) {
		if (!stat(path, &st))
			return;
		usleep(10000);
	}
	FAIL("no %s after %d s", path, seconds);
}

/* ---- the victim ---- */

static uint8_t pattern(unsigned int page, unsigned int off)
{
	return (uint8_t)(page * 131 + off * 7 + 0x5a);
}

/* Sector @s of the victim's disk after its writes. */
static void stamp(uint8_t *p, uint64_t s)
{
	for (unsigned int i = 0; i < SECT; i++)
		p[i] = (uint8_t)(s * 29 + i * 3 + 0xa1);
	memcpy(p, &s, sizeof(s));
}

static void victim_io(struct blkfront *bf, uint8_t op, uint8_t *buf,
		      uint64_t off, size_t len)
{
	struct blkfront_io io = { .op = op, .offset = off, .buf = buf,
				  .len = len }, *done;

	if (blkfront_submit(bf, 0, &io) ||
	    blkfront_complete(bf, 0, &done, 1, 10000) != 1 || io.status)
		FAIL("victim: I/O op %u at %llu: %d", op,
		     (unsigned long long)off, io.status);
}

static struct blkfront *victim_open(void)
{
	struct blkfront_opts o = { .nr_queues = 4, .ring_order = 0 };
	struct blkfront_info info;
	struct blkfront *bf;
	int rc = blkfront_open(dom, xs, NULL, &o, &bf);

	if (rc)
		FAIL("victim: blkfront_open: %s", strerror(-rc));
	blkfront_get_info(bf, &info);
	if (!info.persistent)
		FAIL("victim: persistent grants not negotiated");
	return bf;
}

static void mode_victim(void)
{
	uint8_t *filler = pvio_dom_alloc_pages(dom, 1), *small, *buf;
	size_t len = (size_t)VICTIM_PAGES * PVIO_PAGE_SIZE;
	struct blkfront *bf;
	pvio_grant_ref_t ref = 0;
	uint8_t want[SECT];
	int fd;

	/* a first use of the disk: open, write, close */
	bf = victim_open();
	small = blkfront_alloc(bf, 4096);
	if (!small || !filler)
		FAIL("victim: pages");
	memset(small, 0x33, 4096);
	victim_io(bf, BLKFRONT_OP_WRITE, small, 1 << 20, 4096);
	blkfront_close(bf);

	/* the second: data pages whose refs reach across 16383 */
	bf = victim_open();
	while (ref + 1 < VICTIM_FIRST_REF)
		if (pvio_gnttab_grant(dom, 0, pvio_dom_gfn(dom, filler), true,
				      &ref))
			FAIL("victim: filler grant");
	buf = blkfront_alloc(bf, len);
	if (!buf)
		FAIL("victim: buffer");
	for (uint64_t s = 0; s < len / SECT; s++)
		stamp(buf + s * SECT, s);
	for (size_t off = 0; off < len; off += 4 * PVIO_PAGE_SIZE)
		victim_io(bf, BLKFRONT_OP_WRITE, buf + off, off,
			  4 * PVIO_PAGE_SIZE);
	memset(buf, 0, len);
	for (size_t off = 0; off < len; off += 4 * PVIO_PAGE_SIZE)
		victim_io(bf, BLKFRONT_OP_READ, buf + off, off,
			  4 * PVIO_PAGE_SIZE);
	for (uint64_t s = 0; s < len / SECT; s++) {
		stamp(want, s);
		if (memcmp(buf + s * SECT, want, SECT))
			FAIL("victim: sector %llu read back wrong",
			     (unsigned long long)s);
	}
	victim_io(bf, BLKFRONT_OP_FLUSH, NULL, 0, 0);
	blkfront_close(bf);

	/* known memory, then the attack */
	for (unsigned int p = 0; p < VICTIM_PAGES; p++)
		for (unsigned int i = 0; i < PVIO_PAGE_SIZE; i++)
			buf[p * PVIO_PAGE_SIZE + i] = pattern(p, i);
	printf("victim: %u pages written and verified, disk closed, waiting\n",
	       VICTIM_PAGES);
	sync_mark("victim-ready");
	sync_wait("attack-done", 60);

	for (unsigned int p = 0; p < VICTIM_PAGES; p++)
		for (unsigned int i = 0; i < PVIO_PAGE_SIZE; i++)
			if (buf[p * PVIO_PAGE_SIZE + i] != pattern(p, i))
				FAIL("victim: memory changed: page %u byte %u is %#x, was %#x",
				     p, i, buf[p * PVIO_PAGE_SIZE + i],
				     pattern(p, i));
	fd = open(opt.file, O_RDONLY);
	if (fd < 0)
		FAIL("victim: open %s: %s", opt.file, strerror(errno));
	for (uint64_t s = 0; s < len / SECT; s++) {
		uint8_t got[SECT];

		stamp(want, s);
		if (pread(fd, got, SECT, (off_t)(s * SECT)) != SECT ||
		    memcmp(got, want, SECT))
			FAIL("victim: disk sector %llu changed",
			     (unsigned long long)s);
	}
	close(fd);
	printf("victim: memory and disk exact after the attack\n");
}

/* ---- attackers ---- */

static struct blk_raw raw;
static bool keep_going;		/* a wrong answer is counted, not fatal */
static unsigned int nr_failed;

static void raw_open(struct blk_raw *b, const char *vdev, unsigned int nq,
		     unsigned int order)
{
	int rc = blk_raw_open(b, dom, xs, vdev, nq, order, true);

	if (rc)
		FAIL("connect %s: %s %s", vdev, strerror(-rc), b->error);
}

static union blkif_request_any rw(uint8_t op, uint64_t sector,
				  unsigned int nseg, uint32_t gref)
{
	union blkif_request_any r;

	memset(&r, 0, sizeof(r));
	r.rw.operation = op;
	r.rw.sector_number = sector;
	r.rw.nr_segments = nseg;
	for (unsigned int i = 0; i < nseg; i++) {
		r.rw.seg[i].gref = gref;
		r.rw.seg[i].last_sect = 7;
	}
	return r;
}

static union blkif_request_any indirect(uint8_t op, unsigned int nseg,
					uint32_t ind_gref)
{
	union blkif_request_any r;

	memset(&r, 0, sizeof(r));
	r.indirect.operation = BLKIF_OP_INDIRECT;
	r.indirect.indirect_op = op;
	r.indirect.nr_segments = nseg;
	r.indirect.indirect_grefs[0] = ind_gref;
	return r;
}

/* Run @n requests at once on queue @qi of @b; every answer must be @want. */
static void expect_all(struct blk_raw *b, unsigned int qi,
		       union blkif_request_any *req, unsigned int n,
		       int16_t want, const char *what)
{
	int16_t st[64];
	int rc = blk_raw_run(b, qi, req, n, st, 20000);

	if (rc)
		FAIL("%s: %s", what, strerror(-rc));
	for (unsigned int i = 0; i < n; i++) {
		if (st[i] == want)
			continue;
		fprintf(stderr, "FAIL: %s: queue %u request %u answered %d, want %d\n",
			what, qi, i, st[i], want);
		/* go on: the victim's and the script's checks tell the rest */
		if (!keep_going)
			exit(1);
		nr_failed++;
	}
}

/* @r on every queue of the disk under attack, each answered @want. */
static void expect1(union blkif_request_any r, int16_t want, const char *what)
{
	for (unsigned int qi = 0; qi < raw.nr_queues; qi++)
		expect_all(&raw, qi, &r, 1, want, what);
	printf("ok: %s -> %d on %u queue(s)\n", what, want, raw.nr_queues);
}

/* The attacker's own disk still reads as the script filled it (0xee). */
static void own_read_check(struct blk_raw *b)
{
	uint8_t *page = pvio_dom_alloc_pages(dom, 1);
	pvio_grant_ref_t ref = blk_raw_grant(b, page, false);
	union blkif_request_any r = rw(BLKIF_OP_READ, 0, 1, ref);

	expect_all(b, 0, &r, 1, BLKIF_RSP_OKAY, "own read");
	for (unsigned int i = 0; i < PVIO_PAGE_SIZE; i++)
		if (page[i] != 0xee)
			FAIL("own disk byte %u is %#x, want 0xee", i, page[i]);
}

/* One connection: every request naming ref 0xffffffff, on every queue. */
static void stale_round(void)
{
	union blkif_request_any r;

	raw_open(&raw, "51712", BLK_RAW_MAX_QUEUES, 0);
	expect1(rw(BLKIF_OP_WRITE, 0, 1, 0xffffffffu), BLKIF_RSP_ERROR,
		"WRITE from grant 0xffffffff");
	expect1(rw(BLKIF_OP_READ, 8, 1, 0xffffffffu), BLKIF_RSP_ERROR,
		"READ into grant 0xffffffff");
	expect1(rw(BLKIF_OP_WRITE, 16, 11, 0xffffffffu), BLKIF_RSP_ERROR,
		"WRITE of 11 segments from 0xffffffff");
	expect1(rw(BLKIF_OP_READ, 16, 11, 0xffffffffu), BLKIF_RSP_ERROR,
		"READ of 11 segments into 0xffffffff");
	r = rw(BLKIF_OP_READ, 0, 2, 0xffffffffu);
	r.rw.seg[1].gref = 0xfffffffeu;
	expect1(r, BLKIF_RSP_ERROR, "READ into 0xffffffff, 0xfffffffe");
	own_read_check(&raw);
	printf("ok: own disk reads back as it was\n");
	blk_raw_close(&raw);
}

static void mode_stale(void)
{
	sync_wait("victim-ready", 60);
	/*
	 * Every queue, and several connections: each gets fresh tables and
	 * scratch from blkback's heap, which may be memory the victim's
	 * queues freed.
	 */
	keep_going = true;
	for (int round = 0; round < 4; round++)
		stale_round();
	sync_mark("attack-done");
	if (nr_failed)
		FAIL("%u requests naming 0xffffffff were served", nr_failed);
}

static void mode_detach(void)
{
	int st;

	raw_open(&raw, "51712", 1, 0);
	/* back to Initialised: the backend serves us, we have not said so */
	if (xenbus_switch_state(xs, raw.fe, XenbusStateInitialised))
		FAIL("cannot write %s/state", raw.fe);
	sync_mark("initialised");
	st = xenbus_wait_state(xs, raw.be, XENBUS_STATE_BIT(XenbusStateClosing) |
			       XENBUS_STATE_BIT(XenbusStateClosed), 30000);
	if (st != XenbusStateClosing)
		FAIL("on detach the backend went to state %d, not Closing (5)",
		     st);
	own_read_check(&raw);
	printf("ok: a read issued while the backend was Closing was answered\n");
	blk_raw_close(&raw);
	st = xenbus_read_state(xs, raw.be);
	if (st != XenbusStateClosed && st != XenbusStateUnknown)
		FAIL("the backend is in state %d after we closed", st);
}

static void mode_stale_indirect(void)
{
	raw_open(&raw, "51712", BLK_RAW_MAX_QUEUES, 0);
	expect1(indirect(BLKIF_OP_READ, 1, 0xffffffffu), BLKIF_RSP_ERROR,
		"INDIRECT READ, indirect page 0xffffffff");
	expect1(indirect(BLKIF_OP_WRITE, 8, 0xffffffffu), BLKIF_RSP_ERROR,
		"INDIRECT WRITE, indirect page 0xffffffff");
	expect1(indirect(BLKIF_OP_READ, 256, 0xffffffffu), BLKIF_RSP_ERROR,
		"INDIRECT READ of 256 segments, indirect page 0xffffffff");
	own_read_check(&raw);
	printf("ok: ring still serves the domain's own disk\n");
	blk_raw_close(&raw);
}

/*
 * One batch of 32 INDIRECT requests that all name one freshly granted
 * indirect page, whose only segment is invalid (no I/O happens).
 */
static void dup_indirect_batch(struct blk_raw *b, uint32_t data_ref)
{
	union blkif_request_any req[32];
	struct blkif_request_segment *ind = pvio_dom_alloc_pages(dom, 1);
	pvio_grant_ref_t ref;

	if (!ind)
		FAIL("indirect page");
	ind[0].gref = data_ref;
	ind[0].first_sect = 9;		/* past the page: invalid */
	ind[0].last_sect = 9;
	ref = blk_raw_grant(b, ind, true);
	for (unsigned int i = 0; i < 32; i++)
		req[i] = indirect(BLKIF_OP_READ, 1, ref);
	expect_all(b, 0, req, 32, BLKIF_RSP_ERROR, "duplicate indirect pages");
}

static void mode_dupind(void)
{
	uint8_t *page = pvio_dom_alloc_pages(dom, 1);
	pvio_grant_ref_t data_ref;

	raw_open(&raw, "51712", 1, 0);
	data_ref = blk_raw_grant(&raw, page, false);
	for (int i = 0; i < 100; i++)
		dup_indirect_batch(&raw, data_ref);
	printf("ok: 100 batches of 32 requests on one indirect page refused\n");
	sync_mark("flooded");
	sync_wait("checked", 30);
	own_read_check(&raw);
	blk_raw_close(&raw);
	printf("ok: disk closed\n");
	sync_mark("closed");
	sync_wait("done", 30);
}

/* READs of 11 distinct fresh pages each, @n of them, for one push. */
static void distinct_batch(struct blk_raw *b, union blkif_request_any *req,
			   unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		uint8_t *pages = pvio_dom_alloc_pages(dom, 11);

		if (!pages)
			FAIL("pages for request %u", i);
		req[i] = rw(BLKIF_OP_READ, (i % 64) * 8, 11, 0);
		for (unsigned int j = 0; j < 11; j++)
			req[i].rw.seg[j].gref =
				blk_raw_grant(b, pages + j * PVIO_PAGE_SIZE,
					      false);
	}
}

/*
 * @rounds times, 32 READs of distinct pages on each of two disks at once:
 * far more pages than the domain may keep, and in flight, together.
 */
static void distinct_reads(struct blk_raw *a, struct blk_raw *b,
			   unsigned int rounds)
{
	union blkif_request_any ra[32], rb[32];
	int16_t st[32];

	for (unsigned int r = 0; r < rounds; r++) {
		distinct_batch(a, ra, 32);
		distinct_batch(b, rb, 32);
		if (blk_raw_push(b, 0, rb, 32))
			FAIL("push");
		expect_all(a, 0, ra, 32, BLKIF_RSP_OKAY, "distinct reads");
		if (blk_raw_collect(b, 0, 32, st, 20000))
			FAIL("distinct reads on the second disk: no answer");
		for (unsigned int i = 0; i < 32; i++)
			if (st[i] != BLKIF_RSP_OKAY)
				FAIL("distinct reads, second disk: %d", st[i]);
	}
}

static void mode_flood(void)
{
	struct blk_raw second, third;
	uint8_t *page = pvio_dom_alloc_pages(dom, 1);
	pvio_grant_ref_t data_ref;
	int rc;

	raw_open(&raw, "51712", 1, 0);
	raw_open(&second, "51728", 1, 0);
	data_ref = blk_raw_grant(&raw, page, false);
	/* far more distinct pages than the domain may keep persistently */
	distinct_reads(&raw, &second, 4);
	printf("ok: 2816 distinct pages read over two disks at once\n");
	/* the duplicate indirect pages of a leak, over both disks */
	for (int i = 0; i < 50; i++) {
		dup_indirect_batch(&raw, data_ref);
		dup_indirect_batch(&second, data_ref);
	}
	printf("ok: 100 batches of duplicate indirect pages refused\n");
	/* a third disk would pass the domain's ring-page limit */
	rc = blk_raw_open(&third, dom, xs, "51744", 1, 4, true);
	if (rc != -ECONNREFUSED || !strstr(third.error, "limit"))
		FAIL("third disk past the ring-page limit: %s (%s)",
		     strerror(-rc), third.error);
	printf("ok: third disk refused: %s\n", third.error);
	sync_mark("flooded");
	sync_wait("checked", 60);
	/* the domain's own disks still work after its limits were hit */
	own_read_check(&raw);
	own_read_check(&second);
	blk_raw_close(&raw);
	blk_raw_close(&second);
	sync_mark("closed");
	sync_wait("done", 30);
}

/* ---- dom0: live mappings of a domain's grants ---- */

static int mode_maps(const char *name)
{
	struct pvio_domain_info *v;
	struct pvio_hv *hv;
	unsigned int n;
	int rc = pvio_hv_open(NULL, &hv);

	if (rc)
		FAIL("hv: %s", strerror(-rc));
	rc = pvio_domain_list(hv, &v, &n);
	if (rc < 0)
		FAIL("list: %s", strerror(-rc));
	for (unsigned int i = 0; i < n; i++)
		if (!strcmp(v[i].name, name)) {
			printf("%u\n", v[i].nr_grant_maps);
			return 0;
		}
	FAIL("no domain %s", name);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "sync", required_argument, NULL, 's' },
		{ "file", required_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	const char *mode;
	int c, rc;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 's': opt.sync = optarg; break;
		case 'f': opt.file = optarg; break;
		default: return 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "usage: blk_attack [--sync DIR] [--file IMG] MODE\n");
		return 2;
	}
	mode = argv[optind];
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(mode, "maps"))
		return optind + 1 < argc ? mode_maps(argv[optind + 1]) : 2;
	if (!opt.sync)
		opt.sync = getenv("PVIO_RUNDIR");
	rc = pvio_dom_attach(NULL, PVIO_DOMID_SELF, &dom);
	if (rc)
		FAIL("attach: %s", strerror(-rc));
	rc = xs_open_domain(dom, &xs);
	if (rc)
		FAIL("store ring: %s", strerror(-rc));
	if (!strcmp(mode, "victim") && opt.file)
		mode_victim();
	else if (!strcmp(mode, "stale"))
		mode_stale();
	else if (!strcmp(mode, "stale-ind"))
		mode_stale_indirect();
	else if (!strcmp(mode, "dupind"))
		mode_dupind();
	else if (!strcmp(mode, "flood"))
		mode_flood();
	else if (!strcmp(mode, "detach"))
		mode_detach();
	else
		FAIL("unknown mode %s (or --file missing)", mode);
	xs_close(xs);
	pvio_dom_detach(dom);
	return 0;
}
