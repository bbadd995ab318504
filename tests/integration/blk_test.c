/*
 * Integration test program for the block path: runs as a process domain
 * (started by `pvio create -F`, PVIO_DOMID set), opens its vbd through the
 * user-space blkfront, and checks one property per mode:
 *
 *   integrity  random non-overlapping writes (zero-copy and bounced, every
 *              queue, direct and indirect sizes) with per-sector stamps,
 *              verified through the stack and directly on the backing file
 *   features   the negotiated features match --expect-* options
 *   readonly   reads work, writes and discards are refused
 *   discard    a discarded range reads back zero (stack and file)
 *   flush      flush and barrier writes complete and land on the file
 *   restart    writes for --seconds while the test kills and restarts the
 *              backend: every acknowledged write is on the file, every
 *              request completes
 *   load       writes for --seconds (an honest domain beside an attacker):
 *              every one acknowledged, verified on the stack and the file
 *   sectors4k  a 4096-byte-sector disk: 4 KiB I/O works, data checks out
 *
 * Exit 0 pass, 1 fail.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pvio/blkfront.h"
#include "pvio/libpvio.h"
#include "pvio/xenbus.h"

#define SECT	512u

static struct {
	const char *mode, *file, *vdev;
	struct blkfront_opts o;
	int seconds;
	unsigned int expect_queues, expect_sector;
	int expect_persistent, expect_indirect;
	uint32_t seed;
} opt = { .o = { .ring_order = -1 }, .seconds = 5, .expect_persistent = -1,
	  .expect_indirect = -1, .seed = 1 };

static struct blkfront *bf;
static struct blkfront_info info;
static uint32_t *gen;		/* per 512-byte sector: last acknowledged stamp */
static uint8_t *busy;		/* per sector: a write is in flight */
static uint64_t nsect;

#define FAIL(...) do { fprintf(stderr, "FAIL: " __VA_ARGS__); \
	fprintf(stderr, "\n"); exit(1); } while (0)

static uint64_t rnd_state;
static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

/* The content of sector @s at stamp @g (g == 0: never written, zero). */
static void stamp(uint8_t *p, uint64_t s, uint32_t g)
{
	uint64_t x = (s * 0x9e3779b97f4a7c15ull) ^ ((uint64_t)g << 32) ^ opt.seed;

	if (!g) {
		memset(p, 0, SECT);
		return;
	}
	for (unsigned int i = 0; i < SECT; i += 8) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		memcpy(p + i, &x, 8);
	}
	memcpy(p, &s, 8);
	memcpy(p + 8, &g, 4);
}

static void check_sector(const uint8_t *p, uint64_t s, const char *where)
{
	uint8_t want[SECT];

	stamp(want, s, gen[s]);
	if (memcmp(p, want, SECT)) {
		uint64_t got_s;
		uint32_t got_g;

		memcpy(&got_s, p, 8);
		memcpy(&got_g, p + 8, 4);
		FAIL("%s: sector %llu: want stamp %u, found sector %llu stamp %u",
		     where, (unsigned long long)s, gen[s],
		     (unsigned long long)got_s, got_g);
	}
}

static int io_sync(struct blkfront_io *io, unsigned int q)
{
	struct blkfront_io *done;
	int rc = blkfront_submit(bf, q, io);

	if (rc)
		return rc;
	for (;;) {
		rc = blkfront_complete(bf, q, &done, 1, 20000);
		if (rc < 0)
			return rc;
		if (rc == 0)
			FAIL("I/O op %u at %llu timed out", io->op,
			     (unsigned long long)io->offset);
		if (done == io)
			return io->status;
		FAIL("unexpected completion");
	}
}

/* Read [s, s+n) through the stack and check every sector. */
static void verify_stack_range(uint64_t s, uint64_t n, uint8_t *buf)
{
	struct blkfront_io io = { .op = BLKFRONT_OP_READ, .offset = s * SECT,
				  .buf = buf, .len = n * SECT };
	int rc = io_sync(&io, 0);

	if (rc)
		FAIL("read %llu+%llu: %d", (unsigned long long)s,
		     (unsigned long long)n, rc);
	for (uint64_t i = 0; i < n; i++)
		check_sector(buf + i * SECT, s + i, "stack");
}

