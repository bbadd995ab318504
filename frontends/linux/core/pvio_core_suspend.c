// SPDX-License-Identifier: GPL-2.0
/*
 * Suspend and resume, as Xen guests do them for save and migration: the
 * toolstack writes "suspend" to control/shutdown (or signals the suspend
 * event channel); every frontend stops issuing and closes its event
 * channels, the store is held idle, and SCHED_SHUTDOWN(suspend) reports us
 * suspended. The toolstack then closes each device's connection on our
 * behalf (its backend answers what is in flight and unmaps; no guest time
 * is spent on that). hv holds that hypercall until the toolstack is
 * done: it returns 1 when the save was cancelled or was a checkpoint (same
 * host, same platform), 0 on a new host (restore, migration). On a new
 * host the platform is rebuilt: grant table registered again, event
 * channels forgotten, store ring reconnected on the port hv names, paths
 * rebased on the domain id we now have. Then every frontend takes what
 * its old ring answered, re-issues the rest and reconnects to whatever
 * backend the store names.
 */
#include <linux/hrtimer.h>
#include <linux/kernel.h>
#include <linux/ktime.h>
#include <linux/mutex.h>
#include <linux/workqueue.h>
#include "pvio_core_internal.h"

static DEFINE_MUTEX(suspend_mutex);
static void suspend_work_fn(struct work_struct *w);
static DECLARE_WORK(suspend_work, suspend_work_fn);

/*
 * After a resume, the control keys and the next suspend's port: at normal
 * priority, behind the devices reconnecting (they go on the store first).
 */
static bool resumed_new_host;
static void control_resume_fn(struct work_struct *w)
{
	pvio_control_resume(READ_ONCE(resumed_new_host));
}
static DECLARE_WORK(control_resume_work, control_resume_fn);

/*
 * From the suspend request until hv holds our suspend hypercall, a page
 * of ours is written every 2 ms. The toolstack holds QEMU's last pass
 * over our RAM back while we suspend, but QEMU still switches over by
 * itself when a pass finds nothing dirty: an idle vCPU (devices
 * waiting for their backends, no tick) must not look like a suspended one.
 */
#define SUSPEND_BEAT_NS	(2 * NSEC_PER_MSEC)
static struct hrtimer suspend_beat;
static unsigned long suspend_beats;

static enum hrtimer_restart suspend_beat_fn(struct hrtimer *t)
{
	WRITE_ONCE(suspend_beats, suspend_beats + 1);
	hrtimer_forward_now(t, ns_to_ktime(SUSPEND_BEAT_NS));
	return HRTIMER_RESTART;
}

static void suspend_work_fn(struct work_struct *w)
{
	u64 args[6] = { PVIO_SHUTDOWN_SUSPEND };
	pvio_domid_t old = pvio_domid();
	ktime_t t0 = ktime_get(), t_back, t_plat, t_watch, t_end;
	bool new_host;
	long r;

	/* the last resume's port is open before this suspend closes it */
	flush_work(&control_resume_work);
	mutex_lock(&suspend_mutex);
	pr_info("pvio_core: suspending\n");
	pvio_control_suspend();
	pvio_bus_suspend();
	pvio_store_suspend();
	r = pvio_hypercall_hold(PVIO_HC_SCHED_SHUTDOWN, args);
	t_back = ktime_get();
	hrtimer_cancel(&suspend_beat);
	new_host = r == 0;
	if (r < 0)
		pr_warn("pvio_core: suspend hypercall failed: %ld\n", r);
	if (new_host) {
		pvio_store_forget_port();
		pvio_evtchn_resume();
		r = pvio_gnttab_resume();
		if (r)
			pr_err("pvio_core: grant table not registered again: %ld\n",
			       r);
	}
	pvio_store_resume(new_host);
	t_plat = ktime_get();
	if (new_host) {
		pvio_bus_rebase();
		pvio_control_rebase();
		pvio_store_rewatch();
	}
	t_watch = ktime_get();
	/* the devices first: the next suspend's port can wait */
	pvio_bus_resume(new_host);
	t_end = ktime_get();
	WRITE_ONCE(resumed_new_host, new_host);
	queue_work(system_wq, &control_resume_work);
	/* the frontends reconnect from here on, each logs when it has */
	pr_info("pvio_core: resumed on %s (domain %u -> %u) after %lld ms (since the hypercall returned: platform %lld ms, watches %lld ms, frontends told %lld ms)\n",
		new_host ? "a new host" : "the same host", old, pvio_domid(),
		ktime_ms_delta(t_end, t0), ktime_ms_delta(t_plat, t_back),
		ktime_ms_delta(t_watch, t_plat), ktime_ms_delta(t_end, t_watch));
	mutex_unlock(&suspend_mutex);
}

void pvio_suspend_request(void)
{
	/* a second request while one runs is the same suspend */
	if (queue_work(system_highpri_wq, &suspend_work))
		hrtimer_start(&suspend_beat, ns_to_ktime(SUSPEND_BEAT_NS),
			      HRTIMER_MODE_REL);
}

void pvio_suspend_init(void)
{
	hrtimer_init(&suspend_beat, CLOCK_MONOTONIC, HRTIMER_MODE_REL);
	suspend_beat.function = suspend_beat_fn;
}

void pvio_suspend_exit(void)
{
	cancel_work_sync(&suspend_work);
	cancel_work_sync(&control_resume_work);
	hrtimer_cancel(&suspend_beat);
}
