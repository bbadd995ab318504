// SPDX-License-Identifier: MIT
/*
 * A QMP client: hv drives its QEMU children (stop, cont, powerdown, reset,
 * quit, vCPU queries, CPU hotplug, monitor pass-through) over their QMP
 * sockets. Every line QEMU sends is one JSON object, parsed with jansson;
 * every command carries an id of ours and only the reply with that id
 * answers it (a late reply to a command that timed out is dropped).
 * Asynchronous events ({"event": ...}) are kept apart: handed to the
 * owner's callback and queued (bounded) for hv_qmp_event_wait/pop. QEMU is
 * hv's own child, but its lines are still bounded and checked: a malformed
 * line is skipped, never an overrun.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "hv_qmp.h"

#define QMP_LINE_MAX		(1u << 20)	/* one reply, e.g. HMP output */
#define QMP_EVENTS_MAX		64		/* queued, oldest dropped */

struct hv_qmp {
	int fd;
	uint64_t next_id;
	char *buf;			/* QMP_LINE_MAX bytes */
	size_t len;			/* bytes buffered in buf */
	json_t *events;			/* array, oldest first */
	unsigned long nr_dropped;	/* events dropped from a full queue */
	hv_qmp_event_fn event_fn;
	void *event_arg;
};

static long long qmp_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void qmp_seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void qmp_seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* An event: to the callback, then to the bounded queue. */
static void qmp_event_add(struct hv_qmp *q, json_t *ev)
{
	if (q->event_fn)
		q->event_fn(q->event_arg, ev);
	if (json_array_size(q->events) >= QMP_EVENTS_MAX) {
		json_array_remove(q->events, 0);
		q->nr_dropped++;
	}
	json_array_append_new(q->events, ev);
}

/*
 * Take one complete line out of the buffer, if there is one: 1 with *msg
 * set (a JSON object, new reference), 1 with *msg NULL for a line that is
 * not one (skipped), 0 if no complete line yet, -EMSGSIZE if a line
 * exceeds QMP_LINE_MAX.
 */
static int qmp_take_line(struct hv_qmp *q, json_t **msg)
{
	char *nl = memchr(q->buf, '\n', q->len);
	json_error_t jerr;
	size_t l;

	*msg = NULL;
	if (!nl)
		return q->len == QMP_LINE_MAX ? -EMSGSIZE : 0;
	l = (size_t)(nl - q->buf);
	*msg = json_loadb(q->buf, l, JSON_REJECT_DUPLICATES, &jerr);
	if (*msg && !json_is_object(*msg)) {
		json_decref(*msg);
		*msg = NULL;
	}
	q->len -= l + 1;
	memmove(q->buf, nl + 1, q->len);
	return 1;
}

/* Read once (waiting up to @wait_ms, 0: not at all): 0 or -errno. */
static int qmp_fill(struct hv_qmp *q, int wait_ms)
{
	struct pollfd p = { .fd = q->fd, .events = POLLIN };
	ssize_t n;
	int r;

	r = poll(&p, 1, wait_ms);
	if (r < 0)
		return errno == EINTR ? 0 : -errno;
	if (r == 0)
		return -EAGAIN;
	n = recv(q->fd, q->buf + q->len, QMP_LINE_MAX - q->len, MSG_DONTWAIT);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	if (n == 0)
		return -ECONNRESET;
	q->len += (size_t)n;
	return 0;
}

/*
 * Next message that is not an event (events are queued on the way), before
 * the absolute deadline @end (monotonic ms). 0 with *msg, or -errno.
 */
static int qmp_next_reply(struct hv_qmp *q, long long end, json_t **msg)
{
	for (;;) {
		long long left;
		int r = qmp_take_line(q, msg);

		if (r < 0)
			return r;
		if (r > 0) {
			if (!*msg)
				continue;	/* not a JSON object: skip */
			if (json_is_string(json_object_get(*msg, "event"))) {
				qmp_event_add(q, *msg);
				continue;
			}
			return 0;
		}
		left = end - qmp_now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		r = qmp_fill(q, left > 60000 ? 60000 : (int)left);
		if (r && r != -EAGAIN)
			return r;
	}
}

static int qmp_send(struct hv_qmp *q, json_t *obj)
{
	char *s = json_dumps(obj, JSON_COMPACT);
	size_t len, off = 0;
	int ret = 0;

	if (!s)
		return -ENOMEM;
	len = strlen(s);
	s[len] = '\n';	/* json_dumps left room for the NUL: reuse it */
	len++;
	while (off < len) {
		ssize_t n = send(q->fd, s + off, len - off, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			break;
		}
		off += (size_t)n;
	}
	free(s);
	return ret;
}

