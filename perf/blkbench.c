// SPDX-License-Identifier: MIT
/*
 * `pvio bench blk`: prepares the backing file, starts hv + store + blkback
 * in a private run dir when none is running, then runs the same generator
 * through the pvio stack and through native io_uring on the same file, and
 * fio on that file too; prints a table or one JSON object with pvio/native
 * ratios. tools/builtin_bench.c dispatches `pvio bench blk` here.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "pvio/libpvio.h"
#include "pvio/xenbus.h"
#include "pvio/bench.h"
#include "blkbench.h"
#include "../tools/pvio_hvcmd.h"

static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	double v = strtod(s, &end);
	uint64_t m = 1;

	if (end == s || v <= 0)
		return -EINVAL;
	switch (*end) {
	case 'k': case 'K': m = 1ull << 10; end++; break;
	case 'm': case 'M': m = 1ull << 20; end++; break;
	case 'g': case 'G': m = 1ull << 30; end++; break;
	case 0: break;
	default: return -EINVAL;
	}
	if (*end == 'i' || *end == 'B')
		end++;
	if (*end == 'B')
		end++;
	if (*end)
		return -EINVAL;
	*out = (uint64_t)(v * m);
	return 0;
}

const char *blkbench_rw_name(enum blkbench_rw rw)
{
	static const char *const n[] = { "read", "write", "randread",
					 "randwrite", "randrw" };
	return n[rw];
}

/* A file of @size bytes full of data (holes would read as free zeroes). */
static int prepare_file(const char *path, uint64_t size, bool quiet)
{
	struct stat st;
	char *buf;
	int fd;

	if (!stat(path, &st) && (uint64_t)st.st_size >= size &&
	    (uint64_t)st.st_blocks * 512 >= size)
		return 0;
	if (!quiet)
		fprintf(stderr, "bench blk: writing %llu MiB of data to %s\n",
			(unsigned long long)(size >> 20), path);
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	if (fd < 0)
		return -errno;
	buf = malloc(1 << 20);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	for (unsigned int i = 0; i < (1 << 20); i++)
		buf[i] = (char)(i * 131 + 7);
	for (uint64_t off = 0; off < size; off += 1 << 20) {
		size_t n = size - off < (1 << 20) ? size - off : 1 << 20;

		if (pwrite(fd, buf, n, off) != (ssize_t)n) {
			int rc = -errno;

			free(buf);
			close(fd);
			return rc ? rc : -EIO;
		}
	}
	free(buf);
	fsync(fd);
	close(fd);
	return 0;
}

/* ---- daemons ---- */

static pid_t daemons[3];
static char own_rundir[64];

static pid_t start_daemon(const char *bindir, const char *name, char *const args[],
			  const char *log)
{
	char path[PATH_MAX];
	char *argv[8];
	pid_t pid;
	int i = 0;

	snprintf(path, sizeof(path), "%s/%s", bindir, name);
	argv[i++] = path;
	for (int j = 0; args[j] && i < 7; j++)
		argv[i++] = args[j];
	argv[i] = NULL;
	pid = fork();
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execv(path, argv);
		_exit(127);
	}
	return pid;
}

static bool wait_path(const char *p)
{
	for (int i = 0; i < 200; i++) {
		if (!access(p, F_OK))
			return true;
		usleep(25000);
	}
	return false;
}

static void stop_daemons(void)
{
	for (int i = 2; i >= 0; i--) {
		if (daemons[i] > 0) {
			kill(daemons[i], SIGTERM);
			waitpid(daemons[i], NULL, 0);
			daemons[i] = 0;
		}
	}
	if (own_rundir[0]) {
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", own_rundir);
		if (system(cmd))
			fprintf(stderr, "bench blk: could not remove %s\n", own_rundir);
		own_rundir[0] = 0;
	}
}

