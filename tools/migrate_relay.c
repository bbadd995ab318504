// SPDX-License-Identifier: MIT
/*
 * QEMU's migration stream passes through pvio migrate on its way to the
 * destination: QEMU writes into one end of a socket pair (given to it
 * with getfd, "fd:" URI), a thread splices the other end onto the TCP
 * connection to the destination's QEMU.
 *
 * That makes the brake pvio needs while the guest suspends (QEMU must not
 * end its last pass and stop the guest by itself meanwhile) a matter of
 * not reading: QEMU's writes block once the pair's small buffer is full,
 * and go on the moment the thread reads again. QEMU's own rate limit,
 * the other way to hold a pass back, makes its migration thread sleep out
 * the rest of a 100 ms window after the limit is raised again; that wait
 * was part of every guest's downtime.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "migrate.h"

/* at most this much is read from QEMU per step, and after a brake */
#define RELAY_CHUNK	(64 * 1024)
/* what QEMU may write ahead of us (the pair's send buffer) */
#define RELAY_QEMU_BUF	(64 * 1024)

struct mig_relay {
	int qemu_fd;		/* our end of the pair */
	int tcp_fd;
	int pipe[2];
	int kick;		/* eventfd: the brake moved, or stop */
	pthread_t thread;
	bool started;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool braked;		/* asked: read nothing more from QEMU */
	bool parked;		/* the thread reads nothing more */
	bool stop;
	int err;		/* -errno that ended the relay */
	long long bytes;
};

static void relay_kick(struct mig_relay *r)
{
	uint64_t one = 1;

	if (write(r->kick, &one, sizeof(one)) < 0 && errno != EAGAIN)
		perror("pvio: migrate relay");
}

/* Everything in the pipe goes to the destination; -errno on failure. */
static int relay_drain(struct mig_relay *r, ssize_t n)
{
	while (n > 0) {
		/* no SPLICE_F_MORE: the stream's last bytes must not wait */
		ssize_t m = splice(r->pipe[0], NULL, r->tcp_fd, NULL, n,
				   SPLICE_F_MOVE);

		if (m < 0 && errno == EINTR)
			continue;
		if (m <= 0)
			return m < 0 ? -errno : -EPIPE;
		n -= m;
	}
	return 0;
}

static void *relay_thread(void *arg)
{
	struct mig_relay *r = arg;
	int rc = 0;

	for (;;) {
		struct pollfd p[2] = {
			{ .fd = r->kick, .events = POLLIN },
			{ .fd = r->qemu_fd, .events = POLLIN },
		};
		bool braked, stop;
		ssize_t n;

		pthread_mutex_lock(&r->lock);
		braked = r->braked;
		stop = r->stop;
		if (r->parked != braked) {
			r->parked = braked;
			pthread_cond_broadcast(&r->cond);
		}
		pthread_mutex_unlock(&r->lock);
		if (stop)
			break;
		if (poll(p, braked ? 1 : 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			break;
		}
		if (p[0].revents) {
			uint64_t v;

			if (read(r->kick, &v, sizeof(v)) < 0 && errno != EAGAIN) {
				rc = -errno;
				break;
			}
			continue;	/* look at the brake again first */
		}
		if (braked || !p[1].revents)
			continue;
		n = splice(r->qemu_fd, NULL, r->pipe[1], NULL, RELAY_CHUNK,
			   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n < 0) {
			rc = -errno;
			break;
		}
		if (n == 0) {
			/* QEMU closed its end: the stream is complete */
			shutdown(r->tcp_fd, SHUT_WR);
			break;
		}
		rc = relay_drain(r, n);
		if (rc)
			break;
		__atomic_fetch_add(&r->bytes, n, __ATOMIC_RELAXED);
	}
	/* QEMU's writes fail too, as on a broken direct connection */
	if (rc)
		shutdown(r->qemu_fd, SHUT_RDWR);
	pthread_mutex_lock(&r->lock);
	r->err = rc;
	r->parked = true;	/* nothing is read any more */
	r->stop = true;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

int mig_relay_start(int tcp_fd, int timeout_ms, int *qemu_fd,
		    struct mig_relay **out)
{
	struct timeval tv = { .tv_sec = timeout_ms / 1000,
			      .tv_usec = (timeout_ms % 1000) * 1000 };
	struct mig_relay *r = calloc(1, sizeof(*r));
	int sv[2] = { -1, -1 }, buf = RELAY_QEMU_BUF, rc;

	if (!r)
		return -ENOMEM;
	r->tcp_fd = tcp_fd;
	r->pipe[0] = r->pipe[1] = r->kick = r->qemu_fd = -1;
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->cond, NULL);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) ||
	    pipe2(r->pipe, O_CLOEXEC)) {
		rc = -errno;
		goto fail;
	}
	r->qemu_fd = sv[1];
	r->kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (r->kick < 0) {
		rc = -errno;
		goto fail;
	}
	/* a small buffer on QEMU's side: a brake holds QEMU at once */
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	fcntl(r->pipe[1], F_SETPIPE_SZ, RELAY_CHUNK);
	/* a destination that stops reading fails the relay, not hangs it */
	setsockopt(tcp_fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	rc = -pthread_create(&r->thread, NULL, relay_thread, r);
	if (rc)
		goto fail;
	r->started = true;
	*qemu_fd = sv[0];
	*out = r;
	return 0;
fail:
	if (sv[0] >= 0)
		close(sv[0]);
	r->tcp_fd = -1;		/* the caller's still */
	mig_relay_stop(r);
	return rc;
}

int mig_relay_brake(struct mig_relay *r, bool on)
{
	int rc;

	pthread_mutex_lock(&r->lock);
	r->braked = on;
	relay_kick(r);
	/* on: back once the thread reads nothing more from QEMU */
	while (on && !r->parked && !r->stop)
		pthread_cond_wait(&r->cond, &r->lock);
	rc = r->err;
	pthread_mutex_unlock(&r->lock);
	return rc;
}

int mig_relay_error(struct mig_relay *r)
{
	int rc;

	pthread_mutex_lock(&r->lock);
	rc = r->err;
	pthread_mutex_unlock(&r->lock);
	return rc;
}

long long mig_relay_bytes(const struct mig_relay *r)
{
	return __atomic_load_n(&r->bytes, __ATOMIC_RELAXED);
}

void mig_relay_stop(struct mig_relay *r)
{
	if (!r)
		return;
	if (r->started) {
		pthread_mutex_lock(&r->lock);
		r->stop = true;
		pthread_mutex_unlock(&r->lock);
		relay_kick(r);
		/* a thread blocked on either connection lets go */
		if (r->tcp_fd >= 0)
			shutdown(r->tcp_fd, SHUT_RDWR);
		shutdown(r->qemu_fd, SHUT_RDWR);
		pthread_join(r->thread, NULL);
	}
	if (r->qemu_fd >= 0)
		close(r->qemu_fd);
	if (r->pipe[0] >= 0)
		close(r->pipe[0]);
	if (r->pipe[1] >= 0)
		close(r->pipe[1]);
	if (r->kick >= 0)
		close(r->kick);
	if (r->tcp_fd >= 0)
		close(r->tcp_fd);
	pthread_mutex_destroy(&r->lock);
	pthread_cond_destroy(&r->cond);
	free(r);
}
