// SPDX-License-Identifier: MIT
/*
 * The parts of save, restore and migration that do not depend on where
 * the stream goes: the domain state pvio keeps beside QEMU's stream, the
 * guest's suspend through control/shutdown, QEMU's migration monitor, the
 * pages pvio wrote behind QEMU's back (the dirty log), and bringing a
 * received domain to life.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "pvio/hypercall.h"
#include "pvio/libpvio.h"
#include "pvio/xenbus.h"
#include "../hv/hv_vm.h"
#include "migrate.h"
#include "pvio_cmd.h"
#include "pvio_domstore.h"


long long mig_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* ---- domain state ---- */

static int put(char *out, size_t len, size_t *used, const char *key,
	       const char *val)
{
	int n;

	/* values are single lines: hv refuses control characters */
	if (strchr(val, '\n'))
		return -EINVAL;
	n = snprintf(out + *used, len - *used, "%s=%s\n", key, val);
	if (n < 0 || (size_t)n >= len - *used)
		return -E2BIG;
	*used += (size_t)n;
	return 0;
}

static void be_key(struct xs_handle *xs, const char *dir, const char *key,
		   char *out, size_t len)
{
	char path[256], *v = NULL;
	size_t l;

	out[0] = 0;
	snprintf(path, sizeof(path), "%s/%s", dir, key);
	if (!xs_read(xs, XS_TXN_NULL, path, &v, &l))
		snprintf(out, len, "%s", v);
	free(v);
}

/* One line per device of @type, as an xl spec rebuilt from the backend. */
static int state_devices(struct xs_handle *xs, pvio_domid_t domid,
			 const char *type, char *out, size_t len, size_t *used)
{
	char dir[128], be[192], spec[1024];
	char params[512], mode[8], dev[32], mac[32], bridge[64], mtu[16];
	char **ids = NULL;
	unsigned int n = 0;
	int rc = 0;

	snprintf(dir, sizeof(dir), "/local/domain/0/backend/%s/%u", type, domid);
	if (xs_directory(xs, XS_TXN_NULL, dir, &ids, &n))
		return 0;	/* no device of this type */
	for (unsigned int i = 0; i < n && !rc; i++) {
		snprintf(be, sizeof(be), "%s/%s", dir, ids[i]);
		if (!strcmp(type, "vbd")) {
			be_key(xs, be, "params", params, sizeof(params));
			be_key(xs, be, "mode", mode, sizeof(mode));
			be_key(xs, be, "dev", dev, sizeof(dev));
			if (!params[0] || !dev[0])
				continue;
			snprintf(spec, sizeof(spec),
				 "format=raw,vdev=%s,access=%s,target=%s", dev,
				 mode[0] == 'r' ? "ro" : "rw", params);
			rc = put(out, len, used, "disk", spec);
		} else {
			be_key(xs, be, "mac", mac, sizeof(mac));
			be_key(xs, be, "bridge", bridge, sizeof(bridge));
			be_key(xs, be, "mtu", mtu, sizeof(mtu));
			snprintf(spec, sizeof(spec), "devid=%s%s%s%s%s%s%s", ids[i],
				 mac[0] ? ",mac=" : "", mac,
				 bridge[0] ? ",bridge=" : "", bridge,
				 mtu[0] ? ",mtu=" : "", mtu);
			rc = put(out, len, used, "vif", spec);
		}
	}
	xs_free_list(ids, n);
	return rc;
}

int mig_state_collect(const char *rundir, pvio_domid_t domid, char *out,
		      size_t len)
{
	struct pvio_domain_config cfg;
	struct xs_handle *xs;
	struct pvio_hv *hv;
	char num[32], *w, *save;
	size_t used = 0;
	int rc;

	rc = pvio_hv_open(rundir, &hv);
	if (rc)
		return rc;
	rc = pvio_domain_config_get(hv, domid, &cfg);
	pvio_hv_close(hv);
	if (rc)
		return rc;
	if (cfg.type != PVIO_DOMTYPE_VM)
		return -EOPNOTSUPP;
	rc = put(out, len, &used, "name", cfg.name);
	rc = rc ?: put(out, len, &used, "kernel", cfg.kernel);
	rc = rc ?: put(out, len, &used, "ramdisk", cfg.ramdisk);
	rc = rc ?: put(out, len, &used, "cmdline", cfg.cmdline);
	snprintf(num, sizeof(num), "%llu", (unsigned long long)cfg.mem_bytes);
	rc = rc ?: put(out, len, &used, "mem_bytes", num);
	snprintf(num, sizeof(num), "%u", cfg.vcpus);
	rc = rc ?: put(out, len, &used, "vcpus", num);
	/* a guest moved while it runs keeps its id (if free there) */
	snprintf(num, sizeof(num), "%u", domid);
	rc = rc ?: put(out, len, &used, "domid", num);
	for (w = strtok_r(cfg.dm_args, "\n", &save); w && !rc;
	     w = strtok_r(NULL, "\n", &save))
		rc = put(out, len, &used, "dm_arg", w);
	if (rc)
		return rc;
	rc = pvio_domstore_open(rundir, &xs);
	if (rc)
		return rc;
	rc = state_devices(xs, domid, "vbd", out, len, &used);
	rc = rc ?: state_devices(xs, domid, "vif", out, len, &used);
	xs_close(xs);
	return rc;
}

