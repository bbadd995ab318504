// SPDX-License-Identifier: GPL-2.0
/*
 * The pvio bus: one device per store directory
 * /local/domain/<self>/device/<type>/<id>, matched by type with the
 * frontend drivers that register (blkfront "vbd", netfront "vif"). A watch
 * on the device directory adds devices that appear later; a watch on each
 * bound device's backend state drives the driver's otherend_changed; a
 * device whose directory vanished (detach) is removed on the same watch.
 * The bus starts from a work item: the store may introduce us only after
 * the platform device is probed, and probing must not wait for it.
 * sysfs: /sys/bus/pvio/devices/<type>-<id>/{nodename,backend,backend_id,
 * devtype,state}.
 */
#include <linux/delay.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/sysfs.h>
#include <linux/workqueue.h>
#include "pvio_core_internal.h"

#define BUS_RETRY_DELAY	(2 * HZ)

static DEFINE_MUTEX(bus_mutex);		/* device creation and removal */
static char bus_devdir[64];
static struct pvio_store_watch bus_dev_watch;
static bool bus_watching;
static void bus_start_fn(struct work_struct *w);
static DECLARE_DELAYED_WORK(bus_start_work, bus_start_fn);
/*
 * After a resume on a new host, until bus_grace_until, a rescan waits:
 * every device was just read again, and the frontends reconnecting go
 * first on the store.
 */
#define BUS_RESUME_GRACE	(HZ / 5)
static unsigned long bus_grace_until;
static void bus_scan_fn(struct work_struct *w);
static DECLARE_DELAYED_WORK(bus_scan_work, bus_scan_fn);

static ssize_t nodename_show(struct device *dev, struct device_attribute *a,
			     char *buf)
{
	return sysfs_emit(buf, "%s\n", to_pvio_device(dev)->nodename);
}
static DEVICE_ATTR_RO(nodename);

static ssize_t backend_show(struct device *dev, struct device_attribute *a,
			    char *buf)
{
	return sysfs_emit(buf, "%s\n", to_pvio_device(dev)->otherend);
}
static DEVICE_ATTR_RO(backend);

static ssize_t backend_id_show(struct device *dev, struct device_attribute *a,
			       char *buf)
{
	return sysfs_emit(buf, "%u\n", to_pvio_device(dev)->otherend_id);
}
static DEVICE_ATTR_RO(backend_id);

static ssize_t devtype_show(struct device *dev, struct device_attribute *a,
			    char *buf)
{
	return sysfs_emit(buf, "%s\n", to_pvio_device(dev)->type);
}
static DEVICE_ATTR_RO(devtype);

static ssize_t state_show(struct device *dev, struct device_attribute *a,
			  char *buf)
{
	return sysfs_emit(buf, "%d\n", to_pvio_device(dev)->state);
}
static DEVICE_ATTR_RO(state);

static struct attribute *pvio_dev_attrs[] = {
	&dev_attr_nodename.attr,
	&dev_attr_backend.attr,
	&dev_attr_backend_id.attr,
	&dev_attr_devtype.attr,
	&dev_attr_state.attr,
	NULL,
};
ATTRIBUTE_GROUPS(pvio_dev);

static int pvio_bus_match(struct device *dev, struct device_driver *drv)
{
	return !strcmp(to_pvio_device(dev)->type,
		       to_pvio_frontend_driver(drv)->type);
}

static void bus_otherend_cb(struct pvio_store_watch *w, const char *path)
{
	struct pvio_device *pd = container_of(w, struct pvio_device,
					      otherend_watch);
	struct pvio_frontend_driver *drv;

	if (!pd->dev.driver)
		return;
	drv = to_pvio_frontend_driver(pd->dev.driver);
	if (drv->otherend_changed)
		drv->otherend_changed(pd);
}

