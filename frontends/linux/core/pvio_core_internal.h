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

/* pvio_core_evtchn.c */
int pvio_evtchn_init(struct pvio_platform *p);
void pvio_evtchn_exit(void);
irqreturn_t pvio_evtchn_upcall(int irq, void *data);

/* pvio_core_gnttab.c */
int pvio_gnttab_init(void);
void pvio_gnttab_exit(void);

/* pvio_core_store.c */
int pvio_store_init(struct pvio_platform *p);
void pvio_store_exit(void);

/* pvio_core_bus.c */
int pvio_bus_register(void);
void pvio_bus_unregister(void);
int pvio_bus_probe_devices(void);
void pvio_bus_remove_devices(void);

/* pvio_core_control.c: control/shutdown requests (started with the bus) */
void pvio_control_start(void);
void pvio_control_stop(void);

#endif /* PVIO_CORE_INTERNAL_H */
