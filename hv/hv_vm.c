// SPDX-License-Identifier: MIT
/*
 * The VM domain type of pvio-hv: a QEMU guest whose RAM is hv's memfd and
 * whose platform device is served by hv (hv_ivshmem.c). Hypercalls arrive
 * as doorbells and are executed with the same code process domains use;
 * events to the VM are marked pending in its shared info and raised as
 * MSI-X vectors; QMP drives pause, shutdown and vCPU queries; QEMU's exit
 * releases the domain.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hv.h"
#include "hv_vm.h"
#include "hv_vm_platform.h"

/* RAM file offset = gfn * 4096 only while q35 keeps all RAM below 4 GiB */
#define VM_MAX_MEM	(2048ull << 20)
#define VM_MIN_MEM	(64ull << 20)
#define VM_START_TIMEOUT_MS	20000

struct hv_vm {
	struct hv_domain *d;
	char dir[PATH_MAX];
	struct hv_ivshmem *ivs;
	struct hv_qmp *qmp;
	pid_t pid;
	int pidfd;
	struct hv_watch *w_conn, *w_doorbell, *w_exit, *w_qmp;
	bool vcpus_stale;		/* CPU hotplug happened: recount */
	/* receive eventfds of the VM's bound ports, watched for delivery */
	struct hv_watch **w_port;
	/* the guest's suspend: held while armed (save, migration) */
	bool suspend_armed;
	int suspend_slot;		/* the slot holding it, -1 if none */
	/*
	 * Ports bound by a dom0 client whose eventfd QEMU was given as a
	 * doorbell peer (peer[port], 0 if none), and those of them the guest
	 * is not told about yet because QEMU has not read the announcement
	 * (unsettled; the timer looks again). Peer ids are never reused.
	 */
	uint16_t peer[PVIO_DIRECT_PORTS];
	uint64_t unsettled[PVIO_DIRECT_PORTS / 64];
	uint32_t next_peer;
	int timer_fd;
	struct hv_watch *w_timer;
	unsigned int settle_ticks;
};

#define SETTLE_TICK_NS		1000000		/* 1 ms */
#define SETTLE_MAX_TICKS	5000		/* then the hv path stays */

static struct hv_vm *vm_of(struct hv_domain *d)
{
	return d->type_data;
}

/* ---- event delivery into the guest ---- */

/*
 * The vCPU whose vector carries @port's events: the one the guest bound
 * it to (EVTCHNOP_bind_vcpu), vCPU 0 if that has no vector.
 */
static unsigned int vm_port_vcpu(struct hv_vm *vm, uint32_t port)
{
	unsigned int v = hv_evtchn_vcpu(vm->d, port);

	return vm->ivs && v < hv_ivshmem_vectors(vm->ivs) ? v : 0;
}

static void vm_deliver(struct hv_vm *vm, uint32_t port)
{
	unsigned int v = vm_port_vcpu(vm, port);

	if (pvio_platform_set_pending(vm->d->plat, v, port))
		hv_ivshmem_raise(vm->ivs, v);
}

struct vm_port_arg {
	struct hv_vm *vm;
	uint32_t port;
};

static void vm_port_event(void *arg, uint32_t events)
{
	const struct vm_port_arg *a = arg;
	int fd = hv_evtchn_recv_fd(a->vm->d, a->port);
	uint64_t v;

	if (fd < 0 || read(fd, &v, sizeof(v)) != sizeof(v))
		return;
	vm_deliver(a->vm, a->port);
}

static struct vm_port_arg *vm_port_args(struct hv_vm *vm)
{
	/* allocated behind the watch pointers, see vm_start() */
	return (struct vm_port_arg *)(vm->w_port + PVIO_EVTCHN_MAX_PORTS);
}

static void vm_port_unwatch(struct hv_vm *vm, uint32_t port)
{
	if (!vm->w_port[port])
		return;
	hv_watch_del(vm->w_port[port]);
	vm->w_port[port] = NULL;
}

/* ---- notifications from the guest straight to dom0 clients ---- */

static uint16_t *direct_peer(struct hv_vm *vm, uint32_t port)
{
	struct pvio_shared_info *sh = vm->d->plat;

	return &sh->evtchn_peer[port];
}

static void timer_arm(struct hv_vm *vm)
{
	struct itimerspec it = { .it_value.tv_nsec = SETTLE_TICK_NS };

	if (vm->timer_fd >= 0)
		timerfd_settime(vm->timer_fd, 0, &it, NULL);
}

/* The guest stops ringing @port's peer, then QEMU forgets the peer. */
static void direct_revoke(struct hv_vm *vm, uint32_t port)
{
	if (port >= PVIO_DIRECT_PORTS)
		return;
	__atomic_store_n(direct_peer(vm, port), 0, __ATOMIC_SEQ_CST);
	vm->unsettled[port / 64] &= ~(1ull << (port % 64));
	if (!vm->peer[port])
		return;
	/* late doorbells hit an eventfd hv no longer polls for anyone */
	hv_ivshmem_peer_del(vm->ivs, vm->peer[port]);
	vm->peer[port] = 0;
}

