// SPDX-License-Identifier: GPL-2.0
/*
 * pvio_guest_test: a guest module for the guest test tier. On load it
 * offers an event channel to domain @remote, counts the events that arrive
 * on it, grants a page holding a known pattern, and round-trips a value
 * through the store. The state is read from /sys/module/pvio_guest_test/
 * parameters; writing to "notify" sends an event to the peer.
 */
#include <linux/atomic.h>
#include <linux/err.h>
#include <linux/gfp.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <pvio_core.h>

static int remote;
module_param(remote, int, 0444);
MODULE_PARM_DESC(remote, "domain offered the event channel and the grant");

static unsigned int port;
module_param(port, uint, 0444);
static int gref = -1;
module_param(gref, int, 0444);
static char store[64] = "unavailable";
module_param_string(store, store, sizeof(store), 0444);

static atomic_t events_seen = ATOMIC_INIT(0);
static struct page *grant_page;

static int events_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%d\n", atomic_read(&events_seen));
}

static const struct kernel_param_ops events_ops = { .get = events_get };
module_param_cb(events, &events_ops, NULL, 0444);

static int notify_set(const char *val, const struct kernel_param *kp)
{
	if (!port)
		return -ENOTCONN;
	pvio_evtchn_notify(port);
	return 0;
}

static const struct kernel_param_ops notify_ops = { .set = notify_set };
module_param_cb(notify, &notify_ops, NULL, 0200);

static void test_event(pvio_evtchn_port_t p, void *data)
{
	atomic_inc(&events_seen);
}

static void test_store(void)
{
	char path[64], *v;
	int ret;

	snprintf(path, sizeof(path), "/local/domain/%u/data/pvio-test",
		 pvio_domid());
	ret = pvio_store_write(path, "hello-from-guest");
	if (ret) {
		snprintf(store, sizeof(store), "write-error-%d", ret);
		return;
	}
	v = pvio_store_read(path, NULL);
	if (IS_ERR(v)) {
		snprintf(store, sizeof(store), "read-error-%ld", PTR_ERR(v));
		return;
	}
	snprintf(store, sizeof(store), "%s",
		 strcmp(v, "hello-from-guest") ? "mismatch" : "ok");
	kfree(v);
}

static int __init pvio_guest_test_init(void)
{
	char *p;
	int ret;

	ret = pvio_evtchn_alloc_unbound(remote, &port);
	if (ret)
		return ret;
	ret = pvio_evtchn_bind_handler(port, test_event, NULL);
	if (ret)
		goto err_close;

	grant_page = alloc_page(GFP_KERNEL | __GFP_ZERO);
	if (!grant_page) {
		ret = -ENOMEM;
		goto err_close;
	}
	p = page_address(grant_page);
	snprintf(p, PAGE_SIZE, "pvio-grant-test domain %u", pvio_domid());
	gref = pvio_gnttab_grant_access(remote, pvio_page_to_gfn(grant_page),
					false);
	if (gref < 0) {
		ret = gref;
		goto err_page;
	}
	test_store();
	pr_info("pvio_guest_test: port %u gref %d store %s\n", port, gref,
		store);
	return 0;

err_page:
	__free_page(grant_page);
err_close:
	pvio_evtchn_close(port);
	return ret;
}

static void __exit pvio_guest_test_exit(void)
{
	/* a grant still mapped by the peer cannot be freed: keep the page */
	if (pvio_gnttab_end_access(gref) == 0)
		__free_page(grant_page);
	pvio_evtchn_close(port);
}

module_init(pvio_guest_test_init);
module_exit(pvio_guest_test_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("pvio guest test helper");
