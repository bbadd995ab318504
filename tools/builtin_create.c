// SPDX-License-Identifier: MIT
/*
 * pvio create: build a domain from an xl config file, as `xl create`
 * does. KEY=VALUE arguments after the file override it (KEY+=VALUE
 * extends); -n prints the plan as JSON and changes nothing. A process
 * domain runs `program` (PVIO_DOMID and PVIO_RUNDIR set) in its own
 * process group, which hv learns at once; a VM is started by hv, its
 * kernel given or found by pygrub in its first disk. Devices are attached
 * through the device classes. A failed create leaves nothing behind.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pvio/libpvio.h"
#include "pvio/xenbus.h"
#include "create_config.h"
#include "pvio_cmd.h"
#include "pvio_domstore.h"
#include "pygrub/pygrub.h"
#include "xlcfg/xlcfg.h"

static struct pvio_cmd create_cmd;

static void devices_detach(const char *rundir, pvio_domid_t domid)
{
	for (struct pvio_devclass *dc = pvio_devclass_first(); dc; dc = dc->next)
		if (dc->detach_all)
			dc->detach_all(rundir, domid);
}

/* Every list key with a device class: hand it each entry. */
static int devices_attach(const char *rundir, pvio_domid_t domid,
			  const struct xlcfg *cfg)
{
	for (unsigned int i = 0; i < cfg->n; i++) {
		const struct xlcfg_entry *e = &cfg->e[i];
		struct pvio_devclass *dc = pvio_devclass_find(e->key);

		if (!dc || e->type != XLCFG_LIST)
			continue;
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

/*
 * Undo a domain: its devices, then hv's domain (hv stops a spawned
 * program's whole process group), then its store nodes.
 */
static int domain_teardown(const char *rundir, pvio_domid_t domid)
{
	struct pvio_hv *hv;
	int rc;

	devices_detach(rundir, domid);
	rc = pvio_hv_open(rundir, &hv);
	if (rc) {
		fprintf(stderr, "pvio: cannot reach pvio-hv: %s\n", strerror(-rc));
		return rc;
	}
	rc = pvio_domain_destroy(hv, domid);
	if (rc == -ENOENT || rc == -ESRCH)
		rc = 0;	/* gone with its process */
	pvio_hv_close(hv);
	pvio_domstore_cleanup(rundir, domid);
	return rc;
}

/* A VM: introduce its store ring and write its per-domain nodes. */
static int vm_store_make(const char *rundir, pvio_domid_t domid,
			 const struct create_cfg *cc)
{
	struct pvio_domstore ds = {
		.domid = domid,
		.name = cc->dc.name,
		.uuid = cc->uuid,
		.mem_kib = cc->dc.mem_bytes >> 10,
		.vcpus = cc->dc.vcpus,
		.max_vcpus = cc->dc.max_vcpus,
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

/* -F: wait until the domain is gone, then remove its devices and nodes. */
static int wait_gone(const char *rundir, pvio_domid_t domid)
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
	devices_detach(rundir, domid);
	pvio_domstore_cleanup(rundir, domid);
	return rc == -ESRCH || rc == -ENOENT ? 0 : 1;
}

static pid_t child_pgid;

static void forward_signal(int sig)
{
	if (child_pgid > 0)
		kill(-child_pgid, sig);
}

/*
 * The program of a process domain, in a process group of its own (hv
 * stops the group with the domain), handed to hv as a pidfd before it
 * can attach. 0 with *@pid, or -errno (nothing left running).
 */
static int spawn(const struct create_cfg *cc, pvio_domid_t domid,
		 const char *rundir, const char *log, pid_t *pid_out)
{
	struct pvio_hv *hv;
	char id[16], sock[PATH_MAX];
	int pidfd, rc, go[2];
	pid_t pid;

	if (pipe2(go, O_CLOEXEC) < 0)
		return -errno;
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		rc = -errno;
		close(go[0]);
		close(go[1]);
		return rc;
	}
	if (pid == 0) {
		char c;

		setpgid(0, 0);
		close(go[1]);
		/* wait until hv knows us: then we may attach */
		if (read(go[0], &c, 1) != 1)
			_exit(126);
		snprintf(id, sizeof(id), "%u", domid);
		setenv("PVIO_DOMID", id, 1);
		setenv("PVIO_RUNDIR", rundir, 1);
		/* the domain's store ring is introduced through this socket */
		snprintf(sock, sizeof(sock), "%s/store.sock", rundir);
		setenv("XENSTORED_PATH", sock, 1);
		if (log) {
			int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
				      0644);

			if (fd >= 0) {
				dup2(fd, 1);
				dup2(fd, 2);
			}
			fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
			if (fd >= 0)
				dup2(fd, 0);
			signal(SIGHUP, SIG_IGN);
		}
		execl("/bin/sh", "sh", "-c", cc->program, (char *)NULL);
		_exit(127);
	}
	close(go[0]);
	setpgid(pid, pid);	/* also here: whichever runs first */
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	rc = pidfd < 0 ? -errno : pvio_hv_open(rundir, &hv);
	if (!rc) {
		rc = pvio_domain_set_process(hv, domid, pid, pidfd);
		pvio_hv_close(hv);
	}
	if (pidfd >= 0)
		close(pidfd);
	if (rc) {
		fprintf(stderr, "pvio: handing program pid %d to pvio-hv: %s\n",
			(int)pid, strerror(-rc));
		kill(-pid, SIGKILL);
		close(go[1]);
		waitpid(pid, NULL, 0);
		return rc;
	}
	if (write(go[1], "g", 1) != 1)
		rc = -errno;
	close(go[1]);
	*pid_out = pid;
	return rc;
}

/*
 * bootloader = "pygrub": the kernel, initrd and command line from the
 * first disk's /boot, copied into @dir for QEMU.
 */
static int run_pygrub(struct create_cfg *cc, const struct xlcfg *cfg,
		      const char *dir)
{
	const struct xlcfg_entry *e = xlcfg_get(cfg, "disk");
	struct pygrub_request req = {
		.kernel = cc->boot_kernel,
		.ramdisk = cc->boot_ramdisk,
		.args = cc->boot_args,
		.entry = cc->boot_entry,
		.title = cc->boot_title,
		.outdir = dir,
	};
	struct pygrub_result res;
	struct xlcfg_disk d;
	char err[512];
	int rc;

	if (!e || e->type != XLCFG_LIST || !e->nr_items || !e->items[0]) {
		fprintf(stderr, "pvio: %s: bootloader = \"pygrub\" needs a disk to boot from\n",
			cc->path);
		return -EINVAL;
	}
	rc = xlcfg_disk_parse(e->items[0], &d, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "pvio: %s\n", err);
		return rc;
	}
	req.disk = d.target;
	rc = pygrub_run(&req, &res, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "pvio: pygrub: %s\n", err);
		return rc;
	}
	if (strlen(res.kernel) >= sizeof(cc->dc.kernel) ||
	    strlen(res.ramdisk) >= sizeof(cc->dc.ramdisk) ||
	    strlen(res.cmdline) >= sizeof(cc->dc.cmdline)) {
		fprintf(stderr, "pvio: pygrub: paths or command line too long\n");
		return -ENAMETOOLONG;
	}
	strcpy(cc->dc.kernel, res.kernel);
	strcpy(cc->dc.ramdisk, res.ramdisk);
	strcpy(cc->dc.cmdline, res.cmdline);
	printf("pygrub: booting \"%s\" from %s\n", res.title, d.target);
	return 0;
}

