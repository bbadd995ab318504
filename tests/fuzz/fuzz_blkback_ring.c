/*
 * Fuzz harness of blkback's whole ring pass (blkback_ring.c with its
 * persistent-grant tables and per-domain accounting): copy out of the
 * ring, validation, persistent and indirect mapping, batching, barriers,
 * completion and teardown, over simulated guest memory (fuzz_guest.c).
 *
 * Each input is one story. First an honest domain uses a disk of its own
 * with persistent grants and indirect requests, disconnects and keeps
 * running: from then on all of its memory is guarded, so that any byte of
 * it blkback reads or writes faults. Then the attacker's disk connects
 * (persistent or not, limits, sector size from the input) and the input
 * plays the attacker: requests (plausible or raw bytes) written into the
 * ring, req_prod published (also out of range), grant entries rewritten
 * or revoked, indirect pages rewritten, queue turns, I/O completions in
 * any order with any result. At the end everything completes, the queue
 * stops and the harness checks that every request taken was answered
 * once, that no mapping and no per-domain count is left.
 *
 * The I/O engine is simulated: it checks that every iovec lies inside the
 * attacker's memory (the view it was mapped through) and within the disk,
 * then copies the bytes.
 *
 * Built with clang -fsanitize=fuzzer it is a libFuzzer target; otherwise
 * main() runs a deterministic smoke campaign as a unit test.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "../../backends/blkback/blkback.h"
#include "fuzz_guest.h"
#include "fuzz_in.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define DISK_SECTORS	2048u		/* 1 MiB */
#define ATT_DOM		3
#define HON_DOM		4
#define OTHER_DOM	9		/* grants to someone else */
#define ATT_PAGES	40
#define HON_PAGES	16
#define RING_REF	8		/* both domains: ring in frame 1 */
#define FIRST_REF	9		/* data/indirect refs from here */
#define MAX_TURNS	400

static struct blkback_ctx ctx;
static struct blkback_disk disk;
static struct fg_dom *att, *hon;
static uint8_t sim_disk[DISK_SECTORS * 512];
static bool ring_broken;

/* ---- what blkback_ring.c needs from the rest of the daemon ---- */

void blkback_disk_broken(struct blkback_disk *d, const char *why)
{
	ring_broken = true;
}

/* the store: discards land on the simulated disk */
static int sim_discard(struct blkback_disk *d, uint64_t sector,
		       uint64_t nr_sectors)
{
	if (sector > DISK_SECTORS || nr_sectors > DISK_SECTORS - sector)
		fg_finding("discard of %llu+%llu passed validation",
			   (unsigned long long)sector,
			   (unsigned long long)nr_sectors);
	memset(sim_disk + sector * 512, 0, nr_sectors * 512);
	return 0;
}

static const struct blkback_store_ops sim_store = {
	.name = "sim",
	.discard = sim_discard,
};

/* ---- a simulated I/O engine ---- */

struct sim_op {
	bool used, write, flush;
	struct iovec iov[BLKBACK_MAX_SEGS];
	unsigned int iovcnt;
	uint64_t off, tag;
};

static struct {
	struct sim_op op[32];		/* a ring of order 0 */
	unsigned int depth, pending;
	/* set by the input before a turn */
	unsigned int budget;	/* completions the next reap may return */
	uint8_t pick;		/* which pending op completes first */
	uint8_t result;		/* 0 full, 1 short, 2 -EIO */
} sim;

static int sim_init(struct blkback_engine *e, struct blkback_disk *dk,
		    unsigned int queue, unsigned int depth)
{
	if (depth > sizeof(sim.op) / sizeof(sim.op[0]))
		return -ENOMEM;
	memset(sim.op, 0, sizeof(sim.op));
	sim.depth = depth;
	sim.pending = 0;
	e->priv = sim.op;
	e->depth = depth;
	return 0;
}

static void sim_fini(struct blkback_engine *e)
{
	sim.depth = 0;
	e->priv = NULL;
}

static int sim_queue(bool write, bool flush, const struct iovec *iov,
		     unsigned int iovcnt, uint64_t off, uint64_t tag)
{
	for (unsigned int i = 0; i < sim.depth; i++) {
		struct sim_op *o = &sim.op[i];

		if (o->used)
			continue;
		if (iovcnt > BLKBACK_MAX_SEGS)
			fg_finding("%u iovecs in one operation", iovcnt);
		*o = (struct sim_op){ .used = true, .write = write,
				      .flush = flush, .iovcnt = iovcnt,
				      .off = off, .tag = tag };
		if (iovcnt)
			memcpy(o->iov, iov, iovcnt * sizeof(*iov));
		sim.pending++;
		return 0;
	}
	return -EAGAIN;
}

