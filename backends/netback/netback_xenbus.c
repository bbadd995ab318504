/*
 * netback control plane: finds vifs under /local/domain/0/backend/vif,
 * creates their TAP, advertises features and follows each frontend through
 * the xenbus handshake (connect, close, restart, detach). Main thread only.
 */
#include <errno.h>
#include <inttypes.h>
#include <linux/if_tun.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "netback.h"
#include "pvio/netfront.h"

#define NETBACK_VIF_ROOT	"/local/domain/0/backend/vif"
#define NETBACK_CLOSE_TIMEOUT_MS 5000

/* Queue an event for the main thread (nb->lock held). */
static void event_add_locked(struct netback *nb, long dom, long dev)
{
	struct netback_event *e;

	if (nb->rescan_all)
		return;
	for (e = nb->events; e; e = e->next)
		if (e->dom == dom && (e->dev == dev || e->dev < 0))
			return;		/* already covered */
	e = dom < 0 ? NULL : malloc(sizeof(*e));
	if (!e) {
		nb->rescan_all = true;	/* everything (or no memory) */
		return;
	}
	e->dom = dom;
	e->dev = dev;
	e->next = nb->events;
	nb->events = e;
}

static bool parse_id(const char *s, unsigned long max, unsigned long *out);

void netback_vif_changed(struct netback_vif *vif)
{
	struct netback *nb = vif->nb;
	uint64_t one = 1;

	pthread_mutex_lock(&nb->lock);
	event_add_locked(nb, vif->domid, vif->devid);
	pthread_mutex_unlock(&nb->lock);
	if (write(nb->wake_fd, &one, sizeof(one)) < 0)
		perror("netback: wake");
}

/*
 * Watches say what changed: backend/vif[/D[/V[/key]]] (token "vif"), a
 * frontend dir (token "fe:D:V"), @releaseDomain (token "release"). The
 * main thread then looks at that vif or that domain's dir only.
 */
void netback_watch_cb(struct xs_handle *h, const char *path, const char *token,
		      void *arg)
{
	struct netback *nb = arg;
	unsigned long dom, dev;
	long d = -1, v = -1;
	uint64_t one = 1;
	char buf[96], *p, *q;

	if (!strncmp(token, "fe:", 3)) {
		if (sscanf(token + 3, "%lu:%lu", &dom, &dev) == 2) {
			d = (long)dom;
			v = (long)dev;
		}
	} else if (!strncmp(path, NETBACK_VIF_ROOT "/", strlen(NETBACK_VIF_ROOT) + 1)) {
		snprintf(buf, sizeof(buf), "%s", path + strlen(NETBACK_VIF_ROOT) + 1);
		p = strtok_r(buf, "/", &q);
		if (p && parse_id(p, PVIO_DOMID_FIRST_RESERVED - 1, &dom)) {
			d = (long)dom;
			p = strtok_r(NULL, "/", &q);
			if (p && parse_id(p, 65535, &dev))
				v = (long)dev;
			else if (p)
				d = -1;
		}
	}
	pthread_mutex_lock(&nb->lock);
	if (!strcmp(token, "release"))
		nb->released = true;
	else
		event_add_locked(nb, d, v);
	pthread_mutex_unlock(&nb->lock);
	if (write(nb->wake_fd, &one, sizeof(one)) < 0)
		perror("netback: wake");
}

static uint64_t now_ms(void)
{
	return netback_now_ns() / 1000000ull;
}

static void vif_switch(struct netback_vif *vif, enum xenbus_state s)
{
	int ret;

	if (vif->state == s)
		return;
	ret = xenbus_switch_state(vif->nb->xs, vif->bedir, s);
	if (ret && ret != -ENOENT)
		fprintf(stderr, "netback: %s: cannot switch to %s: %s\n",
			vif->bedir, xenbus_state_name(s), strerror(-ret));
	vif->state = s;
}

