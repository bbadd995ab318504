/* SPDX-License-Identifier: MIT */
/*
 * Domain control verbs: pvio destroy|pause|unpause DOM and
 * pvio shutdown|reboot [-w] DOM (DOM: an id or a name). destroy also removes
 * the domain's devices and stops a process domain's process, as xl destroy
 * does, without asking the domain; shutdown and reboot ask the domain (a
 * process gets SIGTERM, a VM an ACPI request), -w waits until it is gone.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <limits.h>

#include "pvio/hypercall.h"
#include "pvio/xenbus.h"
#include "pvio_cmd.h"
#include "pvio_hvcmd.h"
#include "pvio_domstore.h"

int pvio_cli_connect(struct pvio_hv **hv)
{
	const char *rundir = pvio_rundir(pvio_opt_rundir);
	int ret = pvio_hv_open(rundir, hv);

	if (ret < 0)
		fprintf(stderr, "pvio: cannot connect to pvio-hv in %s: %s (is it running? try `pvio up`)\n",
			rundir, strerror(-ret));
	return ret;
}

int pvio_domain_resolve(struct pvio_hv *hv, const char *arg, pvio_domid_t *domid)
{
	struct pvio_domain_info *v;
	unsigned int n;
	char *end;
	unsigned long id;
	int ret;

	id = strtoul(arg, &end, 10);
	if (*arg && !*end && id < PVIO_DOMID_FIRST_RESERVED) {
		*domid = (pvio_domid_t)id;
		return 0;
	}
	ret = pvio_domain_list(hv, &v, &n);
	if (ret < 0) {
		fprintf(stderr, "pvio: cannot list domains: %s\n", strerror(-ret));
		return ret;
	}
	ret = -ENOENT;
	for (unsigned int i = 0; i < n; i++)
		if (!strncmp(v[i].name, arg, sizeof(v[i].name))) {
			*domid = v[i].domid;
			ret = 0;
			break;
		}
	free(v);
	if (ret < 0)
		fprintf(stderr, "pvio: no domain named '%s'\n", arg);
	return ret;
}

int pvio_domain_resolve_name(struct pvio_hv *hv, const char *name,
			     pvio_domid_t *domid)
{
	struct pvio_domain_info *v;
	unsigned int n;
	int ret = pvio_domain_list(hv, &v, &n);

	if (ret < 0) {
		fprintf(stderr, "pvio: cannot list domains: %s\n", strerror(-ret));
		return ret;
	}
	ret = -ENOENT;
	for (unsigned int i = 0; i < n; i++)
		if (!strncmp(v[i].name, name, sizeof(v[i].name))) {
			*domid = v[i].domid;
			ret = 0;
		}
	free(v);
	if (ret)
		fprintf(stderr, "pvio: no domain named '%s'\n", name);
	return ret;
}

/* Wait until process @pid is gone, at most @ms; true if it is. */
static bool wait_exit(int pidfd, pid_t pid, int ms)
{
	struct pollfd p = { .fd = pidfd, .events = POLLIN };

	if (pidfd >= 0)
		return poll(&p, 1, ms) > 0;
	for (int i = 0; i < ms / 10; i++) {
		if (kill(pid, 0) < 0)
			return true;
		usleep(10000);
	}
	return kill(pid, 0) < 0;
}

/*
 * Stop a process domain's program and wait until it is gone (true): hv
 * stops a spawned program's process group too, this covers a process that
 * attached on its own. SIGTERM (SIGCONT for a paused one), SIGKILL if it
 * is still there after a second.
 */
static bool program_stop(pid_t pid)
{
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	bool gone;

	if (pidfd < 0 && errno == ESRCH)
		return true;
	kill(pid, SIGTERM);
	kill(pid, SIGCONT);
	gone = wait_exit(pidfd, pid, 1000);
	if (!gone) {
		kill(pid, SIGKILL);
		gone = wait_exit(pidfd, pid, 5000);
	}
	if (pidfd >= 0)
		close(pidfd);
	return gone;
}

/* The domain's monitor (pvio create left one): let it finish its cleanup. */
static void monitor_wait(const char *rundir, pvio_domid_t id, int ms)
{
	char path[PATH_MAX + 64];
	long pid = 0;
	FILE *f;
	int pidfd;

	snprintf(path, sizeof(path), "%s/vm-%u/monitor.pid", rundir, id);
	f = fopen(path, "r");
	if (!f)
		return;
	if (fscanf(f, "%ld", &pid) != 1)
		pid = 0;
	fclose(f);
	if (pid <= 1)
		return;
	pidfd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
	if (pidfd < 0)
		return;
	wait_exit(pidfd, (pid_t)pid, ms);
	close(pidfd);
}

