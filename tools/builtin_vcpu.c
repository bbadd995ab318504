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

#define VCPU_MAX	PVIO_MAX_VCPUS

struct vcpu_thread {
	pid_t tid;
	int cpu;			/* last CPU it ran on */
	double seconds;			/* user + system time */
};

static struct pvio_cmd cmd_vcpu_list, cmd_vcpu_pin;

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
		if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu "
				 "%*d %*d %*d %*d %*d %*d %*u %*u %*d %*u %*u %*u %*u %*u %*u "
				 "%*u %*u %*u %*u %*u %*u %*u %*d %d", &ut, &st, &cpu) != 3)
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
		printf("%-24s %5u %5d %5d %5s %9.1f %s\n", d->name, d->domid, i,
		       v[i].cpu,
		       d->state & PVIO_DOMSTATE_PAUSED ? "p" : "r",
		       v[i].seconds, aff);
	}
}

static int vcpu_list_run(int argc, char **argv)
{
	struct pvio_domain_info info, *v;
	struct pvio_hv *hv;
	unsigned int n, i;
	int ret;

	if (argc > 2)
		return pvio_cmd_usage(&cmd_vcpu_list);
	if (pvio_cli_connect(&hv) < 0)
		return 1;
	printf("%-24s %5s %5s %5s %5s %9s %s\n", "Name", "ID", "VCPU", "CPU",
	       "State", "Time(s)", "Affinity");
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
