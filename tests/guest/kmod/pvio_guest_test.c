// SPDX-License-Identifier: GPL-2.0
/*
 * pvio_guest_test: a guest module for the guest test tier. On load it
 * offers an event channel to domain @remote, counts the events that arrive
 * on it, grants a page holding a known pattern, and round-trips a value
 * through the store. The state is read from /sys/module/pvio_guest_test/
 * parameters; writing to "notify" sends an event to the peer; writing a
 * path to "store_read" reads it through pvio_core's store client and
 * reading "store_read" gives the value (or "error -N"). With frontend=0
 * no "vbd" frontend driver is registered.
 */
#include <linux/atomic.h>
#include <linux/err.h>
#include <linux/gfp.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <pvio_core.h>
#include <pvio/hypercall.h>
#include <pvio/platform.h>

static int remote;
module_param(remote, int, 0444);
MODULE_PARM_DESC(remote, "domain offered the event channel and the grant");

static unsigned int port;
module_param(port, uint, 0444);
static int gref = -1;
module_param(gref, int, 0444);
static char store[64] = "unavailable";
module_param_string(store, store, sizeof(store), 0444);
/* the batch checks: against a real pvio-store (not the platform stub) */
static char store_batch[64] = "unavailable";
module_param_string(store_batch, store_batch, sizeof(store_batch), 0444);

static bool frontend = true;
module_param(frontend, bool, 0444);
MODULE_PARM_DESC(frontend, "register a \"vbd\" frontend driver (default 1)");

static char read_value[256] = "";

static int store_read_set(const char *val, const struct kernel_param *kp)
{
	char path[128], *v;

	if (strscpy(path, val, sizeof(path)) < 0)
		return -E2BIG;
	strim(path);
	v = pvio_store_read(path, NULL);
	if (IS_ERR(v)) {
		snprintf(read_value, sizeof(read_value), "error %ld",
			 PTR_ERR(v));
		return 0;
	}
	snprintf(read_value, sizeof(read_value), "%s", v);
	kfree(v);
	return 0;
}

static int store_read_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%s\n", read_value);
}

static const struct kernel_param_ops store_read_ops = {
	.set = store_read_set,
	.get = store_read_get,
};
module_param_cb(store_read, &store_read_ops, NULL, 0644);

static int probed;
module_param(probed, int, 0444);
static int otherend = -1;
module_param(otherend, int, 0444);

static atomic_t events_seen = ATOMIC_INIT(0);
static struct page *grant_page;

static int events_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%d\n", atomic_read(&events_seen));
}

static const struct kernel_param_ops events_ops = { .get = events_get };
module_param_cb(events, &events_ops, NULL, 0444);

/* events taken on CPU 1: where the port goes after bind_vcpu=1 */
static atomic_t events_cpu1 = ATOMIC_INIT(0);

static int events_cpu1_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%d\n", atomic_read(&events_cpu1));
}

static const struct kernel_param_ops events_cpu1_ops = { .get = events_cpu1_get };
module_param_cb(events_cpu1, &events_cpu1_ops, NULL, 0444);

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
	if (smp_processor_id() == 1)
		atomic_inc(&events_cpu1);
}

/* Move the port's events to a CPU (EVTCHNOP_bind_vcpu); reads the result. */
static int bind_vcpu_result = 1;

static int bind_vcpu_set(const char *val, const struct kernel_param *kp)
{
	unsigned int cpu;

	if (!port || kstrtouint(val, 0, &cpu))
		return -EINVAL;
	bind_vcpu_result = pvio_evtchn_bind_vcpu(port, cpu);
	return 0;
}

static int bind_vcpu_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%d\n", bind_vcpu_result);
}

static const struct kernel_param_ops bind_vcpu_ops = {
	.set = bind_vcpu_set,
	.get = bind_vcpu_get,
};
module_param_cb(bind_vcpu, &bind_vcpu_ops, NULL, 0644);

/*
 * A batch: writes, reads (one of a missing node), a removal of a missing
 * node, answered in one exchange, each with its own result; then a batch
 * whose one write is refused (a path the store rejects) fails with that
 * error while the rest of it is applied, in order.
 */
