// SPDX-License-Identifier: MIT
/*
 * The QEMU command line of a VM domain and its process. The guest RAM is
 * hv's memfd, inherited as fd 3 and opened by QEMU through /proc/self/fd/3
 * with share=on, so hv's mapping of the memfd sees every guest write at
 * offset gfn * 4096 (q35 below 2 GiB has no hole: the RAM is one block).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "hv_vm.h"
#include "pvio/libpvio.h"

#define VM_RAM_FD	3
#define VM_ARGV_MAX	(48 + PVIO_DM_ARGS_MAX)

static int argv_add(char **argv, int *n, const char *fmt, ...)
{
	va_list ap;
	int r;

	if (*n >= VM_ARGV_MAX - 1)
		return -E2BIG;
	va_start(ap, fmt);
	r = vasprintf(&argv[*n], fmt, ap);
	va_end(ap);
	if (r < 0) {
		argv[*n] = NULL;
		return -ENOMEM;
	}
	(*n)++;
	argv[*n] = NULL;
	return 0;
}

/* Append the checked extra words to argv. */
static int argv_add_dm(char **argv, int *n, const char *args)
{
	const char *p = args;
	int r = 0;

	while (*p) {
		size_t len = strcspn(p, "\n");

		r |= argv_add(argv, n, "%.*s", (int)len, p);
		p += len + (p[len] ? 1 : 0);
	}
	return r;
}

void hv_vm_argv_free(char **argv)
{
	char **p;

	if (!argv)
		return;
	for (p = argv; *p; p++)
		free(*p);
	free(argv);
}


/*
 * The accelerator: $PVIO_ACCEL if set ("kvm", "tcg", or any -accel value),
 * else KVM when /dev/kvm is usable and the CPU shows hardware
 * virtualisation (a /dev/kvm without vmx/svm, as in some nested setups,
 * starts guests that never run), else multi-threaded TCG.
 */
const char *hv_vm_accel(void)
{
	static const char *accel;
	const char *env = getenv("PVIO_ACCEL");
	char line[4096];
	bool hw = false;
	FILE *f;

	if (env && *env)
		return !strcmp(env, "tcg") ? "tcg,thread=multi" : env;
	if (accel)
		return accel;
	accel = "tcg,thread=multi";
	if (access("/dev/kvm", R_OK | W_OK) < 0)
		return accel;
	f = fopen("/proc/cpuinfo", "r");
	if (!f)
		return accel;
	while (!hw && fgets(line, sizeof(line), f))
		if (!strncmp(line, "flags", 5))
			hw = strstr(line, " vmx") || strstr(line, " svm");
	fclose(f);
	if (hw)
		accel = "kvm";
	return accel;
}

