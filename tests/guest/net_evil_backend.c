// SPDX-License-Identifier: MIT
/*
 * A hostile network backend for the frontend tests (the guest kernel's
 * netfront and the user-space one):
 *
 *   net_evil_backend RUNDIR DOMID [DEVID]
 *
 * Plays dom0's side of the vif handshake for
 * /local/domain/0/backend/vif/DOMID/DEVID (default 0) in place of
 * pvio-netback: one queue, shared event channel, rx-copy, no offloads.
 * The first HONEST transmitted packets are answered honestly (and dropped:
 * there is nothing behind this backend). Each transmitted packet after
 * that triggers the next case of the script below; after a case that
 * breaks the ring protocol the backend unmaps the rings and goes back to
 * InitWait, as a restarted backend would, so that the frontend offers new
 * rings and the next case can run. After the script every packet is
 * answered honestly and one valid frame is delivered, to show that the
 * frontend still sends and receives. Progress goes to stdout.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pvio/libpvio.h"
#include "pvio/netif.h"
#include "pvio/xenbus.h"

#define HONEST		4	/* packets answered before the first case */
#define RING_SIZE	256u

enum evil_case {
	EVIL_TX_STATUS,		/* an unknown tx status: an error, no more */
	EVIL_TX_ID,		/* tx response id beyond the ring */
	EVIL_TX_DOUBLE,		/* the same tx id answered twice */
	EVIL_RX_BIG,		/* rx response longer than a page */
	EVIL_RX_OFFSET,		/* rx data running past its page */
	EVIL_RX_EXTRA,		/* rx extra info of an unknown type */
	EVIL_RX_JUMP,		/* rx rsp_prod far beyond the requests */
	EVIL_TX_JUMP,		/* tx rsp_prod far beyond the requests */
	EVIL_DONE,		/* honest from now on, one valid rx frame */
};

static const char *const case_name[] = {
	"tx-bad-status", "tx-id-out-of-range", "tx-double-completion",
	"rx-oversized", "rx-offset-beyond-page", "rx-garbage-extra",
	"rx-index-jump", "tx-index-jump", "done",
};

static struct pvio_hv *hv;
static struct xs_handle *xs;
static pvio_domid_t fe_dom;
static char be[200], fe[200];

static struct pvio_gnt_map ring_map[2];	/* tx, rx */
static struct pvio_back_ring tx, rx;
static pvio_evtchn_port_t port;
static bool connected;

#define DIE(...) do { printf("evil: FAIL: " __VA_ARGS__); printf("\n"); \
	exit(1); } while (0)

static void be_write(const char *key, const char *v)
{
	char path[300];

	snprintf(path, sizeof(path), "%s/%s", be, key);
	if (xs_write(xs, XS_TXN_NULL, path, v, strlen(v)))
		DIE("write %s", path);
}

static long long fe_int(const char *key)
{
	char path[300];
	long long v;

	snprintf(path, sizeof(path), "%s/%s", fe, key);
	if (xs_read_int(xs, XS_TXN_NULL, path, &v))
		return -1;
	return v;
}

static void disconnect(void)
{
	if (!connected)
		return;
	pvio_evtchn_close(hv, port);
	pvio_gnttab_unmap(hv, ring_map, 2);
	connected = false;
}

/* Backend InitWait, frontend Initialised: map its rings, go Connected. */
static void handshake(void)
{
	long long ref[2], evt;
	int st;

	if (xenbus_switch_state(xs, be, XenbusStateInitWait))
		DIE("switch to InitWait");
	/* its keys of this round: a frontend still Connected has old ones */
	st = xenbus_wait_state(xs, fe, XENBUS_STATE_BIT(XenbusStateInitialised),
			       60000);
	if (st < 0)
		DIE("frontend not Initialised (%d)", st);
	ref[0] = fe_int("tx-ring-ref");
	ref[1] = fe_int("rx-ring-ref");
	evt = fe_int("event-channel");
	if (ref[0] < 0 || ref[1] < 0 || evt <= 0 || evt >= PVIO_EVTCHN_MAX_PORTS)
		DIE("frontend keys (tx %lld rx %lld evtchn %lld)", ref[0],
		    ref[1], evt);
	memset(ring_map, 0, sizeof(ring_map));
	for (int i = 0; i < 2; i++) {
		ring_map[i].dom = fe_dom;
		ring_map[i].ref = (pvio_grant_ref_t)ref[i];
	}
	if (pvio_gnttab_map(hv, ring_map, 2) ||
	    ring_map[0].status != GNTST_okay || ring_map[1].status != GNTST_okay)
		DIE("map rings %lld %lld", ref[0], ref[1]);
	pvio_back_ring_init(&tx, ring_map[0].addr,
			    netif_tx_ring_ents(PVIO_PAGE_SIZE));
	pvio_back_ring_init(&rx, ring_map[1].addr,
			    netif_rx_ring_ents(PVIO_PAGE_SIZE));
	if (pvio_evtchn_bind_interdomain(hv, fe_dom, (pvio_evtchn_port_t)evt,
					 &port))
		DIE("bind event channel %lld", evt);
	connected = true;
	if (xenbus_switch_state(xs, be, XenbusStateConnected))
		DIE("switch to Connected");
	printf("evil: connected (tx-ring-ref %lld, rx-ring-ref %lld, "
	       "event-channel %lld)\n", ref[0], ref[1], evt);
}

