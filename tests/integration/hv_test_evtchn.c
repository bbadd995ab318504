/* SPDX-License-Identifier: MIT */
/* hv integration checks: event channels between two processes. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hv_test.h"
#include "../../hv/hv.h"

static int grab_eventfds(int *out, int max)
{
	char path[64], link[64];
	int n = 0;

	for (int fd = 3; fd < 1024 && n < max; fd++) {
		ssize_t l;

		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		l = readlink(path, link, sizeof(link) - 1);
		if (l <= 0)
			continue;
		link[l] = 0;
		if (strstr(link, "eventfd"))
			out[n++] = dup(fd);
	}
	return n;
}

static int evtchn_child(int rd, int wr, unsigned int rounds)
{
	struct pvio_dom *b = new_dom("eb");
	struct pvio_hv *hb = pvio_dom_hv(b);
	pvio_domid_t idb = pvio_dom_id(b), ida;
	pvio_evtchn_port_t rport, port, rport_saved;
	int stolen[64], nstolen, ret;
	uint64_t one = 1;

	xwrite(wr, &idb, sizeof(idb));
	xread(rd, &ida, sizeof(ida));
	xread(rd, &rport, sizeof(rport));
	rport_saved = rport;
	ret = pvio_evtchn_bind_interdomain(hb, ida, rport, &port);
	MUST(ret == 0, "bind: %s", strerror(-ret));
	/* a second bind of the same offer is refused */
	CHECK(pvio_evtchn_bind_interdomain(hb, ida, rport, &rport) == -EINVAL,
	      "double bind");
	xwrite(wr, &port, sizeof(port));
	for (unsigned int i = 0; i < rounds; i++) {
		MUST(pvio_evtchn_wait(hb, port, 5000) == 1, "child wait %u", i);
		ret = pvio_evtchn_ack(hb, port);
		MUST(ret == 1, "child ack %u: %d", i, ret);
		MUST(pvio_evtchn_notify(hb, port) == 0, "child notify");
	}
	/* masked: the parent sees nothing until it unmasks */
	xread(rd, &one, sizeof(one));
	CHECK(pvio_evtchn_notify(hb, port) == 0, "notify masked");
	CHECK(pvio_evtchn_notify(hb, port) == 0, "notify masked 2");
	xwrite(wr, &one, sizeof(one));
	/* close, keeping copies of the eventfds to cheat with */
	xread(rd, &one, sizeof(one));
	nstolen = grab_eventfds(stolen, 64);
	CHECK(nstolen >= 2, "found %d eventfds", nstolen);
	/* an event sent just before the close must still arrive */
	CHECK(pvio_evtchn_notify(hb, port) == 0, "notify before close");
	CHECK(pvio_evtchn_close(hb, port) == 0, "close");
	CHECK(pvio_evtchn_notify(hb, port) == -EINVAL, "notify after close");
	for (int i = 0; i < nstolen; i++)
		if (write(stolen[i], &one, sizeof(one)) != sizeof(one))
			failures++;
	xwrite(wr, &one, sizeof(one));
	/* bind the survivor again: events flow both ways on the new pair */
	xread(rd, &one, sizeof(one));
	ret = pvio_evtchn_bind_interdomain(hb, ida, rport_saved, &port);
	CHECK(ret == 0, "re-bind: %s", strerror(-ret));
	xwrite(wr, &one, sizeof(one));
	CHECK(pvio_evtchn_wait(hb, port, 3000) == 1, "no event on the re-bound port");
	CHECK(pvio_evtchn_ack(hb, port) == 1, "re-bound ack");
	CHECK(pvio_evtchn_notify(hb, port) == 0, "re-bound notify");
	/* the stolen eventfds still reach nobody */
	for (int i = 0; i < nstolen; i++)
		if (write(stolen[i], &one, sizeof(one)) != sizeof(one))
			failures++;
	xwrite(wr, &one, sizeof(one));
	xread(rd, &one, sizeof(one));
	pvio_dom_detach(b);
	return failures ? 1 : 0;
}


