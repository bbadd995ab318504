/* SPDX-License-Identifier: MIT */
/*
 * Tell pvio-store that a domain is gone (XS_RELEASE), so that it fires
 * @releaseDomain and drops the domain's connection. Best effort: no store,
 * or a store that does not answer at once, is not hv's problem.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "hv.h"
#include "pvio/xs_wire.h"

void hv_store_release(pvio_domid_t domid)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char msg[sizeof(struct xsd_sockmsg) + 16], rsp[64];
	struct xsd_sockmsg h = { .type = XS_RELEASE, .req_id = domid };
	struct pollfd pfd;
	int fd, n;

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
	if (send(fd, msg, sizeof(h) + (size_t)n, MSG_NOSIGNAL) < 0)
		hv_log("store release of %u: %s", domid, strerror(errno));
	/* wait a little for the answer so the store sees a tidy exchange */
	pfd.fd = fd;
	pfd.events = POLLIN;
	if (poll(&pfd, 1, 200) > 0 && recv(fd, rsp, sizeof(rsp), 0) < 0)
		hv_log("store release of %u: no answer", domid);
	close(fd);
}