static int pvio_bus_probe(struct device *dev)
{
	struct pvio_device *pd = to_pvio_device(dev);
	struct pvio_frontend_driver *drv = to_pvio_frontend_driver(dev->driver);
	int ret;

	ret = drv->probe(pd);
	if (ret)
		return ret;
	snprintf(pd->otherend_state_path, sizeof(pd->otherend_state_path),
		 "%s/state", pd->otherend);
	pd->otherend_watch.path = pd->otherend_state_path;
	pd->otherend_watch.cb = bus_otherend_cb;
	ret = pvio_store_watch_add(&pd->otherend_watch);
	if (ret) {
		if (drv->remove)
			drv->remove(pd);
		return ret;
	}
	return 0;
}

static void pvio_bus_remove(struct device *dev)
{
	struct pvio_device *pd = to_pvio_device(dev);
	struct pvio_frontend_driver *drv = to_pvio_frontend_driver(dev->driver);

	pvio_store_watch_del(&pd->otherend_watch);
	if (drv->remove)
		drv->remove(pd);
}

static struct bus_type pvio_bus_type = {
	.name = "pvio",
	.match = pvio_bus_match,
	.probe = pvio_bus_probe,
	.remove = pvio_bus_remove,
	.dev_groups = pvio_dev_groups,
};

int pvio_bus_switch_state(struct pvio_device *dev, enum pvio_bus_state state)
{
	char path[160];
	int ret;

	snprintf(path, sizeof(path), "%s/state", dev->nodename);
	ret = pvio_store_printf(path, "%d", state);
	if (!ret)
		dev->state = state;
	return ret;
}
EXPORT_SYMBOL_GPL(pvio_bus_switch_state);

int pvio_bus_switch_state_read(struct pvio_device *dev,
			       enum pvio_bus_state state,
			       enum pvio_bus_state *otherend)
{
	struct pvio_store_batch *b = pvio_store_batch_alloc();
	unsigned long long be;
	int r_be, ret;

	if (!b) {
		/* the same in two round trips */
		ret = pvio_bus_switch_state(dev, state);
		if (!ret)
			*otherend = pvio_bus_read_otherend_state(dev);
		return ret;
	}
	pvio_store_batch_printf(b, dev->nodename, "state", "%d", state);
	r_be = pvio_store_batch_read(b, dev->otherend, "state");
	ret = pvio_store_batch_run(b);
	if (!ret) {
		dev->state = state;
		be = pvio_store_batch_ull(b, r_be, PVIO_STATE_UNKNOWN);
		*otherend = pvio_bus_state_of(be);
	}
	pvio_store_batch_release(b);
	return ret;
}
EXPORT_SYMBOL_GPL(pvio_bus_switch_state_read);

enum pvio_bus_state pvio_bus_read_otherend_state(struct pvio_device *dev)
{
	return pvio_bus_state_of(pvio_store_read_ull(dev->otherend_state_path,
						     PVIO_STATE_UNKNOWN));
}
EXPORT_SYMBOL_GPL(pvio_bus_read_otherend_state);

bool pvio_bus_otherend_gone(struct pvio_device *dev)
{
	enum pvio_bus_state s = pvio_bus_read_otherend_state(dev);

	return s == PVIO_STATE_CLOSING || s == PVIO_STATE_CLOSED ||
	       s == PVIO_STATE_UNKNOWN;
}
EXPORT_SYMBOL_GPL(pvio_bus_otherend_gone);

bool pvio_bus_wait_otherend_gone(struct pvio_device *dev, unsigned int ms)
{
	unsigned int waited;

	/* each sleep counted as its longest */
	for (waited = 0; waited < ms; waited += 2) {
		if (pvio_bus_otherend_gone(dev))
			return true;
		usleep_range(1000, 2000);
	}
	return false;
}
EXPORT_SYMBOL_GPL(pvio_bus_wait_otherend_gone);

int __pvio_register_frontend(struct pvio_frontend_driver *drv,
			     struct module *owner, const char *name)
{
	drv->driver.name = name;
	drv->driver.bus = &pvio_bus_type;
	drv->driver.owner = owner;
	return driver_register(&drv->driver);
}
EXPORT_SYMBOL_GPL(__pvio_register_frontend);

void pvio_unregister_frontend(struct pvio_frontend_driver *drv)
{
	driver_unregister(&drv->driver);
}
EXPORT_SYMBOL_GPL(pvio_unregister_frontend);

