/* SPDX-License-Identifier: MIT */
/*
 * pvio-hv's clients: the connections on hv.sock (accept, receive and check
 * each request, dispatch it to the domain, grant and event-channel code,
 * reply, drop) and the other fds of hv's single-threaded epoll loop.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "hv.h"

uint64_t hv_nr_hypercalls;
uint64_t hv_nr_relayed;
bool hv_evtchn_direct_on = true;
const char *hv_rundir;
static struct hv_client *clients;
static int epfd = -1;

static bool is_dom0(const struct hv_client *c)
{
	return c->dom == NULL && c->domid == 0;
}

/* Other fds in the loop (VM domains: QEMU sockets, doorbells, pidfds). */
struct hv_watch {
	int fd;
	hv_watch_fn fn;
	void *arg;
	struct hv_watch *next;
};
static struct hv_watch *watches;
static uint64_t start_ms;
static char listen_tag;

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * hv's log: to stderr (the service manager or `pvio up` stamps it), and,
 * with a wall-clock stamp, into a ring `pvio dmesg` reads.
 */
static char log_ring[HV_DMESG_SIZE];
static size_t log_head, log_len;

static void log_ring_add(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		log_ring[(log_head + log_len) % HV_DMESG_SIZE] = s[i];
		if (log_len < HV_DMESG_SIZE)
			log_len++;
		else
			log_head = (log_head + 1) % HV_DMESG_SIZE;
	}
}

void hv_logf(const char *fmt, ...)
{
	char line[1024], stamp[64];
	struct timespec ts;
	struct tm tm;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line)) {
		n = sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	fputs(line, stderr);
	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "[%Y-%m-%d %H:%M:%S", &tm);
	snprintf(stamp + strlen(stamp), sizeof(stamp) - strlen(stamp),
		 ".%03ld] ", ts.tv_nsec / 1000000);
	log_ring_add(stamp, strlen(stamp));
	log_ring_add(line, (size_t)n);
}

static void handle_dmesg(struct hv_client *c, const struct hv_msg_hdr *h,
			 const void *p, size_t len)
{
	static char out[HV_DMESG_SIZE];
	struct hv_domid_arg a = { 0 };
	size_t n = log_len;

	if (!is_dom0(c)) {
		hv_client_send(c, h, -EPERM, NULL, 0, NULL, 0);
		return;
	}
	if (len >= sizeof(a))
		memcpy(&a, p, sizeof(a));
	for (size_t i = 0; i < n; i++)
		out[i] = log_ring[(log_head + i) % HV_DMESG_SIZE];
	hv_client_send(c, h, 0, out, n, NULL, 0);
	if (a.arg == 1)
		log_head = log_len = 0;
}

int hv_client_send(struct hv_client *c, const struct hv_msg_hdr *req, int ret,
		   const void *payload, size_t len, const int *fds, int nfds)
{
	struct hv_msg_hdr h = {
		.op = req->op, .seq = req->seq, .ret = ret, .len = (uint32_t)len,
	};
	struct iovec iov[2] = {
		{ .iov_base = &h, .iov_len = sizeof(h) },
		{ .iov_base = (void *)payload, .iov_len = len },
	};
	union {
		char buf[CMSG_SPACE(sizeof(int) * HV_MSG_MAX_FDS)];
		struct cmsghdr align;
	} cm;
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = len ? 2 : 1 };

	if (c->fd < 0)
		return -EPIPE;
	if (nfds > 0) {
		struct cmsghdr *cmsg;

		memset(&cm, 0, sizeof(cm));
		msg.msg_control = cm.buf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
		cmsg = CMSG_FIRSTHDR(&msg);
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		cmsg->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
		memcpy(CMSG_DATA(cmsg), fds, sizeof(int) * (size_t)nfds);
	}
	/*
	 * Non-blocking: a client that does not read its replies must not
	 * stall hv for everyone. libpvio has one request in flight at a time,
	 * so a full queue means a client piling up requests: it is cut off
	 * (the hangup brings it back to the loop, which drops it).
	 */
	if (sendmsg(c->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
		int e = errno;

		if (e == EAGAIN || e == ENOBUFS) {
			hv_log("client pid %d does not read its replies, disconnecting",
			       (int)c->pid);
			shutdown(c->fd, SHUT_RDWR);
		}
		return -e;
	}
	return 0;
}

