// SPDX-License-Identifier: MIT
/*
 * blkback control plane: watches /local/domain/0/backend/vbd, opens each
 * disk's backing store, advertises its features, and walks the xenbus
 * handshake with the frontend (InitWait -> Connected -> Closing/Closed),
 * mapping rings and binding event channels on connect.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "pvio/xenbus.h"
#include "blkback.h"

#define BE_ROOT		"/local/domain/0/backend/vbd"

static void wake(struct blkback_ctx *ctx)
{
	pthread_mutex_lock(&ctx->lock);
	ctx->rescan = true;
	pthread_cond_signal(&ctx->cond);
	pthread_mutex_unlock(&ctx->lock);
}

static void watch_cb(struct xs_handle *h, const char *path, const char *token,
		     void *arg)
{
	/* our own statistics/ writes change nothing to act on */
	if (strstr(path, "/statistics/"))
		return;
	wake(arg);
}

void blkback_disk_broken(struct blkback_disk *disk, const char *why)
{
	struct blkback_ctx *ctx = disk->ctx;

	pthread_mutex_lock(&ctx->lock);
	if (!disk->broken) {
		snprintf(disk->broken_why, sizeof(disk->broken_why), "%s", why);
		disk->broken = true;
	}
	ctx->rescan = true;
	pthread_cond_signal(&ctx->cond);
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
	char path[600], val[128];
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
	if (q->port_bound)
		pvio_evtchn_close(ctx->hv, q->port);
	q->port_bound = false;
}

