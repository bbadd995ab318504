/* SPDX-License-Identifier: MIT */
/*
 * pvio-store daemon: the Unix socket transport and the event loop.
 *   pvio-store --socket PATH [--datadir DIR] [--sync] [--quiet]
 * Foreground until SIGTERM/SIGINT. Socket clients are dom0.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "store.h"
#include "store_daemon.h"

struct sock_conn {
	struct store_daemon_src src;	/* first: epoll data points here */
	struct store_conn *c;
	int fd;
	uint32_t armed;		/* epoll events currently registered */
};

static struct store_daemon D;

void store_daemon_dirty(struct store_daemon *d, struct store_daemon_src *src)
{
	if (!src->on_dirty && !src->dead) {
		src->on_dirty = true;
		src->dirty_next = d->dirty;
		d->dirty = src;
	}
}

void store_daemon_kill(struct store_daemon *d, struct store_daemon_src *src)
{
	if (src->dead)
		return;
	src->dead = true;
	src->reap_next = d->reap;
	d->reap = src;
	d->trim_due = true;
}

void store_daemon_reap(struct store_daemon *d)
{
	struct store_daemon_src *keep = NULL, *src, *next;

	for (src = d->reap; src; src = next) {
		next = src->reap_next;
		if (src->on_dirty) {
			/* still on the dirty list: free it next time */
			src->reap_next = keep;
			keep = src;
			continue;
		}
		src->destroy(src);
	}
	d->reap = keep;
}

static void sock_arm(struct sock_conn *sc)
{
	struct epoll_event ev = { .data.ptr = sc };

	ev.events = (store_conn_can_read(sc->c) ? EPOLLIN : 0) |
		    (store_conn_pending(sc->c) ? EPOLLOUT : 0) | EPOLLRDHUP;
	if (ev.events == sc->armed)
		return;		/* the common case: no syscall */
	epoll_ctl(D.epfd, EPOLL_CTL_MOD, sc->fd, &ev);
	sc->armed = ev.events;
}

static void sock_destroy(struct store_daemon_src *src)
{
	free(src);
}

static void sock_close(struct sock_conn *sc)
{
	epoll_ctl(D.epfd, EPOLL_CTL_DEL, sc->fd, NULL);
	close(sc->fd);
	store_conn_free(sc->c);
	sc->c = NULL;
	sc->fd = -1;
	store_daemon_kill(&D, &sc->src);
}

static void sock_wake(struct store_conn *c)
{
	struct sock_conn *sc = c->priv;

	store_daemon_dirty(&D, &sc->src);
}

static const struct store_conn_ops sock_ops = { .wake = sock_wake };

/* Write what we can; false if the connection died. */
static bool sock_write(struct sock_conn *sc)
{
	struct store_conn *c = sc->c;

	while (store_conn_pending(c)) {
		ssize_t n = send(sc->fd, c->out + c->out_head,
				 store_conn_pending(c),
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			return false;
		}
		store_conn_consumed(c, n);
	}
	return true;
}

static void sock_flush(struct store_daemon_src *src)
{
	struct sock_conn *sc = (struct sock_conn *)src;
	struct store_conn *c = sc->c;

	if (!c->dead && !sock_write(sc))
		c->dead = true;
	/* input held back by backpressure, now that output drained */
	if (!c->dead && c->in_len && store_conn_can_read(c)) {
		store_conn_process(c);
		if (!c->dead && !sock_write(sc))
			c->dead = true;
	}
	if (c->dead) {
		/* protocol error, hang-up or overflow: nothing more to say */
		sock_close(sc);
		return;
	}
	if (c->in_len >= sizeof(struct xsd_sockmsg) &&
	    store_conn_can_read(c))
		store_daemon_dirty(&D, src);	/* more complete requests */
	sock_arm(sc);
}

