// SPDX-License-Identifier: MIT
/*
 * pvio block-attach / block-detach / block-list, and the "disk" device
 * class that `pvio create` hands every `disk = [...]` entry to. Writes the
 * frontend and backend vbd dirs exactly as xl does, in one transaction.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "pvio/blkif.h"
#include "pvio/libpvio.h"
#include "pvio/xenbus.h"
#include "pvio_cmd.h"
#include "pvio_domstore.h"
#include "xlcfg/xlcfg.h"

#define VBD_DETACH_TIMEOUT_MS	10000

int xlcfg_domain_resolve(const char *rundir, const char *name,
			 pvio_domid_t *domid)
{
	struct pvio_domain_info *list = NULL;
	struct pvio_hv *hv;
	unsigned int n = 0;
	char *end;
	unsigned long v = strtoul(name, &end, 10);
	int rc;

	rc = pvio_hv_open(rundir, &hv);
	if (rc) {
		fprintf(stderr, "pvio: cannot reach pvio-hv in %s: %s\n",
			pvio_rundir(rundir), strerror(-rc));
		return rc;
	}
	rc = pvio_domain_list(hv, &list, &n);
	pvio_hv_close(hv);
	if (rc) {
		fprintf(stderr, "pvio: listing domains: %s\n", strerror(-rc));
		return rc;
	}
	rc = -ENOENT;
	for (unsigned int i = 0; i < n; i++) {
		if ((*name && !*end && list[i].domid == v) ||
		    !strcmp(list[i].name, name)) {
			*domid = list[i].domid;
			rc = 0;
			break;
		}
	}
	free(list);
	if (rc)
		fprintf(stderr, "pvio: no domain '%s'\n", name);
	return rc;
}

struct attach_arg {
	const struct xlcfg_disk *d;
	pvio_domid_t domid;
	char fe[128], be[128];
	const char *target;
	bool in_use;
};

static int wr(struct xs_handle *h, xs_transaction_t t, const char *dir,
	      const char *key, const char *val)
{
	char path[300];

	snprintf(path, sizeof(path), "%s/%s", dir, key);
	return xs_write(h, t, path, val, strlen(val));
}

static int attach_txn(struct xs_handle *h, xs_transaction_t t, void *arg)
{
	struct attach_arg *a = arg;
	const struct xlcfg_disk *d = a->d;
	/* xl: the frontend dir belongs to the guest, dom0 may read */
	struct xs_perm fe_perms[2] = { { a->domid, XS_PERM_NONE },
				       { 0, XS_PERM_READ } };
	/* the backend dir belongs to dom0, the guest may read */
	struct xs_perm be_perms[2] = { { 0, XS_PERM_NONE },
				       { a->domid, XS_PERM_READ } };
	char num[32], *v = NULL;
	int rc;

	a->in_use = false;
	if (!xs_read(h, t, a->fe, &v, NULL) || !xs_read(h, t, a->be, &v, NULL)) {
		free(v);
		a->in_use = true;
		return -EEXIST;
	}
	snprintf(num, sizeof(num), "%u", a->domid);

	/*
	 * As libxl: the domain's own dir and its device/ and device/vbd dirs
	 * belong to dom0 and the domain may read them (so that it can list
	 * its disks); made here if the toolstack has not made them yet.
	 */
	{
		char dir[96];
		struct xs_perm ro[2] = { { 0, XS_PERM_NONE },
					 { a->domid, XS_PERM_READ } };
		static const char *const sub[] = { "", "/device", "/device/vbd" };

		for (unsigned int i = 0; i < 3; i++) {
			snprintf(dir, sizeof(dir), "/local/domain/%u%s", a->domid,
				 sub[i]);
			if (!xs_read(h, t, dir, &v, NULL)) {
				free(v);
				continue;
			}
			rc = xs_mkdir(h, t, dir);
			if (!rc)
				rc = xs_set_perms(h, t, dir, ro, 2);
			if (rc)
				return rc;
		}
	}

	rc = xs_mkdir(h, t, a->be);
	if (!rc)
		rc = xs_set_perms(h, t, a->be, be_perms, 2);
	if (!rc)
		rc = wr(h, t, a->be, "frontend", a->fe);
	if (!rc)
		rc = wr(h, t, a->be, "frontend-id", num);
	if (!rc)
		rc = wr(h, t, a->be, "params", a->target);
	if (!rc)
		rc = wr(h, t, a->be, "type", d->type);
	if (!rc)
		rc = wr(h, t, a->be, "mode", d->readonly ? "r" : "w");
	if (!rc)
		rc = wr(h, t, a->be, "dev", d->vdev);
	if (!rc)
		rc = wr(h, t, a->be, "device-type", d->cdrom ? "cdrom" : "disk");
	if (!rc)
		rc = wr(h, t, a->be, "removable", d->cdrom ? "1" : "0");
	if (!rc)
		rc = wr(h, t, a->be, "bootable", "1");
	if (!rc)
		rc = wr(h, t, a->be, "online", "1");
	if (!rc)
		rc = wr(h, t, a->be, "discard-enable", d->discard == 0 ? "0" : "1");
	if (!rc && d->script[0])
		rc = wr(h, t, a->be, "script", d->script);
	if (!rc && d->direct_io_safe)
		rc = wr(h, t, a->be, "direct-io-safe", "1");
	if (!rc && d->engine[0])
		rc = wr(h, t, a->be, "pvio-engine", d->engine);
	if (!rc && d->sector_size) {
		snprintf(num, sizeof(num), "%u", d->sector_size);
		rc = wr(h, t, a->be, "pvio-sector-size", num);
	}
	if (!rc)
		rc = wr(h, t, a->be, "state", "1");

	if (!rc)
		rc = xs_mkdir(h, t, a->fe);
	if (!rc)
		rc = xs_set_perms(h, t, a->fe, fe_perms, 2);
	if (!rc)
		rc = wr(h, t, a->fe, "backend", a->be);
	if (!rc)
		rc = wr(h, t, a->fe, "backend-id", "0");
	if (!rc) {
		snprintf(num, sizeof(num), "%u", d->vdev_num);
		rc = wr(h, t, a->fe, "virtual-device", num);
	}
	if (!rc)
		rc = wr(h, t, a->fe, "device-type", d->cdrom ? "cdrom" : "disk");
	if (!rc && d->trusted >= 0)
		rc = wr(h, t, a->fe, "trusted", d->trusted ? "1" : "0");
	if (!rc)
		rc = wr(h, t, a->fe, "state", "1");
	return rc;
}

