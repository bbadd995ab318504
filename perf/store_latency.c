/* SPDX-License-Identifier: MIT */
/*
 * pvio-perf-store-latency: request latency of pvio-store against Xen's own
 * C xenstored (via the xsref harness, PVIO_XSREF_DIR, default
 * /work/shared/tools/xsref), both measured in the same run.
 *
 * Each round starts each daemon fresh (pvio-store first in odd rounds,
 * xenstored first in even ones) and runs, against it:
 *  - the mix of Xen's test-xenstore (read 1/2000 bytes, write 1/2000, dir,
 *    rm node, rm dir, empty transaction committed/aborted, read-modify-write
 *    transaction committed/aborted, transaction with a conflict), ITER
 *    iterations of each, over two wire connections, timing every request
 *    (set-up and tear-down requests included): p50, p99, p99.9 and the worst;
 *  - Xen's test-xenstore binary itself (-i ITER): the worst iteration of
 *    each of its tests (it reports no percentiles);
 *  - for pvio-store, its own longest event-loop pass (CONTROL stats
 *    busy-max-us): the time it was unable to listen, whatever the host's
 *    scheduler did to the client.
 * Figures: the median over the rounds, with the spread (min..max), and the
 * ratio pvio-store / xenstored (< 1: pvio-store is faster).
 *
 *   pvio-perf-store-latency [-i ITER] [-r ROUNDS] [-d DATADIR-PARENT]
 *                           [--fifo] [--no-test-xenstore]
 */
#include <errno.h>
#include <fcntl.h>
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

#include "pvio/xs_wire.h"
#include "perf_proc.h"

#define MAX_ROUNDS	16
#define NDAEMONS	2
#define NMETRICS	6

enum { M_P50, M_P99, M_P999, M_MAX, M_TX_WORST, M_BUSY };

static const char *const metric_name[NMETRICS] = {
	"request p50 (us)", "request p99 (us)", "request p99.9 (us)",
	"worst request (us)", "test-xenstore worst (us)",
	"daemon busy max (us)",
};

static long iters = 1000, rounds = 5;
static bool fifo, run_tx = true;
static const char *bindir, *xsref, *parent_dir = "/tmp";
static char txbin[512];

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* ---- a synchronous wire client that times every request ---- */