/*
 * A dom0 client bound @port: give QEMU its eventfd as a new doorbell
 * peer; the guest learns the peer (evtchn_peer) once QEMU has read that.
 */
static void direct_announce(struct hv_vm *vm, uint32_t port)
{
	int fd = hv_evtchn_dom0_peer_fd(vm->d, port);

	direct_revoke(vm, port);
	if (!hv_evtchn_direct_on || port >= PVIO_DIRECT_PORTS)
		return;
	if (vm->next_peer > PVIO_PORT_PEER_LAST) {
		if (vm->next_peer++ == PVIO_PORT_PEER_LAST + 1)
			hv_log("domain %u: doorbell peer ids used up: events go through hv",
			       vm->d->domid);
		return;
	}
	if (fd < 0 || !vm->ivs || vm->timer_fd < 0 ||
	    hv_ivshmem_peer_add(vm->ivs, vm->next_peer, fd))
		return;
	vm->peer[port] = (uint16_t)vm->next_peer++;
	vm->unsettled[port / 64] |= 1ull << (port % 64);
	vm->settle_ticks = 0;
	timer_arm(vm);
}

static void vm_settle_event(void *arg, uint32_t events)
{
	struct hv_vm *vm = arg;
	uint64_t ticks;
	int ret;

	if (read(vm->timer_fd, &ticks, sizeof(ticks)) != sizeof(ticks))
		return;
	ret = hv_ivshmem_settled(vm->ivs);
	if (ret == 0 && ++vm->settle_ticks < SETTLE_MAX_TICKS) {
		timer_arm(vm);
		return;
	}
	if (ret != 1)
		hv_log("domain %u: QEMU does not read its platform socket: events keep going through hv",
		       vm->d->domid);
	for (uint32_t p = 0; p < PVIO_DIRECT_PORTS; p++) {
		if (!(vm->unsettled[p / 64] & (1ull << (p % 64))))
			continue;
		if (ret == 1)
			__atomic_store_n(direct_peer(vm, p), vm->peer[p],
					 __ATOMIC_SEQ_CST);
		vm->unsettled[p / 64] &= ~(1ull << (p % 64));
	}
}

static void vm_evtchn_bound(struct hv_domain *d, pvio_evtchn_port_t port)
{
	struct hv_vm *vm = vm_of(d);
	struct vm_port_arg *args;
	int fd;

	if (!vm || port >= PVIO_EVTCHN_MAX_PORTS)
		return;
	args = vm_port_args(vm);
	vm_port_unwatch(vm, port);
	fd = hv_evtchn_recv_fd(d, port);
	if (fd < 0)
		return;
	args[port].vm = vm;
	args[port].port = port;
	vm->w_port[port] = hv_watch_add(fd, vm_port_event, &args[port]);
	if (!vm->w_port[port])
		hv_log("domain %u: cannot watch port %u", d->domid, port);
	direct_announce(vm, port);
}

static void vm_evtchn_closed(struct hv_domain *d, pvio_evtchn_port_t port)
{
	struct hv_vm *vm = vm_of(d);

	if (vm && port < PVIO_EVTCHN_MAX_PORTS) {
		direct_revoke(vm, port);
		vm_port_unwatch(vm, port);
	}
}

/* dom0 signals the guest itself, on the vector of the port's vCPU */
static int vm_evtchn_direct(struct hv_domain *d, pvio_evtchn_port_t port,
			    int *plat_fd, int *vector_fd, unsigned int *vcpu)
{
	struct hv_vm *vm = vm_of(d);

	if (!vm || !vm->ivs || d->plat_fd < 0)
		return -ENODEV;
	*vcpu = vm_port_vcpu(vm, port);
	*plat_fd = d->plat_fd;
	*vector_fd = hv_ivshmem_vector_fd(vm->ivs, *vcpu);
	return *vector_fd >= 0 ? 0 : -ENODEV;
}

/* ---- hypercalls ---- */

static int64_t vm_gnttab_setup(struct hv_domain *d, const struct hv_vm_hcall *hc)
{
	uint64_t gfn[PVIO_GNTTAB_MAX_FRAMES];
	void *p;

	if (hc->arg[0] > PVIO_GNTTAB_MAX_FRAMES)
		return -EINVAL;
	if (hv_vm_hcall_arg(hc, hc->arg[1], hc->arg[0] * sizeof(gfn[0]), &p))
		return -EFAULT;
	/* copy once out of guest-writable memory, then validate */
	memcpy(gfn, p, hc->arg[0] * sizeof(gfn[0]));
	return hv_gnttab_setup(d, gfn, (uint32_t)hc->arg[0]);
}

