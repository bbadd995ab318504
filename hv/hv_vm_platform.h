/* SPDX-License-Identifier: MIT */
/*
 * hv's view of a VM's platform region (see hv_vm_platform.c). Shared with
 * libpvio, which marks events pending in a VM's shared info itself so a
 * dom0 backend notifies a VM without an hv round trip.
 */
#ifndef PVIO_HV_VM_PLATFORM_H
#define PVIO_HV_VM_PLATFORM_H

#include <stdbool.h>
#include <stdint.h>

#include "pvio/platform.h"

/* Fill a fresh region: shared info with identity, everything else zero. */
void hv_vm_platform_init(void *plat, uint16_t domid, uint16_t nr_vcpus,
			 uint64_t nr_pages);

/* One hypercall taken out of a slot (copied: the guest may change it). */
struct hv_vm_hcall {
	unsigned int slot;
	uint32_t op;
	uint64_t arg[6];
	uint8_t *area;		/* the slot's argument area, guest-writable */
};
typedef int64_t (*hv_vm_hcall_fn)(void *ctx, const struct hv_vm_hcall *hc);
/* @fn's answer for a call it holds: the slot stays BUSY (a suspend). */
#define HV_VM_HCALL_HELD	INT64_MIN

/*
 * Execute every PENDING slot of @nr_slots with @fn and mark it DONE
 * (unless @fn held it). Returns a bitmask of the slots completed (raise
 * their vectors).
 */
uint32_t hv_vm_hcall_scan(void *plat, unsigned int nr_slots,
			  hv_vm_hcall_fn fn, void *ctx);
/* Complete held slot @slot with @ret (state DONE): 0 or -EINVAL. */
int hv_vm_hcall_complete(void *plat, unsigned int slot, int64_t ret);
/*
 * The slot holding a guest suspend (BUSY, SCHED_SHUTDOWN, SUSPEND), as it
 * arrives in a region migrated from another host: its index or -ENOENT.
 */
int hv_vm_hcall_find_suspend(void *plat, unsigned int nr_slots);
/*
 * Rewrite hv's part of a region that came from another host: identity,
 * the store port, an empty store and console ring, no pending or queued
 * events, no upcall pending. The guest's own part (masks, slots) stays.
 */
void hv_vm_platform_adopt(void *plat, uint16_t domid, uint16_t nr_vcpus,
			  uint64_t nr_pages, uint32_t store_port);

/* Bounds-check an (offset, length) pointer argument: 0 or -EFAULT. */
int hv_vm_hcall_arg(const struct hv_vm_hcall *hc, uint64_t off, uint64_t len,
		    void **p);

/* Take the guest's fast-send bitmap; calls @fn per port. Returns the count. */
typedef void (*hv_vm_send_fn)(void *ctx, uint32_t port);
unsigned int hv_vm_send_scan(void *plat, hv_vm_send_fn fn, void *ctx);

#endif /* PVIO_HV_VM_PLATFORM_H */
