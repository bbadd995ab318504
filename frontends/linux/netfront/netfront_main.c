// SPDX-License-Identifier: GPL-2.0
/*
 * pvio_netfront: the guest network frontend. A frontend driver for
 * "vif" devices of the pvio bus; each becomes a net_device whose MAC and
 * MTU come from the store. This file holds the control plane: probe and
 * remove, the net_device operations and the xenbus state machine
 * (features, rings and event channels published for the backend,
 * reconnection after a backend restart, carrier off when it goes away).
 */
#include <linux/module.h>
#include <linux/etherdevice.h>
#include <linux/rtnetlink.h>
#include <linux/slab.h>
#include <net/tcp.h>
#include "netfront.h"

static unsigned int max_queues;
module_param(max_queues, uint, 0444);
MODULE_PARM_DESC(max_queues,
		 "queues per vif (default: online CPUs, at most 8 and what the backend offers)");

/* ---- store helpers ---- */

static unsigned long long nf_read(struct netfront_info *info, bool backend,
				  const char *key, unsigned long long def)
{
	struct pvio_device *pdev = info->pdev;
	char path[192];

	snprintf(path, sizeof(path), "%s/%s",
		 backend ? pdev->otherend : pdev->nodename, key);
	return pvio_store_read_ull(path, def);
}

/* Our device directory still exists (the toolstack removes it last). */
static bool nf_dir_exists(struct netfront_info *info)
{
	char path[192];
	char *s;

	snprintf(path, sizeof(path), "%s/backend-id", info->pdev->nodename);
	s = pvio_store_read(path, NULL);
	if (IS_ERR(s))
		return false;
	kfree(s);
	return true;
}

/*
 * Switch state, but never recreate a directory the toolstack removed:
 * @seen says we just read it, else it is looked at first.
 */
static void nf_switch_seen(struct netfront_info *info,
			   enum pvio_bus_state s, bool seen)
{
	struct pvio_device *pdev = info->pdev;

	if (pdev->state == s)
		return;
	if (!seen && !nf_dir_exists(info)) {
		pdev->state = s;
		return;
	}
	if (pvio_bus_switch_state(pdev, s))
		netdev_warn(info->netdev, "cannot write state %d\n", s);
}

static void nf_switch(struct netfront_info *info, enum pvio_bus_state s)
{
	nf_switch_seen(info, s, false);
}

/* The old host's queues, once the new ones run. */
static void nf_retire_work(struct work_struct *w)
{
	struct netfront_info *info = container_of(w, struct netfront_info,
						  retire_work);

	rtnl_lock();
	netfront_queues_free_retired(info);
	rtnl_unlock();
}

/* ---- net_device operations ---- */

static int netfront_open(struct net_device *dev)
{
	struct netfront_info *info = netdev_priv(dev);
	unsigned int i;

	if (info->connected)
		for (i = 0; i < info->nr_queues; i++)
			netfront_queue_start(&info->queues[i]);
	netif_tx_start_all_queues(dev);
	return 0;
}

static int netfront_close(struct net_device *dev)
{
	struct netfront_info *info = netdev_priv(dev);
	unsigned int i;

	netif_tx_stop_all_queues(dev);
	for (i = 0; i < info->nr_queues; i++)
		netfront_queue_stop(&info->queues[i]);
	return 0;
}

static netdev_features_t netfront_fix_features(struct net_device *dev,
					       netdev_features_t features)
{
	struct netfront_info *info = netdev_priv(dev);

	/* only what the backend accepts on its tx side */
	if (!info->be_sg)
		features &= ~NETIF_F_SG;
	if (!info->be_gso4)
		features &= ~NETIF_F_TSO;
	if (!info->be_gso6)
		features &= ~NETIF_F_TSO6;
	if (!info->be_ipv6_csum)
		features &= ~(NETIF_F_IPV6_CSUM | NETIF_F_TSO6);
	return features;
}

static int netfront_change_mtu(struct net_device *dev, int mtu)
{
	dev->mtu = mtu;
	return 0;
}

