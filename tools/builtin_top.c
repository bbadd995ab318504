// SPDX-License-Identifier: MIT
/*
 * pvio top: a live view of the domains, like xentop: CPU time and share,
 * memory, vCPUs, and the I/O of their vifs and vbds with rates, from the
 * statistics the backends publish in the store (netback:
 * statistics/{tx,rx}-bytes, blkback: statistics/{rd,wr}_{req,sect}).
 * -b prints plain text for scripts, -d sets the delay, -i the number of
 * iterations; interactively, q quits.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "pvio/xenbus.h"
#include "pvio_cmd.h"
#include "pvio_domstore.h"
#include "pvio_hvcmd.h"

static struct pvio_cmd cmd_top;

struct top_dom {
	pvio_domid_t id;
	uint64_t serial_ms;	/* uptime, to tell a new domain with an old id */
	uint64_t cpu_ns;
	uint64_t net_tx, net_rx;	/* bytes, the domain's point of view */
	uint64_t rd_req, wr_req, rd_sect, wr_sect;
	unsigned int nets, vbds;
	bool seen;
};

struct top_state {
	struct top_dom *d;
	unsigned int n;
	double t;		/* monotonic seconds of the sample */
};

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t xs_u64(struct xs_handle *xs, const char *path)
{
	char *v = NULL;
	uint64_t n = 0;

	if (!xs_read(xs, XS_TXN_NULL, path, &v, NULL)) {
		n = strtoull(v, NULL, 10);
		free(v);
	}
	return n;
}

/* Sum a statistics key over every device of a kind of domain @id. */
static unsigned int dev_stats(struct xs_handle *xs, const char *kind,
			      pvio_domid_t id, const char *const *keys,
			      uint64_t *sums, unsigned int nkeys)
{
	char dir[96], path[192], **devs = NULL;
	unsigned int n = 0;

	snprintf(dir, sizeof(dir), "/local/domain/0/backend/%s/%u", kind, id);
	if (!xs || xs_directory(xs, XS_TXN_NULL, dir, &devs, &n))
		return 0;
	for (unsigned int i = 0; i < n; i++)
		for (unsigned int k = 0; k < nkeys; k++) {
			snprintf(path, sizeof(path), "%s/%s/statistics/%s", dir,
				 devs[i], keys[k]);
			sums[k] += xs_u64(xs, path);
		}
	xs_free_list(devs, n);
	return n;
}

static void sample_dom(struct xs_handle *xs, const struct pvio_domain_info *i,
		       struct top_dom *t)
{
	static const char *const vif_keys[] = { "tx-bytes", "rx-bytes" };
	static const char *const vbd_keys[] = { "rd_req", "wr_req", "rd_sect",
						"wr_sect" };
	uint64_t v[4] = { 0 };

	t->id = i->domid;
	t->serial_ms = i->uptime_ms;
	t->cpu_ns = i->cpu_time_ns;
	/* netback's tx is what the guest sent: the domain's NETTX */
	t->nets = dev_stats(xs, "vif", i->domid, vif_keys, v, 2);
	t->net_tx = v[0];
	t->net_rx = v[1];
	memset(v, 0, sizeof(v));
	t->vbds = dev_stats(xs, "vbd", i->domid, vbd_keys, v, 4);
	t->rd_req = v[0];
	t->wr_req = v[1];
	t->rd_sect = v[2];
	t->wr_sect = v[3];
}

static const struct top_dom *prev_of(const struct top_state *p,
				     const struct top_dom *t)
{
	for (unsigned int i = 0; p && i < p->n; i++)
		if (p->d[i].id == t->id && p->d[i].serial_ms <= t->serial_ms)
			return &p->d[i];
	return NULL;
}

static double rate(uint64_t now, uint64_t before, double dt)
{
	return dt > 0 && now >= before ? (double)(now - before) / dt : 0;
}

