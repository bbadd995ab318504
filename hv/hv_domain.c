/* SPDX-License-Identifier: MIT */
/*
 * Domains: creation, the process-domain type, attach (RAM and platform
 * region), info, and teardown of everything a dying domain holds.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/timerfd.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <time.h>
#include <unistd.h>

#include "hv.h"
#include "../grant/gnttab_pin.h"

#define HV_MAX_DOMAINS		1024
#define HV_MIN_MEM		(1ull << 20)
#define HV_MAX_MEM		(64ull << 30)

const struct hv_domain_ops *hv_vm_ops __attribute__((weak));

static struct hv_domain *domains[PVIO_DOMID_FIRST_RESERVED];
static struct hv_domain dom0;
static unsigned int nr_domains;
static pvio_domid_t next_domid = 1;
static uint64_t next_serial = 1;

/*
 * The rotation of domain ids goes on across restarts of hv: after a crash,
 * what the dead domains left behind (store nodes, a toolstack monitor
 * that cleans up when its program ends) must not meet a new domain with
 * the same id. The next id lives in RUNDIR/hv.next-domid.
 */
static void next_domid_load(void)
{
	char path[PATH_MAX];
	unsigned long v;
	FILE *f;

	snprintf(path, sizeof(path), "%s/hv.next-domid", hv_rundir);
	f = fopen(path, "re");
	if (!f)
		return;
	if (fscanf(f, "%lu", &v) == 1 && v >= 1 && v < PVIO_DOMID_FIRST_RESERVED)
		next_domid = (pvio_domid_t)v;
	fclose(f);
}

static void next_domid_save(void)
{
	char path[PATH_MAX], val[16];
	int fd, n;

	snprintf(path, sizeof(path), "%s/hv.next-domid", hv_rundir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	n = snprintf(val, sizeof(val), "%u\n", next_domid);
	if (write(fd, val, (size_t)n) != n)
		hv_log("cannot save the next domain id in %s", path);
	close(fd);
}

void hv_domain_init(void)
{
	next_domid_load();
	dom0.domid = 0;
	dom0.ram_fd = -1;
	dom0.pin_fd = -1;
	dom0.plat_fd = -1;
	dom0.dirty_fd = -1;
	snprintf(dom0.cfg.name, sizeof(dom0.cfg.name), "Domain-0");
	if (evtchn_table_init(&dom0.evtchn, PVIO_EVTCHN_MAX_PORTS - 1) < 0) {
		fprintf(stderr, "pvio-hv: out of memory\n");
		exit(1);
	}
}

struct hv_domain *hv_dom0(void)
{
	return &dom0;
}

struct hv_domain *hv_domain_get(pvio_domid_t domid)
{
	if (domid == 0)
		return NULL;
	if (domid >= PVIO_DOMID_FIRST_RESERVED)
		return NULL;
	return domains[domid];
}

unsigned int hv_domain_count(void)
{
	return nr_domains;
}

struct hv_domain *hv_domain_next(pvio_domid_t *iter)
{
	while (++*iter < PVIO_DOMID_FIRST_RESERVED)
		if (domains[*iter])
			return domains[*iter];
	return NULL;
}

/* ---- the process type: a host process that attached with its RAM ---- */

static int process_start(struct hv_domain *d)
{
	return 0;
}

/* Is the process behind @pidfd still there (a zombie is not)? */
static bool pidfd_alive(int pidfd)
{
	struct pollfd p = { .fd = pidfd, .events = POLLIN };

	return poll(&p, 1, 0) == 0;
}

/* SIGKILL for a process group that had its grace period. */
struct proc_reaper {
	pid_t pgid;
	int timerfd;
	struct hv_watch *w;
};

static void reaper_fire(void *arg, uint32_t events)
{
	struct proc_reaper *r = arg;

	/* ESRCH if the whole group is gone already */
	kill(-r->pgid, SIGKILL);
	hv_watch_del(r->w);
	close(r->timerfd);
	free(r);
}

static void process_group_stop(struct hv_domain *d, bool now, bool term)
{
	struct itimerspec its = {
		.it_value = { .tv_sec = HV_PROCESS_GRACE_MS / 1000,
			      .tv_nsec = (HV_PROCESS_GRACE_MS % 1000) * 1000000L },
	};
	struct proc_reaper *r;

	if (d->pgid <= 0)
		return;
	if (now) {
		kill(-d->pgid, SIGKILL);
		return;
	}
	if (term) {
		kill(-d->pgid, SIGTERM);
		kill(-d->pgid, SIGCONT);	/* a stopped one must run to die */
	}
	r = calloc(1, sizeof(*r));
	if (r) {
		r->pgid = d->pgid;
		r->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
		if (r->timerfd >= 0 && !timerfd_settime(r->timerfd, 0, &its, NULL))
			r->w = hv_watch_add(r->timerfd, reaper_fire, r);
		if (r->w)
			return;
		if (r->timerfd >= 0)
			close(r->timerfd);
		free(r);
	}
	kill(-d->pgid, SIGKILL);	/* no timer: no grace either */
}

static void process_destroy(struct hv_domain *d)
{
	/*
	 * A program the toolstack spawned (its group) is stopped: SIGTERM,
	 * then SIGKILL after a grace period. A process that attached on its
	 * own is only cut off from hv (its connection is shut down) and finds
	 * out on its next call; a paused one is let run again so that it can.
	 */
	if (d->pid > 0 && (d->state & PVIO_DOMSTATE_PAUSED))
		kill(d->pid, SIGCONT);
	/*
	 * When the process itself left (its connection closed), the group
	 * gets time to finish on its own (the program's exit status matters
	 * to `pvio create -F`); what remains after the grace period is
	 * killed.
	 */
	if (d->proc_pidfd >= 0)
		process_group_stop(d, false, !d->conn_lost);
	hv_watch_del(d->w_proc);
	d->w_proc = NULL;
	if (d->proc_pidfd >= 0)
		close(d->proc_pidfd);
	d->proc_pidfd = -1;
}

/* The spawned program exited: a domain it never attached to goes too. */
static void process_exited(void *arg, uint32_t events)
{
	struct hv_domain *d = arg;

	hv_watch_del(d->w_proc);
	d->w_proc = NULL;
	if (d->client || d->ram_fd >= 0) {
		hv_log("domain %u (%s): program pid %d exited", d->domid,
		       d->cfg.name, (int)d->pgid);
		return;	/* its connection's end takes the domain along */
	}
	hv_log("domain %u (%s): program pid %d exited without attaching",
	       d->domid, d->cfg.name, (int)d->pgid);
	/* stragglers of its group go too */
	process_group_stop(d, true, false);
	close(d->proc_pidfd);
	d->proc_pidfd = -1;
	hv_domain_kill(d);
}

/* The pid a pidfd refers to, from /proc/self/fdinfo. */
static pid_t pidfd_pid(int pidfd)
{
	char path[64], line[128];
	long pid = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", pidfd);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Pid: %ld", &pid) == 1)
			break;
	fclose(f);
	return pid > 0 ? (pid_t)pid : -1;
}

