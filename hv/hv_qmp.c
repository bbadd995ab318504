// SPDX-License-Identifier: MIT
/*
 * A small QMP client: hv drives its QEMU children (stop, cont, powerdown,
 * reset, quit, vCPU thread ids) over their QMP sockets. QMP messages are
 * JSON objects, one per line; QEMU is hv's own child, but replies are still
 * parsed with bounds: a malformed line is an error, never an overrun.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "hv_vm.h"

#define QMP_LINE_MAX	65536
#define QMP_TIMEOUT_MS	10000

struct hv_qmp {
	int fd;
	size_t len;			/* bytes buffered in buf */
	char buf[QMP_LINE_MAX];
};

static long long qmp_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Next line into @line (NUL-terminated, without the newline): 0 or -errno. */
static int qmp_read_line(struct hv_qmp *q, char *line, size_t max)
{
	long long end = qmp_now_ms() + QMP_TIMEOUT_MS;

	for (;;) {
		char *nl = memchr(q->buf, '\n', q->len);
		struct pollfd p = { .fd = q->fd, .events = POLLIN };
		long long left;
		ssize_t n;

		if (nl) {
			size_t l = (size_t)(nl - q->buf);

			if (l >= max)
				return -EMSGSIZE;
			memcpy(line, q->buf, l);
			line[l] = 0;
			q->len -= l + 1;
			memmove(q->buf, nl + 1, q->len);
			return 0;
		}
		if (q->len == sizeof(q->buf))
			return -EMSGSIZE;
		left = end - qmp_now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		n = poll(&p, 1, (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -ETIMEDOUT;
		n = read(q->fd, q->buf + q->len, sizeof(q->buf) - q->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ECONNRESET;
		q->len += (size_t)n;
	}
}

static int qmp_write(struct hv_qmp *q, const char *s)
{
	size_t len = strlen(s);

	while (len) {
		ssize_t n = send(q->fd, s, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		s += n;
		len -= (size_t)n;
	}
	return 0;
}

/* A top-level key in a QMP reply line: "return", "error", "event". */
static bool qmp_has_key(const char *line, const char *key)
{
	char pat[32];

	snprintf(pat, sizeof(pat), "{\"%s\"", key);
	if (strncmp(line, pat, strlen(pat)) == 0)
		return true;
	snprintf(pat, sizeof(pat), "\"%s\":", key);
	return strstr(line, pat) != NULL;
}

/*
 * Send @json and wait for its answer, skipping events. The answer line is
 * left in @reply. 0, -EIO on an error reply, or -errno.
 */
static int qmp_transact(struct hv_qmp *q, const char *json, char *reply,
			size_t max, char *err, size_t errlen)
{
	int ret = qmp_write(q, json);

	while (!ret) {
		ret = qmp_read_line(q, reply, max);
		if (ret)
			break;
		if (qmp_has_key(reply, "event") && !qmp_has_key(reply, "return"))
			continue;
		if (qmp_has_key(reply, "return"))
			return 0;
		if (qmp_has_key(reply, "error")) {
			const char *d = strstr(reply, "\"desc\": \"");

			if (err && errlen) {
				snprintf(err, errlen, "%s",
					 d ? d + 9 : "unknown QMP error");
				err[strcspn(err, "\"")] = 0;
			}
			return -EIO;
		}
	}
	return ret;
}

int hv_qmp_connect(const char *path, int timeout_ms, struct hv_qmp **out)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	long long end = qmp_now_ms() + timeout_ms;
	struct hv_qmp *q;
	char *line;
	int ret;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	q = calloc(1, sizeof(*q));
	line = malloc(QMP_LINE_MAX);
	if (!q || !line) {
		free(q);
		free(line);
		return -ENOMEM;
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
		if (qmp_now_ms() >= end)
			goto err;
		usleep(20000);
	}
	/* greeting, then leave capabilities negotiation mode */
	ret = qmp_read_line(q, line, QMP_LINE_MAX);
	if (!ret && !qmp_has_key(line, "QMP"))
		ret = -EPROTO;
	if (!ret)
		ret = qmp_transact(q, "{\"execute\": \"qmp_capabilities\"}\n",
				   line, QMP_LINE_MAX, NULL, 0);
	if (ret) {
		close(q->fd);
		goto err;
	}
	free(line);
	*out = q;
	return 0;
err:
	free(line);
	free(q);
	return ret;
}

void hv_qmp_close(struct hv_qmp *q)
{
	if (!q)
		return;
	close(q->fd);
	free(q);
}

int hv_qmp_execute(struct hv_qmp *q, const char *json, char *reply,
		   size_t max, char *err, size_t errlen)
{
	char *line;
	int ret;

	line = malloc(QMP_LINE_MAX);
	if (!line)
		return -ENOMEM;
	ret = qmp_transact(q, json, line, QMP_LINE_MAX, err, errlen);
	if (!ret && reply && max)
		snprintf(reply, max, "%s", line);
	free(line);
	return ret;
}

int hv_qmp_getfd(struct hv_qmp *q, int fd, const char *name)
{
	char json[128], buf[1];
	union {
		char b[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} cm;
	struct iovec iov;
	struct msghdr msg = { 0 };
	struct cmsghdr *c;
	int ret;

	if (strlen(name) > 32 || strpbrk(name, "\"\\\n"))
		return -EINVAL;
	snprintf(json, sizeof(json),
		 "{\"execute\": \"getfd\", \"arguments\": {\"fdname\": \"%s\"}}\n",
		 name);
	/* the fd rides on the first byte of the command */
	buf[0] = json[0];
	iov.iov_base = buf;
	iov.iov_len = 1;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cm.b;
	msg.msg_controllen = sizeof(cm.b);
	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	if (sendmsg(q->fd, &msg, MSG_NOSIGNAL) != 1)
		return -errno;
	ret = hv_qmp_execute(q, json + 1, NULL, 0, NULL, 0);
	return ret;
}

int hv_qmp_command(struct hv_qmp *q, const char *cmd, char *err, size_t errlen)
{
	char json[128];
	char *line;
	int ret;

	if (strlen(cmd) > 64 || strpbrk(cmd, "\"\\\n"))
		return -EINVAL;
	snprintf(json, sizeof(json), "{\"execute\": \"%s\"}\n", cmd);
	line = malloc(QMP_LINE_MAX);
	if (!line)
		return -ENOMEM;
	ret = qmp_transact(q, json, line, QMP_LINE_MAX, err, errlen);
	free(line);
	return ret;
}

int hv_qmp_vcpu_tids(struct hv_qmp *q, pid_t *tids, unsigned int max)
{
	static const char key[] = "\"thread-id\":";
	unsigned int n = 0, depth = 0;
	char *line, *p;
	int ret;

	line = malloc(QMP_LINE_MAX);
	if (!line)
		return -ENOMEM;
	ret = qmp_transact(q, "{\"execute\": \"query-cpus-fast\"}\n", line,
			   QMP_LINE_MAX, NULL, 0);
	/*
	 * {"return": [{"thread-id": T, "props": {"thread-id": topology}...
	 * The vCPU's thread id is the key at object depth 2; the one inside
	 * "props" (depth 3) is a topology index. Entries are in cpu-index
	 * order.
	 */
	for (p = line; !ret && *p && n < max; p++) {
		if (*p == '{') {
			depth++;
		} else if (*p == '}') {
			depth--;
		} else if (*p == '"') {
			char *e;
			long v;

			if (depth != 2 || strncmp(p, key, sizeof(key) - 1)) {
				/* skip the string (QMP keys have no escapes) */
				e = strchr(p + 1, '"');
				if (!e)
					break;
				p = e;
				continue;
			}
			p += sizeof(key) - 1;
			v = strtol(p, &e, 10);
			if (e == p || v <= 0) {
				ret = -EPROTO;
				break;
			}
			tids[n++] = (pid_t)v;
			p = e - 1;
		}
	}
	free(line);
	return ret ? ret : (int)n;
}

int hv_qmp_running(struct hv_qmp *q)
{
	char *line;
	int ret;

	line = malloc(QMP_LINE_MAX);
	if (!line)
		return -ENOMEM;
	ret = qmp_transact(q, "{\"execute\": \"query-status\"}\n", line,
			   QMP_LINE_MAX, NULL, 0);
	if (!ret)
		ret = strstr(line, "\"running\": true") != NULL;
	free(line);
	return ret;
}
