/* SPDX-License-Identifier: MIT */
/*
 * libpvio: the connection to pvio-hv (request/reply over a SEQPACKET
 * socket), version and stats, and domain control for dom0 clients.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "libpvio_priv.h"

const char *pvio_rundir(const char *rundir)
{
	const char *e;

	if (rundir && *rundir)
		return rundir;
	e = getenv("PVIO_RUNDIR");
	if (e && *e)
		return e;
	return "/run/pvio";
}

int lp_connect(const char *rundir, struct pvio_hv **out)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct pvio_hv *hv;
	const char *local;
	int fd;

	if ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s",
			     pvio_rundir(rundir), HV_SOCK_NAME) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	hv = calloc(1, sizeof(*hv));
	if (!hv) {
		close(fd);
		return -ENOMEM;
	}
	hv->fd = fd;
	local = getenv("PVIO_GNTTAB_LOCAL");
	hv->no_local = local && !strcmp(local, "0");
	pthread_mutex_init(&hv->lock, NULL);
	pthread_mutex_init(&hv->ram_lock, NULL);
	pthread_rwlock_init(&hv->port_lock, NULL);
	*out = hv;
	return 0;
}

int pvio_hv_open(const char *rundir, struct pvio_hv **out)
{
	return lp_connect(rundir, out);
}

void pvio_hv_close(struct pvio_hv *hv)
{
	if (!hv)
		return;
	lp_ports_close_all(hv);
	lp_ram_drop_all(hv);
	close(hv->fd);
	pthread_mutex_destroy(&hv->lock);
	pthread_mutex_destroy(&hv->ram_lock);
	pthread_rwlock_destroy(&hv->port_lock);
	free(hv);
}

pvio_domid_t pvio_hv_domid(const struct pvio_hv *hv)
{
	return hv->domid;
}

int lp_call(struct pvio_hv *hv, uint32_t op, const void *req, size_t req_len,
	    const void *data, size_t data_len, int send_fd,
	    void *rep, size_t rep_max, size_t *rep_len, int *fds, int *nfds)
{
	struct hv_msg_hdr h = { .op = op, .len = (uint32_t)(req_len + data_len) };
	struct iovec iov[3] = {
		{ .iov_base = &h, .iov_len = sizeof(h) },
		{ .iov_base = (void *)req, .iov_len = req_len },
		{ .iov_base = (void *)data, .iov_len = data_len },
	};
	union {
		char buf[CMSG_SPACE(sizeof(int) * HV_MSG_MAX_FDS)];
		struct cmsghdr align;
	} cm;
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = 3 };
	struct hv_msg_hdr rh;
	struct iovec riov[2] = {
		{ .iov_base = &rh, .iov_len = sizeof(rh) },
		{ .iov_base = rep, .iov_len = rep_max },
	};
	int got = 0, ret;
	ssize_t n;

	if (sizeof(h) + req_len + data_len > HV_MSG_MAX)
		return -E2BIG;
	if (nfds)
		*nfds = 0;
	if (rep_len)
		*rep_len = 0;
	memset(&cm, 0, sizeof(cm));
	if (send_fd >= 0) {
		struct cmsghdr *c;

		msg.msg_control = cm.buf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int));
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &send_fd, sizeof(int));
	}
	pthread_mutex_lock(&hv->lock);
	h.seq = ++hv->seq;
	do {
		n = sendmsg(hv->fd, &msg, MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		ret = -errno;
		goto out;
	}
	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = riov;
	msg.msg_iovlen = 2;
	msg.msg_control = cm.buf;
	msg.msg_controllen = sizeof(cm.buf);
	do {
		n = recvmsg(hv->fd, &msg, MSG_CMSG_CLOEXEC);
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		ret = -errno;
		goto out;
	}
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
			int f;

			memcpy(&f, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (fds && got < HV_MSG_MAX_FDS)
				fds[got++] = f;
			else
				close(f);
		}
	}
	if (n == 0) {
		ret = -ECONNRESET;	/* hv went away, or cut us off */
	} else if ((size_t)n < sizeof(rh) || (msg.msg_flags & MSG_TRUNC) ||
		   rh.seq != h.seq || rh.op != op || rh.len != (size_t)n - sizeof(rh)) {
		ret = -EPROTO;
	} else {
		ret = rh.ret;
		if (rep_len)
			*rep_len = rh.len;
	}
out:
	pthread_mutex_unlock(&hv->lock);
	if (ret < 0 && got) {
		for (int i = 0; i < got; i++)
			close(fds[i]);
		got = 0;
	}
	if (nfds)
		*nfds = got;
	return ret;
}