static int devices_detach(const char *rundir, pvio_domid_t id)
{
	for (struct pvio_devclass *dc = pvio_devclass_first(); dc; dc = dc->next)
		if (dc->detach_all)
			dc->detach_all(rundir, id);
	/* its /local/domain/N, /vm path and any backend dir left over */
	return pvio_domstore_cleanup(rundir, id);
}

/*
 * As xl destroy, without asking the domain anything: hv destroys it first
 * (a spawned program's process group is stopped), so that each backend
 * finds its frontend dead (@releaseDomain) and closes at once, without a
 * handshake nobody would answer. The domain's monitor then detaches its
 * devices through their classes (block scripts' remove runs) and removes
 * its store nodes; that is waited for, and done here if there is no
 * monitor. A domain that already ended (its program exited) may have left
 * nodes: they are removed and that is said. Returns 0, 1 (ended already,
 * cleaned up) or -errno.
 */
static int domain_destroy(struct pvio_hv *hv, pvio_domid_t id)
{
	const char *rundir = pvio_rundir(pvio_opt_rundir);
	struct pvio_domain_info info;
	int ret = pvio_domain_info(hv, id, &info);

	if (ret == -ESRCH) {
		/* gone already: whatever it left goes too */
		monitor_wait(rundir, id, 5000);
		ret = devices_detach(rundir, id);
		return ret > 0 ? 1 : -ESRCH;
	}
	if (ret < 0)
		return ret;
	ret = pvio_domain_destroy(hv, id);
	if (ret == -ESRCH)
		ret = 0;	/* gone with its program meanwhile */
	if (ret < 0)
		return ret;
	/* the program must not be left running */
	if (info.type == PVIO_DOMTYPE_PROCESS && info.pid > 0 &&
	    info.pid != getpid() && !program_stop(info.pid))
		fprintf(stderr, "pvio: process %d of domain %u does not go away\n",
			(int)info.pid, id);
	monitor_wait(rundir, id, 15000);
	devices_detach(rundir, id);
	return 0;
}

static int domctl(const struct pvio_cmd *cmd, int argc, char **argv)
{
	struct pvio_hv *hv;
	pvio_domid_t id;
	int ret;
	int opt_rc = pvio_args_plain(cmd, &argc, &argv);

	if (opt_rc >= 0)
		return opt_rc;

	if (argc != 2)
		return pvio_cmd_usage(cmd);
	if (pvio_cli_connect(&hv) < 0)
		return 1;
	ret = pvio_domain_resolve(hv, argv[1], &id);
	if (ret < 0) {
		pvio_hv_close(hv);
		return 1;
	}
	if (!strcmp(cmd->name, "destroy")) {
		ret = id == 0 ? -EPERM : domain_destroy(hv, id);
		if (ret == 1) {
			printf("pvio destroy %s: the domain had already ended; "
			       "removed what it left in the store\n", argv[1]);
			ret = 0;
		}
	} else if (!strcmp(cmd->name, "pause")) {
		ret = pvio_domain_pause(hv, id);
	} else {
		ret = pvio_domain_unpause(hv, id);
	}
	pvio_hv_close(hv);
	if (ret < 0) {
		fprintf(stderr, "pvio %s %s: %s\n", cmd->name, argv[1],
			ret == -ESRCH ? "no such domain" :
			ret == -EPERM ? "not allowed on this domain" : strerror(-ret));
		return 1;
	}
	return 0;
}

#define SHUTDOWN_WAIT_S	60

/*
 * A VM whose pvio_core advertises control/feature-poweroff (or -reboot) is
 * asked through control/shutdown, as xl asks PV guests: 0 if asked, else
 * -errno and hv's request (ACPI power button, reset) is used instead.
 */
static int vm_shutdown_pv(pvio_domid_t id, uint32_t reason)
{
	const char *req = reason == PVIO_SHUTDOWN_REBOOT ? "reboot" : "poweroff";
	struct xs_handle *xs;
	char path[96], *v = NULL;
	int ret;

	if (pvio_domstore_open(pvio_opt_rundir, &xs))
		return -ENOTCONN;
	snprintf(path, sizeof(path), "/local/domain/%u/control/feature-%s", id,
		 req);
	ret = xs_read(xs, XS_TXN_NULL, path, &v, NULL);
	if (!ret && strcmp(v, "1"))
		ret = -EOPNOTSUPP;
	free(v);
	if (!ret) {
		snprintf(path, sizeof(path), "/local/domain/%u/control/shutdown", id);
		ret = xs_write(xs, XS_TXN_NULL, path, req, strlen(req));
	}
	xs_close(xs);
	return ret;
}

