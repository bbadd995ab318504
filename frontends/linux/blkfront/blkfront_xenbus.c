// SPDX-License-Identifier: GPL-2.0
/*
 * pvio_blkfront control plane: the `vbd` frontend driver on the pvio bus.
 * Follows the backend's xenbus state (InitWait: offer rings; Connected:
 * expose the disk; Closing: remove the disk; back to InitWait while
 * connected: the backend restarted, re-issue on new rings) and owns the
 * gendisk, named from the virtual-device number (xvda, xvdb, ...).
 */
#include <linux/blkdev.h>
#include <linux/delay.h>
#include <linux/module.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include "blkfront.h"

/* Xen's virtual block device major */
#define BLKFRONT_MAJOR		202
#define BLKFRONT_PARTS		16	/* minors per disk */

static unsigned int max_queues;
module_param(max_queues, uint, 0444);
MODULE_PARM_DESC(max_queues, "rings per disk (0: one per CPU), up to 4");
static unsigned int max_ring_page_order = 1;
module_param(max_ring_page_order, uint, 0444);
MODULE_PARM_DESC(max_ring_page_order, "log2 of ring pages per queue (0..4)");
static unsigned int max_indirect_segments = 32;
module_param(max_indirect_segments, uint, 0444);
MODULE_PARM_DESC(max_indirect_segments,
		 "segments per indirect request (0: direct only, up to 256)");
static bool persistent;
module_param(persistent, bool, 0444);
MODULE_PARM_DESC(persistent,
		 "persistent grants: copy through pages the backend maps once");

static int blkfront_major;

/* ---- disk naming: the vdev number, as Xen numbers virtual disks ---- */

static int vdev_to_index(unsigned int vdev, unsigned int *index)
{
	unsigned int major = vdev >> 8, minor = vdev & 0xff;

	if (vdev & PVIO_VDEV_EXTENDED) {
		*index = (vdev >> 8) & 0xfffff;
		return (vdev & 0xff) ? -EINVAL : 0;
	}
	switch (major) {
	case PVIO_VDEV_XVD_MAJOR:
	case 8:			/* sd */
		*index = minor >> 4;
		return (minor & 15) ? -EINVAL : 0;
	case 3:			/* hda, hdb */
		*index = minor >> 6;
		return (minor & 63) ? -EINVAL : 0;
	case 22:		/* hdc, hdd */
		*index = 2 + (minor >> 6);
		return (minor & 63) ? -EINVAL : 0;
	default:
		return -EINVAL;
	}
}

/* xvda .. xvdz, xvdaa .. xvdzz, ... */
static void index_to_name(unsigned int index, char *buf, size_t len)
{
	char tmp[8];
	int n = 0;

	do {
		tmp[n++] = 'a' + index % 26;
		index = index / 26;
	} while (index-- > 0 && n < (int)sizeof(tmp));
	snprintf(buf, len, "xvd");
	while (n > 0 && strlen(buf) + 1 < len)
		strncat(buf, &tmp[--n], 1);
}

/* ---- block device ---- */

static const struct block_device_operations blkfront_fops = {
	.owner = THIS_MODULE,
};

/* Apply what the backend says about the disk to the queue limits. */
static void disk_apply_limits(struct blkfront_info *info)
{
	struct request_queue *rq = info->disk->queue;

	blk_queue_logical_block_size(rq, info->sector_size);
	blk_queue_physical_block_size(rq, info->physical_sector_size);
	blk_queue_write_cache(rq, info->flush || info->barrier, info->flush);
	if (info->discard) {
		blk_queue_max_discard_sectors(rq, UINT_MAX >> SECTOR_SHIFT);
		rq->limits.discard_granularity = info->discard_granularity;
		rq->limits.discard_alignment = info->discard_alignment;
		if (info->discard_secure)
			blk_queue_max_secure_erase_sectors(rq, UINT_MAX >>
							   SECTOR_SHIFT);
	} else {
		blk_queue_max_discard_sectors(rq, 0);
		blk_queue_max_secure_erase_sectors(rq, 0);
	}
	set_disk_ro(info->disk, info->readonly);
}