int lp_simple(struct pvio_hv *hv, uint32_t op, const void *req, size_t req_len,
	      void *rep, size_t rep_max)
{
	return lp_call(hv, op, req, req_len, NULL, 0, -1, rep, rep_max, NULL,
		       NULL, NULL);
}

int pvio_hv_version(struct pvio_hv *hv, uint32_t *version)
{
	int ret = lp_simple(hv, HV_OP_VERSION, NULL, 0, NULL, 0);

	if (ret < 0)
		return ret;
	*version = (uint32_t)ret;
	return 0;
}

int pvio_hv_stats(struct pvio_hv *hv, struct pvio_hv_stats *st)
{
	size_t len;
	int ret;

	memset(st, 0, sizeof(*st));
	ret = lp_call(hv, HV_OP_STATS, NULL, 0, NULL, 0, -1, st, sizeof(*st),
		      &len, NULL, NULL);
	return ret < 0 ? ret : 0;
}

int pvio_domain_create(struct pvio_hv *hv, const struct pvio_domain_config *cfg,
		       pvio_domid_t *domid)
{
	int ret = lp_simple(hv, HV_OP_DOMAIN_CREATE, cfg, sizeof(*cfg), NULL, 0);

	if (ret < 0)
		return ret;
	*domid = (pvio_domid_t)ret;
	return 0;
}

static int domid_op(struct pvio_hv *hv, uint32_t op, pvio_domid_t domid,
		    uint32_t arg)
{
	struct hv_domid_arg a = { .domid = domid, .arg = arg };

	return lp_simple(hv, op, &a, sizeof(a), NULL, 0);
}

int pvio_domain_destroy(struct pvio_hv *hv, pvio_domid_t domid)
{
	return domid_op(hv, HV_OP_DOMAIN_DESTROY, domid, 0);
}

int pvio_domain_pause(struct pvio_hv *hv, pvio_domid_t domid)
{
	return domid_op(hv, HV_OP_DOMAIN_PAUSE, domid, 0);
}

int pvio_domain_unpause(struct pvio_hv *hv, pvio_domid_t domid)
{
	return domid_op(hv, HV_OP_DOMAIN_UNPAUSE, domid, 0);
}

int pvio_domain_shutdown(struct pvio_hv *hv, pvio_domid_t domid, uint32_t reason)
{
	return domid_op(hv, HV_OP_DOMAIN_SHUTDOWN, domid, reason);
}

int pvio_domain_info(struct pvio_hv *hv, pvio_domid_t domid,
		     struct pvio_domain_info *info)
{
	struct hv_domid_arg a = { .domid = domid };
	size_t len;
	int ret;

	ret = lp_call(hv, HV_OP_DOMAIN_INFO, &a, sizeof(a), NULL, 0, -1, info,
		      sizeof(*info), &len, NULL, NULL);
	if (ret < 0)
		return ret;
	return len == sizeof(*info) ? 0 : -EPROTO;
}

int pvio_domain_list(struct pvio_hv *hv, struct pvio_domain_info **out,
		     unsigned int *n)
{
	struct pvio_domain_info *v = malloc(HV_PAYLOAD_MAX);
	size_t len;
	int ret;

	if (!v)
		return -ENOMEM;
	ret = lp_call(hv, HV_OP_DOMAIN_LIST, NULL, 0, NULL, 0, -1, v,
		      HV_PAYLOAD_MAX, &len, NULL, NULL);
	if (ret < 0 || len % sizeof(*v) || len / sizeof(*v) != (size_t)ret) {
		free(v);
		return ret < 0 ? ret : -EPROTO;
	}
	*out = v;
	*n = (unsigned int)ret;
	return 0;
}

bool pvio_domain_gone(struct pvio_hv *hv, const struct pvio_domain_info *v,
		      unsigned int n, pvio_domid_t domid)
{
	struct pvio_domain_info info;

	for (unsigned int i = 0; i < n; i++)
		if (v[i].domid == domid)
			return false;
	/* a full reply may have left domains out: ask about this one */
	if (n >= HV_PAYLOAD_MAX / sizeof(*v))
		return pvio_domain_info(hv, domid, &info) == -ESRCH;
	return true;
}

int pvio_domain_map_platform(struct pvio_hv *hv, pvio_domid_t domid,
			     void **region)
{
	struct hv_domid_arg a = { .domid = domid };
	int fds[HV_MSG_MAX_FDS], nfds, ret;
	void *p;

	ret = lp_call(hv, HV_OP_GET_PLATFORM, &a, sizeof(a), NULL, 0, -1, NULL,
		      0, NULL, fds, &nfds);
	if (ret < 0)
		return ret;
	if (nfds != 1) {
		for (int i = 0; i < nfds; i++)
			close(fds[i]);
		return -EPROTO;
	}
	p = mmap(NULL, PVIO_PLATFORM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		 fds[0], 0);
	ret = p == MAP_FAILED ? -errno : 0;
	close(fds[0]);
	if (ret == 0)
		*region = p;
	return ret;
}