static int sim_prep_rw(struct blkback_engine *e, int fd, bool write,
		       const struct iovec *iov, unsigned int iovcnt,
		       uint64_t offset, uint64_t tag)
{
	return sim_queue(write, false, iov, iovcnt, offset, tag);
}

static int sim_prep_flush(struct blkback_engine *e, int fd, uint64_t tag)
{
	return sim_queue(false, true, NULL, 0, 0, tag);
}

static int sim_submit(struct blkback_engine *e)
{
	return 0;
}

/* The bytes at [p, p + len) lie in the served domain's RAM, in one view. */
static bool in_served(const void *p, size_t len, bool need_rw)
{
	const struct fg_dom *d = fg_dom_get(fg.served);
	uintptr_t b = (uintptr_t)p, rw = (uintptr_t)d->rw, ro = (uintptr_t)d->ro;
	size_t bytes = (size_t)d->nr_pages * PVIO_PAGE_SIZE;

	if (b >= rw && len <= bytes && b - rw <= bytes - len)
		return true;
	return !need_rw && b >= ro && len <= bytes && b - ro <= bytes - len;
}

static uint64_t nr_io;		/* I/Os the engine carried out */

static int64_t sim_do(struct sim_op *o)
{
	uint64_t off = o->off, total = 0;

	if (o->flush)
		return 0;
	for (unsigned int i = 0; i < o->iovcnt; i++) {
		const struct iovec *v = &o->iov[i];

		/* a READ writes guest memory: only through a writable view */
		if (!in_served(v->iov_base, v->iov_len, !o->write))
			fg_finding("iovec %p+%zu outside the served domain%s",
				   v->iov_base, v->iov_len,
				   o->write ? "" : "'s writable view");
		if (off + v->iov_len > sizeof(sim_disk) || off + v->iov_len < off)
			fg_finding("I/O at %llu+%zu beyond the disk",
				   (unsigned long long)off, v->iov_len);
		if (o->write)
			memcpy(sim_disk + off, v->iov_base, v->iov_len);
		else
			memcpy(v->iov_base, sim_disk + off, v->iov_len);
		off += v->iov_len;
		total += v->iov_len;
	}
	nr_io++;
	if (sim.result == 1 && total)
		return (int64_t)total - 1;
	if (sim.result == 2)
		return -EIO;
	return (int64_t)total;
}

static int sim_reap(struct blkback_engine *e, struct blkback_cqe *cqe,
		    unsigned int max)
{
	unsigned int n = 0;

	while (n < max && sim.pending && sim.budget) {
		unsigned int i = sim.pick % sim.depth;

		while (!sim.op[i].used)
			i = (i + 1) % sim.depth;
		cqe[n].tag = sim.op[i].tag;
		cqe[n].res = sim_do(&sim.op[i]);
		sim.op[i].used = false;
		sim.pending--;
		sim.budget--;
		sim.pick = (uint8_t)(sim.pick * 13 + 7);
		n++;
	}
	return (int)n;
}

static int sim_event_fd(struct blkback_engine *e)
{
	return -1;
}

static const struct blkback_engine_ops sim_engine = {
	.name = "sim",
	.init = sim_init,
	.fini = sim_fini,
	.prep_rw = sim_prep_rw,
	.prep_flush = sim_prep_flush,
	.submit = sim_submit,
	.reap = sim_reap,
	.event_fd = sim_event_fd,
};

/* ---- a connection of one domain's disk ---- */

static struct pvio_front_ring front;	/* the frontend's view */