static json_t *str_or_null(const char *s)
{
	return *s ? json_string(s) : json_null();
}

/* A parsed disk as `pvio create -n` shows it. */
static json_t *disk_json(const struct xlcfg_disk *d)
{
	return json_pack("{s:s, s:s, s:s, s:i, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:b, s:o, s:o, s:i}",
			 "target", d->target,
			 "format", d->format,
			 "vdev", d->vdev,
			 "vdev-number", (int)d->vdev_num,
			 "access", d->readonly ? "ro" : "rw",
			 "devtype", d->cdrom ? "cdrom" : "disk",
			 "backendtype", str_or_null(d->backendtype),
			 "specification", str_or_null(d->specification),
			 "backend", str_or_null(d->backend),
			 "script", str_or_null(d->script),
			 "discard", d->discard < 0 ? json_null() :
				    json_boolean(d->discard),
			 "direct-io-safe", d->direct_io_safe,
			 "trusted", d->trusted < 0 ? json_null() :
				    json_boolean(d->trusted),
			 "pvio-engine", str_or_null(d->engine),
			 "pvio-sector-size", (int)d->sector_size);
}

static int disk_describe(const char *spec, json_t **out, char *err,
			 size_t errlen)
{
	struct xlcfg_disk d;
	int rc = xlcfg_disk_parse(spec, &d, err, errlen);

	*out = NULL;
	if (rc)
		return rc;
	*out = disk_json(&d);
	if (!*out)
		return -ENOMEM;
	rc = xlcfg_disk_check(&d, err, errlen);
	if (rc)
		json_object_set_new(*out, "refused", json_string(err));
	return rc;
}

