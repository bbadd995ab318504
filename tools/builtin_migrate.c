// SPDX-License-Identifier: MIT
/*
 * pvio save / restore / migrate / migrate-receive, as xl's verbs.
 *
 * save: the guest suspends (its frontends close their connections), QEMU
 * is stopped and writes its migration stream into FILE after a header
 * holding pvio's domain state; the domain is then destroyed (-c: it goes
 * on, its frontends reconnect). restore: the state recreates the domain
 * with QEMU waiting for the stream, its store nodes and devices, and the
 * guest resumes on the new backends.
 *
 * migrate: the receiving side (migrate-receive, started on the destination
 * by its toolstack) gets the state over TCP, builds the domain and opens
 * QEMU's incoming port. The guest's RAM goes live, QEMU to QEMU; once the
 * first pass is done the guest suspends, QEMU finishes, the pages pvio's
 * backends wrote meanwhile (which QEMU cannot see) and the platform region
 * follow on the control connection, then the destination resumes the
 * guest, which reconnects to the destination's backends. Until the source
 * says "go", any failure leaves the guest running on the source.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "pvio/libpvio.h"
#include "../hv/hv_vm.h"
#include "migrate.h"
#include "pvio_cmd.h"
#include "pvio_domstore.h"

#define MIG_PORT		8002
#define MIG_SUSPEND_MS		30000
#define MIG_STREAM_MS		300000
#define MIG_CONNECT_MS		30000

static struct pvio_cmd save_cmd, restore_cmd, migrate_cmd, receive_cmd;

/* A domain by id or name: 0 or -ESRCH (message printed). */
static int domain_lookup(const char *rundir, const char *arg,
			 pvio_domid_t *domid)
{
	struct pvio_domain_info *v = NULL;
	struct pvio_hv *hv;
	unsigned int n = 0;
	char *end;
	long id = strtol(arg, &end, 10);
	int rc;

	rc = pvio_hv_open(rundir, &hv);
	if (rc) {
		fprintf(stderr, "pvio: cannot reach pvio-hv: %s\n", strerror(-rc));
		return rc;
	}
	rc = pvio_domain_list(hv, &v, &n);
	pvio_hv_close(hv);
	for (unsigned int i = 0; !rc && i < n; i++)
		if (v[i].domid != 0 &&
		    ((!*end && v[i].domid == id) || !strcmp(v[i].name, arg))) {
			*domid = v[i].domid;
			free(v);
			return 0;
		}
	free(v);
	fprintf(stderr, "pvio: no domain '%s'\n", arg);
	return -ESRCH;
}

/* ---- save / restore ---- */

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int read_all(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len) {
		ssize_t n = read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -ECONNRESET;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int run_save(int argc, char **argv)
{
	const char *rundir = pvio_rundir(pvio_opt_rundir);
	const char *dom = NULL, *path = NULL;
	char *hdr = NULL;
	struct hv_qmp *q = NULL;
	bool checkpoint = false, stopped = false;
	long long t0 = mig_now_ms(), qd = -1;
	pvio_domid_t domid;
	off_t size;
	int fd = -1, rc;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-c"))
			checkpoint = true;
		else if (argv[i][0] == '-')
			return pvio_cmd_usage(&save_cmd);
		else if (!dom)
			dom = argv[i];
		else if (!path)
			path = argv[i];
		else
			return pvio_cmd_usage(&save_cmd);
	}
	if (!dom || !path)
		return pvio_cmd_usage(&save_cmd);
	if (domain_lookup(rundir, dom, &domid))
		return 1;
	hdr = calloc(1, MIG_SAVE_HDR);
	if (!hdr)
		return 1;
	strcpy(hdr, MIG_SAVE_MAGIC);
	rc = mig_state_collect(rundir, domid, hdr + strlen(MIG_SAVE_MAGIC),
			       MIG_STATE_MAX);
	if (rc) {
		fprintf(stderr, "pvio: domain %u: cannot describe it for a save: %s\n",
			domid, strerror(-rc));
		goto out;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = -errno;
		fprintf(stderr, "pvio: %s: %s\n", path, strerror(errno));
		goto out;
	}
	rc = write_all(fd, hdr, MIG_SAVE_HDR);
	rc = rc ?: mig_qmp_open(rundir, domid, &q);
	if (rc)
		goto out;
	rc = mig_suspend(rundir, domid, MIG_SUSPEND_MS);
	if (rc)
		goto out;
	/* suspended: nothing but QEMU writes the guest now; stop and copy */
	rc = mig_qmp(q, "{\"execute\": \"stop\"}");
	stopped = !rc;
	rc = rc ?: hv_qmp_getfd(q, fd, "pviosave");
	rc = rc ?: mig_qmp(q, "{\"execute\": \"migrate\", \"arguments\": {\"uri\": \"fd:pviosave\"}}");
	rc = rc ?: mig_qmp_wait(q, MIG_STREAM_MS, &qd);
	if (rc || checkpoint) {
		/* back to the guest on this host: its frontends reconnect */
		if (stopped)
			mig_qmp(q, "{\"execute\": \"cont\"}");
		mig_cancel(rundir, domid);
		if (rc) {
			fprintf(stderr, "pvio: save of domain %u failed; it runs on\n",
				domid);
			unlink(path);
			goto out;
		}
	} else {
		hv_qmp_close(q);
		q = NULL;
		mig_domain_remove(rundir, domid);
	}
	size = lseek(fd, 0, SEEK_END);
	printf("Saved domain %u to %s (%lld MiB) in %lld ms%s\n", domid, path,
	       (long long)(size >> 20), mig_now_ms() - t0,
	       checkpoint ? "; it keeps running" : "");
out:
	if (q)
		hv_qmp_close(q);
	if (fd >= 0)
		close(fd);
	free(hdr);
	return rc ? 1 : 0;
}

