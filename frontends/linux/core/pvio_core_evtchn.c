// SPDX-License-Identifier: GPL-2.0
/*
 * Event channels of the guest: the upcall handler scans the 2-level
 * pending bitmaps in the shared info and dispatches each pending, unmasked
 * port to its handler {fn, data}; ports are created and closed by
 * hypercall; notify rings the dom0 end's own doorbell peer when hv has
 * set up one for the port (evtchn_peer: no hv), else the fast-send
 * bitmap plus hv's doorbell (no wait either way).
 *
 * The guest owns the mask bits (all set at start, cleared when a handler
 * is bound); hv sets pending bits, then the vCPU selector and
 * upcall_pending of unmasked ports, then raises the vCPU's vector.
 *
 * Every read-modify-write of a bitmap other processes share (pending,
 * mask, send) is a sync_ bitop, locked whatever the kernel runs on: a
 * kernel that finds one CPU present patches the lock prefix out of the
 * plain bitops, and an unlocked clear of one port's pending bit would then
 * also clear another port's bit that a backend set meanwhile (under QEMU's
 * TCG an unlocked instruction is a plain load and store on the host).
 */
#include <linux/atomic.h>
#include <linux/bitops.h>
#include <linux/interrupt.h>
#include <linux/irq_work.h>
#include <linux/moduleparam.h>
#include <linux/sysfs.h>
#include <linux/slab.h>
#include <asm/sync_bitops.h>
#include "pvio_core_internal.h"

struct pvio_evtchn_slot {
	pvio_evtchn_handler_t fn;
	void *data;
	unsigned long taken;	/* events dispatched since bound */
};

static struct pvio_evtchn_slot *evtchn_slots;

/*
 * Notifications sent straight to a dom0 end and through hv, read-only in
 * /sys/module/pvio_core/parameters/notify_{direct,hv}.
 */
static atomic64_t notify_direct, notify_hv;

static int notify_count_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%lld\n", atomic64_read(kp->arg));
}

static const struct kernel_param_ops notify_count_ops = {
	.get = notify_count_get,
};
module_param_cb(notify_direct, &notify_count_ops, &notify_direct, 0444);
MODULE_PARM_DESC(notify_direct, "notifications that reached a backend without hv");
module_param_cb(notify_hv, &notify_count_ops, &notify_hv, 0444);
MODULE_PARM_DESC(notify_hv, "notifications sent through hv");

/* /sys/module/pvio_core/parameters/evtchn_taken: "port:events" of bound ports */
static int evtchn_taken_get(char *buf, const struct kernel_param *kp)
{
	int n = 0;
	unsigned int i;

	if (!evtchn_slots)
		return sysfs_emit(buf, "\n");
	for (i = 1; i < PVIO_EVTCHN_MAX_PORTS && n < PAGE_SIZE - 32; i++)
		if (READ_ONCE(evtchn_slots[i].fn))
			n += sysfs_emit_at(buf, n, "%u:%lu ", i,
					   READ_ONCE(evtchn_slots[i].taken));
	return n + sysfs_emit_at(buf, n, "\n");
}

static const struct kernel_param_ops evtchn_taken_ops = {
	.get = evtchn_taken_get,
};
module_param_cb(evtchn_taken, &evtchn_taken_ops, NULL, 0444);
MODULE_PARM_DESC(evtchn_taken, "events dispatched per bound port");
static DEFINE_SPINLOCK(evtchn_lock);	/* binding, not dispatch */
static struct irq_work evtchn_replay;

/* The bitmaps are arrays of u64 in the ABI; x86-64 longs are 64 bits. */
static unsigned long *evtchn_word(u64 *bitmap, pvio_evtchn_port_t port)
{
	return (unsigned long *)&bitmap[port / 64];
}

static bool evtchn_port_valid(pvio_evtchn_port_t port)
{
	return port > 0 && port < PVIO_EVTCHN_MAX_PORTS;
}

static void evtchn_dispatch(pvio_evtchn_port_t port)
{
	struct pvio_evtchn_slot *s = &evtchn_slots[port];
	pvio_evtchn_handler_t fn = READ_ONCE(s->fn);

	if (fn) {
		WRITE_ONCE(s->taken, s->taken + 1);
		fn(port, READ_ONCE(s->data));
	}
}