/* {"error": {"class": C, "desc": D}} -> "C: D" */
static void qmp_error_text(json_t *msg, char *err, size_t errlen)
{
	json_t *e = json_object_get(msg, "error");
	const char *cls = json_string_value(json_object_get(e, "class"));
	const char *desc = json_string_value(json_object_get(e, "desc"));

	qmp_seterr(err, errlen, "%s%s%s", cls ? cls : "",
		   cls && desc ? ": " : "", desc ? desc : (cls ? "" : "QMP error"));
}

int hv_qmp_call(struct hv_qmp *q, const char *cmd, json_t *args,
		json_t **ret, int timeout_ms, char *err, size_t errlen)
{
	long long end = qmp_now_ms() + (timeout_ms > 0 ? timeout_ms :
					HV_QMP_TIMEOUT_MS);
	char id[32];
	json_t *req, *msg;
	int r;

	if (ret)
		*ret = NULL;
	if (!q || !cmd || !*cmd || (args && !json_is_object(args)))
		return -EINVAL;
	snprintf(id, sizeof(id), "pvio-%llu", (unsigned long long)++q->next_id);
	req = json_pack("{s:s, s:s}", "execute", cmd, "id", id);
	if (!req)
		return -ENOMEM;
	if (args && json_object_set(req, "arguments", args)) {
		json_decref(req);
		return -ENOMEM;
	}
	r = qmp_send(q, req);
	json_decref(req);
	if (r) {
		qmp_seterr(err, errlen, "sending %s: %s", cmd, strerror(-r));
		return r;
	}
	for (;;) {
		const char *rid;

		r = qmp_next_reply(q, end, &msg);
		if (r) {
			qmp_seterr(err, errlen, "%s: %s", cmd,
				   r == -ETIMEDOUT ? "no reply in time" :
				   strerror(-r));
			return r;
		}
		rid = json_string_value(json_object_get(msg, "id"));
		if (!rid || strcmp(rid, id)) {
			/* a late reply to an earlier command, or noise */
			json_decref(msg);
			continue;
		}
		if (json_object_get(msg, "return")) {
			if (ret)
				*ret = json_incref(json_object_get(msg, "return"));
			json_decref(msg);
			return 0;
		}
		if (json_object_get(msg, "error"))
			qmp_error_text(msg, err, errlen);
		else
			qmp_seterr(err, errlen, "%s: reply without return or error",
				   cmd);
		json_decref(msg);
		return -EIO;
	}
}