static int run_restore(int argc, char **argv)
{
	const char *rundir = pvio_rundir(pvio_opt_rundir);
	long long t0 = mig_now_ms();
	struct hv_qmp *q = NULL;
	pvio_domid_t domid = 0;
	bool created = false;
	char *hdr;
	int fd, rc;

	if (argc != 2 || argv[1][0] == '-')
		return pvio_cmd_usage(&restore_cmd);
	fd = open(argv[1], O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "pvio: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	hdr = calloc(1, MIG_SAVE_HDR + 1);
	rc = hdr ? read_all(fd, hdr, MIG_SAVE_HDR) : -ENOMEM;
	if (!rc && strncmp(hdr, MIG_SAVE_MAGIC, strlen(MIG_SAVE_MAGIC)))
		rc = -EINVAL;
	if (rc) {
		fprintf(stderr, "pvio: %s is not a pvio save file\n", argv[1]);
		goto out;
	}
	rc = mig_state_create(rundir, hdr + strlen(MIG_SAVE_MAGIC), &domid);
	if (rc)
		goto out;
	created = true;
	/* the fd's offset is at QEMU's stream: QEMU reads from there */
	rc = mig_qmp_open(rundir, domid, &q);
	rc = rc ?: hv_qmp_getfd(q, fd, "pviorestore");
	rc = rc ?: mig_qmp(q, "{\"execute\": \"migrate-incoming\", \"arguments\": {\"uri\": \"fd:pviorestore\"}}");
	rc = rc ?: mig_qmp_wait(q, MIG_STREAM_MS, NULL);
	rc = rc ?: mig_resume(rundir, domid);
	if (rc)
		goto out;
	rc = pvio_domstore_monitor(rundir, domid);
	if (rc)
		fprintf(stderr, "pvio: no monitor for domain %u: %s\n", domid,
			strerror(-rc));
	rc = mig_wait_connected(rundir, domid, MIG_CONNECT_MS);
	if (rc)
		fprintf(stderr, "pvio: domain %u: not every device reconnected yet\n",
			domid);
	printf("Restored domain %u from %s in %lld ms\n", domid, argv[1],
	       mig_now_ms() - t0);
	rc = 0;
	created = false;
out:
	if (q)
		hv_qmp_close(q);
	if (created)
		mig_domain_remove(rundir, domid);
	close(fd);
	free(hdr);
	return rc ? 1 : 0;
}

/* ---- migration: the control connection ---- */

enum mig_msg {
	MIG_MSG_STATE = 1,	/* source: the domain state text */
	MIG_MSG_READY,		/* destination: "port=N" of QEMU's incoming */
	MIG_MSG_TOPUP,		/* source: mig_topup_collect's blob */
	MIG_MSG_APPLIED,	/* destination: stream and top-up are in */
	MIG_MSG_GO,		/* source: resume it there (no way back) */
	MIG_MSG_DONE,		/* destination: "domid=N" running, devices up */
	MIG_MSG_FAIL,		/* either side: a reason */
};

struct mig_hdr {
	uint32_t type;
	uint32_t pad;
	uint64_t len;
};

#define MIG_MSG_MAX	(3ull << 30)	/* a 2 GiB guest's worth of pages */

static int msg_send(int fd, uint32_t type, const void *buf, size_t len)
{
	struct mig_hdr h = { .type = type, .len = len };
	int rc = write_all(fd, &h, sizeof(h));

	return rc ?: (len ? write_all(fd, buf, len) : 0);
}

/* Next message; *buf malloc'd (NUL-terminated), or -errno. */
static int msg_recv(int fd, uint32_t *type, char **buf, size_t *len)
{
	struct mig_hdr h;
	int rc = read_all(fd, &h, sizeof(h));

	if (rc)
		return rc;
	if (h.len > MIG_MSG_MAX)
		return -EPROTO;
	*buf = malloc(h.len + 1);
	if (!*buf)
		return -ENOMEM;
	rc = read_all(fd, *buf, h.len);
	if (rc) {
		free(*buf);
		*buf = NULL;
		return rc;
	}
	(*buf)[h.len] = 0;
	*type = h.type;
	*len = h.len;
	return 0;
}

/* Wait for message @want; a FAIL or anything else is an error. */
static int msg_expect(int fd, uint32_t want, char **buf, size_t *len)
{
	uint32_t type;
	int rc = msg_recv(fd, &type, buf, len);

	if (rc)
		return rc;
	if (type == want)
		return 0;
	if (type == MIG_MSG_FAIL)
		fprintf(stderr, "pvio: the other side failed: %s\n", *buf);
	free(*buf);
	*buf = NULL;
	return -EPROTO;
}

static int tcp_connect(const char *host, const char *port)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	int fd = -1, one = 1, rc;

	rc = getaddrinfo(host, port, &hints, &res);
	if (rc) {
		fprintf(stderr, "pvio: %s: %s\n", host, gai_strerror(rc));
		return -EHOSTUNREACH;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		if (!connect(fd, ai->ai_addr, ai->ai_addrlen))
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		fprintf(stderr, "pvio: cannot reach pvio migrate-receive at %s:%s\n",
			host, port);
		return -ECONNREFUSED;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

/* dirty-sync-count of a query-migrate reply (QEMU's passes over RAM). */
static long long qmp_passes(struct hv_qmp *q, char *st, size_t stlen)
{
	char *reply = malloc(8192);
	const char *p;
	long long n = -1;

	st[0] = 0;
	if (!reply)
		return -1;
	if (!hv_qmp_execute(q, "{\"execute\": \"query-migrate\"}\n", reply,
			    8192, NULL, 0)) {
		p = strstr(reply, "\"status\": \"");
		if (p)
			snprintf(st, stlen, "%.*s", (int)strcspn(p + 11, "\""),
				 p + 11);
		p = strstr(reply, "\"dirty-sync-count\": ");
		if (p)
			n = atoll(p + 20);
	}
	free(reply);
	return n;
}

static int run_migrate(int argc, char **argv)
{
	const char *rundir = pvio_rundir(pvio_opt_rundir);
	const char *dom = NULL, *host = NULL, *port = "8002";
	long long t0, t_susp = 0, t_stop = 0, t_done, qd = -1;
	char *state = NULL, *msg = NULL, st[32];
	struct hv_qmp *q = NULL;
	bool suspended = false, completed = false, go = false;
	unsigned int pages = 0;
	pvio_domid_t domid;
	void *blob = NULL;
	size_t len, blen = 0;
	int fd = -1, rc;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--port") && i + 1 < argc)
			port = argv[++i];
		else if (argv[i][0] == '-')
			return pvio_cmd_usage(&migrate_cmd);
		else if (!dom)
			dom = argv[i];
		else if (!host)
			host = argv[i];
		else
			return pvio_cmd_usage(&migrate_cmd);
	}
	if (!dom || !host)
		return pvio_cmd_usage(&migrate_cmd);
	if (domain_lookup(rundir, dom, &domid))
		return 1;
	t0 = mig_now_ms();
	state = calloc(1, MIG_STATE_MAX);
	rc = state ? mig_state_collect(rundir, domid, state, MIG_STATE_MAX) :
		     -ENOMEM;
	if (rc) {
		fprintf(stderr, "pvio: domain %u: cannot describe it: %s\n", domid,
			strerror(-rc));
		goto out;
	}
	fd = tcp_connect(host, port);
	if (fd < 0) {
		rc = fd;
		goto out;
	}
	rc = msg_send(fd, MIG_MSG_STATE, state, strlen(state));
	rc = rc ?: msg_expect(fd, MIG_MSG_READY, &msg, &len);
	if (rc)
		goto fail;
	rc = mig_qmp_open(rundir, domid, &q);
	/*
	 * Live copy while the guest runs, but no switch-over before it
	 * suspended (downtime-limit 0): then let QEMU finish.
	 */
	rc = rc ?: mig_qmp(q, "{\"execute\": \"migrate-set-parameters\", \"arguments\": {\"max-bandwidth\": 4294967296, \"downtime-limit\": 0}}");
	rc = rc ?: mig_dirty_reset(rundir, domid);
	rc = rc ?: mig_qmp(q, "{\"execute\": \"migrate\", \"arguments\": {\"uri\": \"tcp:%s:%s\"}}",
			   host, msg + 5);
	free(msg);
	msg = NULL;
	if (rc)
		goto fail;
	/* the first full pass is over once QEMU synced the dirty log twice */
	for (;;) {
		long long n = qmp_passes(q, st, sizeof(st));

		if (strcmp(st, "active") && strcmp(st, "setup")) {
			fprintf(stderr, "pvio: QEMU's migration is %s\n",
				st[0] ? st : "gone");
			rc = -EIO;
			goto fail;
		}
		if (n >= 2)
			break;
		usleep(5000);
	}
	t_susp = mig_now_ms();
	rc = mig_suspend(rundir, domid, MIG_SUSPEND_MS);
	if (rc)
		goto fail;
	suspended = true;
	rc = mig_qmp(q, "{\"execute\": \"migrate-set-parameters\", \"arguments\": {\"downtime-limit\": 300}}");
	rc = rc ?: mig_qmp_wait(q, MIG_STREAM_MS, &qd);
	if (rc)
		goto fail;
	completed = true;
	t_stop = mig_now_ms();
	rc = mig_topup_collect(rundir, domid, &blob, &blen, &pages);
	rc = rc ?: msg_send(fd, MIG_MSG_TOPUP, blob, blen);
	rc = rc ?: msg_expect(fd, MIG_MSG_APPLIED, &msg, &len);
	if (rc)
		goto fail;
	free(msg);
	msg = NULL;
	/* from here on the guest belongs to the destination */
	go = true;
	rc = msg_send(fd, MIG_MSG_GO, NULL, 0);
	rc = rc ?: msg_expect(fd, MIG_MSG_DONE, &msg, &len);
	if (rc) {
		fprintf(stderr, "pvio: domain %u: the destination did not confirm; the guest is left paused here\n",
			domid);
		goto out;
	}
	t_done = mig_now_ms();
	hv_qmp_close(q);
	q = NULL;
	mig_domain_remove(rundir, domid);
	printf("Migrated domain %u to %s (%s): downtime %lld ms (QEMU's own %lld ms, guest suspended %lld ms before the stop), total %lld ms, %u pages topped up\n",
	       domid, host, msg, t_done - t_susp, qd, t_stop - t_susp,
	       t_done - t0, pages);
	rc = 0;
	goto out;
fail:
	/* the guest stays here: undo whatever was started */
	if (fd >= 0)
		msg_send(fd, MIG_MSG_FAIL, "source gave up", 14);
	if (q && !completed)
		mig_qmp(q, "{\"execute\": \"migrate_cancel\"}");
	if (q && completed)
		mig_qmp(q, "{\"execute\": \"cont\"}");
	if (suspended || t_susp)
		mig_cancel(rundir, domid);
	if (!go)
		fprintf(stderr, "pvio: migration of domain %u failed; it runs on here\n",
			domid);
out:
	if (q)
		hv_qmp_close(q);
	if (fd >= 0)
		close(fd);
	free(blob);
	free(msg);
	free(state);
	return rc ? 1 : 0;
}

static int listen_on(const char *addr, unsigned int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd, one = 1;

	if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
		fprintf(stderr, "pvio: --listen wants an IPv4 address, not '%s'\n",
			addr);
		return -EINVAL;
	}
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 1)) {
		int rc = -errno;

		fprintf(stderr, "pvio: cannot listen on %s:%u: %s\n", addr, port,
			strerror(errno));
		close(fd);
		return rc;
	}
	return fd;
}