/* Copy @v into @dst (@len bytes), refusing what does not fit. */
static int cfg_str(char *dst, size_t len, const char *v)
{
	if (strlen(v) >= len)
		return -E2BIG;
	strcpy(dst, v);
	return 0;
}

static int state_config(const char *state, struct pvio_domain_config *cfg)
{
	char *copy = strdup(state), *line, *save;
	size_t dm = 0;
	int rc = 0;

	if (!copy)
		return -ENOMEM;
	memset(cfg, 0, sizeof(*cfg));
	cfg->type = PVIO_DOMTYPE_VM;
	for (line = strtok_r(copy, "\n", &save); line && !rc;
	     line = strtok_r(NULL, "\n", &save)) {
		char *v = strchr(line, '=');

		if (!v)
			continue;
		*v++ = 0;
		if (!strcmp(line, "name"))
			rc = cfg_str(cfg->name, sizeof(cfg->name), v);
		else if (!strcmp(line, "kernel"))
			rc = cfg_str(cfg->kernel, sizeof(cfg->kernel), v);
		else if (!strcmp(line, "ramdisk"))
			rc = cfg_str(cfg->ramdisk, sizeof(cfg->ramdisk), v);
		else if (!strcmp(line, "cmdline"))
			rc = cfg_str(cfg->cmdline, sizeof(cfg->cmdline), v);
		else if (!strcmp(line, "mem_bytes"))
			cfg->mem_bytes = strtoull(v, NULL, 10);
		else if (!strcmp(line, "vcpus"))
			cfg->vcpus = (uint32_t)strtoul(v, NULL, 10);
		else if (!strcmp(line, "domid"))
			cfg->want_domid = (uint32_t)strtoul(v, NULL, 10);
		else if (!strcmp(line, "dm_arg")) {
			size_t l = strlen(v);

			if (dm + l + 2 > sizeof(cfg->dm_args)) {
				rc = -E2BIG;
				break;
			}
			if (dm)
				cfg->dm_args[dm++] = '\n';
			memcpy(cfg->dm_args + dm, v, l + 1);
			dm += l;
		}
	}
	free(copy);
	if (!rc && (!cfg->name[0] || !cfg->kernel[0] || !cfg->mem_bytes))
		rc = -EINVAL;
	return rc;
}

static int state_attach(const char *rundir, pvio_domid_t domid,
			const char *state)
{
	char *copy = strdup(state), *line, *save;
	int rc = 0;

	if (!copy)
		return -ENOMEM;
	for (line = strtok_r(copy, "\n", &save); line && !rc;
	     line = strtok_r(NULL, "\n", &save)) {
		char *v = strchr(line, '=');
		struct pvio_devclass *dc;

		if (!v)
			continue;
		*v++ = 0;
		if (strcmp(line, "disk") && strcmp(line, "vif"))
			continue;
		dc = pvio_devclass_find(line);
		if (!dc) {
			rc = -ENOTSUP;
			break;
		}
		rc = dc->attach(rundir, domid, v);
		if (rc)
			fprintf(stderr, "pvio: %s '%s' cannot be attached here\n",
				line, v);
	}
	free(copy);
	return rc;
}

void mig_domain_remove(const char *rundir, pvio_domid_t domid)
{
	struct pvio_hv *hv;

	for (struct pvio_devclass *dc = pvio_devclass_first(); dc; dc = dc->next)
		if (dc->detach_all)
			dc->detach_all(rundir, domid);
	if (!pvio_hv_open(rundir, &hv)) {
		pvio_domain_destroy(hv, domid);
		pvio_hv_close(hv);
	}
	pvio_domstore_cleanup(rundir, domid);
}

int mig_state_create(const char *rundir, const char *state, bool keep_id,
		     pvio_domid_t *domid)
{
	struct pvio_domain_config cfg;
	struct pvio_domain_info info;
	struct pvio_domstore ds = { 0 };
	struct xs_handle *xs;
	struct pvio_hv *hv;
	int rc;

	rc = state_config(state, &cfg);
	if (rc) {
		fprintf(stderr, "pvio: the saved domain state is unusable: %s\n",
			strerror(-rc));
		return rc;
	}
	cfg.flags = PVIO_DOMCFG_INCOMING;
	/* hv takes the next free id if this one is in use (or out of range) */
	if (!keep_id || cfg.want_domid >= PVIO_DOMID_FIRST_RESERVED)
		cfg.want_domid = 0;
	rc = pvio_hv_open(rundir, &hv);
	if (rc) {
		fprintf(stderr, "pvio: cannot reach pvio-hv: %s\n", strerror(-rc));
		return rc;
	}
	/*
	 * The id is free in hv: whatever the store still holds under it is
	 * a dead domain's (a destination killed in an earlier attempt leaves
	 * its nodes and backend dirs), not to be mistaken for the new one's.
	 */
	if (cfg.want_domid &&
	    pvio_domain_info(hv, (pvio_domid_t)cfg.want_domid, &info) == -ESRCH)
		mig_domain_remove(rundir, (pvio_domid_t)cfg.want_domid);
	rc = pvio_domain_create(hv, &cfg, domid);
	if (!rc)
		rc = pvio_domain_info(hv, *domid, &info);
	pvio_hv_close(hv);
	if (rc) {
		fprintf(stderr, "pvio: creating domain '%s': %s\n", cfg.name,
			strerror(-rc));
		return rc;
	}
	ds.domid = *domid;
	ds.name = cfg.name;
	ds.mem_kib = cfg.mem_bytes >> 10;
	ds.vcpus = cfg.vcpus;
	ds.store_port = info.store_port;
	rc = pvio_domstore_open(rundir, &xs);
	if (!rc) {
		rc = pvio_domstore_make(xs, &ds);
		xs_close(xs);
	}
	rc = rc ?: state_attach(rundir, *domid, state);
	if (rc)
		mig_domain_remove(rundir, *domid);
	return rc;
}

