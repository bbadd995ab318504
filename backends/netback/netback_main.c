/*
 * pvio-netback: serves every vif under /local/domain/0/backend/vif.
 *   pvio-netback [--rundir DIR] [--max-queues N]
 * Foreground until SIGTERM/SIGINT; then closes every vif and removes its TAP.
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "netback.h"
#include "pvio/netfront.h"

static void usage(void)
{
	fprintf(stderr, "usage: pvio-netback [--rundir DIR] [--max-queues N]\n");
}

int main(int argc, char **argv)
{
	struct netback nb = { .max_queues = 4 };
	const char *rundir_opt = NULL;
	char store[PATH_MAX], exe[PATH_MAX];
	sigset_t set;
	int sfd, ret;
	uint64_t last_stats = 0;
	ssize_t n;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--rundir") && i + 1 < argc) {
			rundir_opt = argv[++i];
		} else if (!strcmp(argv[i], "--max-queues") && i + 1 < argc) {
			nb.max_queues = (unsigned int)atoi(argv[++i]);
			if (nb.max_queues < 1 || nb.max_queues > NETBACK_MAX_QUEUES) {
				fprintf(stderr, "pvio-netback: --max-queues 1..%u\n",
					NETBACK_MAX_QUEUES);
				return 2;
			}
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage();
			return 0;
		} else {
			usage();
			return 2;
		}
	}
	nb.rundir = pvio_rundir(rundir_opt);
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = 0;
		snprintf(nb.exe_dir, sizeof(nb.exe_dir), "%s", dirname(exe));
	}
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);	/* threads inherit the mask */
	sfd = signalfd(-1, &set, SFD_CLOEXEC);
	nb.wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (sfd < 0 || nb.wake_fd < 0) {
		perror("pvio-netback: signalfd/eventfd");
		return 1;
	}

	ret = pvio_hv_open(nb.rundir, &nb.hv);
	if (ret) {
		fprintf(stderr, "pvio-netback: cannot connect to pvio-hv in %s: %s\n",
			nb.rundir, strerror(-ret));
		return 1;
	}
	snprintf(store, sizeof(store), "%s/store.sock", nb.rundir);
	ret = xs_open(getenv("XENSTORED_PATH") ? NULL : store, &nb.xs);
	if (ret) {
		fprintf(stderr, "pvio-netback: cannot connect to the store (%s): %s\n",
			getenv("XENSTORED_PATH") ? getenv("XENSTORED_PATH") : store,
			strerror(-ret));
		pvio_hv_close(nb.hv);
		return 1;
	}
	pthread_mutex_init(&nb.lock, NULL);
	nb.rescan_all = true;
	ret = xs_watch(nb.xs, "/local/domain/0/backend/vif", "vif",
		       netback_watch_cb, &nb);
	if (ret) {
		fprintf(stderr, "pvio-netback: cannot watch backend/vif: %s\n",
			strerror(-ret));
		return 1;
	}
	/* dead frontends' rings and memory are let go of at once */
	if (xs_watch(nb.xs, "@releaseDomain", "release", netback_watch_cb, &nb))
		fprintf(stderr, "pvio-netback: no @releaseDomain watch: dead "
			"domains' memory stays mapped until exit\n");
	fprintf(stderr, "pvio-netback: serving vifs (rundir %s, %u queues max)\n",
		nb.rundir, nb.max_queues);

	for (;;) {
		struct pollfd p[2] = {
			{ .fd = nb.wake_fd, .events = POLLIN },
			{ .fd = sfd, .events = POLLIN },
		};
		uint64_t v, now;

		if (poll(p, 2, 1000) < 0 && errno != EINTR)
			break;
		if (p[1].revents)
			break;
		if (p[0].revents && read(nb.wake_fd, &v, sizeof(v)) < 0 &&
		    errno != EAGAIN)
			break;
		netback_handle_events(&nb);
		now = netback_now_ns();
		if (now - last_stats >= 1000000000ull) {
			last_stats = now;
			netback_tick(&nb);
			for (struct netback_vif *vif = nb.vifs; vif; vif = vif->next)
				netback_publish_stats(vif);
		}
	}
	fprintf(stderr, "pvio-netback: shutting down\n");
	xs_unwatch(nb.xs, "@releaseDomain", "release");
	xs_unwatch(nb.xs, "/local/domain/0/backend/vif", "vif");
	while (nb.vifs) {
		struct netback_vif *vif = nb.vifs;

		netback_publish_stats(vif);
		/* frontends wait in Closed for us to come back with InitWait */
		if (vif->state != XenbusStateUnknown)
			xenbus_switch_state(nb.xs, vif->bedir, XenbusStateClosed);
		netback_vif_destroy(vif);
	}
	xs_close(nb.xs);
	pvio_hv_close(nb.hv);
	while (nb.events) {
		struct netback_event *e = nb.events;

		nb.events = e->next;
		free(e);
	}
	return 0;
}
