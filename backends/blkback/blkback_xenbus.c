// SPDX-License-Identifier: MIT
/*
 * blkback control plane: watches /local/domain/0/backend/vbd, opens each
 * disk's backing store, advertises its features, and walks the xenbus
 * handshake with the frontend (InitWait -> Connected -> Closing/Closed),
 * mapping rings and binding event channels on connect.
 */
#include <errno.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "pvio/xenbus.h"
#include "blkback.h"

#define BE_ROOT		"/local/domain/0/backend/vbd"

/* Queue an event for the control thread (@ctx->lock held). */
static void event_add_locked(struct blkback_ctx *ctx, long dom, long vdev)
{
	struct blkback_event *e;

	pthread_cond_signal(&ctx->cond);
	if (ctx->rescan_all)
		return;
	for (e = ctx->events; e; e = e->next)
		if (e->dom == dom && (e->vdev == vdev || e->vdev < 0))
			return;		/* already covered */
	e = dom < 0 ? NULL : malloc(sizeof(*e));
	if (!e) {
		/* everything (or no memory): one full look */
		ctx->rescan_all = true;
		return;
	}
	e->dom = dom;
	e->vdev = vdev;
	e->next = ctx->events;
	ctx->events = e;
}

static void event_add(struct blkback_ctx *ctx, long dom, long vdev)
{
	pthread_mutex_lock(&ctx->lock);
	event_add_locked(ctx, dom, vdev);
	pthread_mutex_unlock(&ctx->lock);
}

/* A decimal number < @max ending at '/' or the end; NULL if not. */
static const char *parse_num(const char *s, unsigned long max, long *out)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return NULL;
	v = strtoul(s, &end, 10);
	if (v >= max || (*end && *end != '/'))
		return NULL;
	*out = (long)v;
	return end;
}

/*
 * Watches name what changed: BE_ROOT[/D[/V[/key]]] for the backend tree
 * (token "be"), a frontend's state for one disk (token "fe D V"). Only
 * that disk, or that domain's dir, is looked at again.
 */
static void watch_cb(struct xs_handle *h, const char *path, const char *token,
		     void *arg)
{
	struct blkback_ctx *ctx = arg;
	long dom = -1, vdev = -1;
	const char *p;

	/* our own statistics/ writes change nothing to act on */
	if (strstr(path, "/statistics/"))
		return;
	if (!strncmp(token, "fe ", 3)) {
		if (sscanf(token + 3, "%ld %ld", &dom, &vdev) != 2)
			dom = -1;
		event_add(ctx, dom, vdev);
		return;
	}
	if (!strcmp(token, "release")) {
		pthread_mutex_lock(&ctx->lock);
		ctx->released = true;
		pthread_cond_signal(&ctx->cond);
		pthread_mutex_unlock(&ctx->lock);
		return;
	}
	if (strncmp(path, BE_ROOT, strlen(BE_ROOT))) {
		event_add(ctx, -1, -1);
		return;
	}
	p = path + strlen(BE_ROOT);
	if (*p == '/' &&
	    (p = parse_num(p + 1, PVIO_DOMID_FIRST_RESERVED, &dom)) &&
	    *p == '/' && !parse_num(p + 1, 1ul << 31, &vdev))
		dom = -1;	/* not a disk dir: look at everything */
	event_add(ctx, dom, vdev);
}

void blkback_disk_broken(struct blkback_disk *disk, const char *why)
{
	struct blkback_ctx *ctx = disk->ctx;

	pthread_mutex_lock(&ctx->lock);
	if (!disk->broken) {
		snprintf(disk->broken_why, sizeof(disk->broken_why), "%s", why);
		disk->broken = true;
	}
	event_add_locked(ctx, disk->domid, disk->vdev);
	pthread_mutex_unlock(&ctx->lock);
}

/* Read @dir/@key into @buf; -ENOENT if absent. */
static int read_str(struct blkback_ctx *ctx, const char *dir, const char *key,
		    char *buf, size_t size)
{
	char path[600];
	char *v;
	size_t len;
	int rc;

	snprintf(path, sizeof(path), "%s/%s", dir, key);
	rc = xs_read(ctx->xs, XS_TXN_NULL, path, &v, &len);
	if (rc)
		return rc;
	snprintf(buf, size, "%s", v);
	free(v);
	return 0;
}

static long long read_int(struct blkback_ctx *ctx, const char *dir,
			  const char *key, long long def)
{
	char path[600];
	long long v;

	snprintf(path, sizeof(path), "%s/%s", dir, key);
	if (xs_read_int(ctx->xs, XS_TXN_NULL, path, &v))
		return def;
	return v;
}