int64_t hv_vm_hcall(struct hv_domain *d, const struct hv_vm_hcall *hc)
{
	hv_nr_hypercalls++;
	switch (hc->op) {
	case PVIO_HC_VERSION:
		return PVIO_HV_VERSION_MAJOR << 16 | PVIO_HV_VERSION_MINOR;
	case PVIO_HC_EVTCHN:
		if (hc->arg[0] > UINT32_MAX)
			return -EINVAL;
		return hv_evtchn_domain_op(d, (uint32_t)hc->arg[0], hc->arg[1],
					   hc->arg[2]);
	case PVIO_HC_GNTTAB_SETUP:
		return vm_gnttab_setup(d, hc);
	case PVIO_HC_SCHED_SHUTDOWN:
		if (hc->arg[0] > PVIO_SHUTDOWN_CRASH)
			return -EINVAL;
		if (hc->arg[0] == PVIO_SHUTDOWN_SUSPEND) {
			struct hv_vm *vm = vm_of(d);

			/* nobody is saving us: "cancelled", carry on */
			if (!vm || !vm->suspend_armed || vm->suspend_slot >= 0)
				return 1;
			vm->suspend_slot = (int)hc->slot;
			d->shutdown_reason = PVIO_SHUTDOWN_SUSPEND;
			d->state |= PVIO_DOMSTATE_SHUTDOWN;
			hv_log("domain %u: suspended (slot %u)", d->domid,
			       hc->slot);
			return HV_VM_HCALL_HELD;
		}
		d->shutdown_reason = (uint32_t)hc->arg[0];
		d->state |= PVIO_DOMSTATE_SHUTDOWN;
		return 0;
	case PVIO_HC_DOMCTL:
		return -EPERM;
	}
	return -ENOSYS;
}

static int64_t vm_hcall(void *ctx, const struct hv_vm_hcall *hc)
{
	struct hv_vm *vm = ctx;

	return hv_vm_hcall(vm->d, hc);
}

static void vm_send(void *ctx, uint32_t port)
{
	struct hv_vm *vm = ctx;

	hv_nr_relayed++;
	/* a bad port in the bitmap is the guest's problem, not ours */
	hv_evtchn_send(vm->d, port);
}

/* Hypercalls and sends waiting in the region. */
static void vm_serve_region(struct hv_vm *vm)
{
	unsigned int nv = hv_ivshmem_vectors(vm->ivs);
	uint32_t done;
	unsigned int i;

	done = hv_vm_hcall_scan(vm->d->plat, vm->d->cfg.max_vcpus, vm_hcall, vm);
	/* wake the waiter: slot i waits on vector i (0 if it has none) */
	for (i = 0; i < PVIO_MAX_VCPUS; i++)
		if (done & (1u << i))
			hv_ivshmem_raise(vm->ivs, i < nv ? i : 0);
	hv_vm_send_scan(vm->d->plat, vm_send, vm);
}

static void vm_doorbell(void *arg, uint32_t events)
{
	struct hv_vm *vm = arg;

	if (!hv_ivshmem_doorbell_ack(vm->ivs))
		return;
	vm_serve_region(vm);
}

static void vm_serve(struct hv_domain *d)
{
	struct hv_vm *vm = vm_of(d);

	if (vm && d->plat)
		vm_serve_region(vm);
}

/* ---- QEMU's lifetime ---- */

static void vm_conn_event(void *arg, uint32_t events)
{
	struct hv_vm *vm = arg;
	char c;

	/* QEMU sends nothing after setup: data or hangup means it is gone */
	if (recv(hv_ivshmem_conn_fd(vm->ivs), &c, 1, MSG_DONTWAIT) < 0 &&
	    errno == EAGAIN)
		return;
	hv_watch_del(vm->w_conn);
	vm->w_conn = NULL;
	hv_ivshmem_disconnect(vm->ivs);
}

static void vm_accept_qemu(struct hv_vm *vm)
{
	int ret = hv_ivshmem_accept(vm->ivs);

	if (ret) {
		hv_log("domain %u: ivshmem setup failed: %s", vm->d->domid,
		       strerror(-ret));
		return;
	}
	hv_watch_del(vm->w_conn);
	vm->w_conn = hv_watch_add(hv_ivshmem_conn_fd(vm->ivs), vm_conn_event,
				  vm);
}

static void vm_exit_event(void *arg, uint32_t events)
{
	struct hv_vm *vm = arg;
	struct hv_domain *d = vm->d;
	int status;

	if (waitpid(vm->pid, &status, WNOHANG) != vm->pid)
		return;
	vm->pid = 0;
	if (WIFEXITED(status))
		hv_log("domain %u (%s): QEMU exited with status %d", d->domid,
		       d->cfg.name, WEXITSTATUS(status));
	else
		hv_log("domain %u (%s): QEMU killed by signal %d", d->domid,
		       d->cfg.name, WTERMSIG(status));
	/* the guest is gone: release its ports, grants and memory */
	hv_domain_kill(d);
}

/* ---- QMP: one connection per VM, kept open, events logged ---- */

static void vm_qmp_drop(struct hv_vm *vm)
{
	hv_watch_del(vm->w_qmp);
	vm->w_qmp = NULL;
	hv_qmp_close(vm->qmp);
	vm->qmp = NULL;
}