static void tx_answer(uint16_t id, int16_t status)
{
	struct netif_tx_response *r = netif_tx_back_rsp(&tx, tx.rsp_prod_pvt);

	r->id = id;
	r->status = status;
	tx.rsp_prod_pvt++;
}

/* The next rx request the frontend posted, or false if none. */
static bool rx_take(struct netif_rx_request *req)
{
	uint32_t rp = PVIO_READ_ONCE(rx.sring->req_prod);

	if (!pvio_back_req_prod_ok(&rx, rp))
		DIE("frontend rx req_prod %u out of range", rp);
	PVIO_RMB();
	if (rx.req_cons == rp)
		return false;
	memcpy(req, netif_rx_back_req(&rx, rx.req_cons), sizeof(*req));
	rx.req_cons++;
	return true;
}

static void rx_answer(uint16_t id, uint16_t offset, uint16_t flags,
		      int16_t status)
{
	union netif_rx_slot *s = netif_rx_back_rsp(&rx, rx.rsp_prod_pvt);

	memset(s, 0, sizeof(*s));
	s->rsp.id = id;
	s->rsp.offset = offset;
	s->rsp.flags = flags;
	s->rsp.status = status;
	rx.rsp_prod_pvt++;
}

static void publish(void)
{
	pvio_back_push(&tx);
	pvio_back_push(&rx);
	pvio_evtchn_notify(hv, port);
}

/* A broadcast ARP request into the frontend's next rx buffer. */
static bool rx_valid_frame(void)
{
	static const uint8_t arp[42] = {
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 0x01,
		0x08, 0x06, 0, 1, 8, 0, 6, 4, 0, 1, 0x02, 0, 0, 0, 0, 0x01,
		10, 99, 99, 1, 0, 0, 0, 0, 0, 0, 10, 99, 99, 2,
	};
	struct netif_rx_request req;
	struct pvio_gnt_copy op;

	if (!rx_take(&req))
		return false;
	memset(&op, 0, sizeof(op));
	op.dom = fe_dom;
	op.ref = req.gref;
	op.len = sizeof(arp);
	op.buf = (void *)arp;
	op.to_grant = 1;
	if (pvio_gnttab_copy(hv, &op, 1) || op.status != GNTST_okay) {
		rx_answer(req.id, 0, 0, XEN_NETIF_RSP_ERROR);
		return false;
	}
	rx_answer(req.id, 0, 0, sizeof(arp));
	return true;
}

/*
 * Play @c on the tx packet whose first slot is @id. True if the answer
 * broke the protocol: we must restart.
 */
static bool play(enum evil_case c, uint16_t id)
{
	struct netif_rx_request req;

	printf("evil: case %s on tx id %u\n", case_name[c], id);
	switch (c) {
	case EVIL_TX_STATUS:
		tx_answer(id, 7);
		return false;
	case EVIL_TX_ID:
		tx_answer(id + RING_SIZE * 4, XEN_NETIF_RSP_OKAY);
		return true;
	case EVIL_TX_DOUBLE:
		tx_answer(id, XEN_NETIF_RSP_OKAY);
		tx_answer(id, XEN_NETIF_RSP_OKAY);
		return true;
	case EVIL_RX_BIG:
		tx_answer(id, XEN_NETIF_RSP_OKAY);
		if (rx_take(&req))
			rx_answer(req.id, 0, 0, 5000);
		return false;
	case EVIL_RX_OFFSET:
		tx_answer(id, XEN_NETIF_RSP_OKAY);
		if (rx_take(&req))
			rx_answer(req.id, 4000, 0, 600);
		return false;
	case EVIL_RX_EXTRA:
		tx_answer(id, XEN_NETIF_RSP_OKAY);
		if (rx_take(&req)) {
			union netif_rx_slot *s;

			rx_answer(req.id, 0, NETRXF_extra_info, 60);
			/* the extra slot answers the next posted request */
			if (rx_take(&req)) {
				s = netif_rx_back_rsp(&rx, rx.rsp_prod_pvt);
				memset(s, 0, sizeof(*s));
				s->extra.type = 200;
				s->extra.flags = 0;
				rx.rsp_prod_pvt++;
			}
		}
		return false;
	case EVIL_RX_JUMP:
		tx_answer(id, XEN_NETIF_RSP_OKAY);
		rx.rsp_prod_pvt += 1000;
		return true;
	case EVIL_TX_JUMP:
		tx_answer(id, XEN_NETIF_RSP_OKAY);
		tx.rsp_prod_pvt += 1000;
		return true;
	case EVIL_DONE:
		tx_answer(id, XEN_NETIF_RSP_OKAY);
		return false;
	}
	return false;
}

