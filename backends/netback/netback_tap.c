/*
 * netback host side: the vif's TAP device (vnet header for offloads, one
 * queue per ring) and the hotplug script that puts it on its bridge.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "netback.h"

int netback_tap_open(const char *name, char *actual, size_t actual_len)
{
	struct ifreq ifr;
	int fd, hdr = NETBACK_VNET_HDR_LEN;

	if (strlen(name) >= IFNAMSIZ)
		return -ENAMETOOLONG;
	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	/* no packet-info prefix; a virtio_net_hdr carries the offloads */
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_MULTI_QUEUE;
	strcpy(ifr.ifr_name, name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0)
		goto fail;
	if (ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0)
		goto fail;
	if (actual)
		snprintf(actual, actual_len, "%s", ifr.ifr_name);
	return fd;
fail:
	hdr = -errno;
	close(fd);
	return hdr;
}

int netback_tap_set_offload(int fd, unsigned int tun_flags)
{
	return ioctl(fd, TUNSETOFFLOAD, (unsigned long)tun_flags) < 0 ? -errno : 0;
}

/* The hotplug script: an absolute path, or a name looked up in order. */
static int find_script(struct netback_vif *vif, char *path, size_t len)
{
	const char *dir = getenv("PVIO_SCRIPT_DIR");
	const char *name = vif->script;

	if (name[0] == '/') {
		snprintf(path, len, "%s", name);
		return access(path, X_OK) ? -errno : 0;
	}
	if (strchr(name, '/') || !strcmp(name, "..") || !strcmp(name, "."))
		return -EINVAL;
	if (dir) {
		snprintf(path, len, "%s/%s", dir, name);
		if (!access(path, X_OK))
			return 0;
	}
	/* build tree: build/bin/pvio-netback -> scripts/ */
	if (snprintf(path, len, "%s/../../scripts/%s", vif->nb->exe_dir, name) <
	    (int)len && !access(path, X_OK))
		return 0;
	/* installed: PREFIX/sbin/pvio-netback -> PREFIX/lib/pvio/scripts/ */
	if (snprintf(path, len, "%s/../lib/pvio/scripts/%s", vif->nb->exe_dir,
		     name) < (int)len && !access(path, X_OK))
		return 0;
	snprintf(path, len, "/etc/pvio/scripts/%s", name);
	if (!access(path, X_OK))
		return 0;
	return -ENOENT;
}

int netback_hotplug(struct netback_vif *vif, const char *action)
{
	char path[512], mtu[16];
	int status, ret;
	pid_t pid;

	ret = find_script(vif, path, sizeof(path));
	if (ret) {
		fprintf(stderr, "netback: %s: hotplug script '%s' not found (%s); set PVIO_SCRIPT_DIR\n",
			vif->ifname, vif->script, strerror(-ret));
		return ret;
	}
	snprintf(mtu, sizeof(mtu), "%u", vif->mtu ? vif->mtu : 1500);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		setenv("vif", vif->ifname, 1);
		setenv("bridge", vif->bridge, 1);
		setenv("mac", vif->mac, 1);
		setenv("mtu", mtu, 1);
		setenv("XENBUS_PATH", vif->bedir, 1);
		setenv("PVIO_RUNDIR", vif->nb->rundir, 1);
		execl(path, path, action, vif->ifname, vif->bridge, mtu,
		      vif->mac, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		fprintf(stderr, "netback: %s: hotplug '%s %s' failed (status %d)\n",
			vif->ifname, path, action, status);
		return -EIO;
	}
	return 0;
}