static void vm_qmp_event(void *arg, json_t *ev)
{
	struct hv_vm *vm = arg;
	struct hv_domain *d = vm->d;
	const char *name = json_string_value(json_object_get(ev, "event"));
	json_t *data = json_object_get(ev, "data");
	const char *reason = json_string_value(json_object_get(data, "reason"));

	hv_log("domain %u (%s): QMP event %s%s%s", d->domid, d->cfg.name,
	       name, reason ? " " : "", reason ? reason : "");
	if (!strcmp(name, "DEVICE_DELETED") || !strcmp(name, "ACPI_DEVICE_OST"))
		vm->vcpus_stale = true;	/* maybe a vCPU went (vcpu-set) */
	if (!strcmp(name, "GUEST_PANICKED")) {
		d->state |= PVIO_DOMSTATE_CRASHED;
		d->shutdown_reason = PVIO_SHUTDOWN_CRASH;
	} else if (!strcmp(name, "SHUTDOWN") && reason &&
		   json_is_true(json_object_get(data, "guest"))) {
		/* the guest's own poweroff or reboot (-no-reboot ends QEMU) */
		d->state |= PVIO_DOMSTATE_SHUTDOWN;
		d->shutdown_reason = !strcmp(reason, "guest-reset") ?
				     PVIO_SHUTDOWN_REBOOT :
				     !strcmp(reason, "guest-panic") ?
				     PVIO_SHUTDOWN_CRASH : PVIO_SHUTDOWN_POWEROFF;
	}
}

static void vm_qmp_readable(void *arg, uint32_t events)
{
	struct hv_vm *vm = arg;

	/* events go to vm_qmp_event; a closed connection is reopened lazily */
	if (hv_qmp_pump(vm->qmp))
		vm_qmp_drop(vm);
}

static int vm_qmp_open(struct hv_vm *vm)
{
	char path[PATH_MAX + 16];
	int ret;

	if (vm->qmp)
		return 0;
	snprintf(path, sizeof(path), "%s/qmp.sock", vm->dir);
	ret = hv_qmp_connect(path, 5000, &vm->qmp);
	if (ret)
		return ret;
	hv_qmp_set_event_fn(vm->qmp, vm_qmp_event, vm);
	vm->w_qmp = hv_watch_add(hv_qmp_fd(vm->qmp), vm_qmp_readable, vm);
	if (!vm->w_qmp) {
		vm_qmp_drop(vm);
		return -ENOMEM;
	}
	return 0;
}

static int vm_qmp_call(struct hv_vm *vm, const char *cmd, json_t *args,
		       json_t **ret, char *err, size_t errlen)
{
	int r = vm_qmp_open(vm);

	if (r) {
		snprintf(err, errlen, "no QMP connection: %s", strerror(-r));
		return r;
	}
	r = hv_qmp_call(vm->qmp, cmd, args, ret, HV_QMP_TIMEOUT_MS, err, errlen);
	if (r && r != -EIO)
		vm_qmp_drop(vm);	/* transport broken: reconnect next time */
	return r;
}

static int vm_qmp(struct hv_vm *vm, const char *cmd)
{
	char err[256];
	int ret = vm_qmp_call(vm, cmd, NULL, NULL, err, sizeof(err));

	if (ret)
		hv_log("domain %u: QMP %s: %s", vm->d->domid, cmd, err);
	return ret;
}

/* Running or paused, as QEMU says (after a command that may change it). */
static void vm_refresh_state(struct hv_vm *vm)
{
	struct hv_domain *d = vm->d;
	int r = vm->qmp ? hv_qmp_running(vm->qmp) : -ENOTCONN;

	if (r == 1)
		d->state = (d->state & ~PVIO_DOMSTATE_PAUSED) |
			   PVIO_DOMSTATE_RUNNING;
	else if (r == 0)
		d->state = (d->state & ~PVIO_DOMSTATE_RUNNING) |
			   PVIO_DOMSTATE_PAUSED;
}

/*
 * dom0's QMP pass-through (qemu-monitor-command, vcpu-set): the command
 * is re-built from the parsed text, so only "execute" and "arguments"
 * reach QEMU and the id is ours.
 */
static int vm_qmp_raw(struct hv_domain *d, const char *text, size_t len,
		      char **reply)
{
	struct hv_vm *vm = vm_of(d);
	json_error_t jerr;
	json_t *cmd, *args, *ret = NULL, *out;
	const char *name, *key;
	char err[512];
	json_t *v;
	int r;

	*reply = NULL;
	if (!vm)
		return -ESRCH;
	cmd = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(cmd)) {
		json_decref(cmd);
		return -EINVAL;
	}
	name = json_string_value(json_object_get(cmd, "execute"));
	args = json_object_get(cmd, "arguments");
	r = name && *name && (!args || json_is_object(args)) &&
	    strcmp(name, "qmp_capabilities") ? 0 : -EINVAL;
	json_object_foreach(cmd, key, v)
		if (strcmp(key, "execute") && strcmp(key, "arguments"))
			r = -EINVAL;
	if (!r)
		r = vm_qmp_call(vm, name, args, &ret, err, sizeof(err));
	json_decref(cmd);
	if (r && r != -EIO)
		return r;
	out = r ? json_pack("{s:{s:s}}", "error", "desc", err) :
		  json_pack("{s:o}", "return", ret ? ret : json_object());
	*reply = out ? json_dumps(out, JSON_COMPACT) : NULL;
	json_decref(out);
	if (!*reply)
		return -ENOMEM;
	vm_refresh_state(vm);
	vm->vcpus_stale = true;	/* the command may have added a vCPU */
	return r;
}