void hv_client_drop(struct hv_client *c)
{
	struct hv_client **p;

	for (p = &clients; *p; p = &(*p)->next)
		if (*p == c) {
			*p = c->next;
			break;
		}
	epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
	/* what the connection held goes with it, whoever it was */
	hv_gnttab_client_gone(c);
	hv_evtchn_client_gone(c);
	if (c->dom) {
		struct hv_domain *d = c->dom;

		d->client = NULL;
		c->dom = NULL;
		d->conn_lost = true;
		hv_domain_kill(d);
	}
	free(c);
}

/* A process domain's connection is dropped when its domain is destroyed. */
void hv_client_detach_domain(struct hv_client *c)
{
	c->dom = NULL;
	/*
	 * Keep the struct until the loop sees the hangup the shutdown causes:
	 * it is marked dead and can no longer act as anyone.
	 */
	shutdown(c->fd, SHUT_RDWR);
	c->domid = PVIO_DOMID_INVALID;
}

struct hv_watch *hv_watch_add(int fd, hv_watch_fn fn, void *arg)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct hv_watch *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->fd = fd;
	w->fn = fn;
	w->arg = arg;
	ev.data.ptr = w;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		free(w);
		return NULL;
	}
	w->next = watches;
	watches = w;
	return w;
}

void hv_watch_del(struct hv_watch *w)
{
	struct hv_watch **p;

	if (!w)
		return;
	for (p = &watches; *p; p = &(*p)->next)
		if (*p == w) {
			*p = w->next;
			break;
		}
	/* the fd may be closed already: then epoll forgot it by itself */
	epoll_ctl(epfd, EPOLL_CTL_DEL, w->fd, NULL);
	free(w);
}

/* Run the watch behind @tag if it is one (and still registered). */
static bool watch_dispatch(void *tag, uint32_t events)
{
	struct hv_watch *w;

	for (w = watches; w && w != tag; w = w->next)
		;
	if (!w)
		return false;
	w->fn(w->arg, events);
	return true;
}


static int need_arg(size_t len, size_t want)
{
	return len < want ? -EINVAL : 0;
}

static void handle_domctl(struct hv_client *c, const struct hv_msg_hdr *h,
			  const void *p, size_t len)
{
	struct hv_domid_arg a;
	struct hv_domain *d;
	int ret;

	if (!is_dom0(c)) {
		hv_client_send(c, h, -EPERM, NULL, 0, NULL, 0);
		return;
	}
	if (h->op == HV_OP_DOMAIN_LIST) {
		unsigned int max = HV_PAYLOAD_MAX / sizeof(struct pvio_domain_info);
		struct pvio_domain_info *v = calloc(max, sizeof(*v));
		unsigned int n = 0;
		pvio_domid_t it = 0;

		if (!v) {
			hv_client_send(c, h, -ENOMEM, NULL, 0, NULL, 0);
			return;
		}
		hv_dom0_fill_info(&v[n++]);
		while (n < max && (d = hv_domain_next(&it))) {
			if (d->ops->refresh)
				d->ops->refresh(d);
			hv_domain_fill_info(d, &v[n++]);
		}
		hv_client_send(c, h, (int)n, v, n * sizeof(*v), NULL, 0);
		free(v);
		return;
	}
	if (h->op == HV_OP_DOMAIN_CREATE) {
		struct pvio_domain_config cfg;
		pvio_domid_t id = 0;

		if (need_arg(len, sizeof(cfg))) {
			hv_client_send(c, h, -EINVAL, NULL, 0, NULL, 0);
			return;
		}
		memcpy(&cfg, p, sizeof(cfg));	/* copy once, then validate */
		ret = hv_domain_create(&cfg, &id);
		hv_client_send(c, h, ret < 0 ? ret : id, NULL, 0, NULL, 0);
		return;
	}
	if (need_arg(len, sizeof(a))) {
		hv_client_send(c, h, -EINVAL, NULL, 0, NULL, 0);
		return;
	}
	memcpy(&a, p, sizeof(a));
	if (a.domid == 0 && h->op == HV_OP_DOMAIN_INFO) {
		struct pvio_domain_info info;

		hv_dom0_fill_info(&info);
		hv_client_send(c, h, 0, &info, sizeof(info), NULL, 0);
		return;
	}
	d = a.domid < PVIO_DOMID_FIRST_RESERVED ? hv_domain_get((pvio_domid_t)a.domid) : NULL;
	if (!d) {
		hv_client_send(c, h, a.domid == 0 ? -EPERM : -ESRCH, NULL, 0, NULL, 0);
		return;
	}
	switch (h->op) {
	case HV_OP_DOMAIN_DESTROY:
		hv_domain_kill(d);
		ret = 0;
		break;
	case HV_OP_DOMAIN_PAUSE:
		ret = d->ops->pause ? d->ops->pause(d) : -EOPNOTSUPP;
		break;
	case HV_OP_DOMAIN_UNPAUSE:
		ret = d->ops->unpause ? d->ops->unpause(d) : -EOPNOTSUPP;
		break;
	case HV_OP_DOMAIN_SHUTDOWN:
		if (a.arg > PVIO_SHUTDOWN_CRASH) {
			ret = -EINVAL;
			break;
		}
		ret = d->ops->shutdown ? d->ops->shutdown(d, a.arg) : -EOPNOTSUPP;
		break;
	case HV_OP_DOMAIN_INFO: {
		struct pvio_domain_info info;

		if (d->ops->refresh)
			d->ops->refresh(d);
		hv_domain_fill_info(d, &info);
		hv_client_send(c, h, 0, &info, sizeof(info), NULL, 0);
		return;
	}
	case HV_OP_GET_PLATFORM:
		hv_client_send(c, h, 0, NULL, 0, &d->plat_fd, 1);
		return;
	case HV_OP_DOMAIN_CONFIG:
		hv_client_send(c, h, 0, &d->cfg, sizeof(d->cfg), NULL, 0);
		return;
	case HV_OP_DOMAIN_SUSPEND:
		ret = d->ops->suspend_ctl ? d->ops->suspend_ctl(d, a.arg) :
		      -EOPNOTSUPP;
		break;
	case HV_OP_DOMAIN_DIRTY_SYNC:
		if (!d->dirty) {
			ret = -EOPNOTSUPP;
			break;
		}
		hv_gnttab_dirty_sync(d);
		ret = 0;
		break;
	default:
		ret = -ENOSYS;
	}
	hv_client_send(c, h, ret, NULL, 0, NULL, 0);
}

