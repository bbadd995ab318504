/*
 * The "vif" device class in the store: writes a vif's frontend and backend
 * dirs as xl does (keys, permissions, one transaction) and removes them
 * through the xenbus close handshake.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pvio/vif.h"
#include "pvio/xenbus.h"

#define VIF_MAX_DEVID	65535

struct attach_ctx {
	uint16_t domid;
	const struct netspec *ns;
	int devid;		/* in: wanted or -1; out: chosen */
	char mac[18];
	bool exists;
};

static int node_exists(struct xs_handle *xs, xs_transaction_t t,
		       const char *path)
{
	char *val = NULL;
	size_t len;
	int ret = xs_read(xs, t, path, &val, &len);

	free(val);
	if (ret == -ENOENT)
		return 0;
	return ret ? ret : 1;
}

static int put(struct xs_handle *xs, xs_transaction_t t, const char *dir,
	       const char *key, const char *val, const struct xs_perm *perms)
{
	char path[256];
	int ret;

	if (snprintf(path, sizeof(path), "%s/%s", dir, key) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	ret = xs_write(xs, t, path, val, strlen(val));
	if (!ret)
		ret = xs_set_perms(xs, t, path, perms, 2);
	return ret;
}

static int attach_txn(struct xs_handle *xs, xs_transaction_t t, void *arg)
{
	struct attach_ctx *c = arg;
	const struct netspec *ns = c->ns;
	/* as xl: the domU owns its frontend dir, dom0 reads it; dom0 owns
	 * the backend dir, the domU reads it */
	const struct xs_perm fe_perms[2] = {
		{ .domid = c->domid, .access = XS_PERM_NONE },
		{ .domid = 0, .access = XS_PERM_READ },
	};
	const struct xs_perm be_perms[2] = {
		{ .domid = 0, .access = XS_PERM_NONE },
		{ .domid = c->domid, .access = XS_PERM_READ },
	};
	char fe[128], be[128], path[160], num[32];
	int devid = c->devid, ret;

	c->exists = false;
	if (devid < 0) {
		for (devid = 0; devid <= VIF_MAX_DEVID; devid++) {
			snprintf(path, sizeof(path),
				 "/local/domain/%u/device/vif/%d", c->domid, devid);
			ret = node_exists(xs, t, path);
			if (ret < 0)
				return ret;
			if (ret)
				continue;
			snprintf(path, sizeof(path),
				 "/local/domain/0/backend/vif/%u/%d", c->domid,
				 devid);
			ret = node_exists(xs, t, path);
			if (ret < 0)
				return ret;
			if (!ret)
				break;
		}
		if (devid > VIF_MAX_DEVID)
			return -ENOSPC;
	}
	snprintf(fe, sizeof(fe), "/local/domain/%u/device/vif/%d", c->domid, devid);
	snprintf(be, sizeof(be), "/local/domain/0/backend/vif/%u/%d", c->domid,
		 devid);
	if (node_exists(xs, t, fe) > 0 || node_exists(xs, t, be) > 0) {
		c->exists = true;
		c->devid = devid;
		return -EEXIST;
	}
	c->devid = devid;

	ret = xs_mkdir(xs, t, fe);
	if (!ret)
		ret = xs_set_perms(xs, t, fe, fe_perms, 2);
	if (!ret)
		ret = xs_mkdir(xs, t, be);
	if (!ret)
		ret = xs_set_perms(xs, t, be, be_perms, 2);
	if (ret)
		return ret;

	snprintf(num, sizeof(num), "%d", devid);
	ret = put(xs, t, fe, "backend", be, fe_perms);
	if (!ret)
		ret = put(xs, t, fe, "backend-id", "0", fe_perms);
	if (!ret)
		ret = put(xs, t, fe, "handle", num, fe_perms);
	if (!ret)
		ret = put(xs, t, fe, "mac", c->mac, fe_perms);
	if (!ret && ns->mtu) {
		char m[16];

		snprintf(m, sizeof(m), "%u", ns->mtu);
		ret = put(xs, t, fe, "mtu", m, fe_perms);
		if (!ret)
			ret = put(xs, t, be, "mtu", m, be_perms);
	}
	if (!ret)
		ret = put(xs, t, fe, "state", "1", fe_perms);

	if (!ret)
		ret = put(xs, t, be, "frontend", fe, be_perms);
	if (!ret) {
		char d[16];

		snprintf(d, sizeof(d), "%u", c->domid);
		ret = put(xs, t, be, "frontend-id", d, be_perms);
	}
	if (!ret)
		ret = put(xs, t, be, "online", "1", be_perms);
	if (!ret)
		ret = put(xs, t, be, "state", "1", be_perms);
	if (!ret)
		ret = put(xs, t, be, "handle", num, be_perms);
	if (!ret)
		ret = put(xs, t, be, "mac", c->mac, be_perms);
	if (!ret)
		ret = put(xs, t, be, "bridge", ns->bridge, be_perms);
	if (!ret)
		ret = put(xs, t, be, "script", ns->script, be_perms);
	if (!ret)
		ret = put(xs, t, be, "type", ns->type, be_perms);
	if (!ret && ns->model[0])
		ret = put(xs, t, be, "model", ns->model, be_perms);
	if (!ret && ns->ip[0])
		ret = put(xs, t, be, "ip", ns->ip, be_perms);
	if (!ret && ns->vifname[0])
		ret = put(xs, t, be, "vifname", ns->vifname, be_perms);
	if (!ret && ns->gatewaydev[0])
		ret = put(xs, t, be, "gatewaydev", ns->gatewaydev, be_perms);
	if (!ret && ns->trusted >= 0)
		ret = put(xs, t, fe, "trusted", ns->trusted ? "1" : "0",
			  fe_perms);
	if (!ret && ns->rate_bytes) {
		char r[64];

		/* as libxl: credit bytes per interval, interval in us */
		snprintf(r, sizeof(r), "%llu,%u",
			 (unsigned long long)ns->rate_bytes, ns->rate_usec);
		ret = put(xs, t, be, "rate", r, be_perms);
	}
	return ret;
}

int netvif_attach(struct xs_handle *xs, uint16_t domid, const struct netspec *ns,
		  int *devid)
{
	struct attach_ctx c = { .domid = domid, .ns = ns, .devid = ns->devid };
	uint8_t mac[6];
	int ret;

	char err[256];

	if (domid == 0 || domid >= PVIO_DOMID_FIRST_RESERVED) {
		fprintf(stderr, "network-attach: bad domain %u\n", domid);
		return -EINVAL;
	}
	ret = netspec_check(ns, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "pvio: %s\n", err);
		return ret;
	}
	if (ns->mac_set) {
		netspec_format_mac(ns->mac, c.mac);
	} else {
		/* stable for the pair: pick the devid first if we must */
		if (c.devid < 0) {
			int *ids = NULL;
			unsigned int n = 0;

			ret = netvif_list(xs, domid, &ids, &n);
			if (ret && ret != -ENOENT)
				return ret;
			c.devid = 0;
			for (unsigned int i = 0; i < n; i++)
				if (ids[i] == c.devid)
					c.devid++;
			free(ids);
		}
		netspec_default_mac(domid, (uint32_t)c.devid, mac);
		netspec_format_mac(mac, c.mac);
	}
	ret = xs_transaction_run(xs, attach_txn, &c);
	if (ret == -EEXIST && c.exists) {
		fprintf(stderr, "network-attach: domain %u already has vif %d\n",
			domid, c.devid);
		return ret;
	}
	if (ret) {
		fprintf(stderr, "network-attach: cannot write vif %d of domain %u to the store: %s\n",
			c.devid, domid, strerror(-ret));
		return ret;
	}
	if (devid)
		*devid = c.devid;
	return 0;
}