static void verify_stack(void)
{
	uint64_t chunk = 2048;	/* 1 MiB */
	uint8_t *buf = blkfront_alloc(bf, chunk * SECT);

	if (!buf)
		FAIL("alloc");
	for (uint64_t s = 0; s < nsect; s += chunk)
		verify_stack_range(s, nsect - s < chunk ? nsect - s : chunk, buf);
}

static void verify_file(void)
{
	int fd = open(opt.file, O_RDONLY);
	uint8_t buf[SECT * 64];

	if (fd < 0)
		FAIL("open %s: %s", opt.file, strerror(errno));
	for (uint64_t s = 0; s < nsect; s += 64) {
		uint64_t n = nsect - s < 64 ? nsect - s : 64;

		if (pread(fd, buf, n * SECT, s * SECT) != (ssize_t)(n * SECT))
			FAIL("pread %s", opt.file);
		for (uint64_t i = 0; i < n; i++)
			check_sector(buf + i * SECT, s + i, "file");
	}
	close(fd);
}

/* ---- a pool of concurrent writers ---- */

struct wio {
	struct blkfront_io io;
	uint8_t *buf;		/* the I/O buffer */
	size_t cap;
	uint32_t stamp;
	bool active;
};

static uint32_t next_stamp = 1;
static uint64_t nr_writes, nr_acked;

static void wio_prepare(struct wio *w, unsigned int max_sect, unsigned int align)
{
	for (int tries = 0; tries < 1000; tries++) {
		uint64_t n = 1 + rnd() % max_sect;
		uint64_t s;
		bool clash = false;

		n = (n + align - 1) / align * align;
		if (n > nsect)
			n = align;
		s = rnd() % (nsect - n + 1);
		s -= s % align;
		for (uint64_t i = s; i < s + n && !clash; i++)
			clash = busy[i];
		if (clash)
			continue;
		w->stamp = next_stamp++;
		for (uint64_t i = 0; i < n; i++) {
			busy[s + i] = 1;
			stamp(w->buf + i * SECT, s + i, w->stamp);
		}
		memset(&w->io, 0, sizeof(w->io));
		w->io.op = BLKFRONT_OP_WRITE;
		w->io.offset = s * SECT;
		w->io.len = n * SECT;
		w->io.buf = w->buf;
		w->io.user_data = (uintptr_t)w;
		w->active = true;
		return;
	}
	FAIL("no free range");
}

static void wio_done(struct wio *w)
{
	uint64_t s = w->io.offset / SECT, n = w->io.len / SECT;

	if (w->io.status)
		FAIL("write %llu+%llu: status %d", (unsigned long long)s,
		     (unsigned long long)n, w->io.status);
	for (uint64_t i = 0; i < n; i++) {
		gen[s + i] = w->stamp;
		busy[s + i] = 0;
	}
	w->active = false;
	nr_acked++;
}

/*
 * Keep @depth writes in flight per queue for @ms milliseconds (or @count
 * writes). Half the buffers are pre-granted (zero copy), half bounced.
 */
