/*
 * `pvio network-attach|network-detach|network-list` and the "vif" device
 * class that `pvio create` hands each entry of a config's vif = [...] to.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pvio/vif.h"
#include "pvio/libpvio.h"
#include "pvio/xenbus.h"
#include "pvio_cmd.h"

#define NETWORK_DETACH_TIMEOUT_MS	10000

static int open_store(const char *rundir, struct xs_handle **xs)
{
	char path[512];
	int ret;

	if (getenv("XENSTORED_PATH"))
		ret = xs_open(NULL, xs);
	else {
		snprintf(path, sizeof(path), "%s/store.sock", pvio_rundir(rundir));
		ret = xs_open(path, xs);
	}
	if (ret)
		fprintf(stderr, "pvio: cannot connect to pvio-store in %s: %s\n",
			pvio_rundir(rundir), strerror(-ret));
	return ret;
}

/* A domain by id or by name. */
static int resolve_dom(const char *rundir, const char *arg, uint16_t *domid)
{
	struct pvio_domain_info *list = NULL;
	struct pvio_hv *hv;
	unsigned int n = 0;
	char *end;
	long v = strtol(arg, &end, 10);
	int ret;

	if (*arg && !*end) {
		if (v <= 0 || v >= PVIO_DOMID_FIRST_RESERVED) {
			fprintf(stderr, "pvio: bad domain id %s\n", arg);
			return -EINVAL;
		}
		*domid = (uint16_t)v;
		return 0;
	}
	ret = pvio_hv_open(rundir, &hv);
	if (ret) {
		fprintf(stderr, "pvio: cannot reach pvio-hv to look up '%s': %s\n",
			arg, strerror(-ret));
		return ret;
	}
	ret = pvio_domain_list(hv, &list, &n);
	pvio_hv_close(hv);
	if (ret)
		return ret;
	ret = -ENOENT;
	for (unsigned int i = 0; i < n; i++)
		if (!strcmp(list[i].name, arg)) {
			*domid = list[i].domid;
			ret = 0;
		}
	free(list);
	if (ret)
		fprintf(stderr, "pvio: no domain named '%s'\n", arg);
	return ret;
}

static int vif_attach(const char *rundir, uint16_t domid, const char *spec)
{
	struct xs_handle *xs;
	struct netspec ns;
	char err[256];
	int ret, devid;

	ret = netspec_parse(spec, &ns, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "pvio: %s\n", err);
		return ret;
	}
	ret = open_store(rundir, &xs);
	if (ret)
		return ret;
	ret = netvif_attach(xs, domid, &ns, &devid);
	xs_close(xs);
	return ret;
}

static int vif_detach_all(const char *rundir, uint16_t domid)
{
	struct xs_handle *xs;
	unsigned int n;
	int *ids, ret;

	ret = open_store(rundir, &xs);
	if (ret)
		return ret;
	ret = netvif_list(xs, domid, &ids, &n);
	for (unsigned int i = 0; !ret && i < n; i++)
		ret = netvif_detach(xs, domid, ids[i], NETWORK_DETACH_TIMEOUT_MS);
	if (!ret)
		free(ids);
	xs_close(xs);
	return ret;
}

static json_t *opt_str(const char *s)
{
	return *s ? json_string(s) : json_null();
}

static int vif_describe(const char *spec, json_t **out, char *err,
			size_t errlen)
{
	struct netspec ns;
	char mac[18];
	int ret = netspec_parse(spec, &ns, err, errlen);

	*out = NULL;
	if (ret)
		return ret;
	netspec_format_mac(ns.mac, mac);
	*out = json_pack("{s:o, s:s, s:o, s:s, s:o, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
			 "mac", ns.mac_set ? json_string(mac) : json_null(),
			 "bridge", ns.bridge,
			 "ip", opt_str(ns.ip),
			 "script", ns.script,
			 "model", opt_str(ns.model),
			 "type", ns.type,
			 "vifname", opt_str(ns.vifname),
			 "mtu", ns.mtu ? json_integer(ns.mtu) : json_null(),
			 "devid", ns.devid >= 0 ? json_integer(ns.devid) :
						  json_null(),
			 "rate", ns.rate[0] ? json_pack("{s:s, s:I, s:i}",
				"spec", ns.rate,
				"bytes-per-interval", (json_int_t)ns.rate_bytes,
				"interval-us", (int)ns.rate_usec) : json_null(),
			 "gatewaydev", opt_str(ns.gatewaydev),
			 "trusted", ns.trusted < 0 ? json_null() :
				    json_boolean(ns.trusted),
			 "backend", opt_str(ns.backend));
	if (!*out)
		return -ENOMEM;
	ret = netspec_check(&ns, err, errlen);
	if (ret)
		json_object_set_new(*out, "refused", json_string(err));
	return ret;
}

