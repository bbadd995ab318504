// SPDX-License-Identifier: MIT
/*
 * pvio-blkback: serves every virtual block device under
 * /local/domain/0/backend/vbd from files or block devices.
 *   pvio-blkback [--rundir DIR] [-v] [--spin-us N] [--submit-batch N]
 *                [per-domain limits]
 * Runs in the foreground until SIGTERM/SIGINT.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pvio/xenbus.h"
#include "blkback.h"

static void *signal_thread(void *arg)
{
	struct blkback_ctx *ctx = arg;
	sigset_t set;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigwait(&set, &sig);
	pthread_mutex_lock(&ctx->lock);
	ctx->quit = true;
	pthread_cond_signal(&ctx->cond);
	pthread_mutex_unlock(&ctx->lock);
	return NULL;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: pvio-blkback [--rundir DIR] [-v] [--spin-us N] [--vm-spin-us N]\n"
		"                    [--submit-batch N] [--reconnect-timeout S]\n"
		"  --spin-us N            a busy queue of a process domain's disk polls\n"
		"                         N us before sleeping, a quiet one up to N us\n"
		"                         as its events allow (0..%u, default 0)\n"
		"  --vm-spin-us N         the same for a VM's disks (default %u)\n"
		"  --submit-batch N       start prepared I/O every N operations\n"
		"                         (1..%u, default %u)\n"
		"  --reconnect-timeout S  a network store (NBD, RBD) unreachable for S\n"
		"                         seconds fails requests until it is back\n"
		"                         (default %u; 0: wait forever; per disk:\n"
		"                         backend key pvio-reconnect-timeout)\n"
		"  limits per frontend domain, all its disks and queues together:\n"
		"  [--max-persistent-grants N]  kept mappings (default %u)\n"
		"  [--max-inflight-requests N]  requests in flight (default %u)\n"
		"  [--max-inflight-segments N]  pages they may map (default %u, min %u)\n"
		"  [--max-ring-pages N]         ring pages mapped (default %u)\n",
		BLKBACK_SPIN_US_MAX, BLKBACK_VM_SPIN_US,
		BLKBACK_SUBMIT_BATCH_MAX, BLKBACK_SUBMIT_BATCH,
		BLKBACK_RECONNECT_TIMEOUT_S, BLKBACK_DOM_MAX_PGRANTS,
		BLKBACK_DOM_MAX_REQS, BLKBACK_DOM_MAX_SEGS,
		BLKBACK_REQ_MAX_PAGES, BLKBACK_DOM_MAX_RING_PAGES);
}

/* A limit option: a number in [min, 1 << 24]. */
static bool parse_limit(const char *arg, unsigned int min, unsigned int *out)
{
	char *end;
	unsigned long v = strtoul(arg, &end, 10);

	if (!*arg || *end || v < min || v > (1ul << 24))
		return false;
	*out = (unsigned int)v;
	return true;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "rundir", required_argument, NULL, 'r' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "spin-us", required_argument, NULL, 's' },
		{ "vm-spin-us", required_argument, NULL, 'V' },
		{ "submit-batch", required_argument, NULL, 'B' },
		{ "reconnect-timeout", required_argument, NULL, 't' },
		{ "max-persistent-grants", required_argument, NULL, 'G' },
		{ "max-inflight-requests", required_argument, NULL, 'R' },
		{ "max-inflight-segments", required_argument, NULL, 'S' },
		{ "max-ring-pages", required_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct blkback_ctx ctx = {
		.vm_spin_us = BLKBACK_VM_SPIN_US,
		.dom_lim = {
			.max_pgrants = BLKBACK_DOM_MAX_PGRANTS,
			.max_reqs = BLKBACK_DOM_MAX_REQS,
			.max_segs = BLKBACK_DOM_MAX_SEGS,
			.max_ring_pages = BLKBACK_DOM_MAX_RING_PAGES,
		},
	};
	bool ok = true;
	char sock[512];
	pthread_t sig_thread;
	sigset_t set;
	int c, rc;

	ctx.reconnect_timeout_s = BLKBACK_RECONNECT_TIMEOUT_S;
	while ((c = getopt_long(argc, argv, "r:vs:t:h", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			ctx.rundir = optarg;
			break;
		case 'v':
			ctx.verbose++;
			break;
		case 's':
			ok = parse_limit(optarg, 0, &ctx.spin_us) &&
			     ctx.spin_us <= BLKBACK_SPIN_US_MAX;
			break;
		case 'V':
			ok = parse_limit(optarg, 0, &ctx.vm_spin_us) &&
			     ctx.vm_spin_us <= BLKBACK_SPIN_US_MAX;
			break;
		case 'B':
			ok = parse_limit(optarg, 1, &ctx.submit_batch) &&
			     ctx.submit_batch <= BLKBACK_SUBMIT_BATCH_MAX;
			break;
		case 't':
			ctx.reconnect_timeout_s = (unsigned int)atoi(optarg);
			break;
		case 'G':
			ok = parse_limit(optarg, 0, &ctx.dom_lim.max_pgrants);
			break;
		case 'R':
			ok = parse_limit(optarg, 1, &ctx.dom_lim.max_reqs);
			break;
		case 'S':
			/* less and one large request could never start */
			ok = parse_limit(optarg, BLKBACK_REQ_MAX_PAGES,
					 &ctx.dom_lim.max_segs);
			break;
		case 'P':
			ok = parse_limit(optarg, 1, &ctx.dom_lim.max_ring_pages);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
		if (!ok) {
			fprintf(stderr, "pvio-blkback: bad value '%s' for a limit\n",
				optarg);
			usage(stderr);
			return 2;
		}
	}
	ctx.rundir = pvio_rundir(ctx.rundir);
	setvbuf(stderr, NULL, _IOLBF, 0);

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	rc = pvio_hv_open(ctx.rundir, &ctx.hv);
	if (rc) {
		fprintf(stderr, "pvio-blkback: cannot reach pvio-hv in %s: %s\n",
			ctx.rundir, strerror(-rc));
		return 1;
	}
	snprintf(sock, sizeof(sock), "%s/store.sock", ctx.rundir);
	rc = xs_open(sock, &ctx.xs);
	if (rc) {
		fprintf(stderr, "pvio-blkback: cannot reach the store at %s: %s\n",
			sock, strerror(-rc));
		pvio_hv_close(ctx.hv);
		return 1;
	}
	rc = blkback_xenbus_start(&ctx);
	if (rc) {
		fprintf(stderr, "pvio-blkback: cannot watch the backend dir: %s\n",
			strerror(-rc));
		return 1;
	}
	pthread_create(&sig_thread, NULL, signal_thread, &ctx);
	blkback_log("serving /local/domain/0/backend/vbd (rundir %s)", ctx.rundir);
	blkback_xenbus_run(&ctx);
	blkback_xenbus_stop(&ctx);
	xs_close(ctx.xs);
	pvio_hv_close(ctx.hv);
	blkback_log("stopped");
	return 0;
}