static void on_term(int sig)
{
	_exit(0);
}

int main(int argc, char **argv)
{
	enum evil_case next = EVIL_TX_STATUS;
	unsigned int honest = 0;
	bool delivered = false;
	char path[300], sock[300], *v;
	int rc, st;

	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: net_evil_backend RUNDIR DOMID [DEVID]\n");
		return 2;
	}
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	setvbuf(stdout, NULL, _IOLBF, 0);
	fe_dom = (pvio_domid_t)strtoul(argv[2], NULL, 10);
	snprintf(be, sizeof(be), "/local/domain/0/backend/vif/%u/%s", fe_dom,
		 argc == 4 ? argv[3] : "0");
	rc = pvio_hv_open(argv[1], &hv);
	if (rc)
		DIE("pvio_hv_open %s: %s", argv[1], strerror(-rc));
	snprintf(sock, sizeof(sock), "%s/store.sock", argv[1]);
	rc = xs_open(sock, &xs);
	if (rc)
		DIE("xs_open %s: %s", sock, strerror(-rc));
	/*
	 * The toolstack lists a domain before it has written its devices:
	 * give it up to 10 s to write this one.
	 */
	snprintf(path, sizeof(path), "%s/frontend", be);
	for (int tries = 0; xs_read(xs, XS_TXN_NULL, path, &v, NULL); tries++) {
		if (tries == 200)
			DIE("no %s after 10 s", path);
		usleep(50000);
	}
	snprintf(fe, sizeof(fe), "%s", v);
	free(v);

	be_write("feature-rx-copy", "1");
	be_write("feature-rx-flip", "0");
	be_write("feature-sg", "0");
	be_write("feature-gso-tcpv4", "0");
	be_write("feature-gso-tcpv6", "0");
	be_write("feature-split-event-channels", "0");
	be_write("multi-queue-max-queues", "1");
	be_write("hotplug-status", "connected");
	handshake();

	for (;;) {
		struct pollfd pfd = { .fd = pvio_evtchn_fd(hv, port),
				      .events = POLLIN };
		uint32_t rp = PVIO_READ_ONCE(tx.sring->req_prod);
		bool broke = false;

		if (!pvio_back_req_prod_ok(&tx, rp))
			DIE("frontend tx req_prod %u out of range", rp);
		PVIO_RMB();
		while (!broke && tx.req_cons != rp) {
			union netif_tx_slot s;
			uint16_t id;

			memcpy(&s, netif_tx_back_req(&tx, tx.req_cons),
			       sizeof(s));
			tx.req_cons++;
			id = s.req.id;
			/* one packet = its slots: answer the others NULL/okay */
			while ((s.req.flags & (NETTXF_more_data |
					       NETTXF_extra_info)) &&
			       tx.req_cons != rp) {
				bool extra = s.req.flags & NETTXF_extra_info;

				memcpy(&s, netif_tx_back_req(&tx, tx.req_cons),
				       sizeof(s));
				tx.req_cons++;
				if (extra) {
					tx_answer(0, XEN_NETIF_RSP_NULL);
					s.req.flags = NETTXF_more_data;
					continue;
				}
				tx_answer(s.req.id, XEN_NETIF_RSP_OKAY);
			}
			if (honest < HONEST) {
				honest++;
				tx_answer(id, XEN_NETIF_RSP_OKAY);
				continue;
			}
			broke = play(next, id);
			if (next != EVIL_DONE)
				next++;
		}
		if (next == EVIL_DONE && !delivered && !broke)
			delivered = rx_valid_frame();
		publish();
		if (broke) {
			/*
			 * Restart only once the frontend is Connected on these
			 * rings; then unmap them and offer ourselves again, as
			 * a backend that restarted would.
			 */
			st = xenbus_wait_state(xs, fe,
					       XENBUS_STATE_BIT(XenbusStateConnected),
					       30000);
			if (st < 0)
				DIE("frontend not Connected (%d)", st);
			usleep(200000);	/* let it see what we did */
			disconnect();
			printf("evil: back to InitWait\n");
			handshake();
			continue;
		}
		if (delivered && next == EVIL_DONE) {
			static bool said;

			if (!said)
				printf("evil: script done, honest from now on\n");
			said = true;
		}
		tx.sring->req_event = tx.req_cons + 1;
		PVIO_MB();
		if (PVIO_READ_ONCE(tx.sring->req_prod) != tx.req_cons)
			continue;
		poll(&pfd, 1, 50);
		pvio_evtchn_ack(hv, port);
		/* the frontend going away ends the test */
		st = (int)fe_int("state");
		if (st < 0 || st == XenbusStateClosing || st == XenbusStateClosed) {
			printf("evil: frontend %s, exiting\n",
			       st < 0 ? "gone" : xenbus_state_name(st));
			disconnect();
			/* a backend that let go: detach need not wait for us */
			xenbus_switch_state(xs, be, XenbusStateClosed);
			return 0;
		}
	}
}