static void handle_qmp(struct hv_client *c, const struct hv_msg_hdr *h,
		       const void *p, size_t len)
{
	struct hv_domid_arg a;
	struct hv_domain *d;
	char *reply = NULL;
	int ret;

	if (!is_dom0(c)) {
		hv_client_send(c, h, -EPERM, NULL, 0, NULL, 0);
		return;
	}
	if (len <= sizeof(a) || len - sizeof(a) > HV_QMP_TEXT_MAX) {
		hv_client_send(c, h, -EINVAL, NULL, 0, NULL, 0);
		return;
	}
	memcpy(&a, p, sizeof(a));
	d = a.domid < PVIO_DOMID_FIRST_RESERVED ?
	    hv_domain_get((pvio_domid_t)a.domid) : NULL;
	if (!d) {
		hv_client_send(c, h, -ESRCH, NULL, 0, NULL, 0);
		return;
	}
	if (!d->ops->qmp) {
		hv_client_send(c, h, -EOPNOTSUPP, NULL, 0, NULL, 0);
		return;
	}
	ret = d->ops->qmp(d, (const char *)p + sizeof(a), len - sizeof(a),
			  &reply);
	if (reply && strlen(reply) > HV_PAYLOAD_MAX) {
		free(reply);
		reply = NULL;
		ret = -E2BIG;
	}
	hv_client_send(c, h, ret, reply, reply ? strlen(reply) : 0, NULL, 0);
	free(reply);
}

static void handle_set_process(struct hv_client *c, const struct hv_msg_hdr *h,
			       const void *p, size_t len, int fd)
{
	struct hv_domid_arg a;
	struct hv_domain *d;
	int ret;

	if (!is_dom0(c) || need_arg(len, sizeof(a)) || fd < 0) {
		if (fd >= 0)
			close(fd);
		hv_client_send(c, h, is_dom0(c) ? -EINVAL : -EPERM, NULL, 0,
			       NULL, 0);
		return;
	}
	memcpy(&a, p, sizeof(a));
	d = a.domid < PVIO_DOMID_FIRST_RESERVED ?
	    hv_domain_get((pvio_domid_t)a.domid) : NULL;
	if (!d) {
		close(fd);
		hv_client_send(c, h, -ESRCH, NULL, 0, NULL, 0);
		return;
	}
	ret = hv_domain_set_process(d, (pid_t)a.arg, fd);
	hv_client_send(c, h, ret, NULL, 0, NULL, 0);
}

/*
 * What an incoming VM had on its old host, for the connections it keeps
 * (struct hv_import_arg): all of it or none.
 */
