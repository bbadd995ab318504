/* SPDX-License-Identifier: GPL-2.0 */
/*
 * State shared by the files of pvio_core: the platform device and the
 * init/exit hooks of each role (hypercalls, events, grants, store, bus).
 */
#ifndef PVIO_CORE_INTERNAL_H
#define PVIO_CORE_INTERNAL_H

#include <linux/pci.h>
#include <linux/wait.h>
#include <pvio/platform.h>
#include <pvio/hypercall.h>
#include <pvio_core.h>

/* ivshmem BAR 0 registers */
#define PVIO_IVSHMEM_REG_INTRMASK	0
#define PVIO_IVSHMEM_REG_INTRSTATUS	4
#define PVIO_IVSHMEM_REG_IVPOSITION	8
#define PVIO_IVSHMEM_REG_DOORBELL	12

struct pvio_platform {
	struct pci_dev *pdev;
	void __iomem *regs;		/* BAR 0 */
	void *region;			/* BAR 2, PVIO_PLATFORM_SIZE bytes */
	struct pvio_shared_info *shared;
	unsigned int nr_vectors;	/* MSI-X vectors we own */
	wait_queue_head_t hcall_wq;	/* woken by every upcall */
};

/* The one platform device (NULL until probed). */
extern struct pvio_platform *pvio_plat;

/* pvio_core_main.c: ring hv's doorbell (peer 0, vector 0) */
void pvio_platform_doorbell(void);
/* ring vector 0 of another peer (a dom0 end of an event channel) */
void pvio_platform_doorbell_peer(unsigned int peer);

/* pvio_core_hcall.c */
int pvio_hcall_init(struct pvio_platform *p);
void pvio_hcall_exit(void);
/* A hypercall hv may hold for as long as it likes (suspend): no timeout. */
long pvio_hypercall_hold(u32 op, const u64 args[6]);

/* pvio_core_evtchn.c */
int pvio_evtchn_init(struct pvio_platform *p);
void pvio_evtchn_exit(void);
irqreturn_t pvio_evtchn_upcall(int irq, void *data);
/* New host: no port of ours exists any more; forget them all. */
void pvio_evtchn_resume(void);

/* pvio_core_gnttab.c */
int pvio_gnttab_init(void);
void pvio_gnttab_exit(void);
/* New host: register the same frames again, with no mapping left. */
int pvio_gnttab_resume(void);

/* pvio_core_store.c */
int pvio_store_init(struct pvio_platform *p);
void pvio_store_exit(void);
/* Hold requests across a suspend; on a new host, start on fresh rings. */
void pvio_store_suspend(void);
void pvio_store_resume(bool new_host);
/* New host: unbind the old store port (before every port is forgotten). */
void pvio_store_forget_port(void);
/* Register every watch again (after its path may have been rebased). */
void pvio_store_rewatch(void);

/* pvio_core_bus.c */
int pvio_bus_register(void);
void pvio_bus_unregister(void);
int pvio_bus_probe_devices(void);
void pvio_bus_remove_devices(void);
/* Frontends' suspend and resume callbacks, device by device. */
void pvio_bus_suspend(void);
void pvio_bus_resume(bool new_host);
/* The store asked for a reconnection: tell every bound driver. */
void pvio_bus_store_reconnected(void);
/* New host, maybe new domain id: device paths and backends again. */
void pvio_bus_rebase(void);

/* pvio_core_control.c: control/shutdown requests (started with the bus) */
void pvio_control_start(void);
void pvio_control_stop(void);
void pvio_control_rebase(void);
void pvio_control_suspend(void);
void pvio_control_resume(bool new_host);

/* pvio_core_suspend.c: control/shutdown = "suspend" */
void pvio_suspend_request(void);
void pvio_suspend_init(void);
void pvio_suspend_exit(void);

#endif /* PVIO_CORE_INTERNAL_H */