/* ---- QEMU's migration monitor ---- */

int mig_qmp_open(const char *rundir, pvio_domid_t domid, struct hv_qmp **q)
{
	char path[PATH_MAX];
	int rc;

	snprintf(path, sizeof(path), "%s/vm-%u/qmp-migrate.sock",
		 pvio_rundir(rundir), domid);
	rc = hv_qmp_connect(path, 5000, q);
	if (rc)
		fprintf(stderr, "pvio: domain %u: no migration monitor at %s: %s\n",
			domid, path, strerror(-rc));
	return rc;
}

int mig_qmp(struct hv_qmp *q, const char *fmt, ...)
{
	char json[1024], err[256];
	json_t *req, *args;
	const char *cmd;
	json_error_t jerr;
	va_list ap;
	int n, rc;

	va_start(ap, fmt);
	n = vsnprintf(json, sizeof(json), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(json))
		return -E2BIG;
	/* our own text: {"execute": CMD[, "arguments": {...}]} */
	req = json_loads(json, 0, &jerr);
	cmd = json_string_value(json_object_get(req, "execute"));
	args = json_object_get(req, "arguments");
	if (!cmd || (args && !json_is_object(args))) {
		json_decref(req);
		return -EINVAL;
	}
	rc = hv_qmp_call(q, cmd, args, NULL, 0, err, sizeof(err));
	if (rc == -EIO)
		fprintf(stderr, "pvio: QEMU refused %s: %s\n", json, err);
	else if (rc)
		fprintf(stderr, "pvio: QMP %s: %s\n", cmd, err);
	json_decref(req);
	return rc;
}

static long long json_num(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_integer(v) ? (long long)json_integer_value(v) : -1;
}

static void json_str(json_t *o, const char *key, char *out, size_t len)
{
	const char *v = json_string_value(json_object_get(o, key));

	snprintf(out, len, "%s", v ? v : "");
}

int mig_qmp_progress(struct hv_qmp *q, struct mig_progress *pr, int timeout_ms)
{
	json_t *r = NULL, *ram;
	int rc;

	memset(pr, 0, sizeof(*pr));
	rc = hv_qmp_call(q, "query-migrate", NULL, &r, timeout_ms, NULL, 0);
	if (rc)
		return rc;
	ram = json_object_get(r, "ram");
	json_str(r, "status", pr->status, sizeof(pr->status));
	json_str(r, "error-desc", pr->error, sizeof(pr->error));
	pr->remaining = json_num(ram, "remaining");
	pr->transferred = json_num(ram, "transferred");
	pr->syncs = json_num(ram, "dirty-sync-count");
	pr->downtime = json_num(r, "downtime");
	pr->downtime_bytes = json_num(ram, "downtime-bytes");
	pr->total_ms = json_num(r, "total-time");
	json_decref(r);
	return 0;
}

bool mig_progress_final(const struct mig_progress *pr)
{
	return !strcmp(pr->status, "completed") ||
	       !strcmp(pr->status, "failed") ||
	       !strcmp(pr->status, "cancelled");
}

int mig_qmp_wait(struct hv_qmp *q, int timeout_ms, long long *qemu_downtime,
		 long long *downtime_bytes)
{
	long long end = mig_now_ms() + timeout_ms;
	struct mig_progress pr;
	int rc = -ETIMEDOUT, late = 0;

	while (mig_now_ms() < end) {
		rc = mig_qmp_progress(q, &pr, 0);
		if (rc)
			break;
		/*
		 * QEMU says completed a moment before it has worked out its
		 * downtime (0 until then): ask again for the figure.
		 */
		if (!strcmp(pr.status, "completed") && pr.downtime <= 0 &&
		    qemu_downtime && ++late < 50) {
			usleep(1000);
			continue;
		}
		if (!strcmp(pr.status, "completed")) {
			if (qemu_downtime)
				*qemu_downtime = pr.downtime;
			if (downtime_bytes)
				*downtime_bytes = pr.downtime_bytes;
			return 0;
		}
		if (mig_progress_final(&pr)) {
			fprintf(stderr, "pvio: QEMU's migration %s%s%s\n",
				pr.status, pr.error[0] ? ": " : "", pr.error);
			return -EIO;
		}
		rc = -ETIMEDOUT;
		usleep(2000);
	}
	return rc;
}

