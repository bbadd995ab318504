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
#include "pvio_hvcmd.h"

static volatile sig_atomic_t console_stop;
static struct pvio_cmd cmd_console;

static void console_sigint(int sig)
{
	console_stop = 1;
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
	int fd, ret, argi, o, code = 0;
	static const struct option opts[] = {
		{ "no-follow", no_argument, NULL, 'n' }, { NULL, 0, NULL, 0 },
	};

	while ((o = pvio_getopt(&cmd_console, argc, argv, "n", opts, &code)) != -1) {
		if (o == -2)
			return code;
		follow = false;
	}
	argi = optind;
	if (argc != argi + 1)
		return pvio_cmd_usage(&cmd_console);
	if (pvio_cli_connect(&hv) < 0)
		return 1;
	if (pvio_domain_resolve(hv, argv[argi], &dom) < 0) {
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