static int disk_create(struct blkfront_info *info)
{
	struct blk_mq_tag_set *set = &info->tag_set;
	struct gendisk *disk;
	struct request_queue *rq;
	int ret;

	info->hw_queues = info->nr_queues;
	memset(set, 0, sizeof(*set));
	set->ops = &blkfront_mq_ops;
	set->nr_hw_queues = info->nr_queues;
	set->queue_depth = info->queues[0].nr_ents;
	set->numa_node = NUMA_NO_NODE;
	set->flags = BLK_MQ_F_SHOULD_MERGE;
	set->cmd_size = blkfront_cmd_size(info->max_segs);
	set->timeout = BLKFRONT_RQ_TIMEOUT_S * HZ;
	set->driver_data = info;
	ret = blk_mq_alloc_tag_set(set);
	if (ret)
		return ret;

	disk = blk_mq_alloc_disk(set, info);
	if (IS_ERR(disk)) {
		blk_mq_free_tag_set(set);
		return PTR_ERR(disk);
	}
	info->disk = disk;
	disk->major = blkfront_major;
	disk->first_minor = info->index * BLKFRONT_PARTS;
	disk->minors = BLKFRONT_PARTS;
	disk->fops = &blkfront_fops;
	disk->private_data = info;
	strscpy(disk->disk_name, info->name, sizeof(disk->disk_name));

	rq = disk->queue;
	blk_queue_flag_set(QUEUE_FLAG_VIRT, rq);
	blk_queue_max_hw_sectors(rq, info->max_segs *
				 (PAGE_SIZE >> SECTOR_SHIFT));
	blk_queue_max_segments(rq, info->max_segs);
	/* each segment lies in one page, 512-byte aligned */
	blk_queue_max_segment_size(rq, PAGE_SIZE);
	blk_queue_segment_boundary(rq, PAGE_SIZE - 1);
	blk_queue_dma_alignment(rq, SECTOR_SIZE - 1);
	disk_apply_limits(info);
	set_capacity(disk, info->sectors);

	ret = add_disk(disk);
	if (ret) {
		put_disk(disk);
		info->disk = NULL;
		blk_mq_free_tag_set(set);
		return ret;
	}
	return 0;
}

/*
 * Remove the disk. With the backend connected, del_gendisk drains the
 * I/O in flight through it; otherwise the caller failed it first.
 */
static void disk_remove(struct blkfront_info *info)
{
	unsigned int i;

	if (!info->disk)
		return;
	if (info->quiesced) {
		blk_mq_unquiesce_queue(info->disk->queue);
		info->quiesced = false;
	}
	blk_mq_start_stopped_hw_queues(info->disk->queue, true);
	del_gendisk(info->disk);
	/* no handler may look at the queue once it is freed */
	for (i = 0; i < info->nr_queues; i++)
		blkfront_queue_unbind(&info->queues[i]);
	put_disk(info->disk);
	info->disk = NULL;
	blk_mq_free_tag_set(&info->tag_set);
}

/* ---- the handshake ---- */

static void rings_teardown(struct blkfront_info *info, bool requeue)
{
	unsigned int i;

	/* no dispatch begun before a suspend's quiesce still runs */
	if (info->quiesce_gp_pending) {
		cond_synchronize_rcu(info->quiesce_gp);
		info->quiesce_gp_pending = false;
	}
	for (i = 0; i < info->nr_queues; i++)
		blkfront_queue_teardown(info, &info->queues[i], requeue);
}