/* QEMU's run state ("running", "finish-migrate", ...) into @st. */
static int vm_status(struct hv_qmp *q, char *st, size_t len, int timeout_ms)
{
	json_t *r;
	int rc;

	st[0] = 0;
	rc = hv_qmp_call(q, "query-status", NULL, &r, timeout_ms, NULL, 0);
	if (rc)
		return rc;
	json_str(r, "status", st, len);
	json_decref(r);
	return 0;
}

int mig_vm_stopped(struct hv_qmp *q, int timeout_ms)
{
	char st[32];
	int rc;

	/* its STOP event may have come already: no need to ask */
	if (hv_qmp_event_wait(q, "STOP", 0, NULL) == 0)
		return 1;
	rc = vm_status(q, st, sizeof(st), timeout_ms);
	return rc ? rc : strcmp(st, "running") != 0;
}

int mig_source_continue(struct hv_qmp *q)
{
	long long end = mig_now_ms() + 10000;
	char st[32] = "";
	int rc;

	/* a migration still under way gives the VM back by itself */
	hv_qmp_call(q, "migrate_cancel", NULL, NULL, 0, NULL, 0);
	for (;;) {
		rc = vm_status(q, st, sizeof(st), 0);
		if (rc)
			return rc;
		if (!strcmp(st, "running"))
			return 0;
		/* stopped for the switch-over: wait until QEMU is done */
		if (strcmp(st, "finish-migrate") || mig_now_ms() > end)
			break;
		usleep(5000);
	}
	rc = mig_qmp(q, "{\"execute\": \"cont\"}");
	if (rc)
		fprintf(stderr, "pvio: the VM did not continue (state %s)\n", st);
	return rc;
}

/* ---- the guest's suspend ---- */

/*
 * Xen's suspend event channel: a guest that offers one (a port unbound for
 * dom0 in device/suspend/event-channel) is asked by a notification on it,
 * with no store round trip in the guest. True if it was rung; otherwise
 * the caller writes control/shutdown.
 */
static bool suspend_by_evtchn(struct xs_handle *xs, struct pvio_hv *hv,
			      pvio_domid_t domid)
{
	pvio_evtchn_port_t local;
	char path[96];
	long long port = 0;
	bool rung;

	snprintf(path, sizeof(path),
		 "/local/domain/%u/device/suspend/event-channel", domid);
	if (xs_read_int(xs, XS_TXN_NULL, path, &port) || port <= 0 ||
	    port >= PVIO_EVTCHN_MAX_PORTS)
		return false;
	if (pvio_evtchn_bind_interdomain(hv, domid, (pvio_evtchn_port_t)port,
					 &local))
		return false;
	rung = pvio_evtchn_notify(hv, local) == 0;
	pvio_evtchn_close(hv, local);
	return rung;
}

int mig_suspend_start(const char *rundir, pvio_domid_t domid)
{
	struct xs_handle *xs;
	struct pvio_hv *hv;
	char path[96];
	long long feat = 0;
	int rc;

	rc = pvio_domstore_open(rundir, &xs);
	if (rc)
		return rc;
	snprintf(path, sizeof(path), "/local/domain/%u/control/feature-suspend",
		 domid);
	if (xs_read_int(xs, XS_TXN_NULL, path, &feat) || feat != 1) {
		fprintf(stderr, "pvio: domain %u does not offer suspend (no pvio_core, or not up yet)\n",
			domid);
		xs_close(xs);
		return -EOPNOTSUPP;
	}
	rc = pvio_hv_open(rundir, &hv);
	if (rc) {
		xs_close(xs);
		return rc;
	}
	rc = pvio_domain_suspend_ctl(hv, domid, PVIO_SUSPEND_ARM);
	if (!rc && suspend_by_evtchn(xs, hv, domid))
		goto out;
	snprintf(path, sizeof(path), "/local/domain/%u/control/shutdown", domid);
	rc = rc ?: xs_write(xs, XS_TXN_NULL, path, "suspend", 7);
out:
	xs_close(xs);
	if (rc)
		pvio_domain_suspend_ctl(hv, domid, PVIO_SUSPEND_CANCEL);
	pvio_hv_close(hv);
	return rc;
}

int mig_suspended(struct pvio_hv *hv, pvio_domid_t domid)
{
	struct pvio_domain_info info;
	int rc;

	rc = pvio_domain_info(hv, domid, &info);
	if (rc)
		return rc;
	return (info.state & PVIO_DOMSTATE_SHUTDOWN) &&
	       info.shutdown_reason == PVIO_SHUTDOWN_SUSPEND;
}

int mig_suspend(const char *rundir, pvio_domid_t domid, int timeout_ms)
{
	long long end = mig_now_ms() + timeout_ms;
	struct pvio_hv *hv = NULL;
	int rc;

	/* one connection for the whole wait: hv also serves the guest */
	rc = pvio_hv_open(rundir, &hv);
	rc = rc ?: mig_suspend_start(rundir, domid);
	while (!rc) {
		rc = mig_suspended(hv, domid);
		if (rc == 1) {
			rc = 0;
			break;
		}
		if (!rc && mig_now_ms() > end) {
			fprintf(stderr, "pvio: domain %u did not suspend within %d ms\n",
				domid, timeout_ms);
			rc = -ETIMEDOUT;
		}
		if (rc) {
			mig_cancel(rundir, domid);
			break;
		}
		usleep(2000);
	}
	if (hv)
		pvio_hv_close(hv);
	return rc;
}