int pvio_domain_config_get(struct pvio_hv *hv, pvio_domid_t domid,
			   struct pvio_domain_config *cfg)
{
	struct hv_domid_arg a = { .domid = domid };
	size_t len;
	int ret;

	ret = lp_call(hv, HV_OP_DOMAIN_CONFIG, &a, sizeof(a), NULL, 0, -1, cfg,
		      sizeof(*cfg), &len, NULL, NULL);
	if (ret < 0)
		return ret;
	if (len != sizeof(*cfg))
		return -EPROTO;
	/* strings from hv are terminated, but do not rely on it */
	cfg->name[sizeof(cfg->name) - 1] = 0;
	cfg->kernel[sizeof(cfg->kernel) - 1] = 0;
	cfg->ramdisk[sizeof(cfg->ramdisk) - 1] = 0;
	cfg->cmdline[sizeof(cfg->cmdline) - 1] = 0;
	cfg->dm_args[sizeof(cfg->dm_args) - 1] = 0;
	return 0;
}

int pvio_domain_suspend_ctl(struct pvio_hv *hv, pvio_domid_t domid,
			    uint32_t how)
{
	struct hv_domid_arg a = { .domid = domid, .arg = how };

	return lp_simple(hv, HV_OP_DOMAIN_SUSPEND, &a, sizeof(a), NULL, 0);
}

int pvio_domain_dirty_sync(struct pvio_hv *hv, pvio_domid_t domid)
{
	struct hv_domid_arg a = { .domid = domid };

	return lp_simple(hv, HV_OP_DOMAIN_DIRTY_SYNC, &a, sizeof(a), NULL, 0);
}

int pvio_domain_import(struct pvio_hv *hv, pvio_domid_t domid,
		       const uint64_t *gfn, uint32_t nr_frames,
		       const uint32_t *ports, uint32_t nr_ports)
{
	struct hv_import_arg a = { .domid = domid, .nr_frames = nr_frames,
				   .nr_ports = nr_ports };
	size_t len = sizeof(a) + nr_frames * sizeof(*gfn) +
		     nr_ports * sizeof(*ports);
	char *buf;
	int ret;

	if (nr_frames > PVIO_GNTTAB_MAX_FRAMES || nr_ports > HV_IMPORT_MAX_PORTS ||
	    len > HV_PAYLOAD_MAX)
		return -EINVAL;
	buf = malloc(len);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, &a, sizeof(a));
	memcpy(buf + sizeof(a), gfn, nr_frames * sizeof(*gfn));
	memcpy(buf + sizeof(a) + nr_frames * sizeof(*gfn), ports,
	       nr_ports * sizeof(*ports));
	ret = lp_simple(hv, HV_OP_DOMAIN_IMPORT, buf, len, NULL, 0);
	free(buf);
	return ret;
}

int pvio_domain_ports(struct pvio_hv *hv, pvio_domid_t domid,
		      struct hv_port_info **out, uint32_t *nr,
		      uint32_t *store_port)
{
	struct hv_domid_arg a = { .domid = domid };
	size_t cap = sizeof(struct hv_ports_reply) +
		     HV_PORTS_MAX * sizeof(struct hv_port_info);
	struct hv_ports_reply rep;
	char *buf = malloc(cap);
	size_t len = 0;
	int ret;

	*out = NULL;
	*nr = 0;
	if (!buf)
		return -ENOMEM;
	ret = lp_call(hv, HV_OP_DOMAIN_PORTS, &a, sizeof(a), NULL, 0, -1, buf,
		      cap, &len, NULL, NULL);
	if (ret >= 0 && len < sizeof(rep))
		ret = -EPROTO;
	if (ret >= 0) {
		memcpy(&rep, buf, sizeof(rep));
		if (rep.nr > HV_PORTS_MAX ||
		    len != sizeof(rep) + rep.nr * sizeof(**out)) {
			ret = -EPROTO;
		} else {
			*out = malloc(rep.nr ? rep.nr * sizeof(**out) : 1);
			if (!*out) {
				ret = -ENOMEM;
			} else {
				memcpy(*out, buf + sizeof(rep),
				       rep.nr * sizeof(**out));
				*nr = rep.nr;
				*store_port = rep.store_port;
				ret = 0;
			}
		}
	}
	free(buf);
	return ret;
}