/* A run dir with hv, store and blkback: the user's, or our own. */
static const char *ensure_daemons(const char *rundir)
{
	struct pvio_hv *hv;
	struct xs_handle *xs;
	char bindir[PATH_MAX], sock[PATH_MAX], log[PATH_MAX];
	ssize_t n;

	rundir = pvio_rundir(rundir);
	snprintf(sock, sizeof(sock), "%s/store.sock", rundir);
	if (!pvio_hv_open(rundir, &hv)) {
		pvio_hv_close(hv);
		if (!xs_open(sock, &xs)) {
			xs_close(xs);
			return rundir;
		}
	}
	n = readlink("/proc/self/exe", bindir, sizeof(bindir) - 1);
	if (n <= 0)
		return NULL;
	bindir[n] = 0;
	*strrchr(bindir, '/') = 0;
	snprintf(own_rundir, sizeof(own_rundir), "/tmp/pvio-bench-XXXXXX");
	if (!mkdtemp(own_rundir))
		return NULL;
	{
		char *a_hv[] = { "--rundir", own_rundir, NULL };
		char *a_st[] = { "--socket", sock, NULL };
		char *a_bb[] = { "--rundir", own_rundir, NULL };

		snprintf(sock, sizeof(sock), "%s/store.sock", own_rundir);
		snprintf(log, sizeof(log), "%s/hv.log", own_rundir);
		daemons[0] = start_daemon(bindir, "pvio-hv", a_hv, log);
		snprintf(log, sizeof(log), "%s/hv.sock", own_rundir);
		if (!wait_path(log))
			return NULL;
		snprintf(log, sizeof(log), "%s/store.log", own_rundir);
		daemons[1] = start_daemon(bindir, "pvio-store", a_st, log);
		if (!wait_path(sock))
			return NULL;
		snprintf(log, sizeof(log), "%s/blkback.log", own_rundir);
		daemons[2] = start_daemon(bindir, "pvio-blkback", a_bb, log);
		usleep(200000);
	}
	return own_rundir;
}

/* ---- the two targets, in alternating rounds ---- */

/*
 * pvio-hv and pvio-blkback of @rundir (0 if not known), whose CPU time
 * over the pvio rounds is charged to pvio's requests: the daemons this
 * bench started, or those whose pid files `pvio up` wrote (they may
 * serve other domains too).
 */
static void daemon_pids(const char *rundir, pid_t *hv, pid_t *bb)
{
	*hv = daemons[0];
	*bb = daemons[2];
	for (unsigned int i = 0; i < pvio_nr_daemons; i++) {
		if (!*hv && !strcmp(pvio_daemons[i].name, "hv"))
			*hv = pvio_daemon_pid(rundir, &pvio_daemons[i]);
		if (!*bb && !strcmp(pvio_daemons[i].name, "blkback"))
			*bb = pvio_daemon_pid(rundir, &pvio_daemons[i]);
	}
}

#define ROUND_SECONDS	1

/* IOPS ratio of each pvio round to the native round beside it. */
struct round_ratios {
	double med, lo, hi;
	unsigned int n;
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void round_ratios_sum(double *r, unsigned int n, struct round_ratios *out)
{
	memset(out, 0, sizeof(*out));
	if (!n)
		return;
	qsort(r, n, sizeof(*r), cmp_double);
	out->n = n;
	out->lo = r[0];
	out->hi = r[n - 1];
	out->med = n % 2 ? r[n / 2] : (r[n / 2 - 1] + r[n / 2]) / 2;
}

static double acc_iops_since(const struct blkbench_acc *a, uint64_t ios0,
			     uint64_t ns0)
{
	return a->ns > ns0 ? (a->ios - ios0) / ((a->ns - ns0) / 1e9) : 0;
}

/*
 * pvio and native take turns, one second each, until each has had the
 * runtime: a machine whose load drifts (shared CI hosts) then shifts both
 * the same way, and the ratio stays meaningful. A short native run warms
 * the device first. Each target at its best: both run both ways in every
 * round, one completion per reap (fio's default) and up to REAP_BATCH
 * together with their replacements submitted together, and each target's
 * faster way over the whole run is the one compared (which one wins
 * differs between devices, and between the targets).
 */
#define REAP_BATCH	8

/* One target's rounds, each way: [0] one per reap, [1] REAP_BATCH. */
struct ways {
	struct blkbench_acc acc[2];
	double *round[2];	/* IOPS of each round */
	/* pvio only: counters and daemon CPU over that way's rounds */
	uint64_t cnt[2][4], be_ns[2], hv_ns[2];
};

static int ways_init(struct ways *w, unsigned int rounds)
{
	memset(w, 0, sizeof(*w));
	for (unsigned int k = 0; k < 2; k++) {
		w->round[k] = calloc(rounds, sizeof(double));
		if (!w->round[k] || blkbench_acc_init(&w->acc[k]))
			return -ENOMEM;
	}
	return 0;
}

static void ways_free(struct ways *w)
{
	for (unsigned int k = 0; k < 2; k++) {
		blkbench_acc_free(&w->acc[k]);
		free(w->round[k]);
	}
}

/* The faster way (index), its result in @best and the other's in @other. */
static unsigned int ways_best(struct ways *w, struct blkbench_result *best,
			      struct blkbench_result *other)
{
	struct blkbench_result r[2];
	unsigned int b;

