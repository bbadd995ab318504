// SPDX-License-Identifier: MIT
/*
 * pvio-blkback: serves every virtual block device under
 * /local/domain/0/backend/vbd from files or block devices.
 *   pvio-blkback [--rundir DIR] [-v]
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
	fprintf(f, "usage: pvio-blkback [--rundir DIR] [-v] [--spin-us N] [--reconnect-timeout S]\n"
		"  --reconnect-timeout S  a network store (NBD, RBD) unreachable for S\n"
		"                         seconds fails requests until it is back\n"
		"                         (default %u; 0: wait forever; per disk:\n"
		"                         backend key pvio-reconnect-timeout)\n",
		BLKBACK_RECONNECT_TIMEOUT_S);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "rundir", required_argument, NULL, 'r' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "spin-us", required_argument, NULL, 's' },
		{ "reconnect-timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct blkback_ctx ctx = { 0 };
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
			ctx.spin_us = (unsigned int)atoi(optarg);
			break;
		case 't':
			ctx.reconnect_timeout_s = (unsigned int)atoi(optarg);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
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