/* Read the backend's offer and choose queues, ring size, segments. */
static int negotiate(struct blkfront_info *info)
{
	unsigned int want_q = max_queues ? max_queues : num_online_cpus();
	const char *be = info->pdev->otherend;
	struct pvio_store_batch *b = pvio_store_batch_alloc();
	int r_mq, r_order, r_ind, r_pers;
	unsigned int nq, order, ind;
	bool pers;
	int ret;

	if (!b)
		return -ENOMEM;
	/* the offer in one round trip */
	r_mq = pvio_store_batch_read(b, be, "multi-queue-max-queues");
	r_order = pvio_store_batch_read(b, be, "max-ring-page-order");
	r_ind = pvio_store_batch_read(b, be, "feature-max-indirect-segments");
	r_pers = pvio_store_batch_read(b, be, "feature-persistent");
	ret = pvio_store_batch_run(b);
	if (ret) {
		pvio_store_batch_release(b);
		return ret;
	}
	nq = min_t(unsigned long long,
		   pvio_store_batch_ull(b, r_mq, 1),
		   min(want_q, (unsigned int)BLKFRONT_MAX_QUEUES));
	nq = max(nq, 1u);
	if (info->disk)		/* more rings than hw queues is no use */
		nq = min(nq, info->hw_queues);
	order = min_t(unsigned long long,
		      pvio_store_batch_ull(b, r_order, 0),
		      min(max_ring_page_order,
			  (unsigned int)BLKFRONT_MAX_RING_ORDER));
	ind = min_t(unsigned long long,
		    pvio_store_batch_ull(b, r_ind, 0),
		    min(max_indirect_segments,
			(unsigned int)BLKFRONT_MAX_INDIRECT_SEGS));
	pers = pvio_store_batch_ull(b, r_pers, 0) == 1;
	pvio_store_batch_release(b);
	if (ind <= BLKIF_MAX_SEGMENTS_PER_REQUEST)
		ind = 0;
	if (!info->disk) {
		/* a new disk: its request size is chosen now, for good */
		info->max_segs = ind ? ind : BLKIF_MAX_SEGMENTS_PER_REQUEST;
		info->hw_queues = 0;
	} else if (info->max_segs > BLKIF_MAX_SEGMENTS_PER_REQUEST) {
		/* the disk was set up for requests this large */
		if (ind < info->max_segs) {
			pr_err("%s: backend offers %u indirect segments, the disk needs %u\n",
			       info->name, ind, info->max_segs);
			return -EINVAL;
		}
		ind = info->max_segs;
	} else if (info->max_segs) {
		ind = 0;
	}
	info->nr_queues = nq;
	info->ring_order = order;
	info->indirect_segs = ind;
	info->persistent = persistent && pers;
	return 0;
}

static void write_queue_keys(struct blkfront_info *info,
			     struct pvio_store_batch *b,
			     struct blkfront_queue *q, const char *prefix)
{
	unsigned int i, pages = 1u << info->ring_order;
	const char *fe = info->pdev->nodename;
	char key[48];

	for (i = 0; i < pages; i++) {
		if (info->ring_order == 0)
			snprintf(key, sizeof(key), "%sring-ref", prefix);
		else
			snprintf(key, sizeof(key), "%sring-ref%u", prefix, i);
		pvio_store_batch_printf(b, fe, key, "%u", q->ring_ref[i]);
	}
	snprintf(key, sizeof(key), "%sevent-channel", prefix);
	pvio_store_batch_printf(b, fe, key, "%u", q->port);
}

/* Backend in InitWait: set up rings, publish them, go Initialised. */
static int rings_offer(struct blkfront_info *info)
{
	const char *fe = info->pdev->nodename;
	struct pvio_store_batch *b;
	unsigned int i;
	char prefix[24];
	int ret;

	ret = negotiate(info);
	if (ret)
		return ret;
	for (i = 0; i < info->nr_queues; i++) {
		info->queues[i].index = i;
		ret = blkfront_queue_setup(info, &info->queues[i]);
		if (ret) {
			info->nr_queues = i;
			goto err;
		}
	}
	/* every key in one round trip (up to 4 queues of 16 pages: 2 trips) */
	b = pvio_store_batch_alloc();
	ret = b ? 0 : -ENOMEM;
	for (i = 0; i < info->nr_queues && !ret; i++) {
		if (info->nr_queues == 1)
			prefix[0] = 0;
		else
			snprintf(prefix, sizeof(prefix), "queue-%u/", i);
		ret = pvio_store_batch_room(b, (1u << info->ring_order) + 1);
		if (!ret)
			write_queue_keys(info, b, &info->queues[i], prefix);
	}
	if (!ret)
		ret = pvio_store_batch_room(b, 4);
	if (!ret) {
		if (info->nr_queues > 1)
			pvio_store_batch_printf(b, fe, "multi-queue-num-queues",
						"%u", info->nr_queues);
		else
			pvio_store_batch_rm(b, fe, "multi-queue-num-queues");
		pvio_store_batch_printf(b, fe, "ring-page-order", "%u",
					info->ring_order);
		pvio_store_batch_printf(b, fe, "feature-persistent", "%u",
					info->persistent);
		pvio_store_batch_printf(b, fe, "protocol", "%s",
					BLKIF_PROTOCOL_X86_64);
		ret = pvio_store_batch_run(b);
	}
	pvio_store_batch_release(b);
	/* every key is written before the backend is told to read them */
	ret = ret ?: pvio_bus_switch_state(info->pdev,
					   PVIO_STATE_INITIALISED);
	if (ret)
		goto err;
	info->conn = BLKFRONT_INITIALISED;
	return 0;
err:
	pr_err("%s: cannot offer rings to %s: %d\n", info->name,
	       info->pdev->otherend, ret);
	rings_teardown(info, !!info->disk);
	info->conn = BLKFRONT_IDLE;
	return ret;
}

