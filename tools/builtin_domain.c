// SPDX-License-Identifier: MIT
/*
 * Small domain verbs, as xl has them: domid NAME, domname ID, rename DOM
 * NEW, uptime [-s] [DOM...], dmesg [-c] (hv's log), sysrq DOM LETTER and
 * qemu-monitor-command DOM COMMAND (a VM's QEMU monitor, through hv).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pvio/xenbus.h"
#include "pvio_cmd.h"
#include "pvio_domstore.h"
#include "pvio_hvcmd.h"

static struct pvio_cmd cmd_domid, cmd_domname, cmd_rename, cmd_uptime,
	cmd_dmesg, cmd_sysrq, cmd_qmc;

/* Options: only --help; 0 and *@first the first operand, or an exit code. */
static int no_options(const struct pvio_cmd *cmd, int argc, char **argv,
		      int want, int *first)
{
	int o, code = 0;

	while ((o = pvio_getopt(cmd, argc, argv, "", NULL, &code)) != -1)
		if (o == -2)
			return code;
	if (want >= 0 && argc - optind != want)
		return pvio_cmd_usage(cmd);
	*first = optind;
	return -1;
}

static int domid_run(int argc, char **argv)
{
	struct pvio_hv *hv;
	pvio_domid_t id;
	int i = 0, r = no_options(&cmd_domid, argc, argv, 1, &i);

	if (r >= 0)
		return r;
	if (pvio_cli_connect(&hv) < 0)
		return 1;
	r = pvio_domain_resolve_name(hv, argv[i], &id);
	pvio_hv_close(hv);
	if (r)
		return 1;
	printf("%u\n", id);
	return 0;
}

static int domname_run(int argc, char **argv)
{
	struct pvio_domain_info info;
	struct pvio_hv *hv;
	char *end;
	unsigned long id;
	int i = 0, r = no_options(&cmd_domname, argc, argv, 1, &i);

	if (r >= 0)
		return r;
	id = strtoul(argv[i], &end, 10);
	if (!*argv[i] || *end || id >= PVIO_DOMID_FIRST_RESERVED) {
		fprintf(stderr, "pvio domname: '%s' is not a domain id\n", argv[i]);
		return 2;
	}
	if (pvio_cli_connect(&hv) < 0)
		return 1;
	r = pvio_domain_info(hv, (pvio_domid_t)id, &info);
	pvio_hv_close(hv);
	if (r) {
		fprintf(stderr, "pvio domname: no domain %lu\n", id);
		return 1;
	}
	printf("%s\n", info.name);
	return 0;
}

/* The store's copies of the name: /local/domain/N/name, /vm/UUID/name. */
static void rename_store(pvio_domid_t id, const char *name)
{
	struct xs_handle *xs;
	char path[128], *vm = NULL;

	if (pvio_domstore_open(pvio_opt_rundir, &xs))
		return;
	snprintf(path, sizeof(path), "/local/domain/%u/name", id);
	if (!xs_read(xs, XS_TXN_NULL, path, NULL, NULL))
		xs_write(xs, XS_TXN_NULL, path, name, strlen(name));
	snprintf(path, sizeof(path), "/local/domain/%u/vm", id);
	if (!xs_read(xs, XS_TXN_NULL, path, &vm, NULL)) {
		snprintf(path, sizeof(path), "%.100s/name", vm);
		if (!strncmp(vm, "/vm/", 4))
			xs_write(xs, XS_TXN_NULL, path, name, strlen(name));
		free(vm);
	}
	xs_close(xs);
}

static int rename_run(int argc, char **argv)
{
	struct pvio_hv *hv;
	pvio_domid_t id;
	int i = 0, r = no_options(&cmd_rename, argc, argv, 2, &i);

	if (r >= 0)
		return r;
	if (pvio_cli_connect(&hv) < 0)
		return 1;
	r = pvio_domain_resolve(hv, argv[i], &id);
	if (!r)
		r = id ? pvio_domain_rename(hv, id, argv[i + 1]) : -EPERM;
	pvio_hv_close(hv);
	if (r) {
		if (r != -ENOENT)
			fprintf(stderr, "pvio rename %s %s: %s\n", argv[i],
				argv[i + 1],
				r == -EEXIST ? "that name is taken" :
				r == -EINVAL ? "bad name (1-63 printable characters, no blanks or '/')" :
				r == -EPERM ? "Domain-0 keeps its name" : strerror(-r));
		return 1;
	}
	rename_store(id, argv[i + 1]);
	return 0;
}