static void pvio_device_release(struct device *dev)
{
	kfree(to_pvio_device(dev));
}

static int bus_match_name(struct device *dev, const void *data)
{
	return !strcmp(to_pvio_device(dev)->nodename, data);
}

/* Add device <type>/<id> unless it exists; errors are logged, not fatal. */
static void bus_add_device(const char *type, const char *id)
{
	struct pvio_device *pd;
	struct device *old;
	unsigned int devid;
	char path[192];
	char *s;
	int ret;

	if (kstrtouint(id, 10, &devid) || strlen(type) >= sizeof(pd->type))
		return;
	pd = kzalloc(sizeof(*pd), GFP_KERNEL);
	if (!pd)
		return;
	snprintf(pd->nodename, sizeof(pd->nodename), "%s/%s/%s", bus_devdir,
		 type, id);
	old = bus_find_device(&pvio_bus_type, NULL, pd->nodename,
			      bus_match_name);
	if (old) {
		put_device(old);
		kfree(pd);
		return;
	}
	strscpy(pd->type, type, sizeof(pd->type));
	pd->devid = devid;
	/* the toolstack writes backend and backend-id before we look */
	snprintf(path, sizeof(path), "%s/backend", pd->nodename);
	s = pvio_store_read(path, NULL);
	if (IS_ERR(s) || strscpy(pd->otherend, s, sizeof(pd->otherend)) < 0) {
		if (!IS_ERR(s))
			kfree(s);
		pr_info("pvio_core: %s has no usable backend yet\n",
			pd->nodename);
		kfree(pd);
		return;
	}
	kfree(s);
	snprintf(path, sizeof(path), "%s/backend-id", pd->nodename);
	pd->otherend_id = pvio_store_read_ull(path, 0);
	snprintf(pd->otherend_state_path, sizeof(pd->otherend_state_path),
		 "%s/state", pd->otherend);

	pd->dev.bus = &pvio_bus_type;
	pd->dev.release = pvio_device_release;
	dev_set_name(&pd->dev, "%s-%u", type, devid);
	ret = device_register(&pd->dev);
	if (ret) {
		pr_err("pvio_core: cannot add %s: %d\n", pd->nodename, ret);
		put_device(&pd->dev);
		return;
	}
	pr_info("pvio_core: device %s (backend %s, domain %u)\n",
		pd->nodename, pd->otherend, pd->otherend_id);
}

/* A device whose directory is gone: the toolstack detached it. */
static int bus_remove_stale(struct device *dev, void *data)
{
	struct pvio_device *pd = to_pvio_device(dev);
	char path[160];
	char *s;

	snprintf(path, sizeof(path), "%s/backend", pd->nodename);
	s = pvio_store_read(path, NULL);
	if (!IS_ERR(s)) {
		kfree(s);
		return 0;
	}
	if (PTR_ERR(s) != -ENOENT)
		return 0;	/* store trouble is no reason to drop a disk */
	pr_info("pvio_core: device %s removed\n", pd->nodename);
	device_unregister(dev);
	return 0;
}

/*
 * The children of @path: NULL (*n = 0) if it is gone, an error pointer
 * (logged) if the store could not say.
 */
static char **bus_list(const char *path, unsigned int *n)
{
	char **l = pvio_store_directory(path, n);

	if (!IS_ERR(l))
		return l;
	*n = 0;
	if (PTR_ERR(l) == -ENOENT)
		return NULL;
	pr_warn("pvio_core: cannot list %s: %ld\n", path, PTR_ERR(l));
	return l;
}

static void bus_scan(void)
{
	unsigned int nt, ni, i, j;
	char **types, **ids;
	char path[128];

	mutex_lock(&bus_mutex);
	/* store trouble is no reason to drop a device: no scan then */
	types = bus_list(bus_devdir, &nt);
	if (IS_ERR(types))
		goto out;
	for (i = 0; i < nt; i++) {
		snprintf(path, sizeof(path), "%s/%s", bus_devdir, types[i]);
		ids = bus_list(path, &ni);
		if (IS_ERR(ids))
			continue;
		for (j = 0; j < ni; j++)
			bus_add_device(types[i], ids[j]);
		kfree(ids);
	}
	kfree(types);
	bus_for_each_dev(&pvio_bus_type, NULL, NULL, bus_remove_stale);
out:
	mutex_unlock(&bus_mutex);
}