static int read_str(struct netback_vif *vif, const char *dir, const char *key,
		    char *out, size_t size)
{
	char path[192], *val = NULL;
	size_t len;
	int ret;

	if (snprintf(path, sizeof(path), "%s/%s", dir, key) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	ret = xs_read(vif->nb->xs, XS_TXN_NULL, path, &val, &len);
	if (ret)
		return ret;
	if (len >= size) {
		free(val);
		return -E2BIG;
	}
	memcpy(out, val, len + 1);
	free(val);
	return 0;
}

static long long read_int(struct netback_vif *vif, const char *dir,
			  const char *key, long long def)
{
	char path[192];
	long long v;

	if (snprintf(path, sizeof(path), "%s/%s", dir, key) >= (int)sizeof(path))
		return def;
	if (xs_read_int(vif->nb->xs, XS_TXN_NULL, path, &v))
		return def;
	return v;
}

/* Keys of the backend dir: a number, or a string when @s is set. */
struct be_key {
	char key[64];
	const char *s;
	unsigned long long v;
};

struct be_keys_arg {
	struct netback_vif *vif;
	const struct be_key *k;
	unsigned int n;
};

/*
 * The toolstack may remove the vif's dir at any moment (detach, destroy):
 * the keys go in one transaction that first checks the dir is still there,
 * so that a removed vif is never recreated (statistics included).
 */
static int be_keys_txn(struct xs_handle *h, xs_transaction_t t, void *arg)
{
	struct be_keys_arg *a = arg;
	char path[192];
	int rc;

	snprintf(path, sizeof(path), "%s/frontend-id", a->vif->bedir);
	rc = xs_read(h, t, path, NULL, NULL);
	for (unsigned int i = 0; !rc && i < a->n; i++) {
		if (snprintf(path, sizeof(path), "%s/%s", a->vif->bedir,
			     a->k[i].key) >= (int)sizeof(path))
			continue;
		if (a->k[i].s)
			rc = xs_printf(h, t, path, "%s", a->k[i].s);
		else
			rc = xs_printf(h, t, path, "%llu", a->k[i].v);
	}
	return rc;
}

static void write_keys(struct netback_vif *vif, const struct be_key *k,
		       unsigned int n)
{
	struct be_keys_arg a = { vif, k, n };

	xs_transaction_run(vif->nb->xs, be_keys_txn, &a);
}

static bool ifname_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= 16)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || strchr("._-", *s)))
			return false;
	return true;
}

/* Read the toolstack's keys; 0 or -errno with a message. */
static int vif_read_config(struct netback_vif *vif)
{
	char rate[64];

	if (read_str(vif, vif->bedir, "vifname", vif->ifname,
		     sizeof(vif->ifname)) || !vif->ifname[0])
		snprintf(vif->ifname, sizeof(vif->ifname), "vif%u.%u",
			 vif->domid, vif->devid);
	if (!ifname_ok(vif->ifname)) {
		xenbus_dev_fatal(vif->nb->xs, vif->bedir, EINVAL,
				 "bad vifname '%s'", vif->ifname);
		return -EINVAL;
	}
	if (read_str(vif, vif->bedir, "bridge", vif->bridge,
		     sizeof(vif->bridge)) || !vif->bridge[0])
		strcpy(vif->bridge, "xenbr0");
	if (!ifname_ok(vif->bridge)) {
		xenbus_dev_fatal(vif->nb->xs, vif->bedir, EINVAL,
				 "bad bridge '%s'", vif->bridge);
		return -EINVAL;
	}
	if (read_str(vif, vif->bedir, "script", vif->script,
		     sizeof(vif->script)) || !vif->script[0])
		strcpy(vif->script, "vif-bridge");
	if (read_str(vif, vif->bedir, "mac", vif->mac, sizeof(vif->mac)))
		vif->mac[0] = 0;
	vif->mtu = (unsigned int)read_int(vif, vif->bedir, "mtu", 1500);
	if (vif->mtu < 68 || vif->mtu > PVIO_NETIF_MAX_MTU) {
		xenbus_dev_fatal(vif->nb->xs, vif->bedir, EINVAL,
				 "mtu %u out of range 68..%u", vif->mtu,
				 PVIO_NETIF_MAX_MTU);
		return -EINVAL;
	}
	vif->rate_bytes = 0;
	vif->rate_usec = 0;
	if (!read_str(vif, vif->bedir, "rate", rate, sizeof(rate)) && rate[0]) {
		unsigned long long b;
		unsigned int us;

		/* "BYTES,USECS": credit per replenish interval */
		if (sscanf(rate, "%llu,%u", &b, &us) != 2 || !b || !us) {
			xenbus_dev_fatal(vif->nb->xs, vif->bedir, EINVAL,
					 "bad rate '%s' (want BYTES,USECS)", rate);
			return -EINVAL;
		}
		vif->rate_bytes = b;
		vif->rate_usec = us;
	}
	return 0;
}

