/* SPDX-License-Identifier: MIT */
/*
 * pvio-hv: arguments, run dir, limits and signals, then the single-threaded
 * epoll loop over hv.sock and its clients (hv_client.c).
 */
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hv.h"
#include "hv_vm.h"

static void usage(void)
{
	fprintf(stderr, "usage: pvio-hv [--rundir DIR]\n");
}

int main(int argc, char **argv)
{
	const char *rundir = NULL;
	char path[4096];
	struct rlimit rl;
	sigset_t ss;
	int lfd, sfd;
	static char signal_tag;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--rundir") && i + 1 < argc) {
			rundir = argv[++i];
		} else if (!strncmp(argv[i], "--rundir=", 9)) {
			rundir = argv[i] + 9;
		} else {
			usage();
			return 2;
		}
	}
	hv_rundir = pvio_rundir(rundir);
	if (mkdir(hv_rundir, 0700) < 0 && errno != EEXIST) {
		fprintf(stderr, "pvio-hv: cannot create run dir %s: %s\n",
			hv_rundir, strerror(errno));
		return 1;
	}
	/* every bound port holds fds: use all we may */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	/*
	 * A domain's large tables (pin counts, port chunks) are freed when it
	 * goes: a fixed mmap threshold keeps glibc from moving such sizes onto
	 * the heap after the first free, where they would stay resident.
	 */
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&ss);
	sigaddset(&ss, SIGTERM);
	sigaddset(&ss, SIGINT);
	sigprocmask(SIG_BLOCK, &ss, NULL);
	sfd = signalfd(-1, &ss, SFD_CLOEXEC | SFD_NONBLOCK);
	snprintf(path, sizeof(path), "%s/%s", hv_rundir, HV_SOCK_NAME);
	hv_domain_init();
	{
		/* a measurement aid: every VM notification through hv */
		const char *e = getenv("PVIO_EVTCHN_DIRECT");

		hv_evtchn_direct_on = !e || strcmp(e, "0");
	}
	lfd = hv_loop_init(path);
	if (lfd < 0 || sfd < 0 || hv_loop_add(sfd, &signal_tag) < 0) {
		fprintf(stderr, "pvio-hv: cannot listen on %s: %s\n", path,
			strerror(lfd < 0 ? -lfd : errno));
		return 1;
	}
	hv_log("serving %s (version %d.%d)", path, PVIO_HV_VERSION_MAJOR,
	       PVIO_HV_VERSION_MINOR);
	hv_vm_ram_init();	/* after the line that says hv serves */

	for (;;) {
		struct epoll_event evs[64];
		int n = hv_loop_wait(evs, 64);

		if (n < 0 && errno != EINTR)
			break;
		for (int i = 0; i < n; i++) {
			void *tag = evs[i].data.ptr;

			if (tag == &signal_tag) {
				struct signalfd_siginfo si;

				if (read(sfd, &si, sizeof(si)) != sizeof(si))
					continue;
				hv_log("signal %u, exiting", si.ssi_signo);
				goto out;
			}
			hv_loop_dispatch(lfd, tag, evs[i].events);
		}
	}
out:
	/* nothing of ours outlives hv: programs, QEMUs */
	hv_domain_kill_all();
	unlink(path);
	return 0;
}