static void handle_import(struct hv_client *c, const struct hv_msg_hdr *h,
			  const void *p, size_t len)
{
	struct hv_import_arg a;
	const uint32_t *ports;
	uint64_t *gfn = NULL;
	struct hv_domain *d;
	uint32_t i;
	int ret = 0;

	if (!is_dom0(c) || need_arg(len, sizeof(a))) {
		hv_client_send(c, h, is_dom0(c) ? -EINVAL : -EPERM, NULL, 0,
			       NULL, 0);
		return;
	}
	memcpy(&a, p, sizeof(a));
	if (a.nr_frames > PVIO_GNTTAB_MAX_FRAMES ||
	    a.nr_ports > HV_IMPORT_MAX_PORTS ||
	    len != sizeof(a) + a.nr_frames * sizeof(uint64_t) +
		   a.nr_ports * sizeof(uint32_t)) {
		hv_client_send(c, h, -EINVAL, NULL, 0, NULL, 0);
		return;
	}
	d = a.domid < PVIO_DOMID_FIRST_RESERVED ?
	    hv_domain_get((pvio_domid_t)a.domid) : NULL;
	if (!d) {
		hv_client_send(c, h, -ESRCH, NULL, 0, NULL, 0);
		return;
	}
	/* only a VM that came in paused and has not run here */
	if (d->ops != hv_vm_ops || !(d->cfg.flags & PVIO_DOMCFG_INCOMING) ||
	    !(d->state & PVIO_DOMSTATE_PAUSED)) {
		hv_client_send(c, h, -EBUSY, NULL, 0, NULL, 0);
		return;
	}
	ports = (const uint32_t *)((const char *)p + sizeof(a) +
				   a.nr_frames * sizeof(uint64_t));
	/* i: how many were made here */
	for (i = 0; i < a.nr_ports; i++)
		if (hv_evtchn_import(d, ports[i], 0) < 0) {
			ret = -EEXIST;
			break;
		}
	if (!ret && a.nr_frames) {
		gfn = malloc(a.nr_frames * sizeof(*gfn));
		ret = gfn ? 0 : -ENOMEM;
		if (gfn) {
			memcpy(gfn, (const char *)p + sizeof(a),
			       a.nr_frames * sizeof(*gfn));
			ret = hv_gnttab_setup(d, gfn, a.nr_frames);
			if (ret > 0)
				ret = 0;
			if (!ret)
				hv_gnttab_clear_busy(d);
		}
	}
	if (ret) {
		/* none of it: the ports made here are closed again */
		while (i-- > 0)
			hv_evtchn_close(d, d, ports[i]);
		hv_log("domain %u: import of %u port(s), %u grant frame(s) refused: %s",
		       d->domid, a.nr_ports, a.nr_frames, strerror(-ret));
	}
	free(gfn);
	hv_client_send(c, h, ret, NULL, 0, NULL, 0);
}

/* Every open port of a domain (struct hv_ports_reply, hv_port_info[]). */
static void handle_ports(struct hv_client *c, const struct hv_msg_hdr *h,
			 const void *p, size_t len)
{
	struct hv_ports_reply rep = { 0 };
	struct hv_port_info *v;
	struct hv_domid_arg a;
	struct hv_domain *d;
	char *buf;

	if (!is_dom0(c) || need_arg(len, sizeof(a))) {
		hv_client_send(c, h, is_dom0(c) ? -EINVAL : -EPERM, NULL, 0,
			       NULL, 0);
		return;
	}
	memcpy(&a, p, sizeof(a));
	d = a.domid && a.domid < PVIO_DOMID_FIRST_RESERVED ?
	    hv_domain_get((pvio_domid_t)a.domid) : NULL;
	if (!d) {
		hv_client_send(c, h, -ESRCH, NULL, 0, NULL, 0);
		return;
	}
	/* what the guest asked for and hv has not taken yet counts */
	if (d->ops->serve)
		d->ops->serve(d);
	if (d->evtchn.nr_open > HV_PORTS_MAX) {
		hv_client_send(c, h, -E2BIG, NULL, 0, NULL, 0);
		return;
	}
	buf = malloc(sizeof(rep) + d->evtchn.nr_open * sizeof(*v) + 1);
	if (!buf) {
		hv_client_send(c, h, -ENOMEM, NULL, 0, NULL, 0);
		return;
	}
	v = (struct hv_port_info *)(buf + sizeof(rep));
	for (uint32_t port = 1; port < PVIO_EVTCHN_MAX_PORTS &&
	     rep.nr < d->evtchn.nr_open; port++) {
		const struct evtchn_port *e = evtchn_lookup(&d->evtchn, port);

		if (!e)
			continue;
		v[rep.nr].port = port;
		v[rep.nr].state = e->state;
		v[rep.nr].remote_dom = e->remote_dom;
		rep.nr++;
	}
	rep.store_port = d->ops == hv_vm_ops ? d->store_port : 0;
	memcpy(buf, &rep, sizeof(rep));
	hv_client_send(c, h, 0, buf, sizeof(rep) + rep.nr * sizeof(*v), NULL,
		       0);
	free(buf);
}