/* Handle every pending, unmasked port of the selector words in @sel. */
static void evtchn_scan(struct pvio_shared_info *sh, u64 sel)
{
	while (sel) {
		unsigned int w = __ffs64(sel);
		u64 bits;

		sel &= sel - 1;
		bits = READ_ONCE(sh->evtchn_pending[w]) &
		       ~READ_ONCE(sh->evtchn_mask[w]);
		while (bits) {
			unsigned int b = __ffs64(bits);

			bits &= bits - 1;
			/* clear before running: a new event re-sets it */
			if (sync_test_and_clear_bit(b, (unsigned long *)
					       &sh->evtchn_pending[w]))
				evtchn_dispatch(w * 64 + b);
		}
	}
}

irqreturn_t pvio_evtchn_upcall(int irq, void *data)
{
	struct pvio_platform *p = pvio_plat;
	struct pvio_vcpu_info *vi;
	unsigned int loops = 0;

	if (!p)
		return IRQ_NONE;
	vi = &p->shared->vcpu[(unsigned long)data % PVIO_MAX_VCPUS];
	/* hypercall completions arrive as upcalls too */
	wake_up_all(&p->hcall_wq);
	do {
		WRITE_ONCE(vi->upcall_pending, 0);
		/* xchg is a full barrier: clear pending before taking sel */
		evtchn_scan(p->shared, xchg(&vi->pending_sel, 0));
	} while (READ_ONCE(vi->upcall_pending) && ++loops < 64);
	return IRQ_HANDLED;
}

/* Ports unmasked while pending: run them now, in interrupt context. */
static void evtchn_replay_fn(struct irq_work *w)
{
	struct pvio_shared_info *sh;
	u64 sel = 0;
	unsigned int i;

	if (!pvio_plat)
		return;
	sh = pvio_plat->shared;
	for (i = 0; i < PVIO_EVTCHN_2L_WORDS; i++)
		if (READ_ONCE(sh->evtchn_pending[i]) &
		    ~READ_ONCE(sh->evtchn_mask[i]))
			sel |= 1ULL << i;
	evtchn_scan(sh, sel);
}

int pvio_evtchn_init(struct pvio_platform *p)
{
	struct pvio_shared_info *sh = p->shared;
	unsigned int i;

	evtchn_slots = kcalloc(PVIO_EVTCHN_MAX_PORTS, sizeof(*evtchn_slots),
			       GFP_KERNEL);
	if (!evtchn_slots)
		return -ENOMEM;
	init_irq_work(&evtchn_replay, evtchn_replay_fn);
	/* nothing is delivered until a handler is bound */
	for (i = 0; i < PVIO_EVTCHN_2L_WORDS; i++)
		WRITE_ONCE(sh->evtchn_mask[i], ~0ULL);
	return 0;
}

void pvio_evtchn_exit(void)
{
	irq_work_sync(&evtchn_replay);
	kfree(evtchn_slots);
	evtchn_slots = NULL;
}

static long evtchn_op(u64 op, u64 a1, u64 a2)
{
	u64 args[6] = { op, a1, a2 };

	return pvio_hypercall(PVIO_HC_EVTCHN, args, NULL, 0);
}

/*
 * The vCPU whose vector a port's events should come on so that they are
 * taken on @cpu: vector v is bound to CPU v (pvio_setup_vectors), so @cpu
 * itself if it has a vector, else 0 (events still arrive, on CPU 0).
 */
static unsigned int evtchn_vcpu_for(unsigned int cpu)
{
	return pvio_plat && cpu < pvio_plat->nr_vectors ? cpu : 0;
}

int pvio_evtchn_alloc_unbound_on(pvio_domid_t remote, unsigned int cpu,
				 pvio_evtchn_port_t *port)
{
	long r = evtchn_op(EVTCHNOP_alloc_unbound, remote, evtchn_vcpu_for(cpu));

	if (r < 0)
		return (int)r;
	if (!evtchn_port_valid(r))
		return -EPROTO;
	*port = r;
	return 0;
}
EXPORT_SYMBOL_GPL(pvio_evtchn_alloc_unbound_on);

int pvio_evtchn_alloc_unbound(pvio_domid_t remote, pvio_evtchn_port_t *port)
{
	return pvio_evtchn_alloc_unbound_on(remote, 0, port);
}
EXPORT_SYMBOL_GPL(pvio_evtchn_alloc_unbound);