int hv_qmp_connect(const char *path, int timeout_ms, struct hv_qmp **out)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	long long end = qmp_now_ms() + timeout_ms;
	struct hv_qmp *q;
	json_t *msg = NULL;
	int ret;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->buf = malloc(QMP_LINE_MAX);
	q->events = json_array();
	if (!q->buf || !q->events) {
		ret = -ENOMEM;
		goto err;
	}
	for (;;) {
		q->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (q->fd < 0) {
			ret = -errno;
			goto err;
		}
		if (connect(q->fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			break;
		ret = -errno;
		close(q->fd);
		q->fd = -1;
		if (qmp_now_ms() >= end)
			goto err;
		usleep(20000);
	}
	/* the greeting {"QMP": {...}}, then leave capabilities negotiation */
	if (end - qmp_now_ms() < 1000)
		end = qmp_now_ms() + 1000;
	ret = qmp_next_reply(q, end, &msg);
	if (!ret && !json_is_object(json_object_get(msg, "QMP")))
		ret = -EPROTO;
	json_decref(msg);
	if (!ret)
		ret = hv_qmp_call(q, "qmp_capabilities", NULL, NULL,
				  (int)(end - qmp_now_ms()), NULL, 0);
	if (ret)
		goto err;
	*out = q;
	return 0;
err:
	hv_qmp_close(q);
	return ret;
}

void hv_qmp_close(struct hv_qmp *q)
{
	if (!q)
		return;
	if (q->fd >= 0)
		close(q->fd);
	json_decref(q->events);
	free(q->buf);
	free(q);
}

int hv_qmp_fd(const struct hv_qmp *q)
{
	return q->fd;
}

void hv_qmp_set_event_fn(struct hv_qmp *q, hv_qmp_event_fn fn, void *arg)
{
	q->event_fn = fn;
	q->event_arg = arg;
}

int hv_qmp_pump(struct hv_qmp *q)
{
	json_t *msg;
	int r;

	for (;;) {
		r = qmp_fill(q, 0);
		if (r == -EAGAIN)
			break;
		if (r)
			return r;
		while ((r = qmp_take_line(q, &msg)) > 0) {
			/* no command is waiting: only events matter here */
			if (msg && json_is_string(json_object_get(msg, "event")))
				qmp_event_add(q, msg);
			else
				json_decref(msg);
		}
		if (r < 0)
			return r;
	}
	return 0;
}

json_t *hv_qmp_event_pop(struct hv_qmp *q)
{
	json_t *ev;

	if (!json_array_size(q->events))
		return NULL;
	ev = json_incref(json_array_get(q->events, 0));
	json_array_remove(q->events, 0);
	return ev;
}

int hv_qmp_event_wait(struct hv_qmp *q, const char *name, int timeout_ms,
		      json_t **ev)
{
	long long end = qmp_now_ms() + timeout_ms;

	for (;;) {
		size_t i;
		json_t *e;
		json_t *msg;
		int r;

		json_array_foreach(q->events, i, e) {
			const char *n = json_string_value(json_object_get(e, "event"));

			if (n && !strcmp(n, name)) {
				if (ev)
					*ev = json_incref(e);
				json_array_remove(q->events, i);
				return 0;
			}
		}
		r = qmp_take_line(q, &msg);
		if (r < 0)
			return r;
		if (r > 0) {
			if (msg && json_is_string(json_object_get(msg, "event")))
				qmp_event_add(q, msg);
			else
				json_decref(msg);
			continue;
		}
		if (qmp_now_ms() >= end)
			return -ETIMEDOUT;
		r = qmp_fill(q, (int)(end - qmp_now_ms()));
		if (r && r != -EAGAIN)
			return r;
	}
}

unsigned long hv_qmp_events_dropped(const struct hv_qmp *q)
{
	return q->nr_dropped;
}

/* ---- commands hv uses ---- */

int hv_qmp_command(struct hv_qmp *q, const char *cmd, char *err, size_t errlen)
{
	return hv_qmp_call(q, cmd, NULL, NULL, HV_QMP_TIMEOUT_MS, err, errlen);
}

int hv_qmp_vcpu_tids(struct hv_qmp *q, pid_t *tids, unsigned int max)
{
	json_t *ret, *cpu;
	unsigned int n = 0;
	size_t i;
	int r;

	memset(tids, 0, max * sizeof(*tids));
	r = hv_qmp_call(q, "query-cpus-fast", NULL, &ret, HV_QMP_TIMEOUT_MS,
			NULL, 0);
	if (r)
		return r;
	if (!json_is_array(ret)) {
		json_decref(ret);
		return -EPROTO;
	}
	/* [{"cpu-index": i, "thread-id": T, "props": {...}}, ...] */
	json_array_foreach(ret, i, cpu) {
		json_t *tid = json_object_get(cpu, "thread-id");
		json_t *idx = json_object_get(cpu, "cpu-index");
		json_int_t t = json_integer_value(tid);
		json_int_t x = json_integer_value(idx);

		if (!json_is_integer(tid) || t <= 0 || t > INT32_MAX ||
		    !json_is_integer(idx) || x < 0) {
			r = -EPROTO;
			break;
		}
		if ((unsigned long long)x >= max)
			continue;
		tids[x] = (pid_t)t;
		if ((unsigned int)x + 1 > n)
			n = (unsigned int)x + 1;
	}
	json_decref(ret);
	return r ? r : (int)n;
}

int hv_qmp_running(struct hv_qmp *q)
{
	json_t *ret;
	int r;

	r = hv_qmp_call(q, "query-status", NULL, &ret, HV_QMP_TIMEOUT_MS,
			NULL, 0);
	if (r)
		return r;
	r = json_is_boolean(json_object_get(ret, "running")) ?
	    json_is_true(json_object_get(ret, "running")) : -EPROTO;
	json_decref(ret);
	return r;
}

int hv_qmp_getfd(struct hv_qmp *q, int fd, const char *name)
{
	union {
		char b[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} cm;
	char sp = ' ';
	struct iovec iov = { .iov_base = &sp, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cm.b, .msg_controllen = sizeof(cm.b),
	};
	struct cmsghdr *c;
	json_t *args;
	int ret;

	if (!q || fd < 0 || !name || !*name || strlen(name) > 32)
		return -EINVAL;
	/*
	 * The fd rides on a blank before the command (QEMU's parser skips
	 * it); QEMU keeps the last fd received on the monitor for getfd.
	 */
	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	if (sendmsg(q->fd, &msg, MSG_NOSIGNAL) != 1)
		return -errno;
	args = json_pack("{s:s}", "fdname", name);
	if (!args)
		return -ENOMEM;
	ret = hv_qmp_call(q, "getfd", args, NULL, 0, NULL, 0);
	json_decref(args);
	return ret;
}
