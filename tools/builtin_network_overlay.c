// SPDX-License-Identifier: MIT
/*
 * `pvio network-overlay create|destroy|list`: a bridge that spans hosts.
 * Each host makes a bridge NAME and a VXLAN device vx-NAME on it (iproute2),
 * with one all-zeroes forwarding entry per peer (head-end replication over
 * unicast: no multicast in the underlay). vif specs name the bridge with
 * bridge=NAME; the bridge's MTU is the underlay's minus the encapsulation
 * (50 bytes over IPv4, 70 over IPv6) and `network-attach` gives a vif on it
 * that MTU, so that no guest frame needs fragmenting. The overlay's
 * settings live in the store under /tool/pvio/overlay/NAME, where `list`
 * and the vif class find them.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <ifaddrs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "pvio/vif.h"
#include "pvio/libpvio.h"
#include "pvio/xenbus.h"
#include "pvio_cmd.h"

#define OVERLAY_ROOT		"/tool/pvio/overlay"
#define OVERLAY_NAME_MAX	12	/* "vx-" + name fits IFNAMSIZ */
#define OVERLAY_MAX_PEERS	64
#define OVERLAY_DEFAULT_PORT	4789	/* IANA VXLAN */
#define VXLAN_OVERHEAD_V4	50	/* outer IPv4 20, UDP 8, VXLAN 8, Ethernet 14 */
#define VXLAN_OVERHEAD_V6	70	/* outer IPv6 40 */

static struct pvio_cmd cmd_overlay;

struct overlay {
	char name[OVERLAY_NAME_MAX + 1];
	char vxdev[NETSPEC_IFNAMSIZ];
	uint32_t vni;
	char local[INET6_ADDRSTRLEN];
	char peers[OVERLAY_MAX_PEERS][INET6_ADDRSTRLEN];
	unsigned int nr_peers;
	char underlay[NETSPEC_IFNAMSIZ];
	unsigned int port;
	unsigned int mtu;
	bool v6;
	bool bridge_created;	/* destroy removes the bridge too */
};

/* The run dir's store, or $XENSTORED_PATH when no --rundir was given. */
static int overlay_store(struct xs_handle **xs)
{
	char path[512];
	int rc;

	if (!pvio_opt_rundir && getenv("XENSTORED_PATH")) {
		rc = xs_open(NULL, xs);
		snprintf(path, sizeof(path), "%s", getenv("XENSTORED_PATH"));
	} else {
		snprintf(path, sizeof(path), "%s/store.sock",
			 pvio_rundir(pvio_opt_rundir));
		rc = xs_open(path, xs);
	}
	if (rc)
		fprintf(stderr, "pvio network-overlay: cannot reach the store at %s: %s (is the stack up?)\n",
			path, strerror(-rc));
	return rc;
}

static bool name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > OVERLAY_NAME_MAX)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || strchr("._-", *s)))
			return false;
	return true;
}

/* Canonical text of an IPv4 or IPv6 unicast address; -EINVAL otherwise. */
static int addr_parse(const char *s, char out[INET6_ADDRSTRLEN], bool *v6)
{
	struct in6_addr a6;
	struct in_addr a4;

	if (inet_pton(AF_INET, s, &a4) == 1) {
		uint32_t h = ntohl(a4.s_addr);

		if (!h || h == 0xffffffffu || (h >> 28) == 0xe)
			return -EINVAL;
		inet_ntop(AF_INET, &a4, out, INET6_ADDRSTRLEN);
		*v6 = false;
		return 0;
	}
	if (inet_pton(AF_INET6, s, &a6) == 1) {
		if (IN6_IS_ADDR_UNSPECIFIED(&a6) || IN6_IS_ADDR_MULTICAST(&a6))
			return -EINVAL;
		inet_ntop(AF_INET6, &a6, out, INET6_ADDRSTRLEN);
		*v6 = true;
		return 0;
	}
	return -EINVAL;
}

