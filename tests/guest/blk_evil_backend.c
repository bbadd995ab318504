// SPDX-License-Identifier: MIT
/*
 * A hostile block backend for guest tests:
 *
 *   blk_evil_backend RUNDIR DOMID [VDEV]
 *
 * Plays dom0's side of the vbd handshake for
 * /local/domain/0/backend/vbd/DOMID/VDEV (default 51712, xvda) in place
 * of pvio-blkback: a 64 MiB disk, no optional features. Requests below
 * sector EVIL_FIRST are served honestly (reads return zeros, writes are
 * dropped), so the frontend can create the disk and scan it. Each request
 * at or beyond EVIL_FIRST gets the next bad answer of the script below;
 * after an answer that breaks the ring protocol, the backend unmaps the
 * ring and goes back to InitWait, as a restarted backend would, so that
 * the frontend offers new rings and the next case can run. The last case
 * never answers. Progress goes to stdout, one line per step.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pvio/blkif.h"
#include "pvio/libpvio.h"
#include "pvio/xenbus.h"

#define DISK_SECTORS	(64ull * 2048)
#define EVIL_FIRST	(32ull * 2048)

enum evil_case {
	EVIL_BAD_STATUS,	/* status 7: an I/O error, the ring stays up */
	EVIL_UNKNOWN_ID,	/* id beyond the ring */
	EVIL_DOUBLE,		/* right answer, then the same id again */
	EVIL_WRONG_OP,		/* operation not the request's */
	EVIL_INDEX_JUMP,	/* rsp_prod far beyond req_prod */
	EVIL_SILENT,		/* no answer at all, for good */
};

static const char *const case_name[] = {
	"bad-status", "unknown-id", "double-completion", "wrong-operation",
	"index-jump", "silent",
};

static struct pvio_hv *hv;
static struct xs_handle *xs;
static pvio_domid_t fe_dom;
static char be[200], fe[200];

static struct pvio_gnt_map ring_map;
static struct pvio_back_ring ring;
static pvio_evtchn_port_t port;
static bool connected;

#define DIE(...) do { printf("evil: FAIL: " __VA_ARGS__); printf("\n"); \
	exit(1); } while (0)

static void be_write(const char *key, unsigned long long v)
{
	char path[300], val[32];

	snprintf(path, sizeof(path), "%s/%s", be, key);
	snprintf(val, sizeof(val), "%llu", v);
	if (xs_write(xs, XS_TXN_NULL, path, val, strlen(val)))
		DIE("write %s", path);
}

static void disconnect(void)
{
	if (!connected)
		return;
	pvio_evtchn_close(hv, port);
	pvio_gnttab_unmap(hv, &ring_map, 1);
	connected = false;
}

/* Backend InitWait, frontend Initialised: map its ring, go Connected. */
static void handshake(void)
{
	char path[300];
	long long ref, evt;
	int st;

	if (xenbus_switch_state(xs, be, XenbusStateInitWait))
		DIE("switch to InitWait");
	st = xenbus_wait_state(xs, fe, XENBUS_STATE_BIT(XenbusStateInitialised),
			       60000);
	if (st < 0)
		DIE("frontend not Initialised (%d)", st);
	snprintf(path, sizeof(path), "%s/ring-ref", fe);
	if (xs_read_int(xs, XS_TXN_NULL, path, &ref) || ref < 0 ||
	    ref > 0xffffffffll)
		DIE("ring-ref");
	snprintf(path, sizeof(path), "%s/event-channel", fe);
	if (xs_read_int(xs, XS_TXN_NULL, path, &evt) || evt <= 0 ||
	    evt >= PVIO_EVTCHN_MAX_PORTS)
		DIE("event-channel");
	memset(&ring_map, 0, sizeof(ring_map));
	ring_map.dom = fe_dom;
	ring_map.ref = (pvio_grant_ref_t)ref;
	if (pvio_gnttab_map(hv, &ring_map, 1) || ring_map.status != GNTST_okay)
		DIE("map ring ref %lld", ref);
	pvio_back_ring_init(&ring, ring_map.addr, blkif_ring_ents(PVIO_PAGE_SIZE));
	if (pvio_evtchn_bind_interdomain(hv, fe_dom, (pvio_evtchn_port_t)evt,
					 &port))
		DIE("bind event channel %lld", evt);
	connected = true;
	if (xenbus_switch_state(xs, be, XenbusStateConnected))
		DIE("switch to Connected");
	printf("evil: connected (ring-ref %lld, event-channel %lld)\n", ref, evt);
	fflush(stdout);
}

static void answer(uint64_t id, uint8_t op, int16_t status)
{
	struct blkif_response *rsp = blkif_back_rsp(&ring, ring.rsp_prod_pvt);

	rsp->id = id;
	rsp->operation = op;
	rsp->status = status;
	ring.rsp_prod_pvt++;
}

static void publish(void)
{
	pvio_back_push(&ring);
	pvio_evtchn_notify(hv, port);
}

/* An honest answer: reads return zeros, writes are dropped. */
static int16_t serve(const struct blkif_request *req)
{
	static uint8_t zero[PVIO_PAGE_SIZE];
	struct pvio_gnt_copy op;

	if (req->operation != BLKIF_OP_READ && req->operation != BLKIF_OP_WRITE)
		return BLKIF_RSP_EOPNOTSUPP;
	if (req->nr_segments == 0 ||
	    req->nr_segments > BLKIF_MAX_SEGMENTS_PER_REQUEST)
		return BLKIF_RSP_ERROR;
	if (req->operation == BLKIF_OP_WRITE)
		return BLKIF_RSP_OKAY;
	for (unsigned int i = 0; i < req->nr_segments; i++) {
		const struct blkif_request_segment *s = &req->seg[i];

		if (s->first_sect > s->last_sect || s->last_sect > 7)
			return BLKIF_RSP_ERROR;
		memset(&op, 0, sizeof(op));
		op.dom = fe_dom;
		op.ref = s->gref;
		op.offset = s->first_sect * 512;
		op.len = (s->last_sect - s->first_sect + 1) * 512;
		op.buf = zero;
		op.to_grant = 1;
		if (pvio_gnttab_copy(hv, &op, 1) || op.status != GNTST_okay)
			return BLKIF_RSP_ERROR;
	}
	return BLKIF_RSP_OKAY;
}

