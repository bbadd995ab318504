/* SPDX-License-Identifier: MIT */
/*
 * pvio down: stop the host daemons in reverse start order: SIGTERM, then
 * SIGKILL if one is still there after a timeout.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pvio/libpvio.h"
#include "pvio_cmd.h"
#include "pvio_hvcmd.h"

#define DOWN_TIMEOUT_MS	5000

static bool wait_gone(pid_t pid, int ms)
{
	for (int t = 0; t < ms; t += 20) {
		if (!pvio_pid_alive(pid))
			return true;
		usleep(20000);
	}
	return !pvio_pid_alive(pid);
}

static int down_run(int argc, char **argv);
static struct pvio_cmd down_cmd = {
	.name = "down",
	.usage = "",
	.help = "stop the host daemons started by `pvio up`",
	.run = down_run,
};

static int down_run(int argc, char **argv)
{
	const char *rundir = pvio_rundir(pvio_opt_rundir);
	int rc = 0;
	int opt_rc = pvio_args_plain(&down_cmd, &argc, &argv);

	if (opt_rc >= 0)
		return opt_rc;

	if (argc != 1)
		return pvio_cmd_usage(&down_cmd);
	for (unsigned int i = pvio_nr_daemons; i-- > 0;) {
		const struct pvio_daemon *dm = &pvio_daemons[i];
		pid_t pid = pvio_daemon_pid(rundir, dm);
		char path[PATH_MAX];

		if (pid > 0) {
			kill(pid, SIGTERM);
			if (!wait_gone(pid, DOWN_TIMEOUT_MS)) {
				fprintf(stderr, "pvio down: %s (pid %d) ignored SIGTERM, killing it\n",
					dm->binary, (int)pid);
				kill(pid, SIGKILL);
				if (!wait_gone(pid, 2000)) {
					fprintf(stderr, "pvio down: %s (pid %d) will not die\n",
						dm->binary, (int)pid);
					rc = 1;
					continue;
				}
				/* killed: it could not remove its socket itself */
				if (dm->socket) {
					snprintf(path, sizeof(path), "%s/%s", rundir, dm->socket);
					unlink(path);
				}
			}
			printf("stopped %s (pid %d)\n", dm->binary, (int)pid);
		}
		snprintf(path, sizeof(path), "%s/%s.pid", rundir, dm->name);
		if (pid > 0)
			unlink(path);
	}
	return rc;
}

PVIO_CMD(down_cmd)