static const struct net_device_ops netfront_netdev_ops = {
	.ndo_open = netfront_open,
	.ndo_stop = netfront_close,
	.ndo_start_xmit = netfront_start_xmit,
	.ndo_get_stats64 = netfront_get_stats64,
	.ndo_fix_features = netfront_fix_features,
	.ndo_change_mtu = netfront_change_mtu,
	.ndo_set_mac_address = eth_mac_addr,
	.ndo_validate_addr = eth_validate_addr,
};

/* ---- connection ---- */

/* A queue's keys, at most 4, into @b. */
static int nf_write_queue_keys(struct netfront_info *info,
			       struct pvio_store_batch *b,
			       struct netfront_queue *q)
{
	const char *node = info->pdev->nodename;
	char dir[192];

	if (info->nr_queues == 1)
		strscpy(dir, node, sizeof(dir));
	else if (snprintf(dir, sizeof(dir), "%s/queue-%u", node, q->id) >=
		 sizeof(dir))
		return -ENAMETOOLONG;
	pvio_store_batch_printf(b, dir, "tx-ring-ref", "%u", q->tx_ring_gref);
	pvio_store_batch_printf(b, dir, "rx-ring-ref", "%u", q->rx_ring_gref);
	if (q->rx_port != q->tx_port) {
		pvio_store_batch_printf(b, dir, "event-channel-tx", "%u",
					q->tx_port);
		pvio_store_batch_printf(b, dir, "event-channel-rx", "%u",
					q->rx_port);
	} else {
		pvio_store_batch_printf(b, dir, "event-channel", "%u",
					q->tx_port);
	}
	return 0;
}

/* Our keys, then every queue's, a round trip per batch of them. */
static int nf_publish(struct netfront_info *info, unsigned int n)
{
	static const char *const ours[] = {
		"request-rx-copy", "feature-rx-notify", "feature-sg",
		"feature-gso-tcpv4", "feature-gso-tcpv6",
		"feature-ipv6-csum-offload",
	};
	const char *node = info->pdev->nodename;
	struct pvio_store_batch *b = pvio_store_batch_alloc();
	unsigned int i;
	int ret = 0;

	if (!b)
		return -ENOMEM;
	for (i = 0; i < n && !ret; i++)
		ret = pvio_store_batch_room(b, 4) ?:
		      nf_write_queue_keys(info, b, &info->queues[i]);
	if (!ret)
		ret = pvio_store_batch_room(b, ARRAY_SIZE(ours) + 2);
	if (!ret) {
		if (n > 1)
			pvio_store_batch_printf(b, node,
						"multi-queue-num-queues",
						"%u", n);
		for (i = 0; i < ARRAY_SIZE(ours); i++)
			pvio_store_batch_printf(b, node, ours[i], "1");
		pvio_store_batch_printf(b, node, "feature-no-csum-offload",
					"0");
		ret = pvio_store_batch_run(b);
	}
	pvio_store_batch_release(b);
	return ret;
}

/*
 * The backend is in InitWait: read what it offers, build the queues and
 * publish them. Our receive side accepts everything netif can carry (SG,
 * GSO v4/v6, partial checksums), so those keys are always 1.
 */