/*
 * A block hotplug script, as libxl runs them: SCRIPT add|remove with
 * XENBUS_TYPE=vbd, XENBUS_PATH (the backend dir), XENBUS_BASE_PATH and
 * script in the environment; it reads "params" from the backend dir and
 * writes "physical-device-path" (and "physical-device", major:minor in
 * hex) there, or "hotplug-error". Found like vif scripts: an absolute
 * path, else $PVIO_SCRIPT_DIR, the build tree's scripts/, /etc/pvio/scripts,
 * /etc/xen/scripts. 0 or -errno (message printed).
 */
static int block_script_run(const char *rundir, const char *script,
			    const char *be, const char *action)
{
	char path[PATH_MAX + 300], exe[PATH_MAX + 32], inst[PATH_MAX + 64];
	char sock[PATH_MAX];
	const char *dirs[5] = { getenv("PVIO_SCRIPT_DIR"), NULL, NULL,
				"/etc/pvio/scripts", "/etc/xen/scripts" };
	int status = -1;
	ssize_t n;
	pid_t pid;

	path[0] = 0;
	if (script[0] == '/') {
		snprintf(path, sizeof(path), "%s", script);
	} else if (!strchr(script, '/')) {
		n = readlink("/proc/self/exe", exe, PATH_MAX - 1);
		if (n > 0) {
			/* the build tree's scripts/, or PREFIX/lib/pvio/scripts */
			exe[n] = 0;
			*strrchr(exe, '/') = 0;
			snprintf(inst, sizeof(inst), "%s/../lib/pvio/scripts", exe);
			strncat(exe, "/../../scripts", sizeof(exe) - strlen(exe) - 1);
			dirs[1] = exe;
			dirs[2] = inst;
		}
		for (unsigned int i = 0; i < 5; i++) {
			if (!dirs[i])
				continue;
			snprintf(path, sizeof(path), "%s/%s", dirs[i], script);
			if (!access(path, X_OK))
				break;
			path[0] = 0;
		}
	}
	if (!path[0] || access(path, X_OK)) {
		fprintf(stderr, "pvio: block script '%s' not found (an absolute path, or a name in $PVIO_SCRIPT_DIR, /etc/pvio/scripts or /etc/xen/scripts)\n",
			script);
		return -ENOENT;
	}
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		snprintf(sock, sizeof(sock), "%s/store.sock", pvio_rundir(rundir));
		setenv("script", path, 1);
		setenv("XENBUS_TYPE", "vbd", 1);
		setenv("XENBUS_PATH", be, 1);
		setenv("XENBUS_BASE_PATH", "backend", 1);
		setenv("PVIO_RUNDIR", pvio_rundir(rundir), 1);
		/* Xen's xenstore-* tools inside the script reach our store */
		if (!getenv("XENSTORED_PATH"))
			setenv("XENSTORED_PATH", sock, 1);
		execl(path, path, action, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		fprintf(stderr, "pvio: block script %s %s for %s failed (status %d)\n",
			path, action, be, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		return -EIO;
	}
	return 0;
}

static int vbd_remove(struct xs_handle *xs, const char *rundir,
		      pvio_domid_t domid, uint32_t vdev, int timeout_ms,
		      bool quiet);

/* Attach one disk spec to @domid: 0 or -errno, message printed. */
static int disk_attach(const char *rundir, uint16_t domid, const char *spec)
{
	struct attach_arg a = { .domid = domid };
	struct xlcfg_disk d;
	struct xs_handle *xs;
	char err[512], target[PATH_MAX];
	struct stat st;
	int rc;

	rc = xlcfg_disk_parse(spec, &d, err, sizeof(err));
	if (!rc)
		rc = xlcfg_disk_check(&d, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "pvio: %s\n", err);
		return rc;
	}
	if (d.script[0]) {
		/* the target is the script's to interpret, not a path */
		snprintf(d.type, sizeof(d.type), "phy");
		snprintf(target, sizeof(target), "%s", d.target);
		goto write;
	}
	if (stat(d.target, &st)) {
		rc = -errno;
		fprintf(stderr, "pvio: disk target %s: %s\n", d.target,
			strerror(errno));
		return rc;
	}
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
		fprintf(stderr, "pvio: disk target %s is neither a file nor a block device\n",
			d.target);
		return -EINVAL;
	}
	strcpy(d.type, S_ISBLK(st.st_mode) ? "phy" : "file");
	/* the backend resolves nothing: hand it an absolute path */
	if (!realpath(d.target, target)) {
		rc = -errno;
		fprintf(stderr, "pvio: disk target %s: %s\n", d.target,
			strerror(errno));
		return rc;
	}
