/*
 * pvio-netfront-tap: a process domain that exposes its vif as a TAP device
 * (optionally inside a network namespace), so that ordinary programs there
 * talk over the pvio path. Offloads pass between the TAP's vnet header and
 * netif flags untouched, so TCP segmentation works end to end.
 *
 *   pvio-netfront-tap [--rundir DIR] [--domid N] [--devid N] [--netns NAME]
 *                     [--ifname NAME] [--ip CIDR] [--queues N] [--no-offload]
 *   pvio-netfront-tap --create NAME [--mem MIB] --vif SPEC ...   (dom0)
 *
 * --create makes a new process domain (as dom0), attaches SPEC to it, and
 * detaches and destroys it at exit: a self-contained guest for tests and
 * benchmarks.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <liburing.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pvio/libpvio.h"
#include "pvio/netfront.h"
#include "pvio/xenbus.h"
#include "pvio/vif.h"
#include "uring_submit.h"

#define TAP_HDR		((int)sizeof(struct virtio_net_hdr))
#define FRAME_MAX	(65536 + 64)
#define TAP_BATCH	64
/*
 * Small frames from the vif are copied out (their rx pages go back to the
 * ring at once) and written to the TAP together, one io_uring submission
 * for up to TAP_WBATCH of them; larger ones are written straight from
 * their rx pages, as before, in order with the rest.
 */
#define TAP_WBATCH	32
#define TAP_SMALL	2048	/* vnet header and frame, bytes */

struct tap_queue {
	struct netfront *nf;
	unsigned int id;
	int tap_fd;
	int stop_fd;
	pthread_t thread;
	uint8_t *in;		/* scratch for frames dropped while disconnected */
	struct io_uring wr;	/* batched TAP writes, if wbuf */
	uint8_t *wbuf;		/* TAP_WBATCH slots of TAP_SMALL bytes */
	uint32_t wlen[TAP_WBATCH];	/* bytes queued in each slot */
	unsigned int wn;	/* slots queued */
};

static int stop_fd = -1;
static atomic_ulong tap_dropped;	/* frames the vif could not take */

static void on_signal(int sig)
{
	uint64_t one = 1;

	(void)sig;
	if (write(stop_fd, &one, sizeof(one)) < 0)
		_exit(1);
}

static int run_ip(const char *const argv[])
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		execvp("ip", (char *const *)argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	return WIFEXITED(status) && !WEXITSTATUS(status) ? 0 : -EIO;
}

static int tap_open(const char *name, bool gso, bool csum)
{
	struct ifreq ifr;
	int fd, hdr = TAP_HDR;
	unsigned int off = 0;

	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_MULTI_QUEUE;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0 ||
	    ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0)
		goto fail;
	/* what the stack may hand us: exactly what the vif can carry */
	if (csum) {
		off |= TUN_F_CSUM;
		if (gso)
			off |= TUN_F_TSO4 | TUN_F_TSO6;
	}
	if (ioctl(fd, TUNSETOFFLOAD, (unsigned long)off) < 0)
		goto fail;
	return fd;
fail:
	hdr = -errno;
	close(fd);
	return hdr;
}

static void tap_write_failed(int err)
{
	static atomic_bool said;

	/* the TAP full (EAGAIN) is a drop as on any NIC; anything else once */
	if (err != EAGAIN && !atomic_exchange(&said, true))
		fprintf(stderr, "pvio-netfront-tap: write: %s\n", strerror(err));
}

static void wr_written(void *arg, const struct io_uring_cqe *c)
{
	if (c->res < 0)
		tap_write_failed(-c->res);
}

/* The queued small frames go to the TAP (RWF_NOWAIT: taken or refused). */
static void wr_flush(struct tap_queue *t)
{
	unsigned int n = t->wn, done;
	int ret = 0;

	if (!n)
		return;
	t->wn = 0;
	done = pvio_uring_submit_all(&t->wr, n, &ret);
	if (done < n) {
		/* the ring refused them: write these and the rest one by one */
		fprintf(stderr, "pvio-netfront-tap: io_uring: %s; writing frame by frame\n",
			strerror(-ret));
		for (unsigned int i = done; i < n; i++)
			if (write(t->tap_fd, t->wbuf + (size_t)i * TAP_SMALL,
				  t->wlen[i]) < 0)
				tap_write_failed(errno);
		io_uring_queue_exit(&t->wr);
		free(t->wbuf);
		t->wbuf = NULL;
		return;
	}
	pvio_uring_reap(&t->wr, done, wr_written, NULL);
}

