// SPDX-License-Identifier: GPL-2.0
/*
 * Shutdown requests from the toolstack, as Xen guests take them: dom0
 * writes "poweroff", "halt" or "reboot" to /local/domain/<self>/control/
 * shutdown; we clear the node (acknowledging it) and start an orderly
 * power-off or reboot (the kernel's poweroff_cmd/reboot_cmd, forced if
 * that helper cannot run); "suspend" starts a save or migration
 * (pvio_core_suspend.c). We advertise control/feature-poweroff, -reboot and
 * -suspend so the toolstack knows to ask this way.
 *
 * As Xen guests do, we also offer a suspend event channel: a port unbound
 * for dom0, named in device/suspend/event-channel when the toolstack made
 * that node (which says it knows the channel). A toolstack that binds it
 * and notifies asks for a suspend with no store round trip (the guest
 * need not read and acknowledge a node while its vCPU is busy); the port
 * goes when the suspend starts and a new one is offered on resume.
 */
#include <linux/kernel.h>
#include <linux/reboot.h>
#include <linux/slab.h>
#include <linux/string.h>
#include "pvio_core_internal.h"

static char control_path[80];
static char control_dir[64];
static char suspend_evtchn_path[80];
static pvio_evtchn_port_t suspend_port;
static bool suspend_port_open;
static struct pvio_store_watch control_watch;
static bool control_watching;

/* What we answer to (poweroff, reboot, suspend), one round trip. */
static void control_features(void)
{
	static const char *const keys[] = {
		"feature-poweroff", "feature-reboot", "feature-suspend",
	};
	struct pvio_store_batch *b = pvio_store_batch_alloc();
	unsigned int i;
	int ret;

	if (!b) {
		pr_warn("pvio_core: out of memory: %s/feature-* not written\n",
			control_dir);
		return;
	}
	for (i = 0; i < ARRAY_SIZE(keys); i++)
		pvio_store_batch_printf(b, control_dir, keys[i], "1");
	ret = pvio_store_batch_run(b);
	if (ret)
		pr_warn("pvio_core: cannot write %s/feature-*: %d\n",
			control_dir, ret);
	pvio_store_batch_release(b);
}

static void control_cb(struct pvio_store_watch *w, const char *path)
{
	char *v = pvio_store_read(control_path, NULL);

	if (IS_ERR(v))
		return;
	if (!*v) {
		kfree(v);
		return;
	}
	/* acknowledge first, so that a second request is seen as new */
	pvio_store_write(control_path, "");
	if (!strcmp(v, "suspend")) {
		pr_info("pvio_core: suspend requested\n");
		pvio_suspend_request();
	} else if (!strcmp(v, "poweroff") || !strcmp(v, "halt")) {
		pr_info("pvio_core: shutdown requested: %s\n", v);
		orderly_poweroff(true);
	} else if (!strcmp(v, "reboot")) {
		pr_info("pvio_core: reboot requested\n");
		orderly_reboot();
	} else {
		pr_warn("pvio_core: unsupported shutdown request '%.32s'\n", v);
	}
	kfree(v);
}

static void control_paths(void)
{
	snprintf(control_dir, sizeof(control_dir), "/local/domain/%u/control",
		 pvio_domid());
	snprintf(control_path, sizeof(control_path), "%s/shutdown",
		 control_dir);
	snprintf(suspend_evtchn_path, sizeof(suspend_evtchn_path),
		 "/local/domain/%u/device/suspend/event-channel", pvio_domid());
}

static void suspend_evtchn_fn(pvio_evtchn_port_t port, void *data)
{
	pr_info("pvio_core: suspend requested by event channel\n");
	pvio_suspend_request();
}

/*
 * Offer a suspend event channel where the toolstack made the node for it
 * (as libxl does; a toolstack without it writes control/shutdown).
 */
static void suspend_evtchn_open(void)
{
	char val[16], *v;

	if (suspend_port_open)
		return;
	v = pvio_store_read(suspend_evtchn_path, NULL);
	if (IS_ERR(v))
		return;
	kfree(v);
	if (pvio_evtchn_alloc_unbound(0, &suspend_port))
		return;
	if (pvio_evtchn_bind_handler(suspend_port, suspend_evtchn_fn, NULL)) {
		pvio_evtchn_close(suspend_port);
		return;
	}
	suspend_port_open = true;
	snprintf(val, sizeof(val), "%u", suspend_port);
	if (pvio_store_write(suspend_evtchn_path, val))
		pr_debug("pvio_core: cannot write %s\n", suspend_evtchn_path);
}

/*
 * The suspend has started: no port of ours may be named once we are
 * resumed elsewhere (it would name another port there).
 */
void pvio_control_suspend(void)
{
	if (!suspend_port_open)
		return;
	pvio_store_write(suspend_evtchn_path, "");
	pvio_evtchn_close(suspend_port);
	suspend_port_open = false;
}

/* Resumed, here or elsewhere: a new port for the next suspend. */
void pvio_control_resume(bool new_host)
{
	if (!control_watching)
		return;
	if (new_host)
		control_features();
	suspend_evtchn_open();
}

void pvio_control_start(void)
{
	int ret;

	control_paths();
	control_watch.path = control_path;
	control_watch.cb = control_cb;
	ret = pvio_store_watch_add(&control_watch);
	if (ret) {
		pr_warn("pvio_core: cannot watch %s: %d\n", control_path, ret);
		return;
	}
	control_watching = true;
	control_features();
	suspend_evtchn_open();
}

/*
 * New host: our domain id may differ. The paths change before the watch
 * is registered again; the features are written again on resume.
 */
void pvio_control_rebase(void)
{
	if (control_watching)
		control_paths();
}

void pvio_control_stop(void)
{
	pvio_control_suspend();
	if (control_watching)
		pvio_store_watch_del(&control_watch);
	control_watching = false;
}