/*
 * Rescan when a device dir appears or goes, or its backend link is
 * written; the frontends' own state writes below it do not matter here.
 */
static bool bus_event_matters(const char *path)
{
	size_t n = strlen(bus_devdir);
	const char *rest, *key;

	if (strncmp(path, bus_devdir, n) || (path[n] && path[n] != '/'))
		return true;	/* not ours to judge: scan */
	rest = path[n] ? path + n + 1 : path + n;
	key = strchr(rest, '/');		/* after <type> */
	if (!key)
		return true;
	key = strchr(key + 1, '/');		/* after <id> */
	return !key || !strcmp(key + 1, "backend");
}

static void bus_scan_fn(struct work_struct *w)
{
	bus_scan();
}

static void bus_dev_watch_cb(struct pvio_store_watch *w, const char *path)
{
	unsigned long until = READ_ONCE(bus_grace_until);

	if (!bus_event_matters(path))
		return;
	if (time_before(jiffies, until))
		schedule_delayed_work(&bus_scan_work, until - jiffies);
	else
		bus_scan();
}

static void bus_start_fn(struct work_struct *w)
{
	int ret;

	/* the watch fires once at registration, which runs the first scan */
	ret = pvio_store_watch_add(&bus_dev_watch);
	if (ret == -ETIMEDOUT || ret == -EAGAIN) {
		pr_info("pvio_core: store not answering yet, retrying\n");
		schedule_delayed_work(&bus_start_work, BUS_RETRY_DELAY);
		return;
	}
	if (ret) {
		pr_warn("pvio_core: cannot watch %s: %d\n", bus_devdir, ret);
		bus_scan();
		return;
	}
	bus_watching = true;
	pr_info("pvio_core: bus watching %s\n", bus_devdir);
	pvio_control_start();
}

int pvio_bus_probe_devices(void)
{
	snprintf(bus_devdir, sizeof(bus_devdir), "/local/domain/%u/device",
		 pvio_domid());
	bus_dev_watch.path = bus_devdir;
	bus_dev_watch.cb = bus_dev_watch_cb;
	bus_grace_until = jiffies;	/* no grace before a resume */
	schedule_delayed_work(&bus_start_work, 0);
	return 0;
}

static int bus_unregister_one(struct device *dev, void *data)
{
	device_unregister(dev);
	return 0;
}

void pvio_bus_remove_devices(void)
{
	cancel_delayed_work_sync(&bus_start_work);
	pvio_control_stop();
	if (bus_watching)
		pvio_store_watch_del(&bus_dev_watch);
	bus_watching = false;
	cancel_delayed_work_sync(&bus_scan_work);
	mutex_lock(&bus_mutex);
	bus_for_each_dev(&pvio_bus_type, NULL, NULL, bus_unregister_one);
	mutex_unlock(&bus_mutex);
}

/*
 * A frontend's suspend only stops its queues and lets go of its event
 * channels (no store round trip, no wait for the backend): the toolstack
 * closes the connections once the guest is suspended. One after the other.
 */
static int bus_suspend_one(struct device *dev, void *data)
{
	struct pvio_frontend_driver *drv;
	int ret;

	if (!dev->driver)
		return 0;
	drv = to_pvio_frontend_driver(dev->driver);
	if (!drv->suspend)
		return 0;
	ret = drv->suspend(to_pvio_device(dev));
	if (ret)
		dev_warn(dev, "suspend: %d (in-flight I/O kept for re-issue)\n",
			 ret);
	return 0;
}

static int bus_resume_one(struct device *dev, void *data)
{
	struct pvio_device *pd = to_pvio_device(dev);
	struct pvio_frontend_driver *drv;

	if (!dev->driver)
		return 0;
	drv = to_pvio_frontend_driver(dev->driver);
	if (drv->resume)
		drv->resume(pd, *(bool *)data);
	return 0;
}