static struct netback_vif *vif_probe(struct netback *nb, uint16_t domid,
				     uint32_t devid)
{
	struct netback_vif *vif = calloc(1, sizeof(*vif));
	enum xenbus_state fe;
	int ret;

	if (!vif)
		return NULL;
	vif->nb = nb;
	vif->domid = domid;
	vif->devid = devid;
	vif->tap_fd0 = -1;
	vif->state = XenbusStateUnknown;
	for (unsigned int i = 0; i < NETBACK_MAX_QUEUES; i++) {
		vif->queues[i].stop_fd = -1;
		vif->queues[i].tap_fd = -1;
	}
	snprintf(vif->bedir, sizeof(vif->bedir), NETBACK_VIF_ROOT "/%u/%u",
		 domid, devid);
	/* the frontend lives where the protocol says, whatever a key claims */
	snprintf(vif->fedir, sizeof(vif->fedir),
		 "/local/domain/%u/device/vif/%u", domid, devid);
	snprintf(vif->token, sizeof(vif->token), "fe:%u:%u", domid, devid);
	vif->next = nb->vifs;
	nb->vifs = vif;

	if (vif_read_config(vif))
		return vif;	/* stays listed (and idle) until removed */
	ret = netback_tap_open(vif->ifname, vif->ifname, sizeof(vif->ifname));
	if (ret < 0) {
		xenbus_dev_fatal(nb->xs, vif->bedir, -ret,
				 "cannot create TAP device %s", vif->ifname);
		return vif;
	}
	vif->tap_fd0 = ret;
	if (netback_hotplug(vif, "online") == 0) {
		vif->hotplugged = true;
	} else {
		xenbus_dev_fatal(nb->xs, vif->bedir, EIO,
				 "hotplug script %s failed for %s on %s",
				 vif->script, vif->ifname, vif->bridge);
	}
	{
		const struct be_key k[] = {
			{ "hotplug-status", vif->hotplugged ? "connected" :
			  "error", 0 },
			{ "feature-sg", NULL, 1 },
			{ "feature-gso-tcpv4", NULL, 1 },
			{ "feature-gso-tcpv6", NULL, 1 },
			{ "feature-ipv6-csum-offload", NULL, 1 },
			{ "feature-rx-copy", NULL, 1 },
			{ "feature-rx-flip", NULL, 0 },
			{ "feature-split-event-channels", NULL, 1 },
			{ "feature-ctrl-ring", NULL, 0 },
			{ "multi-queue-max-queues", NULL, nb->max_queues },
		};

		write_keys(vif, k, sizeof(k) / sizeof(k[0]));
	}

	ret = xs_watch(nb->xs, vif->fedir, vif->token, netback_watch_cb, nb);
	if (ret)
		fprintf(stderr, "netback: cannot watch %s: %s\n", vif->fedir,
			strerror(-ret));

	fe = xenbus_read_state(nb->xs, vif->fedir);
	if (fe == XenbusStateInitialised || fe == XenbusStateConnected) {
		/*
		 * A frontend still connected to a previous instance of us (we
		 * were restarted): make it start over from Closed.
		 */
		vif->need_fe_reset = true;
		vif_switch(vif, XenbusStateClosed);
	} else {
		vif_switch(vif, XenbusStateInitWait);
	}
	fprintf(stderr, "netback: vif %u.%u: %s on %s, mtu %u%s\n", domid, devid,
		vif->ifname, vif->bridge, vif->mtu,
		vif->rate_bytes ? ", rate limited" : "");
	return vif;
}

