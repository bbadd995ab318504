// SPDX-License-Identifier: MIT
/*
 * pvio create: build a domain from an xl config file (a process domain runs
 * `program` with PVIO_DOMID and PVIO_RUNDIR set; a VM is started by hv) and
 * attach its devices through the device classes. With -F it waits for the
 * program and tears everything down after it (`pvio destroy` is hv's verb).
 */
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

#include "pvio/libpvio.h"
#include "pvio/xenbus.h"
#include "pvio_cmd.h"
#include "pvio_domstore.h"
#include "xlcfg/xlcfg.h"

static struct pvio_cmd create_cmd;

static void devices_detach(const char *rundir, pvio_domid_t domid)
{
	for (struct pvio_devclass *dc = pvio_devclass_first(); dc; dc = dc->next)
		if (dc->detach_all)
			dc->detach_all(rundir, domid);
}

/* List keys that configure the domain itself rather than name devices. */
static bool domain_list_key(const char *key)
{
	return !strcmp(key, "device_model_args");
}

/*
 * xl's device_model_args: one QEMU argument per item, joined with '\n'
 * for hv, and checked here with hv's own check so that the refusal names
 * the item.
 */
static int dm_args_fill(const struct xlcfg *cfg, const char *path,
			char *out, size_t len)
{
	const struct xlcfg_entry *e = xlcfg_get(cfg, "device_model_args");
	unsigned int bad;
	size_t used = 0;

	out[0] = 0;
	if (!e)
		return 0;
	if (e->type != XLCFG_LIST) {
		fprintf(stderr, "pvio: %s: device_model_args must be a list\n", path);
		return -EINVAL;
	}
	for (unsigned int i = 0; i < e->nr_items; i++) {
		size_t wl = strlen(e->items[i]);

		if (used + wl + 2 > len) {
			fprintf(stderr, "pvio: %s: device_model_args longer than %zu bytes\n",
				path, len - 1);
			return -E2BIG;
		}
		if (i)
			out[used++] = '\n';
		memcpy(out + used, e->items[i], wl + 1);
		used += wl;
	}
	if (!pvio_dm_args_check(out, len, &bad))
		return 0;
	if (bad >= e->nr_items)
		fprintf(stderr, "pvio: %s: device_model_args: '%s' needs its value\n",
			path, e->items[e->nr_items - 1]);
	else if (bad >= PVIO_DM_ARGS_MAX)
		fprintf(stderr, "pvio: %s: device_model_args: more than %d items\n",
			path, PVIO_DM_ARGS_MAX);
	else if (bad % 2 == 0)
		fprintf(stderr, "pvio: %s: device_model_args: '%s' not allowed (only -device, -drive, -netdev, -blockdev)\n",
			path, e->items[bad]);
	else
		fprintf(stderr, "pvio: %s: device_model_args: bad value '%s' for %s (printable, no leading '-', no chardev or ivshmem)\n",
			path, e->items[bad], e->items[bad - 1]);
	return -EINVAL;
}

/* Every list key with a device class: hand it each entry. */
static int devices_attach(const char *rundir, pvio_domid_t domid,
			  const struct xlcfg *cfg)
{
	for (unsigned int i = 0; i < cfg->n; i++) {
		const struct xlcfg_entry *e = &cfg->e[i];
		struct pvio_devclass *dc;

		if (e->type != XLCFG_LIST || domain_list_key(e->key))
			continue;
		dc = pvio_devclass_find(e->key);
		if (!dc) {
			if (e->nr_items) {
				fprintf(stderr, "pvio: no device class handles '%s' entries\n",
					e->key);
				return -ENOTSUP;
			}
			continue;
		}
		for (unsigned int j = 0; j < e->nr_items; j++) {
			int rc = dc->attach(rundir, domid, e->items[j]);

			if (rc) {
				fprintf(stderr, "pvio: %s entry %u ('%s') failed\n",
					e->key, j, e->items[j]);
				return rc;
			}
		}
	}
	return 0;
}