void mig_cancel(const char *rundir, pvio_domid_t domid)
{
	struct pvio_hv *hv;

	if (pvio_hv_open(rundir, &hv))
		return;
	pvio_domain_suspend_ctl(hv, domid, PVIO_SUSPEND_CANCEL);
	pvio_hv_close(hv);
}


/*
 * Call @fn with the dir of every device of @domid we serve: the guest's
 * (@fe: /local/domain/D/device/TYPE/ID) or the backend's, over one store
 * connection. Stops at the first non-zero return and returns it (or the
 * connection's error).
 */
int mig_each_device(const char *rundir, pvio_domid_t domid, bool fe,
		       int (*fn)(struct xs_handle *xs, const char *dir,
				 const char *type, const char *id, void *arg),
		       void *arg)
{
	struct xs_handle *xs;
	int rc;

	rc = pvio_domstore_open(rundir, &xs);
	if (rc)
		return rc;
	for (unsigned int t = 0; !rc && t < 2; t++) {
		char dir[128], path[192];
		char **ids = NULL;
		unsigned int n = 0;

		if (fe)
			snprintf(dir, sizeof(dir), "/local/domain/%u/device/%s",
				 domid, mig_dev_types[t]);
		else
			snprintf(dir, sizeof(dir),
				 "/local/domain/0/backend/%s/%u",
				 mig_dev_types[t], domid);
		if (xs_directory(xs, XS_TXN_NULL, dir, &ids, &n))
			continue;
		for (unsigned int i = 0; !rc && i < n; i++) {
			snprintf(path, sizeof(path), "%s/%s", dir, ids[i]);
			rc = fn(xs, path, mig_dev_types[t], ids[i], arg);
		}
		xs_free_list(ids, n);
	}
	xs_close(xs);
	return rc;
}

struct dev_wait {
	uint32_t mask;
	long long end;
};

static int wait_one(struct xs_handle *xs, const char *dir, const char *type,
		    const char *id, void *arg)
{
	struct dev_wait *w = arg;
	long long left = w->end - mig_now_ms();
	int st;

	st = left > 0 ? xenbus_wait_state(xs, dir, w->mask, (int)left) :
			-ETIMEDOUT;
	return st < 0 ? st : 0;
}

/*
 * Wait for every backend dir of @domid to reach a state in @mask, one
 * after the other, each through a watch on its state: no polling of the
 * store while the guest and its backends talk to it.
 */
static int wait_backends(const char *rundir, pvio_domid_t domid,
			 uint32_t mask, int timeout_ms)
{
	struct dev_wait w = { mask, mig_now_ms() + timeout_ms };

	return mig_each_device(rundir, domid, false, wait_one, &w);
}

int mig_wait_connected(const char *rundir, pvio_domid_t domid, int timeout_ms)
{
	return wait_backends(rundir, domid,
			     XENBUS_STATE_BIT(XenbusStateConnected),
			     timeout_ms);
}


struct fe_list {
	char *buf;
	size_t size, used;
};

static int list_connected(struct xs_handle *xs, const char *dir,
			  const char *type, const char *id, void *arg)
{
	struct fe_list *l = arg;
	int w;

	if (xenbus_read_state(xs, dir) != XenbusStateConnected)
		return 0;
	w = snprintf(l->buf + l->used, l->size - l->used, "%s%s/%s",
		     l->used ? " " : "", type, id);
	if (w < 0 || (size_t)w >= l->size - l->used) {
		l->buf[l->used] = 0;	/* the rest is not waited for */
		return 1;
	}
	l->used += (size_t)w;
	return 0;
}

int mig_frontends_connected(const char *rundir, pvio_domid_t domid,
			    char *list, size_t size)
{
	struct fe_list l = { list, size, 0 };
	int rc;

	list[0] = 0;
	rc = mig_each_device(rundir, domid, true, list_connected, &l);
	/* 1: the list is full, what it holds is waited for */
	return rc > 0 ? 0 : rc;
}

int mig_wait_frontends(const char *rundir, pvio_domid_t domid,
		       const char *list, size_t len, int timeout_ms)
{
	struct dev_wait w = { XENBUS_STATE_BIT(XenbusStateConnected),
			      mig_now_ms() + timeout_ms };
	struct xs_handle *xs;
	size_t i = 0;
	int rc;

	rc = pvio_domstore_open(rundir, &xs);
	if (rc)
		return rc;
	while (!rc && i < len) {
		char path[192];
		size_t n = 0;

		while (i + n < len && list[i + n] != ' ')
			n++;
		if (!mig_fe_name_ok(list + i, n)) {
			rc = -EINVAL;	/* the other host's list: never trusted */
			break;
		}
		snprintf(path, sizeof(path), "/local/domain/%u/device/%.*s",
			 domid, (int)n, list + i);
		rc = wait_one(xs, path, NULL, NULL, &w);
		i += n + 1;
	}
	xs_close(xs);
	return rc;
}