static int queue_read_keys(struct netback_vif *vif, unsigned int qi,
			   uint32_t refs[2], uint32_t ports[2])
{
	char dir[160];
	long long tx, rx, ev, evtx, evrx;

	if (vif->nr_queues == 1)
		snprintf(dir, sizeof(dir), "%s", vif->fedir);
	else
		snprintf(dir, sizeof(dir), "%s/queue-%u", vif->fedir, qi);
	tx = read_int(vif, dir, "tx-ring-ref", -1);
	rx = read_int(vif, dir, "rx-ring-ref", -1);
	if (tx < 0 || rx < 0 || tx > UINT32_MAX || rx > UINT32_MAX) {
		xenbus_dev_fatal(vif->nb->xs, vif->bedir, EINVAL,
				 "%s: missing or bad tx-ring-ref/rx-ring-ref", dir);
		return -EINVAL;
	}
	evtx = read_int(vif, dir, "event-channel-tx", -1);
	evrx = read_int(vif, dir, "event-channel-rx", -1);
	if (evtx < 0 || evrx < 0) {
		ev = read_int(vif, dir, "event-channel", -1);
		evtx = evrx = ev;
	}
	if (evtx <= 0 || evrx <= 0 || evtx >= PVIO_EVTCHN_MAX_PORTS ||
	    evrx >= PVIO_EVTCHN_MAX_PORTS) {
		xenbus_dev_fatal(vif->nb->xs, vif->bedir, EINVAL,
				 "%s: missing or bad event-channel", dir);
		return -EINVAL;
	}
	refs[0] = (uint32_t)tx;
	refs[1] = (uint32_t)rx;
	ports[0] = (uint32_t)evtx;
	ports[1] = (uint32_t)evrx;
	return 0;
}

static void vif_disconnect(struct netback_vif *vif)
{
	struct pvio_hv *hv = vif->nb->hv;
	bool drained = vif->connected;
	uint64_t t0 = netback_now_ns();

	for (unsigned int i = 0; i < NETBACK_MAX_QUEUES; i++)
		netback_queue_stop(&vif->queues[i]);
	vif->stop_ns = netback_now_ns() - t0;
	for (unsigned int i = 0; i < NETBACK_MAX_QUEUES; i++) {
		struct netback_queue *q = &vif->queues[i];

		/* every slot taken answered: the rings can change hands */
		if (q->rings_mapped && (!pvio_back_drained(&q->tx) ||
					!pvio_back_drained(&q->rx)))
			drained = false;
		if (q->port_rx_bound && q->port_rx != q->port_tx)
			pvio_evtchn_close(hv, q->port_rx);
		if (q->port_tx_bound)
			pvio_evtchn_close(hv, q->port_tx);
		q->port_tx_bound = q->port_rx_bound = false;
		if (q->rings_mapped)
			pvio_gnttab_unmap(hv, q->ring_map, 2);
		q->rings_mapped = false;
		if (i > 0 && q->tap_fd >= 0)
			close(q->tap_fd);
		q->tap_fd = -1;
	}
	vif->let_go_ns = netback_now_ns() - t0;
	if (vif->tap_fd0 >= 0)
		netback_tap_set_offload(vif->tap_fd0, 0);
	if (vif->connected) {
		char path[300];

		snprintf(path, sizeof(path), "%s/drained", vif->bedir);
		xs_write(vif->nb->xs, XS_TXN_NULL, path, drained ? "1" : "0", 1);
		fprintf(stderr, "netback: %s disconnected%s\n", vif->ifname,
			drained ? "" : ", slots left unanswered");
	}
	vif->connected = false;
}