static int domain_teardown(const char *rundir, pvio_domid_t domid, bool kill_it)
{
	struct pvio_domain_info info;
	struct pvio_hv *hv;
	int rc;

	devices_detach(rundir, domid);
	rc = pvio_hv_open(rundir, &hv);
	if (rc) {
		fprintf(stderr, "pvio: cannot reach pvio-hv: %s\n", strerror(-rc));
		return rc;
	}
	if (kill_it && !pvio_domain_info(hv, domid, &info) && info.pid > 0 &&
	    info.type == PVIO_DOMTYPE_PROCESS) {
		/* a process domain: ask it to stop, then insist */
		kill(info.pid, SIGTERM);
		for (int i = 0; i < 50 && !kill(info.pid, 0); i++)
			usleep(20000);
		kill(info.pid, SIGKILL);
	}
	rc = pvio_domain_destroy(hv, domid);
	if (rc == -ENOENT || rc == -ESRCH)
		rc = 0;	/* gone with its process */
	pvio_hv_close(hv);
	pvio_domstore_cleanup(rundir, domid);
	return rc;
}

/*
 * on_poweroff / on_crash / on_reboot: a VM that stops is released by hv
 * and its monitor removes its devices and store nodes, i.e. "destroy".
 * Other xl actions are accepted with a warning.
 */
static int check_actions(const char *path, const struct xlcfg *cfg)
{
	static const char *const keys[] = { "on_poweroff", "on_crash",
					    "on_reboot" };
	static const char *const known[] = { "destroy", "restart", "preserve",
					     "rename-restart",
					     "coredump-destroy",
					     "coredump-restart" };

	for (unsigned int i = 0; i < sizeof(keys) / sizeof(*keys); i++) {
		const char *v = xlcfg_get_string(cfg, keys[i]);
		bool ok = false;

		if (!v || !strcmp(v, "destroy"))
			continue;
		for (unsigned int j = 0; j < sizeof(known) / sizeof(*known); j++)
			ok |= !strcmp(v, known[j]);
		if (!ok) {
			fprintf(stderr, "pvio: %s: bad %s '%s'\n", path, keys[i], v);
			return -EINVAL;
		}
		fprintf(stderr, "pvio: %s: %s = \"%s\" is not supported; the domain is destroyed\n",
			path, keys[i], v);
	}
	return 0;
}

/* A VM: introduce its store ring and write its per-domain nodes. */
static int vm_store_make(const char *rundir, pvio_domid_t domid,
			 const struct pvio_domain_config *dc)
{
	struct pvio_domstore ds = {
		.domid = domid,
		.name = dc->name,
		.mem_kib = dc->mem_bytes >> 10,
		.vcpus = dc->vcpus,
	};
	struct pvio_domain_info info;
	struct xs_handle *xs;
	struct pvio_hv *hv;
	int rc;

	rc = pvio_hv_open(rundir, &hv);
	if (rc)
		return rc;
	rc = pvio_domain_info(hv, domid, &info);
	pvio_hv_close(hv);
	if (rc) {
		fprintf(stderr, "pvio: domain %u: %s\n", domid, strerror(-rc));
		return rc;
	}
	ds.store_port = info.store_port;
	rc = pvio_domstore_open(rundir, &xs);
	if (rc)
		return rc;
	rc = pvio_domstore_make(xs, &ds);
	xs_close(xs);
	return rc;
}

/* -F for a VM: wait until it is gone, then remove its devices and nodes. */
static int vm_wait_gone(const char *rundir, pvio_domid_t domid)
{
	struct pvio_domain_info info;
	struct pvio_hv *hv;
	int rc;

	for (;;) {
		rc = pvio_hv_open(rundir, &hv);
		if (rc)
			break;
		rc = pvio_domain_info(hv, domid, &info);
		pvio_hv_close(hv);
		if (rc)
			break;
		usleep(200000);
	}
	pvio_domstore_cleanup(rundir, domid);
	return rc == -ESRCH || rc == -ENOENT ? 0 : 1;
}

static pid_t spawn(const char *program, pvio_domid_t domid, const char *rundir,
		   const char *log)
{
	char id[16];
	pid_t pid = fork();

	if (pid != 0)
		return pid;
	snprintf(id, sizeof(id), "%u", domid);
	setenv("PVIO_DOMID", id, 1);
	setenv("PVIO_RUNDIR", rundir, 1);
	{
		/* the domain's store ring is introduced through this socket */
		char sock[PATH_MAX];

		snprintf(sock, sizeof(sock), "%s/store.sock", rundir);
		setenv("XENSTORED_PATH", sock, 1);
	}
	if (log) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);

		setsid();
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (fd >= 0)
			dup2(fd, 0);
	}
	execl("/bin/sh", "sh", "-c", program, (char *)NULL);
	_exit(127);
}