static void write_load(unsigned int depth, unsigned int max_sect, int ms,
		       uint64_t count, unsigned int align)
{
	unsigned int nq = info.nr_queues, total = depth * nq;
	struct wio *w = calloc(total, sizeof(*w));
	struct timespec t0, t;
	bool stop = false;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (unsigned int i = 0; i < total; i++) {
		w[i].cap = (size_t)max_sect * SECT + 4096;
		if (i % 2 == 0) {
			w[i].buf = blkfront_alloc(bf, w[i].cap);
		} else {
			/* bounced, and deliberately not page aligned */
			w[i].buf = aligned_alloc(4096, w[i].cap + 4096);
			if (w[i].buf && info.sector_size == 512)
				w[i].buf += 512;
		}
		if (!w[i].buf)
			FAIL("buffer");
	}
	for (;;) {
		for (unsigned int i = 0; i < total && !stop; i++) {
			if (w[i].active)
				continue;
			wio_prepare(&w[i], max_sect, align);
			if (blkfront_submit(bf, i % nq, &w[i].io))
				FAIL("submit");
			nr_writes++;
		}
		for (unsigned int q = 0; q < nq; q++) {
			struct blkfront_io *done[64];
			int n = blkfront_complete(bf, q, done, 64,
						  nq == 1 ? 100 : 0);

			if (n < 0)
				FAIL("complete: %d", n);
			for (int i = 0; i < n; i++)
				wio_done((struct wio *)(uintptr_t)done[i]->user_data);
		}
		clock_gettime(CLOCK_MONOTONIC, &t);
		if ((ms && (t.tv_sec - t0.tv_sec) * 1000 +
			   (t.tv_nsec - t0.tv_nsec) / 1000000 >= ms) ||
		    (count && nr_writes >= count))
			stop = true;
		if (stop) {
			bool any = false;

			for (unsigned int i = 0; i < total; i++)
				any |= w[i].active;
			if (!any)
				break;
			if ((t.tv_sec - t0.tv_sec) * 1000 > ms + 30000)
				FAIL("writes still in flight 30 s after the end");
		}
	}
	free(w);
}

static void do_flush(void)
{
	struct blkfront_io io = { .op = BLKFRONT_OP_FLUSH };
	int rc = io_sync(&io, 0);

	if (rc)
		FAIL("flush: %d", rc);
}

/* ---- modes ---- */

static void mode_integrity(void)
{
	/* small (direct) and large (indirect) writes, 512-byte granular */
	write_load(8, 16, 0, 300, 1);
	write_load(4, 512, 0, 60, 1);
	do_flush();
	verify_stack();
	verify_file();
	printf("integrity: %llu writes verified on %u queue(s), %s grants, indirect %u\n",
	       (unsigned long long)nr_acked, info.nr_queues,
	       info.persistent ? "persistent" : "per-request",
	       info.max_indirect_segs);
}

static void mode_features(void)
{
	if (opt.expect_queues && info.nr_queues != opt.expect_queues)
		FAIL("queues %u, want %u", info.nr_queues, opt.expect_queues);
	if (opt.expect_persistent >= 0 && info.persistent != opt.expect_persistent)
		FAIL("persistent %d, want %d", info.persistent, opt.expect_persistent);
	if (opt.expect_indirect >= 0 &&
	    info.max_indirect_segs != (unsigned int)opt.expect_indirect)
		FAIL("indirect %u, want %d", info.max_indirect_segs,
		     opt.expect_indirect);
	if (opt.expect_sector && info.sector_size != opt.expect_sector)
		FAIL("sector size %u, want %u", info.sector_size, opt.expect_sector);
	if (!info.flush || !info.barrier)
		FAIL("flush %d barrier %d", info.flush, info.barrier);
	/* exercise every queue with a 1 MiB write and read back */
	for (unsigned int q = 0; q < info.nr_queues; q++) {
		uint8_t *buf = blkfront_alloc(bf, 1 << 20);
		uint64_t s = (uint64_t)q * 2048;
		struct blkfront_io io = { .op = BLKFRONT_OP_WRITE, .offset = s * SECT,
					  .buf = buf, .len = 1 << 20 };

		if (!buf || s + 2048 > nsect)
			FAIL("setup");
		for (unsigned int i = 0; i < 2048; i++) {
			gen[s + i] = 7 + q;
			stamp(buf + i * SECT, s + i, gen[s + i]);
		}
		if (io_sync(&io, q))
			FAIL("write on queue %u: %d", q, io.status);
		memset(buf, 0, 1 << 20);
		io.op = BLKFRONT_OP_READ;
		if (io_sync(&io, q))
			FAIL("read on queue %u: %d", q, io.status);
		for (unsigned int i = 0; i < 2048; i++)
			check_sector(buf + i * SECT, s + i, "stack");
	}
	do_flush();
	verify_file();
	printf("features: %u queues, ring order %u (%u entries), persistent %d, indirect %u, sector %u\n",
	       info.nr_queues, info.ring_order, info.ring_entries,
	       info.persistent, info.max_indirect_segs, info.sector_size);
}