static void handle_get_ram(struct hv_client *c, const struct hv_msg_hdr *h,
			   const void *p, size_t len)
{
	struct hv_domid_arg a;
	struct hv_ram_reply r;
	struct hv_domain *d;

	if (need_arg(len, sizeof(a))) {
		hv_client_send(c, h, -EINVAL, NULL, 0, NULL, 0);
		return;
	}
	memcpy(&a, p, sizeof(a));
	d = a.domid < PVIO_DOMID_FIRST_RESERVED ? hv_domain_get((pvio_domid_t)a.domid) : NULL;
	if (!d || d->ram_fd < 0) {
		hv_client_send(c, h, -ESRCH, NULL, 0, NULL, 0);
		return;
	}
	/*
	 * dom0 may map any domain's RAM (trusted, as in Xen). A process
	 * domain gets a granter's RAM only while it holds a mapping of it:
	 * process domains are host processes, not an isolation boundary;
	 * hv still enforces every grant rule on the entries.
	 */
	if (!is_dom0(c) && !hv_gnttab_client_maps(c, d->domid)) {
		hv_client_send(c, h, -EPERM, NULL, 0, NULL, 0);
		return;
	}
	/*
	 * Nor a RAM file that cannot be sealed (a VM's in huge pages,
	 * hv_vm.c): a process domain could shrink it under hv, QEMU and
	 * the backends. Such a granter's grants it can copy (through
	 * hv), not map.
	 */
	if (!is_dom0(c) && (fcntl(d->ram_fd, F_GET_SEALS) &
			    (F_SEAL_SHRINK | F_SEAL_GROW)) !=
			   (F_SEAL_SHRINK | F_SEAL_GROW)) {
		hv_client_send(c, h, -EPERM, NULL, 0, NULL, 0);
		return;
	}
	memset(&r, 0, sizeof(r));
	r.serial = d->serial;
	r.nr_pages = d->nr_pages;
	r.nr_gnttab_frames = d->nr_gnt_frames;
	memcpy(r.gnttab_gfn, d->gnt_gfn, sizeof(r.gnttab_gfn));
	if (is_dom0(c) && d->dirty_fd >= 0) {
		/* dom0 logs what it writes into the VM (migration) */
		int fds[2] = { d->ram_fd, d->dirty_fd };

		hv_client_send(c, h, 0, &r, sizeof(r), fds, 2);
		return;
	}
	hv_client_send(c, h, 0, &r, sizeof(r), &d->ram_fd, 1);
}

static void handle_attach(struct hv_client *c, const struct hv_msg_hdr *h,
			  const void *p, size_t len, int fd)
{
	struct hv_domid_arg a;
	struct hv_attach_reply r;
	int ret;

	if (!is_dom0(c) || need_arg(len, sizeof(a)) || fd < 0) {
		hv_client_send(c, h, is_dom0(c) ? -EINVAL : -EPERM, NULL, 0, NULL, 0);
		return;
	}
	memcpy(&a, p, sizeof(a));
	if (a.domid == 0 || a.domid >= PVIO_DOMID_FIRST_RESERVED) {
		hv_client_send(c, h, -EINVAL, NULL, 0, NULL, 0);
		return;
	}
	ret = hv_domain_attach(c, (pvio_domid_t)a.domid, fd, &r);
	if (ret < 0) {
		hv_client_send(c, h, ret, NULL, 0, NULL, 0);
		return;
	}
	hv_client_send(c, h, 0, &r, sizeof(r), &c->dom->plat_fd, 1);
}

