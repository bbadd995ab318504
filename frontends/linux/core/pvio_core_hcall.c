// SPDX-License-Identifier: GPL-2.0
/*
 * Hypercalls through the platform region: a request goes into a slot (one
 * per vCPU), the doorbell wakes hv, hv writes ret and state DONE and raises
 * an upcall, which wakes the waiter. A slot is a mailbox, not bound to the
 * CPU we run on, so a mutex per slot is all the exclusion needed.
 */
#include <linux/delay.h>
#include <linux/jiffies.h>
#include <linux/mutex.h>
#include <linux/sched.h>
#include <linux/smp.h>
#include "pvio_core_internal.h"

/* TCG guests can be slow; an hv that never answers is a dead hv */
#define PVIO_HCALL_TIMEOUT	(60 * HZ)
#define PVIO_HCALL_SPIN		200

static struct mutex hcall_lock[PVIO_MAX_VCPUS];

int pvio_hcall_init(struct pvio_platform *p)
{
	unsigned int i;

	for (i = 0; i < PVIO_MAX_VCPUS; i++)
		mutex_init(&hcall_lock[i]);
	return 0;
}

void pvio_hcall_exit(void)
{
}

static bool pvio_hcall_done(struct pvio_hcall_slot *slot)
{
	return READ_ONCE(slot->state) == PVIO_HC_STATE_DONE;
}

static long hypercall(u32 op, const u64 args[6], void *buf, size_t len,
		      bool hold)
{
	struct pvio_platform *p = pvio_plat;
	struct pvio_hcall_slot *slot;
	unsigned long deadline;
	unsigned int idx, i;
	void *area;
	long ret;

	if (!p)
		return -ENODEV;
	if (len > PVIO_HC_ARG_BYTES)
		return -E2BIG;
	might_sleep();

	idx = raw_smp_processor_id() % PVIO_MAX_VCPUS;
	mutex_lock(&hcall_lock[idx]);
	slot = p->region + PVIO_PLATFORM_OFF_HCALL + idx * sizeof(*slot);
	area = p->region + PVIO_PLATFORM_OFF_HCARG + idx * PVIO_HC_ARG_BYTES;
	if (len)
		memcpy(area, buf, len);
	WRITE_ONCE(slot->op, op);
	for (i = 0; i < 6; i++)
		WRITE_ONCE(slot->arg[i], args ? args[i] : 0);
	WRITE_ONCE(slot->ret, 0);
	/* the request is complete before hv can see PENDING */
	virt_wmb();
	WRITE_ONCE(slot->state, PVIO_HC_STATE_PENDING);
	pvio_platform_doorbell();

	for (i = 0; i < PVIO_HCALL_SPIN && !pvio_hcall_done(slot); i++)
		cpu_relax();
	deadline = jiffies + PVIO_HCALL_TIMEOUT;
	/* the upcall wakes us; the short timeout covers a lost wakeup */
	while (!pvio_hcall_done(slot)) {
		if (!hold && time_after(jiffies, deadline)) {
			pr_err("pvio_core: call %u to hv timed out in slot %u\n",
			       op, idx);
			ret = -ETIMEDOUT;
			goto out;
		}
		wait_event_timeout(p->hcall_wq, pvio_hcall_done(slot),
				   msecs_to_jiffies(10));
	}
	/* read ret and the argument area only after seeing DONE */
	virt_rmb();
	ret = READ_ONCE(slot->ret);
	if (len)
		memcpy(buf, area, len);
	WRITE_ONCE(slot->state, PVIO_HC_STATE_IDLE);
out:
	mutex_unlock(&hcall_lock[idx]);
	return ret;
}

long pvio_hypercall(u32 op, const u64 args[6], void *buf, size_t len)
{
	return hypercall(op, args, buf, len, false);
}
EXPORT_SYMBOL_GPL(pvio_hypercall);

long pvio_hypercall_hold(u32 op, const u64 args[6])
{
	return hypercall(op, args, NULL, 0, true);
}