static void connect(struct fg_dom *d, bool persistent, uint32_t sector_size)
{
	struct blkback_queue *q = &disk.queue[0];
	struct pvio_gnt_map ring = { .dom = d->domid, .ref = RING_REF };

	fg.served = d->domid;
	fg_grant(d, RING_REF, 0, 1, false);
	pvio_sring_init(fg_page(d, 1));
	pvio_front_ring_init(&front, fg_page(d, 1),
			     blkif_ring_ents(PVIO_PAGE_SIZE));
	memset(&disk, 0, sizeof(disk));
	disk.ctx = &ctx;
	disk.fe_domid = d->domid;
	disk.fd = disk.fd_buffered = -1;
	disk.engine_ops = &sim_engine;
	disk.store = &sim_store;
	disk.persistent = persistent;
	disk.lim = (struct blkif_limits){
		.sectors = DISK_SECTORS, .sector_size = sector_size,
		.max_indirect_segs = BLKBACK_MAX_INDIRECT_SEGS,
		.discard = true,
	};
	snprintf(disk.be_path, sizeof(disk.be_path), "fuzz/%u", d->domid);
	disk.front = blkback_front_get(&ctx, d->domid);
	disk.nr_queues = 1;
	memset(q, 0, sizeof(*q));
	q->disk = &disk;
	q->stop_fd = q->evtchn_fd = -1;
	if (pvio_gnttab_map(NULL, &ring, 1) || ring.status != GNTST_okay)
		fg_finding("cannot map the ring");
	q->ring_pages = 1;
	q->ring_page_addr[0] = q->ring_addr = ring.addr;
	q->ring_handle[0] = ring.handle;
	q->ring.sring = ring.addr;
	q->ring.nr_ents = blkif_ring_ents(PVIO_PAGE_SIZE);
	if (blkback_queue_init(q))
		fg_finding("queue init failed");
	ring_broken = false;
}

/* Everything in flight completes; the queue stops; nothing may be left. */
static void disconnect(void)
{
	struct blkback_queue *q = &disk.queue[0];
	struct pvio_gnt_map ring = {
		.dom = disk.fe_domid, .ref = RING_REF,
		.addr = q->ring_page_addr[0], .handle = q->ring_handle[0],
	};
	struct blkback_front *f = disk.front;

	for (int i = 0; i < 64 && (sim.pending || q->held); i++) {
		sim.budget = UINT32_MAX;
		sim.result = 0;
		blkback_queue_turn(q, !ring_broken);
	}
	/* every request taken was answered once (a held barrier waits) */
	if (!ring_broken &&
	    q->ring.rsp_prod_pvt + (q->held ? 1 : 0) != q->ring.req_cons)
		fg_finding("%u requests taken, %u answered",
			   q->ring.req_cons, q->ring.rsp_prod_pvt);
	blkback_queue_stop(q);
	if (f->nr_pgrants || f->nr_reqs || f->nr_segs)
		fg_finding("domain accounting left: %u grants %u requests %u pages",
			   f->nr_pgrants, f->nr_reqs, f->nr_segs);
	pvio_gnttab_unmap(NULL, &ring, 1);
	blkback_front_put(&ctx, f);
	disk.front = NULL;
	fg_check_no_maps("after the disk disconnected");
}

/* Put @r on the ring and publish it. */
static void put(const union blkif_request_any *r)
{
	*blkif_front_req(&front, front.req_prod_pvt) = *r;
	front.req_prod_pvt++;
}

static void publish(void)
{
	PVIO_WMB();
	front.sring->req_prod = front.req_prod_pvt;
}

/* ---- the honest domain's story, the same every time ---- */

static void honest_story(void)
{
	struct blkback_queue *q = &disk.queue[0];
	struct blkif_request_segment *ind;
	union blkif_request_any r;

	connect(hon, true, 512);
	for (uint32_t i = 0; i < 8; i++) {
		fg_grant(hon, FIRST_REF + i, 0, 2 + i, false);
		memset(fg_page(hon, 2 + i), 0x40 + (int)i, PVIO_PAGE_SIZE);
	}
	fg_grant(hon, FIRST_REF + 8, 0, 10, true);	/* indirect page */
	ind = fg_page(hon, 10);
	for (unsigned int i = 0; i < 8; i++)
		ind[i] = (struct blkif_request_segment){
			.gref = FIRST_REF + i, .first_sect = 0, .last_sect = 7 };
	memset(&r, 0, sizeof(r));
	r.rw.operation = BLKIF_OP_WRITE;
	r.rw.nr_segments = 8;
	for (unsigned int i = 0; i < 8; i++)
		r.rw.seg[i] = ind[i];
	put(&r);
	memset(&r, 0, sizeof(r));
	r.indirect.operation = BLKIF_OP_INDIRECT;
	r.indirect.indirect_op = BLKIF_OP_READ;
	r.indirect.nr_segments = 8;
	r.indirect.sector_number = 64;
	r.indirect.indirect_grefs[0] = FIRST_REF + 8;
	put(&r);
	publish();
	sim.budget = UINT32_MAX;
	sim.result = 0;
	blkback_queue_turn(q, true);
	blkback_queue_turn(q, true);
	if (q->ring.rsp_prod_pvt != 2)
		fg_finding("the honest domain's requests were not answered");
	disconnect();
	/* the honest domain keeps running; blkback must never touch it again */
	fg_guard(hon, true);
}

