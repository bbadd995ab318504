// SPDX-License-Identifier: MIT
/*
 * pvio console DOM: print a VM's serial console and follow it while the
 * domain lives (hv writes it to RUNDIR/vm-<domid>/console.log). Output
 * only: the serial line is a log file, so there is no input to the guest.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pvio/libpvio.h"
#include "pvio_cmd.h"

static volatile sig_atomic_t console_stop;
static struct pvio_cmd cmd_console;

static void console_sigint(int sig)
{
	console_stop = 1;
}

/* DOM is a domain id or a name; 0 or -errno. */
static int console_resolve(struct pvio_hv *hv, const char *arg,
			   pvio_domid_t *dom)
{
	struct pvio_domain_info *v;
	unsigned int n, i;
	char *end;
	unsigned long id = strtoul(arg, &end, 10);
	int ret;

	if (*arg && !*end && id < PVIO_DOMID_FIRST_RESERVED) {
		*dom = (pvio_domid_t)id;
		return 0;
	}
	ret = pvio_domain_list(hv, &v, &n);
	if (ret)
		return ret;
	ret = -ESRCH;
	for (i = 0; i < n; i++)
		if (!strcmp(v[i].name, arg)) {
			*dom = v[i].domid;
			ret = 0;
			break;
		}
	free(v);
	return ret;
}

/* Copy what is new in @fd to stdout; returns bytes copied or -errno. */
static long console_drain(int fd)
{
	char buf[65536];
	long total = 0;
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n)
			return -EIO;
		total += n;
	}
	fflush(stdout);
	return n < 0 ? -errno : total;
}

static int console_run(int argc, char **argv)
{
	struct pvio_domain_info info;
	struct pvio_hv *hv;
	bool follow = true;
	pvio_domid_t dom;
	char path[4096];
	int fd, ret, argi = 1;

	if (argc > 1 && (!strcmp(argv[1], "-n") ||
			 !strcmp(argv[1], "--no-follow"))) {
		follow = false;
		argi++;
	}
	if (argc != argi + 1)
		return pvio_cmd_usage(&cmd_console);
	ret = pvio_hv_open(pvio_opt_rundir, &hv);
	if (ret) {
		fprintf(stderr, "pvio console: cannot reach pvio-hv in %s: %s\n",
			pvio_rundir(pvio_opt_rundir), strerror(-ret));
		return 1;
	}
	ret = console_resolve(hv, argv[argi], &dom);
	if (ret) {
		fprintf(stderr, "pvio console: no domain %s\n", argv[argi]);
		pvio_hv_close(hv);
		return 1;
	}
	snprintf(path, sizeof(path), "%s/vm-%u/console.log",
		 pvio_rundir(pvio_opt_rundir), dom);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "pvio console: domain %u has no console (%s): %s\n",
			dom, path, strerror(errno));
		pvio_hv_close(hv);
		return 1;
	}
	signal(SIGINT, console_sigint);
	signal(SIGTERM, console_sigint);
	ret = 0;
	for (;;) {
		long n = console_drain(fd);

		if (n < 0) {
			ret = 1;
			break;
		}
		if (!follow || console_stop)
			break;
		/* the domain is gone: whatever it wrote is already out */
		if (n == 0 && pvio_domain_info(hv, dom, &info) == -ESRCH) {
			console_drain(fd);
			break;
		}
		if (n == 0)
			usleep(100000);
	}
	close(fd);
	pvio_hv_close(hv);
	return ret;
}

static struct pvio_cmd cmd_console = {
	.name = "console",
	.usage = "[-n|--no-follow] DOMAIN",
	.help = "print a VM's serial console, following it while it runs",
	.run = console_run,
};
PVIO_CMD(cmd_console)