static void sock_input(struct sock_conn *sc)
{
	struct store_conn *c = sc->c;

	/* bounded: one buffer per wake-up keeps other clients served */
	if (store_conn_can_read(c)) {
		ssize_t n = recv(sc->fd, c->in + c->in_len,
				 STORE_IN_BUF - c->in_len, MSG_DONTWAIT);

		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			c->dead = true;
			return;
		}
		if (n > 0)
			c->in_len += n;
	}
	store_conn_process(c);
}

static void sock_event(struct store_daemon_src *src, uint32_t events)
{
	struct sock_conn *sc = (struct sock_conn *)src;

	if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		sock_input(sc);
	store_daemon_dirty(&D, src);	/* flush and re-arm after the batch */
}

static void sock_accept(struct store_daemon_src *src, uint32_t events)
{
	for (;;) {
		int fd = accept4(D.lfd, NULL, NULL,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct sock_conn *sc;
		struct epoll_event ev;

		if (fd < 0)
			return;
		sc = calloc(1, sizeof(*sc));
		if (!sc) {
			close(fd);
			continue;
		}
		sc->fd = fd;
		sc->src.fn = sock_event;
		sc->src.flush = sock_flush;
		sc->src.destroy = sock_destroy;
		sc->c = store_conn_new(D.store, 0, &sock_ops, sc);
		if (!sc->c) {
			fprintf(stderr, "pvio-store: too many connections\n");
			close(fd);
			free(sc);
			continue;
		}
		ev.events = EPOLLIN | EPOLLRDHUP;
		sc->armed = ev.events;
		ev.data.ptr = sc;
		epoll_ctl(D.epfd, EPOLL_CTL_ADD, fd, &ev);
	}
}

/*
 * About to sleep with nothing to do, after connections (domains' rings,
 * sockets) went. What they and their domains' nodes used is free, but
 * glibc gives back only a free top of the heap, which a few live chunks
 * (the node table's bucket array, grown for the peak number of nodes,
 * among them) keep from forming: the heap kept megabytes of free chunks.
 * Shrink the table, drop released domains' records, then return the free
 * pages, those in the middle of the heap too (malloc_trim).
 */
static void daemon_idle(void)
{
	if (D.trim_due) {
		D.trim_due = false;
		store_shrink(D.store);
		malloc_trim(0);
	}
}

/* After each batch of events: log sync, output out, epoll re-armed. */
static void flush_dirty(void)
{
	struct store_daemon_src *list, *src, *next;

	/* replies leave only once their changes are in the log */
	store_log_sync(D.store);
	list = D.dirty;
	D.dirty = NULL;
	for (src = list; src; src = next) {
		next = src->dirty_next;
		src->on_dirty = false;
		if (!src->dead)
			src->flush(src);
	}
	store_daemon_reap(&D);
	/* the slow part of durability, once the replies are out */
	store_log_idle(D.store);
}

static int listen_on(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "pvio-store: socket path too long: %s\n", path);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	unlink(path);	/* a stale socket from a killed daemon */
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    chmod(path, 0600) || listen(fd, 128)) {
		int e = errno;

		fprintf(stderr, "pvio-store: cannot listen on %s: %s\n", path,
			strerror(e));
		close(fd);
		return -e;
	}
	return fd;
}

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: pvio-store --socket PATH [--datadir DIR] [--sync] "
		"[--quiet]\n"
		"  --datadir DIR  durable data (default: PATH's directory/"
		"store-data)\n"
		"  --sync         fdatasync committed changes (power-loss "
		"safe, slower)\n"
		"  --compact-min BYTES  log size that may start a compaction "
		"(default 8 MiB)\n");
}