static int bus_reconnected_one(struct device *dev, void *data)
{
	struct pvio_frontend_driver *drv;

	if (!dev->driver)
		return 0;
	drv = to_pvio_frontend_driver(dev->driver);
	if (drv->store_reconnected)
		drv->store_reconnected(to_pvio_device(dev));
	return 0;
}

void pvio_bus_store_reconnected(void)
{
	bus_for_each_dev(&pvio_bus_type, NULL, NULL, bus_reconnected_one);
}

void pvio_bus_suspend(void)
{
	/* no device comes or goes until we are resumed */
	mutex_lock(&bus_mutex);
	bus_for_each_dev(&pvio_bus_type, NULL, NULL, bus_suspend_one);
}

void pvio_bus_resume(bool new_host)
{
	bus_for_each_dev(&pvio_bus_type, NULL, &new_host, bus_resume_one);
	mutex_unlock(&bus_mutex);
}

/*
 * New host: every device's paths, and its backend as the store names it
 * there, read for all devices in one round trip (bus_mutex held, from the
 * suspend work only: the set is static).
 */
#define BUS_REBASE_MAX	(PVIO_STORE_BATCH_MAX / 2)
static struct {
	struct pvio_store_batch b;
	struct pvio_device *pd[BUS_REBASE_MAX];
	int backend[BUS_REBASE_MAX], id[BUS_REBASE_MAX];
	unsigned int n;
} bus_rebase_set;

static void bus_rebase_flush(void)
{
	struct pvio_store_batch *b = &bus_rebase_set.b;
	unsigned int i;

	pvio_store_batch_run(b);
	for (i = 0; i < bus_rebase_set.n; i++) {
		struct pvio_device *pd = bus_rebase_set.pd[i];
		const char *be = pvio_store_batch_str(b,
						      bus_rebase_set.backend[i]);

		if (!be) {
			/* not here: the bus scan drops it once it watches */
			pr_warn("pvio_core: %s has no backend on this host\n",
				pd->nodename);
			continue;
		}
		strscpy(pd->otherend, be, sizeof(pd->otherend));
		pd->otherend_id = pvio_store_batch_ull(b, bus_rebase_set.id[i],
						       0);
		snprintf(pd->otherend_state_path,
			 sizeof(pd->otherend_state_path), "%s/state",
			 pd->otherend);
		pr_info("pvio_core: device %s (backend %s, domain %u)\n",
			pd->nodename, pd->otherend, pd->otherend_id);
	}
	pvio_store_batch_clear(b);
	bus_rebase_set.n = 0;
}

static int bus_rebase_one(struct device *dev, void *data)
{
	struct pvio_device *pd = to_pvio_device(dev);
	unsigned int n;

	snprintf(pd->nodename, sizeof(pd->nodename), "%s/%s/%u", bus_devdir,
		 pd->type, pd->devid);
	if (bus_rebase_set.n == BUS_REBASE_MAX)
		bus_rebase_flush();
	n = bus_rebase_set.n++;
	bus_rebase_set.pd[n] = pd;
	bus_rebase_set.backend[n] = pvio_store_batch_read(&bus_rebase_set.b,
							  pd->nodename,
							  "backend");
	bus_rebase_set.id[n] = pvio_store_batch_read(&bus_rebase_set.b,
						     pd->nodename,
						     "backend-id");
	return 0;
}

void pvio_bus_rebase(void)
{
	snprintf(bus_devdir, sizeof(bus_devdir), "/local/domain/%u/device",
		 pvio_domid());
	pvio_store_batch_init(&bus_rebase_set.b);
	bus_rebase_set.n = 0;
	bus_for_each_dev(&pvio_bus_type, NULL, NULL, bus_rebase_one);
	if (bus_rebase_set.n)
		bus_rebase_flush();
	/* the rescan the watch's first event asks for yields to the devices */
	WRITE_ONCE(bus_grace_until, jiffies + BUS_RESUME_GRACE);
}

int pvio_bus_register(void)
{
	return bus_register(&pvio_bus_type);
}

void pvio_bus_unregister(void)
{
	bus_unregister(&pvio_bus_type);
}
