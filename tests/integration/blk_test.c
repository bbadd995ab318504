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
 *   soak       for --seconds: rounds of random writes with pauses, each
 *              round's data verified through the stack; the whole disk
 *              verified through the stack and on the file at the end
 *              (backend restarts meanwhile are survived). With --vif
 *              IP,PEER the domain's vif 0 carries ARP traffic to PEER at
 *              the same time (answers needed in the last fifth too)
 *   hostile    against tests/guest/blk_evil_backend: every bad answer is
 *              rejected (unknown status -> EIO, protocol breaks counted,
 *              unanswered reads re-issued after the backend restarts) and
 *              an honest read still works at the end
 *
 * --hold: keep the disk open after the check until a signal ends us (a
 * running domain to destroy). --go FILE: wait for FILE to exist before
 * connecting (many domains created first, then started together); --go-io
 * FILE: once connected, wait for FILE before the check (so that the
 * connects of many domains are timed apart from their I/O). The time from
 * start (or from --go's FILE) to a connected disk is printed as
 * "connect: MS ms".
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

#include <arpa/inet.h>
#include <poll.h>
#include <pthread.h>

#include "pvio/blkfront.h"
#include "pvio/netfront.h"
#include "pvio/libpvio.h"
#include "pvio/xenbus.h"
#include "net_arp.h"

#define SECT	512u

static struct {
	const char *mode, *file, *vdev, *go, *go_io, *vif;
	bool hold;
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
	static uint8_t *buf;	/* granted once: verified again and again */

	if (!buf)
		buf = blkfront_alloc(bf, chunk * SECT);
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
	/* buffers are made once per shape and kept: granted memory stays */
	static struct { struct wio *w; unsigned int total, sect; } pool[4];
	struct wio *w = NULL;
	struct timespec t0, t;
	bool stop = false, fresh = false;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (unsigned int k = 0; k < 4 && !w; k++) {
		if (!pool[k].w) {
			pool[k].w = calloc(total, sizeof(*w));
			if (!pool[k].w)
				FAIL("memory");
			pool[k].total = total;
			pool[k].sect = max_sect;
			fresh = true;
		}
		if (pool[k].total == total && pool[k].sect == max_sect)
			w = pool[k].w;
	}
	if (!w)
		FAIL("write_load: too many buffer shapes");
	for (unsigned int i = 0; fresh && i < total; i++) {
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
	struct timespec last = t0;

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
			if (n > 0)
				clock_gettime(CLOCK_MONOTONIC, &last);
		}
		clock_gettime(CLOCK_MONOTONIC, &t);
		/* a backend restart takes seconds; a domain whose hv is gone, forever */
		if (t.tv_sec - last.tv_sec > 60)
			FAIL("no write completed for 60 s");
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

/* --vif: ARP traffic on vif 0 while the disk works */
static struct pvio_dom *dom;
static struct xs_handle *dom_xs;
static struct {
	struct in_addr ip, peer;
	unsigned long sent, answered, late;
	uint64_t reconnects;
	const char *err;
} tr;

static double secs_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) + (t.tv_nsec - t0->tv_nsec) / 1e9;
}

static void *traffic_thread(void *arg)
{
	static uint8_t frame[65536 + 64];
	struct virtio_net_hdr vh;
	struct netfront_stats st;
	struct netfront *nf;
	struct timespec t0;
	uint8_t mac[6];
	int rc;

	rc = netfront_open(dom, dom_xs, 0, NULL, 60000, &nf);
	if (rc) {
		tr.err = "netfront_open failed";
		return NULL;
	}
	netfront_mac(nf, mac);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (secs_since(&t0) < opt.seconds) {
		struct pollfd p = { .fd = netfront_fd(nf, 0), .events = POLLIN };
		struct iovec iov = { frame, arp_request(frame, mac, tr.ip,
							 tr.peer) };
		int len;

		if (!netfront_send(nf, 0, NULL, &iov, 1))
			tr.sent++;
		if (poll(&p, 1, 50) > 0)
			netfront_ack(nf, 0);
		while ((len = netfront_recv(nf, 0, &vh, frame,
					    sizeof(frame))) > 0) {
			if (!arp_reply(frame, len, tr.ip, tr.peer))
				continue;
			tr.answered++;
			tr.late += secs_since(&t0) > opt.seconds * 0.8;
		}
		usleep(50000);
	}
	netfront_get_stats(nf, &st);
	tr.reconnects = st.reconnects;
	netfront_close(nf);
	return NULL;
}