/* ---- the attacker's story, from the input ---- */

/* A grant ref an attacker might name. */
static uint32_t pick_ref(struct in *in)
{
	uint8_t b = byte(in);

	switch (b >> 5) {
	case 0:
		return 0xffffffffu;
	case 1:
		return b & 7;			/* reserved refs */
	case 2:
		return FIRST_REF + 8;		/* the honest domain's indirect ref */
	case 3:
		return u32(in);
	default:
		return FIRST_REF + (b & 31);	/* the attacker's own */
	}
}

static void plausible_request(struct in *in)
{
	static const uint8_t ops[] = {
		BLKIF_OP_READ, BLKIF_OP_WRITE, BLKIF_OP_INDIRECT,
		BLKIF_OP_FLUSH_DISKCACHE, BLKIF_OP_WRITE_BARRIER,
		BLKIF_OP_DISCARD, BLKIF_OP_INDIRECT, BLKIF_OP_READ,
	};
	union blkif_request_any r;
	uint8_t kind = byte(in), nseg = byte(in);
	uint64_t sector = (uint64_t)byte(in) << 3 | (byte(in) & 7);

	memset(&r, 0, sizeof(r));
	r.rw.operation = ops[kind & 7];
	r.rw.id = kind;
	if (r.rw.operation == BLKIF_OP_INDIRECT) {
		r.indirect.indirect_op = kind & 8 ? BLKIF_OP_WRITE : BLKIF_OP_READ;
		r.indirect.nr_segments = nseg & 0x80 ? nseg : (nseg & 31) + 1;
		r.indirect.sector_number = sector;
		for (unsigned int i = 0; i < 1u + ((kind >> 4) & 1u); i++)
			r.indirect.indirect_grefs[i] = pick_ref(in);
	} else if (r.rw.operation == BLKIF_OP_DISCARD) {
		r.discard.sector_number = sector;
		r.discard.nr_sectors = byte(in);
		r.discard.flag = kind >> 7;
	} else {
		r.rw.nr_segments = nseg % 13;
		r.rw.sector_number = sector;
		for (unsigned int i = 0; i < r.rw.nr_segments && i < 11; i++) {
			uint8_t s = byte(in);

			r.rw.seg[i].gref = pick_ref(in);
			r.rw.seg[i].first_sect = s & 7;
			r.rw.seg[i].last_sect = s & 0x80 ? (s >> 3) & 15 : 7;
		}
	}
	put(&r);
}