static void handle_gnttab(struct hv_client *c, const struct hv_msg_hdr *h,
			  void *p, size_t len)
{
	switch (h->op) {
	case HV_OP_GNTTAB_LOCAL: {
		struct hv_gnttab_local_reply r;
		struct hv_domid_arg a;
		int fds[2], ret;

		if (!is_dom0(c)) {
			hv_client_send(c, h, -EPERM, NULL, 0, NULL, 0);
			return;
		}
		if (need_arg(len, sizeof(a)) ||
		    (memcpy(&a, p, sizeof(a)), a.domid >= PVIO_DOMID_FIRST_RESERVED)) {
			hv_client_send(c, h, -EINVAL, NULL, 0, NULL, 0);
			return;
		}
		ret = hv_gnttab_local(c, (pvio_domid_t)a.domid, &r, fds);
		if (ret)
			hv_client_send(c, h, ret, NULL, 0, NULL, 0);
		else
			hv_client_send(c, h, 0, &r, sizeof(r), fds, 2);
		return;
	}
	case HV_OP_GNTTAB_SETUP: {
		struct hv_gnttab_setup s;
		int ret;

		if (!c->dom) {
			/* dom0 grants nothing: it has no RAM of its own here */
			hv_client_send(c, h, -EPERM, NULL, 0, NULL, 0);
			return;
		}
		if (len < sizeof(s)) {
			hv_client_send(c, h, -EINVAL, NULL, 0, NULL, 0);
			return;
		}
		memcpy(&s, p, sizeof(s));
		if (s.nr_frames > PVIO_GNTTAB_MAX_FRAMES ||
		    len != sizeof(s) + s.nr_frames * sizeof(uint64_t)) {
			hv_client_send(c, h, -EINVAL, NULL, 0, NULL, 0);
			return;
		}
		ret = hv_gnttab_setup(c->dom, (const uint64_t *)((char *)p + sizeof(s)),
				      s.nr_frames);
		if (ret > 0)
			ret = 0;	/* the same frames again */
		hv_client_send(c, h, ret, NULL, 0, NULL, 0);
		return;
	}
	case HV_OP_GNTTAB_MAP: {
		struct pvio_gnttab_map_op *ops = p;
		size_t n = len / sizeof(*ops);

		if (len % sizeof(*ops)) {
			hv_client_send(c, h, -EINVAL, NULL, 0, NULL, 0);
			return;
		}
		static uint8_t out[HV_MSG_MAX];
		uint64_t serial;

		/* reply: the ops, then the granter incarnation of each op */
		if (n * (sizeof(*ops) + sizeof(serial)) > HV_PAYLOAD_MAX) {
			hv_client_send(c, h, -E2BIG, NULL, 0, NULL, 0);
			return;
		}
		for (size_t i = 0; i < n; i++) {
			struct hv_domain *g;

			hv_gnttab_map(c, &ops[i]);
			g = ops[i].status == GNTST_okay ? hv_domain_get(ops[i].dom) : NULL;
			serial = g ? g->serial : 0;
			memcpy(out + len + i * sizeof(serial), &serial, sizeof(serial));
		}
		memcpy(out, ops, len);
		hv_client_send(c, h, 0, out, len + n * sizeof(serial), NULL, 0);
		return;
	}
	case HV_OP_GNTTAB_UNMAP: {
		struct pvio_gnttab_unmap_op *ops = p;
		size_t n = len / sizeof(*ops);

		if (len % sizeof(*ops)) {
			hv_client_send(c, h, -EINVAL, NULL, 0, NULL, 0);
			return;
		}
		for (size_t i = 0; i < n; i++)
			hv_gnttab_unmap(c, &ops[i]);
		hv_client_send(c, h, 0, ops, len, NULL, 0);
		return;
	}
	case HV_OP_GNTTAB_COPY: {
		/* ops first, then the data of to_grant ops in op order */
		static uint8_t out[HV_MSG_MAX];
		struct hv_copy_op *ops = p;
		size_t n, i, in_off, out_off;

		if (len < sizeof(uint32_t)) {
			hv_client_send(c, h, -EINVAL, NULL, 0, NULL, 0);
			return;
		}
		n = *(uint32_t *)p;
		ops = (struct hv_copy_op *)((char *)p + 8);
		if (n == 0 || n > HV_PAYLOAD_MAX / sizeof(*ops) ||
		    8 + n * sizeof(*ops) > len) {
			hv_client_send(c, h, -EINVAL, NULL, 0, NULL, 0);
			return;
		}
		in_off = 8 + n * sizeof(*ops);
		memcpy(out, p, in_off);
		out_off = in_off;
		for (i = 0; i < n; i++) {
			struct hv_copy_op *o = (struct hv_copy_op *)(out + 8) + i;
			size_t l = o->len;

			if (l > PVIO_PAGE_SIZE) {
				o->status = GNTST_bad_copy_arg;
				continue;
			}
			if (o->to_grant) {
				if (in_off + l > len) {
					o->status = GNTST_bad_copy_arg;
					in_off = len;
					continue;
				}
				o->status = hv_gnttab_copy(c, o, (char *)p + in_off);
				in_off += l;
			} else {
				if (out_off + l > HV_PAYLOAD_MAX) {
					o->status = GNTST_bad_copy_arg;
					continue;
				}
				o->status = hv_gnttab_copy(c, o, out + out_off);
				if (o->status != GNTST_okay)
					memset(out + out_off, 0, l);
				out_off += l;
			}
		}
		hv_client_send(c, h, 0, out, out_off, NULL, 0);
		return;
	}
	}
}