/* The interface that holds address @addr here, or -ENOENT. */
static int addr_owner(const char *addr, bool v6, char ifname[NETSPEC_IFNAMSIZ])
{
	struct ifaddrs *ifa, *i;
	char buf[INET6_ADDRSTRLEN];
	int rc = -ENOENT;

	if (getifaddrs(&ifa))
		return -errno;
	for (i = ifa; i; i = i->ifa_next) {
		const void *a;

		if (!i->ifa_addr || i->ifa_addr->sa_family != (v6 ? AF_INET6 : AF_INET))
			continue;
		a = v6 ? (const void *)&((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr :
			 (const void *)&((struct sockaddr_in *)i->ifa_addr)->sin_addr;
		inet_ntop(v6 ? AF_INET6 : AF_INET, a, buf, sizeof(buf));
		if (!strcmp(buf, addr)) {
			snprintf(ifname, NETSPEC_IFNAMSIZ, "%s", i->ifa_name);
			rc = 0;
			break;
		}
	}
	freeifaddrs(ifa);
	return rc;
}

static int sysfs_read(const char *ifname, const char *attr, char *buf,
		      size_t size)
{
	char path[128];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/sys/class/net/%s/%s", ifname, attr);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	buf[strcspn(buf, "\n")] = 0;
	return 0;
}

static bool link_exists(const char *ifname)
{
	char path[128];

	snprintf(path, sizeof(path), "/sys/class/net/%s", ifname);
	return !access(path, F_OK);
}

static bool is_bridge(const char *ifname)
{
	char path[128];

	snprintf(path, sizeof(path), "/sys/class/net/%s/bridge", ifname);
	return !access(path, F_OK);
}

/* Run a command (argv[0] looked up in PATH), quietly if @quiet; exit status. */
static int run(bool quiet, const char *const argv[])
{
	pid_t pid = fork();
	int st;

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		if (quiet) {
			int fd = open("/dev/null", O_WRONLY);

			if (fd >= 0) {
				dup2(fd, 1);
				dup2(fd, 2);
			}
		}
		execvp(argv[0], (char *const *)argv);
		fprintf(stderr, "pvio network-overlay: cannot run %s: %s\n",
			argv[0], strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

#define RUN(quiet, ...) run(quiet, (const char *const[]){ __VA_ARGS__, NULL })

/* ---- store ---- */

static int st_write(struct xs_handle *xs, xs_transaction_t t, const char *name,
		    const char *key, const char *val)
{
	char path[160];

	snprintf(path, sizeof(path), OVERLAY_ROOT "/%s/%s", name, key);
	return xs_write(xs, t, path, val, strlen(val));
}

static int st_read(struct xs_handle *xs, const char *name, const char *key,
		   char *buf, size_t size)
{
	char path[160], *v;
	int rc;

	snprintf(path, sizeof(path), OVERLAY_ROOT "/%s/%s", name, key);
	rc = xs_read(xs, XS_TXN_NULL, path, &v, NULL);
	if (rc)
		return rc;
	snprintf(buf, size, "%s", v);
	free(v);
	return 0;
}

struct save_arg {
	const struct overlay *ov;
	bool exists;
};

static int save_txn(struct xs_handle *xs, xs_transaction_t t, void *arg)
{
	struct save_arg *a = arg;
	const struct overlay *ov = a->ov;
	char dir[96], num[32], peers[OVERLAY_MAX_PEERS * INET6_ADDRSTRLEN];
	char *v = NULL;
	int rc;

	snprintf(dir, sizeof(dir), OVERLAY_ROOT "/%s", ov->name);
	if (!xs_read(xs, t, dir, &v, NULL)) {
		free(v);
		a->exists = true;
		return -EEXIST;
	}
	peers[0] = 0;
	for (unsigned int i = 0; i < ov->nr_peers; i++) {
		if (i)
			strcat(peers, " ");
		strcat(peers, ov->peers[i]);
	}
	rc = xs_mkdir(xs, t, dir);
	snprintf(num, sizeof(num), "%u", ov->vni);
	if (!rc)
		rc = st_write(xs, t, ov->name, "vni", num);
	if (!rc)
		rc = st_write(xs, t, ov->name, "local", ov->local);
	if (!rc)
		rc = st_write(xs, t, ov->name, "peers", peers);
	if (!rc)
		rc = st_write(xs, t, ov->name, "device", ov->vxdev);
	if (!rc)
		rc = st_write(xs, t, ov->name, "underlay", ov->underlay);
	snprintf(num, sizeof(num), "%u", ov->port);
	if (!rc)
		rc = st_write(xs, t, ov->name, "port", num);
	snprintf(num, sizeof(num), "%u", ov->mtu);
	if (!rc)
		rc = st_write(xs, t, ov->name, "mtu", num);
	if (!rc)
		rc = st_write(xs, t, ov->name, "bridge-created",
			      ov->bridge_created ? "1" : "0");
	return rc;
}

/* ---- create ---- */

static void usage_detail(void)
{
	fprintf(stderr,
		"  create NAME --vni N --local ADDR --peer ADDR [--peer ADDR...]\n"
		"         [--port P] [--mtu N]   bridge NAME spanning hosts over VXLAN\n"
		"  destroy NAME [--force]        remove it (--force: even with vifs on it)\n"
		"  list [NAME]                   overlays of this host\n");
}

/* Undo a half-made overlay: the VXLAN device, and the bridge if ours. */
static void teardown_links(const struct overlay *ov)
{
	if (link_exists(ov->vxdev))
		RUN(true, "ip", "link", "del", "dev", ov->vxdev);
	if (ov->bridge_created && link_exists(ov->name))
		RUN(true, "ip", "link", "del", "dev", ov->name);
}

static int overlay_create(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "vni", required_argument, NULL, 'n' },
		{ "local", required_argument, NULL, 'l' },
		{ "peer", required_argument, NULL, 'p' },
		{ "port", required_argument, NULL, 'P' },
		{ "mtu", required_argument, NULL, 'm' },
		{ NULL, 0, NULL, 0 },
	};
	struct overlay ov;
	struct save_arg sa = { .ov = &ov };
	struct xs_handle *xs;
	char buf[32], num[32], port[16];
	unsigned int lower, overhead, want_mtu = 0;
	bool have_vni = false, v6;
	char *end;
	int c, rc;

	memset(&ov, 0, sizeof(ov));
	ov.port = OVERLAY_DEFAULT_PORT;
	optind = 2;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		unsigned long v;

		switch (c) {
		case 'n':
			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (errno || *end || !*optarg || v < 1 || v > 0xffffff) {
				fprintf(stderr, "pvio network-overlay: bad --vni '%s' (1..16777215)\n",
					optarg);
				return 2;
			}
			ov.vni = (uint32_t)v;
			have_vni = true;
			break;
		case 'l':
			if (addr_parse(optarg, ov.local, &ov.v6)) {
				fprintf(stderr, "pvio network-overlay: bad --local '%s' (a unicast IPv4 or IPv6 address)\n",
					optarg);
				return 2;
			}
			break;
		case 'p':
			/* one address per --peer, or a comma separated list */
			for (char *s = strtok(optarg, ","); s; s = strtok(NULL, ",")) {
				if (ov.nr_peers == OVERLAY_MAX_PEERS) {
					fprintf(stderr, "pvio network-overlay: more than %u peers\n",
						OVERLAY_MAX_PEERS);
					return 2;
				}
				if (addr_parse(s, ov.peers[ov.nr_peers], &v6)) {
					fprintf(stderr, "pvio network-overlay: bad --peer '%s' (a unicast IPv4 or IPv6 address)\n",
						s);
					return 2;
				}
				for (unsigned int i = 0; i < ov.nr_peers; i++) {
					if (strcmp(ov.peers[i], ov.peers[ov.nr_peers]))
						continue;
					fprintf(stderr, "pvio network-overlay: peer %s given twice\n", s);
					return 2;
				}
				ov.nr_peers++;
			}
			break;
		case 'P':
			v = strtoul(optarg, &end, 10);
			if (*end || !*optarg || v < 1 || v > 65535) {
				fprintf(stderr, "pvio network-overlay: bad --port '%s'\n", optarg);
				return 2;
			}
			ov.port = (unsigned int)v;
			break;
		case 'm':
			v = strtoul(optarg, &end, 10);
			if (*end || !*optarg || v < 68 || v > 9000) {
				fprintf(stderr, "pvio network-overlay: bad --mtu '%s' (68..9000)\n",
					optarg);
				return 2;
			}
			want_mtu = (unsigned int)v;
			break;
		default:
			usage_detail();
			return 2;
		}
	}
	if (optind != argc - 1 || !have_vni || !ov.local[0] || !ov.nr_peers) {
		pvio_cmd_usage(&cmd_overlay);
		usage_detail();
		return 2;
	}
	if (!name_ok(argv[optind])) {
		fprintf(stderr, "pvio network-overlay: bad name '%s' (1..%u of A-Z a-z 0-9 . _ -)\n",
			argv[optind], OVERLAY_NAME_MAX);
		return 2;
	}
	strcpy(ov.name, argv[optind]);
	snprintf(ov.vxdev, sizeof(ov.vxdev), "vx-%s", ov.name);
	for (unsigned int i = 0; i < ov.nr_peers; i++) {
		struct in6_addr a;
		bool pv6 = inet_pton(AF_INET6, ov.peers[i], &a) == 1;

		if (pv6 != ov.v6) {
			fprintf(stderr, "pvio network-overlay: peer %s and local %s are not of one family\n",
				ov.peers[i], ov.local);
			return 2;
		}
		if (!strcmp(ov.peers[i], ov.local)) {
			fprintf(stderr, "pvio network-overlay: peer %s is the local address\n",
				ov.peers[i]);
			return 2;
		}
	}
	/* the underlay: the interface that holds the local address */
	rc = addr_owner(ov.local, ov.v6, ov.underlay);
	if (rc) {
		fprintf(stderr, "pvio network-overlay: %s is not an address of this host\n",
			ov.local);
		return 1;
	}
	if (sysfs_read(ov.underlay, "mtu", buf, sizeof(buf)) ||
	    !(lower = (unsigned int)strtoul(buf, NULL, 10))) {
		fprintf(stderr, "pvio network-overlay: cannot read the MTU of %s\n",
			ov.underlay);
		return 1;
	}
	overhead = ov.v6 ? VXLAN_OVERHEAD_V6 : VXLAN_OVERHEAD_V4;
	if (lower < 68 + overhead) {
		fprintf(stderr, "pvio network-overlay: MTU %u of %s leaves no room for VXLAN (%u bytes)\n",
			lower, ov.underlay, overhead);
		return 1;
	}
	ov.mtu = lower - overhead;
	if (want_mtu) {
		if (want_mtu > ov.mtu) {
			fprintf(stderr, "pvio network-overlay: --mtu %u exceeds %u (MTU %u of %s less %u bytes of VXLAN): frames would be fragmented\n",
				want_mtu, ov.mtu, lower, ov.underlay, overhead);
			return 1;
		}
		ov.mtu = want_mtu;
	}
	if (link_exists(ov.vxdev)) {
		fprintf(stderr, "pvio network-overlay: %s exists already\n", ov.vxdev);
		return 1;
	}
	if (link_exists(ov.name) && !is_bridge(ov.name)) {
		fprintf(stderr, "pvio network-overlay: %s exists and is not a bridge\n",
			ov.name);
		return 1;
	}
	if (overlay_store(&xs))
		return 1;

	/* record first: a second create of the same name stops here */
	ov.bridge_created = !link_exists(ov.name);
	rc = xs_transaction_run(xs, save_txn, &sa);
	if (rc) {
		if (sa.exists)
			fprintf(stderr, "pvio network-overlay: overlay %s exists already\n",
				ov.name);
		else
			fprintf(stderr, "pvio network-overlay: recording %s in the store: %s\n",
				ov.name, strerror(-rc));
		xs_close(xs);
		return 1;
	}

	snprintf(num, sizeof(num), "%u", ov.vni);
	snprintf(port, sizeof(port), "%u", ov.port);
	snprintf(buf, sizeof(buf), "%u", ov.mtu);
	rc = 0;
	if (ov.bridge_created) {
		char mac[32];

		rc = RUN(false, "ip", "link", "add", "name", ov.name, "type",
			 "bridge", "forward_delay", "0");
		/*
		 * pin the bridge's own random address, as vif-bridge does:
		 * otherwise it follows its smallest port
		 */
		if (!rc && !sysfs_read(ov.name, "address", mac, sizeof(mac)))
			RUN(true, "ip", "link", "set", "dev", ov.name, "address",
			    mac);
	}
	if (!rc) {
		/* learning on: replies go to the one peer that owns the MAC */
		rc = RUN(false, "ip", "link", "add", "name", ov.vxdev, "type",
			 "vxlan", "id", num, "local", ov.local, "dstport", port,
			 "dev", ov.underlay);
	}
	if (!rc)
		rc = RUN(false, "ip", "link", "set", "dev", ov.vxdev, "mtu", buf);
	for (unsigned int i = 0; !rc && i < ov.nr_peers; i++)
		rc = RUN(false, "bridge", "fdb", "append", "00:00:00:00:00:00",
			 "dev", ov.vxdev, "dst", ov.peers[i]);
	if (!rc && ov.bridge_created)
		rc = RUN(false, "ip", "link", "set", "dev", ov.name, "mtu", buf);
	if (!rc)
		rc = RUN(false, "ip", "link", "set", "dev", ov.vxdev, "master",
			 ov.name);
	if (!rc)
		rc = RUN(false, "ip", "link", "set", "dev", ov.vxdev, "up");
	if (!rc)
		rc = RUN(false, "ip", "link", "set", "dev", ov.name, "up");
	if (rc) {
		char dir[96];

		fprintf(stderr, "pvio network-overlay: iproute2 failed making %s (status %d): undoing\n",
			ov.name, rc);
		teardown_links(&ov);
		snprintf(dir, sizeof(dir), OVERLAY_ROOT "/%s", ov.name);
		xs_rm(xs, XS_TXN_NULL, dir);
		xs_close(xs);
		return 1;
	}
	xs_close(xs);
	printf("overlay %s: vni %u, %s -> %u peer(s) over %s, port %u, mtu %u\n",
	       ov.name, ov.vni, ov.local, ov.nr_peers, ov.underlay, ov.port,
	       ov.mtu);
	return 0;
}

/* ---- destroy ---- */

/* Ports of the bridge other than the VXLAN device, space separated. */
static void other_ports(const struct overlay *ov, char *out, size_t size)
{
	char cmd[128], line[64];
	FILE *p;

	out[0] = 0;
	snprintf(cmd, sizeof(cmd), "ls /sys/class/net/%s/brif 2>/dev/null",
		 ov->name);
	p = popen(cmd, "r");
	if (!p)
		return;
	while (fgets(line, sizeof(line), p)) {
		line[strcspn(line, "\n")] = 0;
		if (!strcmp(line, ov->vxdev) || !*line)
			continue;
		if (strlen(out) + strlen(line) + 2 < size) {
			if (*out)
				strcat(out, " ");
			strcat(out, line);
		}
	}
	pclose(p);
}

static int overlay_load(struct xs_handle *xs, const char *name,
			struct overlay *ov)
{
	char buf[OVERLAY_MAX_PEERS * INET6_ADDRSTRLEN];
	int rc;

	memset(ov, 0, sizeof(*ov));
	if (!name_ok(name))
		return -EINVAL;
	strcpy(ov->name, name);
	rc = st_read(xs, name, "vni", buf, sizeof(buf));
	if (rc)
		return rc;
	ov->vni = (uint32_t)strtoul(buf, NULL, 10);
	st_read(xs, name, "local", ov->local, sizeof(ov->local));
	st_read(xs, name, "underlay", ov->underlay, sizeof(ov->underlay));
	if (st_read(xs, name, "device", ov->vxdev, sizeof(ov->vxdev)) ||
	    strncmp(ov->vxdev, "vx-", 3))
		snprintf(ov->vxdev, sizeof(ov->vxdev), "vx-%s", name);
	if (!st_read(xs, name, "port", buf, sizeof(buf)))
		ov->port = (unsigned int)strtoul(buf, NULL, 10);
	if (!st_read(xs, name, "mtu", buf, sizeof(buf)))
		ov->mtu = (unsigned int)strtoul(buf, NULL, 10);
	if (!st_read(xs, name, "bridge-created", buf, sizeof(buf)))
		ov->bridge_created = !strcmp(buf, "1");
	if (!st_read(xs, name, "peers", buf, sizeof(buf)))
		for (char *s = strtok(buf, " "); s && ov->nr_peers < OVERLAY_MAX_PEERS;
		     s = strtok(NULL, " "))
			snprintf(ov->peers[ov->nr_peers++], INET6_ADDRSTRLEN, "%s", s);
	return 0;
}

static int overlay_destroy(int argc, char **argv)
{
	struct overlay ov;
	struct xs_handle *xs;
	bool force = false;
	const char *name = NULL;
	char ports[256], dir[96];
	int rc;

	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--force"))
			force = true;
		else if (!name && argv[i][0] != '-')
			name = argv[i];
		else
			return pvio_cmd_usage(&cmd_overlay);
	}
	if (!name)
		return pvio_cmd_usage(&cmd_overlay);
	if (overlay_store(&xs))
		return 1;
	rc = overlay_load(xs, name, &ov);
	if (rc) {
		fprintf(stderr, "pvio network-overlay: no overlay '%s'\n", name);
		xs_close(xs);
		return 1;
	}
	other_ports(&ov, ports, sizeof(ports));
	if (*ports && !force) {
		fprintf(stderr, "pvio network-overlay: %s still carries %s: detach them first (or --force)\n",
			name, ports);
		xs_close(xs);
		return 1;
	}
	if (link_exists(ov.vxdev) &&
	    RUN(false, "ip", "link", "del", "dev", ov.vxdev)) {
		fprintf(stderr, "pvio network-overlay: cannot remove %s\n", ov.vxdev);
		xs_close(xs);
		return 1;
	}
	/* a bridge that was there before the overlay stays */
	if (ov.bridge_created && link_exists(ov.name)) {
		if (*ports) {
			/* --force: the remaining ports just leave the bridge */
			RUN(true, "ip", "link", "set", "dev", ov.name, "down");
		}
		if (RUN(false, "ip", "link", "del", "dev", ov.name))
			fprintf(stderr, "pvio network-overlay: cannot remove bridge %s\n",
				ov.name);
	}
	snprintf(dir, sizeof(dir), OVERLAY_ROOT "/%s", name);
	rc = xs_rm(xs, XS_TXN_NULL, dir);
	xs_close(xs);
	if (rc && rc != -ENOENT) {
		fprintf(stderr, "pvio network-overlay: removing %s from the store: %s\n",
			dir, strerror(-rc));
		return 1;
	}
	printf("overlay %s destroyed\n", name);
	return 0;
}

