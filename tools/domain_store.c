// SPDX-License-Identifier: MIT
/*
 * The toolstack's store side of a domain: XS_INTRODUCE of a VM's store
 * ring, Xen's per-domain nodes with libxl's permissions, their removal
 * once the domain is gone, and the per-VM monitor (xl keeps a process per
 * domain for the same job) that removes them when the guest powers off,
 * crashes or its QEMU dies.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "pvio/libpvio.h"
#include "pvio/xenbus.h"
#include "pvio_cmd.h"
#include "pvio_domstore.h"

#define MONITOR_POLL_MS	1000

int pvio_domstore_open(const char *rundir, struct xs_handle **xs)
{
	char sock[PATH_MAX];
	int rc;

	snprintf(sock, sizeof(sock), "%s/store.sock", pvio_rundir(rundir));
	rc = xs_open(sock, xs);
	if (rc)
		fprintf(stderr, "pvio: cannot reach the store at %s: %s\n", sock,
			strerror(-rc));
	return rc;
}

static void make_uuid(char *out, size_t len)
{
	unsigned char b[16] = { 0 };
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

	if (fd < 0 || read(fd, b, sizeof(b)) != (ssize_t)sizeof(b)) {
		/* not for security: only distinct /vm paths */
		srand((unsigned int)time(NULL) ^ (unsigned int)getpid());
		for (unsigned int i = 0; i < sizeof(b); i++)
			b[i] = (unsigned char)rand();
	}
	if (fd >= 0)
		close(fd);
	b[6] = (b[6] & 0x0f) | 0x40;	/* version 4 */
	b[8] = (b[8] & 0x3f) | 0x80;
	snprintf(out, len,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9],
		 b[10], b[11], b[12], b[13], b[14], b[15]);
}

struct make_arg {
	const struct pvio_domstore *ds;
	char dom[64];
	char vm[64];
	char uuid[40];
};

static int node(struct xs_handle *h, xs_transaction_t t, const char *dir,
		const char *key, const char *val, const struct xs_perm *perms,
		unsigned int nperms)
{
	char path[256];
	int rc;

	snprintf(path, sizeof(path), "%s%s%s", dir, *key ? "/" : "", key);
	if (val)
		rc = xs_write(h, t, path, val, strlen(val));
	else
		rc = xs_mkdir(h, t, path);
	if (!rc && perms)
		rc = xs_set_perms(h, t, path, perms, nperms);
	return rc;
}

static int make_txn(struct xs_handle *h, xs_transaction_t t, void *arg)
{
	struct make_arg *a = arg;
	const struct pvio_domstore *ds = a->ds;
	/* libxl: dom0 owns, the domain reads ... */
	const struct xs_perm ro[2] = { { 0, XS_PERM_NONE },
				       { ds->domid, XS_PERM_READ } };
	/* ... except the nodes the domain writes, which it owns */
	const struct xs_perm rw[1] = { { ds->domid, XS_PERM_NONE } };
	static const char *const ro_dirs[] = { "cpu", "memory", "device",
					       "control" };
	static const char *const rw_dirs[] = { "data", "drivers", "feature",
					       "attr", "error",
					       "control/shutdown",
					       "control/feature-poweroff",
					       "control/feature-reboot",
					       "control/feature-suspend",
					       "device/suspend/event-channel" };
	char num[32];
	int rc;

	rc = node(h, t, a->dom, "", NULL, ro, 2);
	if (!rc)
		rc = node(h, t, a->vm, "", NULL, ro, 2);
	for (unsigned int i = 0; !rc && i < sizeof(ro_dirs) / sizeof(*ro_dirs); i++)
		rc = node(h, t, a->dom, ro_dirs[i], NULL, ro, 2);
	for (unsigned int i = 0; !rc && i < sizeof(rw_dirs) / sizeof(*rw_dirs); i++)
		rc = node(h, t, a->dom, rw_dirs[i], NULL, rw, 1);
	if (!rc)
		rc = node(h, t, a->dom, "name", ds->name, ro, 2);
	snprintf(num, sizeof(num), "%u", ds->domid);
	if (!rc)
		rc = node(h, t, a->dom, "domid", num, ro, 2);
	if (!rc)
		rc = node(h, t, a->dom, "vm", a->vm, ro, 2);
	snprintf(num, sizeof(num), "%llu", (unsigned long long)ds->mem_kib);
	if (!rc)
		rc = node(h, t, a->dom, "memory/static-max", num, ro, 2);
	if (!rc)
		rc = node(h, t, a->dom, "memory/target", num, ro, 2);
	/* as libxl: every possible vCPU, online or not */
	for (uint32_t c = 0; !rc && c < (ds->max_vcpus > ds->vcpus ?
					 ds->max_vcpus : ds->vcpus); c++) {
		char key[32];

		snprintf(key, sizeof(key), "cpu/%u/availability", c);
		rc = node(h, t, a->dom, key, c < ds->vcpus ? "online" : "offline",
			  ro, 2);
	}
	if (!rc && ds->store_port) {
		snprintf(num, sizeof(num), "%u", ds->store_port);
		rc = node(h, t, a->dom, "store/port", num, ro, 2);
	}
	if (!rc)
		rc = node(h, t, a->vm, "name", ds->name, ro, 2);
	if (!rc)
		rc = node(h, t, a->vm, "uuid", a->uuid, ro, 2);
	return rc;
}