int pvio_evtchn_bind_vcpu(pvio_evtchn_port_t port, unsigned int cpu)
{
	long r;

	if (!evtchn_port_valid(port))
		return -EINVAL;
	r = evtchn_op(PVIO_EVTCHNOP_bind_vcpu, port, evtchn_vcpu_for(cpu));
	return r < 0 ? (int)r : 0;
}
EXPORT_SYMBOL_GPL(pvio_evtchn_bind_vcpu);

int pvio_evtchn_bind_interdomain(pvio_domid_t remote,
				 pvio_evtchn_port_t remote_port,
				 pvio_evtchn_port_t *port)
{
	long r = evtchn_op(EVTCHNOP_bind_interdomain, remote, remote_port);

	if (r < 0)
		return (int)r;
	if (!evtchn_port_valid(r))
		return -EPROTO;
	*port = r;
	return 0;
}
EXPORT_SYMBOL_GPL(pvio_evtchn_bind_interdomain);

void pvio_evtchn_mask(pvio_evtchn_port_t port)
{
	if (pvio_plat && evtchn_port_valid(port))
		sync_set_bit(port % 64,
			evtchn_word(pvio_plat->shared->evtchn_mask, port));
}
EXPORT_SYMBOL_GPL(pvio_evtchn_mask);

void pvio_evtchn_unmask(pvio_evtchn_port_t port)
{
	struct pvio_shared_info *sh;

	if (!pvio_plat || !evtchn_port_valid(port))
		return;
	sh = pvio_plat->shared;
	sync_clear_bit(port % 64, evtchn_word(sh->evtchn_mask, port));
	/*
	 * An event that came while masked set only the pending bit (hv
	 * raised no upcall for it): deliver it ourselves.
	 */
	smp_mb__after_atomic();
	if (test_bit(port % 64, evtchn_word(sh->evtchn_pending, port)))
		irq_work_queue(&evtchn_replay);
}
EXPORT_SYMBOL_GPL(pvio_evtchn_unmask);

unsigned int pvio_evtchn_state(pvio_evtchn_port_t port)
{
	struct pvio_shared_info *sh;
	unsigned int st = 0, i;

	if (!pvio_plat || !evtchn_port_valid(port))
		return 0;
	sh = pvio_plat->shared;
	if (test_bit(port % 64, evtchn_word(sh->evtchn_pending, port)))
		st |= 1;
	if (test_bit(port % 64, evtchn_word(sh->evtchn_mask, port)))
		st |= 2;
	/* whichever vCPU the port is bound to */
	for (i = 0; i < pvio_plat->nr_vectors; i++) {
		if (READ_ONCE(sh->vcpu[i].pending_sel) & (1ULL << (port / 64)))
			st |= 4;
		if (READ_ONCE(sh->vcpu[i].upcall_pending))
			st |= 8;
	}
	return st;
}
EXPORT_SYMBOL_GPL(pvio_evtchn_state);

unsigned long pvio_evtchn_taken(pvio_evtchn_port_t port)
{
	if (!evtchn_slots || !evtchn_port_valid(port))
		return 0;
	return READ_ONCE(evtchn_slots[port].taken);
}
EXPORT_SYMBOL_GPL(pvio_evtchn_taken);

int pvio_evtchn_bind_handler(pvio_evtchn_port_t port,
			     pvio_evtchn_handler_t fn, void *data)
{
	struct pvio_evtchn_slot *s;
	unsigned long flags;

	if (!pvio_plat || !evtchn_port_valid(port) || !fn)
		return -EINVAL;
	s = &evtchn_slots[port];
	spin_lock_irqsave(&evtchn_lock, flags);
	if (s->fn) {
		spin_unlock_irqrestore(&evtchn_lock, flags);
		return -EBUSY;
	}
	WRITE_ONCE(s->data, data);
	WRITE_ONCE(s->taken, 0);
	/* data is visible before a dispatcher can see fn */
	smp_wmb();
	WRITE_ONCE(s->fn, fn);
	spin_unlock_irqrestore(&evtchn_lock, flags);
	pvio_evtchn_unmask(port);
	return 0;
}
EXPORT_SYMBOL_GPL(pvio_evtchn_bind_handler);