/* xl's uptime: "1 day, 2:03:04", "0:05:06"; -s: "1 day 2:03" style short */
static void fmt_uptime(uint64_t ms, bool s, char *out, size_t len)
{
	uint64_t t = ms / 1000, days = t / 86400;
	unsigned int h = (unsigned int)(t / 3600 % 24),
		     m = (unsigned int)(t / 60 % 60), sec = (unsigned int)(t % 60);

	if (s)
		snprintf(out, len, "%llu days, %u:%02u", (unsigned long long)days,
			 h, m);
	else if (days)
		snprintf(out, len, "%llu day%s, %2u:%02u:%02u",
			 (unsigned long long)days, days == 1 ? "" : "s", h, m, sec);
	else
		snprintf(out, len, "%2u:%02u:%02u", h, m, sec);
}

static int uptime_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "short", no_argument, NULL, 's' }, { NULL, 0, NULL, 0 },
	};
	struct pvio_domain_info *v;
	struct pvio_hv *hv;
	unsigned int n;
	bool s = false;
	int o, code = 0, rc = 0;
	char up[64];

	while ((o = pvio_getopt(&cmd_uptime, argc, argv, "s", opts, &code)) != -1) {
		if (o == -2)
			return code;
		s = true;
	}
	if (pvio_cli_connect(&hv) < 0)
		return 1;
	if (pvio_domain_list(hv, &v, &n)) {
		pvio_hv_close(hv);
		return 1;
	}
	if (!s)
		printf("%-32s %5s %s\n", "Name", "ID", "Uptime");
	for (unsigned int i = 0; i < n; i++) {
		bool want = optind >= argc;

		for (int a = optind; a < argc; a++) {
			pvio_domid_t id;

			if (!pvio_domain_resolve(hv, argv[a], &id) && id == v[i].domid)
				want = true;
		}
		if (!want)
			continue;
		fmt_uptime(v[i].uptime_ms, s, up, sizeof(up));
		if (s) {
			/* as xl -s: the time of day, then the uptime */
			time_t now = time(NULL);
			struct tm tm;
			char tod[16];

			strftime(tod, sizeof(tod), "%H:%M:%S",
				 localtime_r(&now, &tm));
			printf("%s up %s, %s (%u)\n", tod, up, v[i].name,
			       v[i].domid);
		}
		else
			printf("%-32s %5u %s\n", v[i].name, v[i].domid, up);
	}
	for (int a = optind; a < argc; a++) {
		pvio_domid_t id;

		if (pvio_domain_resolve(hv, argv[a], &id))
			rc = 1;
	}
	free(v);
	pvio_hv_close(hv);
	return rc;
}

static int dmesg_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "clear", no_argument, NULL, 'c' }, { NULL, 0, NULL, 0 },
	};
	struct pvio_hv *hv;
	bool clear = false;
	char *text;
	int o, code = 0, r;

	while ((o = pvio_getopt(&cmd_dmesg, argc, argv, "c", opts, &code)) != -1) {
		if (o == -2)
			return code;
		clear = true;
	}
	if (optind != argc)
		return pvio_cmd_usage(&cmd_dmesg);
	if (pvio_cli_connect(&hv) < 0)
		return 1;
	r = pvio_hv_dmesg(hv, clear, &text);
	pvio_hv_close(hv);
	if (r) {
		fprintf(stderr, "pvio dmesg: %s\n", strerror(-r));
		return 1;
	}
	fputs(text, stdout);
	free(text);
	return 0;
}

/* A VM by name or id, with a message if it is not one. */
static int vm_resolve(const struct pvio_cmd *cmd, struct pvio_hv *hv,
		      const char *arg, pvio_domid_t *id)
{
	struct pvio_domain_info info;
	int r = pvio_domain_resolve(hv, arg, id);

	if (r)
		return r;
	r = pvio_domain_info(hv, *id, &info);
	if (r || info.type != PVIO_DOMTYPE_VM) {
		fprintf(stderr, "pvio %s: %s is not a VM (%s)\n", cmd->name, arg,
			r ? strerror(-r) : "a process domain has no QEMU");
		return r ? r : -EOPNOTSUPP;
	}
	return 0;
}

/* One QMP command through hv; prints QEMU's error. 0 with *@ret. */
static int qmp_call(const struct pvio_cmd *cmd, struct pvio_hv *hv,
		    pvio_domid_t id, json_t *req, json_t **ret)
{
	char *text = json_dumps(req, JSON_COMPACT), *reply = NULL;
	json_t *r;
	int rc;

	if (!text)
		return -ENOMEM;
	rc = pvio_domain_qmp(hv, id, text, &reply);
	free(text);
	r = reply ? json_loads(reply, 0, NULL) : NULL;
	free(reply);
	if (rc == -EIO) {
		fprintf(stderr, "pvio %s: QEMU: %s\n", cmd->name,
			json_string_value(json_object_get(json_object_get(r, "error"),
							  "desc")));
	} else if (rc) {
		fprintf(stderr, "pvio %s: %s\n", cmd->name, strerror(-rc));
	} else if (ret) {
		*ret = json_incref(json_object_get(r, "return"));
	}
	json_decref(r);
	return rc;
}