/* Queue a small frame: copied into the next slot, its pages released. */
static bool wr_queue(struct tap_queue *t, const struct virtio_net_hdr *h,
		     const struct iovec *iov, int n, size_t len)
{
	struct io_uring_sqe *sqe;
	uint8_t *slot;
	size_t pos = TAP_HDR;

	if (!t->wbuf || TAP_HDR + len > TAP_SMALL)
		return false;
	if (t->wn == TAP_WBATCH)
		wr_flush(t);
	if (!t->wbuf)
		return false;
	sqe = io_uring_get_sqe(&t->wr);
	if (!sqe)
		return false;
	slot = t->wbuf + (size_t)t->wn * TAP_SMALL;
	memcpy(slot, h, TAP_HDR);
	for (int i = 0; i < n; i++) {
		memcpy(slot + pos, iov[i].iov_base, iov[i].iov_len);
		pos += iov[i].iov_len;
	}
	t->wlen[t->wn] = (uint32_t)pos;	/* for a fallback write */
	io_uring_prep_write(sqe, t->tap_fd, slot, (unsigned int)pos, 0);
	sqe->rw_flags = RWF_NOWAIT;
	t->wn++;
	return true;
}

/*
 * Frames from the vif into the TAP, small ones copied and written
 * together, large ones straight from the rx pages; true if it stopped at
 * the batch limit.
 */
static bool drain_vif(struct tap_queue *t)
{
	bool more = true;

	for (unsigned int i = 0; i < TAP_BATCH; i++) {
		struct virtio_net_hdr h;
		struct iovec iov[NETFRONT_RX_IOV_MAX + 1];
		int n = netfront_rx_peek(t->nf, t->id, &h, iov + 1,
					 NETFRONT_RX_IOV_MAX);
		size_t len = 0;

		if (n < 0) {
			more = false;
			break;
		}
		for (int k = 1; k <= n; k++)
			len += iov[k].iov_len;
		if (!wr_queue(t, &h, iov + 1, n, len)) {
			/* in order: what was queued before it goes first */
			wr_flush(t);
			iov[0].iov_base = &h;
			iov[0].iov_len = TAP_HDR;
			if (writev(t->tap_fd, iov, n + 1) < 0)
				tap_write_failed(errno);
		}
		netfront_rx_release(t->nf, t->id);
	}
	wr_flush(t);
	return more;
}

enum tap_drain { TAP_EMPTY, TAP_MORE, TAP_BLOCKED };

/* Frames from the TAP onto the vif, read straight into borrowed tx pages. */
static enum tap_drain drain_tap(struct tap_queue *t)
{
	for (unsigned int i = 0; i < TAP_BATCH; i++) {
		struct virtio_net_hdr h;
		struct iovec iov[NETFRONT_TX_BORROW + 1];
		ssize_t n;
		int ret;

		ret = netfront_tx_borrow(t->nf, t->id, iov + 1, NETFRONT_TX_BORROW);
		if (ret == -EAGAIN)
			return TAP_BLOCKED;	/* ring full: the vif fd tells us */
		if (ret < 0) {
			/* not connected: keep the TAP drained, drop */
			n = read(t->tap_fd, t->in, TAP_HDR + FRAME_MAX);
			if (n <= TAP_HDR)
				return TAP_EMPTY;
			atomic_fetch_add(&tap_dropped, 1);
			continue;
		}
		iov[0].iov_base = &h;
		iov[0].iov_len = TAP_HDR;
		n = readv(t->tap_fd, iov, ret + 1);
		if (n <= TAP_HDR) {
			netfront_tx_commit(t->nf, t->id, NULL, 0);
			return TAP_EMPTY;
		}
		/* a frame longer than a netif packet is cut by readv: drop */
		if (n > TAP_HDR + XEN_NETIF_MAX_TX_SIZE)
			n = TAP_HDR;
		if (netfront_tx_commit(t->nf, t->id, &h, (size_t)n - TAP_HDR))
			atomic_fetch_add(&tap_dropped, 1);
	}
	return TAP_MORE;
}

static void *queue_main(void *arg)
{
	struct tap_queue *t = arg;
	enum tap_drain tap = TAP_MORE;
	bool vif_due = true, tap_due = true, vif_more = false;

	/*
	 * Each side is read only when poll reported it (or a pass stopped at
	 * its batch limit): an empty read is a wasted syscall.
	 */
	for (;;) {
		struct pollfd p[3] = {
			{ .fd = t->stop_fd, .events = POLLIN },
			{ .fd = netfront_fd(t->nf, t->id), .events = POLLIN },
			{ .fd = t->tap_fd, .events = POLLIN },
		};
		int timeout;

		if (vif_due)
			vif_more = drain_vif(t);
		if (tap_due)
			tap = drain_tap(t);
		if (tap_due && vif_due)
			vif_more |= drain_vif(t);
		timeout = vif_more || tap == TAP_MORE ? 0 : -1;
		if (poll(p, tap == TAP_BLOCKED ? 2 : 3, timeout) < 0 &&
		    errno != EINTR)
			break;
		if (p[0].revents)
			break;
		if (p[1].revents)
			netfront_ack(t->nf, t->id);
		vif_due = vif_more || p[1].revents;
		tap_due = tap == TAP_MORE ||
			(tap == TAP_BLOCKED ? p[1].revents != 0 : p[2].revents != 0);
	}
	return NULL;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: pvio-netfront-tap [--rundir DIR] [--domid N] [--devid N] [--netns NAME]\n"
		"                         [--ifname NAME] [--ip CIDR] [--queues N] [--no-offload]\n"
		"       pvio-netfront-tap --create NAME [--mem MIB] --vif SPEC [options above]\n");
}