static void handle_stats(struct hv_client *c, const struct hv_msg_hdr *h)
{
	struct pvio_hv_stats st = {
		.version = PVIO_HV_VERSION_MAJOR << 16 | PVIO_HV_VERSION_MINOR,
		.nr_domains = hv_domain_count(),
		.nr_ports = hv_nr_ports,
		.nr_maps = hv_gnttab_nr_maps(),
		.nr_hypercalls = hv_nr_hypercalls,
		.nr_relayed = hv_nr_relayed,
		.uptime_ms = now_ms() - start_ms,
	};

	hv_client_send(c, h, 0, &st, sizeof(st), NULL, 0);
}

/* One request. Returns false if the client must be cut off. */
static bool handle_msg(struct hv_client *c, struct hv_msg_hdr *h, void *p,
		       size_t len, int fd)
{
	hv_nr_hypercalls++;
	switch (h->op) {
	case HV_OP_VERSION:
		hv_client_send(c, h, PVIO_HV_VERSION_MAJOR << 16 | PVIO_HV_VERSION_MINOR,
			       NULL, 0, NULL, 0);
		break;
	case HV_OP_STATS:
		handle_stats(c, h);
		break;
	case HV_OP_DOMAIN_CREATE:
	case HV_OP_DOMAIN_DESTROY:
	case HV_OP_DOMAIN_PAUSE:
	case HV_OP_DOMAIN_UNPAUSE:
	case HV_OP_DOMAIN_SHUTDOWN:
	case HV_OP_DOMAIN_INFO:
	case HV_OP_DOMAIN_LIST:
	case HV_OP_GET_PLATFORM:
	case HV_OP_DOMAIN_CONFIG:
	case HV_OP_DOMAIN_SUSPEND:
	case HV_OP_DOMAIN_DIRTY_SYNC:
		handle_domctl(c, h, p, len);
		break;
	case HV_OP_DOMAIN_QMP:
		handle_qmp(c, h, p, len);
		break;
	case HV_OP_DOMAIN_IMPORT:
		handle_import(c, h, p, len);
		break;
	case HV_OP_DOMAIN_PORTS:
		handle_ports(c, h, p, len);
		break;
	case HV_OP_DOMAIN_SET_PROCESS:
		handle_set_process(c, h, p, len, fd);
		break;
	case HV_OP_DMESG:
		handle_dmesg(c, h, p, len);
		break;
	case HV_OP_DOMAIN_RENAME: {
		struct hv_rename_arg a;
		struct hv_domain *d;
		int ret;

		if (!is_dom0(c) || len < sizeof(a)) {
			hv_client_send(c, h, is_dom0(c) ? -EINVAL : -EPERM, NULL,
				       0, NULL, 0);
			break;
		}
		memcpy(&a, p, sizeof(a));
		d = a.domid < PVIO_DOMID_FIRST_RESERVED ?
		    hv_domain_get((pvio_domid_t)a.domid) : NULL;
		ret = d ? hv_domain_rename(d, a.name) : -ESRCH;
		hv_client_send(c, h, ret, NULL, 0, NULL, 0);
		break;
	}
	case HV_OP_ATTACH:
		handle_attach(c, h, p, len, fd);
		break;
	case HV_OP_GET_RAM:
		handle_get_ram(c, h, p, len);
		break;
	case HV_OP_GNTTAB_SETUP:
	case HV_OP_GNTTAB_MAP:
	case HV_OP_GNTTAB_UNMAP:
	case HV_OP_GNTTAB_COPY:
	case HV_OP_GNTTAB_LOCAL:
		handle_gnttab(c, h, p, len);
		break;
	case HV_OP_EVTCHN_ALLOC_UNBOUND:
	case HV_OP_EVTCHN_BIND_INTERDOMAIN:
	case HV_OP_EVTCHN_CLOSE:
	case HV_OP_EVTCHN_FDS:
	case HV_OP_EVTCHN_MASK:
	case HV_OP_EVTCHN_UNMASK:
	case HV_OP_EVTCHN_STATUS:
	case HV_OP_EVTCHN_SEND:
		hv_evtchn_op(c, h, p, len);
		break;
	default:
		hv_client_send(c, h, -ENOSYS, NULL, 0, NULL, 0);
		break;
	}
	return true;
}

