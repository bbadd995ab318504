/* SPDX-License-Identifier: MIT */
/*
 * Save, restore and live migration of VMs (tools/migrate_*.c): the domain
 * state pvio keeps beside QEMU's migration stream, the guest's suspend,
 * the pages only pvio knows were written, and the receiving side.
 */
#ifndef PVIO_TOOLS_MIGRATE_H
#define PVIO_TOOLS_MIGRATE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pvio/libpvio.h"

struct hv_qmp;

#define MIG_STATE_MAX		16384	/* bytes of the domain state text */
#define MIG_STORE_MAX		(8u << 20) /* bytes of the carried store nodes */

/*
 * The domain state, as text lines "key=value": the config hv holds (name,
 * kernel, ramdisk, cmdline, memory, vcpus, one dm_arg line per word) and
 * one disk= / vif= line per device, in xl's spec syntax, rebuilt from the
 * backend dirs (so hot-plugged devices come along).
 */
int mig_state_collect(const char *rundir, pvio_domid_t domid, char *out,
		      size_t len);
/*
 * Create the domain described by @state waiting for its migration stream
 * (QEMU -incoming defer), with its store nodes and devices; *@domid gets
 * its id (@keep_id: the id it had, if free here). Everything is removed
 * again on failure.
 */
int mig_state_create(const char *rundir, const char *state, bool keep_id,
		     pvio_domid_t *domid);

/*
 * The store nodes the domain owns (below /local/domain/N, owner N, not
 * device/), with values and permissions, as one blob; and writing them
 * under the domain @domid of this host (each record checked first).
 */
int mig_store_collect(const char *rundir, pvio_domid_t domid, void **blob,
		      size_t *len);
int mig_store_apply(const char *rundir, pvio_domid_t domid, const void *blob,
		    size_t len);

/* The migration monitor of a VM (RUNDIR/vm-N/qmp-migrate.sock). */
int mig_qmp_open(const char *rundir, pvio_domid_t domid, struct hv_qmp **q);
/* What query-migrate says; numbers absent from the reply are -1. */
struct mig_progress {
	char status[32];	/* setup, active, completed, failed, ... */
	char error[128];	/* error-desc of a failed migration */
	long long remaining;	/* bytes of RAM still to send */
	long long transferred;	/* bytes sent so far */
	long long syncs;	/* dirty-sync-count: passes over RAM */
	long long downtime;	/* ms the VM was stopped (once completed) */
	long long downtime_bytes; /* sent while it was stopped (QEMU >= 7.0) */
	long long total_ms;	/* total-time */
};
/* query-migrate; @timeout_ms <= 0: QMP's default wait */
int mig_qmp_progress(struct hv_qmp *q, struct mig_progress *pr, int timeout_ms);
/* completed, failed or cancelled */
bool mig_progress_final(const struct mig_progress *pr);
/*
 * query-migrate until a final status: 0 completed (QEMU's downtime in ms
 * and the bytes it sent meanwhile, -1 where unknown), -EIO failed, -errno.
 */
int mig_qmp_wait(struct hv_qmp *q, int timeout_ms, long long *qemu_downtime,
		 long long *downtime_bytes);
/*
 * The source VM runs again after a migration that will not be finished:
 * cancel QEMU's migration if it is under way and continue the VM if the
 * migration stopped it.
 */
int mig_source_continue(struct hv_qmp *q);
/*
 * 1 if the source VM is not running (QEMU stopped it for a switch-over of
 * its own: its STOP event came, or query-status says so), 0 if it runs,
 * -errno (-ETIMEDOUT: no answer within @timeout_ms, <= 0 for QMP's
 * default wait).
 */
int mig_vm_stopped(struct hv_qmp *q, int timeout_ms);

/*
 * QEMU's stream relayed onto @tcp_fd (the relay owns it from now on):
 * *@qemu_fd is the end to give QEMU ("fd:" URI). A brake (on) returns
 * once nothing more is read from QEMU. migrate_relay.c.
 */
struct mig_relay;
int mig_relay_start(int tcp_fd, int timeout_ms, int *qemu_fd,
		    struct mig_relay **out);
