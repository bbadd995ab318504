// SPDX-License-Identifier: MIT
/*
 * hv's side of a VM's platform region: initialising the shared info,
 * taking hypercall requests out of the slots, taking fast sends out of the
 * send bitmap, and marking events pending for the guest. The region is
 * shared with a hostile guest: every field is read once into a local copy
 * before it is used, and slots change state only by compare-and-swap.
 */
#include <errno.h>
#include <string.h>

#include "pvio/hypercall.h"
#include "hv_vm_platform.h"

void hv_vm_platform_init(void *plat, uint16_t domid, uint16_t nr_vcpus,
			 uint64_t nr_pages)
{
	struct pvio_shared_info *sh = plat;

	memset(plat, 0, PVIO_PLATFORM_SIZE);
	sh->domid = domid;
	sh->nr_vcpus = nr_vcpus;
	sh->nr_pages = nr_pages;
	sh->region_size = PVIO_PLATFORM_SIZE;
	sh->version = PVIO_PLATFORM_VERSION;
	/* magic last: a guest that sees it sees the rest */
	__atomic_store_n(&sh->magic, PVIO_PLATFORM_MAGIC, __ATOMIC_RELEASE);
}

static struct pvio_hcall_slot *hcall_slot(void *plat, unsigned int i)
{
	return (struct pvio_hcall_slot *)((char *)plat +
					  PVIO_PLATFORM_OFF_HCALL) + i;
}

uint32_t hv_vm_hcall_scan(void *plat, unsigned int nr_slots,
			  hv_vm_hcall_fn fn, void *ctx)
{
	uint32_t done = 0;
	unsigned int i;

	if (nr_slots > PVIO_MAX_VCPUS)
		nr_slots = PVIO_MAX_VCPUS;
	for (i = 0; i < nr_slots; i++) {
		struct pvio_hcall_slot *s = hcall_slot(plat, i);
		uint32_t expect = PVIO_HC_STATE_PENDING;
		struct hv_vm_hcall hc;
		int64_t ret;

		/* claim the slot; a guest rewriting it meanwhile loses */
		if (!__atomic_compare_exchange_n(&s->state, &expect,
						 PVIO_HC_STATE_BUSY, false,
						 __ATOMIC_ACQUIRE,
						 __ATOMIC_RELAXED))
			continue;
		hc.slot = i;
		hc.op = __atomic_load_n(&s->op, __ATOMIC_RELAXED);
		memcpy(hc.arg, s->arg, sizeof(hc.arg));
		hc.area = (uint8_t *)plat + PVIO_PLATFORM_OFF_HCARG +
			  i * PVIO_HC_ARG_BYTES;
		ret = fn(ctx, &hc);
		if (ret == HV_VM_HCALL_HELD)
			continue;
		__atomic_store_n(&s->ret, ret, __ATOMIC_RELAXED);
		/* ret (and the argument area) before DONE */
		__atomic_store_n(&s->state, PVIO_HC_STATE_DONE,
				 __ATOMIC_RELEASE);
		done |= 1u << i;
	}
	return done;
}

int hv_vm_hcall_complete(void *plat, unsigned int slot, int64_t ret)
{
	struct pvio_hcall_slot *s;

	if (slot >= PVIO_MAX_VCPUS)
		return -EINVAL;
	s = hcall_slot(plat, slot);
	__atomic_store_n(&s->ret, ret, __ATOMIC_RELAXED);
	__atomic_store_n(&s->state, PVIO_HC_STATE_DONE, __ATOMIC_RELEASE);
	return 0;
}

int hv_vm_hcall_find_suspend(void *plat, unsigned int nr_slots)
{
	unsigned int i;

	if (nr_slots > PVIO_MAX_VCPUS)
		nr_slots = PVIO_MAX_VCPUS;
	for (i = 0; i < nr_slots; i++) {
		struct pvio_hcall_slot *s = hcall_slot(plat, i);

		if (__atomic_load_n(&s->state, __ATOMIC_ACQUIRE) ==
			    PVIO_HC_STATE_BUSY &&
		    __atomic_load_n(&s->op, __ATOMIC_RELAXED) ==
			    PVIO_HC_SCHED_SHUTDOWN &&
		    __atomic_load_n(&s->arg[0], __ATOMIC_RELAXED) ==
			    PVIO_SHUTDOWN_SUSPEND)
			return (int)i;
	}
	return -ENOENT;
}

void hv_vm_platform_adopt(void *plat, uint16_t domid, uint16_t nr_vcpus,
			  uint64_t nr_pages, uint32_t store_port)
{
	struct pvio_shared_info *sh = plat;
	unsigned int v;

	sh->domid = domid;
	sh->nr_vcpus = nr_vcpus;
	sh->nr_pages = nr_pages;
	sh->region_size = PVIO_PLATFORM_SIZE;
	sh->version = PVIO_PLATFORM_VERSION;
	sh->store_port = store_port;
	sh->console_port = 0;
	/* no port of the old host exists here: nothing is pending */
	memset(sh->evtchn_pending, 0, sizeof(sh->evtchn_pending));
	memset(sh->evtchn_send, 0, sizeof(sh->evtchn_send));
	for (v = 0; v < PVIO_MAX_VCPUS; v++) {
		sh->vcpu[v].upcall_pending = 0;
		sh->vcpu[v].pending_sel = 0;
	}
	/* a new store connection starts on empty rings */
	memset((char *)plat + PVIO_PLATFORM_OFF_STORE, 0, 0x1000);
	memset((char *)plat + PVIO_PLATFORM_OFF_CONSOLE, 0, 0x1000);
	__atomic_store_n(&sh->magic, PVIO_PLATFORM_MAGIC, __ATOMIC_RELEASE);
}

int hv_vm_hcall_arg(const struct hv_vm_hcall *hc, uint64_t off, uint64_t len,
		    void **p)
{
	if (off > PVIO_HC_ARG_BYTES || len > PVIO_HC_ARG_BYTES - off)
		return -EFAULT;
	*p = hc->area + off;
	return 0;
}

unsigned int hv_vm_send_scan(void *plat, hv_vm_send_fn fn, void *ctx)
{
	struct pvio_shared_info *sh = plat;
	unsigned int w, n = 0;

	for (w = 0; w < PVIO_EVTCHN_2L_WORDS; w++) {
		uint64_t bits;

		if (!__atomic_load_n(&sh->evtchn_send[w], __ATOMIC_RELAXED))
			continue;
		bits = __atomic_exchange_n(&sh->evtchn_send[w], 0,
					   __ATOMIC_ACQ_REL);
		while (bits) {
			unsigned int b = (unsigned int)__builtin_ctzll(bits);

			bits &= bits - 1;
			fn(ctx, w * 64 + b);
			n++;
		}
	}
	return n;
}