static int vif_connect(struct netback_vif *vif)
{
	struct netback *nb = vif->nb;
	long long nq;
	unsigned int tun = 0;
	int ret;

	if (vif->tap_fd0 < 0 || !vif->hotplugged)
		return -ENODEV;
	nq = read_int(vif, vif->fedir, "multi-queue-num-queues", 1);
	if (nq < 1 || nq > nb->max_queues) {
		xenbus_dev_fatal(nb->xs, vif->bedir, EINVAL,
				 "frontend asked for %lld queues (max %u)", nq,
				 nb->max_queues);
		return -EINVAL;
	}
	vif->nr_queues = (unsigned int)nq;
	if (read_int(vif, vif->fedir, "request-rx-copy", 0) != 1) {
		xenbus_dev_fatal(nb->xs, vif->bedir, EOPNOTSUPP,
				 "frontend does not request rx-copy");
		return -EOPNOTSUPP;
	}
	vif->fe_sg = read_int(vif, vif->fedir, "feature-sg", 0) == 1;
	vif->fe_gso4 = vif->fe_sg &&
		read_int(vif, vif->fedir, "feature-gso-tcpv4", 0) == 1;
	vif->fe_gso6 = vif->fe_sg &&
		read_int(vif, vif->fedir, "feature-gso-tcpv6", 0) == 1;
	vif->fe_csum = read_int(vif, vif->fedir, "feature-no-csum-offload", 0) != 1;
	vif->fe_ipv6_csum =
		read_int(vif, vif->fedir, "feature-ipv6-csum-offload", 0) == 1;

	for (unsigned int i = 0; i < vif->nr_queues; i++) {
		struct netback_queue *q = &vif->queues[i];
		uint32_t refs[2], ports[2];

		q->vif = vif;
		q->id = i;
		ret = queue_read_keys(vif, i, refs, ports);
		if (ret)
			goto fail;
		for (unsigned int r = 0; r < 2; r++)
			q->ring_map[r] = (struct pvio_gnt_map){
				.dom = vif->domid, .readonly = 0, .ref = refs[r] };
		ret = pvio_gnttab_map(nb->hv, q->ring_map, 2);
		if (!ret && (q->ring_map[0].status || q->ring_map[1].status)) {
			/* unmap whichever half succeeded */
			for (unsigned int r = 0; r < 2; r++)
				if (!q->ring_map[r].status)
					pvio_gnttab_unmap(nb->hv, &q->ring_map[r], 1);
			ret = -EACCES;
		}
		if (ret) {
			xenbus_dev_fatal(nb->xs, vif->bedir, -ret,
					 "cannot map rings of queue %u (refs %u/%u)",
					 i, refs[0], refs[1]);
			goto fail;
		}
		q->rings_mapped = true;
		pvio_back_ring_init(&q->tx, q->ring_map[0].addr,
				    netif_tx_ring_ents(PVIO_PAGE_SIZE));
		pvio_back_ring_init(&q->rx, q->ring_map[1].addr,
				    netif_rx_ring_ents(PVIO_PAGE_SIZE));
		ret = pvio_evtchn_bind_interdomain(nb->hv, vif->domid, ports[0],
						   &q->port_tx);
		if (ret)
			goto fail_evtchn;
		q->port_tx_bound = true;
		if (ports[1] != ports[0]) {
			ret = pvio_evtchn_bind_interdomain(nb->hv, vif->domid,
							   ports[1], &q->port_rx);
			if (ret)
				goto fail_evtchn;
			q->port_rx_bound = true;
		} else {
			q->port_rx = q->port_tx;
		}
		q->evfd_tx = pvio_evtchn_fd(nb->hv, q->port_tx);
		q->evfd_rx = pvio_evtchn_fd(nb->hv, q->port_rx);
		if (q->evfd_tx < 0 || q->evfd_rx < 0) {
			ret = q->evfd_tx < 0 ? q->evfd_tx : q->evfd_rx;
			goto fail_evtchn;
		}
		if (i == 0) {
			q->tap_fd = vif->tap_fd0;
		} else {
			ret = netback_tap_open(vif->ifname, NULL, 0);
			if (ret < 0) {
				xenbus_dev_fatal(nb->xs, vif->bedir, -ret,
						 "cannot open queue %u of %s", i,
						 vif->ifname);
				goto fail;
			}
			q->tap_fd = ret;
		}
	}
	/* what we may hand the frontend: only what it said it can take */
	if (vif->fe_csum) {
		tun |= TUN_F_CSUM;
		if (vif->fe_gso4)
			tun |= TUN_F_TSO4;
		if (vif->fe_gso6)
			tun |= TUN_F_TSO6;
	}
	ret = netback_tap_set_offload(vif->tap_fd0, tun);
	if (ret) {
		xenbus_dev_fatal(nb->xs, vif->bedir, -ret,
				 "cannot set offloads on %s", vif->ifname);
		goto fail;
	}
	atomic_store(&vif->fatal, false);
	for (unsigned int i = 0; i < vif->nr_queues; i++) {
		ret = netback_queue_start(&vif->queues[i]);
		if (ret)
			goto fail;
	}
	vif->connected = true;
	fprintf(stderr, "netback: %s connected: %u queue(s)%s%s%s%s\n",
		vif->ifname, vif->nr_queues, vif->fe_sg ? " sg" : "",
		vif->fe_gso4 ? " gso4" : "", vif->fe_gso6 ? " gso6" : "",
		vif->fe_csum ? " csum" : "");
	return 0;

fail_evtchn:
	xenbus_dev_fatal(nb->xs, vif->bedir, -ret,
			 "cannot bind event channels of the frontend");
fail:
	vif->connected = true;	/* so that disconnect logs nothing odd */
	vif_disconnect(vif);
	vif->connected = false;
	return ret;
}

