/*
 * Fuzz harness of the user-space frontends' response handling: what a
 * hostile backend writes into the rings of blkfront (blkfront_ring.c) and
 * netfront (netfront_ring.c). The frontend code is the real one; the
 * libpvio calls under it (pages, grants, event channels of this domain)
 * are simulated here, pages being plain heap memory.
 *
 * blkfront: the input submits I/Os (reads, writes, flushes, barriers,
 * discards; from pre-granted regions, aligned or unaligned heap buffers,
 * direct or indirect), then plays the backend: answers with ids it saw or
 * made up, any status and operation, producer indices in range or not,
 * a reconnect that re-issues what is pending. Each I/O and its buffer are
 * freed as soon as the frontend completes it, so a late touch is a
 * use-after-free; an I/O completed twice, or one never submitted, is a
 * finding.
 *
 * netfront: the input sends frames (copied or borrowed pages) and plays
 * the backend on both rings: tx answers, rx chains of any shape (flags,
 * extras, offsets, statuses), producer indices. Every frame netfront
 * shows must lie inside its own rx pages and be consistent.
 *
 * Built with clang -fsanitize=fuzzer it is a libFuzzer target; otherwise
 * main() runs a deterministic smoke campaign as a unit test.
 */
#include <errno.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "../../frontends/user/blkfront_priv.h"
#include "../../frontends/user/netfront_priv.h"
#include "fuzz_in.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void finding(const char *fmt, ...)
	__attribute__((noreturn, format(printf, 1, 2)));