/* One incoming migration on connection @c. */
static int receive_one(const char *rundir, const char *addr, unsigned int port,
		       int c)
{
	char *msg = NULL, reply[64];
	struct hv_qmp *q = NULL;
	pvio_domid_t domid = 0;
	bool created = false;
	size_t len;
	int rc;

	rc = msg_expect(c, MIG_MSG_STATE, &msg, &len);
	rc = rc ?: mig_state_create(rundir, msg, &domid);
	free(msg);
	msg = NULL;
	if (rc)
		goto fail;
	created = true;
	rc = mig_qmp_open(rundir, domid, &q);
	rc = rc ?: mig_qmp(q, "{\"execute\": \"migrate-incoming\", \"arguments\": {\"uri\": \"tcp:%s:%u\"}}",
			   addr, port + 1);
	snprintf(reply, sizeof(reply), "port=%u", port + 1);
	rc = rc ?: msg_send(c, MIG_MSG_READY, reply, strlen(reply));
	rc = rc ?: msg_expect(c, MIG_MSG_TOPUP, &msg, &len);
	/* the source sends the top-up once its QEMU is done sending */
	rc = rc ?: mig_qmp_wait(q, MIG_STREAM_MS, NULL);
	rc = rc ?: mig_topup_apply(rundir, domid, msg, len);
	free(msg);
	msg = NULL;
	rc = rc ?: msg_send(c, MIG_MSG_APPLIED, NULL, 0);
	rc = rc ?: msg_expect(c, MIG_MSG_GO, &msg, &len);
	free(msg);
	msg = NULL;
	if (rc)
		goto fail;
	created = false;	/* ours now, whatever happens */
	rc = mig_resume(rundir, domid);
	if (!rc && pvio_domstore_monitor(rundir, domid))
		fprintf(stderr, "pvio: no monitor for domain %u\n", domid);
	if (!rc && mig_wait_connected(rundir, domid, MIG_CONNECT_MS))
		fprintf(stderr, "pvio: domain %u: not every device reconnected yet\n",
			domid);
	snprintf(reply, sizeof(reply), "domain %u", domid);
	if (rc)
		msg_send(c, MIG_MSG_FAIL, "resume failed", 13);
	else
		msg_send(c, MIG_MSG_DONE, reply, strlen(reply));
	printf("Received domain %u%s\n", domid, rc ? ", but it did not resume" : "");
	hv_qmp_close(q);
	return rc;
fail:
	snprintf(reply, sizeof(reply), "receiver: %s", strerror(-rc));
	msg_send(c, MIG_MSG_FAIL, reply, strlen(reply));
	if (q)
		hv_qmp_close(q);
	if (created)
		mig_domain_remove(rundir, domid);
	fprintf(stderr, "pvio: incoming migration failed: %s\n", strerror(-rc));
	return rc;
}