/* The disk's size and features, as the backend publishes them. */
static const char *const disk_keys[] = {
	"sectors", "sector-size", "physical-sector-size", "info", "mode",
	"feature-flush-cache", "feature-barrier", "feature-discard",
	"discard-granularity", "discard-alignment", "discard-secure",
};
enum { SECTORS, SS, PSS, INFO, MODE, FLUSH, BARRIER, DISCARD, GRAN, ALIGN,
       SECURE, DISK_KEYS };

static void disk_info_add(struct blkfront_info *info,
			  struct pvio_store_batch *b, int *idx)
{
	unsigned int i;

	for (i = 0; i < DISK_KEYS; i++)
		idx[i] = pvio_store_batch_read(b, info->pdev->otherend,
					       disk_keys[i]);
}

/* The disk's details alone: a batch to free, or NULL (logged). */
static struct pvio_store_batch *disk_info_read(struct blkfront_info *info,
					       int *idx)
{
	struct pvio_store_batch *b = pvio_store_batch_alloc();
	int ret = -ENOMEM;

	if (b) {
		disk_info_add(info, b, idx);
		ret = pvio_store_batch_run(b);
	}
	if (!ret)
		return b;
	pr_err("%s: cannot read the disk's details: %d\n", info->name, ret);
	pvio_store_batch_release(b);
	return NULL;
}

/* Take the disk's details from @b (read with the backend Connected). */
static int disk_info_parse(struct blkfront_info *info,
			   struct pvio_store_batch *b, const int *idx)
{
	unsigned long long ss, pss, gran;
	const char *mode;
	u64 sectors;

	sectors = pvio_store_batch_ull(b, idx[SECTORS], 0);
	ss = pvio_store_batch_ull(b, idx[SS], 512);
	pss = pvio_store_batch_ull(b, idx[PSS], ss);
	if (ss < 512 || ss > PAGE_SIZE || !is_power_of_2(ss)) {
		pr_err("%s: backend sector-size %llu unusable\n", info->name,
		       ss);
		return -EINVAL;
	}
	if (pss < ss || pss > 65536 || !is_power_of_2(pss))
		pss = ss;
	if (sectors > (U64_MAX >> SECTOR_SHIFT)) {
		pr_err("%s: backend sectors %llu unusable\n", info->name,
		       sectors);
		return -EINVAL;
	}
	info->sectors = sectors;
	info->sector_size = ss;
	info->physical_sector_size = pss;
	info->readonly = pvio_store_batch_ull(b, idx[INFO], 0) &
			 PVIO_VDISK_READONLY;
	mode = pvio_store_batch_str(b, idx[MODE]);
	if (mode && mode[0] == 'r')
		info->readonly = true;
	info->flush = pvio_store_batch_ull(b, idx[FLUSH], 0) == 1;
	info->barrier = pvio_store_batch_ull(b, idx[BARRIER], 0) == 1;
	info->discard = pvio_store_batch_ull(b, idx[DISCARD], 0) == 1;
	gran = pvio_store_batch_ull(b, idx[GRAN], ss);
	if (gran < ss || gran > (1u << 30) || !is_power_of_2(gran))
		gran = ss;
	info->discard_granularity = gran;
	info->discard_alignment = pvio_store_batch_ull(b, idx[ALIGN], 0) %
				  info->discard_granularity;
	info->discard_secure = info->discard &&
			       pvio_store_batch_ull(b, idx[SECURE], 0) == 1;
	return 0;
}