int hv_domain_set_process(struct hv_domain *d, pid_t pid, int pidfd)
{
	int ret = -EINVAL;

	if (d->cfg.type != PVIO_DOMTYPE_PROCESS || d->proc_pidfd >= 0 ||
	    (d->state & PVIO_DOMSTATE_DYING))
		ret = -EBUSY;
	else if (pid <= 1 || pidfd_pid(pidfd) != pid)
		ret = -EINVAL;
	else if (getpgid(pid) != pid)
		ret = -EINVAL;	/* it must lead its own group */
	else if (!pidfd_alive(pidfd))
		ret = -ESRCH;
	else
		ret = 0;
	if (ret) {
		close(pidfd);
		return ret;
	}
	d->proc_pidfd = pidfd;
	d->pgid = pid;
	if (!d->client)
		d->pid = pid;
	d->w_proc = hv_watch_add(pidfd, process_exited, d);
	hv_log("domain %u (%s): program pid %d", d->domid, d->cfg.name,
	       (int)pid);
	return 0;
}

void hv_domain_kill_all(void)
{
	struct hv_domain *d;
	pvio_domid_t it = 0;
	int waited = 0;

	/* give spawned programs their SIGTERM, and a moment, then the rest */
	for (it = 0; (d = hv_domain_next(&it));)
		if (d->pgid > 0) {
			kill(-d->pgid, SIGTERM);
			kill(-d->pgid, SIGCONT);
		}
	for (it = 0; (d = hv_domain_next(&it));)
		while (d->proc_pidfd >= 0 && pidfd_alive(d->proc_pidfd) &&
		       waited < 1000) {
			usleep(20000);
			waited += 20;
		}
	for (it = 0; (d = hv_domain_next(&it));) {
		if (d->pgid > 0)
			process_group_stop(d, true, false);
		hv_watch_del(d->w_proc);
		d->w_proc = NULL;
		if (d->proc_pidfd >= 0)
			close(d->proc_pidfd);
		d->proc_pidfd = -1;
		d->pgid = 0;
		hv_domain_kill(d);
	}
}

