/*
 * Fuzz harness of netback's ring passes (netback_tx.c, netback_rx.c with
 * ring/netif_tx.c and the checksum helpers): the tx pass (slots copied
 * once, validated, payload grant-copied behind a vnet header, written to
 * the TAP, every slot answered) and the rx pass (a frame from the TAP,
 * checked, grant-copied into posted pages, answered), over simulated
 * guest memory (fuzz_guest.c). The TAP is one end of a SOCK_SEQPACKET
 * pair: the harness reads what netback writes and writes the frames it
 * reads.
 *
 * An honest domain's memory is guarded from the start: netback serves
 * only the attacker, and the grant layer aborts on a copy with any other
 * domain. The input plays the attacker (tx slots plausible or raw,
 * extras, producer indices, rx requests, grant rewrites) and the host
 * side (frames of any length and vnet header), with queue passes in
 * between. Checks: every frame netback writes to the TAP has a vnet
 * header and a length within bounds, responses never outrun requests,
 * and at the end no mapping is left.
 *
 * Built with clang -fsanitize=fuzzer it is a libFuzzer target; otherwise
 * main() runs a deterministic smoke campaign as a unit test.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../backends/netback/netback.h"
#include "fuzz_guest.h"
#include "fuzz_in.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ATT_DOM		5
#define HON_DOM		6
#define OTHER_DOM	9
#define ATT_PAGES	40
#define TX_RING_REF	8		/* frame 1 */
#define RX_RING_REF	9		/* frame 2 */
#define FIRST_REF	10		/* data refs, frames 3.. */
#define MAX_PASSES	300

static struct netback nb;
static struct netback_vif vif;
static struct netback_queue *q = &vif.queues[0];
static struct fg_dom *att, *hon;
static int tap_peer = -1;
static struct pvio_front_ring tx, rx;	/* the frontend's views */
static struct pvio_gnt_map rings[2];
static uint8_t frame[NETBACK_VNET_HDR_LEN + NETBACK_PKT_MAX + 512];
static uint64_t nr_tx_frames, nr_rx_delivered;
static unsigned int nr_vif_changed;

/*
 * The harness is netback's control thread: a queue that finds the vif
 * broken (vif.fatal set) calls this to have it torn down; the story stops
 * at the next pass, as the control thread would stop the queue.
 */
void netback_vif_changed(struct netback_vif *v)
{
	if (v == &vif)
		nr_vif_changed++;
}

/* ---- setup and teardown of one vif queue ---- */

static void queue_up(uint8_t features, uint8_t rate)
{
	int sv[2];

	fg.served = ATT_DOM;
	fg_grant(att, TX_RING_REF, 0, 1, false);
	fg_grant(att, RX_RING_REF, 0, 2, false);
	pvio_sring_init(fg_page(att, 1));
	pvio_sring_init(fg_page(att, 2));
	pvio_front_ring_init(&tx, fg_page(att, 1),
			     netif_tx_ring_ents(PVIO_PAGE_SIZE));
	pvio_front_ring_init(&rx, fg_page(att, 2),
			     netif_rx_ring_ents(PVIO_PAGE_SIZE));
	rings[0] = (struct pvio_gnt_map){ .dom = ATT_DOM, .ref = TX_RING_REF };
	rings[1] = (struct pvio_gnt_map){ .dom = ATT_DOM, .ref = RX_RING_REF };
	if (pvio_gnttab_map(NULL, rings, 2) || rings[0].status || rings[1].status)
		fg_finding("cannot map the rings");

	memset(&vif, 0, sizeof(vif));
	nr_vif_changed = 0;
	vif.nb = &nb;
	vif.domid = ATT_DOM;
	snprintf(vif.ifname, sizeof(vif.ifname), "fuzz0");
	vif.nr_queues = 1;
	vif.fe_sg = features & 1;
	vif.fe_gso4 = vif.fe_sg && (features & 2);
	vif.fe_gso6 = vif.fe_sg && (features & 4);
	vif.fe_csum = features & 8;
	vif.fe_ipv6_csum = features & 16;
	if (rate) {
		vif.rate_bytes = (uint64_t)rate * 64;
		vif.rate_usec = 1000;
	}
	q->vif = &vif;
	q->stop_fd = -1;
	pvio_back_ring_init(&q->tx, rings[0].addr,
			    netif_tx_ring_ents(PVIO_PAGE_SIZE));
	pvio_back_ring_init(&q->rx, rings[1].addr,
			    netif_rx_ring_ents(PVIO_PAGE_SIZE));
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC,
		       0, sv))
		fg_finding("socketpair");
	q->tap_fd = sv[0];
	tap_peer = sv[1];
	q->tx_buf = malloc(NETBACK_VNET_HDR_LEN + NETBACK_PKT_MAX);
	q->rx_buf = malloc(NETBACK_VNET_HDR_LEN + NETBACK_PKT_MAX);
	if (!q->tx_buf || !q->rx_buf)
		fg_finding("memory");
	/* half the stories through the batched TAP writes, as the daemon runs */
	if ((features & 32) && netback_batch_init(q))
		fprintf(stderr, "fuzz_netback_ring: no io_uring, writes unbatched\n");
	q->credit = (int64_t)vif.rate_bytes;
	q->credit_stamp_ns = netback_now_ns();
}