/* Requests flow again on the rings the backend has connected. */
static void disk_io_on(struct blkfront_info *info)
{
	unsigned int i;

	for (i = 0; i < info->nr_queues; i++)
		blkfront_queue_go_live(&info->queues[i]);
	info->dead = false;
	if (info->quiesced)
		blk_mq_unquiesce_queue(info->disk->queue);
	info->quiesced = false;
	blk_mq_start_stopped_hw_queues(info->disk->queue, true);
	blk_mq_kick_requeue_list(info->disk->queue);
}

/* Connected: say so in our dir, and what the disk is. */
static void disk_connected(struct blkfront_info *info)
{
	pvio_bus_switch_state(info->pdev, PVIO_STATE_CONNECTED);
	if (info->resumed_at) {
		pr_info("%s: connected %lld ms after the resume\n", info->name,
			ktime_ms_delta(ktime_get(), info->resumed_at));
		info->resumed_at = 0;
	}
	pr_info("%s: %llu sectors of %u bytes%s, %u queue(s) of %u entries, %s, %s grants%s%s%s (backend %s)\n",
		info->name, info->sectors, info->sector_size,
		info->readonly ? " read-only" : "", info->nr_queues,
		info->queues[0].nr_ents,
		info->indirect_segs ? "indirect" : "direct",
		info->persistent ? "persistent" : "per-request",
		info->flush ? ", flush" : info->barrier ? ", barrier" : "",
		info->discard ? ", discard" : "",
		info->reconnects ? ", reconnected" : "",
		info->pdev->otherend);
}

/*
 * Kept rings after a move: live again as they were (same disk, same
 * limits), what came and went meanwhile taken, the backend rung.
 */
static void disk_go_live(struct blkfront_info *info)
{
	unsigned int i;

	disk_io_on(info);
	info->conn = BLKFRONT_CONNECTED;
	for (i = 0; i < info->nr_queues; i++)
		blkfront_queue_kick(&info->queues[i]);
	disk_connected(info);
}

/* Backend Connected: expose the disk, or resume I/O on new rings. */
static void disk_connect(struct blkfront_info *info,
			 struct pvio_store_batch *b, const int *idx)
{
	unsigned int i;
	int ret;

	ret = disk_info_parse(info, b, idx);
	if (ret)
		return;
	if (!info->disk) {
		for (i = 0; i < info->nr_queues; i++)
			blkfront_queue_go_live(&info->queues[i]);
		info->dead = false;
		ret = disk_create(info);
		if (ret) {
			pr_err("%s: cannot create the disk: %d\n", info->name,
			       ret);
			return;
		}
	} else {
		disk_apply_limits(info);
		set_capacity_and_notify(info->disk, info->sectors);
		disk_io_on(info);
	}
	info->conn = BLKFRONT_CONNECTED;
	disk_connected(info);
}


/* The backend restarted: park I/O, put unanswered requests back. */
static void rings_reset(struct blkfront_info *info)
{
	long before = atomic_long_read(&info->reissued);

	if (info->disk && !info->quiesced) {
		blk_mq_quiesce_queue(info->disk->queue);
		info->quiesced = true;
	}
	rings_teardown(info, true);
	info->conn = BLKFRONT_IDLE;
	info->reconnects++;
	pr_info("%s: backend restarted (%u), %ld unanswered requests to re-issue\n",
		info->name, info->reconnects,
		atomic_long_read(&info->reissued) - before);
}

/* No backend will answer: fail what is in flight, drop the disk. */
static void disk_abandon(struct blkfront_info *info)
{
	info->dead = true;
	rings_teardown(info, false);
	disk_remove(info);
	info->conn = BLKFRONT_IDLE;
}