static int nf_connect(struct netfront_info *info)
{
	static const char *const keys[] = {
		"feature-rx-copy", "feature-sg", "feature-gso-tcpv4",
		"feature-gso-tcpv6", "feature-ipv6-csum-offload",
		"feature-split-event-channels", "multi-queue-max-queues",
	};
	enum { RX_COPY, SG, GSO4, GSO6, IPV6_CSUM, SPLIT, MAX_QUEUES };
	struct pvio_store_batch *b = pvio_store_batch_alloc();
	int idx[ARRAY_SIZE(keys)], self;
	unsigned int n, i;
	int ret;

	if (!b)
		return -ENOMEM;
	/* the backend's offer in one round trip */
	for (i = 0; i < ARRAY_SIZE(keys); i++)
		idx[i] = pvio_store_batch_read(b, info->pdev->otherend,
					       keys[i]);
	/* and whether our own dir is still there, for the state we write */
	self = pvio_store_batch_read(b, info->pdev->nodename, "backend-id");
	ret = pvio_store_batch_run(b);
	info->dir_seen = pvio_store_batch_str(b, self) != NULL;
	if (!ret && pvio_store_batch_ull(b, idx[RX_COPY], 0) != 1) {
		netdev_err(info->netdev, "backend lacks feature-rx-copy\n");
		ret = -EOPNOTSUPP;
	}
	info->be_sg = pvio_store_batch_ull(b, idx[SG], 0) == 1;
	info->be_gso4 = pvio_store_batch_ull(b, idx[GSO4], 0) == 1;
	info->be_gso6 = pvio_store_batch_ull(b, idx[GSO6], 0) == 1;
	info->be_ipv6_csum = pvio_store_batch_ull(b, idx[IPV6_CSUM], 0) == 1;
	info->be_split = pvio_store_batch_ull(b, idx[SPLIT], 0) == 1;
	info->be_max_queues = pvio_store_batch_ull(b, idx[MAX_QUEUES], 1);
	pvio_store_batch_release(b);
	if (ret)
		return ret;

	n = max_queues ? max_queues : num_online_cpus();
	n = min3(n, info->be_max_queues, (unsigned int)NETFRONT_MAX_QUEUES);
	n = max(n, 1u);

	rtnl_lock();
	ret = netfront_queues_create(info, n);
	if (!ret)
		netdev_update_features(info->netdev);
	rtnl_unlock();
	if (ret) {
		netdev_err(info->netdev, "cannot set up %u queues: %d\n", n,
			   ret);
		return ret;
	}

	ret = nf_publish(info, n);
	if (ret) {
		netdev_err(info->netdev, "cannot publish rings: %d\n", ret);
		rtnl_lock();
		netfront_queues_destroy(info);
		rtnl_unlock();
		return ret;
	}
	netdev_info(info->netdev, "%u queue%s, %s event channels, backend %s\n",
		    n, n > 1 ? "s" : "", info->be_split ? "split" : "shared",
		    info->pdev->otherend);
	return 0;
}

/* The backend is Connected: carrier on, traffic flows. */
static void nf_go_live(struct netfront_info *info)
{
	struct net_device *dev = info->netdev;
	unsigned int i;

	rtnl_lock();
	WRITE_ONCE(info->connected, true);
	if (netif_running(dev)) {
		for (i = 0; i < info->nr_queues; i++)
			netfront_queue_start(&info->queues[i]);
		netif_tx_wake_all_queues(dev);
	}
	netif_carrier_on(dev);
	rtnl_unlock();
}

/*
 * After a resume, once Connected: as Xen's netfront does when its
 * backend connects, tell the network our MAC is somewhere new
 * (gratuitous ARP, unsolicited neighbour advertisements). The
 * announcement leaves first; sending it also sends what the stack queued
 * while we were away, which can take a TCG guest tens of milliseconds.
 */
static void nf_announce(struct netfront_info *info)
{
	if (!info->announce)
		return;
	info->announce = false;
	rtnl_lock();
	__netdev_notify_peers(info->netdev);
	rtnl_unlock();
}

static void nf_disconnect(struct netfront_info *info)
{
	rtnl_lock();
	netfront_queues_destroy(info);
	if (!info->suspended)
		netif_carrier_off(info->netdev);
	rtnl_unlock();
}

/*
 * The backend's state is @be, read under info->lock (held here): never a
 * state older than our own last step.
 */