static void attacker_story(struct in *in)
{
	struct blkback_queue *q;
	uint8_t hdr = byte(in);
	uint32_t turns = 0;

	ctx.dom_lim = (struct blkback_dom_limits){
		.max_pgrants = byte(in) % 80,
		.max_reqs = 1 + byte(in) % 40,
		.max_segs = BLKBACK_REQ_MAX_PAGES + byte(in),
		.max_ring_pages = 16,
	};
	/*
	 * The attacker's grants, refs FIRST_REF..+31: by default frames 2..,
	 * the last four read-only, to another domain, never granted, and a
	 * second ref of a frame; or each from the input.
	 */
	for (uint32_t i = 0; i < 32; i++) {
		uint8_t g = hdr & 0x40 ? byte(in) :
			    i < 28 ? (uint8_t)i : i == 28 ? 0xc0 | 28 :
			    i == 29 ? 0xe0 | 29 : i == 30 ? 0xf0 : 0;

		if ((g & 0xf0) == 0xf0)
			continue;	/* never granted */
		fg_grant(att, FIRST_REF + i, (g & 0xe0) == 0xe0 ? OTHER_DOM : 0,
			 2 + (g & 0x3f) % (ATT_PAGES - 2), (g & 0xe0) == 0xc0);
	}
	connect(att, hdr & 1, hdr & 2 ? 4096 : 512);
	q = &disk.queue[0];
	while (in->n && turns < MAX_TURNS) {
		uint8_t op = byte(in);

		switch (op % 11) {
		case 0:
		case 1:
			plausible_request(in);
			break;
		case 2: {
			union blkif_request_any r;

			for (size_t i = 0; i < sizeof(r); i++)
				((uint8_t *)&r)[i] = byte(in);
			put(&r);
			break;
		}
		case 3:
			publish();
			break;
		case 4:
			/* a producer index of the attacker's choosing */
			front.sring->req_prod = op & 0x80 ? u32(in) :
				front.sring->req_prod + (op >> 4);
			break;
		case 5:
		case 6:
			sim.budget = op >> 4;
			sim.pick = byte(in);
			sim.result = (op >> 3) & 1 ? byte(in) % 3 : 0;
			if (!blkback_queue_turn(q, !ring_broken))
				ring_broken = true;
			turns++;
			break;
		case 7: {
			/* rewrite segments of a page (an indirect page) */
			struct blkif_request_segment *seg =
				fg_page(att, 2 + byte(in) % (ATT_PAGES - 2));
			unsigned int at = byte(in) * 2;

			for (unsigned int i = 0; i < 4; i++) {
				uint32_t ref = pick_ref(in);
				uint8_t first = byte(in) & 7;

				seg[(at + i) % 512] = (struct blkif_request_segment){
					.gref = ref,
					.first_sect = first,
					.last_sect = byte(in) % 9,
				};
			}
			break;
		}
		case 8: {
			uint8_t g = byte(in);

			if (g & 1)
				fg_revoke(att, FIRST_REF + (g >> 3));
			else
				fg_grant(att, FIRST_REF + (g >> 3),
					 g & 2 ? OTHER_DOM : 0,
					 2 + byte(in) % (ATT_PAGES - 2), g & 4);
			break;
		}
		case 9: {
			/* a request slot rewritten after it was published */
			unsigned int at = byte(in) % front.nr_ents;
			uint8_t *slot = (uint8_t *)blkif_front_req(&front, at);

			slot[byte(in) % sizeof(union blkif_request_any)] = byte(in);
			break;
		}
		default:
			/* burst: a batch of requests naming one fresh indirect page */
			for (unsigned int i = 0, n = 1 + (op >> 3); i < n; i++) {
				union blkif_request_any r;

				memset(&r, 0, sizeof(r));
				r.indirect.operation = BLKIF_OP_INDIRECT;
				r.indirect.indirect_op = BLKIF_OP_READ;
				r.indirect.nr_segments = 1;
				r.indirect.indirect_grefs[0] = FIRST_REF + (op & 31);
				put(&r);
			}
			publish();
			break;
		}
	}
	disconnect();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct in in = { data, size };

	if (!att) {
		/*
		 * Once per process: the honest domain's story leaves a freed
		 * queue behind and its memory guarded for every input after.
		 */
		att = fg_dom_new(ATT_DOM, ATT_PAGES);
		hon = fg_dom_new(HON_DOM, HON_PAGES);
		ctx.dom_lim = (struct blkback_dom_limits){
			.max_pgrants = 64, .max_reqs = 64,
			.max_segs = BLKBACK_REQ_MAX_PAGES * 2,
			.max_ring_pages = 16,
		};
		honest_story();
	}
	fg_dom_clear(att);
	attacker_story(&in);
	if (ctx.fronts)
		fg_finding("an accounting entry outlived its disks");
	return 0;
}

#ifndef PVIO_LIBFUZZER
/*
 * The smoke campaign writes inputs as the attacker's story reads them:
 * mostly plausible requests on the attacker's own grants, publishes and
 * turns, with now and then a bad ref, a raw slot, a rewritten grant or
 * indirect page, a burst or a bogus producer index.
 */
static uint64_t rs = 0x9e3779b97f4a7c15ull;

static uint8_t rnd8(void)
{
	rs ^= rs << 13;
	rs ^= rs >> 7;
	rs ^= rs << 17;
	return (uint8_t)rs;
}

struct gen {
	uint8_t *buf;
	size_t n, cap;
};

static void emit(struct gen *g, uint8_t v)
{
	if (g->n < g->cap)
		g->buf[g->n++] = v;
}

/* A ref as pick_ref() reads it: mostly the attacker's own, @own if set. */
static void emit_ref(struct gen *g, int own)
{
	uint8_t b = rnd8();

	if (own >= 0 || b % 16) {
		emit(g, (uint8_t)(0x80 | (own >= 0 ? own : b & 31)));
		return;
	}
	emit(g, b);
	if (b >> 5 == 3)
		for (int i = 0; i < 4; i++)
			emit(g, rnd8());
}