int pvio_domstore_make(struct xs_handle *xs, const struct pvio_domstore *ds)
{
	struct make_arg a = { .ds = ds };
	int rc;

	if (ds->store_port) {
		rc = xs_introduce_domain(xs, ds->domid, 0, ds->store_port);
		if (rc) {
			fprintf(stderr, "pvio: introducing domain %u to the store: %s\n",
				ds->domid, strerror(-rc));
			return rc;
		}
	}
	if (ds->uuid)
		snprintf(a.uuid, sizeof(a.uuid), "%s", ds->uuid);
	else
		make_uuid(a.uuid, sizeof(a.uuid));
	snprintf(a.dom, sizeof(a.dom), "/local/domain/%u", ds->domid);
	snprintf(a.vm, sizeof(a.vm), "/vm/%s", a.uuid);
	rc = xs_transaction_run(xs, make_txn, &a);
	if (rc)
		fprintf(stderr, "pvio: writing %s: %s\n", a.dom, strerror(-rc));
	return rc;
}

struct remove_arg {
	pvio_domid_t domid;
	unsigned int found;	/* nodes that were there */
};

static int rm_quiet(struct xs_handle *h, xs_transaction_t t, const char *path,
		    struct remove_arg *a)
{
	int rc;

	if (xs_read(h, t, path, NULL, NULL))
		return 0;	/* not there */
	rc = xs_rm(h, t, path);
	if (!rc)
		a->found++;
	return rc == -ENOENT ? 0 : rc;
}

static int remove_txn(struct xs_handle *h, xs_transaction_t t, void *arg)
{
	struct remove_arg *a = arg;
	pvio_domid_t domid = a->domid;
	char path[128], *vm = NULL;
	char **types = NULL;
	unsigned int n = 0;
	int rc;

	a->found = 0;	/* a retried transaction counts again */

	rc = xs_directory(h, t, "/local/domain/0/backend", &types, &n);
	if (rc == -ENOENT)
		rc = 0;
	for (unsigned int i = 0; !rc && i < n; i++) {
		snprintf(path, sizeof(path), "/local/domain/0/backend/%s/%u",
			 types[i], domid);
		rc = rm_quiet(h, t, path, a);
	}
	if (types)
		xs_free_list(types, n);
	snprintf(path, sizeof(path), "/local/domain/%u/vm", domid);
	/* remove only what looks like the /vm/<uuid> dir we made */
	if (!rc && !xs_read(h, t, path, &vm, NULL)) {
		if (!strncmp(vm, "/vm/", 4) && vm[4] && !strchr(vm + 4, '/'))
			rc = rm_quiet(h, t, vm, a);
		free(vm);
	}
	snprintf(path, sizeof(path), "/local/domain/%u", domid);
	if (!rc)
		rc = rm_quiet(h, t, path, a);
	return rc;
}

int pvio_domstore_remove(struct xs_handle *xs, pvio_domid_t domid)
{
	struct remove_arg a = { .domid = domid };
	int rc;

	if (domid == 0)
		return -EPERM;
	rc = xs_transaction_run(xs, remove_txn, &a);
	/* hv releases a dead domain itself; this covers a store restarted since */
	xs_release_domain(xs, domid);
	return rc < 0 ? rc : (int)a.found;
}

int pvio_domstore_cleanup(const char *rundir, pvio_domid_t domid)
{
	char sock[PATH_MAX];
	struct xs_handle *xs;
	int rc;

	snprintf(sock, sizeof(sock), "%s/store.sock", pvio_rundir(rundir));
	if (access(sock, F_OK) < 0 || xs_open(sock, &xs))
		return -ENOTCONN;
	rc = pvio_domstore_remove(xs, domid);
	xs_close(xs);
	return rc;
}

/* ---- the monitor ---- */

static int monitor_pipe[2] = { -1, -1 };