/* ---- list ---- */

static int overlay_list(int argc, char **argv)
{
	struct xs_handle *xs;
	char **names = NULL;
	unsigned int n = 0;
	int rc;

	if (argc > 3)
		return pvio_cmd_usage(&cmd_overlay);
	if (overlay_store(&xs))
		return 1;
	if (argc == 3) {
		names = calloc(1, sizeof(*names));
		if (!names || !(names[0] = strdup(argv[2]))) {
			free(names);
			xs_close(xs);
			return 1;
		}
		n = 1;
	} else {
		rc = xs_directory(xs, XS_TXN_NULL, OVERLAY_ROOT, &names, &n);
		if (rc && rc != -ENOENT) {
			fprintf(stderr, "pvio network-overlay: reading %s: %s\n",
				OVERLAY_ROOT, strerror(-rc));
			xs_close(xs);
			return 1;
		}
	}
	printf("%-12s %-8s %-5s %-6s %-10s %-16s %-8s %s\n", "Name", "VNI",
	       "MTU", "Port", "Underlay", "Local", "State", "Peers");
	rc = 0;
	for (unsigned int i = 0; i < n; i++) {
		struct overlay ov;
		char peers[512] = "", state[16];

		if (overlay_load(xs, names[i], &ov)) {
			if (argc == 3) {
				fprintf(stderr, "pvio network-overlay: no overlay '%s'\n",
					names[i]);
				rc = 1;
			}
			continue;
		}
		for (unsigned int j = 0; j < ov.nr_peers; j++) {
			if (strlen(peers) + strlen(ov.peers[j]) + 2 >= sizeof(peers))
				break;
			if (j)
				strcat(peers, ",");
			strcat(peers, ov.peers[j]);
		}
		/* what the host has now, not only what was recorded */
		if (!link_exists(ov.vxdev) || !is_bridge(ov.name))
			snprintf(state, sizeof(state), "missing");
		else if (sysfs_read(ov.vxdev, "operstate", state, sizeof(state)))
			snprintf(state, sizeof(state), "?");
		printf("%-12s %-8u %-5u %-6u %-10s %-16s %-8s %s\n", ov.name,
		       ov.vni, ov.mtu, ov.port, ov.underlay, ov.local, state,
		       peers);
	}
	xs_free_list(names, n);
	xs_close(xs);
	return rc;
}

static int run_overlay(int argc, char **argv)
{
	if (argc < 2)
		goto usage;
	if (!strcmp(argv[1], "create"))
		return overlay_create(argc, argv);
	if (!strcmp(argv[1], "destroy"))
		return overlay_destroy(argc, argv);
	if (!strcmp(argv[1], "list"))
		return overlay_list(argc, argv);
usage:
	pvio_cmd_usage(&cmd_overlay);
	usage_detail();
	return 2;
}

static struct pvio_cmd cmd_overlay = {
	.name = "network-overlay",
	.usage = "create|destroy|list NAME [--vni N --local ADDR --peer ADDR...]",
	.help = "bridges that span hosts (VXLAN)",
	.run = run_overlay,
};
PVIO_CMD(cmd_overlay)