static int run_receive(int argc, char **argv)
{
	const char *rundir = pvio_rundir(pvio_opt_rundir);
	const char *addr = "0.0.0.0";
	unsigned int port = MIG_PORT;
	bool once = false;
	int lfd, rc = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--listen") && i + 1 < argc)
			addr = argv[++i];
		else if (!strcmp(argv[i], "--port") && i + 1 < argc)
			port = (unsigned int)strtoul(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--once"))
			once = true;
		else
			return pvio_cmd_usage(&receive_cmd);
	}
	if (!port || port >= 65535)
		return pvio_cmd_usage(&receive_cmd);
	lfd = listen_on(addr, port);
	if (lfd < 0)
		return 1;
	printf("Waiting for migrations on %s:%u\n", addr, port);
	fflush(stdout);
	do {
		int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

		if (c < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			break;
		}
		rc = receive_one(rundir, addr, port, c);
		close(c);
		fflush(stdout);
	} while (!once);
	close(lfd);
	return rc ? 1 : 0;
}

static struct pvio_cmd save_cmd = {
	.name = "save",
	.usage = "[-c] DOMAIN FILE   (-c: checkpoint, the domain keeps running)",
	.help = "save a VM (QEMU's stream and pvio's domain state) to a file",
	.run = run_save,
};
PVIO_CMD(save_cmd);

static struct pvio_cmd restore_cmd = {
	.name = "restore",
	.usage = "FILE",
	.help = "recreate a VM from a file written by pvio save",
	.run = run_restore,
};
PVIO_CMD(restore_cmd);

static struct pvio_cmd migrate_cmd = {
	.name = "migrate",
	.usage = "[--port N] DOMAIN HOST   (HOST runs pvio migrate-receive)",
	.help = "move a running VM to another host's pvio stack",
	.run = run_migrate,
};
PVIO_CMD(migrate_cmd);

static struct pvio_cmd receive_cmd = {
	.name = "migrate-receive",
	.usage = "[--listen ADDR] [--port N] [--once]",
	.help = "accept VMs migrated from another host (QEMU's stream on port N+1)",
	.run = run_receive,
};
PVIO_CMD(receive_cmd);