/* Online vCPUs as QEMU counts them, after CPU hotplug (vcpu-set). */
static void vm_refresh(struct hv_domain *d)
{
	struct hv_vm *vm = vm_of(d);
	pid_t tids[PVIO_MAX_VCPUS];
	int n;

	if (!vm || !vm->vcpus_stale || !vm->qmp)
		return;
	vm->vcpus_stale = false;
	n = hv_qmp_vcpu_tids(vm->qmp, tids, PVIO_MAX_VCPUS);
	if (n > 0) {
		unsigned int online = 0;

		for (int i = 0; i < n; i++)
			online += tids[i] > 0;
		d->cfg.vcpus = online;
	}
}

static void vm_free(struct hv_vm *vm)
{
	char path[PATH_MAX + 32];
	unsigned int p;

	for (p = 0; p < PVIO_EVTCHN_MAX_PORTS; p++)
		vm_port_unwatch(vm, p);
	hv_watch_del(vm->w_timer);
	if (vm->timer_fd >= 0)
		close(vm->timer_fd);
	hv_watch_del(vm->w_exit);
	hv_watch_del(vm->w_doorbell);
	hv_watch_del(vm->w_conn);
	vm_qmp_drop(vm);
	hv_ivshmem_close(vm->ivs);
	if (vm->pid > 0) {
		kill(vm->pid, SIGKILL);
		waitpid(vm->pid, NULL, 0);
	}
	if (vm->pidfd >= 0)
		close(vm->pidfd);
	snprintf(path, sizeof(path), "%s/qmp.sock", vm->dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/qmp-migrate.sock", vm->dir);
	unlink(path);
	/* the console log stays for `pvio console` and post-mortems */
	free(vm->w_port);
	free(vm);
}

/*
 * Guest RAM in huge pages. A memfd lives on the kernel's internal tmpfs,
 * whose transparent huge pages the host's shmem_enabled setting governs
 * (Debian: never), so a VM's RAM would be mapped page by page in QEMU,
 * hv and every backend: a TLB miss per 4 KiB of every copy, and one
 * fault per 4 KiB where QEMU fills RAM (a migration's destination). hv
 * mounts a tmpfs of its own with huge=always, attached nowhere (fsmount),
 * and makes each VM's RAM an unnamed file there, which the kernel maps
 * with 2 MiB entries wherever a mapping is aligned (QEMU: align=2M).
 *
 * Such a file cannot carry seals (only memfds can), so nothing stops its
 * holders from resizing it. They are hv, the guest's QEMU and dom0's
 * mappers, all trusted; the guest itself cannot reach the file. A
 * process domain's RAM, which the domain hands over itself, must still
 * be a sealed memfd (hv_domain_attach).
 *
 * PVIO_RAM_PAGES=small, or a host without fsopen, CAP_SYS_ADMIN or shmem
 * huge pages: a sealed memfd, as before.
 */
static int vm_huge_mnt = -1;	/* the tmpfs's mount fd */
static int vm_huge_err;		/* why there is none (-errno), once tried */

static int vm_huge_mount(void)
{
	const char *e = getenv("PVIO_RAM_PAGES");
	int fs, mnt = -1, rc = 0;

	if (vm_huge_mnt >= 0 || vm_huge_err)
		return vm_huge_mnt >= 0 ? 0 : vm_huge_err;
	if (e && !strcmp(e, "small")) {
		vm_huge_err = -EPERM;
		hv_log("guest RAM in 4 KiB pages (PVIO_RAM_PAGES=small)");
		return vm_huge_err;
	}
	fs = fsopen("tmpfs", FSOPEN_CLOEXEC);
	if (fs < 0) {
		rc = -errno;
	} else {
		/* size 0: no limit of its own, as for memfds */
		if (fsconfig(fs, FSCONFIG_SET_STRING, "huge", "always", 0) < 0 ||
		    fsconfig(fs, FSCONFIG_SET_STRING, "size", "0", 0) < 0 ||
		    fsconfig(fs, FSCONFIG_SET_STRING, "nr_inodes", "0", 0) < 0 ||
		    fsconfig(fs, FSCONFIG_SET_STRING, "mode", "0700", 0) < 0 ||
		    fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
			rc = -errno;
		else
			mnt = fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NODEV |
				      MOUNT_ATTR_NOEXEC | MOUNT_ATTR_NOSUID);
		if (!rc && mnt < 0)
			rc = -errno;
		close(fs);
	}
	if (rc) {
		vm_huge_err = rc;
		hv_log("guest RAM in 4 KiB pages: no huge-page tmpfs (%s)",
		       strerror(-rc));
		return rc;
	}
	vm_huge_mnt = mnt;
	hv_log("guest RAM in 2 MiB pages where it can (a tmpfs of hv's, huge=always)");
	return 0;
}

void hv_vm_ram_init(void)
{
	vm_huge_mount();
}

/* A VM's RAM file of @size bytes: huge pages if we can, else a memfd. */
static int vm_ram_file(const char *name, uint64_t size, bool *huge)
{
	int fd;

	*huge = false;
	if (!vm_huge_mount()) {
		fd = openat(vm_huge_mnt, ".", O_TMPFILE | O_RDWR | O_CLOEXEC,
			    0600);
		if (fd >= 0 && ftruncate(fd, (off_t)size) == 0) {
			*huge = true;
			return fd;
		}
		hv_log("%s: a huge-page file failed (%s), a memfd instead",
		       name, strerror(errno));
		if (fd >= 0)
			close(fd);
	}
	return hv_memfd_sealed(name, size);
}

static int vm_ram_create(struct hv_domain *d, bool *huge)
{
	char name[32];
	void *ram;
	int fd;

	snprintf(name, sizeof(name), "pvio-ram-%u", d->domid);
	/* a little more than asked for: see HV_VM_RAM_PAD */
	fd = vm_ram_file(name, d->cfg.mem_bytes + HV_VM_RAM_PAD, huge);
	if (fd < 0)
		return fd;
	d->ram_fd = fd;
	ram = mmap(NULL, d->cfg.mem_bytes + HV_VM_RAM_PAD,
		   PROT_READ | PROT_WRITE, MAP_SHARED, d->ram_fd, 0);
	if (ram == MAP_FAILED)
		return -errno;
	d->ram = ram;
	d->nr_pages = (d->cfg.mem_bytes + HV_VM_RAM_PAD) / PVIO_PAGE_SIZE;
	/* the log of dom0's writes into this RAM (migration) */
	snprintf(name, sizeof(name), "pvio-dirty-%u", d->domid);
	fd = hv_memfd_sealed(name, hv_dirty_bytes(d->nr_pages));
	if (fd < 0)
		return fd;
	d->dirty_fd = fd;
	ram = mmap(NULL, hv_dirty_bytes(d->nr_pages), PROT_READ | PROT_WRITE,
		   MAP_SHARED, d->dirty_fd, 0);
	if (ram == MAP_FAILED)
		return -errno;
	d->dirty = ram;
	return 0;
}

/* Wait for QEMU to take its platform device (it blocks on us meanwhile). */
static int vm_wait_qemu(struct hv_vm *vm)
{
	struct pollfd p[2] = {
		{ .fd = hv_ivshmem_listen_fd(vm->ivs), .events = POLLIN },
		{ .fd = vm->pidfd, .events = POLLIN },
	};
	int n = poll(p, 2, VM_START_TIMEOUT_MS);

	if (n <= 0)
		return n < 0 ? -errno : -ETIMEDOUT;
	if (p[1].revents)
		return -ECHILD;	/* QEMU died first: see its log */
	vm_accept_qemu(vm);
	return hv_ivshmem_conn_fd(vm->ivs) >= 0 ? 0 : -EPROTO;
}

static int vm_start(struct hv_domain *d)
{
	struct hv_vm_launch l = { 0 };
	char sock[PATH_MAX + 16], qmp[PATH_MAX + 16], log[PATH_MAX + 16];
	char mqmp[PATH_MAX + 24];
	bool incoming = d->cfg.flags & PVIO_DOMCFG_INCOMING;
	struct hv_vm *vm;
	int ret;

	if (!d->cfg.kernel[0] ||
	    pvio_dm_args_check(d->cfg.dm_args, sizeof(d->cfg.dm_args), NULL))
		return -EINVAL;
	if (d->cfg.mem_bytes < VM_MIN_MEM || d->cfg.mem_bytes > VM_MAX_MEM ||
	    d->cfg.mem_bytes % (1u << 20))
		return -EINVAL;
	vm = calloc(1, sizeof(*vm));
	if (!vm)
		return -ENOMEM;
	/* watches per port, then the {vm, port} cookies they point at */
	vm->w_port = calloc(PVIO_EVTCHN_MAX_PORTS, sizeof(*vm->w_port) +
			    sizeof(struct vm_port_arg));
	if (!vm->w_port) {
		free(vm);
		return -ENOMEM;
	}
	vm->d = d;
	vm->pidfd = -1;
	vm->suspend_slot = -1;
	vm->timer_fd = -1;
	vm->next_peer = PVIO_PORT_PEER_FIRST;
	d->type_data = vm;
	snprintf(vm->dir, sizeof(vm->dir), "%s/vm-%u", hv_rundir, d->domid);
	if (mkdir(vm->dir, 0700) < 0 && errno != EEXIST) {
		ret = -errno;
		goto err;
	}
	ret = vm_ram_create(d, &l.ram_huge);
	if (ret)
		goto err;
	/*
	 * The store ring's port, as a guest's alloc_unbound to dom0 would
	 * make it, published before the guest can look: the toolstack
	 * introduces the domain to pvio-store with it (domain info).
	 */
	ret = hv_evtchn_alloc_unbound(d, d, 0);
	if (ret < 0)
		goto err;
	d->store_port = (uint32_t)ret;
	((struct pvio_shared_info *)d->plat)->store_port = d->store_port;
	snprintf(sock, sizeof(sock), "%s/ivshmem.sock", vm->dir);
	snprintf(qmp, sizeof(qmp), "%s/qmp.sock", vm->dir);
	snprintf(mqmp, sizeof(mqmp), "%s/qmp-migrate.sock", vm->dir);
	snprintf(log, sizeof(log), "%s/console.log", vm->dir);
	ret = hv_ivshmem_open(sock, d->plat_fd, d->cfg.max_vcpus, &vm->ivs);
	if (ret)
		goto err;
	l.kernel = d->cfg.kernel;
	l.ramdisk = d->cfg.ramdisk;
	l.cmdline = d->cfg.cmdline;
	l.mem_bytes = d->cfg.mem_bytes + HV_VM_RAM_PAD;
	l.vcpus = d->cfg.vcpus;
	l.max_vcpus = d->cfg.max_vcpus;
	l.vectors = d->cfg.max_vcpus;
	l.ram_fd = d->ram_fd;
	l.ivshmem_sock = sock;
	l.qmp_sock = qmp;
	l.migrate_qmp_sock = mqmp;
	l.incoming = incoming;
	l.console_log = log;
	l.dm_args = d->cfg.dm_args;
	ret = hv_vm_spawn(&l, &vm->pid);
	if (ret)
		goto err;
	d->pid = vm->pid;
	vm->pidfd = (int)syscall(SYS_pidfd_open, vm->pid, 0);
	if (vm->pidfd < 0) {
		ret = -errno;
		goto err;
	}
	ret = vm_wait_qemu(vm);
	if (ret) {
		hv_log("domain %u: QEMU did not start (%s), see %s.qemu",
		       d->domid, strerror(-ret), log);
		goto err;
	}
	/*
	 * No watch on the listening socket: QEMU takes the platform device
	 * once, and nobody else may receive the region's fd.
	 */
	vm->w_doorbell = hv_watch_add(hv_ivshmem_doorbell_fd(vm->ivs),
				      vm_doorbell, vm);
	vm->w_exit = hv_watch_add(vm->pidfd, vm_exit_event, vm);
	vm->timer_fd = timerfd_create(CLOCK_MONOTONIC,
				      TFD_CLOEXEC | TFD_NONBLOCK);
	if (vm->timer_fd >= 0)
		vm->w_timer = hv_watch_add(vm->timer_fd, vm_settle_event, vm);
	if (!vm->w_conn || !vm->w_doorbell || !vm->w_exit || !vm->w_timer) {
		ret = -ENOMEM;
		goto err;
	}
	/* an incoming VM runs once its state is in and it is resumed */
	d->state = incoming ? PVIO_DOMSTATE_PAUSED : PVIO_DOMSTATE_RUNNING;
	/* events (panics, guest shutdowns) are logged from the start */
	ret = vm_qmp_open(vm);
	if (ret)
		hv_log("domain %u: QMP not reachable yet: %s", d->domid,
		       strerror(-ret));
	hv_log("domain %u (%s): QEMU pid %d, console %s%s", d->domid,
	       d->cfg.name, (int)vm->pid, log,
	       incoming ? ", waiting for its migration stream" : "");
	return 0;
err:
	/* hv_domain_kill() runs vm_destroy(), which frees what we made */
	return ret;
}

static void vm_destroy(struct hv_domain *d)
{
	struct hv_vm *vm = vm_of(d);

	if (!vm)
		return;
	d->type_data = NULL;
	vm_free(vm);
}

static int vm_pause(struct hv_domain *d)
{
	int ret = vm_qmp(vm_of(d), "stop");

	if (!ret)
		d->state = (d->state & ~PVIO_DOMSTATE_RUNNING) |
			   PVIO_DOMSTATE_PAUSED;
	return ret;
}

static int vm_unpause(struct hv_domain *d)
{
	int ret = vm_qmp(vm_of(d), "cont");

	if (!ret)
		d->state = (d->state & ~PVIO_DOMSTATE_PAUSED) |
			   PVIO_DOMSTATE_RUNNING;
	return ret;
}

static int vm_shutdown(struct hv_domain *d, uint32_t reason)
{
	struct hv_vm *vm = vm_of(d);
	int ret;

	/*
	 * Reboot is a reset, which with -no-reboot ends QEMU like a guest
	 * reboot does; poweroff is the ACPI power button, which the guest
	 * must handle (crash/suspend: hard stop).
	 */
	switch (reason) {
	case PVIO_SHUTDOWN_POWEROFF:
		ret = vm_qmp(vm, "system_powerdown");
		break;
	case PVIO_SHUTDOWN_REBOOT:
		ret = vm_qmp(vm, "system_reset");
		break;
	default:
		ret = vm_qmp(vm, "quit");
	}
	if (!ret) {
		d->shutdown_reason = reason;
		d->state |= PVIO_DOMSTATE_SHUTDOWN;
	}
	return ret;
}

/* Let the held suspend return @ret and wake its caller. */
static void vm_suspend_release(struct hv_vm *vm, int slot, int64_t ret)
{
	unsigned int nv = hv_ivshmem_vectors(vm->ivs);

	hv_vm_hcall_complete(vm->d->plat, (unsigned int)slot, ret);
	hv_ivshmem_raise(vm->ivs, (unsigned int)slot < nv ?
			 (unsigned int)slot : 0);
	vm->suspend_slot = -1;
	vm->d->state &= ~PVIO_DOMSTATE_SHUTDOWN;
}

/*
 * After a move: the doorbell peers the region names are this host's (the
 * old host's are gone), and the ports backends here bound before the
 * guest resumed (connections it kept) get an event, whatever they raised
 * before the region's pending bits were cleared (spurious ones are
 * allowed).
 */
static void vm_adopt_ports(struct hv_vm *vm)
{
	struct hv_domain *d = vm->d;

	for (uint32_t p = 0; p < PVIO_DIRECT_PORTS; p++) {
		bool settled = vm->peer[p] &&
			       !(vm->unsettled[p / 64] & (1ull << (p % 64)));

		__atomic_store_n(direct_peer(vm, p), settled ? vm->peer[p] : 0,
				 __ATOMIC_SEQ_CST);
	}
	for (uint32_t p = 1; p < PVIO_EVTCHN_MAX_PORTS && d->evtchn.nr_open; p++) {
		struct evtchn_port *e = evtchn_lookup(&d->evtchn, p);

		if (e && e->state == EVTCHNSTAT_interdomain)
			vm_deliver(vm, p);
	}
}

static int vm_suspend_ctl(struct hv_domain *d, uint32_t how)
{
	struct hv_vm *vm = vm_of(d);
	int slot;

	if (!vm)
		return -ENODEV;
	switch (how) {
	case PVIO_SUSPEND_ARM:
		vm->suspend_armed = true;
		return 0;
	case PVIO_SUSPEND_CANCEL:
		vm->suspend_armed = false;
		if (vm->suspend_slot >= 0) {
			hv_log("domain %u: suspend cancelled", d->domid);
			vm_suspend_release(vm, vm->suspend_slot, 1);
		}
		return 0;
	case PVIO_SUSPEND_RESUME:
		/*
		 * The region is the one the guest suspended with, copied
		 * from another host (or a file): its held slot came along.
		 */
		slot = hv_vm_hcall_find_suspend(d->plat, d->cfg.vcpus);
		if (slot < 0)
			return slot;
		hv_vm_platform_adopt(d->plat, d->domid, (uint16_t)d->cfg.vcpus,
				     d->nr_pages, d->store_port);
		vm_adopt_ports(vm);
		vm->suspend_armed = false;
		hv_log("domain %u: resumed from a suspend on another host",
		       d->domid);
		vm_suspend_release(vm, slot, 0);
		return 0;
	case PVIO_SUSPEND_ADOPT: {
		const struct pvio_shared_info *sh = d->plat;

		/*
		 * Moved while it ran: the region is the guest's as it was at
		 * the stop (its rings, pending events, the ports imported
		 * before). Only hv's view of this host changes in it.
		 */
		if (!(d->cfg.flags & PVIO_DOMCFG_INCOMING) ||
		    !(d->state & PVIO_DOMSTATE_PAUSED) || vm->suspend_slot >= 0)
			return -EBUSY;
		if (hv_vm_hcall_find_suspend(d->plat, d->cfg.vcpus) >= 0)
			return -EBUSY;	/* a suspended guest: RESUME */
		if (__atomic_load_n(&sh->magic, __ATOMIC_ACQUIRE) !=
			    PVIO_PLATFORM_MAGIC ||
		    sh->domid != d->domid || sh->store_port != d->store_port) {
			hv_log("domain %u: the region names domain %u, store port %u (here %u): not taken over",
			       d->domid, sh->domid, sh->store_port,
			       d->store_port);
			return -EXDEV;
		}
		vm_adopt_ports(vm);
		/*
		 * An event the old host marked pending after QEMU saved the
		 * guest's interrupt state came along without its interrupt:
		 * one upcall on every vector (the guest looks at what is
		 * pending; a spurious one is allowed).
		 */
		for (unsigned int v = 0; v < hv_ivshmem_vectors(vm->ivs); v++)
			hv_ivshmem_raise(vm->ivs, v);
		vm->suspend_armed = false;
		hv_log("domain %u: taken over as it ran on another host",
		       d->domid);
		/* what the guest asked of the old host and nobody took */
		vm_serve_region(vm);
		return 0;
	}
	}
	return -EINVAL;
}

static const struct hv_domain_ops vm_ops = {
	.name = "vm",
	.start = vm_start,
	.destroy = vm_destroy,
	.suspend_ctl = vm_suspend_ctl,
	.pause = vm_pause,
	.unpause = vm_unpause,
	.shutdown = vm_shutdown,
	.evtchn_bound = vm_evtchn_bound,
	.evtchn_closed = vm_evtchn_closed,
	.evtchn_direct = vm_evtchn_direct,
	.qmp = vm_qmp_raw,
	.refresh = vm_refresh,
	.serve = vm_serve,
};

const struct hv_domain_ops *hv_vm_ops = &vm_ops;

int hv_vm_vcpu_tids(struct hv_domain *d, pid_t *tids, unsigned int max)
{
	struct hv_vm *vm = vm_of(d);
	int ret;

	if (!vm)
		return -EINVAL;
	ret = vm_qmp_open(vm);
	if (ret)
		return ret;
	return hv_qmp_vcpu_tids(vm->qmp, tids, max);
}