/* As the frontend would, never resurrecting a device being removed. */
static int close_one(struct xs_handle *xs, const char *dir, const char *type,
		     const char *id, void *arg)
{
	int rc = xenbus_switch_state(xs, dir, XenbusStateClosed);

	return rc == -ENOENT ? 0 : rc;
}

int mig_devices_close(const char *rundir, pvio_domid_t domid)
{
	int rc = mig_each_device(rundir, domid, true, close_one, NULL);

	if (rc)
		fprintf(stderr, "pvio: domain %u: cannot close its devices: %s\n",
			domid, strerror(-rc));
	return rc;
}

int mig_devices_wait_closed(const char *rundir, pvio_domid_t domid,
			    int timeout_ms)
{
	/* anything but holding a connection (Initialised, Connected, Closing) */
	uint32_t held = XENBUS_STATE_BIT(XenbusStateInitialised) |
			XENBUS_STATE_BIT(XenbusStateConnected) |
			XENBUS_STATE_BIT(XenbusStateClosing);
	int rc = wait_backends(rundir, domid, ~held, timeout_ms);

	if (rc)
		fprintf(stderr, "pvio: domain %u: a backend did not let go of its connection: %s\n",
			domid, strerror(-rc));
	return rc;
}

struct pause_arg {
	bool on;
	long long end;
};

static int pause_one(struct xs_handle *xs, const char *dir, const char *type,
		     const char *id, void *arg)
{
	const struct pause_arg *a = arg;
	char path[224];
	int rc;

	snprintf(path, sizeof(path), "%s/pause", dir);
	rc = xs_write(xs, XS_TXN_NULL, path, a->on ? "1" : "0", 1);
	return rc == -ENOENT ? 0 : rc;
}

int mig_devices_pause(const char *rundir, pvio_domid_t domid, bool on)
{
	struct pause_arg a = { on, 0 };
	int rc = mig_each_device(rundir, domid, false, pause_one, &a);

	if (rc)
		fprintf(stderr, "pvio: domain %u: cannot %s its backends: %s\n",
			domid, on ? "pause" : "resume", strerror(-rc));
	return rc;
}

static int paused_one(struct xs_handle *xs, const char *dir, const char *type,
		      const char *id, void *arg)
{
	const struct pause_arg *a = arg;
	long long left = a->end - mig_now_ms();
	char path[224];

	snprintf(path, sizeof(path), "%s/paused", dir);
	/*
	 * A watch, not a poll: a pause waits for the disk's requests in
	 * flight (tens to hundreds of ms), while QEMU sends its last pass
	 * on the same CPUs.
	 */
	return xenbus_wait_value(xs, path, "1", a->on,
				 left > 0 ? (int)left : 0);
}

int mig_devices_wait_paused(const char *rundir, pvio_domid_t domid, bool on,
			    int timeout_ms)
{
	struct pause_arg a = { on, mig_now_ms() + timeout_ms };
	int rc = mig_each_device(rundir, domid, false, paused_one, &a);

	if (rc)
		fprintf(stderr, "pvio: domain %u: a backend did not %s: %s\n",
			domid, on ? "pause" : "connect again", strerror(-rc));
	return rc;
}

/* ---- what pvio wrote behind QEMU's back ---- */

int mig_dirty_reset(const char *rundir, pvio_domid_t domid)
{
	struct pvio_domain_memory m;
	struct pvio_hv *hv;
	int rc;

	rc = pvio_hv_open(rundir, &hv);
	if (rc)
		return rc;
	rc = pvio_domain_map_memory(hv, domid, &m);
	pvio_hv_close(hv);
	if (rc)
		return rc;
	for (uint64_t w = 0; w < (m.nr_pages + 63) / 64; w++)
		__atomic_exchange_n(&m.dirty[w], 0, __ATOMIC_ACQ_REL);
	pvio_domain_unmap_memory(&m);
	return 0;
}

/*
 * A page's digest for --verify: four multiply-rotate lanes over its
 * words, folded. Not cryptographic: it tells a page that differs from
 * its source, which is all --verify asks.
 */
static uint64_t page_digest(const uint8_t *p)
{
	const uint64_t k1 = 0x9e3779b97f4a7c15ull, k2 = 0xc2b2ae3d27d4eb4full;
	uint64_t l[4] = { k1, k2, ~k1, ~k2 }, h;

	for (size_t i = 0; i < PVIO_PAGE_SIZE; i += 32) {
		for (int j = 0; j < 4; j++) {
			uint64_t w;

			memcpy(&w, p + i + 8 * j, 8);
			l[j] = (l[j] ^ w) * k1;
			l[j] = (l[j] << 29) | (l[j] >> 35);
		}
	}
	h = l[0] ^ (l[1] * k2) ^ ((l[2] << 17) | (l[2] >> 47)) ^ (l[3] * k1);
	h ^= h >> 33;
	h *= k2;
	return h ^ (h >> 29);
}

