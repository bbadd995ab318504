/*
 * A block frontend that speaks the ring by hand, for hostile-frontend
 * tests (process domains): the xenbus handshake with chosen keys, any
 * requests put on the ring in one publish, their answers by id, and the
 * Closing/Closed handshake. Nothing here checks what it sends.
 */
#ifndef PVIO_TESTS_BLK_RAW_H
#define PVIO_TESTS_BLK_RAW_H

#include <stdbool.h>
#include <stdint.h>

#include "pvio/blkif.h"
#include "pvio/libpvio.h"
#include "pvio/ring.h"
#include "pvio/xenbus.h"

#define BLK_RAW_MAX_QUEUES	4

struct blk_raw_queue {
	void *sring;
	pvio_grant_ref_t ring_ref[16];
	struct pvio_front_ring ring;
	pvio_evtchn_port_t port;
	uint64_t first_id;	/* of the requests pushed last */
};

struct blk_raw {
	struct pvio_dom *dom;
	struct pvio_hv *hv;
	struct xs_handle *xs;
	char fe[128], be[256];
	unsigned int order;
	unsigned int nr_queues;
	struct blk_raw_queue q[BLK_RAW_MAX_QUEUES];
	uint64_t sectors;
	uint64_t next_id;
	char error[256];	/* the backend's error node, if it refused */
};

/*
 * Connect to device/vbd/@vdev of @dom with @nr_queues queues, each a ring
 * of 1 << @order pages; feature-persistent if @persistent. 0 once the
 * backend is Connected; -ECONNREFUSED if it went Closed (its error node
 * in b->error); -errno.
 */
int blk_raw_open(struct blk_raw *b, struct pvio_dom *dom, struct xs_handle *xs,
		 const char *vdev, unsigned int nr_queues, unsigned int order,
		 bool persistent);
/* Closing, wait for the backend to let go, Closed. */
void blk_raw_close(struct blk_raw *b);
/* Put @n requests on the ring of queue @qi and publish them (ids assigned). */
int blk_raw_push(struct blk_raw *b, unsigned int qi,
		 union blkif_request_any *req, unsigned int n);
/*
 * Collect the answers to the @n requests pushed last on queue @qi within
 * @timeout_ms: @status[i] answers the i-th. 0, -ETIMEDOUT, or -EPROTO.
 */
int blk_raw_collect(struct blk_raw *b, unsigned int qi, unsigned int n,
		    int16_t *status, int timeout_ms);
/*
 * Push and collect: put @n requests on the ring of queue @qi (ids assigned here), publish
 * them at once and collect their @n answers within @timeout_ms: @status[i]
 * is the answer to @req[i]. 0, -ETIMEDOUT, or -EPROTO for an unknown id.
 */
int blk_raw_run(struct blk_raw *b, unsigned int qi,
		union blkif_request_any *req, unsigned int n, int16_t *status,
		int timeout_ms);
/* Grant a page of this domain to dom0: the ref (exits on failure). */
pvio_grant_ref_t blk_raw_grant(struct blk_raw *b, void *page, bool readonly);

#endif