static int process_pause(struct hv_domain *d)
{
	if (d->pid <= 0)
		return -ESRCH;
	if (kill(d->pid, SIGSTOP) < 0)
		return -errno;
	d->state |= PVIO_DOMSTATE_PAUSED;
	return 0;
}

static int process_unpause(struct hv_domain *d)
{
	if (d->pid <= 0)
		return -ESRCH;
	if (kill(d->pid, SIGCONT) < 0)
		return -errno;
	d->state &= ~PVIO_DOMSTATE_PAUSED;
	return 0;
}

static int process_shutdown(struct hv_domain *d, uint32_t reason)
{
	d->shutdown_reason = reason;
	d->state |= PVIO_DOMSTATE_SHUTDOWN;
	if (d->pgid > 0) {
		/* the program the toolstack spawned, and its children */
		kill(-d->pgid, SIGTERM);
		kill(-d->pgid, SIGCONT);
	} else if (d->pid > 0) {
		/* a stopped process must run to see its SIGTERM */
		kill(d->pid, SIGTERM);
		kill(d->pid, SIGCONT);
	}
	return 0;
}

const struct hv_domain_ops hv_process_ops = {
	.name = "process",
	.start = process_start,
	.destroy = process_destroy,
	.pause = process_pause,
	.unpause = process_unpause,
	.shutdown = process_shutdown,
};

/* ---- creation ---- */

static bool str_ok(const char *s, size_t max, bool need_nonempty)
{
	const char *end = memchr(s, 0, max);

	return end && (!need_nonempty || end != s);
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static bool name_ok(const char *n)
{
	if (!str_ok(n, 64, true))
		return false;
	for (const char *p = n; *p; p++)
		if (*p <= ' ' || *p > '~' || *p == '/')
			return false;
	return strcmp(n, "Domain-0") != 0;
}

int hv_memfd_sealed(const char *name, uint64_t size)
{
	int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING), rc;

	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)size) < 0 ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}

static int platform_create(struct hv_domain *d)
{
	struct pvio_shared_info *si;
	char name[32];
	int fd;

	snprintf(name, sizeof(name), "pvio-platform-%u", d->domid);
	fd = hv_memfd_sealed(name, PVIO_PLATFORM_SIZE);
	if (fd < 0)
		return fd;
	d->plat_fd = fd;
	d->plat = mmap(NULL, PVIO_PLATFORM_SIZE, PROT_READ | PROT_WRITE,
		       MAP_SHARED, d->plat_fd, 0);
	if (d->plat == MAP_FAILED) {
		d->plat = NULL;
		return -errno;
	}
	si = d->plat;
	si->magic = PVIO_PLATFORM_MAGIC;
	si->version = PVIO_PLATFORM_VERSION;
	si->domid = d->domid;
	/* hypercall slots and vectors exist for every possible vCPU */
	si->nr_vcpus = (uint16_t)d->cfg.max_vcpus;
	si->nr_pages = d->cfg.mem_bytes / PVIO_PAGE_SIZE;
	si->region_size = PVIO_PLATFORM_SIZE;
	/* every port starts masked until its owner unmasks it (VMs) */
	return 0;
}

static void domain_free(struct hv_domain *d)
{
	if (d->plat)
		munmap(d->plat, PVIO_PLATFORM_SIZE);
	if (d->plat_fd >= 0)
		close(d->plat_fd);
	if (d->ram)
		munmap(d->ram, d->nr_pages * PVIO_PAGE_SIZE);
	if (d->ram_fd >= 0)
		close(d->ram_fd);
	if (d->dirty)
		munmap(d->dirty, hv_dirty_bytes(d->nr_pages));
	if (d->dirty_fd >= 0)
		close(d->dirty_fd);
	if (d->pin)
		munmap(d->pin, GNTTAB_PIN_BYTES);
	if (d->pin_fd >= 0)
		close(d->pin_fd);
	evtchn_table_free(&d->evtchn);
	free(d);
}