struct wc {
	int fd;
	uint32_t req_id;
	double *lat;		/* every request's latency, us */
	size_t nlat, cap;
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

static void record(struct wc *c, double us)
{
	if (c->nlat == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 65536;
		double *l = realloc(c->lat, cap * sizeof(*l));

		if (!l)
			return;
		c->lat = l;
		c->cap = cap;
	}
	c->lat[c->nlat++] = us;
}

/*
 * One request: @nargs strings, each sent with its NUL except the last when
 * @raw_last (a value). Returns the reply type (XS_ERROR for an error) or
 * -EIO; the reply payload goes to @out.
 */
static int req(struct wc *c, uint32_t type, uint32_t tx, char *out,
	       const char *a, const char *b, size_t blen)
{
	char buf[sizeof(struct xsd_sockmsg) + XENSTORE_PAYLOAD_MAX + 1];
	size_t alen = a ? strlen(a) + 1 : 0;
	struct xsd_sockmsg h = { type, ++c->req_id, tx,
				 (uint32_t)(alen + blen) };
	double t0;
	int t;

	memcpy(buf, &h, sizeof(h));
	if (alen)
		memcpy(buf + sizeof(h), a, alen);
	if (blen)
		memcpy(buf + sizeof(h) + alen, b, blen);
	t0 = now_us();
	if (io_all(c->fd, buf, sizeof(h) + alen + blen, true))
		return -EIO;
	do {
		if (io_all(c->fd, &h, sizeof(h), false) ||
		    h.len > XENSTORE_PAYLOAD_MAX ||
		    io_all(c->fd, out, h.len, false))
			return -EIO;
		out[h.len] = 0;
		t = h.type;
	} while (t == XS_WATCH_EVENT);
	record(c, now_us() - t0);
	return t;
}

static bool ok(int t, uint32_t want)
{
	return t == (int)want;
}

static uint32_t tx_start(struct wc *c, char *out)
{
	if (!ok(req(c, XS_TRANSACTION_START, 0, out, "", NULL, 0),
		XS_TRANSACTION_START))
		return 0;
	return strtoul(out, NULL, 10);
}

/* Xen's test-xenstore mix, every request timed. 0 or -1. */
static int run_mix(const char *sock, struct wc *c)
{
	static char val[2001], out[XENSTORE_PAYLOAD_MAX + 1];
	const char *base = "/local/domain/0/latency";
	char p[128], q[160];
	struct wc c2 = { 0 };
	uint32_t tx;
	int t;

	memset(val, 'v', sizeof(val) - 1);
	if (wc_open(c, sock) || wc_open(&c2, sock))
		return -1;
	c2.lat = NULL;
	snprintf(p, sizeof(p), "%s/node", base);
	for (long i = 0; i < iters; i++) {
		/* read 1, read 2000 */
		for (int sz = 1; sz <= 2000; sz += 1999) {
			if (!ok(req(c, XS_WRITE, 0, out, p, val, sz),
				XS_WRITE) ||
			    !ok(req(c, XS_READ, 0, out, p, NULL, 0),
				XS_READ) ||
			    !ok(req(c, XS_RM, 0, out, p, NULL, 0), XS_RM))
				goto fail;
		}
		/* write 1, write 2000 */
		for (int sz = 1; sz <= 2000; sz += 1999)
			if (!ok(req(c, XS_WRITE, 0, out, p, val, sz),
				XS_WRITE) ||
			    !ok(req(c, XS_RM, 0, out, p, NULL, 0), XS_RM))
				goto fail;
		/* dir: a node with three children listed */
		for (int k = 0; k < 3; k++) {
			snprintf(q, sizeof(q), "%s/c%d", p, k);
			if (!ok(req(c, XS_WRITE, 0, out, q, val, 1), XS_WRITE))
				goto fail;
		}
		if (!ok(req(c, XS_DIRECTORY, 0, out, p, NULL, 0),
			XS_DIRECTORY))
			goto fail;
		/* rm dir (the node with its children), rm node */
		if (!ok(req(c, XS_RM, 0, out, p, NULL, 0), XS_RM) ||
		    !ok(req(c, XS_WRITE, 0, out, p, val, 1), XS_WRITE) ||
		    !ok(req(c, XS_RM, 0, out, p, NULL, 0), XS_RM))
			goto fail;
		/* ta empty, ta empty x */
		for (int abort = 0; abort < 2; abort++) {
			tx = tx_start(c, out);
			if (!tx || !ok(req(c, XS_TRANSACTION_END, tx, out,
					   abort ? "F" : "T", NULL, 0),
				       XS_TRANSACTION_END))
				goto fail;
		}
		/* ta rmw, ta rmw x */
		if (!ok(req(c, XS_WRITE, 0, out, p, val, 1), XS_WRITE))
			goto fail;
		for (int abort = 0; abort < 2; abort++) {
			tx = tx_start(c, out);
			if (!tx ||
			    !ok(req(c, XS_READ, tx, out, p, NULL, 0),
				XS_READ) ||
			    !ok(req(c, XS_WRITE, tx, out, p, val, 2),
				XS_WRITE) ||
			    !ok(req(c, XS_TRANSACTION_END, tx, out,
				    abort ? "F" : "T", NULL, 0),
				XS_TRANSACTION_END))
				goto fail;
		}
		/* ta err: another connection writes the node meanwhile */
		tx = tx_start(c, out);
		if (!tx ||
		    !ok(req(c, XS_READ, tx, out, p, NULL, 0), XS_READ) ||
		    !ok(req(&c2, XS_WRITE, 0, out, p, val, 3), XS_WRITE) ||
		    !ok(req(c, XS_WRITE, tx, out, p, val, 4), XS_WRITE))
			goto fail;
		t = req(c, XS_TRANSACTION_END, tx, out, "T", NULL, 0);
		if (t != XS_ERROR || strcmp(out, "EAGAIN"))
			goto fail;
		if (!ok(req(c, XS_RM, 0, out, p, NULL, 0), XS_RM))
			goto fail;
	}
	/* the conflicting writes count as requests too */
	for (size_t i = 0; i < c2.nlat; i++)
		record(c, c2.lat[i]);
	free(c2.lat);
	close(c2.fd);
	close(c->fd);
	return 0;
fail:
	fprintf(stderr, "mix: unexpected reply (%s) at request %zu\n", out,
		c->nlat);
	free(c2.lat);
	close(c2.fd);
	close(c->fd);
	return -1;
}

/* pvio-store only: CONTROL stats busy-max-us, or -1. */
static double busy_max(const char *sock)
{
	static char out[XENSTORE_PAYLOAD_MAX + 1];
	struct wc c = { 0 };
	const char *s;
	double v = -1;

	if (wc_open(&c, sock))
		return -1;
	if (req(&c, XS_CONTROL, 0, out, "stats", NULL, 0) == XS_CONTROL) {
		s = strstr(out, "busy-max-us ");
		if (s)
			v = atof(s + 12);
	}
	free(c.lat);
	close(c.fd);
	return v;
}

/* Xen's test-xenstore: the worst iteration of any of its tests, us. */
static double test_xenstore(const char *sock)
{
	char cmd[1800], line[256];
	double worst = -1;
	FILE *f;

	snprintf(cmd, sizeof(cmd), "XENSTORED_PATH='%s' '%s' -i %ld 2>&1",
		 sock, txbin, iters);
	f = popen(cmd, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *dots = strstr(line, " .. ");
		double max;

		if (!strstr(line, "avg:") || !dots)
			continue;
		max = atof(dots + 4) / 1e3;
		if (max > worst)
			worst = max;
	}
	if (pclose(f))
		return -1;
	return worst;
}

/* ---- daemons ---- */

static void go_fifo(void)
{
	struct sched_param sp = { .sched_priority = 10 };

	if (fifo && sched_setscheduler(0, SCHED_FIFO, &sp))
		perror("sched_setscheduler");
}

static pid_t spawn(char *const argv[], const char *log)
{
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		if (fd >= 0) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
		}
		unsetenv("XENSTORED_PATH");
		setpgid(0, 0);
		execvp(argv[0], argv);
		_exit(127);
	}
	return pid;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double pct(const double *v, size_t n, double p)
{
	size_t i = (size_t)(p * n);

	return v[i < n ? i : n - 1];
}

