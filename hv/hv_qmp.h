/* SPDX-License-Identifier: MIT */
/*
 * hv's QMP client (hv_qmp.c): one connection to one QEMU's QMP socket.
 * Commands are JSON objects built with jansson; each carries an id and is
 * answered by the reply with that id only. Events are kept apart from
 * replies: handed to an optional callback as they arrive and queued
 * (at most 64, the oldest dropped) until popped or waited for.
 *
 * Not thread-safe: one user at a time (hv's loop).
 */
#ifndef PVIO_HV_QMP_H
#define PVIO_HV_QMP_H

#include <stddef.h>
#include <sys/types.h>
#include <jansson.h>

#define HV_QMP_TIMEOUT_MS	10000

struct hv_qmp;

/*
 * Connect to QEMU's QMP socket @path (retrying up to @timeout_ms while it
 * does not exist yet), read the greeting and leave capabilities
 * negotiation. 0 or -errno.
 */
int hv_qmp_connect(const char *path, int timeout_ms, struct hv_qmp **out);
void hv_qmp_close(struct hv_qmp *q);

/*
 * Run QMP command @cmd with @args (a JSON object, borrowed; NULL for
 * none) and wait up to @timeout_ms (<= 0: HV_QMP_TIMEOUT_MS) for its
 * reply. 0 with *@ret (if @ret is not NULL) the reply's "return" value,
 * a new reference for json_decref(); -EIO if QEMU answered with an error
 * ("Class: description" in @err); -ETIMEDOUT, or -errno of the transport
 * (then the connection is unusable: close it). @err may be NULL.
 */
int hv_qmp_call(struct hv_qmp *q, const char *cmd, json_t *args,
		json_t **ret, int timeout_ms, char *err, size_t errlen);

/* The socket, to poll for POLLIN in an event loop (then hv_qmp_pump). */
int hv_qmp_fd(const struct hv_qmp *q);
/*
 * Read what QEMU sent without blocking and queue its events: 0, or
 * -ECONNRESET (QEMU closed the connection) / -errno.
 */
int hv_qmp_pump(struct hv_qmp *q);

/* Called with every event as it is parsed (borrowed reference). */
typedef void (*hv_qmp_event_fn)(void *arg, json_t *event);
void hv_qmp_set_event_fn(struct hv_qmp *q, hv_qmp_event_fn fn, void *arg);
/* The oldest queued event (new reference), or NULL if none. */
json_t *hv_qmp_event_pop(struct hv_qmp *q);
/*
 * Wait up to @timeout_ms for an event named @name (already queued, or
 * arriving), remove it from the queue; others stay queued. 0 with *@ev
 * (a new reference, if @ev is not NULL), -ETIMEDOUT or -errno.
 */
int hv_qmp_event_wait(struct hv_qmp *q, const char *name, int timeout_ms,
		      json_t **ev);
/* Events dropped because the queue was full. */
unsigned long hv_qmp_events_dropped(const struct hv_qmp *q);

/* ---- commands hv uses, on top of hv_qmp_call ---- */

/* A command without arguments (e.g. "stop", "cont", "quit"): as call. */
int hv_qmp_command(struct hv_qmp *q, const char *cmd, char *err, size_t errlen);
/*
 * Thread ids of the vCPUs (query-cpus-fast), indexed by cpu-index (0 where
 * none): the highest index + 1, or -errno.
 */
int hv_qmp_vcpu_tids(struct hv_qmp *q, pid_t *tids, unsigned int max);
/*
 * Hand @fd to QEMU as @name (getfd), e.g. for "migrate fd:NAME": 0, -EIO
 * if QEMU refused, -errno.
 */
int hv_qmp_getfd(struct hv_qmp *q, int fd, const char *name);
/* Paused ("stop") or running, from query-status: 1 running, 0 not, -errno. */
int hv_qmp_running(struct hv_qmp *q);

#endif /* PVIO_HV_QMP_H */