/* Take the TAP off its bridge and delete it (idempotent). */
static void vif_unplug(struct netback_vif *vif)
{
	if (vif->hotplugged)
		netback_hotplug(vif, "offline");
	vif->hotplugged = false;
	if (vif->tap_fd0 >= 0)
		close(vif->tap_fd0);
	vif->tap_fd0 = -1;
}

void netback_vif_destroy(struct netback_vif *vif)
{
	struct netback *nb = vif->nb;
	struct netback_vif **p;

	vif_disconnect(vif);
	xs_unwatch(nb->xs, vif->fedir, vif->token);
	vif_unplug(vif);
	for (p = &nb->vifs; *p; p = &(*p)->next)
		if (*p == vif) {
			*p = vif->next;
			break;
		}
	fprintf(stderr, "netback: vif %u.%u (%s) removed\n", vif->domid,
		vif->devid, vif->ifname);
	free(vif);
	/* the queues' buffers lived in per-thread arenas: give them back */
	malloc_trim(0);
}

void netback_publish_stats(struct netback_vif *vif)
{
	struct netback_stats *st = &vif->stats;
	uint64_t cur[3] = { atomic_load(&st->tx_dropped),
			    atomic_load(&st->tx_packets),
			    atomic_load(&st->rx_packets) };

	if (!memcmp(cur, vif->stats_published, sizeof(cur)))
		return;
	memcpy(vif->stats_published, cur, sizeof(cur));
	{
		struct be_key k[7 + NETIF_TX_NR_ERR] = {
			{ "statistics/tx-packets", NULL, cur[1] },
			{ "statistics/tx-bytes", NULL, atomic_load(&st->tx_bytes) },
			{ "statistics/tx-dropped", NULL, cur[0] },
			{ "statistics/rx-packets", NULL, cur[2] },
			{ "statistics/rx-bytes", NULL, atomic_load(&st->rx_bytes) },
			{ "statistics/rx-dropped", NULL,
			  atomic_load(&st->rx_dropped) },
			{ "statistics/tx-host-dropped", NULL,
			  atomic_load(&st->tx_host_dropped) },
		};
		unsigned int n = 7;

		for (unsigned int e = 1; e < NETIF_TX_NR_ERR; e++) {
			uint64_t v = atomic_load(&st->tx_err[e]);

			if (!v)
				continue;
			snprintf(k[n].key, sizeof(k[n].key),
				 "statistics/tx-error-%s", netif_tx_err_name(e));
			k[n++].v = v;
		}
		write_keys(vif, k, n);
	}
}