int mig_topup_collect(const char *rundir, pvio_domid_t domid, bool verify,
		      void **blob, size_t *len, unsigned int *pages)
{
	struct pvio_domain_memory m;
	struct pvio_hv *hv;
	uint64_t *bits = NULL, count = 0, words;
	uint8_t *out, *p;
	void *plat = NULL;
	int rc;

	rc = pvio_hv_open(rundir, &hv);
	if (rc)
		return rc;
	rc = pvio_domain_dirty_sync(hv, domid);
	rc = rc ?: pvio_domain_map_memory(hv, domid, &m);
	if (rc) {
		pvio_hv_close(hv);
		return rc;
	}
	rc = pvio_domain_map_platform(hv, domid, &plat);
	pvio_hv_close(hv);
	words = (m.nr_pages + 63) / 64;
	bits = rc ? NULL : calloc(words, sizeof(*bits));
	if (!bits) {
		rc = rc ?: -ENOMEM;
		goto out;
	}
	for (uint64_t w = 0; w < words; w++)
		bits[w] = __atomic_exchange_n(&m.dirty[w], 0, __ATOMIC_ACQ_REL);
	/* backends flip flags in the grant entries: those frames too */
	for (uint32_t f = 0; f < m.nr_gnt_frames; f++)
		if (m.gnt_gfn[f] < m.nr_pages)
			bits[m.gnt_gfn[f] / 64] |= 1ull << (m.gnt_gfn[f] % 64);
	for (uint64_t w = 0; w < words; w++)
		count += (uint64_t)__builtin_popcountll(bits[w]);
	*len = 8 + count * (8 + PVIO_PAGE_SIZE) + PVIO_PLATFORM_SIZE +
	       (verify ? m.nr_pages * 8 : 0);
	out = malloc(*len);
	if (!out) {
		rc = -ENOMEM;
		goto out;
	}
	memcpy(out, &count, 8);
	p = out + 8;
	for (uint64_t w = 0; w < words; w++)
		for (uint64_t b = bits[w]; b; b &= b - 1) {
			uint64_t pfn = w * 64 + (uint64_t)__builtin_ctzll(b);

			memcpy(p, &pfn, 8);
			memcpy(p + 8, m.ram + pfn * PVIO_PAGE_SIZE, PVIO_PAGE_SIZE);
			p += 8 + PVIO_PAGE_SIZE;
		}
	memcpy(p, plat, PVIO_PLATFORM_SIZE);
	p += PVIO_PLATFORM_SIZE;
	/* --verify: a digest of every page as the destination must have it */
	for (uint64_t pfn = 0; verify && pfn < m.nr_pages; pfn++, p += 8) {
		uint64_t d = page_digest(m.ram + pfn * PVIO_PAGE_SIZE);

		memcpy(p, &d, 8);
	}
	*blob = out;
	*pages = (unsigned int)count;
out:
	free(bits);
	if (plat)
		munmap(plat, PVIO_PLATFORM_SIZE);
	pvio_domain_unmap_memory(&m);
	return rc;
}

int mig_ram_map(const char *rundir, pvio_domid_t domid, struct mig_ram *r)
{
	struct pvio_hv *hv;
	int rc;

	r->plat = NULL;
	rc = pvio_hv_open(rundir, &hv);
	if (rc)
		return rc;
	rc = pvio_domain_map_memory(hv, domid, &r->m);
	if (!rc) {
		rc = pvio_domain_map_platform(hv, domid, &r->plat);
		if (rc) {
			r->plat = NULL;
			pvio_domain_unmap_memory(&r->m);
		}
	}
	pvio_hv_close(hv);
	return rc;
}

void mig_ram_unmap(struct mig_ram *r)
{
	if (!r->plat)
		return;
	munmap(r->plat, PVIO_PLATFORM_SIZE);
	pvio_domain_unmap_memory(&r->m);
	r->plat = NULL;
}

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE	23	/* Linux 5.14 */
#endif
/* populated a slice at a time, so that a stop is heard soon */
#define PREFAULT_SLICE	(8u << 20)

static void *prefault_thread(void *arg)
{
	struct mig_prefault *p = arg;
	struct pvio_domain_memory m;
	long long t0 = mig_now_ms();
	struct pvio_hv *hv;
	size_t len, off;

	p->ms = -1;
	p->rc = pvio_hv_open(p->rundir, &hv);
	if (p->rc)
		goto out;
	p->rc = pvio_domain_map_memory(hv, p->domid, &m);
	pvio_hv_close(hv);
	if (p->rc)
		goto out;
	len = m.nr_pages * PVIO_PAGE_SIZE;
	for (off = 0; off < len && !atomic_load(&p->stop); off += PREFAULT_SLICE) {
		size_t n = len - off < PREFAULT_SLICE ? len - off : PREFAULT_SLICE;

		if (madvise(m.ram + off, n, MADV_POPULATE_WRITE) < 0) {
			p->rc = -errno;	/* an older kernel: QEMU allocates */
			break;
		}
	}
	if (off >= len)
		p->ms = mig_now_ms() - t0;
	pvio_domain_unmap_memory(&m);
out:
	/* done or not, waiting on it is over */
	if (!atomic_load(&p->stop) && p->done)
		p->done(p->arg);
	return NULL;
}

