/* SPDX-License-Identifier: MIT */
/* Benchmarks' private pvio-hv and clock. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "perf_hv.h"

static pid_t hv_pid;
static char rundir[] = "/tmp/pvio-perf-XXXXXX";

double perf_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int perf_hv_start(void)
{
	char exe[PATH_MAX], sock[PATH_MAX + 32];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 16);
	char *slash;

	if (n <= 0)
		return -errno;
	exe[n] = 0;
	slash = strrchr(exe, '/');
	if (!slash)
		return -ENOENT;
	strcpy(slash + 1, "pvio-hv");
	if (!mkdtemp(rundir))
		return -errno;
	snprintf(sock, sizeof(sock), "%s/hv.sock", rundir);
	hv_pid = fork();
	if (hv_pid < 0)
		return -errno;
	if (hv_pid == 0) {
		/* hv's log: $PVIO_PERF_HV_LOG if set, else nowhere */
		const char *log = getenv("PVIO_PERF_HV_LOG");
		int fd = log ? open(log, O_WRONLY | O_CREAT | O_APPEND, 0644) :
			       open("/dev/null", O_WRONLY);

		if (fd >= 0)
			dup2(fd, 2);
		execl(exe, "pvio-hv", "--rundir", rundir, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 500 && access(sock, F_OK) < 0; i++)
		usleep(10000);
	if (access(sock, F_OK) < 0) {
		perf_hv_stop();
		return -ETIMEDOUT;
	}
	setenv("PVIO_RUNDIR", rundir, 1);
	return 0;
}

void perf_hv_stop(void)
{
	if (hv_pid > 0) {
		kill(hv_pid, SIGTERM);
		waitpid(hv_pid, NULL, 0);
		hv_pid = 0;
	}
	{
		/* hv keeps its next domid there across restarts */
		char f[sizeof(rundir) + 32];

		snprintf(f, sizeof(f), "%s/hv.next-domid", rundir);
		unlink(f);
	}
	rmdir(rundir);
}