static void rm_boot_dir(const char *dir)
{
	char p[PATH_MAX + 16];

	if (!dir[0])
		return;
	snprintf(p, sizeof(p), "%s/kernel", dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/ramdisk", dir);
	unlink(p);
	rmdir(dir);
}

/* The config file, then the KEY=VALUE arguments on top. */
static int read_config(const char *path, int nextra, char **extra,
		       struct xlcfg **out)
{
	char err[512];
	int rc;

	if (path)
		rc = xlcfg_parse_file(path, out, err, sizeof(err));
	else
		rc = xlcfg_parse("", out, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "pvio: %s: %s\n", path ? path : "config", err);
		return rc;
	}
	for (int i = 0; i < nextra; i++) {
		rc = xlcfg_parse_more(*out, extra[i], "command line", err,
				      sizeof(err));
		if (rc) {
			fprintf(stderr, "pvio: '%s': %s\n", extra[i], err);
			xlcfg_free(*out);
			*out = NULL;
			return rc;
		}
	}
	return 0;
}

static const struct option create_opts[] = {
	{ "foreground", no_argument, NULL, 'F' },
	{ "dry-run", no_argument, NULL, 'n' },
	{ "paused", no_argument, NULL, 'p' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "console", no_argument, NULL, 'c' },
	{ "defconfig", required_argument, NULL, 'f' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static int run_create(int argc, char **argv)
{
	const char *rundir = pvio_rundir(pvio_opt_rundir);
	bool foreground = false, dry = false, paused = false, quiet = false;
	bool console = false;
	const char *path = NULL;
	char **extra = NULL;
	int nextra = 0, opt, rc, status = 0;
	struct create_cfg cc = { 0 };
	struct xlcfg *cfg = NULL;
	char log[PATH_MAX], bootdir[PATH_MAX] = "";
	struct pvio_hv *hv;
	pvio_domid_t domid;
	pid_t pid = 0;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "+Fnpqcf:h", create_opts,
				  NULL)) != -1) {
		switch (opt) {
		case 'F': foreground = true; break;
		case 'n': dry = true; break;
		case 'p': paused = true; break;
		case 'q': quiet = true; break;
		case 'c': console = true; break;
		case 'f': path = optarg; break;
		case 'h': return pvio_cmd_help(&create_cmd);
		default: return pvio_cmd_usage(&create_cmd);
		}
	}
	extra = calloc((size_t)argc, sizeof(*extra));
	if (!extra)
		return 1;
	for (int i = optind; i < argc; i++) {
		if (!path && !strchr(argv[i], '='))
			path = argv[i];
		else if (strchr(argv[i], '='))
			extra[nextra++] = argv[i];
		else {
			free(extra);
			return pvio_cmd_usage(&create_cmd);
		}
	}
	if (!path && !nextra) {
		free(extra);
		return pvio_cmd_usage(&create_cmd);
	}
	rc = read_config(path, nextra, extra, &cfg);
	free(extra);
	if (rc)
		return 1;
	rc = create_cfg_build(cfg, path ? path : "command line", &cc);
	if (dry) {
		/* the plan, even when pvio would refuse it (exit 1) */
		if (rc != -EINVAL) {
			char *s = json_dumps(cc.plan, JSON_INDENT(2) |
					     JSON_PRESERVE_ORDER);

			if (s)
				printf("%s\n", s);
			free(s);
		}
		create_cfg_free(&cc);
		xlcfg_free(cfg);
		return rc ? 1 : 0;
	}
	if (rc)
		goto err_cfg;
	if (cc.pygrub) {
		snprintf(bootdir, sizeof(bootdir), "%s/boot-%s.%d", rundir,
			 cc.dc.name, (int)getpid());
		if (mkdir(bootdir, 0700) < 0) {
			fprintf(stderr, "pvio: %s: %s\n", bootdir, strerror(errno));
			bootdir[0] = 0;
			goto err_cfg;
		}
		if (run_pygrub(&cc, cfg, bootdir))
			goto err_cfg;
	}

	rc = pvio_hv_open(rundir, &hv);
	if (rc) {
		fprintf(stderr, "pvio: cannot reach pvio-hv in %s: %s (is it running? try `pvio up`)\n",
			rundir, strerror(-rc));
		goto err_cfg;
	}
	rc = pvio_domain_create(hv, &cc.dc, &domid);
	pvio_hv_close(hv);
	/* QEMU has read the kernel and initrd by now */
	rm_boot_dir(bootdir);
	bootdir[0] = 0;
	if (rc) {
		fprintf(stderr, "pvio: creating domain '%s': %s%s\n", cc.dc.name,
			strerror(-rc), rc == -EEXIST ? " (that name is taken)" : "");
		goto err_cfg;
	}
	if (cc.dc.type == PVIO_DOMTYPE_VM && vm_store_make(rundir, domid, &cc))
		goto err_dom;
	if (devices_attach(rundir, domid, cfg))
		goto err_dom;
	if (cc.dc.type == PVIO_DOMTYPE_PROCESS) {
		snprintf(log, sizeof(log), "%s/%s.log", rundir, cc.dc.name);
		rc = spawn(&cc, domid, rundir, foreground ? NULL : log, &pid);
		if (rc) {
			fprintf(stderr, "pvio: starting '%s': %s\n", cc.program,
				strerror(-rc));
			goto err_dom;
		}
	}
	if (paused && pvio_hv_open(rundir, &hv) == 0) {
		rc = pvio_domain_pause(hv, domid);
		pvio_hv_close(hv);
		if (rc)
			fprintf(stderr, "pvio: pausing domain %u: %s\n", domid,
				strerror(-rc));
	}
	if (!quiet) {
		if (pid)
			printf("Started domain %s (id=%u), program pid %d, log %s\n",
			       cc.dc.name, domid, (int)pid,
			       foreground ? "-" : log);
		else
			printf("Started domain %s (id=%u)\n", cc.dc.name, domid);
		fflush(stdout);
	}
	if (foreground && pid) {
		/* Ctrl-C reaches the program, which has its own group */
		child_pgid = pid;
		signal(SIGINT, forward_signal);
		signal(SIGTERM, forward_signal);
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		domain_teardown(rundir, domid);
		create_cfg_free(&cc);
		xlcfg_free(cfg);
		if (WIFEXITED(status))
			return WEXITSTATUS(status);
		return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	}
	if (foreground) {
		/* as xl create -F: be the domain's monitor ourselves */
		create_cfg_free(&cc);
		xlcfg_free(cfg);
		return wait_gone(rundir, domid);
	}
	/* removes devices and store nodes when the domain goes */
	rc = pvio_domstore_monitor(rundir, domid);
	if (rc)
		fprintf(stderr, "pvio: no monitor for domain %u: %s\n", domid,
			strerror(-rc));
	create_cfg_free(&cc);
	xlcfg_free(cfg);
	if (console) {
		char id[16];

		snprintf(id, sizeof(id), "%u", domid);
		return pvio_cmd_run("console", 2, (char *[]){ "console", id, NULL });
	}
	return 0;
err_dom:
	domain_teardown(rundir, domid);
	if (pid)
		waitpid(pid, NULL, 0);
err_cfg:
	rm_boot_dir(bootdir);
	create_cfg_free(&cc);
	xlcfg_free(cfg);
	return 1;
}

static struct pvio_cmd create_cmd = {
	.name = "create",
	.usage = "[-F] [-n] [-p] [-q] [-c] [-f FILE] [FILE] [KEY=VALUE ...]",
	.help = "create a domain from an xl config file",
	.options =
		"  -F, --foreground  stay until the domain ends, then tear it down\n"
		"  -n, --dry-run     print the parsed configuration as JSON, change nothing\n"
		"                    (exit 1 if pvio could not build it)\n"
		"  -p, --paused      leave the domain paused\n"
		"  -q, --quiet       no output on success\n"
		"  -c, --console     follow the VM's console once it runs\n"
		"  -f, --defconfig FILE  the config file\n"
		"  KEY=VALUE         override a setting of the file (KEY+=VALUE extends a\n"
		"                    list or a string), e.g. 'memory=512' 'disk+=[\"...\"]'\n",
	.run = run_create,
};
PVIO_CMD(create_cmd);