/* A plausible request: op index 0..7 as the story's ops[] table. */
static void emit_request(struct gen *g, uint8_t opi, int ind_ref)
{
	uint8_t kind = (uint8_t)((rnd8() & 0xf8) | opi);
	uint8_t nseg = 1 + rnd8() % (rnd8() % 2 ? 3 : 11);

	emit(g, (uint8_t)(0 + 11 * (rnd8() % 23)));
	emit(g, kind);
	emit(g, rnd8() % 16 == 0 ? rnd8() : nseg);
	nseg = g->buf[g->n - 1];
	emit(g, rnd8() % 200);
	emit(g, rnd8());
	if (opi == 2 || opi == 6) {
		for (unsigned int i = 0; i < 1u + ((kind >> 4) & 1u); i++)
			emit_ref(g, ind_ref);
	} else if (opi == 5) {
		emit(g, rnd8());
	} else {
		for (unsigned int i = 0; i < nseg % 13 && i < 11; i++) {
			emit(g, rnd8() % 16 ? 0x07 : rnd8());
			emit_ref(g, -1);
		}
	}
}

static size_t gen_story(uint8_t *buf, size_t cap)
{
	struct gen g = { buf, 0, cap };

	/* persistent half the time, 4 KiB sectors and input grants rarely */
	emit(&g, (uint8_t)((rnd8() & 0xbd) | (rnd8() % 8 ? 0 : 2) |
			   (rnd8() % 8 ? 0 : 0x40)));
	for (int i = 0; i < 3; i++)
		emit(&g, rnd8());	/* limits */
	if (g.buf[0] & 0x40)
		for (int i = 0; i < 32; i++)
			emit(&g, rnd8());
	while (g.n + 64 < cap) {
		uint8_t w = rnd8();
		unsigned int k = rnd8() % 23;

		if (w < 90) {
			static const uint8_t rw[] = { 0, 1, 7, 3, 4, 5 };

			emit_request(&g, rw[rnd8() % sizeof(rw)], -1);
		} else if (w < 110) {
			/* an indirect page filled with own segments, then used */
			uint8_t r = rnd8() % 28;

			emit(&g, (uint8_t)(7 + 11 * k));
			emit(&g, r);			/* frame 2 + r */
			emit(&g, 0);			/* segments 0..3 */
			for (unsigned int i = 0; i < 4; i++) {
				emit_ref(&g, -1);
				emit(&g, rnd8() % 8 ? 0 : rnd8());
				emit(&g, rnd8() % 8 ? 7 : rnd8());
			}
			emit_request(&g, rnd8() % 2 ? 2 : 6, r);
		} else if (w < 150) {
			emit(&g, (uint8_t)(3 + 11 * k));	/* publish */
		} else if (w < 200) {
			emit(&g, (uint8_t)(5 + 11 * (4 + rnd8() % 19)));
			emit(&g, rnd8());
			emit(&g, rnd8() % 8 ? 0 : rnd8());
		} else if (w < 210) {
			emit(&g, (uint8_t)(10 + 11 * k));	/* burst */
		} else if (w < 220) {
			emit(&g, (uint8_t)(8 + 11 * k));	/* grant change */
			emit(&g, rnd8());
			emit(&g, rnd8());
		} else if (w < 235) {
			emit(&g, (uint8_t)(9 + 11 * k));	/* slot rewrite */
			emit(&g, rnd8());
			emit(&g, rnd8());
			emit(&g, rnd8());
		} else if (w < 250) {
			emit(&g, (uint8_t)(4 + 11 * k));	/* own req_prod */
			if (k * 11 + 4 >= 0x80)
				for (int i = 0; i < 4; i++)
					emit(&g, rnd8());
		} else {
			emit(&g, (uint8_t)(2 + 11 * k));	/* raw slot */
			for (size_t i = 0; i < sizeof(union blkif_request_any); i++)
				emit(&g, rnd8());
		}
	}
	/* the end: publish, a turn */
	emit(&g, 3);
	emit(&g, 5 + 11 * 20);
	emit(&g, 0);
	emit(&g, 0);
	return g.n;
}

int main(void)
{
	static uint8_t buf[2048];
	unsigned int runs = 30000;

	fg_quiet();
	for (unsigned int it = 0; it < runs; it++)
		LLVMFuzzerTestOneInput(buf, gen_story(buf, 128 + rnd8() * 7));
	printf("fuzz smoke: %u blkback ring stories, %llu grant maps, %llu I/Os, no finding\n",
	       runs, (unsigned long long)fg.nr_map_ops,
	       (unsigned long long)nr_io);
	/* a campaign that maps and moves nothing tests nothing */
	if (fg.nr_map_ops < runs || nr_io < runs)
		fg_finding("the smoke campaign barely reached the data path");
	return 0;
}
#endif