static char *default_datadir(const char *sock)
{
	const char *slash = strrchr(sock, '/');
	char *d;

	if (!slash)
		return strdup("store-data");
	if (asprintf(&d, "%.*s/store-data", (int)(slash - sock), sock) < 0)
		return NULL;
	return d;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "datadir", required_argument, NULL, 'd' },
		{ "sync", no_argument, NULL, 'S' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "compact-min", required_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct store_opts so = { 0 };
	const char *sock = NULL;
	char *datadir = NULL;
	struct store_daemon_src lsrc = { .fn = sock_accept };
	struct store_daemon_src sigsrc = { 0 };
	struct epoll_event ev;
	sigset_t mask;
	int sfd, rc, o;
	const char *spin_env = getenv("PVIO_STORE_SPIN_US");
	/* busy-poll window after activity; 0 disables */
	double spin_us = spin_env ? atof(spin_env) : 0;

	while ((o = getopt_long(argc, argv, "s:d:SqC:h", opts, NULL)) != -1) {
		switch (o) {
		case 's': sock = optarg; break;
		case 'd': datadir = strdup(optarg); break;
		case 'S': so.sync = true; break;
		case 'q': so.quiet = true; break;
		case 'C': so.compact_min = strtoull(optarg, NULL, 0); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!sock) {
		usage(stderr);
		return 2;
	}
	if (!datadir)
		datadir = default_datadir(sock);
	so.datadir = datadir;
	/* pvio-hv lives in the same run directory as our socket */
	{
		const char *slash = strrchr(sock, '/');

		D.rundir = slash ? strndup(sock, slash - sock) : NULL;
	}
	store_domain_hooks(&D, &so);

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);

	rc = store_new(&so, &D.store);
	if (rc) {
		fprintf(stderr, "pvio-store: cannot open the store in %s: %s\n",
			datadir, strerror(-rc));
		return 1;
	}
	D.epfd = epoll_create1(EPOLL_CLOEXEC);
	D.lfd = listen_on(sock);
	if (D.lfd < 0 || D.epfd < 0 || sfd < 0) {
		store_free(D.store);
		return 1;
	}
	ev.events = EPOLLIN;
	ev.data.ptr = &lsrc;
	epoll_ctl(D.epfd, EPOLL_CTL_ADD, D.lfd, &ev);
	ev.data.ptr = &sigsrc;
	epoll_ctl(D.epfd, EPOLL_CTL_ADD, sfd, &ev);
	store_domain_restore(&D);
	if (!so.quiet)
		fprintf(stderr, "pvio-store: serving %s (data in %s%s)\n",
			sock, datadir, so.sync ? ", sync" : "");

	for (;;) {
		struct epoll_event evs[64];
		bool more = D.dirty || store_log_busy(D.store);
		int n = 0;

		if (more || spin_us > 0)
			n = epoll_wait(D.epfd, evs, 64, 0);

		/*
		 * A client usually sends its next request right after reading
		 * a reply: poll for a few microseconds before sleeping, which
		 * saves a sleep/wake-up pair per request under load.
		 */
		if (n == 0 && !more && spin_us) {
			double t0 = now_us();

			while (n == 0 && now_us() - t0 < spin_us)
				n = epoll_wait(D.epfd, evs, 64, 0);
		}
		if (n == 0 && !more) {
			daemon_idle();
			n = epoll_wait(D.epfd, evs, 64, -1);
		}
		if (n < 0 && errno != EINTR)
			break;
		double t0 = now_us(), busy;

		for (int i = 0; i < n; i++) {
			struct store_daemon_src *src = evs[i].data.ptr;

			if (src == &sigsrc)
				goto out;
			if (src->dead)
				continue;
			src->fn(src, evs[i].events);
		}
		flush_dirty();
		busy = now_us() - t0;
		if (busy > D.store->st.busy_max_us)
			D.store->st.busy_max_us = busy;
	}
out:
	if (!so.quiet)
		fprintf(stderr, "pvio-store: shutting down\n");
	store_domain_shutdown(&D);
	store_free(D.store);	/* snapshots the tree */
	close(D.lfd);
	unlink(sock);
	free(datadir);
	return 0;
}