int test_evtchn(unsigned int rounds)
{
	int p2c[2], c2p[2], status, ret;
	pid_t pid;
	struct pvio_dom *a;
	struct pvio_hv *ha;
	pvio_domid_t ida, idb;
	pvio_evtchn_port_t port, bport;
	struct pvio_evtchn_status st;
	uint64_t one = 1, total = 0;
	double t0;

	MUST(pipe(p2c) == 0 && pipe(c2p) == 0, "pipes");
	pid = fork();
	MUST(pid >= 0, "fork");
	if (pid == 0) {
		close(p2c[1]);
		close(c2p[0]);
		_exit(evtchn_child(p2c[0], c2p[1], rounds));
	}
	close(p2c[0]);
	close(c2p[1]);
	a = new_dom("ea");
	ha = pvio_dom_hv(a);
	ida = pvio_dom_id(a);
	xread(c2p[0], &idb, sizeof(idb));
	/* port 0 is never handed out; offer a port to B */
	ret = pvio_evtchn_alloc_unbound(ha, idb, &port);
	MUST(ret == 0, "alloc_unbound: %s", strerror(-ret));
	CHECK(port != 0, "port 0 allocated");
	memset(&st, 0, sizeof(st));
	st.dom = ida;
	st.port = port;
	CHECK(pvio_evtchn_status(ha, &st) == 0 && st.state == EVTCHNSTAT_unbound &&
	      st.remote_dom == idb, "unbound status %u", st.state);
	CHECK(pvio_evtchn_notify(ha, port) == -ENOTCONN, "notify unbound");
	xwrite(p2c[1], &ida, sizeof(ida));
	xwrite(p2c[1], &port, sizeof(port));
	xread(c2p[0], &bport, sizeof(bport));
	CHECK(pvio_evtchn_status(ha, &st) == 0 && st.state == EVTCHNSTAT_interdomain &&
	      st.remote_dom == idb && st.remote_port == bport, "bound status");
	/* a domain may not look at another's ports */
	st.dom = idb;
	CHECK(pvio_evtchn_status(ha, &st) == -EPERM, "status of another domain");
	st.dom = ida;

	t0 = now_s();
	for (unsigned int i = 0; i < rounds; i++) {
		MUST(pvio_evtchn_notify(ha, port) == 0, "notify %u", i);
		MUST(pvio_evtchn_wait(ha, port, 5000) == 1, "parent wait %u", i);
		ret = pvio_evtchn_ack(ha, port);
		MUST(ret == 1, "parent ack %u: %d", i, ret);
		total += (uint64_t)ret;
	}
	printf("%u round trips in %.3f s, %llu events back\n", rounds, now_s() - t0,
	       (unsigned long long)total);
	CHECK(total == rounds, "lost or extra events");

	/* masking holds events until unmask */
	CHECK(pvio_evtchn_mask(ha, port) == 0, "mask");
	xwrite(p2c[1], &one, sizeof(one));
	xread(c2p[0], &one, sizeof(one));
	CHECK(pvio_evtchn_wait(ha, port, 100) == 0, "event while masked");
	CHECK(pvio_evtchn_ack(ha, port) == 0, "ack while masked");
	CHECK(pvio_evtchn_unmask(ha, port) == 0, "unmask");
	CHECK(pvio_evtchn_wait(ha, port, 1000) == 1, "held event after unmask");
	CHECK(pvio_evtchn_ack(ha, port) == 2, "two held events");

	/* the child closes, then writes to every eventfd it had kept */
	xwrite(p2c[1], &one, sizeof(one));
	xread(c2p[0], &one, sizeof(one));
	CHECK(pvio_evtchn_wait(ha, port, 1000) == 1, "event sent before close lost");
	CHECK(pvio_evtchn_ack(ha, port) == 1, "event sent before close");
	CHECK(pvio_evtchn_wait(ha, port, 300) == 0, "event after close");
	CHECK(pvio_evtchn_ack(ha, port) == 0, "ack after close");
	CHECK(pvio_evtchn_status(ha, &st) == 0 && st.state == EVTCHNSTAT_unbound &&
	      st.remote_dom == idb, "survivor status %u", st.state);
	/* B binds our port again: one wake-up, then a working pair */
	xwrite(p2c[1], &one, sizeof(one));
	xread(c2p[0], &one, sizeof(one));
	CHECK(pvio_evtchn_status(ha, &st) == 0 && st.state == EVTCHNSTAT_interdomain,
	      "re-bound status %u", st.state);
	CHECK(pvio_evtchn_wait(ha, port, 3000) == 1, "no wake-up at re-bind");
	CHECK(pvio_evtchn_ack(ha, port) == 1, "re-bind wake-up ack");
	CHECK(pvio_evtchn_notify(ha, port) == 0, "notify the new peer");
	xread(c2p[0], &one, sizeof(one));
	CHECK(pvio_evtchn_wait(ha, port, 3000) == 1, "no event from the new peer");
	CHECK(pvio_evtchn_ack(ha, port) == 1, "new peer's event");
	CHECK(pvio_evtchn_wait(ha, port, 300) == 0, "stolen eventfds reach us");
	xwrite(p2c[1], &one, sizeof(one));
	MUST(waitpid(pid, &status, 0) == pid, "waitpid");
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child failed");
	CHECK(pvio_evtchn_close(ha, port) == 0, "close survivor");
	CHECK(pvio_evtchn_close(ha, port) == -EINVAL, "double close");
	pvio_dom_detach(a);
	return failures ? 1 : 0;
}