void mig_prefault_start(struct mig_prefault *p, const char *rundir,
			pvio_domid_t domid, void (*done)(void *), void *arg)
{
	p->rundir = rundir;
	p->domid = domid;
	p->done = done;
	p->arg = arg;
	p->ms = -1;
	p->rc = 0;
	atomic_store(&p->stop, false);
	p->started = !pthread_create(&p->thread, NULL, prefault_thread, p);
	if (!p->started && done)
		done(arg);	/* no thread: QEMU allocates, nobody waits */
}

void mig_prefault_stop(struct mig_prefault *p)
{
	if (!p->started)
		return;
	atomic_store(&p->stop, true);
	pthread_join(p->thread, NULL);
	p->started = false;
}

int mig_topup_apply(struct mig_ram *r, pvio_domid_t domid, const void *blob,
		    size_t len)
{
	const uint8_t *p = blob;
	const struct pvio_domain_memory *m = &r->m;
	uint64_t count, digests;
	int rc = 0;

	if (len < 8 + PVIO_PLATFORM_SIZE)
		return -EPROTO;
	memcpy(&count, p, 8);
	if (count > (len - 8 - PVIO_PLATFORM_SIZE) / (8 + PVIO_PAGE_SIZE))
		return -EPROTO;
	/* what follows the region, if anything, is the digest of --verify */
	digests = len - (8 + count * (8 + PVIO_PAGE_SIZE) + PVIO_PLATFORM_SIZE);
	if (digests && digests != m->nr_pages * 8)
		return -EPROTO;	/* not a guest of our size */
	p += 8;
	for (uint64_t i = 0; i < count; i++, p += 8 + PVIO_PAGE_SIZE) {
		uint64_t pfn;

		memcpy(&pfn, p, 8);
		if (pfn >= m->nr_pages) {
			rc = -EPROTO;
			break;
		}
		memcpy(m->ram + pfn * PVIO_PAGE_SIZE, p + 8, PVIO_PAGE_SIZE);
	}
	if (!rc)
		memcpy(r->plat, p, PVIO_PLATFORM_SIZE);
	p += PVIO_PLATFORM_SIZE;
	/* fault injection for the tests: a page the transfer got wrong */
	if (!rc && digests && getenv("PVIO_MIGRATE_TEST_FLIP_PFN")) {
		uint64_t pfn = strtoull(getenv("PVIO_MIGRATE_TEST_FLIP_PFN"),
					NULL, 0);

		if (pfn < m->nr_pages)
			m->ram[pfn * PVIO_PAGE_SIZE + 100] ^= 0x5a;
	}
	if (!rc && digests) {
		uint64_t bad = 0;

		for (uint64_t pfn = 0; pfn < m->nr_pages; pfn++, p += 8) {
			uint64_t d;

			memcpy(&d, p, 8);
			if (d == page_digest(m->ram + pfn * PVIO_PAGE_SIZE))
				continue;
			if (bad++ < 8)
				fprintf(stderr, "pvio: domain %u: page %#llx differs from the source's\n",
					domid, (unsigned long long)pfn);
		}
		if (bad) {
			fprintf(stderr, "pvio: domain %u: %llu of %llu pages differ from the source's\n",
				domid, (unsigned long long)bad,
				(unsigned long long)m->nr_pages);
			rc = -EILSEQ;
		} else {
			printf("RAM verified: %llu pages as on the source\n",
			       (unsigned long long)m->nr_pages);
			fflush(stdout);
		}
	}
	return rc;
}

int mig_adopt(const char *rundir, pvio_domid_t domid)
{
	struct xs_handle *xs;
	struct pvio_hv *hv;
	int rc;

	/* its store ring as it came: a new connection, the guest reconnects */
	rc = pvio_domstore_open(rundir, &xs);
	if (!rc) {
		rc = xs_reconnect_domain(xs, domid);
		xs_close(xs);
	}
	if (rc) {
		fprintf(stderr, "pvio: domain %u: the store does not serve its ring again: %s\n",
			domid, strerror(-rc));
		return rc;
	}
	rc = pvio_hv_open(rundir, &hv);
	if (rc)
		return rc;
	rc = pvio_domain_suspend_ctl(hv, domid, PVIO_SUSPEND_ADOPT);
	if (rc)
		fprintf(stderr, "pvio: domain %u: hv cannot take the running guest over: %s\n",
			domid, strerror(-rc));
	pvio_hv_close(hv);
	return rc;
}

/* hv: @how (PVIO_SUSPEND_*, 0 for none), then unpause. */
static int hv_resume(const char *rundir, pvio_domid_t domid, uint32_t how)
{
	struct pvio_hv *hv;
	int rc;

	rc = pvio_hv_open(rundir, &hv);
	if (rc)
		return rc;
	rc = how ? pvio_domain_suspend_ctl(hv, domid, how) : 0;
	if (rc)
		fprintf(stderr, "pvio: domain %u: no suspended guest in the received state: %s\n",
			domid, strerror(-rc));
	rc = rc ?: pvio_domain_unpause(hv, domid);
	pvio_hv_close(hv);
	return rc;
}

int mig_unpause(const char *rundir, pvio_domid_t domid)
{
	return hv_resume(rundir, domid, 0);
}

int mig_resume(const char *rundir, pvio_domid_t domid)
{
	return hv_resume(rundir, domid, PVIO_SUSPEND_RESUME);
}