/* Drive one vif a step towards what its frontend and toolstack want. */
static void vif_step(struct netback_vif *vif)
{
	struct netback *nb = vif->nb;
	/* no "online" key: the dir is going away, as good as offline */
	long long online = read_int(vif, vif->bedir, "online", 0);
	enum xenbus_state fe = xenbus_read_state(nb->xs, vif->fedir);
	long long pause;

	if (atomic_load(&vif->fatal) && vif->connected) {
		vif_disconnect(vif);
		xenbus_dev_fatal(nb->xs, vif->bedir, EPROTO, "%s", vif->fatal_msg);
		vif_switch(vif, XenbusStateClosing);
		vif->closing_since_ms = now_ms();
	}
	if (!online) {
		/* the toolstack is detaching: close the frontend, then Closed */
		if (vif->connected)
			vif_disconnect(vif);
		if (vif->state == XenbusStateClosed)
			return;
		if (fe == XenbusStateClosed || fe == XenbusStateUnknown ||
		    fe == XenbusStateInitialising || fe == XenbusStateInitWait ||
		    (vif->state == XenbusStateClosing &&
		     now_ms() - vif->closing_since_ms > NETBACK_CLOSE_TIMEOUT_MS)) {
			/* Closed tells the toolstack the TAP is already gone */
			vif_unplug(vif);
			vif_switch(vif, XenbusStateClosed);
		} else if (vif->state != XenbusStateClosing) {
			vif_switch(vif, XenbusStateClosing);
			vif->closing_since_ms = now_ms();
		}
		return;
	}
	/*
	 * A live migration holds the connection still while the guest is
	 * stopped (pause = 1): let go of the rings, every slot answered
	 * (drained), with no state change the guest could see; what comes
	 * from the bridge meanwhile waits in the TAP's queue. pause = 0 (the
	 * move given up): connect to the rings again where we left them.
	 * Paused with no pause key (our dir going away): stay so.
	 */
	pause = read_int(vif, vif->bedir, "pause", -1);
	if (pause == 1) {
		if (vif->connected && vif->state == XenbusStateConnected) {
			uint64_t t0 = netback_now_ns();
			char path[300];

			vif_disconnect(vif);
			vif->paused = true;
			snprintf(path, sizeof(path), "%s/paused", vif->bedir);
			xs_write(nb->xs, XS_TXN_NULL, path, "1", 1);
			fprintf(stderr, "netback: %s paused for a migration (in %llu us: its queues stopped after %llu, rings and ports let go after %llu)\n",
				vif->ifname,
				(unsigned long long)(netback_now_ns() - t0) / 1000,
				(unsigned long long)vif->stop_ns / 1000,
				(unsigned long long)vif->let_go_ns / 1000);
		}
		return;
	}
	if (vif->paused && pause != 0)
		return;
	if (vif->paused) {
		char path[300];

		vif->paused = false;
		snprintf(path, sizeof(path), "%s/paused", vif->bedir);
		xs_rm(nb->xs, XS_TXN_NULL, path);
		if (vif_connect(vif)) {
			vif_switch(vif, XenbusStateClosing);
			vif->closing_since_ms = now_ms();
		} else {
			fprintf(stderr, "netback: %s connected again after a pause\n",
				vif->ifname);
		}
		return;
	}
	switch (fe) {
	case XenbusStateUnknown:
	case XenbusStateInitialising:
	case XenbusStateInitWait:
		/* a frontend (re)starting: offer ourselves again */
		if (vif->connected)
			vif_disconnect(vif);
		vif->need_fe_reset = false;
		atomic_store(&vif->fatal, false);
		if (vif->tap_fd0 >= 0 && vif->hotplugged)
			vif_switch(vif, XenbusStateInitWait);
		break;
	case XenbusStateInitialised:
	case XenbusStateConnected:
		if (vif->need_fe_reset || atomic_load(&vif->fatal) ||
		    vif->state == XenbusStateClosing ||
		    vif->state == XenbusStateClosed)
			break;	/* wait for the frontend to start over */
		if (!vif->connected) {
			if (vif_connect(vif)) {
				vif_switch(vif, XenbusStateClosing);
				vif->closing_since_ms = now_ms();
				break;
			}
		}
		vif_switch(vif, XenbusStateConnected);
		break;
	case XenbusStateClosing:
		if (vif->connected)
			vif_disconnect(vif);
		if (vif->state != XenbusStateClosed)
			vif_switch(vif, XenbusStateClosing);
		break;
	case XenbusStateClosed:
	default:
		if (vif->connected)
			vif_disconnect(vif);
		vif->need_fe_reset = false;
		vif_switch(vif, XenbusStateClosed);
		break;
	}
}

static struct netback_vif *vif_find(struct netback *nb, uint16_t domid,
				    uint32_t devid)
{
	for (struct netback_vif *v = nb->vifs; v; v = v->next)
		if (v->domid == domid && v->devid == devid)
			return v;
	return NULL;
}

static bool parse_id(const char *s, unsigned long max, unsigned long *out)
{
	char *end;

	if (!*s || *s == '-' || *s == '+')
		return false;
	errno = 0;
	*out = strtoul(s, &end, 10);
	return !errno && !*end && *out <= max;
}

/* Is @dir/@dev a vif (its frontend-id written)? 1, 0 (no), -ENOENT (gone). */
static int vif_listed(struct netback *nb, unsigned long domid,
		      unsigned long devid)
{
	char spath[160], *val = NULL;
	int rc;

	/*
	 * The toolstack writes frontend-id in the same transaction as the
	 * rest: a dir without it is being created or removed (or is a stray
	 * node), not a vif.
	 */
	snprintf(spath, sizeof(spath), NETBACK_VIF_ROOT "/%lu/%lu/frontend-id",
		 domid, devid);
	rc = xs_read(nb->xs, XS_TXN_NULL, spath, &val, NULL);
	free(val);
	return rc ? 0 : 1;
}

/* One vif changed: probe it, step it, or drop it if it is gone. */
static void look_at_vif(struct netback *nb, unsigned long domid,
			unsigned long devid)
{
	struct netback_vif *v = vif_find(nb, (uint16_t)domid,
					 (uint32_t)devid);

	if (!vif_listed(nb, domid, devid)) {
		if (v)
			netback_vif_destroy(v);
		return;
	}
	if (!v) {
		v = vif_probe(nb, (uint16_t)domid, (uint32_t)devid);
		if (!v)
			return;
	}
	vif_step(v);
}