static void finding(const char *fmt, ...)
{
	va_list ap;

	printf("FINDING: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	abort();
}

/* ---- this domain, simulated: pages from the heap, grants counted ---- */

static unsigned int nr_pages_out, nr_grants_out;

/* single pages are kept for reuse: netfront takes 512 per connection */
#define POOL_MAX	1024
static void *pool[POOL_MAX];
static unsigned int pool_n;

void *pvio_dom_alloc_pages(struct pvio_dom *d, unsigned int n)
{
	void *p = n == 1 && pool_n ? pool[--pool_n] :
		  aligned_alloc(PVIO_PAGE_SIZE, (size_t)n * PVIO_PAGE_SIZE);

	if (p) {
		memset(p, 0, (size_t)n * PVIO_PAGE_SIZE);
		nr_pages_out += n;
	}
	return p;
}

void pvio_dom_free_pages(struct pvio_dom *d, void *p, unsigned int n)
{
	if (n == 1 && pool_n < POOL_MAX)
		pool[pool_n++] = p;
	else
		free(p);
	nr_pages_out -= n;
}

uint64_t pvio_dom_gfn(const struct pvio_dom *d, const void *p)
{
	return (uintptr_t)p / PVIO_PAGE_SIZE;
}

int pvio_gnttab_grant(struct pvio_dom *d, pvio_domid_t to, uint64_t gfn,
		      bool readonly, pvio_grant_ref_t *ref)
{
	static pvio_grant_ref_t next = 8;

	*ref = next++;
	nr_grants_out++;
	return 0;
}

int pvio_gnttab_end(struct pvio_dom *d, pvio_grant_ref_t ref)
{
	nr_grants_out--;
	return 0;
}

#define MAX_PORTS	64
static int port_fd[MAX_PORTS];

int pvio_evtchn_alloc_unbound(struct pvio_hv *hv, pvio_domid_t remote,
			      pvio_evtchn_port_t *port)
{
	for (unsigned int p = 1; p < MAX_PORTS; p++)
		if (!port_fd[p]) {
			port_fd[p] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
			if (port_fd[p] < 0)
				return -errno;
			*port = p;
			return 0;
		}
	return -ENOSPC;
}

int pvio_evtchn_fd(struct pvio_hv *hv, pvio_evtchn_port_t port)
{
	return port < MAX_PORTS && port_fd[port] > 0 ? port_fd[port] : -EINVAL;
}

int pvio_evtchn_close(struct pvio_hv *hv, pvio_evtchn_port_t port)
{
	if (port >= MAX_PORTS || port_fd[port] <= 0)
		return -EINVAL;
	close(port_fd[port]);
	port_fd[port] = 0;
	return 0;
}

int pvio_evtchn_notify(struct pvio_hv *hv, pvio_evtchn_port_t port)
{
	return 0;
}

int pvio_evtchn_ack(struct pvio_hv *hv, pvio_evtchn_port_t port)
{
	return 0;
}

/* ---- the input ---- */

static uint64_t nr_blk_done, nr_net_frames;

/* ---- blkfront ---- */

#define MAX_IOS		64

struct tio {
	struct blkfront_io *io;		/* NULL once completed and freed */
	void *buf;			/* heap buffer to free, if any */
};

static struct tio tios[MAX_IOS];

static void blk_submit(struct blkfront *bf, struct in *in)
{
	static const uint8_t ops[] = {
		BLKFRONT_OP_READ, BLKFRONT_OP_WRITE, BLKFRONT_OP_READ,
		BLKFRONT_OP_WRITE, BLKFRONT_OP_FLUSH, BLKFRONT_OP_DISCARD,
		BLKFRONT_OP_WRITE_BARRIER, 9,
	};
	uint8_t how = byte(in);
	size_t sectors = 1 + byte(in) % 64 * (how & 0x40 ? 17 : 1);
	struct tio *t = NULL;
	struct blkfront_io *io;
	size_t len = sectors * 512;

	for (unsigned int i = 0; i < MAX_IOS; i++)
		if (!tios[i].io) {
			t = &tios[i];
			break;
		}
	if (!t)
		return;
	io = calloc(1, sizeof(*io));
	if (!io)
		return;
	io->op = ops[how & 7];
	io->offset = (uint64_t)u16(in) * 512;
	io->len = len;
	if (how & 8) {
		/*
		 * Pre-granted regions (zero copy): a few of 300 KiB, each I/O
		 * somewhere inside one of them.
		 */
		unsigned int r = byte(in) % 4;
		size_t room = 300u << 10;

		if (len > room - 512)
			len = io->len = room - 512;
		while (bf->nr_regions <= r && blkfront_alloc(bf, room))
			;
		if (r < bf->nr_regions)
			io->buf = bf->regions[r].base +
				  (how & 0x10 ? 512 : 0) +
				  (room - 512 - len) / 4096 * 4096 *
				  (byte(in) % 2);
	} else {
		/* a whole number of pages: aligned_alloc's rule */
		t->buf = aligned_alloc(PVIO_PAGE_SIZE,
				       (len + 2 * PVIO_PAGE_SIZE - 1) &
				       ~(size_t)(PVIO_PAGE_SIZE - 1));
		io->buf = t->buf;
		if (io->buf && (how & 0x10))
			io->buf = (char *)io->buf + 512 * (1 + (how >> 5));
	}
	if (!io->buf && io->op != BLKFRONT_OP_FLUSH &&
	    io->op != BLKFRONT_OP_DISCARD) {
		free(t->buf);
		t->buf = NULL;
		free(io);
		return;
	}
	if (blkfront_queue_io(bf, 0, io)) {
		free(t->buf);
		t->buf = NULL;
		free(io);
		return;
	}
	t->io = io;
}

/* Collect completions: each must be one of ours, completed once. */
static void blk_collect(struct blkfront *bf)
{
	struct blkfront_io *done[MAX_IOS];
	int n = blkfront_complete(bf, 0, done, MAX_IOS, 0);

	if (n < 0)
		finding("blkfront_complete: %d", n);
	for (int i = 0; i < n; i++) {
		struct tio *t = NULL;

		for (unsigned int k = 0; k < MAX_IOS; k++)
			if (tios[k].io == done[i])
				t = &tios[k];
		if (!t)
			finding("an I/O completed that is not in flight");
		if (done[i]->status != 0 && done[i]->status != -EIO &&
		    done[i]->status != -EOPNOTSUPP &&
		    done[i]->status != -ENOMEM)
			finding("status %d", done[i]->status);
		/* gone at once: a late touch by the frontend is a use after free */
		free(t->buf);
		free(t->io);
		t->io = NULL;
		t->buf = NULL;
		nr_blk_done++;
	}
}

/* The backend answers the request in ring slot @k (or makes one up). */
static void blk_answer(struct blkfront_queue *q, struct in *in)
{
	uint8_t how = byte(in);
	uint32_t k = q->ring.sring->rsp_prod + (how >> 6);
	struct blkif_response *r;
	union blkif_request_any req;

	req = *blkif_front_req(&q->ring, k);
	r = (struct blkif_response *)blkif_front_req(&q->ring, q->ring.sring->rsp_prod);
	memset(r, 0, sizeof(*r));
	r->id = how & 1 ? u32(in) : req.rw.id;
	r->operation = how & 2 ? byte(in) : req.rw.operation;
	r->status = how & 4 ? (int16_t)u16(in) :
		    how & 8 ? BLKIF_RSP_ERROR : BLKIF_RSP_OKAY;
	PVIO_WMB();
	q->ring.sring->rsp_prod = how & 0x10 ? q->ring.sring->rsp_prod + 1 + byte(in) :
				  q->ring.sring->rsp_prod + 1;
}

static void blk_story(struct in *in)
{
	struct blkfront *bf = calloc(1, sizeof(*bf));
	struct blkfront_queue *q;
	uint8_t cfg = byte(in);

	if (!bf)
		return;
	bf->dom = (struct pvio_dom *)bf;	/* never looked into */
	bf->info = (struct blkfront_info){
		.sectors = 65536, .sector_size = cfg & 1 ? 4096 : 512,
		.readonly = cfg & 2, .flush = cfg & 4, .barrier = cfg & 8,
		.discard = cfg & 16, .persistent = cfg & 32, .nr_queues = 1,
		.max_indirect_segs = cfg & 64 ? 256 : cfg & 128 ? 32 : 0,
	};
	bf->ring_entries = blkif_ring_ents(PVIO_PAGE_SIZE);
	pthread_mutex_init(&bf->regions_lock, NULL);
	q = &bf->queue[0];
	q->bf = bf;
	q->epfd = q->evtchn_fd = -1;
	pthread_mutex_init(&q->lock, NULL);
	q->ring_mem = pvio_dom_alloc_pages(bf->dom, 1);
	if (!q->ring_mem || blkfront_queue_alloc(q))
		finding("setup");
	pvio_sring_init(q->ring_mem);
	pvio_front_ring_init(&q->ring, q->ring_mem, bf->ring_entries);
	q->live = true;
	for (unsigned int steps = 0; in->n && steps < 400; steps++) {
		uint8_t op = byte(in);

		switch (op % 6) {
		case 0:
		case 1:
			blk_submit(bf, in);
			break;
		case 2:
			blk_answer(q, in);
			break;
		case 3:
			blk_collect(bf);
			break;
		case 4: {
			/* raw bytes in a response slot */
			uint8_t *slot = (uint8_t *)blkif_front_req(&q->ring,
								   byte(in));

			slot[byte(in) % sizeof(union blkif_request_any)] = byte(in);
			break;
		}
		default:
			/* the backend reconnects: a fresh ring, pending re-issued */
			memset(q->ring_mem, 0, PVIO_PAGE_SIZE);
			pvio_sring_init(q->ring_mem);
			pvio_front_ring_init(&q->ring, q->ring_mem,
					     bf->ring_entries);
			blkfront_reissue(q);
			break;
		}
	}
	blk_collect(bf);
	/* what was never answered stays with the frontend: free it here */
	for (unsigned int i = 0; i < MAX_IOS; i++) {
		free(tios[i].buf);
		free(tios[i].io);
		tios[i].io = NULL;
		tios[i].buf = NULL;
	}
	for (unsigned int i = 0; i < bf->ring_entries; i++) {
		struct blkfront_shadow *s = &q->shadow[i];

		if (s->bounce.base) {
			pvio_dom_free_pages(bf->dom, s->bounce.base,
					    s->bounce.npages);
			free(s->bounce.gref);
		}
		if (s->indirect.base) {
			pvio_dom_free_pages(bf->dom, s->indirect.base,
					    s->indirect.npages);
			free(s->indirect.gref);
		}
	}
	for (unsigned int i = 0; i < bf->nr_regions; i++) {
		pvio_dom_free_pages(bf->dom, bf->regions[i].base,
				    bf->regions[i].npages);
		free(bf->regions[i].gref);
	}
	blkfront_queue_free(q);
	pvio_dom_free_pages(bf->dom, q->ring_mem, 1);
	free(bf);
}

/* ---- netfront ---- */

static uint8_t frame[70000];

static bool in_rx_pages(const struct netfront_queue *q, const void *p,
			size_t len)
{
	for (unsigned int i = 0; i < NETFRONT_RING_ENTS; i++) {
		const uint8_t *b = q->rx_page[i];

		if ((const uint8_t *)p >= b && len <= PVIO_PAGE_SIZE &&
		    (size_t)((const uint8_t *)p - b) <= PVIO_PAGE_SIZE - len)
			return true;
	}
	return false;
}

static void net_peek(struct netfront *nf, struct in *in)
{
	struct netfront_queue *q = &nf->queues[0];
	struct virtio_net_hdr hdr;
	struct iovec iov[NETFRONT_RX_IOV_MAX];
	unsigned int max = 1 + byte(in) % NETFRONT_RX_IOV_MAX;
	int n = netfront_rx_peek(nf, 0, &hdr, iov, max);
	size_t total = 0;

	if (n <= 0)
		return;
	if ((unsigned int)n > max)
		finding("%d iovecs for room of %u", n, max);
	for (int i = 0; i < n; i++) {
		if (!in_rx_pages(q, iov[i].iov_base, iov[i].iov_len))
			finding("rx iovec %p+%zu outside the rx pages",
				iov[i].iov_base, iov[i].iov_len);
		total += iov[i].iov_len;
	}
	if (total < 14 || total > 65535 + 4096)
		finding("a frame of %zu bytes", total);
	if (hdr.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM &&
	    (size_t)hdr.csum_start + hdr.csum_offset + 2 > total)
		finding("checksum at %u+%u of a %zu-byte frame",
			hdr.csum_start, hdr.csum_offset, total);
	nr_net_frames++;
	if (byte(in) & 1)
		netfront_rx_release(nf, 0);
}

/* The backend answers rx requests: a chain of slots of the input's shape. */
static void net_rx_answer(struct netfront_queue *q, struct in *in)
{
	uint8_t shape = byte(in);
	unsigned int n = 1 + (shape & 7);
	uint32_t prod = q->rx.sring->rsp_prod;

	for (unsigned int i = 0; i < n; i++) {
		union netif_rx_slot *s = netif_rx_front_rsp(&q->rx, prod + i);
		uint8_t f = byte(in);

		memset(s, 0, sizeof(*s));
		if (i == 1 && (shape & 8)) {
			s->extra.type = f & 0x80 ? byte(in) : XEN_NETIF_EXTRA_TYPE_GSO;
			s->extra.flags = f & 1;
			s->extra.u.gso.size = u16(in);
			s->extra.u.gso.type = byte(in) % 4;
			continue;
		}
		s->rsp.id = (uint16_t)((prod + i) & (NETFRONT_RING_ENTS - 1));
		s->rsp.offset = f & 0x40 ? u16(in) : (uint16_t)((f & 3) * 64);
		s->rsp.status = f & 0x20 ? (int16_t)u16(in) :
				(int16_t)(60 + byte(in) * 15);
		s->rsp.flags = (uint16_t)((i + 1 < n ? NETRXF_more_data : 0) |
			       (i == 0 && (shape & 8) ? NETRXF_extra_info : 0) |
			       (i == 0 ? (shape >> 4) & 3 : 0));
		if (f & 0x10)
			s->rsp.flags ^= (uint16_t)(1u << (f & 3));
	}
	PVIO_WMB();
	q->rx.sring->rsp_prod = shape & 0x80 ? prod + byte(in) : prod + n;
}

static void net_tx_answer(struct netfront_queue *q, struct in *in)
{
	uint8_t how = byte(in);
	uint32_t prod = q->tx.sring->rsp_prod;
	struct netif_tx_response *r = netif_tx_front_rsp(&q->tx, prod);
	union netif_tx_slot req = *netif_tx_front_req(&q->tx, prod);

	r->id = how & 1 ? u16(in) : req.req.id;
	r->status = how & 2 ? (int16_t)u16(in) : XEN_NETIF_RSP_OKAY;
	PVIO_WMB();
	q->tx.sring->rsp_prod = how & 4 ? prod + byte(in) : prod + 1;
}

static void net_send(struct netfront *nf, struct in *in)
{
	uint8_t how = byte(in);
	struct virtio_net_hdr hdr;
	size_t len = how & 0x80 ? u16(in) : 14 + byte(in) * 9;
	struct iovec iov = { .iov_base = frame, .iov_len = len };

	memset(&hdr, 0, sizeof(hdr));
	if (how & 1) {
		hdr.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
		hdr.csum_start = 34;
		hdr.csum_offset = 16;
	}
	if (how & 2) {
		hdr.gso_type = byte(in) % 5;
		hdr.gso_size = 1400;
	}
	if (how & 4) {
		struct iovec b[NETFRONT_TX_BORROW];

		if (netfront_tx_borrow(nf, 0, b, NETFRONT_TX_BORROW) > 0)
			netfront_tx_commit(nf, 0, how & 3 ? &hdr : NULL, len);
		return;
	}
	netfront_send(nf, 0, how & 3 ? &hdr : NULL, &iov, 1);
}

static void net_story(struct in *in)
{
	struct netfront *nf = calloc(1, sizeof(*nf));
	struct netfront_queue *q;
	uint8_t cfg = byte(in);

	if (!nf)
		return;
	nf->dom = (struct pvio_dom *)nf;
	nf->nr_queues = 1;
	nf->split = cfg & 1;
	nf->sg = cfg & 2;
	nf->gso4 = nf->sg && (cfg & 4);
	nf->gso6 = nf->sg && (cfg & 8);
	nf->csum = cfg & 16;
	q = &nf->queues[0];
	q->nf = nf;
	pthread_mutex_init(&q->lock, NULL);
	q->evfd_tx = q->evfd_rx = -1;
	q->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (q->epfd < 0 || netfront_queue_alloc_buffers(q) ||
	    netfront_queue_setup(q))
		finding("netfront setup");
	q->up = true;
	for (unsigned int steps = 0; in->n && steps < 400; steps++) {
		uint8_t op = byte(in);

		switch (op % 7) {
		case 0:
			net_send(nf, in);
			break;
		case 1:
			net_tx_answer(q, in);
			break;
		case 2:
		case 3:
			net_rx_answer(q, in);
			break;
		case 4:
			net_peek(nf, in);
			break;
		case 5: {
			struct virtio_net_hdr hdr;
			int n = netfront_recv(nf, 0, &hdr, frame, byte(in) * 300);

			if (n > (int)sizeof(frame))
				finding("recv returned %d", n);
			break;
		}
		default:
			netfront_rx_release(nf, 0);
			break;
		}
	}
	q->up = false;
	netfront_queue_teardown(q);
	netfront_queue_free_buffers(q);
	close(q->epfd);
	free(nf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct in in = { data, size };
	uint8_t which = byte(&in);

	if (which & 1)
		net_story(&in);
	else
		blk_story(&in);
	if (nr_pages_out)
		finding("%u pages not freed", nr_pages_out);
	return 0;
}

#ifndef PVIO_LIBFUZZER
static uint64_t rs = 0x853c49e6748fea9bull;

static uint8_t rnd8(void)
{
	rs ^= rs << 13;
	rs ^= rs >> 7;
	rs ^= rs << 17;
	return (uint8_t)rs;
}

int main(void)
{
	static uint8_t buf[2048];
	/* under ASan (make check-asan) a shorter campaign: it runs slower */
#ifdef __SANITIZE_ADDRESS__
	unsigned int runs = 3000 / 6;
#else
	unsigned int runs = 3000;
#endif

	setvbuf(stdout, NULL, _IOLBF, 0);
	/* keep freed memory: the stories allocate and free megabytes */
	mallopt(M_TRIM_THRESHOLD, 256 << 20);
	mallopt(M_MMAP_THRESHOLD, 64 << 20);
	for (unsigned int it = 0; it < runs; it++) {
		size_t n = 32 + rnd8() * 7;

		for (size_t i = 0; i < n; i++)
			buf[i] = rnd8();
		buf[0] = (uint8_t)it;
		LLVMFuzzerTestOneInput(buf, n);
	}
	printf("fuzz smoke: %u frontend stories, %llu block I/Os completed, %llu frames received, no finding\n",
	       runs, (unsigned long long)nr_blk_done,
	       (unsigned long long)nr_net_frames);
	if (!nr_blk_done || !nr_net_frames)
		finding("the smoke campaign barely reached the response paths");
	return 0;
}
#endif