static int qmc_run(int argc, char **argv)
{
	struct pvio_hv *hv;
	pvio_domid_t id;
	json_t *ret = NULL;
	char line[4096] = "";
	int i = 0, r = no_options(&cmd_qmc, argc, argv, -1, &i);

	if (r >= 0)
		return r;
	if (argc - i < 2)
		return pvio_cmd_usage(&cmd_qmc);
	/* the command may come as several words */
	for (int a = i + 1; a < argc; a++) {
		if (strlen(line) + strlen(argv[a]) + 2 > sizeof(line))
			return pvio_cmd_usage(&cmd_qmc);
		if (a > i + 1)
			strcat(line, " ");
		strcat(line, argv[a]);
	}
	if (pvio_cli_connect(&hv) < 0)
		return 1;
	r = vm_resolve(&cmd_qmc, hv, argv[i], &id);
	if (!r)
		r = qmp_call(&cmd_qmc, hv, id,
			     json_pack("{s:s, s:{s:s}}", "execute",
				       "human-monitor-command", "arguments",
				       "command-line", line), &ret);
	pvio_hv_close(hv);
	if (r)
		return 1;
	fputs(json_string_value(ret) ? json_string_value(ret) : "", stdout);
	json_decref(ret);
	return 0;
}

/*
 * xl sysrq: SysRq-LETTER to the guest. A VM gets the key combination on
 * its keyboard (QMP send-key), which any Linux handles, PV drivers or
 * not.
 */
static int sysrq_run(int argc, char **argv)
{
	struct pvio_hv *hv;
	pvio_domid_t id;
	char key[2];
	int i = 0, r = no_options(&cmd_sysrq, argc, argv, 2, &i);

	if (r >= 0)
		return r;
	if (strlen(argv[i + 1]) != 1 || !isalnum((unsigned char)argv[i + 1][0])) {
		fprintf(stderr, "pvio sysrq: '%s' is not a SysRq letter (one of a-z, 0-9)\n",
			argv[i + 1]);
		return 2;
	}
	key[0] = (char)tolower((unsigned char)argv[i + 1][0]);
	key[1] = 0;
	if (pvio_cli_connect(&hv) < 0)
		return 1;
	r = vm_resolve(&cmd_sysrq, hv, argv[i], &id);
	if (!r)
		r = qmp_call(&cmd_sysrq, hv, id,
			     json_pack("{s:s, s:{s:[{s:s, s:s}, {s:s, s:s}, {s:s, s:s}]}}",
				       "execute", "send-key", "arguments", "keys",
				       "type", "qcode", "data", "alt",
				       "type", "qcode", "data", "sysrq",
				       "type", "qcode", "data", key), NULL);
	pvio_hv_close(hv);
	return r ? 1 : 0;
}

static struct pvio_cmd cmd_domid = {
	.name = "domid", .usage = "DOMAIN-NAME",
	.help = "print the id of a domain", .run = domid_run,
};
PVIO_CMD(cmd_domid)
static struct pvio_cmd cmd_domname = {
	.name = "domname", .usage = "DOMAIN-ID",
	.help = "print the name of a domain", .run = domname_run,
};
PVIO_CMD(cmd_domname)
static struct pvio_cmd cmd_rename = {
	.name = "rename", .usage = "DOMAIN NEW-NAME",
	.help = "give a domain a new name", .run = rename_run,
};
PVIO_CMD(cmd_rename)
static struct pvio_cmd cmd_uptime = {
	.name = "uptime", .usage = "[-s] [DOMAIN...]",
	.help = "how long domains have existed",
	.options = "  -s, --short       one line per domain, without a header\n",
	.run = uptime_run,
};
PVIO_CMD(cmd_uptime)
static struct pvio_cmd cmd_dmesg = {
	.name = "dmesg", .usage = "[-c]",
	.help = "print pvio-hv's message log",
	.options = "  -c, --clear       empty the log after printing it\n",
	.run = dmesg_run,
};
PVIO_CMD(cmd_dmesg)
static struct pvio_cmd cmd_sysrq = {
	.name = "sysrq", .usage = "DOMAIN LETTER",
	.help = "send SysRq-LETTER to a VM (its keyboard)", .run = sysrq_run,
};
PVIO_CMD(cmd_sysrq)
static struct pvio_cmd cmd_qmc = {
	.name = "qemu-monitor-command", .usage = "DOMAIN COMMAND",
	.help = "run a QEMU monitor (HMP) command in a VM's device model",
	.run = qmc_run,
};
PVIO_CMD(cmd_qmc)