	blkbench_acc_result(&w->acc[0], &r[0]);
	blkbench_acc_result(&w->acc[1], &r[1]);
	b = r[1].iops > r[0].iops;
	*best = r[b];
	*other = r[!b];
	return b;
}

static unsigned int other_batch(unsigned int batch)
{
	return batch == 1 ? REAP_BATCH : 1;
}

static int run_targets(const struct blkbench_opts *o, const char *rundir,
		       const char *only, struct blkbench_result *pv,
		       struct blkbench_result *na, struct blkbench_cost *cost,
		       struct round_ratios *rr, struct blkbench_result *pv_other,
		       struct blkbench_result *na_other, unsigned int *pv_batch,
		       unsigned int *na_batch)
{
	unsigned int rounds = o->runtime / ROUND_SECONDS + 1, nr = 0;
	double *ratios = calloc(rounds, sizeof(double));
	pid_t hv_pid, be_pid;
	struct ways wpv = { 0 }, wna = { 0 };	/* ways_free() on both, whatever failed */
	struct blkbench_acc warm;
	struct blkbench_opts ob = *o;
	const struct blkbench_opts *way[2] = { o, &ob };
	struct blkbench_pvio *bp = NULL;
	struct blkbench_native *bn = NULL;
	const struct blkbench_target *tpv = NULL, *tna = NULL;
	bool do_pv = strcmp(only, "native"), do_na = strcmp(only, "pvio");
	unsigned int bpv = 0, bna = 0;
	int rc = -ENOMEM;

	ob.reap_batch = REAP_BATCH;
	memset(pv, 0, sizeof(*pv));
	memset(na, 0, sizeof(*na));
	memset(pv_other, 0, sizeof(*pv_other));
	memset(na_other, 0, sizeof(*na_other));
	memset(rr, 0, sizeof(*rr));
	memset(cost, 0, sizeof(*cost));
	*pv_batch = *na_batch = 1;
	memset(&warm, 0, sizeof(warm));
	if (ways_init(&wpv, rounds) || ways_init(&wna, rounds) || !ratios ||
	    blkbench_acc_init(&warm))
		goto out;
	rc = do_na ? blkbench_native_open(o, &bn, &tna) : 0;
	if (rc) {
		fprintf(stderr, "bench blk: native target: %s\n", strerror(-rc));
		goto out;
	}
	rc = do_pv ? blkbench_pvio_open(o, rundir, &bp, &tpv) : 0;
	if (rc) {
		fprintf(stderr, "bench blk: pvio target: %s\n", strerror(-rc));
		goto out;
	}
	if (do_na)
		blkbench_generate(o, tna, o->runtime < 2 ? 1 : 2, &warm);
	daemon_pids(rundir, &hv_pid, &be_pid);
	for (unsigned int t = 0; !rc && t < o->runtime; t += ROUND_SECONDS) {
		for (unsigned int k = 0; k < 2 && !rc && do_pv; k++) {
			struct blkbench_acc *a = &wpv.acc[k];
			uint64_t i0 = a->ios, n0 = a->ns, c0[4], c1[4];
			uint64_t b0 = pvio_proc_cpu_ns(be_pid);
			uint64_t h0 = pvio_proc_cpu_ns(hv_pid);

			blkbench_pvio_counters(bp, &c0[0], &c0[1], &c0[2], &c0[3]);
			rc = blkbench_generate(way[k], tpv, ROUND_SECONDS, a);
			blkbench_pvio_counters(bp, &c1[0], &c1[1], &c1[2], &c1[3]);
			wpv.be_ns[k] += pvio_proc_cpu_ns(be_pid) - b0;
			wpv.hv_ns[k] += pvio_proc_cpu_ns(hv_pid) - h0;
			for (unsigned int i = 0; i < 4; i++)
				wpv.cnt[k][i] += c1[i] - c0[i];
			wpv.round[k][nr] = acc_iops_since(a, i0, n0);
		}
		for (unsigned int k = 0; k < 2 && !rc && do_na; k++) {
			struct blkbench_acc *a = &wna.acc[k];
			uint64_t i0 = a->ios, n0 = a->ns;

			rc = blkbench_generate(way[k], tna, ROUND_SECONDS, a);
			wna.round[k][nr] = acc_iops_since(a, i0, n0);
		}
		if (!rc)
			nr++;
	}
	if (rc)
		fprintf(stderr, "bench blk: I/O failed: %s\n", strerror(-rc));
	if (do_pv)
		bpv = ways_best(&wpv, pv, pv_other);
	if (do_na)
		bna = ways_best(&wna, na, na_other);
	*pv_batch = bpv ? REAP_BATCH : 1;
	*na_batch = bna ? REAP_BATCH : 1;
	if (do_pv && do_na) {
		unsigned int n = 0;

		for (unsigned int i = 0; i < nr; i++)
			if (wna.round[bna][i] > 0)
				ratios[n++] = wpv.round[bpv][i] / wna.round[bna][i];
		round_ratios_sum(ratios, n, rr);
	}
	if (do_pv && wpv.cnt[bpv][0]) {
		double reqs = (double)wpv.cnt[bpv][0];
		uint64_t ios = wpv.acc[bpv].ios;

		cost->fe_notify = wpv.cnt[bpv][1] / reqs;
		cost->be_notify = wpv.cnt[bpv][2] / reqs;
		cost->fe_sleep = wpv.cnt[bpv][3] / reqs;
		cost->be_cpu_us = be_pid > 0 ? wpv.be_ns[bpv] / 1e3 / ios : -1;
		cost->hv_cpu_us = hv_pid > 0 ? wpv.hv_ns[bpv] / 1e3 / ios : -1;
		cost->valid = true;
	}
out:
	if (bp)
		blkbench_pvio_close(bp);
	if (bn)
		blkbench_native_close(bn);
	ways_free(&wpv);
	ways_free(&wna);
	blkbench_acc_free(&warm);
	free(ratios);
	return rc;
}

/* ---- fio ---- */

static double terse_pct(char **f, int n, int first, const char *key)
{
	for (int i = first; i < first + 20 && i < n; i++)
		if (!strncmp(f[i], key, strlen(key)))
			return atof(f[i] + strlen(key));
	return 0;
}

int blkbench_fio(const struct blkbench_fio_job *j, struct blkbench_result *res)
{
	char cmd[3072], line[16384], timing[96] = "";
	char *f[200];
	int n = 0;
	FILE *p;

	memset(res, 0, sizeof(*res));
	if (j->runtime)
		snprintf(timing, sizeof(timing), "--runtime=%u --time_based",
			 j->runtime);
	if ((size_t)snprintf(cmd, sizeof(cmd),
		 "fio --name=pvio-bench %s --rw=%s --bs=%u --iodepth=%u "
		 "--numjobs=%u %s --size=%llu --group_reporting --minimal "
		 "--terse-version=3 2>/dev/null",
		 j->engine_args, j->rw, j->bs, j->iodepth, j->numjobs, timing,
		 (unsigned long long)j->size) >= sizeof(cmd))
		return -E2BIG;
	p = popen(cmd, "r");
	if (!p)
		return -errno;
	/* engines may chat on stdout first ("connected to NBD server") */
	do {
		if (!fgets(line, sizeof(line), p)) {
			pclose(p);
			return -ENOENT;
		}
	} while (strncmp(line, "3;", 2));
	pclose(p);
	for (char *s = strtok(line, ";\n"); s && n < 200; s = strtok(NULL, ";\n"))
		f[n++] = s;
	if (n < 80)
		return -EPROTO;
	/* fields (1-based): read iops 8, bw KiB/s 7, clat pct 18..37; write +41 */
	res->iops = atof(f[7]) + atof(f[48]);
	res->mbps = (atof(f[6]) + atof(f[47])) * 1024 / 1e6;
	if (atof(f[7]) > 0) {
		res->lat_p50_us = terse_pct(f, n, 17, "50.000000%=");
		res->lat_p99_us = terse_pct(f, n, 17, "99.000000%=");
		res->lat_p999_us = terse_pct(f, n, 17, "99.900000%=");
	} else {
		res->lat_p50_us = terse_pct(f, n, 58, "50.000000%=");
		res->lat_p99_us = terse_pct(f, n, 58, "99.000000%=");
		res->lat_p999_us = terse_pct(f, n, 58, "99.900000%=");
	}
	res->valid = res->iops > 0;
	return res->valid ? 0 : -EIO;
}

static int run_fio(const struct blkbench_opts *o, struct blkbench_result *res)
{
	char args[PATH_MAX + 64];
	struct blkbench_fio_job j = {
		.engine_args = args, .rw = blkbench_rw_name(o->rw), .bs = o->bs,
		.iodepth = o->iodepth, .numjobs = o->queues,
		.runtime = o->runtime, .size = o->size / o->queues,
	};

	snprintf(args, sizeof(args), "--ioengine=io_uring --direct=1 --filename='%s'",
		 o->file);
	return blkbench_fio(&j, res);
}

/* ---- output ---- */

static void json_res(const char *name, const struct blkbench_result *r, bool comma)
{
	printf("\"%s\": {\"iops\": %.0f, \"mbps\": %.1f, \"lat_p50_us\": %.1f, \"lat_p99_us\": %.1f, \"lat_p999_us\": %.1f}%s ",
	       name, r->iops, r->mbps, r->lat_p50_us, r->lat_p99_us,
	       r->lat_p999_us, comma ? "," : "");
}

static void table_row(const char *name, const struct blkbench_result *r)
{
	if (!r->valid) {
		printf("%-8s %12s\n", name, "(not run)");
		return;
	}
	printf("%-8s %12.0f %10.1f %10.1f %10.1f %10.1f\n", name, r->iops,
	       r->mbps, r->lat_p50_us, r->lat_p99_us, r->lat_p999_us);
}

static double ratio(double a, double b)
{
	return b ? a / b : 0;
}

int blkbench_main(const char *opt_rundir, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "rw", required_argument, NULL, 'r' },
		{ "bs", required_argument, NULL, 'b' },
		{ "iodepth", required_argument, NULL, 'd' },
		{ "queues", required_argument, NULL, 'q' },
		{ "runtime", required_argument, NULL, 't' },
		{ "size", required_argument, NULL, 's' },
		{ "file", required_argument, NULL, 'f' },
		{ "engine", required_argument, NULL, 'e' },
		{ "json", no_argument, NULL, 'j' },
		{ "no-fio", no_argument, NULL, 'F' },
		{ "only", required_argument, NULL, 'O' },
		{ "spin-us", required_argument, NULL, 'S' },
		{ "disk", required_argument, NULL, 'D' },
		{ "round-seconds", required_argument, NULL, 'R' },
		{ "no-prefill", no_argument, NULL, 'X' },
		{ "no-persistent", no_argument, NULL, 'P' },
		{ NULL, 0, NULL, 0 },
	};
	struct blkbench_opts o = { .rw = BB_RANDREAD, .bs = 4096, .iodepth = 32,
				   .queues = 1, .runtime = 10, .size = 1ull << 30,
				   .file = "/var/tmp/pvio-bench-blk.img",
				   .engine = "uring", .prefill = true };
	struct blkbench_result pv, na, fi;
	struct blkbench_cost cost;
	struct round_ratios rr;
	struct blkbench_result pv_other, na_other;
	unsigned int pv_batch, na_batch;
	const char *rundir;
	bool json = false, fio = true;
	const char *only = "";
	uint64_t v;
	int c, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'r':
			for (v = 0; v <= BB_RANDRW; v++)
				if (!strcmp(optarg, blkbench_rw_name((enum blkbench_rw)v)))
					break;
			if (v > BB_RANDRW) {
				fprintf(stderr, "bench blk: --rw read|write|randread|randwrite|randrw\n");
				return 2;
			}
			o.rw = (enum blkbench_rw)v;
			break;
		case 'b':
			if (parse_size(optarg, &v) || v < 512 || v % 512 || v > (1 << 20)) {
				fprintf(stderr, "bench blk: --bs 512..1M, a multiple of 512\n");
				return 2;
			}
			o.bs = (uint32_t)v;
			break;
		case 'd':
			o.iodepth = (unsigned int)atoi(optarg);
			if (o.iodepth < 1 || o.iodepth > 256) {
				fprintf(stderr, "bench blk: --iodepth 1..256\n");
				return 2;
			}
			break;
		case 'q':
			o.queues = (unsigned int)atoi(optarg);
			if (o.queues < 1 || o.queues > 4) {
				fprintf(stderr, "bench blk: --queues 1..4\n");
				return 2;
			}
			break;
		case 't':
			o.runtime = (unsigned int)atoi(optarg);
			if (o.runtime < 1) {
				fprintf(stderr, "bench blk: --runtime SECONDS\n");
				return 2;
			}
			break;
		case 's':
			if (parse_size(optarg, &o.size) || o.size < (1 << 20)) {
				fprintf(stderr, "bench blk: --size SIZE (>= 1M)\n");
				return 2;
			}
			break;
		case 'f':
			o.file = optarg;
			break;
		case 'e':
			if (strcmp(optarg, "uring") && strcmp(optarg, "aio")) {
				fprintf(stderr, "bench blk: --engine uring|aio\n");
				return 2;
			}
			o.engine = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'F':
			fio = false;
			break;
		case 'S':
			o.spin_us = (unsigned int)atoi(optarg);
			break;
		case 'D':
			o.disk_spec = optarg;
			break;
		case 'R':
			o.round_seconds = (unsigned int)atoi(optarg);
			if (o.round_seconds < 1 || o.round_seconds > 60) {
				fprintf(stderr, "bench blk: --round-seconds 1..60\n");
				return 2;
			}
			break;
		case 'X':
			o.prefill = false;
			break;
		case 'P':
			o.no_persistent = true;
			break;
		case 'O':
			/* profiling aid: run one target only */
			only = optarg;
			fio = false;
			break;
		default:
			fprintf(stderr, "usage: pvio bench %s\n", BLKBENCH_USAGE);
			return 2;
		}
	}
	if (o.size / o.bs < o.queues) {
		fprintf(stderr, "bench blk: --size too small\n");
		return 2;
	}
	o.size -= o.size % o.bs;
	if (o.disk_spec) {
		rundir = ensure_daemons(opt_rundir);
		if (!rundir) {
			fprintf(stderr, "bench blk: could not start pvio-hv/pvio-store/pvio-blkback\n");
			stop_daemons();
			return 1;
		}
		setenv("PVIO_RUNDIR", rundir, 1);
		rc = blkbench_disk_run(&o, rundir, only, json);
		stop_daemons();
		return rc;
	}
	rc = prepare_file(o.file, o.size, json);
	if (rc) {
		fprintf(stderr, "bench blk: preparing %s: %s\n", o.file, strerror(-rc));
		return 1;
	}
	rundir = ensure_daemons(opt_rundir);
	if (!rundir) {
		fprintf(stderr, "bench blk: could not start pvio-hv/pvio-store/pvio-blkback\n");
		stop_daemons();
		return 1;
	}
	/* libraries that find the store by themselves must find this one */
	{
		char sock[PATH_MAX];

		snprintf(sock, sizeof(sock), "%s/store.sock", rundir);
		setenv("PVIO_RUNDIR", rundir, 1);
		setenv("XENSTORED_PATH", sock, 1);
	}
	if (!json)
		fprintf(stderr, "bench blk: %s bs=%u iodepth=%u queues=%u runtime=%us engine=%s file=%s\n",
			blkbench_rw_name(o.rw), o.bs, o.iodepth, o.queues, o.runtime,
			o.engine, o.file);
	rc = run_targets(&o, rundir, only, &pv, &na, &cost, &rr, &pv_other,
			 &na_other, &pv_batch, &na_batch);
	stop_daemons();
	if (rc) {
		fprintf(stderr, "bench blk: %s\n", strerror(-rc));
		return 1;
	}
	memset(&fi, 0, sizeof(fi));
	if (fio && run_fio(&o, &fi))
		fprintf(stderr, "bench blk: fio did not run (installed?)\n");

	if (json) {
		printf("{");
		json_res("pvio", &pv, true);
		json_res("native", &na, true);
		json_res("fio", &fi, true);
		printf("\"ratio\": {\"iops\": %.3f, \"mbps\": %.3f, \"lat_p50\": %.3f, \"lat_p99\": %.3f, \"lat_p999\": %.3f}, ",
		       ratio(pv.iops, na.iops), ratio(pv.mbps, na.mbps),
		       ratio(pv.lat_p50_us, na.lat_p50_us),
		       ratio(pv.lat_p99_us, na.lat_p99_us),
		       ratio(pv.lat_p999_us, na.lat_p999_us));
		if (pv.valid)
			printf("\"pvio_way\": {\"reap_batch\": %u, \"other_reap_batch\": %u, \"other_iops\": %.0f}, ",
			       pv_batch, other_batch(pv_batch), pv_other.iops);
		if (na.valid)
			printf("\"native_baseline\": {\"reap_batch\": %u, \"other_reap_batch\": %u, \"other_iops\": %.0f}, ",
			       na_batch, other_batch(na_batch), na_other.iops);
		if (rr.n)
			printf("\"ratio_rounds\": {\"iops_median\": %.3f, \"iops_min\": %.3f, \"iops_max\": %.3f, \"rounds\": %u}, ",
			       rr.med, rr.lo, rr.hi, rr.n);
		if (cost.valid)
			printf("\"per_request\": {\"fe_notify\": %.3f, \"be_notify\": %.3f, \"fe_sleep\": %.3f, \"pvio_reaps\": %.3f, \"native_reaps\": %.3f}, ",
			       cost.fe_notify, cost.be_notify, cost.fe_sleep,
			       pv.reaps_per_io, na.reaps_per_io);
		if (cost.valid && cost.be_cpu_us >= 0)
			printf("\"cpu_us_per_request\": {\"pvio_frontend\": %.2f, \"pvio_blkback\": %.2f, \"pvio_hv\": %.2f, \"native\": %.2f}, ",
			       pv.cpu_us_per_io, cost.be_cpu_us, cost.hv_cpu_us,
			       na.cpu_us_per_io);
		printf("\"config\": {\"rw\": \"%s\", \"bs\": %u, \"iodepth\": %u, \"queues\": %u, \"runtime\": %u, \"engine\": \"%s\", \"persistent\": %s}}\n",
		       blkbench_rw_name(o.rw), o.bs, o.iodepth, o.queues, o.runtime, o.engine,
		       o.no_persistent ? "false" : "true");
	} else {
		printf("%-8s %12s %10s %10s %10s %10s\n", "target", "IOPS", "MB/s",
		       "p50 (us)", "p99 (us)", "p99.9 (us)");
		table_row("pvio", &pv);
		table_row("native", &na);
		table_row("fio", &fi);
		printf("ratio pvio/native: IOPS %.3f, MB/s %.3f, latency p50 %.3f, p99 %.3f, p99.9 %.3f\n",
		       ratio(pv.iops, na.iops), ratio(pv.mbps, na.mbps),
		       ratio(pv.lat_p50_us, na.lat_p50_us),
		       ratio(pv.lat_p99_us, na.lat_p99_us),
		       ratio(pv.lat_p999_us, na.lat_p999_us));
		if (pv.valid)
			printf("pvio = blkfront taking %u completion(s) per reap, its faster way here (%u per reap: %.0f IOPS)\n",
			       pv_batch, other_batch(pv_batch), pv_other.iops);
		if (na.valid)
			printf("native = io_uring taking %u completion(s) per reap, its faster way here (%u per reap: %.0f IOPS)\n",
			       na_batch, other_batch(na_batch), na_other.iops);
		if (rr.n)
			printf("IOPS ratio round by round: median %.3f [%.3f-%.3f] over %u pairs of %us rounds\n",
			       rr.med, rr.lo, rr.hi, rr.n, ROUND_SECONDS);
		if (cost.valid)
			printf("per request: pvio %.3f notifies to the backend, %.3f from it, %.3f sleeps, %.3f waits; native %.3f waits (io_uring_enter)\n",
			       cost.fe_notify, cost.be_notify, cost.fe_sleep,
			       pv.reaps_per_io, na.reaps_per_io);
		if (cost.valid && cost.be_cpu_us >= 0)
			printf("CPU per request: pvio %.2f us (frontend %.2f + pvio-blkback %.2f + pvio-hv %.2f); native %.2f us\n",
			       pv.cpu_us_per_io + cost.be_cpu_us + cost.hv_cpu_us,
			       pv.cpu_us_per_io, cost.be_cpu_us, cost.hv_cpu_us,
			       na.cpu_us_per_io);
	}
	return 0;
}
