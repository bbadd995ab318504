// SPDX-License-Identifier: MIT
/*
 * hv's QMP client (hv/hv_qmp.c) against a real QEMU and against a hostile
 * QMP peer.
 *
 *   qmp_client qemu SOCKET   QEMU (-M none -S) serves SOCKET: status,
 *                            stop/cont with their events kept apart,
 *                            arguments, HMP pass-through, errors
 *   qmp_client evil DIR      a scripted peer on DIR/evil.sock: events that
 *                            carry "return", replies with foreign ids,
 *                            garbage lines, a late reply after a timeout,
 *                            an endless line
 *
 * Exit 0 pass, 1 fail.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../hv/hv_qmp.h"

static int failures;

#define CHECK(cond, ...)						\
	do {								\
		if (!(cond)) {						\
			fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
			fprintf(stderr, __VA_ARGS__);			\
			fputc('\n', stderr);				\
			failures++;					\
		}							\
	} while (0)

static const char *str_of(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

static int test_qemu(const char *sock)
{
	struct hv_qmp *q;
	json_t *ret, *ev, *args;
	char err[256];
	int r;

	r = hv_qmp_connect(sock, 10000, &q);
	CHECK(r == 0, "connect %s: %s", sock, strerror(-r));
	if (r)
		return 1;
	CHECK(hv_qmp_running(q) == 0, "QEMU started with -S is not paused");
	r = hv_qmp_call(q, "cont", NULL, NULL, 0, err, sizeof(err));
	CHECK(r == 0, "cont: %s", err);
	CHECK(hv_qmp_running(q) == 1, "not running after cont");
	r = hv_qmp_command(q, "stop", err, sizeof(err));
	CHECK(r == 0, "stop: %s", err);
	/* the events came in while we waited for replies: kept apart */
	r = hv_qmp_event_wait(q, "STOP", 5000, &ev);
	CHECK(r == 0, "no STOP event: %s", strerror(-r));
	json_decref(ev);
	r = hv_qmp_event_wait(q, "RESUME", 5000, &ev);
	CHECK(r == 0, "no RESUME event: %s", strerror(-r));
	CHECK(r || json_is_object(json_object_get(ev, "timestamp")),
	      "RESUME event without timestamp");
	json_decref(ev);
	CHECK(hv_qmp_event_wait(q, "STOP", 200, NULL) == -ETIMEDOUT,
	      "the STOP event was handed out twice");

	r = hv_qmp_call(q, "query-version", NULL, &ret, 0, err, sizeof(err));
	CHECK(r == 0 && json_is_object(json_object_get(ret, "qemu")),
	      "query-version: %s", err);
	json_decref(ret);

	args = json_pack("{s:s}", "command-line", "info version");
	r = hv_qmp_call(q, "human-monitor-command", args, &ret, 0, err,
			sizeof(err));
	json_decref(args);
	CHECK(r == 0 && json_is_string(ret) &&
	      json_string_length(ret) > 0, "HMP info version: %s", err);
	json_decref(ret);

	r = hv_qmp_call(q, "no-such-command", NULL, NULL, 0, err, sizeof(err));
	CHECK(r == -EIO && strstr(err, "CommandNotFound"),
	      "unknown command: %d '%s'", r, err);
	args = json_pack("{s:i}", "no-such-argument", 1);
	r = hv_qmp_call(q, "query-status", args, NULL, 0, err, sizeof(err));
	json_decref(args);
	CHECK(r == -EIO && strstr(err, "GenericError"),
	      "bad argument: %d '%s'", r, err);
	/* the connection is still in step after errors */
	CHECK(hv_qmp_running(q) == 0, "query-status after errors");

	r = hv_qmp_call(q, "quit", NULL, NULL, 0, err, sizeof(err));
	CHECK(r == 0 || r == -ECONNRESET, "quit: %d %s", r, err);
	hv_qmp_close(q);
	return failures ? 1 : 0;
}

/* ---- the hostile peer ---- */

static void peer_send(int fd, const char *line)
{
	size_t len = strlen(line);

	if (write(fd, line, len) != (ssize_t)len || write(fd, "\n", 1) != 1)
		_exit(2);
}

/* The id of the next command the client sends. */
static char *peer_read_id(int fd, char *name, size_t nlen)
{
	static char buf[65536];
	static size_t have;
	json_t *o;
	char *nl, *id;
	ssize_t n;

	while (!(nl = memchr(buf, '\n', have))) {
		n = read(fd, buf + have, sizeof(buf) - have);
		if (n <= 0)
			_exit(3);
		have += (size_t)n;
	}
	o = json_loadb(buf, (size_t)(nl - buf), 0, NULL);
	have -= (size_t)(nl - buf) + 1;
	memmove(buf, nl + 1, have);
	if (!o)
		_exit(4);
	snprintf(name, nlen, "%s", str_of(o, "execute"));
	id = strdup(str_of(o, "id"));
	json_decref(o);
	return id;
}

