// SPDX-License-Identifier: MIT
/*
 * The ivshmem server of one VM: QEMU's ivshmem-doorbell device connects to
 * this socket and receives the platform region and the doorbell eventfds.
 *
 * Wire format (QEMU's ivshmem server protocol): every message is one
 * little-endian int64, optionally with one fd as SCM_RIGHTS. The server
 * sends, in order: the protocol version 0 (no fd); the client's peer id (no
 * fd); -1 with the shared-memory fd; then for each peer, one message "peer
 * id + eventfd" per vector (the client's own vectors are the interrupts it
 * will deliver to its guest; another peer's are doorbell targets). A peer
 * id without an fd announces that the peer left. Besides hv and the
 * guest, hv announces a peer per event channel a dom0 client bound: its
 * vector is that client's eventfd. QEMU 7.2 frees a departed peer's
 * eventfd array but keeps the pointer, so an id must never come back
 * after its departure (the caller hands out fresh ones).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/sockios.h>
#include <sys/un.h>
#include <unistd.h>

#include "hv_vm.h"

struct hv_ivshmem {
	int listen_fd;
	int conn_fd;
	int shm_fd;
	int doorbell_fd;		/* hv's vector 0 */
	unsigned int vectors;
	int vector_fd[HV_IVSHMEM_MAX_VECTORS];	/* the guest's vectors */
	char path[108];
};

static int ivshmem_send(int fd, int64_t msg, int passfd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = &msg, .iov_len = sizeof(msg) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	/* x86-64 only (the platform is little-endian), so no byte swap */
	if (passfd >= 0) {
		struct cmsghdr *c;

		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = sizeof(u.buf);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &passfd, sizeof(int));
	}
	do {
		n = sendmsg(fd, &mh, MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n == sizeof(msg) ? 0 : -EIO;
}

int hv_ivshmem_open(const char *path, int shm_fd, unsigned int vectors,
		    struct hv_ivshmem **out)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct hv_ivshmem *s;
	unsigned int i;
	int ret;

	if (vectors == 0 || vectors > HV_IVSHMEM_MAX_VECTORS || shm_fd < 0)
		return -EINVAL;
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->conn_fd = -1;
	s->shm_fd = shm_fd;
	s->vectors = vectors;
	for (i = 0; i < HV_IVSHMEM_MAX_VECTORS; i++)
		s->vector_fd[i] = -1;
	strcpy(s->path, path);
	strcpy(sa.sun_path, path);

	s->doorbell_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->doorbell_fd < 0) {
		ret = -errno;
		goto err_free;
	}
	for (i = 0; i < vectors; i++) {
		s->vector_fd[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (s->vector_fd[i] < 0) {
			ret = -errno;
			goto err_fds;
		}
	}
	s->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC |
			      SOCK_NONBLOCK, 0);
	if (s->listen_fd < 0) {
		ret = -errno;
		goto err_fds;
	}
	unlink(path);
	if (bind(s->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(s->listen_fd, 2) < 0) {
		ret = -errno;
		close(s->listen_fd);
		goto err_fds;
	}
	*out = s;
	return 0;

err_fds:
	for (i = 0; i < vectors; i++)
		if (s->vector_fd[i] >= 0)
			close(s->vector_fd[i]);
	close(s->doorbell_fd);
err_free:
	free(s);
	return ret;
}

void hv_ivshmem_close(struct hv_ivshmem *s)
{
	unsigned int i;

	if (!s)
		return;
	hv_ivshmem_disconnect(s);
	close(s->listen_fd);
	unlink(s->path);
	for (i = 0; i < s->vectors; i++)
		close(s->vector_fd[i]);
	close(s->doorbell_fd);
	free(s);
}

int hv_ivshmem_listen_fd(const struct hv_ivshmem *s)
{
	return s->listen_fd;
}

int hv_ivshmem_conn_fd(const struct hv_ivshmem *s)
{
	return s->conn_fd;
}

void hv_ivshmem_disconnect(struct hv_ivshmem *s)
{
	if (s->conn_fd >= 0)
		close(s->conn_fd);
	s->conn_fd = -1;
}

int hv_ivshmem_accept(struct hv_ivshmem *s)
{
	struct timeval tv = { .tv_sec = 5 };
	unsigned int i;
	int fd, ret;

	fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* QEMU reads the setup synchronously; never let it stall hv for long */
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	ret = ivshmem_send(fd, 0, -1);			/* protocol version */
	if (!ret)
		ret = ivshmem_send(fd, HV_IVSHMEM_GUEST_PEER, -1);
	if (!ret)
		ret = ivshmem_send(fd, -1, s->shm_fd);
	if (!ret)
		ret = ivshmem_send(fd, PVIO_HV_PEER, s->doorbell_fd);
	for (i = 0; !ret && i < s->vectors; i++)
		ret = ivshmem_send(fd, HV_IVSHMEM_GUEST_PEER, s->vector_fd[i]);
	if (ret) {
		close(fd);
		return ret;
	}
	hv_ivshmem_disconnect(s);
	s->conn_fd = fd;
	return 0;
}

int hv_ivshmem_doorbell_fd(const struct hv_ivshmem *s)
{
	return s->doorbell_fd;
}

uint64_t hv_ivshmem_doorbell_ack(struct hv_ivshmem *s)
{
	uint64_t v;

	if (read(s->doorbell_fd, &v, sizeof(v)) != sizeof(v))
		return 0;
	return v;
}

int hv_ivshmem_raise(struct hv_ivshmem *s, unsigned int vector)
{
	uint64_t one = 1;

	if (vector >= s->vectors)
		return -EINVAL;
	/* EAGAIN means the counter is saturated: an interrupt is pending anyway */
	if (write(s->vector_fd[vector], &one, sizeof(one)) < 0 &&
	    errno != EAGAIN)
		return -errno;
	return 0;
}

int hv_ivshmem_vector_fd(const struct hv_ivshmem *s, unsigned int vector)
{
	return vector < s->vectors ? s->vector_fd[vector] : -1;
}

unsigned int hv_ivshmem_vectors(const struct hv_ivshmem *s)
{
	return s->vectors;
}

int hv_ivshmem_peer_add(struct hv_ivshmem *s, unsigned int peer, int fd)
{
	if (peer <= HV_IVSHMEM_GUEST_PEER || peer <= PVIO_HV_PEER ||
	    peer > 0xffff || fd < 0)
		return -EINVAL;
	if (s->conn_fd < 0)
		return -ENOTCONN;
	return ivshmem_send(s->conn_fd, peer, fd);
}

int hv_ivshmem_peer_del(struct hv_ivshmem *s, unsigned int peer)
{
	if (peer <= HV_IVSHMEM_GUEST_PEER || peer <= PVIO_HV_PEER ||
	    peer > 0xffff)
		return -EINVAL;
	if (s->conn_fd < 0)
		return -ENOTCONN;
	return ivshmem_send(s->conn_fd, peer, -1);
}

int hv_ivshmem_settled(const struct hv_ivshmem *s)
{
	int unread = 0;

	if (s->conn_fd < 0)
		return -ENOTCONN;
	/* bytes sent that the peer has not read yet (AF_UNIX) */
	if (ioctl(s->conn_fd, SIOCOUTQ, &unread) < 0)
		return -errno;
	return unread == 0;
}