static void blkfront_state_work(struct work_struct *work)
{
	struct blkfront_info *info = container_of(work, struct blkfront_info,
						  state_work);
	struct pvio_store_batch *b = NULL;
	int idx[DISK_KEYS], r_state;
	enum pvio_bus_state be;

	mutex_lock(&info->mutex);
	if (info->removing || info->suspended)
		goto out;
	/*
	 * Rings offered, waiting for Connected: the backend's state and the
	 * disk's details in one round trip (only used if it says Connected).
	 */
	if (info->conn == BLKFRONT_INITIALISED)
		b = pvio_store_batch_alloc();
	if (b) {
		r_state = pvio_store_batch_read(b, info->pdev->otherend,
						"state");
		disk_info_add(info, b, idx);
		if (pvio_store_batch_run(b)) {
			pr_err("%s: cannot read the disk's details\n",
			       info->name);
			goto out;
		}
		be = pvio_bus_state_of(pvio_store_batch_ull(b, r_state,
							    PVIO_STATE_UNKNOWN));
	} else {
		be = pvio_bus_read_otherend_state(info->pdev);
	}
	if (info->resuming) {
		/*
		 * After a suspend the old backend may still say Closed, or
		 * the new one may not be there yet: wait for its InitWait.
		 */
		if (be != PVIO_STATE_INIT_WAIT && be != PVIO_STATE_CONNECTED)
			goto out;
		if (be == PVIO_STATE_INIT_WAIT)
			info->resuming = false;
	}
	switch (be) {
	case PVIO_STATE_INIT_WAIT:
		/*
		 * A backend that comes back to InitWait after Connected was
		 * restarted. In Initialised we wait: a restarted backend
		 * connects to the rings already offered.
		 */
		if (info->conn == BLKFRONT_CONNECTED)
			rings_reset(info);
		else if (info->conn == BLKFRONT_CLOSING)
			disk_abandon(info);
		if (info->conn == BLKFRONT_IDLE)
			rings_offer(info);
		break;
	case PVIO_STATE_CONNECTED:
		if (info->conn != BLKFRONT_INITIALISED)
			break;
		if (!b)
			b = disk_info_read(info, idx);
		if (b)
			disk_connect(info, b, idx);
		break;
	case PVIO_STATE_CLOSING:
		/* detach: drain through the backend, then let it go */
		if (info->conn == BLKFRONT_CONNECTED ||
		    info->conn == BLKFRONT_INITIALISED) {
			if (info->conn == BLKFRONT_CONNECTED)
				disk_remove(info);
			else
				info->dead = true;
			pvio_bus_switch_state(info->pdev, PVIO_STATE_CLOSED);
			info->conn = BLKFRONT_CLOSING;
		}
		break;
	case PVIO_STATE_CLOSED:
	case PVIO_STATE_UNKNOWN:
	default:
		/* the backend unmapped everything, or its dir is gone */
		if (info->conn != BLKFRONT_IDLE || info->disk)
			disk_abandon(info);
		if (be == PVIO_STATE_CLOSED &&
		    info->pdev->state != PVIO_STATE_CLOSED &&
		    info->pdev->state != PVIO_STATE_UNKNOWN)
			pvio_bus_switch_state(info->pdev, PVIO_STATE_CLOSED);
		break;
	}
out:
	mutex_unlock(&info->mutex);
	pvio_store_batch_release(b);
}

/*
 * Save or migration, as a Xen frontend does it: stop issuing and let go
 * of the event channel, nothing more. The guest's vCPU has no store round
 * trip or wait for the backend here: once the guest is suspended the
 * toolstack closes the connection on its behalf (the backend answers or
 * drops what it has and unmaps), and the resume takes the answers from
 * the ring and re-issues the rest on new rings, here or on another host.
 */