int hv_domain_create(const struct pvio_domain_config *cfg, pvio_domid_t *out)
{
	struct hv_domain *d;
	pvio_domid_t id;
	unsigned int tries;
	int ret;

	if (!name_ok(cfg->name) || !str_ok(cfg->kernel, sizeof(cfg->kernel), false) ||
	    !str_ok(cfg->ramdisk, sizeof(cfg->ramdisk), false) ||
	    !str_ok(cfg->cmdline, sizeof(cfg->cmdline), false) ||
	    !str_ok(cfg->dm_args, sizeof(cfg->dm_args), false))
		return -EINVAL;
	if (cfg->type != PVIO_DOMTYPE_VM && cfg->dm_args[0])
		return -EINVAL;	/* only a VM has a device model */
	if (cfg->max_vcpus > PVIO_MAX_VCPUS ||
	    (cfg->max_vcpus && cfg->max_vcpus < cfg->vcpus) ||
	    (cfg->max_vcpus && cfg->type != PVIO_DOMTYPE_VM))
		return -EINVAL;
	if (cfg->vcpus > PVIO_MAX_VCPUS || cfg->mem_bytes < HV_MIN_MEM ||
	    cfg->mem_bytes > HV_MAX_MEM || cfg->mem_bytes % PVIO_PAGE_SIZE)
		return -EINVAL;
	if (cfg->type != PVIO_DOMTYPE_PROCESS && cfg->type != PVIO_DOMTYPE_VM)
		return -EINVAL;
	if (cfg->type == PVIO_DOMTYPE_VM && !hv_vm_ops)
		return -EOPNOTSUPP;
	/* names are unique; stop once every live domain was seen */
	tries = 0;
	for (pvio_domid_t it = 0; tries < nr_domains &&
	     (d = hv_domain_next(&it)); tries++)
		if (!strcmp(d->cfg.name, cfg->name))
			return -EEXIST;
	if (nr_domains >= HV_MAX_DOMAINS)
		return -ENOSPC;
	/* the id asked for if it is free (a migration keeps its id) */
	if (cfg->want_domid && cfg->want_domid < PVIO_DOMID_FIRST_RESERVED &&
	    !domains[cfg->want_domid])
		id = (pvio_domid_t)cfg->want_domid;
	else
		id = next_domid;
	/* rotate ids so a stale id does not name a new domain at once */
	for (tries = 0; domains[id]; tries++) {
		if (++id >= PVIO_DOMID_FIRST_RESERVED)
			id = 1;
		if (tries > PVIO_DOMID_FIRST_RESERVED)
			return -ENOSPC;
	}
	if (id == next_domid || !cfg->want_domid) {
		next_domid = (unsigned int)id + 1 >= PVIO_DOMID_FIRST_RESERVED ?
			     1 : id + 1;
		next_domid_save();
	}

	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->domid = id;
	d->serial = next_serial++;
	d->cfg = *cfg;
	if (!d->cfg.vcpus)
		d->cfg.vcpus = 1;
	if (!d->cfg.max_vcpus)
		d->cfg.max_vcpus = d->cfg.vcpus;
	d->ops = cfg->type == PVIO_DOMTYPE_VM ? hv_vm_ops : &hv_process_ops;
	d->ram_fd = -1;
	d->plat_fd = -1;
	d->dirty_fd = -1;
	d->pin_fd = -1;
	d->proc_pidfd = -1;
	d->created_ms = mono_ms();
	ret = evtchn_table_init(&d->evtchn, HV_EVTCHN_DOMU_MAX_OPEN);
	if (ret == 0)
		ret = platform_create(d);
	if (ret < 0) {
		domain_free(d);
		return ret;
	}
	domains[id] = d;
	nr_domains++;
	if (d->ops->start) {
		ret = d->ops->start(d);
		if (ret < 0) {
			hv_log("domain %u (%s): start failed: %s", id,
			       d->cfg.name, strerror(-ret));
			hv_domain_kill(d);
			return ret;
		}
	}
	hv_log("domain %u (%s) created, %s, %llu MiB", id, d->cfg.name,
	       d->ops->name, (unsigned long long)(cfg->mem_bytes >> 20));
	*out = id;
	return 0;
}

int hv_domain_attach(struct hv_client *c, pvio_domid_t domid, int ram_fd,
		     struct hv_attach_reply *rep)
{
	struct hv_domain *d = hv_domain_get(domid);
	struct stat st;
	int seals;
	void *ram;