static void mode_soak(void)
{
	struct timespec t0, t;
	unsigned int rounds = 0;
	pthread_t net;
	char spec[64], *comma;

	if (opt.vif) {
		snprintf(spec, sizeof(spec), "%s", opt.vif);
		comma = strchr(spec, ',');
		if (!comma)
			FAIL("--vif IP,PEER");
		*comma = 0;
		if (inet_pton(AF_INET, spec, &tr.ip) != 1 ||
		    inet_pton(AF_INET, comma + 1, &tr.peer) != 1)
			FAIL("--vif IP,PEER");
		if (pthread_create(&net, NULL, traffic_thread, NULL))
			FAIL("thread");
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		write_load(2, 64, 0, nr_writes + 64, 1);
		verify_stack();
		rounds++;
		usleep(100000 + (unsigned int)(rnd() % 400000));
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while (t.tv_sec - t0.tv_sec < opt.seconds);
	do_flush();
	verify_stack();
	verify_file();
	blkfront_get_info(bf, &info);
	printf("soak: %u rounds, %llu writes verified, %llu reconnect(s)\n",
	       rounds, (unsigned long long)nr_acked,
	       (unsigned long long)info.reconnects);
	if (!opt.vif)
		return;
	pthread_join(net, NULL);
	if (tr.err)
		FAIL("vif: %s", tr.err);
	printf("traffic: %lu sent, %lu answered (%lu in the last fifth), "
	       "%llu reconnects\n", tr.sent, tr.answered, tr.late,
	       (unsigned long long)tr.reconnects);
	if (!tr.late)
		FAIL("vif: no answer at the end");
}

/* Wait for @io, collecting whatever else completes meanwhile. */
static int wait_for(struct blkfront_io *io, int ms, unsigned int *eio)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct blkfront_io *done[16];
		int n = blkfront_complete(bf, 0, done, 16, 100);

		if (n < 0)
			return n;
		for (int i = 0; i < n; i++) {
			if (done[i] == io)
				return io->status;
			if (done[i]->status == -EIO)
				(*eio)++;
		}
		clock_gettime(CLOCK_MONOTONIC, &t);
		if ((t.tv_sec - t0.tv_sec) * 1000 +
		    (t.tv_nsec - t0.tv_nsec) / 1000000 > ms)
			return -ETIMEDOUT;
	}
}

/*
 * The disk is served by tests/guest/blk_evil_backend: honest below 32 MiB,
 * the next bad answer for each request beyond (unknown status, id out of
 * range, double completion, wrong operation, rsp_prod jump, then silence).
 */