struct detach_ctx {
	char fe[128];
	char be[128];
	bool closing;
};

static int detach_close_txn(struct xs_handle *xs, xs_transaction_t t, void *arg)
{
	struct detach_ctx *c = arg;
	char path[160];
	int ret;

	snprintf(path, sizeof(path), "%s/online", c->be);
	ret = xs_write(xs, t, path, "0", 1);
	if (ret)
		return ret;
	snprintf(path, sizeof(path), "%s/state", c->be);
	/* a backend that never probed the vif: nothing to hand shake with */
	ret = node_exists(xs, t, path);
	if (ret < 0)
		return ret;
	c->closing = ret > 0;
	return 0;
}

static int detach_rm_txn(struct xs_handle *xs, xs_transaction_t t, void *arg)
{
	struct detach_ctx *c = arg;
	int ret = xs_rm(xs, t, c->fe);

	if (ret && ret != -ENOENT)
		return ret;
	ret = xs_rm(xs, t, c->be);
	return ret == -ENOENT ? 0 : ret;
}

int netvif_detach(struct xs_handle *xs, uint16_t domid, int devid,
		  int timeout_ms)
{
	struct detach_ctx c;
	int ret;

	snprintf(c.fe, sizeof(c.fe), "/local/domain/%u/device/vif/%d", domid,
		 devid);
	snprintf(c.be, sizeof(c.be), "/local/domain/0/backend/vif/%u/%d", domid,
		 devid);
	ret = node_exists(xs, XS_TXN_NULL, c.be);
	if (ret <= 0 && node_exists(xs, XS_TXN_NULL, c.fe) <= 0) {
		fprintf(stderr, "network-detach: domain %u has no vif %d\n", domid,
			devid);
		return -ENOENT;
	}
	if (ret > 0) {
		ret = xs_transaction_run(xs, detach_close_txn, &c);
		if (ret) {
			fprintf(stderr, "network-detach: cannot close vif %d: %s\n",
				devid, strerror(-ret));
			return ret;
		}
		/* the backend answers with Closed once its TAP is gone */
		ret = xenbus_wait_state(xs, c.be,
					XENBUS_STATE_BIT(XenbusStateClosed),
					timeout_ms);
		if (ret < 0)
			fprintf(stderr, "network-detach: backend of vif %d did not close in %d ms (is pvio-netback running?); removing it anyway\n",
				devid, timeout_ms);
	}
	ret = xs_transaction_run(xs, detach_rm_txn, &c);
	if (ret)
		fprintf(stderr, "network-detach: cannot remove vif %d: %s\n", devid,
			strerror(-ret));
	return ret;
}

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