write:
	a.d = &d;
	a.target = target;
	snprintf(a.fe, sizeof(a.fe), "/local/domain/%u/device/vbd/%u", domid,
		 d.vdev_num);
	snprintf(a.be, sizeof(a.be), "/local/domain/0/backend/vbd/%u/%u", domid,
		 d.vdev_num);
	rc = pvio_domstore_open(rundir, &xs);
	if (rc)
		return rc;
	rc = xs_transaction_run(xs, attach_txn, &a);
	if (rc == -EEXIST && a.in_use) {
		fprintf(stderr, "pvio: vdev %s (%u) is already in use on domain %u\n",
			d.vdev, d.vdev_num, domid);
	} else if (rc) {
		fprintf(stderr, "pvio: writing the vbd dirs of domain %u: %s\n",
			domid, strerror(-rc));
	} else if (d.script[0]) {
		rc = block_script_run(rundir, d.script, a.be, "add");
		if (rc) {
			vbd_remove(xs, rundir, domid, d.vdev_num, 3000, true);
		}
	}
	xs_close(xs);
	return rc;
}

static int rm_txn(struct xs_handle *h, xs_transaction_t t, void *arg)
{
	struct attach_arg *a = arg;
	int rc = xs_rm(h, t, a->be);

	if (rc == -ENOENT)
		rc = 0;
	if (!rc) {
		rc = xs_rm(h, t, a->fe);
		if (rc == -ENOENT)
			rc = 0;
	}
	return rc;
}

/*
 * Ask the backend to let go (online = 0, state Closing as libxl does),
 * wait for Closed, then remove both dirs.
 */
static int vbd_remove(struct xs_handle *xs, const char *rundir,
		      pvio_domid_t domid, uint32_t vdev, int timeout_ms,
		      bool quiet)
{
	struct attach_arg a = { .domid = domid };
	char path[200], *script = NULL;
	int st;

	snprintf(a.fe, sizeof(a.fe), "/local/domain/%u/device/vbd/%u", domid, vdev);
	snprintf(a.be, sizeof(a.be), "/local/domain/0/backend/vbd/%u/%u", domid, vdev);
	snprintf(path, sizeof(path), "%s/online", a.be);
	/* never create the node by writing to it: it must exist already */
	if (xs_read(xs, XS_TXN_NULL, a.be, NULL, NULL) ||
	    xs_write(xs, XS_TXN_NULL, path, "0", 1)) {
		if (!quiet)
			fprintf(stderr, "pvio: no vbd %u on domain %u\n", vdev, domid);
		return -ENOENT;
	}
	st = xenbus_read_state(xs, a.be);
	if (st == XenbusStateConnected || st == XenbusStateInitWait ||
	    st == XenbusStateClosing) {
		st = xenbus_wait_state(xs, a.be,
				       XENBUS_STATE_BIT(XenbusStateClosed) |
				       XENBUS_STATE_BIT(XenbusStateUnknown),
				       timeout_ms);
		if (st < 0 && !quiet)
			fprintf(stderr, "pvio: backend of vbd %u did not close in %d ms; removing anyway\n",
				vdev, timeout_ms);
	}
	/* the hotplug script undoes its "add" once the backend let go */
	snprintf(path, sizeof(path), "%s/script", a.be);
	if (!xs_read(xs, XS_TXN_NULL, path, &script, NULL)) {
		block_script_run(rundir, script, a.be, "remove");
		free(script);
	}
	return xs_transaction_run(xs, rm_txn, &a);
}