/*
 * A process domain without -F: a detached monitor process (xl keeps one
 * per domain too) starts the program as its child and, when the program
 * ends however it ends, destroys the domain if the program left it behind
 * and removes its devices and store nodes, so that nothing of a domain
 * whose program exited stays. The monitor holds no connection while it
 * waits. 0 once the program runs, or -errno.
 */
static int process_monitor(const char *program, pvio_domid_t domid,
			   const char *rundir, const char *log)
{
	int sync[2];
	pid_t pid;
	char c = 0;

	if (pipe2(sync, O_CLOEXEC) < 0)
		return -errno;
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		close(sync[0]);
		close(sync[1]);
		return -errno;
	}
	if (pid == 0) {
		struct pvio_hv *hv;
		pid_t prog;
		int nul = open("/dev/null", O_RDWR | O_CLOEXEC);

		close(sync[0]);
		setsid();
		signal(SIGHUP, SIG_IGN);
		if (nul >= 0) {
			dup2(nul, 0);
			dup2(nul, 1);
			dup2(nul, 2);
		}
		/* a second fork: the caller need not reap us */
		pid = fork();
		if (pid != 0)
			_exit(pid < 0 ? 1 : 0);
		prog = spawn(program, domid, rundir, log);
		c = prog > 0;
		if (write(sync[1], &c, 1) < 0 || prog < 0)
			_exit(1);
		close(sync[1]);
		while (waitpid(prog, NULL, 0) < 0 && errno == EINTR)
			;
		/* the program is gone: so is whatever it did not tear down */
		if (!pvio_hv_open(rundir, &hv)) {
			pvio_domain_destroy(hv, domid);
			pvio_hv_close(hv);
		}
		pvio_domstore_cleanup(rundir, domid);
		_exit(0);
	}
	close(sync[1]);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	if (read(sync[0], &c, 1) != 1 || !c) {
		close(sync[0]);
		return -ECHILD;
	}
	close(sync[0]);
	return 0;
}