int netvif_list(struct xs_handle *xs, uint16_t domid, int **ids, unsigned int *n)
{
	char path[96], **names = NULL;
	unsigned int nn = 0, k = 0;
	int *out, ret;

	*ids = NULL;
	*n = 0;
	snprintf(path, sizeof(path), "/local/domain/0/backend/vif/%u", domid);
	ret = xs_directory(xs, XS_TXN_NULL, path, &names, &nn);
	if (ret)
		return ret == -ENOENT ? 0 : ret;
	out = calloc(nn ? nn : 1, sizeof(*out));
	if (!out) {
		xs_free_list(names, nn);
		return -ENOMEM;
	}
	for (unsigned int i = 0; i < nn; i++) {
		char *end;
		long v = strtol(names[i], &end, 10);

		if (!*end && v >= 0 && v <= VIF_MAX_DEVID)
			out[k++] = (int)v;
	}
	xs_free_list(names, nn);
	qsort(out, k, sizeof(*out), cmp_int);
	*ids = out;
	*n = k;
	return 0;
}

int netvif_find_mac(struct xs_handle *xs, uint16_t domid, const uint8_t mac[6])
{
	int *ids, found = -ENOENT;
	unsigned int n;
	int ret = netvif_list(xs, domid, &ids, &n);

	if (ret)
		return ret;
	for (unsigned int i = 0; i < n && found < 0; i++) {
		char path[128], *val = NULL;
		size_t len;
		uint8_t m[6];

		snprintf(path, sizeof(path), "/local/domain/0/backend/vif/%u/%d/mac",
			 domid, ids[i]);
		if (xs_read(xs, XS_TXN_NULL, path, &val, &len))
			continue;
		if (!netspec_parse_mac(val, m) && !memcmp(m, mac, 6))
			found = ids[i];
		free(val);
	}
	free(ids);
	return found;
}