static void disk_disconnect(struct blkback_disk *disk)
{
	for (unsigned int i = 0; i < disk->nr_queues; i++)
		blkback_queue_stop(&disk->queue[i]);
	for (unsigned int i = 0; i < disk->nr_queues; i++)
		queue_unmap(disk, &disk->queue[i]);
	if (disk->connected)
		blkback_log("%s: disconnected", disk->be_path);
	disk->connected = false;
	disk->nr_queues = 0;
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

	rc = pvio_gnttab_map(ctx->hv, op, pages);
	for (unsigned int i = 0; i < pages; i++) {
		if (rc == 0 && op[i].status == GNTST_okay) {
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
	q->ring.sring = q->ring_addr;
	q->ring.nr_ents = blkif_ring_ents((size_t)pages * PVIO_PAGE_SIZE);
	q->ring.rsp_prod_pvt = PVIO_READ_ONCE(q->ring.sring->rsp_prod);
	q->ring.req_cons = q->ring.rsp_prod_pvt;

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

static int disk_connect(struct blkback_disk *disk)
{
	struct blkback_ctx *ctx = disk->ctx;
	long long nq = read_int(ctx, disk->fe_path, "multi-queue-num-queues", 1);
	long long order = read_int(ctx, disk->fe_path, "ring-page-order", 0);
	char proto[32] = "";
	int rc = 0;

	if (nq < 1 || nq > BLKBACK_MAX_QUEUES) {
		xenbus_dev_fatal(ctx->xs, disk->be_path, -EINVAL,
				 "frontend asks for %lld queues (1..%u)", nq,
				 BLKBACK_MAX_QUEUES);
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
	disk->nr_queues = 0;
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
		  BLKBACK_MAX_QUEUES);
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
	rc |= write_key(ctx, t, disk->be_path, "hotplug-status", "connected");
	return rc ? -EIO : 0;
}

/* ---- open: read the toolstack's keys, advertise features ---- */

static int disk_open(struct blkback_disk *disk)
{
	struct blkback_ctx *ctx = disk->ctx;
	char mode[8] = "w", engine[16] = "", type[16] = "";
	long long v;
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
	if (!read_str(ctx, disk->be_path, "script", type, sizeof(type))) {
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
		type[0] = 0;
	}
	read_str(ctx, disk->be_path, "mode", mode, sizeof(mode));
	read_str(ctx, disk->be_path, "pvio-engine", engine, sizeof(engine));
	read_str(ctx, disk->be_path, "type", type, sizeof(type));
	ro = mode[0] == 'r';
	disk->engine_ops = blkback_engine_find(engine);
	if (!disk->engine_ops) {
		xenbus_dev_fatal(ctx->xs, disk->be_path, -EINVAL,
				 "unknown pvio-engine '%s' (uring or aio)", engine);
		return -EINVAL;
	}
	v = read_int(ctx, disk->be_path, "pvio-sector-size", 0);
	if (v != 0 && v != 512 && v != 4096) {
		xenbus_dev_fatal(ctx->xs, disk->be_path, -EINVAL,
				 "pvio-sector-size %lld (512 or 4096)", v);
		return -EINVAL;
	}
	rc = blkback_backing_open(disk, ro, (uint32_t)v);
	if (rc) {
		xenbus_dev_fatal(ctx->xs, disk->be_path, rc, "opening %s: %s",
				 disk->params, strerror(-rc));
		return rc;
	}
	if (read_int(ctx, disk->be_path, "discard-enable", 1) == 0)
		disk->lim.discard = false;

	rc = xs_transaction_run(ctx->xs, features_txn, disk);
	if (rc) {
		blkback_backing_close(disk);
		return rc == -ENOENT ? -EAGAIN : rc;
	}
	disk->opened = true;
	blkback_log("%s: %s, %llu sectors of %u bytes, %s%s", disk->be_path,
		    disk->params, (unsigned long long)disk->lim.sectors,
		    disk->lim.sector_size, ro ? "read-only" : "read-write",
		    disk->direct ? "" : " (buffered)");
	return 0;
}

static void disk_free(struct blkback_disk *disk)
{
	char path[600];

	disk_disconnect(disk);
	if (disk->watching) {
		snprintf(path, sizeof(path), "%s/state", disk->fe_path);
		xs_unwatch(disk->ctx->xs, path, "fe");
	}
	blkback_backing_close(disk);
	free(disk);
}

/* ---- the state machine, one step per disk per scan ---- */

static void disk_step(struct blkback_disk *disk)
{
	struct blkback_ctx *ctx = disk->ctx;
	enum xenbus_state fe;
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
			if (!xs_watch(ctx->xs, path, "fe", watch_cb, ctx))
				disk->watching = true;
		}
		set_state(disk, XenbusStateInitWait);
	}

	fe = xenbus_read_state(ctx->xs, disk->fe_path);
	/* toolstack detach: block-detach writes online = 0 */
	if (read_int(ctx, disk->be_path, "online", 1) == 0) {
		if (disk->connected && fe == XenbusStateConnected) {
			set_state(disk, XenbusStateClosing);
			return;
		}
		disk_disconnect(disk);
		set_state(disk, XenbusStateClosed);
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

static struct blkback_disk *disk_find(struct blkback_ctx *ctx, const char *path)
{
	for (struct blkback_disk *d = ctx->disks; d; d = d->next)
		if (!strcmp(d->be_path, path))
			return d;
	return NULL;
}

static void scan(struct blkback_ctx *ctx)
{
	char **doms = NULL;
	unsigned int nd = 0;
	struct blkback_disk **pp;

	for (struct blkback_disk *d = ctx->disks; d; d = d->next)
		d->seen = false;
	if (xs_directory(ctx->xs, XS_TXN_NULL, BE_ROOT, &doms, &nd))
		nd = 0;
	for (unsigned int i = 0; i < nd; i++) {
		char dir[64], **devs = NULL;
		unsigned int nv = 0;
		char *end;
		unsigned long dom = strtoul(doms[i], &end, 10);

		if (*end || dom >= PVIO_DOMID_FIRST_RESERVED)
			continue;
		snprintf(dir, sizeof(dir), BE_ROOT "/%lu", dom);
		if (xs_directory(ctx->xs, XS_TXN_NULL, dir, &devs, &nv))
			continue;
		for (unsigned int j = 0; j < nv; j++) {
			char path[128];
			struct blkback_disk *d;
			unsigned long vdev = strtoul(devs[j], &end, 10);

			if (*end)
				continue;
			snprintf(path, sizeof(path), "%s/%lu", dir, vdev);
			d = disk_find(ctx, path);
			if (!d) {
				d = calloc(1, sizeof(*d));
				if (!d)
					continue;
				d->ctx = ctx;
				d->domid = (pvio_domid_t)dom;
				d->vdev = (uint32_t)vdev;
				d->fd = -1;
				d->fd_buffered = -1;
				d->be_state = -1;
				snprintf(d->be_path, sizeof(d->be_path), "%s", path);
				d->next = ctx->disks;
				ctx->disks = d;
			}
			d->seen = true;
		}
		xs_free_list(devs, nv);
	}
	xs_free_list(doms, nd);

	/* disks whose backend dir went away: the toolstack removed them */
	pp = &ctx->disks;
	while (*pp) {
		struct blkback_disk *d = *pp;

		if (!d->seen) {
			*pp = d->next;
			blkback_log("%s: removed", d->be_path);
			disk_free(d);
			continue;
		}
		pp = &d->next;
	}
	for (struct blkback_disk *d = ctx->disks; d; d = d->next)
		disk_step(d);
}

int blkback_xenbus_start(struct blkback_ctx *ctx)
{
	pthread_mutex_init(&ctx->lock, NULL);
	pthread_cond_init(&ctx->cond, NULL);
	ctx->rescan = true;
	return xs_watch(ctx->xs, BE_ROOT, "be", watch_cb, ctx);
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

void blkback_xenbus_run(struct blkback_ctx *ctx)
{
	struct timespec last = { 0 };

	pthread_mutex_lock(&ctx->lock);
	while (!ctx->quit) {
		struct timespec ts, now;

		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec != last.tv_sec) {
			last = now;
			pthread_mutex_unlock(&ctx->lock);
			stats_publish(ctx);
			pthread_mutex_lock(&ctx->lock);
		}
		if (!ctx->rescan) {
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += 1;
			pthread_cond_timedwait(&ctx->cond, &ctx->lock, &ts);
			continue;
		}
		ctx->rescan = false;
		pthread_mutex_unlock(&ctx->lock);
		scan(ctx);
		pthread_mutex_lock(&ctx->lock);
	}
	pthread_mutex_unlock(&ctx->lock);
}

void blkback_xenbus_stop(struct blkback_ctx *ctx)
{
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
}