static void nf_follow(struct netfront_info *info, enum pvio_bus_state be)
{
	struct pvio_device *pdev = info->pdev;

	switch (be) {
	case PVIO_STATE_INIT_WAIT:
		if (pdev->state == PVIO_STATE_INITIALISED)
			break;	/* it has not seen our keys yet */
		if (info->queues) {
			/* a backend that started over without closing */
			nf_disconnect(info);
			info->reconnects++;
		}
		if (nf_connect(info)) {
			nf_switch(info, PVIO_STATE_CLOSING);
			break;
		}
		nf_switch_seen(info, PVIO_STATE_INITIALISED, info->dir_seen);
		break;
	case PVIO_STATE_CONNECTED:
		if (pdev->state != PVIO_STATE_INITIALISED || !info->queues)
			break;
		nf_go_live(info);
		nf_switch_seen(info, PVIO_STATE_CONNECTED, info->dir_seen);
		nf_announce(info);
		netdev_info(info->netdev, "connected\n");
		if (info->retired)
			schedule_work(&info->retire_work);
		break;
	case PVIO_STATE_CLOSING:
		/* the backend leaves: stop, release, say we are closed */
		if (info->queues)
			nf_disconnect(info);
		nf_switch(info, PVIO_STATE_CLOSED);
		break;
	case PVIO_STATE_CLOSED:
		if (info->queues)
			nf_disconnect(info);
		if (pdev->state == PVIO_STATE_INITIALISING)
			break;
		/* still wanted: a backend restart; ready to start over */
		if (nf_read(info, true, "online", 0) == 1 &&
		    nf_dir_exists(info)) {
			nf_switch(info, PVIO_STATE_CLOSED);
			info->reconnects++;
			nf_switch(info, PVIO_STATE_INITIALISING);
		} else {
			nf_switch(info, PVIO_STATE_CLOSED);
		}
		break;
	case PVIO_STATE_UNKNOWN:
		/* the backend directory is gone */
		if (info->queues)
			nf_disconnect(info);
		break;
	default:
		break;
	}
}

static void nf_announce_work(struct work_struct *w)
{
	struct netfront_info *info = container_of(w, struct netfront_info,
						  announce_work);

	mutex_lock(&info->lock);
	if (!info->removing && !info->suspended && info->connected)
		nf_announce(info);
	mutex_unlock(&info->lock);
}

static void nf_state_work(struct work_struct *w)
{
	struct netfront_info *info = container_of(w, struct netfront_info,
						  state_work);

	mutex_lock(&info->lock);
	if (!info->removing && !info->suspended)
		nf_follow(info, pvio_bus_read_otherend_state(info->pdev));
	mutex_unlock(&info->lock);
}

/*
 * Not on the store's watch queue itself: connecting takes round trips
 * and CPU (buffers, grants), and every other device's watch events wait
 * behind a handler there (after a resume, the disk's Connected behind
 * this NIC's whole connection). The work reads the state: only the
 * latest one matters.
 */
static void netfront_otherend_changed(struct pvio_device *pdev)
{
	struct netfront_info *info = dev_get_drvdata(&pdev->dev);

	if (info)
		queue_work(system_highpri_wq, &info->state_work);
}