static void say(enum evil_case c, const struct blkif_request *req)
{
	printf("evil: case %s on request id %llu op %u sector %llu\n",
	       case_name[c], (unsigned long long)req->id, req->operation,
	       (unsigned long long)req->sector_number);
	fflush(stdout);
}

/*
 * Play @c on @req. True if the answer broke the protocol: the frontend
 * stops the ring, and we must reconnect. *@done: the case is over.
 */
static bool play(enum evil_case c, const struct blkif_request *req, bool *done)
{
	static struct blkif_request held;
	static bool held_valid;

	say(c, req);
	*done = true;
	switch (c) {
	case EVIL_BAD_STATUS:
		answer(req->id, req->operation, 7);
		publish();
		return false;
	case EVIL_UNKNOWN_ID:
		answer(req->id + 100000, req->operation, BLKIF_RSP_OKAY);
		publish();
		return true;
	case EVIL_DOUBLE:
		/*
		 * Hold the first request until a second is in flight, then
		 * answer the first twice: two responses for two requests
		 * (rsp_prod stays plausible), the second for an idle id.
		 */
		if (!held_valid) {
			held = *req;
			held_valid = true;
			*done = false;
			printf("evil: holding request id %llu\n",
			       (unsigned long long)req->id);
			return false;
		}
		answer(held.id, held.operation, serve(&held));
		answer(held.id, held.operation, BLKIF_RSP_OKAY);
		held_valid = false;
		publish();
		return true;
	case EVIL_WRONG_OP:
		answer(req->id, req->operation == BLKIF_OP_READ ?
		       BLKIF_OP_DISCARD : BLKIF_OP_READ, BLKIF_RSP_OKAY);
		publish();
		return true;
	case EVIL_INDEX_JUMP:
		answer(req->id, req->operation, BLKIF_RSP_OKAY);
		ring.rsp_prod_pvt += 1000;
		publish();
		return true;
	case EVIL_SILENT:
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
	enum evil_case next = EVIL_BAD_STATUS;
	unsigned long long served = 0;
	char path[300], sock[300], *v;
	int rc, st;

	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: blk_evil_backend RUNDIR DOMID [VDEV]\n");
		return 2;
	}
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	setvbuf(stdout, NULL, _IOLBF, 0);
	fe_dom = (pvio_domid_t)strtoul(argv[2], NULL, 10);
	snprintf(be, sizeof(be), "/local/domain/0/backend/vbd/%u/%s", fe_dom,
		 argc == 4 ? argv[3] : "51712");
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

	be_write("sectors", DISK_SECTORS);
	be_write("sector-size", 512);
	be_write("physical-sector-size", 512);
	be_write("info", 0);
	be_write("feature-flush-cache", 0);
	be_write("feature-persistent", 0);
	handshake();

	for (;;) {
		bool broke = false;
		struct pollfd pfd = { .fd = pvio_evtchn_fd(hv, port),
				      .events = POLLIN };
		uint32_t rp = PVIO_READ_ONCE(ring.sring->req_prod);

		if (!pvio_back_req_prod_ok(&ring, rp))
			DIE("frontend req_prod %u out of range", rp);
		PVIO_RMB();
		while (!broke && ring.req_cons != rp) {
			union blkif_request_any any;
			struct blkif_request *req = &any.rw;
			bool done;

			memcpy(&any, blkif_back_req(&ring, ring.req_cons),
			       sizeof(any));
			ring.req_cons++;
			if (req->operation > BLKIF_OP_WRITE ||
			    req->sector_number < EVIL_FIRST) {
				answer(req->id, req->operation, serve(req));
				publish();
				served++;
				continue;
			}
			broke = play(next, req, &done);
			if (done && next != EVIL_SILENT)
				next++;
		}
		if (broke) {
			/*
			 * Restart only once the frontend is Connected on this
			 * ring: a frontend still Initialised keeps the rings it
			 * offered for the next backend, this broken one too.
			 */
			st = xenbus_wait_state(xs, fe,
					       XENBUS_STATE_BIT(XenbusStateConnected),
					       30000);
			if (st < 0)
				DIE("frontend not Connected (%d)", st);
			disconnect();
			printf("evil: back to InitWait (%llu honest answers so far)\n",
			       served);
			fflush(stdout);
			handshake();
			continue;
		}
		ring.sring->req_event = ring.req_cons + 1;
		PVIO_MB();
		if (PVIO_READ_ONCE(ring.sring->req_prod) != ring.req_cons)
			continue;
		poll(&pfd, 1, 50);
		pvio_evtchn_ack(hv, port);
		/* the frontend going away ends the test */
		snprintf(path, sizeof(path), "%s/state", fe);
		st = 0;
		{
			long long s;

			if (xs_read_int(xs, XS_TXN_NULL, path, &s) == 0)
				st = (int)s;
			else
				st = XenbusStateClosed;
		}
		if (st == XenbusStateClosing || st == XenbusStateClosed) {
			printf("evil: frontend %s, exiting\n",
			       xenbus_state_name(st));
			disconnect();
			/* a backend that let go: detach need not wait for us */
			xenbus_switch_state(xs, be, XenbusStateClosed);
			return 0;
		}
	}
}