static int blkfront_suspend(struct pvio_device *pdev)
{
	struct blkfront_info *info = dev_get_drvdata(&pdev->dev);
	unsigned int i, n = 0;

	if (!info)
		return 0;
	mutex_lock(&info->mutex);
	info->suspended = true;
	/*
	 * No new dispatch from here. One already under way either put its
	 * request on the ring before the detach below took the queue's lock
	 * (it is in flight like the others) or finds the queue detached and
	 * gives it back to blk-mq. Waiting here for those to end would cost
	 * a grace period (about 10 ms of a TCG guest's downtime); only the
	 * teardown at the resume needs it, and by then it has passed.
	 */
	if (info->disk && !info->quiesced) {
		blk_mq_quiesce_queue_nowait(info->disk->queue);
		info->quiesce_gp = start_poll_synchronize_rcu();
		info->quiesce_gp_pending = true;
		info->quiesced = true;
	}
	if (info->conn != BLKFRONT_IDLE) {
		for (i = 0; i < info->nr_queues; i++) {
			blkfront_queue_detach(&info->queues[i]);
			n += blkfront_queue_inflight(&info->queues[i]);
		}
	}
	pr_info("%s: suspended, %u request(s) in flight\n", info->name, n);
	mutex_unlock(&info->mutex);
	return 0;
}

#define BLKFRONT_CLOSE_WAIT_MS	5000

/*
 * Resumed on the same host with the old backend still holding our rings
 * (a suspend cancelled before the toolstack closed the connection): ask
 * it to let go ourselves, bounded; a ring it still maps is never reused.
 */
static void blkfront_close_backend(struct blkfront_info *info)
{
	struct pvio_device *pdev = info->pdev;

	if (pvio_bus_otherend_gone(pdev))
		return;
	pvio_bus_switch_state(pdev, PVIO_STATE_CLOSING);
	pvio_bus_wait_otherend_gone(pdev, BLKFRONT_CLOSE_WAIT_MS);
}

/*
 * On a new host: did its backend take over our rings where they were?
 * The toolstack carried our connection (ring refs, ports) and a backend
 * here connected to it before we resumed: then every queue's port is
 * connected to the backend's domain. Else (a restore, a migration that
 * could not keep it) they name nothing here.
 */
static bool rings_kept(struct blkfront_info *info)
{
	unsigned int i;

	if (info->conn == BLKFRONT_IDLE || !info->nr_queues)
		return false;
	for (i = 0; i < info->nr_queues; i++) {
		struct blkfront_queue *q = &info->queues[i];

		if (!q->ring_mem || !q->port_bound ||
		    !pvio_evtchn_connected_to(q->port, info->pdev->otherend_id))
			return false;
	}
	return true;
}

static bool rings_reattach(struct blkfront_info *info)
{
	unsigned int i;

	/* no dispatch begun before the suspend's quiesce still runs */
	if (info->quiesce_gp_pending) {
		cond_synchronize_rcu(info->quiesce_gp);
		info->quiesce_gp_pending = false;
	}
	for (i = 0; i < info->nr_queues; i++)
		if (blkfront_queue_reattach(&info->queues[i]))
			return false;
	return true;
}

static void blkfront_resume(struct pvio_device *pdev, bool new_host)
{
	struct blkfront_info *info = dev_get_drvdata(&pdev->dev);
	unsigned int i;

	if (!info)
		return;
	mutex_lock(&info->mutex);
	if (new_host && rings_kept(info) && rings_reattach(info)) {
		/*
		 * The backend here is Connected to these very rings (hv says
		 * our ports are its) and serves the same disk: I/O goes on
		 * at once, without a round trip to the store; Connected in
		 * our dir (the toolstack wrote Initialised) tells who waits.
		 */
		info->suspended = false;
		info->resuming = false;
		info->resumed_at = ktime_get();
		info->reconnects++;
		disk_go_live(info);
		pr_info("%s: resumed on the rings a backend here took over\n",
			info->name);
		mutex_unlock(&info->mutex);
		return;
	}
	/* the old backend let go: its answers count, the rest is re-issued */
	if (info->conn != BLKFRONT_IDLE) {
		long before = atomic_long_read(&info->reissued);

		if (!new_host)
			blkfront_close_backend(info);
		/*
		 * A new host: our old port numbers name nothing of ours here
		 * (or soon another device's new port): forgotten, not closed.
		 */
		for (i = 0; new_host && i < info->nr_queues; i++)
			info->queues[i].port_bound = false;
		rings_teardown(info, !!info->disk);
		info->conn = BLKFRONT_IDLE;
		pr_info("%s: %ld request(s) to re-issue\n", info->name,
			atomic_long_read(&info->reissued) - before);
	}
	info->suspended = false;
	info->resuming = true;
	info->resumed_at = ktime_get();
	info->reconnects++;
	/* the backend (old or new) offers the disk again on Initialising */
	pvio_bus_switch_state(pdev, PVIO_STATE_INITIALISING);
	mutex_unlock(&info->mutex);
	queue_work(system_highpri_wq, &info->state_work);
}