int main(int argc, char **argv)
{
	const char *rundir = NULL, *netns = NULL, *ifname = NULL, *ip = NULL;
	const char *create = NULL, *vifspec = "";
	unsigned long domid = PVIO_DOMID_SELF, mem_mib = 32;
	int devid = 0, ret, status = 1;
	struct netfront_opts opts = { .nr_queues = 1 };
	struct pvio_dom *d = NULL;
	struct xs_handle *xs = NULL, *xs0 = NULL;
	struct netfront *nf = NULL;
	struct tap_queue tq[8];
	unsigned int nq = 0;
	char name[IFNAMSIZ], macs[18], mtus[16];
	uint8_t mac[6];
	uint64_t v;

	memset(tq, 0, sizeof(tq));
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--no-offload")) {
			opts.no_gso = opts.no_csum = true;
			continue;
		}
		if (!strcmp(a, "--no-split")) {
			opts.no_split_evtchn = true;
			continue;
		}
		if (!val) {
			usage();
			return 2;
		}
		i++;
		if (!strcmp(a, "--rundir"))
			rundir = val;
		else if (!strcmp(a, "--domid"))
			domid = strtoul(val, NULL, 10);
		else if (!strcmp(a, "--devid"))
			devid = atoi(val);
		else if (!strcmp(a, "--netns"))
			netns = val;
		else if (!strcmp(a, "--ifname"))
			ifname = val;
		else if (!strcmp(a, "--ip"))
			ip = val;
		else if (!strcmp(a, "--queues"))
			opts.nr_queues = (unsigned int)atoi(val);
		else if (!strcmp(a, "--create"))
			create = val;
		else if (!strcmp(a, "--mem"))
			mem_mib = strtoul(val, NULL, 10);
		else if (!strcmp(a, "--vif"))
			vifspec = val;
		else {
			usage();
			return 2;
		}
	}
	if (opts.nr_queues < 1 || opts.nr_queues > 8) {
		fprintf(stderr, "pvio-netfront-tap: --queues 1..8\n");
		return 2;
	}
	snprintf(name, sizeof(name), "%s", ifname ? ifname : "eth0");

	stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGPIPE, SIG_IGN);

	/* the netns first, before any thread: everything below lives there */
	if (netns) {
		char path[256];
		int fd;

		snprintf(path, sizeof(path), "/run/netns/%s", netns);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || setns(fd, CLONE_NEWNET) < 0) {
			fprintf(stderr, "pvio-netfront-tap: cannot enter netns %s: %s\n",
				netns, strerror(errno));
			return 1;
		}
		close(fd);
	}

	if (create) {
		struct netspec ns;
		char err[256], spath[512];

		if (netspec_parse(vifspec, &ns, err, sizeof(err))) {
			fprintf(stderr, "pvio-netfront-tap: %s\n", err);
			return 2;
		}
		ret = pvio_dom_create_self(rundir, create, mem_mib << 20, &d);
		if (ret) {
			fprintf(stderr, "pvio-netfront-tap: cannot create domain %s: %s\n",
				create, strerror(-ret));
			return 1;
		}
		snprintf(spath, sizeof(spath), "%s/store.sock", pvio_rundir(rundir));
		ret = xs_open(getenv("XENSTORED_PATH") ? NULL : spath, &xs0);
		if (!ret)
			ret = netvif_attach(xs0, pvio_dom_id(d), &ns, &devid);
		if (ret)
			goto out;
		printf("domain %u vif %d\n", pvio_dom_id(d), devid);
		fflush(stdout);
	} else {
		ret = pvio_dom_attach(rundir, (pvio_domid_t)domid, &d);
		if (ret) {
			fprintf(stderr, "pvio-netfront-tap: cannot attach as domain %s: %s\n",
				domid == PVIO_DOMID_SELF ? "$PVIO_DOMID" : "given",
				strerror(-ret));
			return 1;
		}
	}
	/* as the domain itself, through its store ring: its permissions apply */
	ret = xs_open_domain(d, &xs);
	if (ret) {
		fprintf(stderr, "pvio-netfront-tap: cannot reach the store: %s\n",
			strerror(-ret));
		goto out;
	}
	ret = netfront_open(d, xs, (unsigned int)devid, &opts, 20000, &nf);
	if (ret) {
		fprintf(stderr, "pvio-netfront-tap: vif %d: %s\n", devid,
			strerror(-ret));
		goto out;
	}
	nq = netfront_nr_queues(nf);
	for (unsigned int i = 0; i < nq; i++) {
		tq[i].nf = nf;
		tq[i].id = i;
		tq[i].stop_fd = stop_fd;
		tq[i].in = malloc(TAP_HDR + FRAME_MAX);
		ret = tap_open(name, netfront_can_gso(nf), !opts.no_csum);
		if (ret < 0 || !tq[i].in) {
			fprintf(stderr, "pvio-netfront-tap: cannot open TAP %s: %s\n",
				name, strerror(ret < 0 ? -ret : ENOMEM));
			goto out_queues;
		}
		tq[i].tap_fd = ret;
		tq[i].wbuf = malloc((size_t)TAP_WBATCH * TAP_SMALL);
		if (tq[i].wbuf && io_uring_queue_init(TAP_WBATCH, &tq[i].wr, 0)) {
			fprintf(stderr, "pvio-netfront-tap: no io_uring: one write per frame\n");
			free(tq[i].wbuf);
			tq[i].wbuf = NULL;
		}
	}
	netfront_mac(nf, mac);
	snprintf(macs, sizeof(macs), "%02x:%02x:%02x:%02x:%02x:%02x", mac[0],
		 mac[1], mac[2], mac[3], mac[4], mac[5]);
	snprintf(mtus, sizeof(mtus), "%u", netfront_mtu(nf));
	{
		/*
		 * A netif packet is at most 65535 bytes: keep the stack's GSO
		 * frames below that, headers included (as Linux netfront does).
		 */
		const char *a1[] = { "ip", "link", "set", "dev", name, "address",
				     macs, "mtu", mtus, "gso_max_size", "62768",
				     "up", NULL };

		if (run_ip(a1)) {
			fprintf(stderr, "pvio-netfront-tap: cannot configure %s\n", name);
			goto out_queues;
		}
	}
	if (ip) {
		const char *a2[] = { "ip", "addr", "add", ip, "dev", name, NULL };

		if (run_ip(a2)) {
			fprintf(stderr, "pvio-netfront-tap: cannot add %s to %s\n", ip,
				name);
			goto out_queues;
		}
	}
	for (unsigned int i = 0; i < nq; i++)
		if (pthread_create(&tq[i].thread, NULL, queue_main, &tq[i]))
			goto out_queues;
	fprintf(stderr, "pvio-netfront-tap: domain %u vif %d as %s (%s, mtu %s, %u queue(s)%s)\n",
		pvio_dom_id(d), devid, name, macs, mtus, nq,
		netfront_can_gso(nf) ? ", gso" : "");
	status = 0;
	{
		struct pollfd p = { .fd = stop_fd, .events = POLLIN };

		while (poll(&p, 1, -1) < 0 && errno == EINTR)
			;
	}
	for (unsigned int i = 0; i < nq; i++)
		if (tq[i].thread)
			pthread_join(tq[i].thread, NULL);
	if (read(stop_fd, &v, sizeof(v)) < 0)
		v = 0;