static struct pvio_devclass vif_class = {
	.cfg_key = "vif",
	.attach = vif_attach,
	.detach_all = vif_detach_all,
	.describe = vif_describe,
};
PVIO_DEVCLASS(vif_class)

static struct pvio_cmd cmd_network_attach;
static struct pvio_cmd cmd_network_detach;
static struct pvio_cmd cmd_network_list;

static int run_attach(int argc, char **argv)
{
	struct xs_handle *xs;
	struct netspec ns;
	char err[256], mac[18], spec[4096] = "";
	uint16_t domid;
	int ret, devid;
	int opt_rc = pvio_args_plain(&cmd_network_attach, &argc, &argv);

	if (opt_rc >= 0)
		return opt_rc;

	if (argc < 2)
		return pvio_cmd_usage(&cmd_network_attach);
	/* xl accepts the spec as one or several KEY=VALUE words */
	for (int i = 2; i < argc; i++) {
		if (strlen(spec) + strlen(argv[i]) + 2 > sizeof(spec)) {
			fprintf(stderr, "pvio: vif spec too long\n");
			return 1;
		}
		if (i > 2)
			strcat(spec, ",");
		strcat(spec, argv[i]);
	}
	/* parse before anything else: a wrong spec changes nothing */
	if (netspec_parse(spec, &ns, err, sizeof(err))) {
		fprintf(stderr, "pvio: %s\n", err);
		return 1;
	}
	if (resolve_dom(pvio_opt_rundir, argv[1], &domid))
		return 1;
	if (open_store(pvio_opt_rundir, &xs))
		return 1;
	ret = netvif_attach(xs, domid, &ns, &devid);
	if (!ret) {
		char path[128], *val = NULL;
		size_t len;

		snprintf(path, sizeof(path), "/local/domain/0/backend/vif/%u/%d/mac",
			 domid, devid);
		if (!xs_read(xs, XS_TXN_NULL, path, &val, &len)) {
			snprintf(mac, sizeof(mac), "%s", val);
			free(val);
		} else {
			mac[0] = 0;
		}
		printf("vif %d attached to domain %u (mac %s, bridge %s)\n", devid,
		       domid, mac, ns.bridge);
	}
	xs_close(xs);
	return ret ? 1 : 0;
}

static int run_detach(int argc, char **argv)
{
	struct xs_handle *xs;
	uint16_t domid;
	uint8_t mac[6];
	int devid, ret;
	int opt_rc = pvio_args_plain(&cmd_network_detach, &argc, &argv);

	if (opt_rc >= 0)
		return opt_rc;

	if (argc != 3)
		return pvio_cmd_usage(&cmd_network_detach);
	if (resolve_dom(pvio_opt_rundir, argv[1], &domid))
		return 1;
	if (open_store(pvio_opt_rundir, &xs))
		return 1;
	if (strchr(argv[2], ':')) {
		if (netspec_parse_mac(argv[2], mac)) {
			fprintf(stderr, "pvio: bad MAC '%s'\n", argv[2]);
			xs_close(xs);
			return 1;
		}
		devid = netvif_find_mac(xs, domid, mac);
		if (devid < 0) {
			fprintf(stderr, "pvio: domain %u has no vif with MAC %s\n",
				domid, argv[2]);
			xs_close(xs);
			return 1;
		}
	} else {
		char *end;
		long v = strtol(argv[2], &end, 10);

		if (!*argv[2] || *end || v < 0 || v > 65535) {
			fprintf(stderr, "pvio: bad device id '%s' (a number or a MAC)\n",
				argv[2]);
			xs_close(xs);
			return 1;
		}
		devid = (int)v;
	}
	ret = netvif_detach(xs, domid, devid, NETWORK_DETACH_TIMEOUT_MS);
	xs_close(xs);
	return ret ? 1 : 0;
}