static void test_store_batch(void)
{
	struct pvio_store_batch *b = pvio_store_batch_alloc();
	char dir[64];
	int ra, rb, rmiss, rlast;
	const char *why = NULL;
	int ret;

	if (!b) {
		snprintf(store_batch, sizeof(store_batch), "nomem");
		return;
	}
	snprintf(dir, sizeof(dir), "/local/domain/%u/data/pvio-batch",
		 pvio_domid());
	pvio_store_batch_printf(b, dir, "a", "%u", 17u);
	pvio_store_batch_printf(b, dir, "b", "%s", "two");
	ra = pvio_store_batch_read(b, dir, "a");
	rmiss = pvio_store_batch_read(b, dir, "missing");
	pvio_store_batch_rm(b, dir, "missing");
	pvio_store_batch_printf(b, dir, "b", "%s", "three");
	rb = pvio_store_batch_read(b, dir, "b");
	ret = pvio_store_batch_run(b);
	if (ret)
		why = "run";
	else if (pvio_store_batch_ull(b, ra, 0) != 17)
		why = "read-a";
	else if (b->ops[rmiss].err != -ENOENT ||
		 pvio_store_batch_str(b, rmiss))
		why = "missing";
	else if (!pvio_store_batch_str(b, rb) ||
		 strcmp(pvio_store_batch_str(b, rb), "three"))
		why = "order";
	pvio_store_batch_clear(b);
	if (why)
		goto out;

	pvio_store_batch_init(b);
	pvio_store_batch_printf(b, dir, "c", "before");
	pvio_store_batch_printf(b, dir, "not a key!", "refused");
	pvio_store_batch_printf(b, dir, "c", "after");
	rlast = pvio_store_batch_read(b, dir, "c");
	ret = pvio_store_batch_run(b);
	if (ret != -EINVAL)
		why = "refused";
	else if (!pvio_store_batch_str(b, rlast) ||
		 strcmp(pvio_store_batch_str(b, rlast), "after"))
		why = "after-refused";
out:
	pvio_store_batch_release(b);
	if (why)
		snprintf(store_batch, sizeof(store_batch), "%s-%d", why, ret);
	else
		snprintf(store_batch, sizeof(store_batch), "ok");
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
	test_store_batch();
}

/*
 * Hostile hypercalls: each must fail with the expected error and leave hv
 * serving us. Writes "ok" or the first failing check to hostile_result.
 */
static char hostile_result[64] = "not-run";
module_param_string(hostile_result, hostile_result, sizeof(hostile_result),
		    0444);

static long hc(u32 op, u64 a0, u64 a1, u64 a2, void *buf, size_t len)
{
	u64 args[6] = { a0, a1, a2 };

	return pvio_hypercall(op, args, buf, len);
}