static void print_header(bool batch, unsigned int n,
			 const struct pvio_domain_info *v)
{
	unsigned int st[6] = { 0 };
	struct sysinfo si;
	time_t now = time(NULL);
	struct tm tm;
	char tod[16];

	for (unsigned int i = 0; i < n; i++)
		for (unsigned int b = 0; b < 6; b++)
			st[b] += !!(v[i].state & (1u << b));
	sysinfo(&si);
	strftime(tod, sizeof(tod), "%H:%M:%S", localtime_r(&now, &tm));
	if (!batch)
		fputs("\033[H\033[2J", stdout);
	printf("pvio top - %s\n", tod);
	printf("%u domains: %u running, %u blocked, %u paused, %u crashed, %u dying, %u shutdown\n",
	       n, st[0], st[1], st[2], st[4], st[5], st[3]);
	printf("Mem: %lluk total, %lluk free    CPUs: %ld\n",
	       (unsigned long long)si.totalram * si.mem_unit / 1024,
	       (unsigned long long)si.freeram * si.mem_unit / 1024,
	       sysconf(_SC_NPROCESSORS_ONLN));
	printf("%10s %6s %10s %6s %10s %6s %5s %4s %10s %10s %9s %9s %4s %8s %8s %10s %10s %7s %7s\n",
	       "NAME", "STATE", "CPU(sec)", "CPU(%)", "MEM(k)", "MEM(%)", "VCPUS",
	       "NETS", "NETTX(k)", "NETRX(k)", "TX(k/s)", "RX(k/s)", "VBDS",
	       "VBD_RD", "VBD_WR", "VBD_RSECT", "VBD_WSECT", "RD/s", "WR/s");
}

static void print_dom(const struct pvio_domain_info *i, const struct top_dom *t,
		      const struct top_dom *p, double dt, uint64_t total_mem)
{
	static const char letters[] = "rbpscd";
	char state[7], name[11];

	for (int b = 0; b < 6; b++)
		state[b] = i->state & (1u << b) ? letters[b] : '-';
	state[6] = 0;
	/* xentop truncates names to the column; scripts use -f or the id */
	memcpy(name, i->name, sizeof(name) - 1);
	name[sizeof(name) - 1] = 0;
	printf("%10s %6s %10.0f %6.1f %10llu %6.1f %5u %4u %10llu %10llu %9.1f %9.1f %4u %8llu %8llu %10llu %10llu %7.1f %7.1f\n",
	       name, state, (double)t->cpu_ns / 1e9,
	       p ? rate(t->cpu_ns, p->cpu_ns, dt) / 1e7 : 0.0,
	       (unsigned long long)(i->mem_bytes >> 10),
	       total_mem ? 100.0 * (double)i->mem_bytes / (double)total_mem : 0.0,
	       i->vcpus, t->nets,
	       (unsigned long long)(t->net_tx >> 10),
	       (unsigned long long)(t->net_rx >> 10),
	       p ? rate(t->net_tx, p->net_tx, dt) / 1024 : 0.0,
	       p ? rate(t->net_rx, p->net_rx, dt) / 1024 : 0.0,
	       t->vbds, (unsigned long long)t->rd_req,
	       (unsigned long long)t->wr_req, (unsigned long long)t->rd_sect,
	       (unsigned long long)t->wr_sect,
	       p ? rate(t->rd_req, p->rd_req, dt) : 0.0,
	       p ? rate(t->wr_req, p->wr_req, dt) : 0.0);
}

static struct termios saved_tio;
static bool tio_saved;

static void tty_restore(void)
{
	if (tio_saved)
		tcsetattr(0, TCSANOW, &saved_tio);
}

/* Wait @secs; true if the user pressed q (interactive only). */
static bool wait_or_quit(double secs, bool interactive)
{
	struct pollfd p = { .fd = 0, .events = POLLIN };
	double end = mono_s() + secs;

	if (!interactive) {
		struct timespec ts = { .tv_sec = (time_t)secs,
				       .tv_nsec = (long)((secs - (double)(time_t)secs) * 1e9) };

		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
		return false;
	}
	for (double left = secs; left > 0; left = end - mono_s()) {
		char c;

		if (poll(&p, 1, (int)(left * 1000)) <= 0)
			continue;
		if (read(0, &c, 1) == 1 && (c == 'q' || c == 'Q' || c == 27))
			return true;
	}
	return false;
}