static int write_key(struct blkback_ctx *ctx, xs_transaction_t t,
		     const char *dir, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static int write_key(struct blkback_ctx *ctx, xs_transaction_t t,
		     const char *dir, const char *key, const char *fmt, ...)
{
	char path[600], val[600];
	va_list ap;

	snprintf(path, sizeof(path), "%s/%s", dir, key);
	va_start(ap, fmt);
	vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	return xs_write(ctx->xs, t, path, val, strlen(val));
}

/*
 * The toolstack may remove the backend dir at any moment (detach,
 * destroy): every write goes in a transaction that first checks the dir is
 * still there, so that we never recreate a node it removed.
 */
static int dir_alive(struct blkback_ctx *ctx, xs_transaction_t t,
		     const char *dir)
{
	char path[600];
	char *v;
	int rc;

	snprintf(path, sizeof(path), "%s/frontend", dir);
	rc = xs_read(ctx->xs, t, path, &v, NULL);
	if (!rc)
		free(v);
	return rc;
}

static void set_state(struct blkback_disk *disk, enum xenbus_state s)
{
	if (disk->be_state == (int)s)
		return;
	if (disk->ctx->verbose)
		blkback_log("%s: %s -> %s", disk->be_path,
			    xenbus_state_name(disk->be_state),
			    xenbus_state_name(s));
	disk->be_state = s;
	xenbus_switch_state(disk->ctx->xs, disk->be_path, s);
}

/* ---- connect / disconnect ---- */

static void queue_unmap(struct blkback_disk *disk, struct blkback_queue *q)
{
	struct blkback_ctx *ctx = disk->ctx;
	struct pvio_gnt_map op[BLKBACK_MAX_RING_PAGES];
	unsigned int n = 0;

	for (unsigned int i = 0; i < q->ring_pages; i++) {
		if (!q->ring_page_addr[i])
			continue;
		memset(&op[n], 0, sizeof(op[n]));
		op[n].dom = disk->fe_domid;
		op[n].ref = q->ring_ref[i];
		op[n].addr = q->ring_page_addr[i];
		op[n].handle = q->ring_handle[i];
		n++;
		q->ring_page_addr[i] = NULL;
	}
	if (n)
		pvio_gnttab_unmap(ctx->hv, op, n);
	if (q->ring_pages_counted)
		blkback_front_give(&disk->front->nr_ring_pages,
				   q->ring_pages_counted);
	q->ring_pages_counted = 0;
	if (q->port_bound) {
		uint64_t c[3] = { 0 };

		if (pvio_evtchn_counts(ctx->hv, q->port, c) == 0 && c[0] + c[1] + c[2])
			blkback_log("%s: queue %u: %llu responses published, %llu events owed, %llu late; the frontend woken %llu times, port found pending %llu, masked %llu",
				    disk->be_path, q->index,
				    (unsigned long long)(uint32_t)(q->ring.rsp_prod_pvt -
							       q->rsp_start),
				    (unsigned long long)q->nr_notified,
				    (unsigned long long)q->nr_late_events,
				    (unsigned long long)c[0],
				    (unsigned long long)c[1],
				    (unsigned long long)c[2]);
		pvio_evtchn_close(ctx->hv, q->port);
	}
	q->port_bound = false;
}

static void disk_disconnect(struct blkback_disk *disk)
{
	bool drained = disk->connected;

	for (unsigned int i = 0; i < disk->nr_queues; i++)
		blkback_queue_stop(&disk->queue[i]);
	/*
	 * Every request taken answered (nothing abandoned, no barrier held):
	 * the rings can be handed to another backend as they are (a
	 * migration that keeps the guest's connection looks at this).
	 */
	for (unsigned int i = 0; i < disk->nr_queues; i++)
		if (!disk->queue[i].ring_addr ||
		    !pvio_back_drained(&disk->queue[i].ring))
			drained = false;
	for (unsigned int i = 0; i < disk->nr_queues; i++)
		queue_unmap(disk, &disk->queue[i]);
	if (disk->connected) {
		write_key(disk->ctx, XS_TXN_NULL, disk->be_path, "drained", "%d",
			  drained);
		blkback_log("%s: disconnected%s", disk->be_path,
			    drained ? "" : ", requests left unanswered");
	}
	disk->connected = false;
	disk->nr_queues = 0;
	blkback_front_put(disk->ctx, disk->front);
	disk->front = NULL;
}

/* Map the ring and bind the event channel of queue @q from @dir. */
static int queue_connect(struct blkback_disk *disk, struct blkback_queue *q,
			 const char *dir, unsigned int order)
{
	struct blkback_ctx *ctx = disk->ctx;
	struct pvio_gnt_map op[BLKBACK_MAX_RING_PAGES];
	unsigned int pages = 1u << order;
	long long v;
	char key[32];
	int rc;

	memset(q, 0, sizeof(*q));
	q->disk = disk;
	q->stop_fd = -1;
	q->evtchn_fd = -1;
	q->ring_pages = pages;
	for (unsigned int i = 0; i < pages; i++) {
		if (order == 0)
			v = read_int(ctx, dir, "ring-ref", -1);
		else
			v = -1;
		if (v < 0) {
			snprintf(key, sizeof(key), "ring-ref%u", i);
			v = read_int(ctx, dir, key, -1);
		}
		if (v < 0 || v > 0xffffffffll) {
			xenbus_dev_fatal(ctx->xs, disk->be_path, -EINVAL,
					 "reading %s/ring-ref%u", dir, i);
			return -EINVAL;
		}
		q->ring_ref[i] = (uint32_t)v;
		memset(&op[i], 0, sizeof(op[i]));
		op[i].dom = disk->fe_domid;
		op[i].ref = q->ring_ref[i];
	}
	v = read_int(ctx, dir, "event-channel", -1);
	if (v <= 0 || v >= PVIO_EVTCHN_MAX_PORTS) {
		xenbus_dev_fatal(ctx->xs, disk->be_path, -EINVAL,
				 "reading %s/event-channel", dir);
		return -EINVAL;
	}
	q->remote_port = (pvio_evtchn_port_t)v;

	/* the domain's ring pages, all disks together, are bounded */
	if (!blkback_front_take(&disk->front->nr_ring_pages, pages,
				disk->front->lim->max_ring_pages)) {
		xenbus_dev_fatal(ctx->xs, disk->be_path, -ENOSPC,
				 "domain %u has %u ring pages mapped: %u more pass its limit of %u",
				 disk->fe_domid, disk->front->nr_ring_pages,
				 pages, disk->front->lim->max_ring_pages);
		return -ENOSPC;
	}
	q->ring_pages_counted = pages;

	/* keep every page that did map: the disconnect unmaps exactly those */
	rc = pvio_gnttab_map(ctx->hv, op, pages);
	for (unsigned int i = 0; i < pages; i++) {
		if (op[i].status == GNTST_okay) {
			q->ring_page_addr[i] = op[i].addr;
			q->ring_handle[i] = op[i].handle;
		} else if (rc == 0) {
			rc = -EINVAL;
		}
	}
	if (rc) {
		xenbus_dev_fatal(ctx->xs, disk->be_path, rc,
				 "mapping ring of %s (refs %u..)", dir,
				 q->ring_ref[0]);
		return rc;
	}
	q->ring_addr = q->ring_page_addr[0];
	/*
	 * The header lives in the first page; entries are reached through
	 * page-aware copies, so the pages need not be contiguous here.
	 */
	pvio_back_ring_init(&q->ring, q->ring_addr,
			    blkif_ring_ents((size_t)pages * PVIO_PAGE_SIZE));
	/* a ring taken over (a kept connection) goes on from its indices */
	q->rsp_start = q->ring.rsp_prod_pvt;

	rc = pvio_evtchn_bind_interdomain(ctx->hv, disk->fe_domid,
					  q->remote_port, &q->port);
	if (rc) {
		xenbus_dev_fatal(ctx->xs, disk->be_path, rc,
				 "binding event channel %u of %s",
				 q->remote_port, dir);
		return rc;
	}
	q->port_bound = true;
	q->evtchn_fd = pvio_evtchn_fd(ctx->hv, q->port);
	if (q->evtchn_fd < 0) {
		rc = q->evtchn_fd;
		xenbus_dev_fatal(ctx->xs, disk->be_path, rc,
				 "event channel fd of port %u", q->port);
		return rc;
	}
	return 0;
}

/*
 * How long a busy queue of @domid's disk polls before sleeping: a VM's
 * figure or a process domain's; a domain hv no longer knows (going away)
 * gets the latter.
 */
static unsigned int frontend_spin_us(const struct blkback_ctx *ctx,
				     pvio_domid_t domid)
{
	struct pvio_domain_info info;

	if (pvio_domain_info(ctx->hv, domid, &info) == 0 &&
	    info.type == PVIO_DOMTYPE_VM)
		return ctx->vm_spin_us;
	return ctx->spin_us;
}

static int disk_connect(struct blkback_disk *disk)
{
	struct blkback_ctx *ctx = disk->ctx;
	long long nq = read_int(ctx, disk->fe_path, "multi-queue-num-queues", 1);
	long long order = read_int(ctx, disk->fe_path, "ring-page-order", 0);
	char proto[32] = "";
	int rc = 0;

	if (nq < 1 || nq > disk->max_queues) {
		xenbus_dev_fatal(ctx->xs, disk->be_path, -EINVAL,
				 "frontend asks for %lld queues (1..%u)", nq,
				 disk->max_queues);
		return -EINVAL;
	}
	if (order < 0 || order > BLKBACK_MAX_RING_ORDER) {
		xenbus_dev_fatal(ctx->xs, disk->be_path, -EINVAL,
				 "frontend asks for ring-page-order %lld (0..%u)",
				 order, BLKBACK_MAX_RING_ORDER);
		return -EINVAL;
	}
	if (!read_str(ctx, disk->fe_path, "protocol", proto, sizeof(proto)) &&
	    strcmp(proto, BLKIF_PROTOCOL_X86_64)) {
		xenbus_dev_fatal(ctx->xs, disk->be_path, -EINVAL,
				 "unsupported protocol '%s'", proto);
		return -EINVAL;
	}
	disk->persistent = read_int(ctx, disk->fe_path, "feature-persistent", 0) == 1;
	disk->spin_us = frontend_spin_us(ctx, disk->fe_domid);
	disk->nr_queues = 0;
	disk->front = blkback_front_get(ctx, disk->fe_domid);
	if (!disk->front) {
		xenbus_dev_fatal(ctx->xs, disk->be_path, -ENOMEM,
				 "accounting of domain %u", disk->fe_domid);
		return -ENOMEM;
	}
	for (unsigned int i = 0; i < nq; i++) {
		char dir[300];

		if (nq == 1)
			snprintf(dir, sizeof(dir), "%s", disk->fe_path);
		else
			snprintf(dir, sizeof(dir), "%s/queue-%u", disk->fe_path, i);
		rc = queue_connect(disk, &disk->queue[i], dir, (unsigned int)order);
		disk->nr_queues = i + 1;
		disk->queue[i].index = i;
		if (rc)
			goto err;
	}
	for (unsigned int i = 0; i < disk->nr_queues; i++) {
		rc = blkback_queue_start(&disk->queue[i]);
		if (rc) {
			xenbus_dev_fatal(ctx->xs, disk->be_path, rc,
					 "starting queue %u", i);
			goto err;
		}
	}
	disk->connected = true;
	blkback_log("%s: connected: %u queue(s), ring order %lld, %s grants, engine %s, %s",
		    disk->be_path, disk->nr_queues, order,
		    disk->persistent ? "persistent" : "per-request",
		    disk->engine_ops->name,
		    disk->store != &blkback_store_file ? disk->store->name :
		    disk->direct ? "O_DIRECT" : "buffered");
	return 0;
err:
	disk_disconnect(disk);
	return rc;
}

/* Advertise what the disk offers; the dir must still exist. */
static int features_txn(struct xs_handle *h, xs_transaction_t t, void *arg)
{
	struct blkback_disk *disk = arg;
	struct blkback_ctx *ctx = disk->ctx;
	bool ro = disk->lim.readonly;
	int rc = dir_alive(ctx, t, disk->be_path);

	if (rc)
		return rc;
	rc |= write_key(ctx, t, disk->be_path, "feature-persistent", "1");
	rc |= write_key(ctx, t, disk->be_path, "feature-max-indirect-segments", "%u",
		  BLKBACK_MAX_INDIRECT_SEGS);
	rc |= write_key(ctx, t, disk->be_path, "multi-queue-max-queues", "%u",
		  disk->max_queues);
	rc |= write_key(ctx, t, disk->be_path, "max-ring-page-order", "%u",
		  BLKBACK_MAX_RING_ORDER);
	rc |= write_key(ctx, t, disk->be_path, "feature-flush-cache", "1");
	rc |= write_key(ctx, t, disk->be_path, "feature-barrier", "1");
	rc |= write_key(ctx, t, disk->be_path, "feature-discard", "%d", disk->lim.discard);
	if (disk->lim.discard) {
		rc |= write_key(ctx, t, disk->be_path, "discard-granularity", "%u",
			  disk->discard_granularity);
		rc |= write_key(ctx, t, disk->be_path, "discard-alignment", "0");
		rc |= write_key(ctx, t, disk->be_path, "discard-secure", "%d",
			  disk->lim.discard_secure);
	}
	rc |= write_key(ctx, t, disk->be_path, "sector-size", "%u", disk->lim.sector_size);
	rc |= write_key(ctx, t, disk->be_path, "physical-sector-size", "%u",
		  disk->lim.sector_size > disk->dio_align ?
		  disk->lim.sector_size : disk->dio_align);
	rc |= write_key(ctx, t, disk->be_path, "sectors", "%llu",
		  (unsigned long long)disk->lim.sectors);
	rc |= write_key(ctx, t, disk->be_path, "info", "%u",
		  ro ? PVIO_VDISK_READONLY : 0);
	if (disk->export_uri[0])
		rc |= write_key(ctx, t, disk->be_path, "pvio-export", "%s",
				disk->export_uri);
	rc |= write_key(ctx, t, disk->be_path, "hotplug-status", "connected");
	return rc ? -EIO : 0;
}

/* ---- open: read the toolstack's keys, advertise features ---- */

/*
 * The image format: the `format` key, else a "fmt:" prefix of params as
 * libxl writes it for qdisk ("qcow2:/path"; "aio:" means raw); the prefix
 * is taken off params.
 */
static void disk_format(struct blkback_disk *disk)
{
	char *colon = strchr(disk->params, ':');
	char fmt[16];
	size_t n;

	if (read_str(disk->ctx, disk->be_path, "format", disk->format,
		     sizeof(disk->format)) || !disk->format[0])
		strcpy(disk->format, "raw");
	if (!colon || disk->params[0] == '/')
		return;
	n = (size_t)(colon - disk->params);
	if (n >= sizeof(fmt))
		return;
	memcpy(fmt, disk->params, n);
	fmt[n] = 0;
	if (!strcmp(fmt, "aio") || !strcmp(fmt, "file"))
		strcpy(fmt, "raw");
	else if (!blkback_format_known(fmt))
		return;	/* a URI scheme (nbd:, rbd:), not a format */
	memmove(disk->params, colon + 1, strlen(colon + 1) + 1);
	strcpy(disk->format, fmt);
}

static int disk_open(struct blkback_disk *disk)
{
	struct blkback_ctx *ctx = disk->ctx;
	char mode[8] = "w", engine[16] = "", btype[16] = "", script[256];
	long long v, tmo;
	bool ro;
	int rc;

	if (read_str(ctx, disk->be_path, "frontend", disk->fe_path,
		     sizeof(disk->fe_path)))
		return -EAGAIN;	/* the toolstack is still writing */
	v = read_int(ctx, disk->be_path, "frontend-id", -1);
	if (v < 0 || v >= PVIO_DOMID_FIRST_RESERVED)
		return -EAGAIN;
	disk->fe_domid = (pvio_domid_t)v;
	if (read_str(ctx, disk->be_path, "params", disk->params,
		     sizeof(disk->params)) || !disk->params[0])
		return -EAGAIN;
	/*
	 * A block hotplug script (script=) turns params into a device and
	 * says which in physical-device-path, or fails in hotplug-error.
	 */
	if (!read_str(ctx, disk->be_path, "script", script, sizeof(script))) {
		char why[128];

		if (!read_str(ctx, disk->be_path, "hotplug-error", why,
			      sizeof(why))) {
			xenbus_dev_fatal(ctx->xs, disk->be_path, -EIO,
					 "block script: %s", why);
			return -EIO;
		}
		if (read_str(ctx, disk->be_path, "physical-device-path",
			     disk->params, sizeof(disk->params)) ||
		    !disk->params[0])
			return -EAGAIN;	/* the script is still working */
	}
	read_str(ctx, disk->be_path, "mode", mode, sizeof(mode));
	read_str(ctx, disk->be_path, "pvio-engine", engine, sizeof(engine));
	read_str(ctx, disk->be_path, "type", disk->type, sizeof(disk->type));
	/* libxl's backendtype (phy, qdisk) wins over the older type key */
	if (!read_str(ctx, disk->be_path, "backendtype", btype, sizeof(btype)) &&
	    btype[0])
		snprintf(disk->type, sizeof(disk->type), "%s", btype);
	disk_format(disk);
	ro = mode[0] == 'r';
	disk->store = blkback_store_select(disk->params, disk->format,
					   disk->type, disk->open_why,
					   sizeof(disk->open_why));
	if (!disk->store) {
		xenbus_dev_fatal(ctx->xs, disk->be_path, -EINVAL, "%s: %s",
				 disk->params, disk->open_why);
		return -EINVAL;
	}
	disk->engine_ops = blkback_engine_find(engine);
	if (!disk->engine_ops) {
		xenbus_dev_fatal(ctx->xs, disk->be_path, -EINVAL,
				 "unknown pvio-engine '%s' (uring or aio)", engine);
		return -EINVAL;
	}
	if (engine[0] && disk->store != &blkback_store_file) {
		xenbus_dev_fatal(ctx->xs, disk->be_path, -EINVAL,
				 "pvio-engine '%s' applies to files and devices, not to %s disks",
				 engine, disk->store->name);
		return -EINVAL;
	}
	v = read_int(ctx, disk->be_path, "pvio-sector-size", 0);
	if (v != 0 && v != 512 && v != 4096) {
		xenbus_dev_fatal(ctx->xs, disk->be_path, -EINVAL,
				 "pvio-sector-size %lld (512 or 4096)", v);
		return -EINVAL;
	}
	tmo = read_int(ctx, disk->be_path, "pvio-reconnect-timeout",
		       ctx->reconnect_timeout_s);
	if (tmo < 0 || tmo > 86400) {
		xenbus_dev_fatal(ctx->xs, disk->be_path, -EINVAL,
				 "pvio-reconnect-timeout %lld (0..86400 s, 0 = wait forever)",
				 tmo);
		return -EINVAL;
	}
	disk->reconnect_timeout_ms = (unsigned int)tmo * 1000;
	disk->open_why[0] = 0;
	disk->max_queues = BLKBACK_MAX_QUEUES;
	rc = disk->store->open(disk, ro, (uint32_t)v);
	if (rc) {
		xenbus_dev_fatal(ctx->xs, disk->be_path, rc, "%s",
				 disk->open_why[0] ? disk->open_why :
				 strerror(-rc));
		return rc;
	}
	if (read_int(ctx, disk->be_path, "discard-enable", 1) == 0)
		disk->lim.discard = false;

	rc = xs_transaction_run(ctx->xs, features_txn, disk);
	if (rc) {
		disk->store->close(disk);
		return rc == -ENOENT ? -EAGAIN : rc;
	}
	disk->opened = true;
	blkback_log("%s: %s (%s, %s store), %llu sectors of %u bytes, %s%s",
		    disk->be_path, disk->params, disk->format, disk->store->name,
		    (unsigned long long)disk->lim.sectors,
		    disk->lim.sector_size, ro ? "read-only" : "read-write",
		    disk->store != &blkback_store_file || disk->direct ?
		    "" : " (buffered)");
	return 0;
}

static void disk_free(struct blkback_disk *disk)
{
	char path[600];

	disk_disconnect(disk);
	if (disk->watching) {
		snprintf(path, sizeof(path), "%s/state", disk->fe_path);
		xs_unwatch(disk->ctx->xs, path, disk->fe_token);
	}
	if (disk->store)
		disk->store->close(disk);
	free(disk);
}

/* ---- the state machine, one step per disk per scan ---- */

static void disk_step(struct blkback_disk *disk)
{
	struct blkback_ctx *ctx = disk->ctx;
	enum xenbus_state fe;
	long long pause;
	char path[600];

	if (disk->broken && disk->be_state != XenbusStateClosed) {
		xenbus_dev_fatal(ctx->xs, disk->be_path, -EPROTO,
				 "frontend broke the ring protocol: %s",
				 disk->broken_why);
		disk_disconnect(disk);
		set_state(disk, XenbusStateClosing);
		set_state(disk, XenbusStateClosed);
		return;
	}
	if (disk->broken)
		return;
	if (!disk->opened) {
		int rc = disk_open(disk);

		if (rc == -EAGAIN)
			return;
		if (rc) {
			set_state(disk, XenbusStateClosed);
			disk->broken = true;	/* until the dir is rewritten */
			snprintf(disk->broken_why, sizeof(disk->broken_why),
				 "open failed");
			return;
		}
		if (!disk->watching) {
			snprintf(path, sizeof(path), "%s/state", disk->fe_path);
			snprintf(disk->fe_token, sizeof(disk->fe_token),
				 "fe %u %u", disk->domid, disk->vdev);
			if (!xs_watch(ctx->xs, path, disk->fe_token, watch_cb,
				      ctx))
				disk->watching = true;
		}
		set_state(disk, XenbusStateInitWait);
	}

	fe = xenbus_read_state(ctx->xs, disk->fe_path);
	/*
	 * Toolstack detach: block-detach writes online = 0. A frontend that
	 * has rings with us (Initialised: it may already be reading its
	 * partition table; Connected) is asked to close and is served until
	 * it does: I/O it issued is answered, never dropped.
	 */
	if (read_int(ctx, disk->be_path, "online", 1) == 0) {
		if (disk->connected && (fe == XenbusStateInitialised ||
					fe == XenbusStateConnected)) {
			set_state(disk, XenbusStateClosing);
			return;
		}
		disk_disconnect(disk);
		set_state(disk, XenbusStateClosed);
		return;
	}

	/*
	 * A live migration holds the connection still while the guest is
	 * stopped (pause = 1): answer what was taken, let go of the rings
	 * and say whether every request was answered (drained), with no
	 * state change the guest could see. pause = 0 (the move given up):
	 * connect to the rings again where we left them, as a restarted
	 * backend does. Paused with no pause key (our dir going away with the
	 * moved domain): stay so.
	 */
	pause = read_int(ctx, disk->be_path, "pause", -1);
	if (pause == 1) {
		if (disk->connected && disk->be_state == XenbusStateConnected) {
			struct timespec a, b;

			clock_gettime(CLOCK_MONOTONIC, &a);
			disk_disconnect(disk);
			disk->paused = true;
			write_key(ctx, XS_TXN_NULL, disk->be_path, "paused", "1");
			clock_gettime(CLOCK_MONOTONIC, &b);
			blkback_log("%s: paused for a migration (in %lld us)",
				    disk->be_path,
				    (long long)(b.tv_sec - a.tv_sec) * 1000000 +
				    (b.tv_nsec - a.tv_nsec) / 1000);
		}
		return;
	}
	if (disk->paused && pause != 0)
		return;
	if (disk->paused) {
		disk->paused = false;
		snprintf(path, sizeof(path), "%s/paused", disk->be_path);
		xs_rm(ctx->xs, XS_TXN_NULL, path);
		if (disk_connect(disk)) {
			set_state(disk, XenbusStateClosing);
			set_state(disk, XenbusStateClosed);
		} else {
			blkback_log("%s: connected again after a pause",
				    disk->be_path);
		}
		return;
	}
	switch (fe) {
	case XenbusStateInitialised:
		if (disk->be_state == XenbusStateInitWait && !disk->connected) {
			if (disk_connect(disk)) {
				set_state(disk, XenbusStateClosing);
				set_state(disk, XenbusStateClosed);
			} else {
				set_state(disk, XenbusStateConnected);
			}
		}
		break;
	case XenbusStateConnected:
		/* a stale Connected from before our restart: wait for a reset */
		break;
	case XenbusStateInitialising:
	case XenbusStateInitWait:
		/* a (re)starting frontend: offer the disk again */
		if (disk->connected)
			disk_disconnect(disk);
		if (disk->be_state != XenbusStateInitWait) {
			snprintf(path, sizeof(path), "%s/error", disk->be_path);
			xs_rm(ctx->xs, XS_TXN_NULL, path);
			set_state(disk, XenbusStateInitWait);
		}
		break;
	case XenbusStateClosing:
		disk_disconnect(disk);
		set_state(disk, XenbusStateClosing);
		break;
	case XenbusStateClosed:
	case XenbusStateUnknown:
	default:
		if (disk->connected || disk->be_state == XenbusStateClosing) {
			disk_disconnect(disk);
			set_state(disk, XenbusStateClosed);
		}
		break;
	}
}

static struct blkback_disk *disk_find(struct blkback_ctx *ctx, long dom,
				      long vdev)
{
	for (struct blkback_disk *d = ctx->disks; d; d = d->next)
		if (d->domid == dom && d->vdev == vdev)
			return d;
	return NULL;
}

static struct blkback_disk *disk_new(struct blkback_ctx *ctx, long dom,
				     long vdev)
{
	struct blkback_disk *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->ctx = ctx;
	d->domid = (pvio_domid_t)dom;
	d->vdev = (uint32_t)vdev;
	d->fd = -1;
	d->fd_buffered = -1;
	d->be_state = -1;
	snprintf(d->be_path, sizeof(d->be_path), BE_ROOT "/%ld/%ld", dom, vdev);
	d->next = ctx->disks;
	ctx->disks = d;
	return d;
}

/* The toolstack removed the disk's dir: let go of everything. */
static void disk_remove(struct blkback_ctx *ctx, struct blkback_disk *disk)
{
	struct blkback_disk **pp;

	for (pp = &ctx->disks; *pp; pp = &(*pp)->next) {
		if (*pp == disk) {
			*pp = disk->next;
			break;
		}
	}
	blkback_log("%s: removed", disk->be_path);
	disk_free(disk);
	/* the queues' tables lived in per-thread arenas: give them back */
	malloc_trim(0);
}

/* One disk changed: create it, step it, or drop it if its dir is gone. */
static void look_at_disk(struct blkback_ctx *ctx, long dom, long vdev)
{
	struct blkback_disk *d = disk_find(ctx, dom, vdev);
	char path[128];
	int rc;

	snprintf(path, sizeof(path), BE_ROOT "/%ld/%ld", dom, vdev);
	rc = xs_read(ctx->xs, XS_TXN_NULL, path, NULL, NULL);
	if (rc == -ENOENT) {
		if (d)
			disk_remove(ctx, d);
		return;
	}
	if (!d)
		d = disk_new(ctx, dom, vdev);
	if (d)
		disk_step(d);
}

/* A domain's dir changed (or everything: @dom < 0): match the disks. */
static void look_at_dir(struct blkback_ctx *ctx, long dom)
{
	char dir[64], **names = NULL;
	unsigned int n = 0;
	struct blkback_disk *d, *next;
	long v, id;

	for (d = ctx->disks; d; d = d->next)
		d->seen = dom >= 0 && d->domid != dom;
	if (dom < 0) {
		if (xs_directory(ctx->xs, XS_TXN_NULL, BE_ROOT, &names, &n))
			n = 0;
		for (unsigned int i = 0; i < n; i++)
			if (parse_num(names[i], PVIO_DOMID_FIRST_RESERVED, &id))
				look_at_dir(ctx, id);
		xs_free_list(names, n);
		/* domains whose dir went: the loop above did not visit them */
		for (d = ctx->disks; d; d = next) {
			next = d->next;
			snprintf(dir, sizeof(dir), BE_ROOT "/%u", d->domid);
			if (xs_read(ctx->xs, XS_TXN_NULL, dir, NULL, NULL) ==
			    -ENOENT)
				disk_remove(ctx, d);
		}
		return;
	}
	snprintf(dir, sizeof(dir), BE_ROOT "/%ld", dom);
	if (xs_directory(ctx->xs, XS_TXN_NULL, dir, &names, &n))
		n = 0;
	for (unsigned int i = 0; i < n; i++) {
		if (!parse_num(names[i], 1ul << 31, &v))
			continue;
		d = disk_find(ctx, dom, v);
		if (!d)
			d = disk_new(ctx, dom, v);
		if (d) {
			d->seen = true;
			disk_step(d);
		}
	}
	xs_free_list(names, n);
	for (d = ctx->disks; d; d = next) {
		next = d->next;
		if (!d->seen)
			disk_remove(ctx, d);
	}
}

/*
 * @releaseDomain: a domain died. Disks whose frontend died let go of its
 * rings and pages at once (the toolstack removes their dirs later), then
 * the views of dead domains' memory that nothing maps any more go.
 */
static void domains_released(struct blkback_ctx *ctx)
{
	struct pvio_domain_info *v;
	unsigned int n;

	if (pvio_domain_list(ctx->hv, &v, &n) < 0)
		return;
	for (struct blkback_disk *d = ctx->disks; d; d = d->next) {
		if (!d->opened || d->be_state == XenbusStateClosed ||
		    !pvio_domain_gone(ctx->hv, v, n, d->fe_domid))
			continue;
		blkback_log("%s: frontend domain %u is gone", d->be_path,
			    d->fe_domid);
		disk_disconnect(d);
		set_state(d, XenbusStateClosed);
	}
	free(v);
	pvio_hv_forget_dead(ctx->hv);
}

int blkback_xenbus_start(struct blkback_ctx *ctx)
{
	int rc;

	pthread_mutex_init(&ctx->lock, NULL);
	pthread_cond_init(&ctx->cond, NULL);
	event_add(ctx, -1, -1);
	rc = xs_watch(ctx->xs, BE_ROOT, "be", watch_cb, ctx);
	if (rc)
		return rc;
	/* a dead frontend's RAM view is unmapped once nothing uses it */
	if (xs_watch(ctx->xs, "@releaseDomain", "release", watch_cb, ctx))
		blkback_log("no @releaseDomain watch: dead domains' memory "
			    "stays mapped until exit");
	return 0;
}

/*
 * statistics/ of each connected disk, as Linux blkback's sysfs names them
 * (rd_req, wr_req, rd_sect, wr_sect, f_req, ds_req): what `pvio top` and
 * block-list read. Written when they changed, at most once a second.
 */
struct stats_arg {
	struct blkback_disk *disk;
	const uint64_t *sum;
};

static int stats_txn(struct xs_handle *h, xs_transaction_t t, void *arg)
{
	static const char *const names[BLKBACK_NR_STATS] = {
		"rd_req", "wr_req", "rd_sect", "wr_sect", "f_req", "ds_req",
	};
	struct stats_arg *a = arg;
	int rc = dir_alive(a->disk->ctx, t, a->disk->be_path);

	for (unsigned int s = 0; !rc && s < BLKBACK_NR_STATS; s++) {
		char key[32];

		snprintf(key, sizeof(key), "statistics/%s", names[s]);
		rc = write_key(a->disk->ctx, t, a->disk->be_path, key, "%llu",
			       (unsigned long long)a->sum[s]);
	}
	return rc;
}

static void stats_publish(struct blkback_ctx *ctx)
{
	for (struct blkback_disk *d = ctx->disks; d; d = d->next) {
		uint64_t sum[BLKBACK_NR_STATS] = { 0 };

		if (!d->connected)
			continue;
		for (unsigned int q = 0; q < d->nr_queues; q++)
			for (unsigned int s = 0; s < BLKBACK_NR_STATS; s++)
				sum[s] += __atomic_load_n(&d->queue[q].st[s],
							  __ATOMIC_RELAXED);
		if (!memcmp(sum, d->st_published, sizeof(sum)))
			continue;
		memcpy(d->st_published, sum, sizeof(sum));
		/* never recreate a dir the toolstack removed */
		xs_transaction_run(ctx->xs, stats_txn,
				   &(struct stats_arg){ .disk = d, .sum = sum });
	}
}

/* Stores that supervise something (a qemu-storage-daemon) look at it. */
static void tick(struct blkback_ctx *ctx)
{
	for (struct blkback_disk *d = ctx->disks; d; d = d->next)
		if (d->opened && d->store && d->store->tick)
			d->store->tick(d);
}

void blkback_xenbus_run(struct blkback_ctx *ctx)
{
	struct timespec last = { 0 };

	pthread_mutex_lock(&ctx->lock);
	while (!ctx->quit) {
		struct blkback_event *list, *e;
		bool released, all;
		struct timespec ts, now;

		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec != last.tv_sec) {
			last = now;
			pthread_mutex_unlock(&ctx->lock);
			stats_publish(ctx);
			tick(ctx);
			pthread_mutex_lock(&ctx->lock);
		}
		if (!ctx->events && !ctx->released && !ctx->rescan_all) {
			/* wake once a second: statistics, stores' supervision */
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += 1;
			pthread_cond_timedwait(&ctx->cond, &ctx->lock, &ts);
			continue;
		}
		list = ctx->events;
		ctx->events = NULL;
		released = ctx->released;
		ctx->released = false;
		all = ctx->rescan_all;
		ctx->rescan_all = false;
		pthread_mutex_unlock(&ctx->lock);
		if (all)
			look_at_dir(ctx, -1);
		for (e = list; e; e = list) {
			list = e->next;
			if (all)
				;	/* covered */
			else if (e->vdev < 0)
				look_at_dir(ctx, e->dom);
			else
				look_at_disk(ctx, e->dom, e->vdev);
			free(e);
		}
		if (released)
			domains_released(ctx);
		pthread_mutex_lock(&ctx->lock);
	}
	pthread_mutex_unlock(&ctx->lock);
}

void blkback_xenbus_stop(struct blkback_ctx *ctx)
{
	xs_unwatch(ctx->xs, "@releaseDomain", "release");
	xs_unwatch(ctx->xs, BE_ROOT, "be");
	while (ctx->disks) {
		struct blkback_disk *d = ctx->disks;

		ctx->disks = d->next;
		if (d->connected) {
			disk_disconnect(d);
			set_state(d, XenbusStateClosed);
		}
		disk_free(d);
	}
	while (ctx->events) {
		struct blkback_event *e = ctx->events;

		ctx->events = e->next;
		free(e);
	}
}