static int netfront_probe(struct pvio_device *pdev)
{
	struct net_device *dev;
	struct netfront_info *info;
	unsigned long long mtu;
	unsigned int i;
	char path[192];
	char *mac;
	u8 addr[ETH_ALEN];
	int ret;

	dev = alloc_etherdev_mq(sizeof(*info), NETFRONT_MAX_QUEUES);
	if (!dev)
		return -ENOMEM;
	info = netdev_priv(dev);
	info->netdev = dev;
	info->pdev = pdev;
	mutex_init(&info->lock);
	INIT_WORK(&info->retire_work, nf_retire_work);
	INIT_WORK(&info->state_work, nf_state_work);
	INIT_WORK(&info->announce_work, nf_announce_work);
	for (i = 0; i < NETFRONT_MAX_QUEUES; i++) {
		u64_stats_init(&info->stats[i].tx.syncp);
		u64_stats_init(&info->stats[i].rx.syncp);
	}

	snprintf(path, sizeof(path), "%s/mac", pdev->nodename);
	mac = pvio_store_read(path, NULL);
	if (!IS_ERR(mac) && mac_pton(mac, addr) && is_valid_ether_addr(addr)) {
		eth_hw_addr_set(dev, addr);
	} else {
		dev_warn(&pdev->dev, "no valid mac in %s: random address\n",
			 path);
		eth_hw_addr_random(dev);
	}
	if (!IS_ERR(mac))
		kfree(mac);

	dev->netdev_ops = &netfront_netdev_ops;
	dev->hw_features = NETIF_F_SG | NETIF_F_IP_CSUM | NETIF_F_IPV6_CSUM |
			   NETIF_F_TSO | NETIF_F_TSO6 | NETIF_F_RXCSUM;
	dev->features = dev->hw_features;
	dev->min_mtu = ETH_MIN_MTU;
	dev->max_mtu = PVIO_NETIF_MAX_MTU;
	mtu = nf_read(info, false, "mtu", 0);
	if (!mtu)
		mtu = nf_read(info, true, "mtu", ETH_DATA_LEN);
	if (mtu >= ETH_MIN_MTU && mtu <= PVIO_NETIF_MAX_MTU)
		dev->mtu = mtu;
	/* a GSO packet plus headers must fit netif's 16-bit size */
	netif_set_tso_max_size(dev, XEN_NETIF_MAX_TX_SIZE - MAX_TCP_HEADER);
	SET_NETDEV_DEV(dev, &pdev->dev);
	dev_set_drvdata(&pdev->dev, info);
	netif_carrier_off(dev);

	ret = register_netdev(dev);
	if (ret) {
		dev_err(&pdev->dev, "cannot register net device: %d\n", ret);
		dev_set_drvdata(&pdev->dev, NULL);
		free_netdev(dev);
		return ret;
	}
	netdev_info(dev, "vif %u, mac %pM, mtu %u\n", pdev->devid,
		    dev->dev_addr, dev->mtu);
	pdev->state = PVIO_STATE_UNKNOWN;
	nf_switch(info, PVIO_STATE_INITIALISING);
	return 0;
}

#define NF_CLOSE_WAIT_MS	5000

/* Tell a live backend we go, and give it a moment to unmap our rings. */
static void nf_close_backend(struct netfront_info *info)
{
	if (info->pdev->state != PVIO_STATE_INITIALISED &&
	    info->pdev->state != PVIO_STATE_CONNECTED)
		return;
	nf_switch(info, PVIO_STATE_CLOSING);
	pvio_bus_wait_otherend_gone(info->pdev, NF_CLOSE_WAIT_MS);
}

static void netfront_remove(struct pvio_device *pdev)
{
	struct netfront_info *info = dev_get_drvdata(&pdev->dev);

	if (!info)
		return;
	mutex_lock(&info->lock);
	info->removing = true;
	nf_close_backend(info);
	if (info->queues)
		nf_disconnect(info);
	mutex_unlock(&info->lock);
	/* the bus stopped the watch: nothing queues it again */
	cancel_work_sync(&info->state_work);
	cancel_work_sync(&info->announce_work);
	cancel_work_sync(&info->retire_work);
	rtnl_lock();
	netfront_queues_free_retired(info);
	rtnl_unlock();
	unregister_netdev(info->netdev);
	nf_switch(info, PVIO_STATE_CLOSED);
	dev_set_drvdata(&pdev->dev, NULL);
	free_netdev(info->netdev);
}

/*
 * Save or migration, as a Xen frontend does it: stop sending and let go
 * of the event channels, nothing more (no store round trip, no wait for
 * the backend: the toolstack closes the connection on our behalf once we
 * are suspended). The resume frees the old rings and connects anew.
 * Packets in flight are lost, as on a wire; TCP sends them again.
 */
static int netfront_suspend(struct pvio_device *pdev)
{
	struct netfront_info *info = dev_get_drvdata(&pdev->dev);

	if (!info)
		return 0;
	mutex_lock(&info->lock);
	info->suspended = true;
	rtnl_lock();
	netfront_queues_detach(info);
	rtnl_unlock();
	mutex_unlock(&info->lock);
	netdev_info(info->netdev, "suspended\n");
	return 0;
}