static void mode_readonly(void)
{
	uint8_t *buf = blkfront_alloc(bf, 4096);
	struct blkfront_io io = { .op = BLKFRONT_OP_READ, .buf = buf, .len = 4096 };
	int rc;

	if (!info.readonly)
		FAIL("disk not advertised read-only");
	if (io_sync(&io, 0))
		FAIL("read on a read-only disk: %d", io.status);
	io.op = BLKFRONT_OP_WRITE;
	rc = blkfront_submit(bf, 0, &io);
	if (rc != -EROFS)
		FAIL("frontend accepted a write on a read-only disk (%d)", rc);
	printf("readonly: reads ok, writes refused\n");
}

static void mode_discard(void)
{
	uint8_t *buf = blkfront_alloc(bf, 1 << 20);
	struct blkfront_io io = { .op = BLKFRONT_OP_WRITE, .offset = 1 << 20,
				  .buf = buf, .len = 1 << 20 };
	uint64_t s0 = 2048, d0 = 2048 + 512, dn = 1024;	/* discard 512 KiB inside */

	if (!info.discard)
		FAIL("discard not advertised");
	for (unsigned int i = 0; i < 2048; i++) {
		gen[s0 + i] = 3;
		stamp(buf + i * SECT, s0 + i, 3);
	}
	if (io_sync(&io, 0))
		FAIL("write: %d", io.status);
	memset(&io, 0, sizeof(io));
	io.op = BLKFRONT_OP_DISCARD;
	io.offset = d0 * SECT;
	io.len = dn * SECT;
	if (io_sync(&io, 0))
		FAIL("discard: %d", io.status);
	for (uint64_t i = d0; i < d0 + dn; i++)
		gen[i] = 0;
	verify_stack_range(s0, 2048, buf);
	verify_file();
	printf("discard: hole reads back zero, neighbours intact\n");
}

static void mode_flush(void)
{
	uint8_t *buf = blkfront_alloc(bf, 64 * 1024);
	struct blkfront_io io = { .op = BLKFRONT_OP_WRITE_BARRIER, .offset = 0,
				  .buf = buf, .len = 32 * 1024 };

	for (unsigned int i = 0; i < 64; i++) {
		gen[i] = 11;
		stamp(buf + i * SECT, i, 11);
	}
	if (io_sync(&io, 0))
		FAIL("barrier write: %d", io.status);
	io.op = BLKFRONT_OP_WRITE;
	io.offset = 32 * 1024;
	io.buf = buf + 32 * 1024;
	if (io_sync(&io, 0))
		FAIL("write: %d", io.status);
	do_flush();
	verify_file();
	write_load(4, 8, 0, 50, 1);
	do_flush();
	verify_file();
	printf("flush: barrier, write+flush durable on the file\n");
}

static void mode_restart(void)
{
	write_load(8, 32, opt.seconds * 1000, 0, 1);
	do_flush();
	blkfront_get_info(bf, &info);
	verify_stack();
	verify_file();
	printf("restart: %llu writes acknowledged and verified, %llu reconnect(s)\n",
	       (unsigned long long)nr_acked, (unsigned long long)info.reconnects);
	if (!info.reconnects)
		FAIL("the backend was never restarted");
}

static void mode_load(void)
{
	write_load(8, 32, opt.seconds * 1000, 0, 1);
	do_flush();
	verify_stack();
	verify_file();
	printf("load: %llu writes in %d s acknowledged and verified\n",
	       (unsigned long long)nr_acked, opt.seconds);
}