/*
 * A domain other than dom0 may hold HV_EVTCHN_DOMU_MAX_OPEN ports at once:
 * the one past that is refused for it alone, another domain and dom0 go
 * on, and closing one makes room for one.
 */
int test_port_cap(void)
{
	struct pvio_dom *a = new_dom("pa"), *b = new_dom("pb");
	struct pvio_hv *ha = pvio_dom_hv(a), *hb = pvio_dom_hv(b), *h0;
	pvio_evtchn_port_t *ports = calloc(HV_EVTCHN_DOMU_MAX_OPEN + 1,
					   sizeof(*ports));
	pvio_evtchn_port_t p;
	unsigned int n = 0;
	int ret;

	MUST(ports, "memory");
	MUST(pvio_hv_open(NULL, &h0) == 0, "dom0 open");
	while (n <= HV_EVTCHN_DOMU_MAX_OPEN &&
	       (ret = pvio_evtchn_alloc_unbound(ha, 0, &ports[n])) == 0)
		n++;
	CHECK(ret == -ENOSPC, "past the cap: %s", strerror(-ret));
	/* the domain's own ports (store ring) count too */
	CHECK(n <= HV_EVTCHN_DOMU_MAX_OPEN && n + 8 >= HV_EVTCHN_DOMU_MAX_OPEN,
	      "%u ports before the cap of %u", n, HV_EVTCHN_DOMU_MAX_OPEN);
	CHECK(pvio_evtchn_alloc_unbound(hb, 0, &p) == 0, "another domain refused");
	CHECK(pvio_evtchn_alloc_unbound(h0, pvio_dom_id(a), &p) == 0,
	      "dom0 refused");
	CHECK(pvio_evtchn_close(ha, ports[n / 2]) == 0, "close");
	CHECK(pvio_evtchn_alloc_unbound(ha, 0, &ports[n / 2]) == 0,
	      "no room after a close");
	CHECK(pvio_evtchn_alloc_unbound(ha, 0, &p) == -ENOSPC, "cap after close");
	free(ports);
	pvio_hv_close(h0);
	pvio_dom_detach(b);
	pvio_dom_detach(a);
	return failures ? 1 : 0;
}