/* One daemon, one round: fills @m (NAN-free: -1 = not measured). */
static int one(int which, const char *dir, int round, double *m)
{
	char sock[800], data[800], log[800], pbin[800], xsdir[700];
	struct wc c = { 0 };
	pid_t pid;

	for (int i = 0; i < NMETRICS; i++)
		m[i] = -1;
	if (which == 0) {
		char *args[] = { pbin, "--socket", sock, "--datadir", data,
				 "--quiet", NULL };

		snprintf(pbin, sizeof(pbin), "%s/pvio-store", bindir);
		snprintf(sock, sizeof(sock), "%s/p%d.sock", dir, round);
		snprintf(data, sizeof(data), "%s/p%d.data", dir, round);
		snprintf(log, sizeof(log), "%s/p%d.log", dir, round);
		pid = spawn(args, log);
	} else {
		char script[800];
		char *args[] = { script, xsdir, NULL };

		snprintf(script, sizeof(script), "%s/run-xenstored.sh", xsref);
		snprintf(xsdir, sizeof(xsdir), "%s/x%d", dir, round);
		snprintf(sock, sizeof(sock), "%s/socket", xsdir);
		snprintf(log, sizeof(log), "%s/x%d.log", dir, round);
		pid = spawn(args, log);
	}
	if (!perf_wait_socket(sock, 60000)) {
		printf("  %s did not start (see %s)\n",
		       which ? "xenstored" : "pvio-store", log);
		perf_stop(pid, 5000);
		return -1;
	}
	if (run_mix(sock, &c)) {
		free(c.lat);
		perf_stop(pid, 5000);
		return -1;
	}
	qsort(c.lat, c.nlat, sizeof(c.lat[0]), cmp_double);
	m[M_P50] = pct(c.lat, c.nlat, 0.50);
	m[M_P99] = pct(c.lat, c.nlat, 0.99);
	m[M_P999] = pct(c.lat, c.nlat, 0.999);
	m[M_MAX] = c.lat[c.nlat - 1];
	free(c.lat);
	if (run_tx)
		m[M_TX_WORST] = test_xenstore(sock);
	if (which == 0)
		m[M_BUSY] = busy_max(sock);
	perf_stop(pid, 5000);
	return 0;
}