static int list_vbds(struct xs_handle *xs, pvio_domid_t domid, char ***names,
		     unsigned int *n)
{
	char dir[64];
	int rc;

	snprintf(dir, sizeof(dir), "/local/domain/0/backend/vbd/%u", domid);
	rc = xs_directory(xs, XS_TXN_NULL, dir, names, n);
	if (rc == -ENOENT) {
		*names = NULL;
		*n = 0;
		rc = 0;
	}
	return rc;
}

static int disk_detach_all(const char *rundir, uint16_t domid)
{
	struct xs_handle *xs;
	char **names;
	unsigned int n;
	int rc = pvio_domstore_open(rundir, &xs);

	if (rc)
		return rc;
	rc = list_vbds(xs, domid, &names, &n);
	for (unsigned int i = 0; !rc && i < n; i++)
		vbd_remove(xs, rundir, domid, (uint32_t)strtoul(names[i], NULL, 10), 3000,
			   true);
	if (!rc) {
		char dir[64];

		xs_free_list(names, n);
		snprintf(dir, sizeof(dir), "/local/domain/0/backend/vbd/%u", domid);
		xs_rm(xs, XS_TXN_NULL, dir);
	}
	xs_close(xs);
	return rc;
}

static struct pvio_devclass disk_class = {
	.cfg_key = "disk",
	.attach = disk_attach,
	.detach_all = disk_detach_all,
	.describe = disk_describe,
};
PVIO_DEVCLASS(disk_class);

/* ---- verbs ---- */

static struct pvio_cmd attach_cmd, detach_cmd, list_cmd;

static int run_attach(int argc, char **argv)
{
	pvio_domid_t domid;
	char *spec;
	size_t len = 0;
	int rc;
	int opt_rc = pvio_args_plain(&attach_cmd, &argc, &argv);

	if (opt_rc >= 0)
		return opt_rc;

	if (argc < 3)
		return pvio_cmd_usage(&attach_cmd);
	if (xlcfg_domain_resolve(pvio_opt_rundir, argv[1], &domid))
		return 1;
	/* xl accepts the spec split over several arguments: join with ',' */
	for (int i = 2; i < argc; i++)
		len += strlen(argv[i]) + 1;
	spec = calloc(1, len + 1);
	if (!spec)
		return 1;
	for (int i = 2; i < argc; i++) {
		if (i > 2)
			strcat(spec, ",");
		strcat(spec, argv[i]);
	}
	rc = disk_attach(pvio_opt_rundir, domid, spec);
	free(spec);
	return rc ? 1 : 0;
}

