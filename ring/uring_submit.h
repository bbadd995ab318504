/* SPDX-License-Identifier: MIT */
/*
 * Submitting a batch of queued io_uring operations whole, and taking its
 * completions: the TAP writers (netback's tx pass, pvio-netfront-tap)
 * queue a pass's writes and hand them over in one submission.
 */
#ifndef PVIO_URING_SUBMIT_H
#define PVIO_URING_SUBMIT_H

#include <errno.h>
#include <liburing.h>

/*
 * Submit the @n operations queued on @r, waiting for as many completions;
 * what the kernel defers (EINTR, EAGAIN, EBUSY) is tried again. Returns
 * how many were submitted; if fewer than @n, *@err is the error that
 * stopped it and the rest are still queued.
 */
static inline unsigned int pvio_uring_submit_all(struct io_uring *r,
						 unsigned int n, int *err)
{
	unsigned int done = 0;
	int ret;

	*err = 0;
	while (done < n) {
		ret = io_uring_submit_and_wait(r, n - done);
		if (ret < 0 && ret != -EINTR && ret != -EAGAIN && ret != -EBUSY) {
			*err = ret;
			break;
		}
		if (ret > 0)
			done += (unsigned int)ret;
	}
	return done;
}

/*
 * Take @n completions of @r, handing each to @fn (an interrupted wait is
 * waited again); stops early only if the ring itself fails.
 */
static inline void pvio_uring_reap(struct io_uring *r, unsigned int n,
				   void (*fn)(void *arg,
					      const struct io_uring_cqe *c),
				   void *arg)
{
	while (n) {
		struct io_uring_cqe *c;
		int ret = io_uring_wait_cqe(r, &c);

		if (ret == -EINTR)
			continue;
		if (ret < 0)
			break;
		fn(arg, c);
		io_uring_cqe_seen(r, c);
		n--;
	}
}

#endif /* PVIO_URING_SUBMIT_H */