static void mode_hostile(void)
{
	static struct blkfront_io ios[48], honest;
	const uint64_t evil_first = 32ull << 20;
	unsigned int eio = 0, n = 0;
	uint8_t *buf = blkfront_alloc(bf, 49 * 4096);
	int rc;

	if (!buf)
		FAIL("no buffer");
	memset(&honest, 0, sizeof(honest));
	honest.op = BLKFRONT_OP_READ;
	honest.offset = 16 * 4096;
	honest.len = 4096;
	honest.buf = buf + 48 * 4096;
	rc = io_sync(&honest, 0);
	if (rc)
		FAIL("honest read: %s", strerror(-rc));
	printf("hostile: honest read ok\n");
	/* one read beyond 32 MiB at a time meets the next bad answer */
	while (n < 48) {
		struct blkfront_io *done[16];
		int k;

		blkfront_get_info(bf, &info);
		if (info.protocol_errors >= 4 && info.bad_status >= 1 && eio)
			break;
		memset(&ios[n], 0, sizeof(ios[n]));
		ios[n].op = BLKFRONT_OP_READ;
		ios[n].offset = evil_first + n * 4096;
		ios[n].len = 4096;
		ios[n].buf = buf + n * 4096;
		rc = blkfront_submit(bf, 0, &ios[n]);
		if (rc)
			FAIL("submit: %s", strerror(-rc));
		n++;
		for (int t = 0; t < 5; t++) {
			k = blkfront_complete(bf, 0, done, 16, 100);
			if (k < 0)
				FAIL("complete: %s", strerror(-k));
			for (int i = 0; i < k; i++) {
				if (done[i]->status == -EIO)
					eio++;
				else if (done[i]->status && done[i]->status != -EOPNOTSUPP)
					FAIL("read failed with %s",
					     strerror(-done[i]->status));
			}
		}
	}
	blkfront_get_info(bf, &info);
	printf("hostile: %u reads beyond 32 MiB: %llu protocol errors, "
	       "%llu unknown statuses (%u reads failed with EIO), %llu "
	       "backend restarts\n", n,
	       (unsigned long long)info.protocol_errors,
	       (unsigned long long)info.bad_status, eio,
	       (unsigned long long)info.reconnects);
	if (info.protocol_errors < 4 || info.bad_status < 1 || !eio)
		FAIL("not every bad answer was met and rejected");
	/* the backend now never answers beyond 32 MiB: honest reads go on */
	honest.offset = 24 * 4096;
	rc = blkfront_submit(bf, 0, &honest);
	if (!rc)
		rc = wait_for(&honest, 20000, &eio);
	if (rc)
		FAIL("honest read after the attack: %s", strerror(-rc));
	printf("hostile: honest read after the attack ok\n");
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
		{ "hold", no_argument, NULL, 'H' },
		{ "go", required_argument, NULL, 'G' },
		{ "go-io", required_argument, NULL, 'J' },
		{ "vif", required_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct pvio_dom *d;
	struct xs_handle *xs;
	struct timespec t0, t1;
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
		case 'H': opt.hold = true; break;
		case 'G': opt.go = optarg; break;
		case 'J': opt.go_io = optarg; break;
		case 'V': opt.vif = optarg; break;
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

	while (opt.go && access(opt.go, F_OK))
		usleep(20000);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = pvio_dom_attach(NULL, PVIO_DOMID_SELF, &d);
	if (rc)
		FAIL("attach: %s", strerror(-rc));
	/* a test program does not outlive its domain */
	pvio_dom_exit_with_domain(d);
	/* as a guest would: through this domain's own store ring */
	dom = d;
	rc = xs_open_domain(d, &xs);
	if (rc) {
		fprintf(stderr, "note: no store ring (%s), using the socket\n",
			strerror(-rc));
		rc = xs_open(NULL, &xs);
	}
	if (rc)
		FAIL("store: %s", strerror(-rc));
	dom_xs = xs;
	rc = blkfront_open(d, xs, opt.vdev, &opt.o, &bf);
	if (rc)
		FAIL("blkfront_open: %s", strerror(-rc));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("connect: %.1f ms\n", (t1.tv_sec - t0.tv_sec) * 1e3 +
	       (t1.tv_nsec - t0.tv_nsec) / 1e6);
	while (opt.go_io && access(opt.go_io, F_OK))
		usleep(20000);
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
	else if (!strcmp(opt.mode, "hostile"))
		mode_hostile();
	else if (!strcmp(opt.mode, "soak"))
		mode_soak();
	else
		FAIL("unknown mode %s", opt.mode);
	if (opt.hold) {
		printf("holding the disk\n");
		for (;;)
			pause();	/* until a signal ends us */
	}
	blkfront_close(bf);
	xs_close(xs);
	pvio_dom_detach(d);
	return 0;
}