static void release_cb(struct xs_handle *h, const char *path,
		       const char *token, void *arg)
{
	char c = 1;

	/* a full pipe already holds a wake-up */
	if (write(monitor_pipe[1], &c, 1) < 0)
		return;
}

/* 1 while @domid exists in hv, 0 once it is gone, <0 if hv is unreachable */
static int domain_alive(const char *rundir, pvio_domid_t domid)
{
	struct pvio_domain_info info;
	struct pvio_hv *hv;
	int rc = pvio_hv_open(rundir, &hv);

	if (rc)
		return rc;
	rc = pvio_domain_info(hv, domid, &info);
	pvio_hv_close(hv);
	if (rc == -ESRCH || rc == -ENOENT)
		return 0;
	return rc < 0 ? rc : 1;
}

static void monitor_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void monitor_log(const char *fmt, ...)
{
	char ts[32];
	time_t now = time(NULL);
	struct tm tm;
	va_list ap;

	strftime(ts, sizeof(ts), "%H:%M:%S", localtime_r(&now, &tm));
	fprintf(stderr, "%s pvio-monitor: ", ts);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void __attribute__((noreturn)) monitor_run(const char *rundir,
						  pvio_domid_t domid)
{
	struct xs_handle *xs = NULL;
	char sock[PATH_MAX + 16];
	int alive;

	snprintf(sock, sizeof(sock), "%s/store.sock", rundir);
	if (pipe2(monitor_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
		_exit(1);
	if (!xs_open(sock, &xs) &&
	    xs_watch(xs, "@releaseDomain", "pvio-monitor", release_cb, NULL))
		monitor_log("domain %u: no @releaseDomain watch, polling hv", domid);
	monitor_log("watching domain %u", domid);
	for (;;) {
		struct pollfd p = { .fd = monitor_pipe[0], .events = POLLIN };
		char buf[64];

		alive = domain_alive(rundir, domid);
		if (alive <= 0)
			break;
		if (poll(&p, 1, MONITOR_POLL_MS) > 0)
			while (read(monitor_pipe[0], buf, sizeof(buf)) > 0)
				;
	}
	if (alive < 0)
		monitor_log("domain %u: pvio-hv is gone (%s)", domid,
			    strerror(-alive));
	else
		monitor_log("domain %u is gone: removing its devices and store nodes",
			    domid);
	/* each class's own detach: backends close, block scripts' remove */
	for (struct pvio_devclass *dc = pvio_devclass_first(); dc; dc = dc->next)
		if (dc->detach_all)
			dc->detach_all(rundir, domid);
	if (xs) {
		xs_unwatch(xs, "@releaseDomain", "pvio-monitor");
		if (pvio_domstore_remove(xs, domid) < 0)
			monitor_log("domain %u: store cleanup incomplete", domid);
		xs_close(xs);
	} else {
		pvio_domstore_cleanup(rundir, domid);
	}
	/* the logs stay for post-mortems; the pid file goes */
	{
		char pidf[PATH_MAX + 64];

		snprintf(pidf, sizeof(pidf), "%s/vm-%u/monitor.pid", rundir,
			 domid);
		unlink(pidf);
	}
	_exit(0);
}

int pvio_domstore_monitor(const char *rundir, pvio_domid_t domid)
{
	char log[PATH_MAX + 32], dir[PATH_MAX];
	pid_t pid;

	snprintf(dir, sizeof(dir), "%s", pvio_rundir(rundir));
	/* a VM's dir is hv's; a process domain's is made here */
	snprintf(log, sizeof(log), "%s/vm-%u", dir, domid);
	if (mkdir(log, 0700) < 0 && errno != EEXIST)
		return -errno;
	snprintf(log, sizeof(log), "%s/vm-%u/monitor.log", dir, domid);
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int fd, nul;

		/*
		 * Nothing of the caller's: a QMP connection or a listening
		 * socket held here would stay busy for the VM's lifetime.
		 */
		close_range(3, ~0u, 0);
		fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		nul = open("/dev/null", O_RDWR | O_CLOEXEC);

		/* outlive our parent and its terminal, like the daemons */
		setsid();
		signal(SIGHUP, SIG_IGN);
		if (nul >= 0) {
			dup2(nul, 0);
			dup2(fd >= 0 ? fd : nul, 1);
			dup2(fd >= 0 ? fd : nul, 2);
		}
		/* a second fork: nobody has to reap us */
		pid = fork();
		if (pid != 0)
			_exit(pid < 0 ? 1 : 0);
		snprintf(log, sizeof(log), "%s/vm-%u/monitor.pid", dir, domid);
		fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd >= 0) {
			dprintf(fd, "%d\n", (int)getpid());
			close(fd);
		}
		monitor_run(dir, domid);
	}
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	return 0;
}