static void median_spread(const double *v, int n, double *med, double *lo,
			  double *hi)
{
	double s[MAX_ROUNDS];
	int k = 0;

	for (int i = 0; i < n; i++)
		if (v[i] >= 0)
			s[k++] = v[i];
	if (!k) {
		*med = *lo = *hi = -1;
		return;
	}
	qsort(s, k, sizeof(s[0]), cmp_double);
	*med = k % 2 ? s[k / 2] : (s[k / 2 - 1] + s[k / 2]) / 2;
	*lo = s[0];
	*hi = s[k - 1];
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "fifo", no_argument, NULL, 'F' },
		{ "no-test-xenstore", no_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static double res[NDAEMONS][NMETRICS][MAX_ROUNDS];
	char dir[300], exe[512], cmd[900];
	const char *names[NDAEMONS] = { "pvio-store", "xenstored" };
	bool have_ref;
	int o;

	while ((o = getopt_long(argc, argv, "i:r:d:h", opts, NULL)) != -1) {
		switch (o) {
		case 'i': iters = atol(optarg); break;
		case 'r': rounds = atol(optarg); break;
		case 'd': parent_dir = optarg; break;
		case 'F': fifo = true; break;
		case 'T': run_tx = false; break;
		default:
			printf("usage: pvio-perf-store-latency [-i ITER] "
			       "[-r ROUNDS] [-d DIR] [--fifo] "
			       "[--no-test-xenstore]\n"
			       "  -d DIR  where the daemons' data go "
			       "(default /tmp)\n"
			       "  --fifo  daemons and clients SCHED_FIFO "
			       "(shields both from other load)\n");
			return o == 'h' ? 0 : 2;
		}
	}
	if (iters < 1 || rounds < 1 || rounds > MAX_ROUNDS)
		return 2;
	bindir = getenv("PVIO_BIN");
	if (!bindir) {
		ssize_t l = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

		exe[l > 0 ? l : 0] = 0;
		if (strrchr(exe, '/'))
			*strrchr(exe, '/') = 0;
		bindir = exe;
	}
	xsref = getenv("PVIO_XSREF_DIR");
	if (!xsref)
		xsref = "/work/shared/tools/xsref";
	snprintf(cmd, sizeof(cmd), "%s/run-xenstored.sh", xsref);
	have_ref = !access(cmd, X_OK);
	snprintf(txbin, sizeof(txbin), "%s/x/usr/lib/xen-4.17/bin/test-xenstore",
		 xsref);
	if (run_tx && access(txbin, X_OK)) {
		printf("test-xenstore not found (%s): skipped\n", txbin);
		run_tx = false;
	}
	snprintf(dir, sizeof(dir), "%s/pvio-store-lat.XXXXXX", parent_dir);
	if (!mkdtemp(dir))
		return 1;
	signal(SIGPIPE, SIG_IGN);
	go_fifo();	/* inherited by the daemons and test-xenstore */
	printf("pvio-perf-store-latency: %ld iterations of the test-xenstore "
	       "mix per daemon and round, %ld rounds, data in %s%s\n",
	       iters, rounds, parent_dir, fifo ? ", SCHED_FIFO" : "");
	if (!have_ref)
		printf("baseline: Xen's xenstored not available (%s)\n", cmd);
	for (int r = 0; r < rounds; r++) {
		for (int k = 0; k < NDAEMONS; k++) {
			int which = r % 2 ? 1 - k : k;
			double *m = &res[which][0][0], v[NMETRICS];

			if (which == 1 && !have_ref)
				continue;
			if (one(which, dir, r, v)) {
				for (int i = 0; i < NMETRICS; i++)
					m[i * MAX_ROUNDS + r] = -1;
				continue;
			}
			for (int i = 0; i < NMETRICS; i++)
				m[i * MAX_ROUNDS + r] = v[i];
			printf("  round %d %-10s p50 %6.1f  p99 %7.1f  "
			       "p99.9 %8.1f  max %8.1f us", r + 1,
			       names[which], v[M_P50], v[M_P99], v[M_P999],
			       v[M_MAX]);
			if (v[M_TX_WORST] >= 0)
				printf("  test-xenstore max %8.1f us",
				       v[M_TX_WORST]);
			if (v[M_BUSY] >= 0)
				printf("  busy max %6.0f us", v[M_BUSY]);
			printf("\n");
		}
	}
	printf("\nmedian of %ld rounds [min..max]\n", rounds);
	printf("%-26s %26s %26s %8s\n", "", names[0], names[1],
	       "ratio");
	for (int i = 0; i < NMETRICS; i++) {
		double med[NDAEMONS], lo[NDAEMONS], hi[NDAEMONS];
		char cell[NDAEMONS][40];

		for (int k = 0; k < NDAEMONS; k++) {
			median_spread(res[k][i], rounds, &med[k], &lo[k],
				      &hi[k]);
			if (med[k] < 0)
				snprintf(cell[k], sizeof(cell[k]), "n/a");
			else
				snprintf(cell[k], sizeof(cell[k]),
					 "%.1f [%.1f..%.1f]", med[k], lo[k],
					 hi[k]);
		}
		printf("%-26s %26s %26s", metric_name[i], cell[0], cell[1]);
		if (med[0] > 0 && med[1] > 0)
			printf(" %7.2fx", med[0] / med[1]);
		printf("\n");
	}
	printf("(ratio = pvio-store / xenstored: < 1 means pvio-store is "
	       "faster; busy max is\n pvio-store's longest event-loop pass, "
	       "xenstored has no such counter)\n");
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd))
		fprintf(stderr, "could not remove %s\n", dir);
	return 0;
}