static void netfront_resume(struct pvio_device *pdev, bool new_host)
{
	struct netfront_info *info = dev_get_drvdata(&pdev->dev);
	enum pvio_bus_state be = PVIO_STATE_UNKNOWN;
	bool looked = false;
	int ret;

	if (!info)
		return;
	mutex_lock(&info->lock);
	/*
	 * A new host whose backend took over our rings where they were (the
	 * toolstack carried the connection and wrote Initialised for us):
	 * events again, and on its Connected traffic flows on the same rings.
	 */
	if (new_host && netfront_queues_kept(info)) {
		rtnl_lock();
		ret = netfront_queues_reattach(info);
		rtnl_unlock();
		if (!ret) {
			info->suspended = false;
			info->announce = true;
			info->reconnects++;
			/*
			 * Its backend is Connected to these rings (hv says our
			 * ports are its): Connected in our dir (the toolstack
			 * wrote Initialised) tells who waits, and traffic flows
			 * at once. Starting the queues sends and takes what
			 * the stack and the backend queued meanwhile, which
			 * takes a TCG guest tens of milliseconds: that is the
			 * link at work, after the connection is back. The
			 * announcement from a work item, so that the other
			 * devices' resume does not wait behind it.
			 */
			pdev->state = PVIO_STATE_INITIALISED;	/* as written */
			nf_switch_seen(info, PVIO_STATE_CONNECTED, true);
			nf_go_live(info);
			netdev_info(info->netdev, "resumed on the rings a backend here took over\n");
			mutex_unlock(&info->lock);
			schedule_work(&info->announce_work);
			return;
		}
	}
	/*
	 * The old backend let go of the rings (the link stays up meanwhile);
	 * on the same host after a suspend cancelled before the toolstack
	 * closed the connection, we ask it ourselves first.
	 */
	if (info->queues) {
		if (!new_host && !pvio_bus_otherend_gone(pdev))
			nf_close_backend(info);
		rtnl_lock();
		if (new_host)
			netfront_queues_forget_ports(info);
		netfront_queues_retire(info);
		rtnl_unlock();
	}
	info->suspended = false;
	info->announce = true;
	info->reconnects++;
	if (pdev->state != PVIO_STATE_INITIALISING) {
		/*
		 * Our dir was read by the bus a moment ago: say Initialising
		 * and look at the backend in one round trip. A backend already
		 * waiting will not change state again.
		 */
		if (pvio_bus_switch_state_read(pdev, PVIO_STATE_INITIALISING,
					       &be))
			netdev_warn(info->netdev, "cannot write state %d\n",
				    PVIO_STATE_INITIALISING);
		else
			looked = true;
	}
	if (!looked)
		be = pvio_bus_read_otherend_state(pdev);
	/* a backend waiting already: connect now (else its event will) */
	if (be == PVIO_STATE_INIT_WAIT)
		nf_follow(info, be);
	mutex_unlock(&info->lock);
}

/*
 * The store asked for a reconnection: it restarted, or we were moved to
 * another host while we ran (our connection taken over there as it was,
 * no suspend, no resume). Say where our MAC is now, as after a resume;
 * once more after a store restart is harmless.
 */
static void netfront_store_reconnected(struct pvio_device *pdev)
{
	struct netfront_info *info = dev_get_drvdata(&pdev->dev);

	mutex_lock(&info->lock);
	if (!info->removing) {
		info->announce = true;
		schedule_work(&info->announce_work);
	}
	mutex_unlock(&info->lock);
}

static struct pvio_frontend_driver netfront_driver = {
	.type = "vif",
	.probe = netfront_probe,
	.remove = netfront_remove,
	.otherend_changed = netfront_otherend_changed,
	.suspend = netfront_suspend,
	.resume = netfront_resume,
	.store_reconnected = netfront_store_reconnected,
};

static int __init netfront_init(void)
{
	return pvio_register_frontend(&netfront_driver);
}

static void __exit netfront_exit(void)
{
	pvio_unregister_frontend(&netfront_driver);
}

module_init(netfront_init);
module_exit(netfront_exit);
MODULE_DESCRIPTION("pvio network frontend");
MODULE_LICENSE("GPL");
