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

/*
 * Execute every PENDING slot of @nr_slots with @fn and mark it DONE.
 * Returns a bitmask of the slots completed (raise their vectors).
 */
uint32_t hv_vm_hcall_scan(void *plat, unsigned int nr_slots,
			  hv_vm_hcall_fn fn, void *ctx);
/* Bounds-check an (offset, length) pointer argument: 0 or -EFAULT. */
int hv_vm_hcall_arg(const struct hv_vm_hcall *hc, uint64_t off, uint64_t len,
		    void **p);

/* Take the guest's fast-send bitmap; calls @fn per port. Returns the count. */
typedef void (*hv_vm_send_fn)(void *ctx, uint32_t port);
unsigned int hv_vm_send_scan(void *plat, hv_vm_send_fn fn, void *ctx);

#endif /* PVIO_HV_VM_PLATFORM_H */