int pvio_domain_map_memory(struct pvio_hv *hv, pvio_domid_t domid,
			   struct pvio_domain_memory *m)
{
	struct hv_domid_arg a = { .domid = domid };
	struct hv_ram_reply rep;
	int fds[HV_MSG_MAX_FDS], nfds = 0, ret;
	size_t len;
	void *ram, *dl;

	memset(m, 0, sizeof(*m));
	ret = lp_call(hv, HV_OP_GET_RAM, &a, sizeof(a), NULL, 0, -1, &rep,
		      sizeof(rep), &len, fds, &nfds);
	if (ret < 0)
		return ret;
	if (nfds != 2 || len != sizeof(rep) || rep.nr_pages == 0) {
		for (int i = 0; i < nfds; i++)
			close(fds[i]);
		return nfds == 1 ? -EOPNOTSUPP : -EPROTO;
	}
	ram = mmap(NULL, rep.nr_pages * PVIO_PAGE_SIZE, PROT_READ | PROT_WRITE,
		   MAP_SHARED, fds[0], 0);
	ret = ram == MAP_FAILED ? -errno : 0;
	dl = mmap(NULL, lp_dirty_bytes(rep.nr_pages), PROT_READ | PROT_WRITE,
		  MAP_SHARED, fds[1], 0);
	if (!ret && dl == MAP_FAILED)
		ret = -errno;
	close(fds[0]);
	close(fds[1]);
	if (ret) {
		if (ram != MAP_FAILED)
			munmap(ram, rep.nr_pages * PVIO_PAGE_SIZE);
		if (dl != MAP_FAILED)
			munmap(dl, lp_dirty_bytes(rep.nr_pages));
		return ret;
	}
	m->ram = ram;
	m->nr_pages = rep.nr_pages;
	m->dirty = dl;
	m->nr_gnt_frames = rep.nr_gnttab_frames > PVIO_GNTTAB_MAX_FRAMES ?
			   0 : rep.nr_gnttab_frames;
	memcpy(m->gnt_gfn, rep.gnttab_gfn, sizeof(m->gnt_gfn));
	return 0;
}

void pvio_domain_unmap_memory(struct pvio_domain_memory *m)
{
	if (m->ram)
		munmap(m->ram, m->nr_pages * PVIO_PAGE_SIZE);
	if (m->dirty)
		munmap(m->dirty, lp_dirty_bytes(m->nr_pages));
	memset(m, 0, sizeof(*m));
}

int pvio_domain_qmp(struct pvio_hv *hv, pvio_domid_t domid, const char *json,
		    char **reply)
{
	struct hv_domid_arg a = { .domid = domid };
	size_t tl = strlen(json), len;
	char *rep;
	int ret;

	*reply = NULL;
	if (!tl || tl > HV_QMP_TEXT_MAX)
		return -EINVAL;
	rep = malloc(HV_PAYLOAD_MAX + 1);
	if (!rep)
		return -ENOMEM;
	ret = lp_call(hv, HV_OP_DOMAIN_QMP, &a, sizeof(a), json, tl, -1, rep,
		      HV_PAYLOAD_MAX, &len, NULL, NULL);
	if ((ret == 0 || ret == -EIO) && len > 0) {
		rep[len] = 0;
		*reply = rep;
		return ret;
	}
	free(rep);
	return ret ? ret : -EPROTO;
}

int pvio_domain_set_process(struct pvio_hv *hv, pvio_domid_t domid, pid_t pid,
			    int pidfd)
{
	struct hv_domid_arg a = { .domid = domid, .arg = (uint32_t)pid };

	return lp_call(hv, HV_OP_DOMAIN_SET_PROCESS, &a, sizeof(a), NULL, 0,
		       pidfd, NULL, 0, NULL, NULL, NULL);
}

int pvio_hv_dmesg(struct pvio_hv *hv, bool clear, char **text)
{
	struct hv_domid_arg a = { .arg = clear };
	char *buf = malloc(HV_PAYLOAD_MAX + 1);
	size_t len;
	int ret;

	if (!buf)
		return -ENOMEM;
	ret = lp_call(hv, HV_OP_DMESG, &a, sizeof(a), NULL, 0, -1, buf,
		      HV_PAYLOAD_MAX, &len, NULL, NULL);
	if (ret < 0) {
		free(buf);
		return ret;
	}
	buf[len] = 0;
	*text = buf;
	return 0;
}

int pvio_domain_rename(struct pvio_hv *hv, pvio_domid_t domid,
		       const char *name)
{
	struct hv_rename_arg a = { .domid = domid };

	if (strlen(name) >= sizeof(a.name))
		return -ENAMETOOLONG;
	strcpy(a.name, name);
	return lp_simple(hv, HV_OP_DOMAIN_RENAME, &a, sizeof(a), NULL, 0);
}