	if (!d)
		return -ESRCH;
	if (d->cfg.type != PVIO_DOMTYPE_PROCESS || d->client || d->ram_fd >= 0 ||
	    (d->state & PVIO_DOMSTATE_DYING))
		return -EBUSY;
	/*
	 * Only a sealed memfd: hv reads grant entries in this memory, and a
	 * file the domain could shrink would fault hv (SIGBUS).
	 */
	seals = fcntl(ram_fd, F_GET_SEALS);
	if (seals < 0)
		return -EINVAL;
	if ((seals & (F_SEAL_SHRINK | F_SEAL_GROW)) != (F_SEAL_SHRINK | F_SEAL_GROW) &&
	    fcntl(ram_fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) < 0)
		return -EINVAL;
	if (fstat(ram_fd, &st) < 0 || (uint64_t)st.st_size != d->cfg.mem_bytes)
		return -EINVAL;
	ram = mmap(NULL, d->cfg.mem_bytes, PROT_READ | PROT_WRITE, MAP_SHARED,
		   ram_fd, 0);
	if (ram == MAP_FAILED)
		return -errno;
	d->ram = ram;
	d->ram_fd = ram_fd;
	d->nr_pages = d->cfg.mem_bytes / PVIO_PAGE_SIZE;
	d->client = c;
	d->pid = c->pid;
	d->state = PVIO_DOMSTATE_RUNNING;
	c->dom = d;
	c->domid = domid;
	rep->nr_pages = d->nr_pages;
	rep->serial = d->serial;
	hv_log("domain %u (%s) attached by pid %d", domid, d->cfg.name, (int)c->pid);
	return 0;
}

int hv_domain_rename(struct hv_domain *d, const char *name)
{
	struct hv_domain *o;

	if (!name_ok(name))
		return -EINVAL;
	for (pvio_domid_t it = 0; (o = hv_domain_next(&it));)
		if (o != d && !strcmp(o->cfg.name, name))
			return -EEXIST;
	hv_log("domain %u: renamed from %s to %s", d->domid, d->cfg.name, name);
	snprintf(d->cfg.name, sizeof(d->cfg.name), "%s", name);
	return 0;
}

void hv_domain_kill(struct hv_domain *d)
{
	pvio_domid_t id = d->domid;

	if (d->state & PVIO_DOMSTATE_DYING)
		return;
	d->state |= PVIO_DOMSTATE_DYING;
	hv_gnttab_domain_dying(d);
	/* peers first: their ports and their mappings of our pages */
	hv_evtchn_domain_gone(d);
	hv_gnttab_domain_gone(d);
	if (d->client) {
		struct hv_client *c = d->client;

		d->client = NULL;
		hv_gnttab_client_gone(c);
		hv_evtchn_client_gone(c);
		hv_client_detach_domain(c);
	}
	if (d->ops->destroy)
		d->ops->destroy(d);
	domains[id] = NULL;
	nr_domains--;
	hv_log("domain %u (%s) destroyed", id, d->cfg.name);
	domain_free(d);
	hv_store_release(id);
}

void hv_domain_fill_info(const struct hv_domain *d, struct pvio_domain_info *i)
{
	memset(i, 0, sizeof(*i));
	i->domid = d->domid;
	i->store_port = (uint16_t)d->store_port;
	i->type = d->cfg.type;
	i->state = d->state;
	if (!d->client && d->cfg.type == PVIO_DOMTYPE_PROCESS)
		i->state |= PVIO_DOMSTATE_BLOCKED;	/* not attached yet */
	i->vcpus = d->cfg.vcpus;
	i->shutdown_reason = d->shutdown_reason;
	i->pid = d->pid;
	i->mem_bytes = d->cfg.mem_bytes;
	i->cpu_time_ns = d->pid > 0 ? pvio_proc_cpu_ns(d->pid) : 0;
	i->uptime_ms = mono_ms() - d->created_ms;
	memcpy(i->name, d->cfg.name, sizeof(i->name));
	i->name[sizeof(i->name) - 1] = 0;
	i->nr_grant_maps = hv_gnttab_domain_maps(d);
}

void hv_dom0_fill_info(struct pvio_domain_info *i)
{
	struct sysinfo si;
	struct timespec ts;

	memset(i, 0, sizeof(*i));
	i->domid = 0;
	i->type = 0;
	i->state = PVIO_DOMSTATE_RUNNING;
	i->vcpus = (uint32_t)sysconf(_SC_NPROCESSORS_ONLN);
	i->pid = getpid();
	if (sysinfo(&si) == 0)
		i->mem_bytes = (uint64_t)si.totalram * si.mem_unit;
	i->uptime_ms = (uint64_t)si.uptime * 1000;
	if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) == 0)
		i->cpu_time_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	snprintf(i->name, sizeof(i->name), "Domain-0");
}
