/* SPDX-License-Identifier: MIT */
/* Daemons the store benchmarks start: wait for their socket, stop them. */
#ifndef PVIO_PERF_PROC_H
#define PVIO_PERF_PROC_H

#include <signal.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* True once @path exists, polling every 10 ms for at most @ms. */
static inline bool perf_wait_socket(const char *path, int ms)
{
	struct stat st;

	for (int i = 0; i < ms / 10; i++) {
		if (!stat(path, &st))
			return true;
		usleep(10000);
	}
	return false;
}

/*
 * Stop the process group led by @pid (a spawned daemon): SIGTERM, and
 * SIGKILL if it is still there after @grace_ms.
 */
static inline void perf_stop(pid_t pid, int grace_ms)
{
	if (pid <= 0)
		return;
	kill(-pid, SIGTERM);
	for (int i = 0; i < grace_ms / 20; i++) {
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return;
		usleep(20000);
	}
	kill(-pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

#endif /* PVIO_PERF_PROC_H */