static int shutdown_cmd_run(const struct pvio_cmd *cmd, uint32_t reason,
			    int argc, char **argv)
{
	bool wait = false;
	struct pvio_domain_info info;
	struct pvio_hv *hv;
	pvio_domid_t id;
	int ret;

	static const struct option opts[] = {
		{ "wait", no_argument, NULL, 'w' }, { NULL, 0, NULL, 0 },
	};
	int o, code = 0;

	while ((o = pvio_getopt(cmd, argc, argv, "w", opts, &code)) != -1) {
		if (o == -2)
			return code;
		wait = true;
	}
	argc -= optind - 1;
	argv += optind - 1;
	if (argc != 2)
		return pvio_cmd_usage(cmd);
	if (pvio_cli_connect(&hv) < 0)
		return 1;
	ret = pvio_domain_resolve(hv, argv[1], &id);
	if (ret == 0 && id == 0)
		ret = -EPERM;
	if (ret == 0) {
		ret = pvio_domain_info(hv, id, &info);
		if (ret == 0 && !(info.type == PVIO_DOMTYPE_VM &&
				  vm_shutdown_pv(id, reason) == 0))
			ret = pvio_domain_shutdown(hv, id, reason);
	}
	if (ret == 0 && wait) {
		ret = -ETIMEDOUT;
		for (int i = 0; i < SHUTDOWN_WAIT_S * 10; i++) {
			if (pvio_domain_info(hv, id, &info) == -ESRCH) {
				ret = 0;
				break;
			}
			usleep(100000);
		}
	}
	pvio_hv_close(hv);
	if (ret < 0) {
		if (ret != -ENOENT)
			fprintf(stderr, "pvio %s %s: %s\n", cmd->name, argv[1],
				ret == -ESRCH ? "no such domain" :
				ret == -EPERM ? "not allowed on this domain" :
				ret == -ETIMEDOUT ? "still there after 60 s" : strerror(-ret));
		return 1;
	}
	return 0;
}

static int destroy_run(int argc, char **argv);
static int pause_run(int argc, char **argv);
static int unpause_run(int argc, char **argv);

static struct pvio_cmd destroy_cmd = {
	.name = "destroy", .usage = "DOM",
	.help = "tear down a domain's devices and destroy it (id or name)", .run = destroy_run,
};
static struct pvio_cmd pause_cmd = {
	.name = "pause", .usage = "DOM",
	.help = "pause a domain", .run = pause_run,
};
static int shutdown_run(int argc, char **argv);
static int reboot_run(int argc, char **argv);
static struct pvio_cmd shutdown_cmd = {
	.name = "shutdown", .usage = "[-w] DOM",
	.help = "ask a domain to shut down (-w: wait until it is gone)",
	.run = shutdown_run,
};
static struct pvio_cmd reboot_cmd = {
	.name = "reboot", .usage = "[-w] DOM",
	.help = "ask a domain to reboot", .run = reboot_run,
};

static int shutdown_run(int argc, char **argv)
{
	return shutdown_cmd_run(&shutdown_cmd, PVIO_SHUTDOWN_POWEROFF, argc, argv);
}

static int reboot_run(int argc, char **argv)
{
	return shutdown_cmd_run(&reboot_cmd, PVIO_SHUTDOWN_REBOOT, argc, argv);
}

static struct pvio_cmd unpause_cmd = {
	.name = "unpause", .usage = "DOM",
	.help = "unpause a paused domain", .run = unpause_run,
};

static int destroy_run(int argc, char **argv)
{
	return domctl(&destroy_cmd, argc, argv);
}

static int pause_run(int argc, char **argv)
{
	return domctl(&pause_cmd, argc, argv);
}

static int unpause_run(int argc, char **argv)
{
	return domctl(&unpause_cmd, argc, argv);
}

PVIO_CMD(destroy_cmd)
PVIO_CMD(pause_cmd)
PVIO_CMD(unpause_cmd)
PVIO_CMD(shutdown_cmd)
PVIO_CMD(reboot_cmd)