static int hostile_set(const char *val, const struct kernel_param *kp)
{
	static const struct {
		u32 op;
		u64 a0, a1, a2;
		long want;
		bool bad_gfn;
	} t[] = {
		{ 999, 0, 0, 0, -ENOSYS },
		{ PVIO_HC_GNTTAB_SETUP, 1000, 0, 0, -EINVAL },
		{ PVIO_HC_GNTTAB_SETUP, 2, PVIO_HC_ARG_BYTES - 8, 0, -EFAULT },
		{ PVIO_HC_GNTTAB_SETUP, 2, ~0ULL, 0, -EFAULT },
		{ PVIO_HC_GNTTAB_SETUP, 1, 0, 0, -EINVAL, true },
		{ PVIO_HC_EVTCHN, 77, 1, 0, -ENOSYS },
		{ PVIO_HC_EVTCHN, ~0ULL, 1, 0, -EINVAL },
		{ PVIO_HC_EVTCHN, EVTCHNOP_send, 4000, 0, -EINVAL },
		{ PVIO_HC_EVTCHN, EVTCHNOP_send, ~0ULL, 0, -EINVAL },
		{ PVIO_HC_EVTCHN, EVTCHNOP_close, 0, 0, -EINVAL },
		{ PVIO_HC_EVTCHN, EVTCHNOP_bind_interdomain, 0x7ff5, 1, -EINVAL },
		{ PVIO_HC_EVTCHN, EVTCHNOP_bind_interdomain, 999, 1, -ESRCH },
		{ PVIO_HC_EVTCHN, EVTCHNOP_alloc_unbound, ~0ULL, 0, -EINVAL },
		/* a vCPU the VM does not have, for a new port or one it lacks */
		{ PVIO_HC_EVTCHN, EVTCHNOP_alloc_unbound, 0, PVIO_MAX_VCPUS, -EINVAL },
		{ PVIO_HC_EVTCHN, EVTCHNOP_alloc_unbound, 0, ~0ULL, -EINVAL },
		{ PVIO_HC_EVTCHN, PVIO_EVTCHNOP_bind_vcpu, 4000, 1, -EINVAL },
		{ PVIO_HC_SCHED_SHUTDOWN, 99, 0, 0, -EINVAL },
		{ PVIO_HC_DOMCTL, 0, 0, 0, -EPERM },
	};
	u64 gfn = ~0ULL >> 1;
	unsigned int i;
	long r;

	for (i = 0; i < ARRAY_SIZE(t); i++) {
		r = hc(t[i].op, t[i].a0, t[i].a1, t[i].a2,
		       t[i].bad_gfn ? &gfn : NULL,
		       t[i].bad_gfn ? sizeof(gfn) : 0);
		if (r != t[i].want) {
			snprintf(hostile_result, sizeof(hostile_result),
				 "check-%u-got-%ld", i, r);
			return 0;
		}
	}
	/* our own port, to a vCPU we do not have: refused, left where it is */
	r = hc(PVIO_HC_EVTCHN, PVIO_EVTCHNOP_bind_vcpu, port, PVIO_MAX_VCPUS,
	       NULL, 0);
	if (r != -EINVAL) {
		snprintf(hostile_result, sizeof(hostile_result),
			 "bind-vcpu-got-%ld", r);
		return 0;
	}
	/* fast sends on ports we do not have: dropped by hv */
	for (i = 1; i < PVIO_EVTCHN_MAX_PORTS; i += 97)
		if (i != port)
			pvio_evtchn_notify(i);
	r = hc(PVIO_HC_VERSION, 0, 0, 0, NULL, 0);
	snprintf(hostile_result, sizeof(hostile_result), "%s",
		 r == (PVIO_HV_VERSION_MAJOR << 16 | PVIO_HV_VERSION_MINOR) ?
		 "ok" : "hv-gone");
	return 0;
}

static const struct kernel_param_ops hostile_ops = { .set = hostile_set };
module_param_cb(hostile, &hostile_ops, NULL, 0200);

static int test_fe_probe(struct pvio_device *dev)
{
	probed++;
	dev_info(&dev->dev, "probed, backend %s (domain %u)\n", dev->otherend,
		 dev->otherend_id);
	return pvio_bus_switch_state(dev, PVIO_STATE_INITIALISING);
}

static void test_fe_changed(struct pvio_device *dev)
{
	enum pvio_bus_state state = pvio_bus_read_otherend_state(dev);

	WRITE_ONCE(otherend, state);
	dev_info(&dev->dev, "backend state %d\n", state);
}

static struct pvio_frontend_driver test_fe = {
	.type = "vbd",
	.probe = test_fe_probe,
	.otherend_changed = test_fe_changed,
};

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
	ret = frontend ? pvio_register_frontend(&test_fe) : 0;
	if (ret)
		goto err_gref;
	pr_info("pvio_guest_test: port %u gref %d store %s\n", port, gref,
		store);
	return 0;

err_gref:
	/* a grant still mapped keeps its page: leak it rather than reuse */
	if (pvio_gnttab_end_access(gref))
		goto err_close;
err_page:
	__free_page(grant_page);
err_close:
	pvio_evtchn_close(port);
	return ret;
}

static void __exit pvio_guest_test_exit(void)
{
	if (frontend)
		pvio_unregister_frontend(&test_fe);
	/* a grant still mapped by the peer cannot be freed: keep the page */
	if (pvio_gnttab_end_access(gref) == 0)
		__free_page(grant_page);
	pvio_evtchn_close(port);
}

module_init(pvio_guest_test_init);
module_exit(pvio_guest_test_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("pvio guest test helper");