/* A domain's dir changed (@domid < 0: every domain): match the vifs. */
static void look_at_dir(struct netback *nb, long domid)
{
	char **names = NULL;
	unsigned int n = 0;
	struct netback_vif *v, *next;
	unsigned long id;
	char path[128];

	for (v = nb->vifs; v; v = v->next)
		v->listed = domid >= 0 && v->domid != domid;
	if (domid < 0) {
		if (xs_directory(nb->xs, XS_TXN_NULL, NETBACK_VIF_ROOT, &names, &n))
			n = 0;
		for (unsigned int i = 0; i < n; i++) {
			if (!parse_id(names[i], PVIO_DOMID_FIRST_RESERVED - 1, &id) ||
			    id == 0)
				continue;
			look_at_dir(nb, (long)id);
			/* keep the vifs found so far */
			for (v = nb->vifs; v; v = v->next)
				if (v->domid == id)
					v->marked = v->listed;
		}
		if (names)
			xs_free_list(names, n);
		for (v = nb->vifs; v; v = next) {
			next = v->next;
			if (!v->marked)
				netback_vif_destroy(v);
			else
				v->marked = false;
		}
		return;
	}
	snprintf(path, sizeof(path), NETBACK_VIF_ROOT "/%ld", domid);
	if (xs_directory(nb->xs, XS_TXN_NULL, path, &names, &n))
		n = 0;
	for (unsigned int j = 0; j < n; j++) {
		unsigned long devid;

		if (!parse_id(names[j], 65535, &devid) ||
		    !vif_listed(nb, (unsigned long)domid, devid))
			continue;
		v = vif_find(nb, (uint16_t)domid, (uint32_t)devid);
		if (!v)
			v = vif_probe(nb, (uint16_t)domid, (uint32_t)devid);
		if (v) {
			v->listed = true;
			vif_step(v);
		}
	}
	if (names)
		xs_free_list(names, n);
	for (v = nb->vifs; v; v = next) {
		next = v->next;
		if (!v->listed)
			netback_vif_destroy(v);
	}
}

/*
 * @releaseDomain: vifs whose frontend domain died let go of its rings at
 * once; then the views of dead domains' memory nothing maps any more go.
 */
static void domains_released(struct netback *nb)
{
	struct pvio_domain_info *info;
	unsigned int n;

	if (pvio_domain_list(nb->hv, &info, &n) < 0)
		return;
	for (struct netback_vif *v = nb->vifs; v; v = v->next) {
		bool closing = !v->connected && v->state == XenbusStateClosing;

		if (!(v->connected || closing) ||
		    !pvio_domain_gone(nb->hv, info, n, v->domid))
			continue;
		fprintf(stderr, "netback: vif %u.%u: frontend domain is gone\n",
			v->domid, v->devid);
		if (closing) {
			/*
			 * Detached just before the domain died: nobody will
			 * answer our Closing; Closed now, not after the
			 * close timeout (the TAP goes first, as on detach).
			 */
			vif_unplug(v);
		} else {
			vif_disconnect(v);
		}
		vif_switch(v, XenbusStateClosed);
	}
	free(info);
	pvio_hv_forget_dead(nb->hv);
}

void netback_handle_events(struct netback *nb)
{
	struct netback_event *list, *e;
	bool all, released;

	pthread_mutex_lock(&nb->lock);
	list = nb->events;
	nb->events = NULL;
	all = nb->rescan_all;
	nb->rescan_all = false;
	released = nb->released;
	nb->released = false;
	pthread_mutex_unlock(&nb->lock);
	if (all)
		look_at_dir(nb, -1);
	for (e = list; e; e = list) {
		list = e->next;
		if (all)
			;	/* covered */
		else if (e->dev < 0)
			look_at_dir(nb, e->dom);
		else
			look_at_vif(nb, (unsigned long)e->dom,
				    (unsigned long)e->dev);
		free(e);
	}
	if (released)
		domains_released(nb);
}

void netback_tick(struct netback *nb)
{
	for (struct netback_vif *v = nb->vifs; v; v = v->next)
		if (v->state == XenbusStateClosing)
			vif_step(v);
}
