// SPDX-License-Identifier: MIT
/*
 * pvio vcpu-list [DOM] and pvio vcpu-pin DOM VCPU CPUS: a VM's vCPUs are
 * QEMU threads named "CPU <n>/<accel>" (hv starts QEMU with
 * debug-threads=on); listing reads /proc, pinning is sched_setaffinity on
 * the thread, as xl vcpu-pin moves a vCPU between physical CPUs.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pvio/libpvio.h"
#include "pvio_cmd.h"
#include "pvio_hvcmd.h"
#include "pvio_domstore.h"
#include "pvio/xenbus.h"

#define VCPU_MAX	PVIO_MAX_VCPUS

struct vcpu_thread {
	pid_t tid;
	int cpu;			/* last CPU it ran on */
	char state;			/* R running, S/D sleeping, ... */
	double seconds;			/* user + system time */
};

static struct pvio_cmd cmd_vcpu_list, cmd_vcpu_pin, cmd_vcpu_set;

/* vCPU threads of QEMU @pid, indexed by vCPU number; returns the count. */
static int vcpu_threads(pid_t pid, struct vcpu_thread *v)
{
	char path[320], buf[512];
	struct dirent *de;
	int n = 0;
	DIR *d;

	memset(v, 0, VCPU_MAX * sizeof(*v));
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		unsigned long long ut, st;
		unsigned int idx;
		char *p;
		FILE *f;
		int cpu;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/comm", (int)pid,
			 de->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (!fgets(buf, sizeof(buf), f) ||
		    sscanf(buf, "CPU %u/", &idx) != 1 || idx >= VCPU_MAX) {
			fclose(f);
			continue;
		}
		fclose(f);
		snprintf(path, sizeof(path), "/proc/%d/task/%s/stat", (int)pid,
			 de->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		p = fgets(buf, sizeof(buf), f) ? strrchr(buf, ')') : NULL;
		fclose(f);
		/* fields after the name: state is 3, utime 14, stime 15, cpu 39 */
		if (!p || sscanf(p + 2, "%c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu "
				 "%*d %*d %*d %*d %*d %*d %*u %*u %*d %*u %*u %*u %*u %*u %*u "
				 "%*u %*u %*u %*u %*u %*u %*u %*d %d", &v[idx].state, &ut,
				 &st, &cpu) != 4)
			continue;
		v[idx].tid = (pid_t)atoi(de->d_name);
		v[idx].cpu = cpu;
		v[idx].seconds = (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
		if ((int)idx + 1 > n)
			n = (int)idx + 1;
	}
	closedir(d);
	return n;
}

static void cpuset_print(const cpu_set_t *s, char *out, size_t len)
{
	int ncpu = (int)sysconf(_SC_NPROCESSORS_CONF), i, first = -1;
	size_t o = 0;

	out[0] = 0;
	if (CPU_COUNT(s) >= ncpu) {
		snprintf(out, len, "all");
		return;
	}
	for (i = 0; i <= ncpu; i++) {
		bool in = i < ncpu && CPU_ISSET(i, s);

		if (in && first < 0)
			first = i;
		if (!in && first >= 0) {
			o += (size_t)snprintf(out + o, len > o ? len - o : 0,
					      first == i - 1 ? "%s%d" : "%s%d-%d",
					      o ? "," : "", first, i - 1);
			first = -1;
		}
	}
}

/* "all", "N", "N-M", comma-separated: 0 or -EINVAL. */
static int cpuset_parse(const char *s, cpu_set_t *set)
{
	int ncpu = (int)sysconf(_SC_NPROCESSORS_CONF);

	CPU_ZERO(set);
	if (!strcmp(s, "all")) {
		for (int i = 0; i < ncpu; i++)
			CPU_SET(i, set);
		return 0;
	}
	while (*s) {
		char *e;
		long a = strtol(s, &e, 10), b;

		if (e == s || a < 0 || a >= ncpu)
			return -EINVAL;
		b = a;
		if (*e == '-') {
			s = e + 1;
			b = strtol(s, &e, 10);
			if (e == s || b < a || b >= ncpu)
				return -EINVAL;
		}
		for (long i = a; i <= b; i++)
			CPU_SET((int)i, set);
		if (*e == ',')
			e++;
		else if (*e)
			return -EINVAL;
		s = e;
	}
	return CPU_COUNT(set) ? 0 : -EINVAL;
}

/* DOM (an id or a name) and its info: 0 or -errno (message printed). */
static int vcpu_domain(struct pvio_hv *hv, const char *arg,
		       struct pvio_domain_info *info)
{
	pvio_domid_t id;
	int ret = pvio_domain_resolve(hv, arg, &id);

	if (ret == 0)
		ret = pvio_domain_info(hv, id, info);
	return ret;
}

static void vcpu_list_one(const struct pvio_domain_info *d)
{
	struct vcpu_thread v[VCPU_MAX];
	int n, i;

	if (d->type != PVIO_DOMTYPE_VM || d->pid <= 0)
		return;
	n = vcpu_threads(d->pid, v);
	for (i = 0; i < n; i++) {
		char aff[256] = "-";
		cpu_set_t s;

		if (!v[i].tid)
			continue;
		if (sched_getaffinity(v[i].tid, sizeof(s), &s) == 0)
			cpuset_print(&s, aff, sizeof(aff));
		/* xl's state letters: r running, b blocked, p paused */
		printf("%-32s %5u %5d %5d %5s %9.1f %s / all\n", d->name, d->domid,
		       i, v[i].cpu,
		       d->state & PVIO_DOMSTATE_PAUSED ? "--p" :
		       v[i].state == 'R' ? "r--" : "-b-",
		       v[i].seconds, aff);
	}
}

static int vcpu_list_run(int argc, char **argv)
{
	struct pvio_domain_info info, *v;
	struct pvio_hv *hv;
	unsigned int n, i;
	int ret;
	int opt_rc = pvio_args_plain(&cmd_vcpu_list, &argc, &argv);

	if (opt_rc >= 0)
		return opt_rc;

	if (argc > 2)
		return pvio_cmd_usage(&cmd_vcpu_list);
	if (pvio_cli_connect(&hv) < 0)
		return 1;
	/* xl's layout, which scripts parse */
	printf("%-32s %5s %5s %5s %5s %9s %s\n", "Name", "ID", "VCPU", "CPU",
	       "State", "Time(s)", "Affinity (Hard / Soft)");
	if (argc == 2) {
		ret = vcpu_domain(hv, argv[1], &info);
		if (ret) {
			pvio_hv_close(hv);
			return 1;
		}
		vcpu_list_one(&info);
	} else if (pvio_domain_list(hv, &v, &n) == 0) {
		for (i = 0; i < n; i++)
			vcpu_list_one(&v[i]);
		free(v);
	}
	pvio_hv_close(hv);
	return 0;
}

static int vcpu_pin_run(int argc, char **argv)
{
	struct vcpu_thread v[VCPU_MAX];
	struct pvio_domain_info info;
	struct pvio_hv *hv;
	cpu_set_t set;
	char *end;
	unsigned long idx;
	int ret, n;
	int opt_rc = pvio_args_plain(&cmd_vcpu_pin, &argc, &argv);

	if (opt_rc >= 0)
		return opt_rc;

	if (argc != 4)
		return pvio_cmd_usage(&cmd_vcpu_pin);
	if (cpuset_parse(argv[3], &set)) {
		fprintf(stderr, "pvio vcpu-pin: bad CPU list %s (e.g. 0, 0-1, 0,2, all)\n",
			argv[3]);
		return 2;
	}
	if (pvio_cli_connect(&hv) < 0)
		return 1;
	ret = vcpu_domain(hv, argv[1], &info);
	pvio_hv_close(hv);
	if (ret || info.type != PVIO_DOMTYPE_VM || info.pid <= 0) {
		fprintf(stderr, "pvio vcpu-pin: %s is not a running VM\n", argv[1]);
		return 1;
	}
	n = vcpu_threads(info.pid, v);
	idx = strtoul(argv[2], &end, 10);
	if (*end || !*argv[2] || n <= 0 || idx >= (unsigned long)n ||
	    !v[idx].tid) {
		fprintf(stderr, "pvio vcpu-pin: domain %u has no vCPU %s\n",
			info.domid, argv[2]);
		return 1;
	}
	if (sched_setaffinity(v[idx].tid, sizeof(set), &set) < 0) {
		fprintf(stderr, "pvio vcpu-pin: thread %d: %s\n", (int)v[idx].tid,
			strerror(errno));
		return 1;
	}
	return 0;
}

/* ---- vcpu-set: QEMU CPU hotplug ---- */

/* One QMP command through hv: 0 with *@ret, else -errno (printed). */
static int vcpu_qmp(struct pvio_hv *hv, pvio_domid_t id, json_t *req,
		    json_t **ret)
{
	char *text = json_dumps(req, JSON_COMPACT), *reply = NULL;
	json_t *r;
	int rc;

	json_decref(req);
	if (!text)
		return -ENOMEM;
	rc = pvio_domain_qmp(hv, id, text, &reply);
	free(text);
	r = reply ? json_loads(reply, 0, NULL) : NULL;
	free(reply);
	if (rc == -EIO)
		fprintf(stderr, "pvio vcpu-set: QEMU: %s\n",
			json_string_value(json_object_get(json_object_get(r, "error"),
							  "desc")));
	else if (rc)
		fprintf(stderr, "pvio vcpu-set: %s\n", strerror(-rc));
	else if (ret)
		*ret = json_incref(json_object_get(r, "return"));
	json_decref(r);
	return rc;
}

static json_int_t prop(json_t *cpu, const char *key)
{
	json_t *v = json_object_get(json_object_get(cpu, "props"), key);

	return json_is_integer(v) ? json_integer_value(v) : 0;
}

/* Slots in (socket, core, thread) order: the guest's CPU numbering. */
static int slot_cmp(const void *a, const void *b)
{
	json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	static const char *const keys[] = { "socket-id", "core-id", "thread-id" };

	for (unsigned int i = 0; i < 3; i++) {
		json_int_t p = prop(x, keys[i]), q = prop(y, keys[i]);

		if (p != q)
			return p < q ? -1 : 1;
	}
	return 0;
}

/* The CPU slots QEMU has, sorted; *@present how many hold a vCPU. */
static int cpu_slots(struct pvio_hv *hv, pvio_domid_t id, json_t **arr,
		     json_t ***slots, unsigned int *n, unsigned int *present)
{
	json_t *cpu;
	size_t i;
	int rc = vcpu_qmp(hv, id, json_pack("{s:s}", "execute",
					     "query-hotpluggable-cpus"), arr);

	if (rc)
		return rc;
	*n = (unsigned int)json_array_size(*arr);
	*slots = calloc(*n ? *n : 1, sizeof(**slots));
	if (!*slots)
		return -ENOMEM;
	*present = 0;
	json_array_foreach(*arr, i, cpu) {
		(*slots)[i] = cpu;
		*present += json_is_string(json_object_get(cpu, "qom-path"));
	}
	qsort(*slots, *n, sizeof(**slots), slot_cmp);
	return 0;
}

/* libxl's cpu/N/availability for the guest's own view. */
static void vcpu_store(pvio_domid_t id, unsigned int online, unsigned int max)
{
	struct xs_handle *xs;

	if (pvio_domstore_open(pvio_opt_rundir, &xs))
		return;
	for (unsigned int c = 0; c < max; c++) {
		char path[96];
		const char *v = c < online ? "online" : "offline";

		snprintf(path, sizeof(path), "/local/domain/%u/cpu/%u/availability",
			 id, c);
		xs_write(xs, XS_TXN_NULL, path, v, strlen(v));
	}
	xs_close(xs);
}

static int vcpu_set_run(int argc, char **argv)
{
	struct pvio_domain_info info;
	unsigned int n, present, want;
	json_t *arr = NULL, **slots = NULL;
	struct pvio_hv *hv;
	char *end;
	long v;
	int o, code = 0, rc;

	while ((o = pvio_getopt(&cmd_vcpu_set, argc, argv, "", NULL, &code)) != -1)
		if (o == -2)
			return code;
	if (argc - optind != 2)
		return pvio_cmd_usage(&cmd_vcpu_set);
	v = strtol(argv[optind + 1], &end, 10);
	if (!*argv[optind + 1] || *end) {
		fprintf(stderr, "pvio vcpu-set: '%s' is not a vCPU count\n",
			argv[optind + 1]);
		return 2;
	}
	if (v < 1)
		return 0;	/* as xl: fewer than one is quietly ignored */
	if (pvio_cli_connect(&hv) < 0)
		return 1;
	rc = vcpu_domain(hv, argv[optind], &info);
	if (!rc && info.type != PVIO_DOMTYPE_VM) {
		fprintf(stderr, "pvio vcpu-set: %s is a process domain, not a VM\n",
			argv[optind]);
		rc = -EINVAL;
	}
	if (!rc)
		rc = cpu_slots(hv, info.domid, &arr, &slots, &n, &present);
	if (rc)
		goto out;
	want = (unsigned int)v;
	if (want > n) {
		fprintf(stderr, "pvio vcpu-set: domain %u may have at most %u vCPUs (maxvcpus)\n",
			info.domid, n);
		rc = -EINVAL;
		goto out;
	}
	/* plug the first empty slots */
	for (unsigned int i = 0; i < n && present < want; i++) {
		json_t *s = slots[i], *args;
		char devid[64];

		if (json_object_get(s, "qom-path"))
			continue;
		snprintf(devid, sizeof(devid), "pvio-cpu-%lld-%lld-%lld",
			 (long long)prop(s, "socket-id"), (long long)prop(s, "core-id"),
			 (long long)prop(s, "thread-id"));
		args = json_deep_copy(json_object_get(s, "props"));
		json_object_set_new(args, "driver",
				    json_incref(json_object_get(s, "type")));
		json_object_set_new(args, "id", json_string(devid));
		rc = vcpu_qmp(hv, info.domid, json_pack("{s:s, s:o}", "execute",
							 "device_add", "arguments",
							 args), NULL);
		if (rc)
			goto out;
		present++;
	}
	/* unplug from the last: only vCPUs plugged here can go (QEMU) */
	for (unsigned int i = n; i-- > 0 && present > want;) {
		const char *path = json_string_value(json_object_get(slots[i],
								     "qom-path"));
		const char *pfx = "/machine/peripheral/";

		if (!path)
			continue;
		if (strncmp(path, pfx, strlen(pfx))) {
			fprintf(stderr, "pvio vcpu-set: domain %u booted with %u vCPUs; QEMU cannot remove those\n",
				info.domid, i + 1);
			rc = -EINVAL;
			goto out;
		}
		rc = vcpu_qmp(hv, info.domid,
			      json_pack("{s:s, s:{s:s}}", "execute", "device_del",
					"arguments", "id", path + strlen(pfx)), NULL);
		if (rc)
			goto out;
		present--;
	}
	vcpu_store(info.domid, want, n);
	/* a removal completes when the guest has ejected the CPU */
	for (int t = 0; t < 100; t++) {
		unsigned int now;

		json_decref(arr);
		free(slots);
		arr = NULL;
		slots = NULL;
		if (cpu_slots(hv, info.domid, &arr, &slots, &n, &now))
			break;
		if (now == want)
			goto out;
		usleep(100000);
	}
	fprintf(stderr, "pvio vcpu-set: the guest has not given up its vCPUs yet (it must eject them)\n");
out:
	json_decref(arr);
	free(slots);
	pvio_hv_close(hv);
	return rc ? 1 : 0;
}

static struct pvio_cmd cmd_vcpu_list = {
	.name = "vcpu-list",
	.usage = "[DOMAIN]",
	.help = "list the vCPUs of VMs: host CPU, time, affinity",
	.run = vcpu_list_run,
};
PVIO_CMD(cmd_vcpu_list)

static struct pvio_cmd cmd_vcpu_pin = {
	.name = "vcpu-pin",
	.usage = "DOMAIN VCPU CPUS",
	.help = "pin a VM's vCPU to host CPUs (e.g. 0, 0-1, all)",
	.run = vcpu_pin_run,
};
PVIO_CMD(cmd_vcpu_pin)

static struct pvio_cmd cmd_vcpu_set = {
	.name = "vcpu-set",
	.usage = "DOMAIN COUNT",
	.help = "set how many vCPUs a VM has (CPU hotplug, up to maxvcpus)",
	.run = vcpu_set_run,
};
PVIO_CMD(cmd_vcpu_set)