void pvio_evtchn_unbind_handler(pvio_evtchn_port_t port)
{
	struct pvio_platform *p = pvio_plat;
	unsigned long flags;
	unsigned int i;

	if (!p || !evtchn_port_valid(port))
		return;
	pvio_evtchn_mask(port);
	spin_lock_irqsave(&evtchn_lock, flags);
	WRITE_ONCE(evtchn_slots[port].fn, NULL);
	spin_unlock_irqrestore(&evtchn_lock, flags);
	/* a handler still running on another CPU finishes before we return */
	for (i = 0; i < p->nr_vectors; i++)
		synchronize_irq(pci_irq_vector(p->pdev, i));
	irq_work_sync(&evtchn_replay);
}
EXPORT_SYMBOL_GPL(pvio_evtchn_unbind_handler);

void pvio_evtchn_resume(void)
{
	struct pvio_shared_info *sh;
	unsigned long flags;
	unsigned int i;

	if (!pvio_plat)
		return;
	sh = pvio_plat->shared;
	/* frontends let go of their handlers at the suspend: none is left */
	spin_lock_irqsave(&evtchn_lock, flags);
	for (i = 0; i < PVIO_EVTCHN_MAX_PORTS; i++) {
		if (READ_ONCE(evtchn_slots[i].fn))
			pr_warn("pvio_core: port %u still bound at resume\n", i);
		WRITE_ONCE(evtchn_slots[i].fn, NULL);
	}
	spin_unlock_irqrestore(&evtchn_lock, flags);
	/* every port masked until its new owner binds it */
	for (i = 0; i < PVIO_EVTCHN_2L_WORDS; i++)
		WRITE_ONCE(sh->evtchn_mask[i], ~0ull);
	/*
	 * The doorbell peers (evtchn_peer) are this host's hv's to name: it
	 * rewrote them when it let us resume, keeping those of backends that
	 * connected here to rings we kept.
	 */
	for (i = 0; i < pvio_plat->nr_vectors; i++)
		synchronize_irq(pci_irq_vector(pvio_plat->pdev, i));
	irq_work_sync(&evtchn_replay);
}

/*
 * Whether @port is connected to a port of domain @dom (after a move: a
 * backend of this host took over the connection we kept).
 */
bool pvio_evtchn_connected_to(pvio_evtchn_port_t port, pvio_domid_t dom)
{
	long r;

	if (!evtchn_port_valid(port))
		return false;
	r = evtchn_op(EVTCHNOP_status, port, 0);
	return r >= 0 && (r & 0xff) == EVTCHNSTAT_interdomain &&
	       ((r >> 16) & 0xffff) == dom;
}
EXPORT_SYMBOL_GPL(pvio_evtchn_connected_to);

int pvio_evtchn_close(pvio_evtchn_port_t port)
{
	long r;

	if (!evtchn_port_valid(port))
		return -EINVAL;
	pvio_evtchn_unbind_handler(port);
	r = evtchn_op(EVTCHNOP_close, port, 0);
	if (pvio_plat)
		sync_clear_bit(port % 64,
			  evtchn_word(pvio_plat->shared->evtchn_pending, port));
	return r < 0 ? (int)r : 0;
}
EXPORT_SYMBOL_GPL(pvio_evtchn_close);

void pvio_evtchn_notify(pvio_evtchn_port_t port)
{
	struct pvio_platform *p = pvio_plat;

	if (!p || !evtchn_port_valid(port))
		return;
	/* the backend's eventfd, straight from QEMU (hv zeroes the peer
	 * first when it takes that path away) */
	if (port < PVIO_DIRECT_PORTS) {
		u16 peer = READ_ONCE(p->shared->evtchn_peer[port]);

		if (peer >= PVIO_PORT_PEER_FIRST) {
			pvio_platform_doorbell_peer(peer);
			atomic64_inc(&notify_direct);
			return;
		}
	}
	atomic64_inc(&notify_hv);
	/*
	 * Already set: an earlier notifier has not rung yet or hv has not
	 * taken the word yet; either way one doorbell covers both.
	 */
	if (sync_test_and_set_bit(port % 64,
			     evtchn_word(p->shared->evtchn_send, port)))
		return;
	pvio_platform_doorbell();
}
EXPORT_SYMBOL_GPL(pvio_evtchn_notify);
