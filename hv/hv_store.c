/* SPDX-License-Identifier: MIT */
/*
 * Tell pvio-store that a domain is gone (XS_RELEASE), so that it fires
 * @releaseDomain and drops the domain's connection. Best effort: no store,
 * or a store that does not answer, is not hv's problem; hv never waits.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "hv.h"
#include "pvio/xs_wire.h"

/*
 * A release sent, its answer not read yet. hv never waits for the store:
 * the store, handling RELEASE, may itself call hv (to unbind the domain's
 * ring), which a waiting hv could not answer.
 */
struct pending_release {
	int fd;
	struct hv_watch *w;
	time_t sent;
	struct pending_release *next;
};

static struct pending_release *pending;

static void release_done(struct pending_release *p)
{
	struct pending_release **pp;

	for (pp = &pending; *pp; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	}
	hv_watch_del(p->w);
	close(p->fd);
	free(p);
}

static void release_answer(void *arg, uint32_t events)
{
	struct pending_release *p = arg;
	char rsp[64];

	/* the answer (or the store hanging up): nothing more to wait for */
	if (recv(p->fd, rsp, sizeof(rsp), MSG_DONTWAIT) < 0 &&
	    errno == EAGAIN && !(events & (EPOLLHUP | EPOLLERR)))
		return;
	release_done(p);
}

void hv_store_release(pvio_domid_t domid)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char msg[sizeof(struct xsd_sockmsg) + 16];
	struct xsd_sockmsg h = { .type = XS_RELEASE, .req_id = domid };
	struct pending_release *p, *next;
	time_t now = time(NULL);
	int fd, n;

	/* a store that never answers does not keep sockets forever */
	for (p = pending; p; p = next) {
		next = p->next;
		if (now - p->sent > 5)
			release_done(p);
	}
	if ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/store.sock",
			     hv_rundir) >= sizeof(sa.sun_path))
		return;
	if (access(sa.sun_path, F_OK) < 0)
		return;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return;
	}
	n = snprintf(msg + sizeof(h), sizeof(msg) - sizeof(h), "%u", domid) + 1;
	h.len = (uint32_t)n;
	memcpy(msg, &h, sizeof(h));
	if (send(fd, msg, sizeof(h) + (size_t)n, MSG_NOSIGNAL) < 0) {
		hv_log("store release of %u: %s", domid, strerror(errno));
		close(fd);
		return;
	}
	p = calloc(1, sizeof(*p));
	if (p)
		p->w = hv_watch_add(fd, release_answer, p);
	if (!p || !p->w) {
		/* the request is in the socket: the store reads it anyway */
		free(p);
		close(fd);
		return;
	}
	p->fd = fd;
	p->sent = now;
	p->next = pending;
	pending = p;
}
