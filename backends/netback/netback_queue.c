/*
 * netback queue thread: one per (tx ring, rx ring, TAP queue). Sleeps in
 * poll on its event channels and TAP fd, then drains both directions.
 */
#include <errno.h>
#include <liburing.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "netback.h"

void netback_queue_fatal(struct netback_queue *q, const char *fmt, ...)
{
	struct netback_vif *vif = q->vif;
	va_list ap;
	bool was = atomic_exchange(&vif->fatal, true);

	if (was)
		return;
	va_start(ap, fmt);
	vsnprintf(vif->fatal_msg, sizeof(vif->fatal_msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "netback: %s queue %u: %s: disconnecting\n", vif->ifname,
		q->id, vif->fatal_msg);
	/* the main thread tears the vif down and writes the error node */
	netback_vif_changed(vif);
}

static void *queue_main(void *arg)
{
	struct netback_queue *q = arg;
	struct netback_vif *vif = q->vif;
	struct pvio_hv *hv = vif->nb->hv;
	bool split = q->port_tx != q->port_rx;

	/*
	 * Read the TAP only when poll said so (or a pass stopped at its batch
	 * limit): under virtualization every empty read() is a costly syscall.
	 */
	bool rx_due = true;

	for (;;) {
		struct pollfd p[4];
		int n = 0, timeout = -1, tap_idx = -1, evrx_idx;
		bool more, rx_more = false;

		if (atomic_load(&vif->fatal))
			break;
		more = netback_tx_run(q, &timeout);
		if (atomic_load(&vif->fatal))
			break;
		if (rx_due)
			rx_more = netback_rx_run(q);
		if (atomic_load(&vif->fatal))
			break;
		more |= rx_more;

		p[n++] = (struct pollfd){ .fd = q->stop_fd, .events = POLLIN };
		p[n++] = (struct pollfd){ .fd = q->evfd_tx, .events = POLLIN };
		evrx_idx = 1;
		if (split) {
			evrx_idx = n;
			p[n++] = (struct pollfd){ .fd = q->evfd_rx, .events = POLLIN };
		}
		/* a frame waiting for rx slots: the TAP can wait too */
		if (!q->rx_len) {
			tap_idx = n;
			p[n++] = (struct pollfd){ .fd = q->tap_fd, .events = POLLIN };
		}
		if (more) {
			timeout = 0;
		} else {
			/* before sleeping: an event the frontend waits for */
			if (pvio_back_event_owed(&q->tx))
				pvio_evtchn_notify(hv, q->port_tx);
			if (pvio_back_event_owed(&q->rx))
				pvio_evtchn_notify(hv, q->port_rx);
		}
		if (poll(p, (nfds_t)n, timeout) < 0 && errno != EINTR)
			break;
		if (p[0].revents)
			break;
		if (p[1].revents)
			pvio_evtchn_ack(hv, q->port_tx);
		if (split && p[evrx_idx].revents)
			pvio_evtchn_ack(hv, q->port_rx);
		rx_due = rx_more ||
			(tap_idx >= 0 && p[tap_idx].revents) ||
			(q->rx_len && p[evrx_idx].revents);
	}
	return NULL;
}

int netback_batch_init(struct netback_queue *q)
{
	struct io_uring *r = calloc(1, sizeof(*r));
	uint8_t *arena = malloc(NETBACK_TX_ARENA);
	int ret = r && arena ? 0 : -ENOMEM;

	if (!ret)
		ret = io_uring_queue_init(NETBACK_TX_INFLIGHT, r, 0);
	if (ret) {
		free(r);
		free(arena);
		return ret;
	}
	q->uring = r;
	q->tx_arena = arena;
	q->tx_arena_used = 0;
	q->tx_pending = 0;
	return 0;
}

void netback_batch_fini(struct netback_queue *q)
{
	if (!q->uring)
		return;
	netback_tx_flush(q);
	io_uring_queue_exit(q->uring);
	free(q->uring);
	free(q->tx_arena);
	q->uring = NULL;
	q->tx_arena = NULL;
}

int netback_queue_start(struct netback_queue *q)
{
	int ret;

	q->uring = NULL;
	q->tx_arena = NULL;
	q->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (q->stop_fd < 0)
		return -errno;
	q->tx_buf = malloc(NETBACK_VNET_HDR_LEN + NETBACK_PKT_MAX);
	q->rx_buf = malloc(NETBACK_VNET_HDR_LEN + NETBACK_PKT_MAX);
	if (!q->tx_buf || !q->rx_buf) {
		ret = -ENOMEM;
		goto fail;
	}
	q->rx_len = 0;
	/* without io_uring (a kernel that refuses it) a write() per frame */
	if (netback_batch_init(q) < 0)
		fprintf(stderr, "netback: %s queue %u: no io_uring, one write per frame\n",
			q->vif->ifname, q->id);
	q->credit = (int64_t)q->vif->rate_bytes;
	q->credit_stamp_ns = netback_now_ns();
	ret = -pthread_create(&q->thread, NULL, queue_main, q);
	if (ret)
		goto fail;
	q->thread_running = true;
	return 0;
fail:
	netback_batch_fini(q);
	free(q->tx_buf);
	free(q->rx_buf);
	q->tx_buf = q->rx_buf = NULL;
	close(q->stop_fd);
	q->stop_fd = -1;
	return ret;
}

void netback_queue_stop(struct netback_queue *q)
{
	uint64_t one = 1;

	if (q->thread_running) {
		if (write(q->stop_fd, &one, sizeof(one)) < 0)
			perror("netback: stop");
		pthread_join(q->thread, NULL);
		q->thread_running = false;
	}
	if (q->stop_fd >= 0)
		close(q->stop_fd);
	q->stop_fd = -1;
	netback_batch_fini(q);
	free(q->tx_buf);
	free(q->rx_buf);
	q->tx_buf = q->rx_buf = NULL;
}