int mig_relay_brake(struct mig_relay *r, bool on);
/* -errno once the relay failed (QEMU's stream fails with it), else 0 */
int mig_relay_error(struct mig_relay *r);
long long mig_relay_bytes(const struct mig_relay *r);
void mig_relay_stop(struct mig_relay *r);
/* One QMP command built with printf; 0 or -errno (message printed). */
int mig_qmp(struct hv_qmp *q, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Ask the guest to suspend (control/shutdown = "suspend", hv armed) and
 * wait until it has: 0, or -errno with the suspend cancelled again.
 */
int mig_suspend(const char *rundir, pvio_domid_t domid, int timeout_ms);
/* Its two halves: ask (hv armed, control/shutdown written) ... */
int mig_suspend_start(const char *rundir, pvio_domid_t domid);
/* ... and look: 1 suspended, 0 not yet, -errno. */
int mig_suspended(struct pvio_hv *hv, pvio_domid_t domid);
/* Give a held suspend back to the guest on this host (it reconnects). */
void mig_cancel(const char *rundir, pvio_domid_t domid);
/* Backends of every device of @domid Connected (bounded): 0 or -ETIMEDOUT. */
int mig_wait_connected(const char *rundir, pvio_domid_t domid, int timeout_ms);
/*
 * The guest's frontends Connected now, as "vbd/51712 vif/0" (what was cut
 * off @size is left out) ...
 */
int mig_frontends_connected(const char *rundir, pvio_domid_t domid,
			    char *list, size_t size);
/*
 * ... and, on the other host, waiting until those are Connected again
 * (the guest's disk and NIC usable): 0, -ETIMEDOUT, -EINVAL for a list
 * that is not such names.
 */
int mig_wait_frontends(const char *rundir, pvio_domid_t domid,
		       const char *list, size_t len, int timeout_ms);
/*
 * The suspended guest's frontends only let go of their event channels:
 * close each connection on their behalf (state Closed in the frontend's
 * dir), so that its backend answers or drops what is in flight and
 * unmaps the rings. Only for a guest hv holds suspended.
 */
int mig_devices_close(const char *rundir, pvio_domid_t domid);
/* ... and wait until no backend holds a connection: 0 or -errno. */
int mig_devices_wait_closed(const char *rundir, pvio_domid_t domid,
			    int timeout_ms);
/*
 * A live move: hold every connection of @domid still while QEMU has the
 * guest stopped (@on: pause = 1 in each backend dir; the backend answers
 * what it took, lets go of the rings and says drained, no state changes)
 * or give it back (pause = 0: the backend connects to the rings again
 * where it left them) ...
 */
int mig_devices_pause(const char *rundir, pvio_domid_t domid, bool on);
/* ... and wait until each backend says it is paused (or is no more). */
int mig_devices_wait_paused(const char *rundir, pvio_domid_t domid, bool on,
			    int timeout_ms);
/* Tear down a domain and its devices and store nodes (source after a move). */
void mig_domain_remove(const char *rundir, pvio_domid_t domid);

/*
 * The pages pvio itself wrote into the guest while QEMU was copying it
 * (dirty log + grant table frames) and the platform region, in one blob:
 * u64 count, then count x (u64 pfn, 4096 bytes), then the region; with
 * @verify a u64 digest of every page of the guest's RAM follows, which
 * mig_topup_apply() checks the destination's RAM against (-EILSEQ: pages
 * differ, each named on stderr).
 */
int mig_topup_collect(const char *rundir, pvio_domid_t domid, bool verify,
		      void **blob, size_t *len, unsigned int *pages);
/* The destination's view of the guest's RAM and region, mapped ahead. */
struct mig_ram {
	struct pvio_domain_memory m;
	void *plat;			/* NULL: not mapped */
};
int mig_ram_map(const char *rundir, pvio_domid_t domid, struct mig_ram *r);
void mig_ram_unmap(struct mig_ram *r);	/* unmapped already: nothing */
int mig_topup_apply(struct mig_ram *r, pvio_domid_t domid, const void *blob,
		    size_t len);
/*
 * The destination fills the guest's RAM ahead of QEMU: every page of it
 * allocated (zeroed, in 2 MiB pages where hv's RAM file has them) while
 * QEMU's first pass runs, in a thread of its own. Otherwise QEMU's loading
 * allocates a page whenever it first writes one, and a page the guest
 * dirtied only lately (QEMU sent it as zero before, and never wrote it
 * here) is first written in the last pass: measured on this machine, the
 * destination's QEMU then spent most of the guest's downtime zeroing
 * newly allocated pages. Nothing of the guest's content is touched (a
 * page already there stays as it is). stop: ends it early and waits.
 */
struct mig_prefault {
	pthread_t thread;
	bool started;
	atomic_bool stop;
	const char *rundir;
	pvio_domid_t domid;
	long long ms;			/* how long it took (-1: stopped early) */
	int rc;
	void (*done)(void *arg);	/* at its end (failed too), unless stopped */
	void *arg;
};
void mig_prefault_start(struct mig_prefault *p, const char *rundir,
			pvio_domid_t domid, void (*done)(void *), void *arg);
void mig_prefault_stop(struct mig_prefault *p);
/* Start the dirty log afresh (before QEMU's first pass). */
int mig_dirty_reset(const char *rundir, pvio_domid_t domid);

/* Finish a received domain: hv resume, unpause, wait for its devices. */
int mig_resume(const char *rundir, pvio_domid_t domid);
/*
 * A domain moved while it ran, still paused: the store serves its ring on
 * a new connection (the guest reconnects once it runs), hv takes the
 * region as it is (PVIO_SUSPEND_ADOPT). Then mig_unpause() runs it.
 */
int mig_adopt(const char *rundir, pvio_domid_t domid);
int mig_unpause(const char *rundir, pvio_domid_t domid);

long long mig_now_ms(void);

/*
 * @fn for every device of @domid: its frontend dir (@fe) or its backend
 * dir, with its type and id; stops at the first non-zero return.
 */
struct xs_handle;
int mig_each_device(const char *rundir, pvio_domid_t domid, bool fe,
		    int (*fn)(struct xs_handle *xs, const char *dir,
			      const char *type, const char *id, void *arg),
		    void *arg);
/* The device types a migration moves, and their frontend dirs' names: */
extern const char *const mig_dev_types[2];
/* "vbd/51712", "vif/0": one of those types, and a number. */
bool mig_fe_name_ok(const char *s, size_t n);

/*
 * Connections a migration keeps (migrate_kept.c). Source: remove the
 * backends' drained keys before the devices are closed, then describe
 * the frontends of @fe_list whose backend let go with every request
 * answered (keys of their dirs, the grant table frames), *@ndevs of them.
 * Destination: check that text, import the grant frames and ports into hv
 * and write each device's keys with state Initialised (its backend here
 * takes the rings over); the number of devices or -errno, their names in
 * @list (0 and none when hv refuses the import: every device then
 * connects afresh). Then wait until those backends are Connected (-EIO if one gave
 * up).
 */
#define MIG_KEPT_MAX		(64u << 10)
#define MIG_KEPT_MAX_DEVS	16
#define MIG_KEPT_MAX_KEYS	256	/* per device */
#define MIG_KEPT_MAX_PORTS	256	/* HV_IMPORT_MAX_PORTS */
#define MIG_KEPT_KEY_MAX	64
#define MIG_KEPT_VAL_MAX	256
/* That text, checked (migrate_kept_text.c, no store or hv needed). */
struct mig_kept_dev {
	char name[24];			/* "vbd/51712" */
	size_t keys, keys_end;		/* its key lines: offsets in the text */
	unsigned int nkeys;
};
struct mig_kept {
	struct mig_kept_dev devs[MIG_KEPT_MAX_DEVS];
	unsigned int ndevs, nframes, nports;
	uint64_t gfn[64];		/* PVIO_GNTTAB_MAX_FRAMES */
	uint32_t ports[MIG_KEPT_MAX_PORTS];
	/*
	 * "live": the guest was moved while it ran (no suspend). Then the
	 * "port" line lists every port of the guest to import (each port a
	 * device's keys name is among them) and "suspend P" its suspend
	 * event channel, if it offered one.
	 */
	bool live;
	uint32_t suspend_port;
};
/* 0, or -EPROTO for anything not as mig_kept_collect writes it. */
int mig_kept_parse(const char *blob, size_t len, struct mig_kept *k);
/* "REL=VALUE" (@n bytes): checked; REL's length, VALUE and its length. */
int mig_kept_key_line(const char *l, size_t n, size_t *rel_len,
		      const char **val, size_t *val_len);
bool mig_kept_name_ok(const char *s, size_t n);
bool mig_kept_value_ok(const char *v, size_t n);
bool mig_kept_key_skipped(const char *k, size_t n);
int mig_kept_clear(const char *rundir, pvio_domid_t domid);
/*
 * @live: the guest moves while it runs (no suspend): the text says so and
 * names every port the guest holds; -EXDEV if not every device can go
 * over as it is, or a port is not the guest's end of a channel with dom0.
 */
int mig_kept_collect(const char *rundir, pvio_domid_t domid,
		     const char *fe_list, bool live, char **out, size_t *len,
		     unsigned int *ndevs);
/*
 * Destination, in two steps. While its QEMU loads the rest: check the
 * text and write each kept device's keys (its state stays: the backend
 * here does not act yet); *@k for the next step. Once the RAM is in:
 * mig_kept_apply() has hv import ports and grant frames and sets each
 * device Initialised; *@live: the text said the guest never suspended
 * (then hv must import). A refused import in a suspend's move takes the
 * keys away again (every device connects afresh).
 */
int mig_kept_prepare(const char *rundir, pvio_domid_t domid, const char *blob,
		     size_t len, struct mig_kept **k);
int mig_kept_apply(const char *rundir, pvio_domid_t domid, const char *blob,
		   struct mig_kept *k, char *list, size_t size, bool *live);
int mig_kept_wait(const char *rundir, pvio_domid_t domid, const char *list,
		  int timeout_ms);
/* Live: the frontends of @list ("vbd/N vif/M") back to Connected. */
int mig_kept_frontends_connected(const char *rundir, pvio_domid_t domid,
				 const char *list);

#endif /* PVIO_TOOLS_MIGRATE_H */
