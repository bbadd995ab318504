/* SPDX-License-Identifier: MIT */
/*
 * VM domains inside pvio-hv: the ivshmem-doorbell server that gives a QEMU
 * guest its platform device, the QMP client that drives QEMU, and the QEMU
 * launcher. Each unit is self-contained; hv_vm.c ties them to a domain.
 */
#ifndef PVIO_HV_VM_H
#define PVIO_HV_VM_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "pvio/platform.h"

/* ---- hv_ivshmem.c: the ivshmem server side of one VM ---- */

/*
 * hv is peer PVIO_HV_PEER with one vector: the guest's doorbell to (1, 0)
 * signals hv's doorbell eventfd. The guest is HV_IVSHMEM_GUEST_PEER (0:
 * QEMU lets only peer 0 be the master that migrates the region) with
 * @vectors vectors; writing vector v's eventfd raises the guest's MSI-X
 * vector v.
 */
#define HV_IVSHMEM_GUEST_PEER	0
#define HV_IVSHMEM_MAX_VECTORS	(PVIO_MAX_VCPUS + 4)

struct hv_ivshmem;

/* Listen on @path (removed first) for QEMU; @shm_fd is shared, not owned. */
int hv_ivshmem_open(const char *path, int shm_fd, unsigned int vectors,
		    struct hv_ivshmem **out);
void hv_ivshmem_close(struct hv_ivshmem *s);
/* Poll for POLLIN, then call hv_ivshmem_accept(). */
int hv_ivshmem_listen_fd(const struct hv_ivshmem *s);
/*
 * Accept QEMU's connection and send it the whole setup: version, its peer
 * id, the platform memory, hv's doorbell eventfd and the guest's vector
 * eventfds. A second connection replaces the first (a QEMU restart).
 */
int hv_ivshmem_accept(struct hv_ivshmem *s);
/* The connection to QEMU (POLLHUP when it goes away), -1 if none. */
int hv_ivshmem_conn_fd(const struct hv_ivshmem *s);
void hv_ivshmem_disconnect(struct hv_ivshmem *s);
/* hv's doorbell eventfd: POLLIN when the guest rang (read it to clear). */
int hv_ivshmem_doorbell_fd(const struct hv_ivshmem *s);
/* Drain the doorbell counter; returns how many rings (0 if none). */
uint64_t hv_ivshmem_doorbell_ack(struct hv_ivshmem *s);
/* Raise guest vector @vector (its eventfd): 0 or -errno. */
int hv_ivshmem_raise(struct hv_ivshmem *s, unsigned int vector);
/* The eventfd of guest vector @vector (owned by @s), -1 if out of range. */
int hv_ivshmem_vector_fd(const struct hv_ivshmem *s, unsigned int vector);
unsigned int hv_ivshmem_vectors(const struct hv_ivshmem *s);
/*
 * Announce peer @peer to QEMU with @fd as its vector 0 (the guest's
 * doorbell to (@peer, 0) then writes @fd), or take it away: 0 or -errno
 * (-ENOTCONN without QEMU). QEMU applies messages in order, later.
 */
int hv_ivshmem_peer_add(struct hv_ivshmem *s, unsigned int peer, int fd);
int hv_ivshmem_peer_del(struct hv_ivshmem *s, unsigned int peer);
/*
 * 1 once QEMU has read everything sent so far (it applies each message
 * as it reads it, holding its big lock, which the guest's doorbell writes
 * need too), 0 if not yet, -errno.
 */
int hv_ivshmem_settled(const struct hv_ivshmem *s);

/* ---- hv_qmp.c: a QMP client (hv_qmp.h) ---- */

#include "hv_qmp.h"

/* ---- hv_vm_launch.c: the QEMU command line and process ---- */

/*
 * Bytes a VM's RAM has beyond its configured size. QEMU before 9.0 syncs
 * the migration dirty bitmap of a RAM block a multiple of 64 pages long by
 * whole words without resetting TCG's TLB, so that later guest stores
 * through cached TLB entries are not logged and migration loses them
 * (fixed upstream in "physmem: Fix migration dirty bitmap coherency with
 * TCG memory access"). A block of another length takes QEMU's page by page
 * path, which resets the TLB. QEMU sizes RAM in 8 KiB steps.
 */
#define HV_VM_RAM_PAD	8192u

struct hv_vm_launch {
	const char *qemu;	/* NULL: $PVIO_QEMU, else qemu-system-x86_64 */
	const char *kernel;
	const char *ramdisk;	/* may be NULL or "" */
	const char *cmdline;	/* appended to the console setting */
	uint64_t mem_bytes;	/* the RAM memfd's size (HV_VM_RAM_PAD included) */
	unsigned int vcpus;
	unsigned int max_vcpus;	/* hotpluggable up to this (0: vcpus) */
	unsigned int vectors;	/* of the platform device */
	int ram_fd;		/* the guest RAM (memfd), inherited by QEMU */
	bool ram_huge;		/* ram_fd takes 2 MiB pages: map it aligned */
	const char *ivshmem_sock;
	const char *qmp_sock;
	const char *migrate_qmp_sock;	/* a second monitor, for migration */
	const char *console_log;
	const char *dm_args;	/* extra words, '\n'-separated; NULL or "" */
	bool start_paused;
	bool incoming;		/* wait for a migration stream (-incoming defer) */
};

/*
 * Fork and exec QEMU with the RAM memfd as its memory backend (share=on so
 * hv's mapping sees every guest write) and the platform device served by
 * hv_ivshmem. QEMU's stdout/stderr go to @console_log.qemu. 0 or -errno.
 */
int hv_vm_spawn(const struct hv_vm_launch *l, pid_t *pid);
/* argv for the launch (NULL-terminated, malloc'd: hv_vm_argv_free). */
char **hv_vm_argv(const struct hv_vm_launch *l);
void hv_vm_argv_free(char **argv);
/* QEMU's -accel value: $PVIO_ACCEL, else kvm if really usable, else TCG. */
const char *hv_vm_accel(void);

/* ---- hv_vm.c: the VM domain type ---- */

struct hv_domain;
/*
 * Set up where VMs' RAM lives (hv_vm.c: a huge-page tmpfs of hv's) at
 * start, so that hv's fds do not change with its first VM; a VM made
 * without it sets it up then.
 */
void hv_vm_ram_init(void);
/* Thread ids of a VM's vCPUs (for vcpu-list/vcpu-pin): count or -errno. */
int hv_vm_vcpu_tids(struct hv_domain *d, pid_t *tids, unsigned int max);

#endif /* PVIO_HV_VM_H */