void hv_client_readable(struct hv_client *c)
{
	static uint8_t buf[HV_MSG_MAX];
	union {
		char b[CMSG_SPACE(sizeof(int) * HV_MSG_MAX_FDS)];
		struct cmsghdr align;
	} cm;
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cm.b, .msg_controllen = sizeof(cm.b),
	};
	struct hv_msg_hdr h;
	int fds[HV_MSG_MAX_FDS], nfds = 0, fd = -1;
	ssize_t n;
	bool ok;

	if (c->domid == PVIO_DOMID_INVALID) {	/* destroyed domain's conn */
		hv_client_drop(c);
		return;
	}
	n = recvmsg(c->fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	/*
	 * A failed recvmsg (ECONNRESET from a client killed mid-send) leaves
	 * msg_controllen as we set it and the buffer uninitialised: there is
	 * no control data to look at.
	 */
	if (n < 0)
		msg.msg_controllen = 0;
	for (struct cmsghdr *cm1 = CMSG_FIRSTHDR(&msg); cm1; cm1 = CMSG_NXTHDR(&msg, cm1)) {
		if (cm1->cmsg_level == SOL_SOCKET && cm1->cmsg_type == SCM_RIGHTS) {
			size_t k = (cm1->cmsg_len - CMSG_LEN(0)) / sizeof(int);

			for (size_t i = 0; i < k; i++) {
				int f;

				memcpy(&f, CMSG_DATA(cm1) + i * sizeof(int), sizeof(int));
				if (nfds < HV_MSG_MAX_FDS)
					fds[nfds++] = f;
				else
					close(f);
			}
		}
	}
	if (n <= 0 || (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) ||
	    (size_t)n < sizeof(h)) {
		/* EOF, error, or a packet no request can be: cut off */
		if (n > 0)
			hv_log("client pid %d: malformed packet (%zd bytes), disconnecting",
			       (int)c->pid, n);
		for (int i = 0; i < nfds; i++)
			close(fds[i]);
		hv_client_drop(c);
		return;
	}
	memcpy(&h, buf, sizeof(h));
	if (h.len != (size_t)n - sizeof(h) || h.op == 0 || h.op >= HV_OP_COUNT) {
		hv_log("client pid %d: bad header (op %u len %u), disconnecting",
		       (int)c->pid, h.op, h.len);
		for (int i = 0; i < nfds; i++)
			close(fds[i]);
		hv_client_drop(c);
		return;
	}
	/* only ATTACH and SET_PROCESS carry an fd; others are dropped */
	if (nfds > 0 && (h.op == HV_OP_ATTACH ||
			 h.op == HV_OP_DOMAIN_SET_PROCESS)) {
		fd = fds[0];
		fds[0] = -1;
	}
	for (int i = 0; i < nfds; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	ok = handle_msg(c, &h, buf + sizeof(h), h.len, fd);
	/* SET_PROCESS took its fd (kept or closed) */
	if (fd >= 0 && h.op == HV_OP_ATTACH && (!c->dom || c->dom->ram_fd != fd))
		close(fd);
	if (!ok)
		hv_client_drop(c);
}

static int listen_socket(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(fd, 64) < 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	chmod(path, 0600);	/* dom0 means whoever can open this socket */
	return fd;
}

bool hv_client_alive(const struct hv_client *c)
{
	for (const struct hv_client *x = clients; x; x = x->next)
		if (x == c)
			return true;
	return false;
}

struct hv_client *hv_client_new(int fd)
{
	struct hv_client *c;
	struct epoll_event ev = { .events = EPOLLIN };
	struct ucred cr;
	socklen_t cl = sizeof(cr);

	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return NULL;
	}
	c->fd = fd;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &cl) == 0)
		c->pid = cr.pid;
	ev.data.ptr = c;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		close(fd);
		free(c);
		return NULL;
	}
	c->next = clients;
	clients = c;
	return c;
}

int hv_loop_init(const char *sock_path)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int lfd;

	start_ms = now_ms();
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0)
		return -errno;
	if (!sock_path)
		return 0;
	lfd = listen_socket(sock_path);
	if (lfd < 0)
		return lfd;
	ev.data.ptr = &listen_tag;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &ev) < 0)
		return -errno;
	return lfd;
}

int hv_loop_add(int fd, void *tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = tag };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

int hv_loop_wait(struct epoll_event *evs, int max)
{
	return epoll_wait(epfd, evs, max, -1);
}

void hv_loop_dispatch(int lfd, void *tag, uint32_t events)
{
	struct hv_client *c;

	if (tag == &listen_tag) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

		if (fd >= 0)
			hv_client_new(fd);
		return;
	}
	if (watch_dispatch(tag, events))
		return;
	/*
	 * A client dropped earlier in this batch may still have an event
	 * here: only touch live ones.
	 */
	for (c = clients; c && c != tag; c = c->next)
		;
	if (c)
		hv_client_readable(c);
}