out_queues:
	for (unsigned int i = 0; i < nq; i++) {
		if (tq[i].tap_fd > 0)
			close(tq[i].tap_fd);
		if (tq[i].wbuf) {
			io_uring_queue_exit(&tq[i].wr);
			free(tq[i].wbuf);
		}
		free(tq[i].in);
	}
	{
		struct netfront_stats st;

		netfront_get_stats(nf, &st);
		fprintf(stderr, "pvio-netfront-tap: tx %llu pkts %llu errs %lu dropped, rx %llu pkts %llu errs, %llu reconnects\n",
			(unsigned long long)st.tx_packets,
			(unsigned long long)st.tx_errors,
			atomic_load(&tap_dropped),
			(unsigned long long)st.rx_packets,
			(unsigned long long)st.rx_errors,
			(unsigned long long)st.reconnects);
	}
	netfront_close(nf);
out:
	if (xs)
		xs_close(xs);
	if (create && d) {
		struct pvio_hv *hv;
		pvio_domid_t id = pvio_dom_id(d);

		if (xs0)
			netvif_detach(xs0, id, devid, 5000);
		pvio_dom_detach(d);
		if (!pvio_hv_open(rundir, &hv)) {
			pvio_domain_destroy(hv, id);
			pvio_hv_close(hv);
		}
	} else if (d) {
		pvio_dom_detach(d);
	}
	if (xs0)
		xs_close(xs0);
	return status;
}
