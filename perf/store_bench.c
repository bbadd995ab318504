/* SPDX-License-Identifier: MIT */
/*
 * pvio-perf-store: store benchmark with its baseline in the same run.
 *
 * For pvio-store and for Xen's own C xenstored (via the xsref harness,
 * PVIO_XSREF_DIR, default /work/shared/tools/xsref), each started fresh:
 *  - write+read pairs per second: XS_WRITE /bench/k<i % keys> then XS_READ
 *    of it, strictly sequential over one Unix socket connection;
 *  - watch-fire latency: one connection watches /bench/w, another writes
 *    below it; time from sending the write to receiving the event;
 *  - pvio-store through the client library too (xs_write + xs_read).
 * Prints the figures and the pvio-store / xenstored ratios.
 *
 *   pvio-perf-store [-n PAIRS] [-r RUNS] [-k KEYS] [-v VALUELEN] [--sync]
 *                   [--pin]   (daemon on CPU 0, client on CPU 1)
 */
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pvio/xenbus.h"
#include "pvio/xs_wire.h"
#include "perf_proc.h"

static long npairs = 20000, runs = 3, nkeys = 100, vlen = 8;
static int use_sync;
static int pin = -1;	/* --pin: daemon on CPU 0, client on CPU 1 */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- a minimal synchronous wire client (same for both daemons) ---- */

struct wc {
	int fd;
	uint32_t req_id;
};

static int wc_open(struct wc *c, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	c->req_id = 0;
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)))
		return -errno;
	return 0;
}

static int io_all(int fd, void *b, size_t n, bool wr)
{
	char *p = b;

	while (n) {
		ssize_t r = wr ? write(fd, p, n) : read(fd, p, n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -EIO;
		p += r;
		n -= r;
	}
	return 0;
}

static int wc_send(struct wc *c, uint32_t type, const void *a, size_t alen,
		   const void *b, size_t blen)
{
	char buf[sizeof(struct xsd_sockmsg) + XENSTORE_PAYLOAD_MAX];
	struct xsd_sockmsg h = { type, ++c->req_id, 0,
				 (uint32_t)(alen + blen) };

	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), a, alen);
	if (blen)
		memcpy(buf + sizeof(h) + alen, b, blen);
	return io_all(c->fd, buf, sizeof(h) + alen + blen, true);
}

/* Receive one message; its type, or -errno. */
static int wc_recv(struct wc *c, char *out)
{
	struct xsd_sockmsg h;

	if (io_all(c->fd, &h, sizeof(h), false) ||
	    h.len > XENSTORE_PAYLOAD_MAX ||
	    io_all(c->fd, out, h.len, false))
		return -EIO;
	out[h.len] = 0;
	return h.type;
}

/* Request, skipping watch events; 0 if the reply has the request type. */
static int wc_req(struct wc *c, uint32_t type, const void *a, size_t alen,
		  const void *b, size_t blen)
{
	char out[XENSTORE_PAYLOAD_MAX + 1];
	int t;

	if (wc_send(c, type, a, alen, b, blen))
		return -EIO;
	while ((t = wc_recv(c, out)) == XS_WATCH_EVENT)
		;
	return t == (int)type ? 0 : -EIO;
}