static void blkfront_otherend_changed(struct pvio_device *pdev)
{
	struct blkfront_info *info = dev_get_drvdata(&pdev->dev);

	/* the work reads the state: only the latest one matters */
	queue_work(system_highpri_wq, &info->state_work);
}

static int blkfront_probe(struct pvio_device *pdev)
{
	struct blkfront_info *info;
	unsigned int i;

	info = kzalloc(sizeof(*info), GFP_KERNEL);
	if (!info)
		return -ENOMEM;
	info->pdev = pdev;
	info->vdev = pdev->devid;
	if (vdev_to_index(info->vdev, &info->index) ||
	    info->index >= (MINORMASK + 1) / BLKFRONT_PARTS) {
		dev_err(&pdev->dev, "virtual-device %u is not a whole disk we can name\n",
			info->vdev);
		kfree(info);
		return -EINVAL;
	}
	index_to_name(info->index, info->name, sizeof(info->name));
	mutex_init(&info->mutex);
	INIT_WORK(&info->state_work, blkfront_state_work);
	for (i = 0; i < BLKFRONT_MAX_QUEUES; i++) {
		spin_lock_init(&info->queues[i].lock);
		info->queues[i].info = info;
	}
	dev_set_drvdata(&pdev->dev, info);
	/*
	 * Say we start afresh: after a module reload our node still says
	 * Closed, and the backend offers the disk again on Initialising.
	 * The bus's watch on the backend state fires once when added.
	 */
	pvio_bus_switch_state(pdev, PVIO_STATE_INITIALISING);
	return 0;
}

static void blkfront_remove(struct pvio_device *pdev)
{
	struct blkfront_info *info = dev_get_drvdata(&pdev->dev);
	unsigned int i;

	mutex_lock(&info->mutex);
	info->removing = true;
	mutex_unlock(&info->mutex);
	cancel_work_sync(&info->state_work);

	mutex_lock(&info->mutex);
	/* drain through the backend only if one is there to answer */
	if (info->conn == BLKFRONT_CONNECTED &&
	    pvio_bus_read_otherend_state(pdev) == PVIO_STATE_CONNECTED) {
		disk_remove(info);
		pvio_bus_switch_state(pdev, PVIO_STATE_CLOSED);
		/* give the backend time to unmap before the grants end */
		for (i = 0; i < 50; i++) {
			enum pvio_bus_state s =
				pvio_bus_read_otherend_state(pdev);

			if (s == PVIO_STATE_CLOSED || s == PVIO_STATE_UNKNOWN)
				break;
			msleep(100);
		}
	}
	disk_abandon(info);
	mutex_unlock(&info->mutex);
	dev_set_drvdata(&pdev->dev, NULL);
	kfree(info);
}

static struct pvio_frontend_driver blkfront_driver = {
	.type = "vbd",
	.probe = blkfront_probe,
	.remove = blkfront_remove,
	.otherend_changed = blkfront_otherend_changed,
	.suspend = blkfront_suspend,
	.resume = blkfront_resume,
};

static int __init blkfront_init(void)
{
	int ret;

	blkfront_major = BLKFRONT_MAJOR;
	ret = register_blkdev(blkfront_major, "xvd");
	if (ret) {
		ret = register_blkdev(0, "xvd");
		if (ret < 0)
			return ret;
		blkfront_major = ret;
	}
	ret = pvio_register_frontend(&blkfront_driver);
	if (ret)
		unregister_blkdev(blkfront_major, "xvd");
	return ret;
}

static void __exit blkfront_exit(void)
{
	pvio_unregister_frontend(&blkfront_driver);
	unregister_blkdev(blkfront_major, "xvd");
}

module_init(blkfront_init);
module_exit(blkfront_exit);
MODULE_DESCRIPTION("pvio paravirtual block frontend");
MODULE_LICENSE("GPL");
