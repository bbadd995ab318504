/* SPDX-License-Identifier: MIT */
/*
 * Save, restore and live migration of VMs (tools/migrate_*.c): the domain
 * state pvio keeps beside QEMU's migration stream, the guest's suspend,
 * the pages only pvio knows were written, and the receiving side.
 */
#ifndef PVIO_TOOLS_MIGRATE_H
#define PVIO_TOOLS_MIGRATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pvio/libpvio.h"

struct hv_qmp;

#define MIG_STATE_MAX		16384	/* bytes of the domain state text */
#define MIG_SAVE_MAGIC		"PVIO-SAVE 1\n"
#define MIG_SAVE_HDR		(MIG_STATE_MAX + 4096) /* QEMU's stream after */

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
 * its id. Everything is removed again on failure.
 */
int mig_state_create(const char *rundir, const char *state,
		     pvio_domid_t *domid);

/* The migration monitor of a VM (RUNDIR/vm-N/qmp-migrate.sock). */
int mig_qmp_open(const char *rundir, pvio_domid_t domid, struct hv_qmp **q);
/* query-migrate until a final status: 0 completed, -EIO failed, -errno. */
int mig_qmp_wait(struct hv_qmp *q, int timeout_ms, long long *qemu_downtime);
/* One QMP command built with printf; 0 or -errno (message printed). */
int mig_qmp(struct hv_qmp *q, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Ask the guest to suspend (control/shutdown = "suspend", hv armed) and
 * wait until it has: 0, or -errno with the suspend cancelled again.
 */
int mig_suspend(const char *rundir, pvio_domid_t domid, int timeout_ms);
/* Give a held suspend back to the guest on this host (it reconnects). */
void mig_cancel(const char *rundir, pvio_domid_t domid);
/* Backends of every device of @domid Connected (bounded): 0 or -ETIMEDOUT. */
int mig_wait_connected(const char *rundir, pvio_domid_t domid, int timeout_ms);
/* Tear down a domain and its devices and store nodes (source after a move). */
void mig_domain_remove(const char *rundir, pvio_domid_t domid);

/*
 * The pages pvio itself wrote into the guest while QEMU was copying it
 * (dirty log + grant table frames) and the platform region, in one blob:
 * u64 count, then count x (u64 pfn, 4096 bytes), then the region.
 */
int mig_topup_collect(const char *rundir, pvio_domid_t domid, void **blob,
		      size_t *len, unsigned int *pages);
int mig_topup_apply(const char *rundir, pvio_domid_t domid, const void *blob,
		    size_t len);
/* Start the dirty log afresh (before QEMU's first pass). */
int mig_dirty_reset(const char *rundir, pvio_domid_t domid);

/* Finish a received domain: hv resume, unpause, wait for its devices. */
int mig_resume(const char *rundir, pvio_domid_t domid);

long long mig_now_ms(void);

#endif /* PVIO_TOOLS_MIGRATE_H */