static double bench_pairs(const char *sock)
{
	char path[64], val[4096];
	struct wc c;
	double t0, t;

	memset(val, 'v', sizeof(val));
	if (wc_open(&c, sock))
		return -1;
	t0 = now_s();
	for (long i = 0; i < npairs; i++) {
		int pl = snprintf(path, sizeof(path), "/bench/k%ld",
				  i % nkeys) + 1;

		if (wc_req(&c, XS_WRITE, path, pl, val, vlen) ||
		    wc_req(&c, XS_READ, path, pl, NULL, 0)) {
			close(c.fd);
			return -1;
		}
	}
	t = now_s() - t0;
	close(c.fd);
	return npairs / t;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Watch latency: median and p99 in microseconds. */
static int bench_watch(const char *sock, double *med, double *p99)
{
	enum { N = 2000 };
	static double lat[N];
	char out[XENSTORE_PAYLOAD_MAX + 1];
	struct wc w, wr;

	if (wc_open(&w, sock) || wc_open(&wr, sock))
		return -1;
	if (wc_req(&w, XS_WATCH, "/bench/w\0tok", 13, NULL, 0))
		return -1;
	/* drain the initial event (it may come after the reply) */
	if (wc_recv(&w, out) != XS_WATCH_EVENT)
		return -1;
	for (int i = 0; i < N; i++) {
		double t0 = now_s();
		int t;

		if (wc_send(&wr, XS_WRITE, "/bench/w/x", 11, "1", 1))
			return -1;
		while ((t = wc_recv(&w, out)) != XS_WATCH_EVENT)
			if (t < 0)
				return -1;
		lat[i] = (now_s() - t0) * 1e6;
		if (wc_recv(&wr, out) != XS_WRITE)
			return -1;
	}
	close(w.fd);
	close(wr.fd);
	qsort(lat, N, sizeof(lat[0]), cmp_double);
	*med = lat[N / 2];
	*p99 = lat[N * 99 / 100];
	return 0;
}

static double bench_lib(const char *sock)
{
	struct xs_handle *h;
	char path[64], val[4096], *v;
	size_t len;
	double t0, t;

	memset(val, 'v', sizeof(val));
	if (xs_open(sock, &h))
		return -1;
	t0 = now_s();
	for (long i = 0; i < npairs; i++) {
		snprintf(path, sizeof(path), "/bench/k%ld", i % nkeys);
		if (xs_write(h, XS_TXN_NULL, path, val, vlen) ||
		    xs_read(h, XS_TXN_NULL, path, &v, &len)) {
			xs_close(h);
			return -1;
		}
		free(v);
	}
	t = now_s() - t0;
	xs_close(h);
	return npairs / t;
}

/*
 * The floor: a server that does nothing but answer each message (a reply
 * with the request's type), on the same kind of socket, one process, poll
 * loop like the daemons. No store can beat it; it shows how much of a
 * round trip is the kernel's.
 */
static void echo_server(int lfd)
{
	for (;;) {
		int fd = accept(lfd, NULL, NULL);
		pid_t p;

		if (fd < 0)
			_exit(0);
		p = fork();
		if (p == 0) {
			char buf[sizeof(struct xsd_sockmsg) + XENSTORE_PAYLOAD_MAX];
			struct xsd_sockmsg h;

			for (;;) {
				if (io_all(fd, &h, sizeof(h), false) ||
				    h.len > XENSTORE_PAYLOAD_MAX ||
				    io_all(fd, buf, h.len, false))
					_exit(0);
				/* READ answers the value, others "OK" */
				h.len = 3;
				memcpy(buf, &h, sizeof(h));
				memcpy(buf + sizeof(h), "OK", 3);
				if (io_all(fd, buf, sizeof(h) + 3, true))
					_exit(0);
			}
		}
		close(fd);
	}
}

static pid_t start_echo(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	pid_t pid;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -1;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(lfd, 8))
		return -1;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		setpgid(0, 0);
		echo_server(lfd);
	}
	close(lfd);
	return pid;
}

/* ---- daemons ---- */

static pid_t spawn(char *const argv[], const char *log, bool unset_xs)
{
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		FILE *f = freopen(log, "w", stdout);

		(void)f;
		dup2(STDOUT_FILENO, STDERR_FILENO);
		if (unset_xs)
			unsetenv("XENSTORED_PATH");
		if (pin >= 0) {
			cpu_set_t set;

			CPU_ZERO(&set);
			CPU_SET(0, &set);
			sched_setaffinity(0, sizeof(set), &set);
		}
		setpgid(0, 0);
		execvp(argv[0], argv);
		_exit(127);
	}
	return pid;
}

struct result {
	bool ok;
	double pairs;		/* median of runs */
	double lib_pairs;
	double wmed, wp99;
};