static int run_detach(int argc, char **argv)
{
	struct xs_handle *xs;
	pvio_domid_t domid;
	uint32_t vdev;
	int rc;
	int opt_rc = pvio_args_plain(&detach_cmd, &argc, &argv);

	if (opt_rc >= 0)
		return opt_rc;

	if (argc != 3)
		return pvio_cmd_usage(&detach_cmd);
	if (xlcfg_vdev_parse(argv[2], &vdev)) {
		fprintf(stderr, "pvio: bad vdev '%s' (e.g. xvdb or 51728)\n", argv[2]);
		return 1;
	}
	if (xlcfg_domain_resolve(pvio_opt_rundir, argv[1], &domid))
		return 1;
	if (pvio_domstore_open(pvio_opt_rundir, &xs))
		return 1;
	rc = vbd_remove(xs, pvio_opt_rundir, domid, vdev, VBD_DETACH_TIMEOUT_MS,
			false);
	xs_close(xs);
	return rc ? 1 : 0;
}

static int rd(struct xs_handle *xs, const char *dir, const char *key,
	      char *buf, size_t size)
{
	char path[300], *v;

	snprintf(path, sizeof(path), "%s/%s", dir, key);
	if (xs_read(xs, XS_TXN_NULL, path, &v, NULL)) {
		snprintf(buf, size, "-1");
		return -1;
	}
	snprintf(buf, size, "%s", v);
	free(v);
	return 0;
}

static int run_list(int argc, char **argv)
{
	struct xs_handle *xs;
	pvio_domid_t domid;
	char **names;
	unsigned int n;
	int rc;
	int opt_rc = pvio_args_plain(&list_cmd, &argc, &argv);

	if (opt_rc >= 0)
		return opt_rc;

	if (argc != 2)
		return pvio_cmd_usage(&list_cmd);
	if (xlcfg_domain_resolve(pvio_opt_rundir, argv[1], &domid))
		return 1;
	if (pvio_domstore_open(pvio_opt_rundir, &xs))
		return 1;
	rc = list_vbds(xs, domid, &names, &n);
	if (rc) {
		fprintf(stderr, "pvio: listing vbds of domain %u: %s\n", domid,
			strerror(-rc));
		xs_close(xs);
		return 1;
	}
	/* xl's layout, which scripts parse */
	printf("%-5s %-3s %-6s %-5s %-6s %-8s %-30s\n", "Vdev", "BE", "handle",
	       "state", "evt-ch", "ring-ref", "BE-path");
	for (unsigned int i = 0; i < n; i++) {
		char be[128], fe[128], st[16], evt[16], ref[16];

		snprintf(be, sizeof(be), "/local/domain/0/backend/vbd/%u/%s",
			 domid, names[i]);
		snprintf(fe, sizeof(fe), "/local/domain/%u/device/vbd/%s", domid,
			 names[i]);
		rd(xs, fe, "state", st, sizeof(st));
		if (rd(xs, fe, "event-channel", evt, sizeof(evt)))
			rd(xs, fe, "queue-0/event-channel", evt, sizeof(evt));
		if (rd(xs, fe, "ring-ref", ref, sizeof(ref)) &&
		    rd(xs, fe, "ring-ref0", ref, sizeof(ref)))
			rd(xs, fe, "queue-0/ring-ref", ref, sizeof(ref));
		printf("%-5s %-3d %-6s %-5s %-6s %-8s %-30s\n", names[i], 0,
		       names[i], st, evt, ref, be);
	}
	xs_free_list(names, n);
	xs_close(xs);
	return 0;
}

static struct pvio_cmd attach_cmd = {
	.name = "block-attach",
	.usage = "DOMAIN DISKSPEC  (e.g. '/var/tmp/d.img,raw,xvdb,rw')",
	.help = "attach a virtual disk to a domain",
	.run = run_attach,
};
PVIO_CMD(attach_cmd);

static struct pvio_cmd detach_cmd = {
	.name = "block-detach",
	.usage = "DOMAIN VDEV",
	.help = "detach a virtual disk from a domain",
	.run = run_detach,
};
PVIO_CMD(detach_cmd);

static struct pvio_cmd list_cmd = {
	.name = "block-list",
	.usage = "DOMAIN",
	.help = "list the virtual disks of a domain",
	.run = run_list,
};
PVIO_CMD(list_cmd);