static void peer_reply(int fd, const char *id, const char *ret)
{
	char line[512];

	snprintf(line, sizeof(line), "{\"return\": %s, \"id\": \"%s\"}", ret, id);
	peer_send(fd, line);
}

static void evil_peer(int lfd)
{
	char name[64], *id, *late;
	int fd = accept(lfd, NULL, NULL);
	static char big[(1u << 20) + 16];

	if (fd < 0)
		_exit(5);
	peer_send(fd, "{\"QMP\": {\"version\": {}, \"capabilities\": []}}");
	id = peer_read_id(fd, name, sizeof(name));
	peer_reply(fd, id, "{}");
	free(id);

	/* 1: noise around the real reply */
	id = peer_read_id(fd, name, sizeof(name));
	peer_send(fd, "{\"event\": \"FAKE\", \"data\": {\"return\": 1}, "
		      "\"timestamp\": {\"seconds\": 1, \"microseconds\": 0}}");
	peer_send(fd, "{\"return\": {\"x\": \"foreign\"}, \"id\": \"pvio-999\"}");
	peer_send(fd, "{\"return\": {\"x\": \"no id\"}}");
	peer_send(fd, "this is not json");
	peer_send(fd, "[1, 2, 3]");
	peer_send(fd, "{\"return\": 1, \"return\": 2}");
	peer_reply(fd, id, "{\"x\": \"right\"}");
	free(id);

	/* 2: an error reply */
	id = peer_read_id(fd, name, sizeof(name));
	peer_send(fd, "{\"error\": {\"class\": \"GenericError\", \"desc\": \"boom\"}, "
		      "\"id\": \"pvio-0\"}");
	snprintf(big, sizeof(big), "{\"error\": {\"class\": \"GenericError\", "
		 "\"desc\": \"refused\"}, \"id\": \"%s\"}", id);
	peer_send(fd, big);
	free(id);

	/* 3: no answer in time; the late answer precedes the next one */
	late = peer_read_id(fd, name, sizeof(name));
	id = peer_read_id(fd, name, sizeof(name));
	peer_reply(fd, late, "{\"x\": \"late\"}");
	peer_reply(fd, id, "{\"x\": \"fourth\"}");
	free(late);
	free(id);

	/* 4: a line that never ends */
	id = peer_read_id(fd, name, sizeof(name));
	memset(big, 'x', sizeof(big));
	big[0] = '{';
	if (write(fd, big, sizeof(big)) < 0)
		_exit(6);
	free(id);
	sleep(2);
	_exit(0);
}

static int test_evil(const char *dir)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct hv_qmp *q;
	json_t *ret, *ev;
	char err[256];
	int lfd, r, st;
	pid_t pid;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/evil.sock", dir);
	unlink(sa.sun_path);
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(lfd, 1)) {
		perror("evil socket");
		return 1;
	}
	pid = fork();
	if (pid == 0)
		evil_peer(lfd);
	close(lfd);

	r = hv_qmp_connect(sa.sun_path, 5000, &q);
	CHECK(r == 0, "connect to the peer: %s", strerror(-r));
	if (r)
		goto out;
	r = hv_qmp_call(q, "first", NULL, &ret, 5000, err, sizeof(err));
	CHECK(r == 0 && !strcmp(str_of(ret, "x"), "right"),
	      "reply matched by id: %d %s x=%s", r, err, str_of(ret, "x"));
	json_decref(ret);
	ev = hv_qmp_event_pop(q);
	CHECK(ev && !strcmp(str_of(ev, "event"), "FAKE"),
	      "the event carrying \"return\" was not queued as an event");
	json_decref(ev);
	CHECK(!hv_qmp_event_pop(q), "a reply was queued as an event");

	r = hv_qmp_call(q, "second", NULL, &ret, 5000, err, sizeof(err));
	CHECK(r == -EIO && ret == NULL && !strcmp(err, "GenericError: refused"),
	      "error reply: %d '%s'", r, err);

	r = hv_qmp_call(q, "third", NULL, &ret, 300, err, sizeof(err));
	CHECK(r == -ETIMEDOUT, "no reply: %d", r);
	r = hv_qmp_call(q, "fourth", NULL, &ret, 5000, err, sizeof(err));
	CHECK(r == 0 && !strcmp(str_of(ret, "x"), "fourth"),
	      "the late reply answered the next command: x=%s", str_of(ret, "x"));
	json_decref(ret);

	r = hv_qmp_call(q, "fifth", NULL, &ret, 5000, err, sizeof(err));
	CHECK(r == -EMSGSIZE, "endless line: %d", r);
	hv_qmp_close(q);
out:
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	unlink(sa.sun_path);
	return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	if (argc == 3 && !strcmp(argv[1], "qemu"))
		return test_qemu(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "evil"))
		return test_evil(argv[2]);
	fprintf(stderr, "usage: qmp_client qemu SOCKET | evil DIR\n");
	return 2;
}