static void mode_sectors4k(void)
{
	if (info.sector_size != 4096)
		FAIL("sector size %u", info.sector_size);
	write_load(4, 64, 0, 100, 8);
	do_flush();
	verify_stack();
	verify_file();
	printf("sectors4k: %llu 4 KiB-aligned writes verified\n",
	       (unsigned long long)nr_acked);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "file", required_argument, NULL, 'f' },
		{ "vdev", required_argument, NULL, 'v' },
		{ "queues", required_argument, NULL, 'q' },
		{ "order", required_argument, NULL, 'o' },
		{ "no-persistent", no_argument, NULL, 'P' },
		{ "no-indirect", no_argument, NULL, 'I' },
		{ "seconds", required_argument, NULL, 's' },
		{ "expect-queues", required_argument, NULL, 'Q' },
		{ "expect-sector", required_argument, NULL, 'S' },
		{ "expect-persistent", required_argument, NULL, 'E' },
		{ "expect-indirect", required_argument, NULL, 'N' },
		{ NULL, 0, NULL, 0 },
	};
	struct pvio_dom *d;
	struct xs_handle *xs;
	int c, rc;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'f': opt.file = optarg; break;
		case 'v': opt.vdev = optarg; break;
		case 'q': opt.o.nr_queues = atoi(optarg); break;
		case 'o': opt.o.ring_order = atoi(optarg); break;
		case 'P': opt.o.no_persistent = true; break;
		case 'I': opt.o.no_indirect = true; break;
		case 's': opt.seconds = atoi(optarg); break;
		case 'Q': opt.expect_queues = atoi(optarg); break;
		case 'S': opt.expect_sector = atoi(optarg); break;
		case 'E': opt.expect_persistent = atoi(optarg); break;
		case 'N': opt.expect_indirect = atoi(optarg); break;
		default: return 2;
		}
	}
	if (optind >= argc || !opt.file) {
		fprintf(stderr, "usage: blk_test --file PATH [opts] MODE\n");
		return 2;
	}
	opt.mode = argv[optind];
	opt.seed = (uint32_t)getpid();
	rnd_state = 0x1234567ull ^ opt.seed;
	setvbuf(stdout, NULL, _IOLBF, 0);

	rc = pvio_dom_attach(NULL, PVIO_DOMID_SELF, &d);
	if (rc)
		FAIL("attach: %s", strerror(-rc));
	/* as a guest would: through this domain's own store ring */
	rc = xs_open_domain(d, &xs);
	if (rc) {
		fprintf(stderr, "note: no store ring (%s), using the socket\n",
			strerror(-rc));
		rc = xs_open(NULL, &xs);
	}
	if (rc)
		FAIL("store: %s", strerror(-rc));
	rc = blkfront_open(d, xs, opt.vdev, &opt.o, &bf);
	if (rc)
		FAIL("blkfront_open: %s", strerror(-rc));
	blkfront_get_info(bf, &info);
	nsect = info.sectors;
	gen = calloc(nsect, sizeof(*gen));
	busy = calloc(nsect, 1);
	if (!gen || !busy)
		FAIL("memory");

	if (!strcmp(opt.mode, "integrity"))
		mode_integrity();
	else if (!strcmp(opt.mode, "features"))
		mode_features();
	else if (!strcmp(opt.mode, "readonly"))
		mode_readonly();
	else if (!strcmp(opt.mode, "discard"))
		mode_discard();
	else if (!strcmp(opt.mode, "flush"))
		mode_flush();
	else if (!strcmp(opt.mode, "restart"))
		mode_restart();
	else if (!strcmp(opt.mode, "load"))
		mode_load();
	else if (!strcmp(opt.mode, "sectors4k"))
		mode_sectors4k();
	else
		FAIL("unknown mode %s", opt.mode);
	blkfront_close(bf);
	xs_close(xs);
	pvio_dom_detach(d);
	return 0;
}