static int top_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "batch", no_argument, NULL, 'b' },
		{ "delay", required_argument, NULL, 'd' },
		{ "iterations", required_argument, NULL, 'i' },
		{ NULL, 0, NULL, 0 },
	};
	struct top_state prev = { 0 }, cur = { 0 };
	bool batch = false, interactive;
	double delay = 3;
	long iters = -1;
	struct xs_handle *xs = NULL;
	int o, code = 0, rc = 0;
	char *end;

	while ((o = pvio_getopt(&cmd_top, argc, argv, "bd:i:", opts, &code)) != -1) {
		switch (o) {
		case -2:
			return code;
		case 'b':
			batch = true;
			break;
		case 'd':
			delay = strtod(optarg, &end);
			if (*end || delay < 0.1 || delay > 3600) {
				fprintf(stderr, "pvio top: bad delay '%s' (seconds, 0.1 to 3600)\n",
					optarg);
				return 2;
			}
			break;
		case 'i':
			iters = strtol(optarg, &end, 10);
			if (*end || iters < 1) {
				fprintf(stderr, "pvio top: bad iterations '%s'\n", optarg);
				return 2;
			}
			break;
		}
	}
	if (optind != argc)
		return pvio_cmd_usage(&cmd_top);
	interactive = !batch && isatty(0) && isatty(1);
	if (interactive && tcgetattr(0, &saved_tio) == 0) {
		struct termios raw = saved_tio;

		raw.c_lflag &= ~(ICANON | ECHO);
		tio_saved = tcsetattr(0, TCSANOW, &raw) == 0;
		atexit(tty_restore);
	}
	/* the store is optional: without it, no I/O columns */
	if (pvio_domstore_open(pvio_opt_rundir, &xs))
		xs = NULL;
	for (long it = 0; iters < 0 || it < iters; it++) {
		struct pvio_domain_info *v;
		struct pvio_hv *hv;
		struct sysinfo si;
		unsigned int n;

		if (it && wait_or_quit(delay, interactive))
			break;
		if (pvio_cli_connect(&hv) < 0) {
			rc = 1;
			break;
		}
		if (pvio_domain_list(hv, &v, &n)) {
			pvio_hv_close(hv);
			rc = 1;
			break;
		}
		pvio_hv_close(hv);
		cur.d = calloc(n ? n : 1, sizeof(*cur.d));
		cur.n = n;
		cur.t = mono_s();
		sysinfo(&si);
		print_header(batch, n, v);
		for (unsigned int i = 0; cur.d && i < n; i++) {
			sample_dom(xs, &v[i], &cur.d[i]);
			print_dom(&v[i], &cur.d[i], prev_of(&prev, &cur.d[i]),
				  cur.t - prev.t, (uint64_t)si.totalram * si.mem_unit);
		}
		if (batch)
			printf("\n");
		fflush(stdout);
		free(v);
		free(prev.d);
		prev = cur;
		cur.d = NULL;
	}
	free(prev.d);
	if (xs)
		xs_close(xs);
	return rc;
}

static struct pvio_cmd cmd_top = {
	.name = "top",
	.usage = "[-b] [-d SECONDS] [-i ITERATIONS]",
	.help = "a live view of domains: CPU, memory, vif and vbd I/O with rates",
	.options =
		"  -b, --batch       plain output for scripts (no screen control)\n"
		"  -d, --delay S     seconds between updates (default 3)\n"
		"  -i, --iterations N  stop after N updates\n"
		"  (interactive: q quits; rates are over the last interval)\n",
	.run = top_run,
};
PVIO_CMD(cmd_top)