/* What netback wrote to the TAP: a vnet header and a bounded frame. */
static void tap_drain(void)
{
	for (;;) {
		ssize_t n = recv(tap_peer, frame, sizeof(frame), MSG_DONTWAIT);

		if (n < 0)
			return;
		if (n < NETBACK_VNET_HDR_LEN + NETIF_ETH_HLEN ||
		    n > NETBACK_VNET_HDR_LEN + XEN_NETIF_MAX_TX_SIZE)
			fg_finding("netback wrote a frame of %zd bytes to the TAP", n);
		nr_tx_frames++;
	}
}

static void check_indices(void)
{
	/* answers never outrun what was taken off each ring */
	if ((int32_t)(q->tx.rsp_prod_pvt - q->tx.req_cons) > 0 ||
	    (int32_t)(q->rx.rsp_prod_pvt - q->rx.req_cons) > 0)
		fg_finding("responses beyond the requests taken");
}

static void queue_down(void)
{
	uint64_t v;

	netback_batch_fini(q);	/* what it still held goes out */
	tap_drain();
	check_indices();
	free(q->tx_buf);
	free(q->rx_buf);
	q->tx_buf = q->rx_buf = NULL;
	close(q->tap_fd);
	close(tap_peer);
	tap_peer = -1;
	pvio_gnttab_unmap(NULL, rings, 2);
	fg_check_no_maps("after the vif went down");
	if (read(nb.wake_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		fg_finding("wake fd");
}

/* ---- the input ---- */

static uint32_t pick_ref(struct in *in)
{
	uint8_t b = byte(in);

	switch (b >> 5) {
	case 0:
		return 0xffffffffu;
	case 1:
		return b & 15;			/* reserved, the rings */
	case 2:
		return (uint32_t)u16(in) << 16 | u16(in);
	default:
		return FIRST_REF + (b & 31);
	}
}

static void put_tx(const union netif_tx_slot *s)
{
	*netif_tx_front_req(&tx, tx.req_prod_pvt) = *s;
	tx.req_prod_pvt++;
}

/* A packet of 1..n slots, plausibly chained, maybe with a GSO extra. */
static void plausible_tx(struct in *in)
{
	uint8_t shape = byte(in), nslots = 1 + (shape & 7);
	uint16_t len = u16(in);

	for (unsigned int i = 0; i < nslots; i++) {
		union netif_tx_slot s;
		uint8_t f = byte(in);

		memset(&s, 0, sizeof(s));
		s.req.gref = pick_ref(in);
		s.req.offset = f & 0x80 ? u16(in) : (f & 7) * 512;
		s.req.id = (uint16_t)(shape + i);
		s.req.size = i == 0 ? len : (f & 0x40 ? u16(in) : 4096 - s.req.offset);
		s.req.flags = (i + 1 < nslots ? NETTXF_more_data : 0) |
			      (i == 0 ? (f & 3) : 0) |
			      (i == 0 && (shape & 8) ? NETTXF_extra_info : 0);
		if (f & 0x20)
			s.req.flags ^= (uint16_t)(1u << (f & 3));
		put_tx(&s);
		if (i == 0 && (shape & 8)) {
			union netif_tx_slot x;

			memset(&x, 0, sizeof(x));
			x.extra.type = shape & 0x80 ? byte(in) : XEN_NETIF_EXTRA_TYPE_GSO;
			x.extra.flags = shape & 0x40 ? XEN_NETIF_EXTRA_FLAG_MORE : 0;
			x.extra.u.gso.size = u16(in);
			x.extra.u.gso.type = byte(in) % 4;
			put_tx(&x);
		}
	}
}

static void post_rx(struct in *in)
{
	unsigned int n = 1 + byte(in) % 32;

	for (unsigned int i = 0; i < n && pvio_front_free(&rx); i++) {
		struct netif_rx_request *r = netif_rx_front_req(&rx, rx.req_prod_pvt);

		r->id = (uint16_t)(rx.req_prod_pvt & 0xffff);
		r->pad = 0;
		r->gref = pick_ref(in);
		rx.req_prod_pvt++;
	}
	PVIO_WMB();
	rx.sring->req_prod = rx.req_prod_pvt;
}

/* A frame from the host: a vnet header, then an Ethernet frame. */
static void host_frame(struct in *in)
{
	struct virtio_net_hdr *h = (struct virtio_net_hdr *)frame;
	uint8_t shape = byte(in);
	size_t len = shape & 0x80 ? u16(in) : 14 + byte(in) * 6;

	if (len > NETBACK_PKT_MAX - 64)
		len = NETBACK_PKT_MAX - 64;
	memset(frame, 0, NETBACK_VNET_HDR_LEN + 64);
	h->flags = shape & 1 ? VIRTIO_NET_HDR_F_NEEDS_CSUM :
		   shape & 2 ? VIRTIO_NET_HDR_F_DATA_VALID : 0;
	h->gso_type = shape & 4 ? byte(in) : VIRTIO_NET_HDR_GSO_NONE;
	h->gso_size = shape & 4 ? u16(in) : 0;
	h->csum_start = shape & 1 ? u16(in) : 0;
	h->csum_offset = shape & 1 ? byte(in) : 0;
	/* the frame: an Ethernet/IP/TCP-ish start from the input, then zeroes */
	for (size_t i = 0; i < 64 && i < len; i++)
		frame[NETBACK_VNET_HDR_LEN + i] = byte(in);
	memset(frame + NETBACK_VNET_HDR_LEN + 64, 0, len > 64 ? len - 64 : 0);
	if (send(tap_peer, frame, NETBACK_VNET_HDR_LEN + len, MSG_DONTWAIT) < 0)
		return;		/* the TAP queue is full: the host drops it */
}

static void story(struct in *in)
{
	uint8_t features = byte(in), rate = byte(in) % 4 ? 0 : byte(in);
	unsigned int passes = 0;

	for (uint32_t i = 0; i < 32; i++) {
		uint8_t g = features & 0x80 ? byte(in) : (uint8_t)i;

		if (g >= 0xf0)
			continue;
		fg_grant(att, FIRST_REF + i, g >= 0xe0 ? OTHER_DOM : 0,
			 3 + (g & 0x3f) % (ATT_PAGES - 3), g >= 0xc0 && g < 0xe0);
	}
	queue_up(features, rate);
	while (in->n && passes < MAX_PASSES && !atomic_load(&vif.fatal)) {
		uint8_t op = byte(in);
		int timeout = -1;

		switch (op % 10) {
		case 0:
		case 1:
			plausible_tx(in);
			break;
		case 2: {
			union netif_tx_slot s;

			for (size_t i = 0; i < sizeof(s); i++)
				((uint8_t *)&s)[i] = byte(in);
			put_tx(&s);
			break;
		}
		case 3:
			PVIO_WMB();
			tx.sring->req_prod = op & 0x80 ?
				tx.req_prod_pvt + byte(in) * 3 : tx.req_prod_pvt;
			break;
		case 4:
			netback_tx_run(q, &timeout);
			tap_drain();
			check_indices();
			passes++;
			break;
		case 5:
			post_rx(in);
			break;
		case 6:
			host_frame(in);
			break;
		case 7: {
			uint64_t before = vif.stats.rx_packets;

			netback_rx_run(q);
			nr_rx_delivered += vif.stats.rx_packets - before;
			check_indices();
			passes++;
			break;
		}
		case 8: {
			uint8_t g = byte(in);

			if (g & 1)
				fg_revoke(att, FIRST_REF + (g >> 3));
			else
				fg_grant(att, FIRST_REF + (g >> 3),
					 g & 2 ? OTHER_DOM : 0,
					 3 + byte(in) % (ATT_PAGES - 3), g & 4);
			break;
		}
		default:
			/* the rx ring's producer index of the attacker's choosing */
			rx.sring->req_prod = rx.req_prod_pvt + byte(in);
			break;
		}
	}
	/* a queue that went fatal told the control thread */
	if (atomic_load(&vif.fatal) && !nr_vif_changed)
		abort();
	queue_down();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct in in = { data, size };

	if (!att) {
		att = fg_dom_new(ATT_DOM, ATT_PAGES);
		hon = fg_dom_new(HON_DOM, 8);
		fg_grant(hon, FIRST_REF, 0, 3, false);
		fg_guard(hon, true);
		nb.wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	}
	fg_dom_clear(att);
	story(&in);
	return 0;
}

#ifndef PVIO_LIBFUZZER
static uint64_t rs = 0x2545f4914f6cdd1dull;

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

static void emit16(struct gen *g, uint16_t v)
{
	emit(g, (uint8_t)v);
	emit(g, (uint8_t)(v >> 8));
}

static void emit_ref(struct gen *g)
{
	uint8_t b = rnd8();

	if (b % 16) {
		emit(g, (uint8_t)(0x60 | (rnd8() % 30)));	/* own, good */
		return;
	}
	emit(g, b);
	if (b >> 5 == 2) {
		emit16(g, rnd8());
		emit16(g, rnd8());
	}
}

/* A packet of @slots that adds up (mostly), as plausible_tx reads it. */
static void emit_packet(struct gen *g)
{
	uint8_t nslots = 1 + rnd8() % (rnd8() % 2 ? 2 : 6);
	uint8_t gso = rnd8() % 6 == 0;
	uint8_t shape = (uint8_t)((nslots - 1) | (gso ? 8 : 0));
	uint16_t len = (uint16_t)(nslots == 1 ? 60 + rnd8() * 8 :
				  (nslots - 1) * 4096 + 60 + rnd8() * 8);

	if (rnd8() % 16 == 0)
		len = (uint16_t)(rnd8() << 8 | rnd8());
	emit(g, (uint8_t)(0 + 10 * (rnd8() % 25)));
	emit(g, shape);
	emit16(g, len);
	for (unsigned int i = 0; i < nslots; i++) {
		uint8_t f = rnd8() % 8 ? (uint8_t)(rnd8() & 0x03) : rnd8();

		emit(g, f);
		emit_ref(g);
		if (f & 0x80)
			emit16(g, rnd8());
		if (i && (f & 0x40))
			emit16(g, rnd8());
		if (i == 0 && gso) {
			emit16(g, 1400);
			emit(g, 1 + rnd8() % 2);
		}
	}
}

static size_t gen_story(uint8_t *buf, size_t cap)
{
	struct gen g = { buf, 0, cap };

	emit(&g, rnd8() & 0x7f);	/* features */
	emit(&g, rnd8() % 8 ? 1 : 0);	/* rate: mostly none */
	if (!(buf[1] % 4))
		emit(&g, rnd8());
	while (g.n + 48 < cap) {
		uint8_t w = rnd8();
		unsigned int k = rnd8() % 25;

		if (w < 70) {
			emit_packet(&g);
		} else if (w < 100) {
			emit(&g, (uint8_t)(3 + 10 * (k % 12)));	/* publish */
		} else if (w < 140) {
			emit(&g, (uint8_t)(4 + 10 * k));		/* tx pass */
		} else if (w < 170) {
			unsigned int n = 1 + rnd8() % 32;

			emit(&g, (uint8_t)(5 + 10 * k));		/* post rx */
			emit(&g, (uint8_t)(n - 1));
			for (unsigned int i = 0; i < n; i++)
				emit_ref(&g);
		} else if (w < 200) {
			uint8_t shape = rnd8() % 4 ? rnd8() & 0x03 : rnd8();

			emit(&g, (uint8_t)(6 + 10 * k));		/* host frame */
			emit(&g, shape);
			if (shape & 0x80)
				emit16(&g, (uint16_t)(rnd8() << 8 | rnd8()));
			else
				emit(&g, rnd8());
			if (shape & 4) {
				emit(&g, rnd8() % 5);
				emit16(&g, 1400);
			}
			if (shape & 1) {
				emit16(&g, 34);
				emit(&g, 16);
			}
			for (int i = 0; i < 64; i++)
				emit(&g, i == 12 ? 0x08 : i == 14 ? 0x45 :
				     i == 23 ? 6 : rnd8());
		} else if (w < 230) {
			emit(&g, (uint8_t)(7 + 10 * k));		/* rx pass */
		} else if (w < 240) {
			emit(&g, (uint8_t)(8 + 10 * k));		/* grant */
			emit(&g, rnd8());
			emit(&g, rnd8());
		} else if (w < 250) {
			emit(&g, (uint8_t)(2 + 10 * k));		/* raw slot */
			for (int i = 0; i < 12; i++)
				emit(&g, rnd8());
		} else {
			emit(&g, (uint8_t)(9 + 10 * k));		/* rx prod */
			emit(&g, rnd8());
		}
	}
	emit(&g, 3);
	emit(&g, 4);
	emit(&g, 7);
	return g.n;
}

int main(void)
{
	static uint8_t buf[3072];
	/* under ASan (make check-asan) a shorter campaign: it runs slower */
#ifdef __SANITIZE_ADDRESS__
	unsigned int runs = 8000 / 4;
#else
	unsigned int runs = 8000;
#endif

	fg_quiet();
	for (unsigned int it = 0; it < runs; it++)
		LLVMFuzzerTestOneInput(buf, gen_story(buf, 128 + rnd8() * 10));
	printf("fuzz smoke: %u netback ring stories, %llu grant copies, %llu frames to the TAP, %llu to the frontend, no finding\n",
	       runs, (unsigned long long)fg.nr_copy_ops,
	       (unsigned long long)nr_tx_frames,
	       (unsigned long long)nr_rx_delivered);
	if (nr_tx_frames < runs || nr_rx_delivered < runs / 4)
		fg_finding("the smoke campaign barely reached the data path");
	return 0;
}
#endif