static void read_key(struct xs_handle *xs, const char *dir, const char *key,
		     char *out, size_t size)
{
	char path[192], *val = NULL;
	size_t len;

	snprintf(out, size, "-");
	if (snprintf(path, sizeof(path), "%s/%s", dir, key) >= (int)sizeof(path))
		return;
	if (!xs_read(xs, XS_TXN_NULL, path, &val, &len)) {
		snprintf(out, size, "%s", val);
		free(val);
	}
}

static int run_list(int argc, char **argv)
{
	struct xs_handle *xs;
	uint16_t domid;
	unsigned int n;
	int *ids;
	int opt_rc = pvio_args_plain(&cmd_network_list, &argc, &argv);

	if (opt_rc >= 0)
		return opt_rc;

	if (argc != 2)
		return pvio_cmd_usage(&cmd_network_list);
	if (resolve_dom(pvio_opt_rundir, argv[1], &domid))
		return 1;
	if (open_store(pvio_opt_rundir, &xs))
		return 1;
	if (netvif_list(xs, domid, &ids, &n)) {
		xs_close(xs);
		return 1;
	}
	/* xl's layout, which scripts parse */
	printf("%-3s %-2s %-17s %-6s %-5s %-6s %5s/%-5s %-30s\n", "Idx", "BE",
	       "Mac Addr.", "handle", "state", "evt-ch", "tx-", "rx-ring-ref",
	       "BE-path");
	for (unsigned int i = 0; i < n; i++) {
		char fe[128], be[128], mac[32], handle[16], state[16], ev[32],
			tx[16], rx[16];

		snprintf(fe, sizeof(fe), "/local/domain/%u/device/vif/%d", domid,
			 ids[i]);
		snprintf(be, sizeof(be), "/local/domain/0/backend/vif/%u/%d", domid,
			 ids[i]);
		read_key(xs, be, "mac", mac, sizeof(mac));
		read_key(xs, be, "handle", handle, sizeof(handle));
		read_key(xs, fe, "state", state, sizeof(state));
		read_key(xs, fe, "event-channel", ev, sizeof(ev));
		if (!strcmp(ev, "-"))
			read_key(xs, fe, "event-channel-tx", ev, sizeof(ev));
		read_key(xs, fe, "tx-ring-ref", tx, sizeof(tx));
		read_key(xs, fe, "rx-ring-ref", rx, sizeof(rx));
		printf("%-3d %-2d %-17s %-6s %-5s %-6s %5s/%-11s %-30s\n", ids[i],
		       0, mac, handle, state, ev, tx, rx, be);
	}
	free(ids);
	xs_close(xs);
	return 0;
}

static struct pvio_cmd cmd_network_attach = {
	.name = "network-attach",
	.usage = "DOMAIN [mac=MAC,bridge=BR,ip=IP,rate=RATE,mtu=N,vifname=NAME,script=S,model=M,type=vif,devid=N]",
	.help = "attach a virtual NIC (xl vif spec)",
	.run = run_attach,
};
PVIO_CMD(cmd_network_attach)

static struct pvio_cmd cmd_network_detach = {
	.name = "network-detach",
	.usage = "DOMAIN DEVID|MAC",
	.help = "detach a virtual NIC",
	.run = run_detach,
};
PVIO_CMD(cmd_network_detach)

static struct pvio_cmd cmd_network_list = {
	.name = "network-list",
	.usage = "DOMAIN",
	.help = "list a domain's virtual NICs",
	.run = run_list,
};
PVIO_CMD(cmd_network_list)