char **hv_vm_argv(const struct hv_vm_launch *l)
{
	const char *qemu = l->qemu;
	unsigned long long kib = l->mem_bytes >> 10;
	unsigned int vcpus, max_vcpus;
	char **argv;
	int n = 0, r = 0;

	if (!qemu || !*qemu)
		qemu = getenv("PVIO_QEMU");
	if (!qemu || !*qemu)
		qemu = "qemu-system-x86_64";
	argv = calloc(VM_ARGV_MAX, sizeof(*argv));
	if (!argv)
		return NULL;
	r |= argv_add(argv, &n, "%s", qemu);
	/* named threads ("CPU 0/TCG"): pvio vcpu-list finds vCPUs by name */
	r |= argv_add(argv, &n, "-name");
	r |= argv_add(argv, &n, "pvio,debug-threads=on");
	r |= argv_add(argv, &n, "-accel");
	r |= argv_add(argv, &n, "%s", hv_vm_accel());
	r |= argv_add(argv, &n, "-machine");
	r |= argv_add(argv, &n, "q35,memory-backend=ram");
	r |= argv_add(argv, &n, "-object");
	/* align: 2 MiB entries for a file in huge pages (hv_vm.c) */
	r |= argv_add(argv, &n, "memory-backend-file,id=ram,size=%lluK,"
		      "mem-path=/proc/self/fd/%d,share=on%s", kib, VM_RAM_FD,
		      l->ram_huge ? ",align=2M" : "");
	r |= argv_add(argv, &n, "-m");
	r |= argv_add(argv, &n, "%lluK", kib);
	r |= argv_add(argv, &n, "-smp");
	vcpus = l->vcpus ? l->vcpus : 1;
	max_vcpus = l->max_vcpus > vcpus ? l->max_vcpus : vcpus;
	/*
	 * TCG translates a guest whose machine can only ever have one vCPU
	 * without host barriers or atomic instructions: nothing else runs
	 * its code, as far as QEMU knows. But the guest shares its rings
	 * with backends running on other host CPUs, and the ring protocol's
	 * full barriers (publish an index, then read the peer's event) must
	 * be real ones, or both ends miss the other's update and an event
	 * is lost. A second possible vCPU (offline) makes TCG emit them.
	 */
	if (max_vcpus < 2 && strncmp(hv_vm_accel(), "kvm", 3))
		max_vcpus = 2;
	if (max_vcpus > vcpus)
		r |= argv_add(argv, &n, "%u,maxcpus=%u", vcpus, max_vcpus);
	else
		r |= argv_add(argv, &n, "%u", vcpus);
	r |= argv_add(argv, &n, "-nodefaults");
	r |= argv_add(argv, &n, "-display");
	r |= argv_add(argv, &n, "none");
	/* a guest reboot ends QEMU; hv turns that into the domain's end */
	r |= argv_add(argv, &n, "-no-reboot");
	r |= argv_add(argv, &n, "-kernel");
	r |= argv_add(argv, &n, "%s", l->kernel);
	if (l->ramdisk && *l->ramdisk) {
		r |= argv_add(argv, &n, "-initrd");
		r |= argv_add(argv, &n, "%s", l->ramdisk);
	}
	r |= argv_add(argv, &n, "-append");
	r |= argv_add(argv, &n, "console=ttyS0 panic=-1 %s",
		      l->cmdline ? l->cmdline : "");
	r |= argv_add(argv, &n, "-serial");
	r |= argv_add(argv, &n, "file:%s", l->console_log);
	r |= argv_add(argv, &n, "-chardev");
	r |= argv_add(argv, &n, "socket,path=%s,id=pvio", l->ivshmem_sock);
	r |= argv_add(argv, &n, "-device");
	/*
	 * master=on: the platform region is migrated with the guest's RAM
	 * (a peer ivshmem device would block migration).
	 */
	r |= argv_add(argv, &n, "ivshmem-doorbell,chardev=pvio,vectors=%u,"
		      "master=on", l->vectors);
	r |= argv_add(argv, &n, "-qmp");
	r |= argv_add(argv, &n, "unix:%s,server=on,wait=off", l->qmp_sock);
	if (l->migrate_qmp_sock && *l->migrate_qmp_sock) {
		/* hv holds the first monitor; the toolstack migrates here */
		r |= argv_add(argv, &n, "-qmp");
		r |= argv_add(argv, &n, "unix:%s,server=on,wait=off",
			      l->migrate_qmp_sock);
	}
	if (l->start_paused || l->incoming)
		r |= argv_add(argv, &n, "-S");
	if (l->incoming) {
		r |= argv_add(argv, &n, "-incoming");
		r |= argv_add(argv, &n, "defer");
	}
	if (l->dm_args && *l->dm_args) {
		if (pvio_dm_args_check(l->dm_args, strlen(l->dm_args) + 1, NULL))
			r |= -EINVAL;
		else
			r |= argv_add_dm(argv, &n, l->dm_args);
	}
	if (r) {
		hv_vm_argv_free(argv);
		return NULL;
	}
	return argv;
}

int hv_vm_spawn(const struct hv_vm_launch *l, pid_t *pid)
{
	char **argv;
	char *qlog;
	pid_t p;
	int logfd;

	if (!l->kernel || !*l->kernel || l->ram_fd < 0 || l->mem_bytes < (16u << 20))
		return -EINVAL;
	if (l->vcpus > PVIO_MAX_VCPUS || l->max_vcpus > PVIO_MAX_VCPUS ||
	    l->vectors == 0)
		return -EINVAL;
	if (l->dm_args && pvio_dm_args_check(l->dm_args, strlen(l->dm_args) + 1, NULL))
		return -EINVAL;
	argv = hv_vm_argv(l);
	if (!argv)
		return -ENOMEM;
	if (asprintf(&qlog, "%s.qemu", l->console_log) < 0) {
		hv_vm_argv_free(argv);
		return -ENOMEM;
	}
	logfd = open(qlog, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	free(qlog);
	if (logfd < 0) {
		int ret = -errno;

		hv_vm_argv_free(argv);
		return ret;
	}
	p = fork();
	if (p == 0) {
		/* child: only async-signal-safe calls until exec */
		int nullfd = open("/dev/null", O_RDONLY);

		if (nullfd >= 0)
			dup2(nullfd, 0);
		dup2(logfd, 1);
		dup2(logfd, 2);
		if (dup2(l->ram_fd, VM_RAM_FD) < 0)
			_exit(127);
		/* dup2 clears FD_CLOEXEC on the copy unless the fds are equal */
		if (l->ram_fd == VM_RAM_FD)
			fcntl(VM_RAM_FD, F_SETFD, 0);
		/* QEMU must not outlive hv: a dead hv cannot serve its guest */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		setpgid(0, 0);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(logfd);
	hv_vm_argv_free(argv);
	if (p < 0)
		return -errno;
	*pid = p;
	return 0;
}