static int run_create(int argc, char **argv)
{
	struct pvio_domain_config dc;
	const char *rundir = pvio_rundir(pvio_opt_rundir);
	const char *path = NULL, *s;
	bool foreground = false;
	struct xlcfg *cfg;
	struct pvio_hv *hv;
	pvio_domid_t domid;
	long long v;
	char err[256], log[512];
	int rc, status = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-F"))
			foreground = true;
		else if (argv[i][0] == '-' || path)
			return pvio_cmd_usage(&create_cmd);
		else
			path = argv[i];
	}
	if (!path)
		return pvio_cmd_usage(&create_cmd);
	rc = xlcfg_parse_file(path, &cfg, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "pvio: %s: %s\n", path, err);
		return 1;
	}
	memset(&dc, 0, sizeof(dc));
	s = xlcfg_get_string(cfg, "name");
	if (!s || !*s || strlen(s) >= sizeof(dc.name)) {
		fprintf(stderr, "pvio: %s: 'name' missing or too long\n", path);
		goto err_cfg;
	}
	strcpy(dc.name, s);
	s = xlcfg_get_string(cfg, "type");
	if (!s || !strcmp(s, "process")) {
		dc.type = PVIO_DOMTYPE_PROCESS;
		if (xlcfg_get(cfg, "device_model_args")) {
			fprintf(stderr, "pvio: %s: device_model_args needs a VM (type = \"pvh\")\n",
				path);
			goto err_cfg;
		}
		if (!xlcfg_get_string(cfg, "program")) {
			fprintf(stderr, "pvio: %s: a process domain needs 'program'\n",
				path);
			goto err_cfg;
		}
	} else if (!strcmp(s, "pv") || !strcmp(s, "pvh") || !strcmp(s, "hvm") ||
		   !strcmp(s, "vm")) {
		dc.type = PVIO_DOMTYPE_VM;
		s = xlcfg_get_string(cfg, "kernel");
		snprintf(dc.kernel, sizeof(dc.kernel), "%s", s ? s : "");
		s = xlcfg_get_string(cfg, "ramdisk");
		snprintf(dc.ramdisk, sizeof(dc.ramdisk), "%s", s ? s : "");
		s = xlcfg_get_string(cfg, "extra");
		if (!s)
			s = xlcfg_get_string(cfg, "cmdline");
		snprintf(dc.cmdline, sizeof(dc.cmdline), "%s", s ? s : "");
		if (dm_args_fill(cfg, path, dc.dm_args, sizeof(dc.dm_args)))
			goto err_cfg;
	} else {
		fprintf(stderr, "pvio: %s: unknown type '%s' (process or pvh)\n",
			path, s);
		goto err_cfg;
	}
	v = 128;
	if (xlcfg_get_int(cfg, "memory", &v) == -EINVAL || v <= 0 || v > 65536) {
		fprintf(stderr, "pvio: %s: bad 'memory' (MiB)\n", path);
		goto err_cfg;
	}
	dc.mem_bytes = (uint64_t)v << 20;
	v = 1;
	if (xlcfg_get_int(cfg, "vcpus", &v) == -EINVAL || v <= 0 || v > 16) {
		fprintf(stderr, "pvio: %s: bad 'vcpus'\n", path);
		goto err_cfg;
	}
	dc.vcpus = (uint32_t)v;
	if (check_actions(path, cfg))
		goto err_cfg;

	rc = pvio_hv_open(rundir, &hv);
	if (rc) {
		fprintf(stderr, "pvio: cannot reach pvio-hv in %s: %s\n", rundir,
			strerror(-rc));
		goto err_cfg;
	}
	rc = pvio_domain_create(hv, &dc, &domid);
	pvio_hv_close(hv);
	if (rc) {
		fprintf(stderr, "pvio: creating domain '%s': %s\n", dc.name,
			strerror(-rc));
		goto err_cfg;
	}
	if (dc.type == PVIO_DOMTYPE_VM && vm_store_make(rundir, domid, &dc))
		goto err_dom;
	rc = devices_attach(rundir, domid, cfg);
	if (rc)
		goto err_dom;
	if (dc.type == PVIO_DOMTYPE_PROCESS) {
		pid_t pid;

		snprintf(log, sizeof(log), "%s/%s.log", rundir, dc.name);
		if (!foreground) {
			rc = process_monitor(xlcfg_get_string(cfg, "program"),
					     domid, rundir, log);
			if (rc) {
				fprintf(stderr, "pvio: starting domain %u: %s\n",
					domid, strerror(-rc));
				goto err_dom;
			}
			printf("Started domain %s (id=%u), log %s\n", dc.name,
			       domid, log);
			xlcfg_free(cfg);
			return 0;
		}
		pid = spawn(xlcfg_get_string(cfg, "program"), domid, rundir,
			    NULL);
		if (pid < 0) {
			fprintf(stderr, "pvio: fork: %s\n", strerror(errno));
			goto err_dom;
		}
		if (foreground) {
			while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
				;
			domain_teardown(rundir, domid, false);
			xlcfg_free(cfg);
			if (WIFEXITED(status))
				return WEXITSTATUS(status);
			return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
		}
		printf("Started domain %s (id=%u), log %s\n", dc.name, domid, log);
	} else if (foreground) {
		/* as xl create -F: be the domain's monitor ourselves */
		printf("Started domain %s (id=%u)\n", dc.name, domid);
		fflush(stdout);
		xlcfg_free(cfg);
		return vm_wait_gone(rundir, domid);
	} else {
		/* removes devices and store nodes when the VM stops */
		rc = pvio_domstore_monitor(rundir, domid);
		if (rc)
			fprintf(stderr, "pvio: no monitor for domain %u: %s\n",
				domid, strerror(-rc));
		printf("Started domain %s (id=%u)\n", dc.name, domid);
	}
	xlcfg_free(cfg);
	return 0;
err_dom:
	domain_teardown(rundir, domid, true);
err_cfg:
	xlcfg_free(cfg);
	return 1;
}

static struct pvio_cmd create_cmd = {
	.name = "create",
	.usage = "[-F] FILE.cfg   (-F: stay in the foreground until the program or the VM ends)",
	.help = "create a domain from an xl config file",
	.run = run_create,
};
PVIO_CMD(create_cmd);