static int measure_runs(const char *name, const char *sock, long i,
			double *v)
{
	v[i] = bench_pairs(sock);
	if (v[i] < 0) {
		printf("%s: benchmark failed\n", name);
		return -1;
	}
	printf("  run %ld %-10s %8.0f pairs/s\n", i + 1, name, v[i]);
	return 0;
}

static void finish(const char *name, const char *sock, bool lib, double *v,
		   long n, struct result *r)
{
	qsort(v, n, sizeof(v[0]), cmp_double);
	r->pairs = v[n / 2];
	if (bench_watch(sock, &r->wmed, &r->wp99)) {
		printf("%s: watch benchmark failed\n", name);
		return;
	}
	if (lib)
		r->lib_pairs = bench_lib(sock);
	r->ok = true;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "sync", no_argument, NULL, 'S' },
		{ "pin", no_argument, NULL, 'P' },
		{ NULL, 0, NULL, 0 },
	};
	const char *bin = getenv("PVIO_BIN");
	const char *xsref = getenv("PVIO_XSREF_DIR");
	char dir[] = "/tmp/pvio-perf-store.XXXXXX";
	char exe[512], sock[256], log[256], data[256], xsdir[256], xssock[300];
	char script[512], cmd[600];
	struct result ours = { 0 }, ref = { 0 };
	pid_t pid, xpid = 0;
	double paired_ratio = 0, echo_pairs = 0;
	int o;

	while ((o = getopt_long(argc, argv, "n:r:k:v:", opts, NULL)) != -1) {
		switch (o) {
		case 'n': npairs = atol(optarg); break;
		case 'r': runs = atol(optarg); break;
		case 'k': nkeys = atol(optarg); break;
		case 'v': vlen = atol(optarg); break;
		case 'S': use_sync = 1; break;
		case 'P': pin = 1; break;
		default:
			fprintf(stderr, "usage: pvio-perf-store [-n PAIRS] "
				"[-r RUNS] [-k KEYS] [-v VALUELEN] [--sync]\n");
			return 2;
		}
	}
	if (npairs < 1 || runs < 1 || nkeys < 1 || vlen < 0 || vlen > 2048)
		return 2;
	if (!mkdtemp(dir))
		return 1;
	signal(SIGPIPE, SIG_IGN);
	if (pin >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(1, &set);
		sched_setaffinity(0, sizeof(set), &set);
	}
	if (!bin) {
		/* next to this binary */
		ssize_t l = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

		exe[l > 0 ? l : 0] = 0;
		if (strrchr(exe, '/'))
			*strrchr(exe, '/') = 0;
		bin = exe;
	}
	printf("pvio-perf-store: %ld write+read pairs x %ld runs, %ld keys, "
	       "%ld-byte values, one connection, one request at a time\n",
	       npairs, runs, nkeys, vlen);

	/* both daemons up at once; runs alternate so load drifts hit both */
	{
		char pbin[600];
		char *args[] = { pbin, "--socket", sock, "--datadir", data,
				 use_sync ? "--sync" : "--quiet", NULL };

		snprintf(pbin, sizeof(pbin), "%s/pvio-store", bin);
		snprintf(sock, sizeof(sock), "%s/store.sock", dir);
		snprintf(data, sizeof(data), "%s/data", dir);
		snprintf(log, sizeof(log), "%s/pvio-store.log", dir);
		pid = spawn(args, log, false);
		if (!perf_wait_socket(sock, 5000)) {
			printf("pvio-store did not start (%s)\n", log);
			perf_stop(pid, 2000);
			return 1;
		}
	}
	if (!xsref)
		xsref = "/work/shared/tools/xsref";
	snprintf(script, sizeof(script), "%s/run-xenstored.sh", xsref);
	snprintf(xsdir, sizeof(xsdir), "%s/xsref", dir);
	snprintf(xssock, sizeof(xssock), "%s/socket", xsdir);
	if (access(script, X_OK)) {
		printf("baseline: Xen's xenstored not available (%s: %s)\n",
		       script, strerror(errno));
	} else {
		char *args[] = { script, xsdir, NULL };
		char xlog[300];

		snprintf(xlog, sizeof(xlog), "%s/xenstored.log", dir);
		xpid = spawn(args, xlog, true);
		if (!perf_wait_socket(xssock, 60000)) {
			printf("baseline: Xen's xenstored did not start "
			       "(see %s)\n", xlog);
			perf_stop(xpid, 2000);
			xpid = 0;
		}
	}
	{
		char esock[300];
		pid_t epid;
		double v[16];
		long n = runs > 16 ? 16 : runs;

		snprintf(esock, sizeof(esock), "%s/echo.sock", dir);
		epid = start_echo(esock);
		if (epid > 0) {
			for (long i = 0; i < n; i++)
				if (measure_runs("echo", esock, i, v))
					break;
			qsort(v, n, sizeof(v[0]), cmp_double);
			echo_pairs = v[n / 2];
			perf_stop(epid, 2000);
		}
	}
	printf("pvio-store%s vs xenstored (Xen 4.17, C)%s:\n",
	       use_sync ? " --sync" : "", xpid ? "" : " (not running)");
	{
		double vo[16], vr[16];
		long n = runs > 16 ? 16 : runs;
		bool okr = xpid > 0, oko = true;

		for (long i = 0; i < n; i++) {
			if (oko && measure_runs("pvio-store", sock, i, vo))
				oko = false;
			if (okr && measure_runs("xenstored", xssock, i, vr))
				okr = false;
		}
		if (oko && okr) {
			/* paired runs: the ratio of each pair, then the median */
			double rr[16];

			for (long i = 0; i < n; i++)
				rr[i] = vo[i] / vr[i];
			qsort(rr, n, sizeof(rr[0]), cmp_double);
			paired_ratio = rr[n / 2];
		}
		if (oko)
			finish("pvio-store", sock, true, vo, n, &ours);
		if (okr)
			finish("xenstored", xssock, false, vr, n, &ref);
	}
	perf_stop(pid, 2000);
	if (xpid)
		perf_stop(xpid, 2000);

	printf("\n%-28s %12s %12s %8s\n", "", "pvio-store", "xenstored",
	       "ratio");
	if (ours.ok) {
		if (ref.ok) {
			printf("%-28s %12.0f %12.0f %7.2fx\n",
			       "pairs/s (wire, median)", ours.pairs,
			       ref.pairs, ours.pairs / ref.pairs);
			printf("%-28s %12s %12s %7.2fx\n",
			       "pairs/s, median paired ratio", "", "",
			       paired_ratio);
			printf("%-28s %12.1f %12.1f %7.2fx\n",
			       "watch latency median (us)", ours.wmed,
			       ref.wmed, ref.wmed / ours.wmed);
			printf("%-28s %12.1f %12.1f %7.2fx\n",
			       "watch latency p99 (us)", ours.wp99, ref.wp99,
			       ref.wp99 / ours.wp99);
			printf("%-28s %12.0f %12s %7.2fx\n",
			       "pairs/s (client library)", ours.lib_pairs,
			       "", ours.lib_pairs / ref.pairs);
		} else {
			printf("%-28s %12.0f %12s\n", "pairs/s (wire, median)",
			       ours.pairs, "n/a");
			printf("%-28s %12.1f\n", "watch latency median (us)",
			       ours.wmed);
			printf("%-28s %12.1f\n", "watch latency p99 (us)",
			       ours.wp99);
			printf("%-28s %12.0f\n", "pairs/s (client library)",
			       ours.lib_pairs);
		}
		printf("(ratios: > 1 means pvio-store is better)\n");
		if (echo_pairs > 0)
			printf("floor: a do-nothing echo server on the same "
			       "socket does %.0f pairs/s\n(pvio-store at %.0f%% "
			       "of it, xenstored at %.0f%%)\n", echo_pairs,
			       100 * ours.pairs / echo_pairs,
			       ref.ok ? 100 * ref.pairs / echo_pairs : 0.0);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd))
		fprintf(stderr, "could not remove %s\n", dir);
	return ours.ok ? 0 : 1;
}
