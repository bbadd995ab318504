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
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "pvio/libpvio.h"
#include "pvio/xenbus.h"
#include "../hv/hv_vm.h"
#include "migrate.h"
#include "pvio_cmd.h"
#include "pvio_domstore.h"

#define MIG_PORT		8002
#define MIG_SUSPEND_MS		30000
/* a QMP question while QEMU may hold its lock (suspend_during_precopy) */
#define MIG_QUERY_MS		300
#define MIG_STREAM_MS		300000
#define MIG_CONNECT_MS		30000
#define MIG_CLOSE_MS		20000	/* backends let go of a suspended guest */
#define MIG_KEPT_MS		10000	/* backends here take the kept rings over */
#define MIG_ATTEMPTS		3	/* QEMU may switch over before the guest suspends */
#define MIG_STEP_MS		60000	/* the other side answers within */
#define MIG_BANDWIDTH		(4ull << 30)	/* bytes/s: as fast as it goes */
#define MIG_DOWNTIME_MS		300		/* QEMU's default */
/* live: how long QEMU is held from switching over for the destination's RAM */
#define MIG_RAM_WAIT_MS		10000
/* the last pass: less than this to send (ms at QEMU's rate) ... */
#define MIG_TARGET_MS		100
#define MIG_PASS_MIN		(8ll << 20)	/* ... or less than this */
#define MIG_PRECOPY_MS		120000	/* ... or the passes took this long */

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

/*
 * All of @len to @fd: write(2) for @flags < 0 (a file), else send(2) with
 * @flags (a socket; MSG_MORE: more follows at once).
 */
static int put_all(int fd, const void *buf, size_t len, int flags)
{
	const char *p = buf;

	while (len) {
		ssize_t n = flags < 0 ? write(fd, p, len) :
			    send(fd, p, len, flags | MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return -ETIMEDOUT;	/* a socket's timeout */
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int write_all(int fd, const void *buf, size_t len)
{
	return put_all(fd, buf, len, -1);
}

static int read_all(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len) {
		ssize_t n = read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return -ETIMEDOUT;	/* a socket's timeout */
		if (n <= 0)
			return n < 0 ? -errno : -ECONNRESET;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * A save file: a 4 KiB header (magic, the lengths of the state text and of
 * the carried store nodes, where QEMU's stream starts), the state text, the
 * store blob, then QEMU's migration stream at a 4 KiB boundary.
 */
#define SAVE_MAGIC	"PVIO-SAVE 2\n"
#define SAVE_HDR	4096

struct save_hdr {
	char magic[16];
	uint64_t text_len;
	uint64_t store_len;
	uint64_t stream_off;
};

static uint64_t stream_offset(uint64_t text_len, uint64_t store_len)
{
	return (SAVE_HDR + text_len + store_len + 4095) & ~4095ull;
}

static int save_write_state(int fd, const char *text, const void *store,
			    size_t store_len)
{
	struct save_hdr h = { .text_len = strlen(text), .store_len = store_len };
	char *block = calloc(1, SAVE_HDR);
	int rc;

	if (!block)
		return -ENOMEM;
	memcpy(h.magic, SAVE_MAGIC, strlen(SAVE_MAGIC));
	h.stream_off = stream_offset(h.text_len, h.store_len);
	memcpy(block, &h, sizeof(h));
	rc = write_all(fd, block, SAVE_HDR);
	rc = rc ?: write_all(fd, text, h.text_len);
	rc = rc ?: write_all(fd, store, store_len);
	free(block);
	if (!rc && lseek(fd, (off_t)h.stream_off, SEEK_SET) < 0)
		rc = -errno;
	return rc;
}

/* The state text and store blob of a save file; its fd left at the stream. */
static int save_read_state(int fd, char **text, void **store,
			   size_t *store_len)
{
	struct save_hdr h;
	char *block = calloc(1, SAVE_HDR);
	int rc;

	*text = NULL;
	*store = NULL;
	if (!block)
		return -ENOMEM;
	rc = read_all(fd, block, SAVE_HDR);
	memcpy(&h, block, sizeof(h));
	free(block);
	if (rc)
		return rc;
	if (memcmp(h.magic, SAVE_MAGIC, strlen(SAVE_MAGIC)) ||
	    h.text_len == 0 || h.text_len >= MIG_STATE_MAX ||
	    h.store_len > MIG_STORE_MAX ||
	    h.stream_off != stream_offset(h.text_len, h.store_len))
		return -EINVAL;
	*text = calloc(1, h.text_len + 1);
	*store = malloc(h.store_len ? h.store_len : 1);
	if (!*text || !*store)
		return -ENOMEM;
	rc = read_all(fd, *text, h.text_len);
	rc = rc ?: read_all(fd, *store, h.store_len);
	if (!rc && strlen(*text) != h.text_len)
		rc = -EINVAL;
	if (!rc && lseek(fd, (off_t)h.stream_off, SEEK_SET) < 0)
		rc = -errno;
	*store_len = h.store_len;
	return rc;
}

static int run_save(int argc, char **argv)
{
	const char *rundir = pvio_rundir(pvio_opt_rundir);
	const char *dom = NULL, *path = NULL;
	char *text = NULL;
	void *store = NULL;
	size_t store_len = 0;
	struct hv_qmp *q = NULL;
	bool checkpoint = false, stopped = false, suspended = false;
	long long t0 = mig_now_ms(), qd = -1;
	pvio_domid_t domid;
	off_t size;
	int fd = -1, rc;

	static const struct option opts[] = {
		{ "checkpoint", no_argument, NULL, 'c' }, { NULL, 0, NULL, 0 },
	};
	int o, code = 0;

	while ((o = pvio_getopt(&save_cmd, argc, argv, "c", opts, &code)) != -1) {
		if (o == -2)
			return code;
		checkpoint = true;
	}
	if (argc - optind != 2)
		return pvio_cmd_usage(&save_cmd);
	dom = argv[optind];
	path = argv[optind + 1];
	if (domain_lookup(rundir, dom, &domid))
		return 1;
	text = calloc(1, MIG_STATE_MAX);
	rc = text ? mig_state_collect(rundir, domid, text, MIG_STATE_MAX) :
		    -ENOMEM;
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
	rc = mig_qmp_open(rundir, domid, &q);
	rc = rc ?: mig_suspend(rundir, domid, MIG_SUSPEND_MS);
	if (rc)
		goto fail;
	suspended = true;
	/* its backends let go of it before anything of it is copied */
	rc = mig_devices_close(rundir, domid);
	rc = rc ?: mig_devices_wait_closed(rundir, domid, MIG_CLOSE_MS);
	if (rc)
		goto fail;
	/* the guest's own store nodes hold still while it is suspended */
	rc = mig_store_collect(rundir, domid, &store, &store_len);
	if (rc)
		fprintf(stderr, "pvio: domain %u: its store nodes: %s\n", domid,
			strerror(-rc));
	rc = rc ?: save_write_state(fd, text, store, store_len);
	if (rc)
		goto fail;
	/* nothing but QEMU writes the guest now; stop and copy */
	rc = mig_qmp(q, "{\"execute\": \"stop\"}");
	stopped = !rc;
	rc = rc ?: hv_qmp_getfd(q, fd, "pviosave");
	rc = rc ?: mig_qmp(q, "{\"execute\": \"migrate\", \"arguments\": {\"uri\": \"fd:pviosave\"}}");
	rc = rc ?: mig_qmp_wait(q, MIG_STREAM_MS, &qd, NULL);
	if (rc)
		goto fail;
	if (checkpoint) {
		/* back to the guest on this host: its frontends reconnect */
		mig_qmp(q, "{\"execute\": \"cont\"}");
		mig_cancel(rundir, domid);
	} else {
		hv_qmp_close(q);
		q = NULL;
		mig_domain_remove(rundir, domid);
	}
	size = lseek(fd, 0, SEEK_END);
	printf("Saved domain %u to %s (%lld MiB) in %lld ms%s\n", domid, path,
	       (long long)(size >> 20), mig_now_ms() - t0,
	       checkpoint ? "; it keeps running" : "");
	goto out;
fail:
	if (stopped)
		mig_source_continue(q);
	if (suspended)
		mig_cancel(rundir, domid);
	fprintf(stderr, "pvio: save of domain %u failed; it runs on\n", domid);
	unlink(path);
out:
	if (q)
		hv_qmp_close(q);
	if (fd >= 0)
		close(fd);
	free(text);
	free(store);
	return rc ? 1 : 0;
}

static int run_restore(int argc, char **argv)
{
	const char *rundir = pvio_rundir(pvio_opt_rundir);
	long long t0 = mig_now_ms();
	struct hv_qmp *q = NULL;
	pvio_domid_t domid = 0;
	bool created = false;
	char *text = NULL;
	void *store = NULL;
	size_t store_len = 0;
	int fd, rc;

	rc = pvio_args_plain(&restore_cmd, &argc, &argv);
	if (rc >= 0)
		return rc;
	if (argc != 2)
		return pvio_cmd_usage(&restore_cmd);
	fd = open(argv[1], O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "pvio: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	rc = save_read_state(fd, &text, &store, &store_len);
	if (rc) {
		fprintf(stderr, "pvio: %s is not a pvio save file (or cut short)\n",
			argv[1]);
		goto out;
	}
	rc = mig_state_create(rundir, text, false, &domid);
	if (rc)
		goto out;
	created = true;
	rc = store_len ? mig_store_apply(rundir, domid, store, store_len) : 0;
	if (rc)
		fprintf(stderr, "pvio: the saved store nodes are unusable: %s\n",
			strerror(-rc));
	/* the fd's offset is at QEMU's stream: QEMU reads from there */
	rc = rc ?: mig_qmp_open(rundir, domid, &q);
	rc = rc ?: hv_qmp_getfd(q, fd, "pviorestore");
	rc = rc ?: mig_qmp(q, "{\"execute\": \"migrate-incoming\", \"arguments\": {\"uri\": \"fd:pviorestore\"}}");
	rc = rc ?: mig_qmp_wait(q, MIG_STREAM_MS, NULL, NULL);
	rc = rc ?: mig_resume(rundir, domid);
	if (rc)
		goto out;
	created = false;
	if (mig_wait_connected(rundir, domid, MIG_CONNECT_MS))
		fprintf(stderr, "pvio: domain %u: not every device reconnected yet\n",
			domid);
	rc = pvio_domstore_monitor(rundir, domid);
	if (rc)
		fprintf(stderr, "pvio: no monitor for domain %u: %s\n", domid,
			strerror(-rc));
	printf("Restored domain %u from %s in %lld ms\n", domid, argv[1],
	       mig_now_ms() - t0);
	rc = 0;
out:
	if (q)
		hv_qmp_close(q);
	if (created)
		mig_domain_remove(rundir, domid);
	close(fd);
	free(text);
	free(store);
	return rc ? 1 : 0;
}

/* ---- migration: the control connection ---- */

enum mig_msg {
	MIG_MSG_STATE = 1,	/* source: the domain state text */
	MIG_MSG_READY,		/* destination: "port=N" of QEMU's incoming */
	MIG_MSG_TOPUP,		/* source: mig_topup_collect's blob */
	MIG_MSG_STORE,		/* source: mig_store_collect's blob */
	MIG_MSG_APPLIED,	/* destination: stream and top-up are in */
	MIG_MSG_GO,		/* source: resume it there (no way back) */
	MIG_MSG_DONE,		/* destination: "domid=N" running, devices up */
	MIG_MSG_FAIL,		/* either side: a reason */
	MIG_MSG_RETRY,		/* source: this attempt is over, another follows */
	MIG_MSG_KEPT,		/* source: mig_kept_collect's text (maybe none) */
	MIG_MSG_RAM,		/* destination: the guest's RAM is allocated here */
};

struct mig_hdr {
	uint32_t type;
	uint32_t pad;
	uint64_t len;
};

#define MIG_MSG_MAX	(3ull << 30)	/* a 2 GiB guest's worth of pages */

/*
 * A message in one go: the header is held back (MSG_MORE) until its body
 * follows, so that neither waits on the peer's delayed ACK.
 */
static int msg_send(int fd, uint32_t type, const void *buf, size_t len)
{
	struct mig_hdr h = { .type = type, .len = len };
	int rc = put_all(fd, &h, sizeof(h), len ? MSG_MORE : 0);

	return rc ?: (len ? put_all(fd, buf, len, 0) : 0);
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

/* Bound every read and write on the control connection by @ms. */
static void msg_timeout(int fd, int ms)
{
	struct timeval tv = { .tv_sec = ms / 1000,
			      .tv_usec = (ms % 1000) * 1000 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/*
 * Wait up to @ms for message @want (a peer that hangs is a failure like
 * one that dies); a FAIL or anything else is an error.
 */
static int msg_expect(int fd, uint32_t want, char **buf, size_t *len, int ms)
{
	uint32_t type;
	int rc;

	msg_timeout(fd, ms);
	rc = msg_recv(fd, &type, buf, len);
	/* what the source waited for only while QEMU copied: late, nothing */
	while (!rc && type == MIG_MSG_RAM) {
		free(*buf);
		*buf = NULL;
		rc = msg_recv(fd, &type, buf, len);
	}
	if (rc == -ETIMEDOUT)
		fprintf(stderr, "pvio: the other side said nothing for %d s\n",
			ms / 1000);
	if (rc)
		return rc;
	if (type == want)
		return 0;
	if (type == MIG_MSG_FAIL)
		fprintf(stderr, "pvio: the other side failed: %s\n", *buf);
	free(*buf);
	*buf = NULL;
	return type == MIG_MSG_RETRY ? -EAGAIN : -EPROTO;
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

static bool mig_verbose;
static bool mig_verify;	/* --verify: the destination checks every page */
static bool mig_no_keep;	/* --no-keep: every device reconnects afresh */
/* --suspend (or a move that cannot be live): the guest suspends */
static bool mig_suspend_mode;

static void progress_log(const struct mig_progress *pr, const char *what)
{
	static long long last;

	if (!mig_verbose || (mig_now_ms() - last < 500 && !what))
		return;
	last = mig_now_ms();
	fprintf(stderr, "pvio: migrate: %s%s%s, %lld MiB sent, %lld MiB to go, pass %lld\n",
		what ? what : "", what ? ": " : "", pr->status,
		pr->transferred >> 20, pr->remaining >> 20, pr->syncs);
}

/* The relay failed: QEMU's migration fails with it. */
static int stream_broke(int rc)
{
	fprintf(stderr, "pvio: QEMU's stream to the destination broke: %s\n",
		strerror(-rc));
	return rc;
}

/*
 * QEMU's passes over the guest's RAM while the guest runs. QEMU stops the
 * VM and switches over by itself whenever a pass leaves less dirty RAM
 * than its downtime limit allows, and always when a pass leaves none; the
 * guest must have suspended by then. So the limit is 1 ms (QEMU starts
 * pass after pass) and pvio decides which pass is the last: the first one
 * that starts with less than MIG_TARGET_MS to send at QEMU's rate, or is
 * not clearly smaller than the one before, or starts with so little that
 * the next one might find nothing dirty (an idle guest). That pass is
 * braked at once (the relay stops reading QEMU's stream), so that it
 * cannot end while the guest suspends: whatever it holds is sent after
 * the suspend (a pass ending before the brake lands would let QEMU stop a
 * guest that left nothing dirty). The end of the first pass, which takes
 * seconds, is not braked. 0 braked, -EAGAIN if QEMU switched over first
 * (the VM is stopped), -errno.
 */
static int precopy_until_brake(struct hv_qmp *q, struct mig_relay *relay,
			       long long t_start)
{
	long long pass = 0, last = -1, bw = 0, t_bw = mig_now_ms();
	long long sent_bw = 0;
	struct mig_progress pr;
	bool final = false;
	int rc;

	for (;;) {
		long long t;

		rc = mig_qmp_progress(q, &pr, 0);
		if (rc)
			return rc;
		progress_log(&pr, NULL);
		if (!strcmp(pr.status, "completed"))
			return -EAGAIN;
		if (strcmp(pr.status, "active") && strcmp(pr.status, "setup")) {
			fprintf(stderr, "pvio: QEMU's migration is %s%s%s\n",
				pr.status[0] ? pr.status : "gone",
				pr.error[0] ? ": " : "", pr.error);
			return -EIO;
		}
		rc = mig_relay_error(relay);
		if (rc)
			return stream_broke(rc);
		t = mig_now_ms();
		/* bytes per ms QEMU sends, over the last half second or more */
		if (t - t_bw >= 500 && pr.transferred > sent_bw) {
			bw = (pr.transferred - sent_bw) / (t - t_bw);
			sent_bw = pr.transferred;
			t_bw = t;
		}
		if (pr.syncs > pass && pr.syncs >= 2) {
			/* a new pass: what the last one left dirty */
			long long left = pr.remaining;

			pass = pr.syncs;
			final = left < MIG_PASS_MIN || bw <= 0 ||
				left <= bw * MIG_TARGET_MS ||
				(last >= 0 && left * 10 >= last * 9) ||
				t - t_start >= MIG_PRECOPY_MS;
			if (mig_verbose)
				fprintf(stderr, "pvio: migrate: pass %lld: %lld KiB dirty, %lld KiB/s%s\n",
					pass, left >> 10, bw * 1000 >> 10,
					final ? ", the last" : "");
			last = left;
		}
		if (final)
			break;
		usleep(1000);
	}
	rc = mig_relay_brake(relay, true);
	if (rc)
		return stream_broke(rc);
	if (mig_verbose)
		progress_log(&pr, "braked");
	return 0;
}

/* QEMU's timestamp of event @ev, in ms of the host's real-time clock. */
static long long qmp_event_ms(json_t *ev)
{
	json_t *ts = json_object_get(ev, "timestamp");

	return json_integer_value(json_object_get(ts, "seconds")) * 1000 +
	       json_integer_value(json_object_get(ts, "microseconds")) / 1000;
}

/*
 * -v: QEMU's switch-over as its own events timed it (the migration
 * capability "events"): when it stopped the guest, waited for us, went on
 * and finished, from its STOP event at @stop_ms.
 */
static void live_timeline(struct hv_qmp *q, long long stop_ms)
{
	char line[256];
	size_t used = 0;
	json_t *ev;

	while ((ev = hv_qmp_event_pop(q))) {
		const char *name = json_string_value(json_object_get(ev, "event"));
		const char *st = json_string_value(json_object_get(
			json_object_get(ev, "data"), "status"));
		int w;

		if (stop_ms > 0 && name && st && !strcmp(name, "MIGRATION") &&
		    used < sizeof(line)) {
			w = snprintf(line + used, sizeof(line) - used, " %s +%lld",
				     st, qmp_event_ms(ev) - stop_ms);
			if (w > 0)
				used += (size_t)w;
		}
		json_decref(ev);
	}
	if (used)
		fprintf(stderr, "pvio: migrate: QEMU's events after its STOP (ms):%s\n",
			line);
}

/*
 * Live: QEMU copies pass after pass and switches over by itself, as for
 * any guest (downtime limit MIG_DOWNTIME_MS); the guest runs and its
 * devices work until QEMU stops it. With pause-before-switchover QEMU
 * then waits (pre-switchover) before its last pass: 0 then; -errno if
 * the migration failed first (QEMU runs the guest on by itself: its
 * devices were never touched). *@stop_ms: QEMU's time of its STOP event.
 */
static int live_until_switchover(struct hv_qmp *q, int fd, long long *stop_ms)
{
	long long t0 = mig_now_ms(), end = t0 + MIG_PRECOPY_MS + MIG_STREAM_MS;
	long long pass = 0;
	struct mig_progress pr;
	bool stopped = false, ram = false;
	int rc;

	for (;;) {
		/*
		 * QEMU may switch over (its downtime limit back to its
		 * default) once the destination has the guest's RAM
		 * allocated (MIG_MSG_RAM), or after MIG_RAM_WAIT_MS.
		 */
		if (!ram && !stopped) {
			struct pollfd p = { .fd = fd, .events = POLLIN };
			bool told = poll(&p, 1, 0) > 0;

			if (told) {
				char *m = NULL;
				uint32_t type;
				size_t n;

				rc = msg_recv(fd, &type, &m, &n);
				if (!rc && type == MIG_MSG_FAIL)
					fprintf(stderr, "pvio: the other side failed: %s\n", m);
				free(m);
				if (rc)
					return rc;
				if (type != MIG_MSG_RAM)
					return -EPROTO;
			}
			if (told || mig_now_ms() - t0 > MIG_RAM_WAIT_MS) {
				ram = true;
				rc = mig_qmp(q, "{\"execute\": \"migrate-set-parameters\", \"arguments\": {\"downtime-limit\": %d}}",
					     MIG_DOWNTIME_MS);
				if (rc)
					return rc;
				if (mig_verbose)
					fprintf(stderr, "pvio: migrate: %s after %lld ms: QEMU may switch over (downtime limit %d ms)\n",
						told ? "the guest's RAM allocated at the destination" :
						"no word of the destination's RAM",
						mig_now_ms() - t0, MIG_DOWNTIME_MS);
			}
		}
		/*
		 * QEMU's STOP event says at once that it stopped the guest;
		 * between events a look at its progress (failures, -v).
		 */
		if (!stopped) {
			json_t *ev = NULL;

			rc = hv_qmp_event_wait(q, "STOP", 20, &ev);
			if (rc && rc != -ETIMEDOUT)
				return rc;
			stopped = !rc;
			if (ev)
				*stop_ms = qmp_event_ms(ev);
			json_decref(ev);
		}
		rc = mig_qmp_progress(q, &pr, 0);
		if (rc)
			return rc;
		progress_log(&pr, NULL);
		if (mig_verbose && pr.syncs > pass) {
			pass = pr.syncs;
			fprintf(stderr, "pvio: migrate: pass %lld: %lld KiB to go\n",
				pass, pr.remaining >> 10);
		}
		if (!strcmp(pr.status, "pre-switchover"))
			return 0;
		/* until the pause QEMU says active, even with the guest stopped */
		if (strcmp(pr.status, "active") && strcmp(pr.status, "setup")) {
			fprintf(stderr, "pvio: QEMU's migration is %s%s%s\n",
				pr.status, pr.error[0] ? ": " : "", pr.error);
			return -EIO;
		}
		if (mig_now_ms() > end) {
			fprintf(stderr, "pvio: QEMU did not switch over within %d s\n",
				(MIG_PRECOPY_MS + MIG_STREAM_MS) / 1000);
			return -ETIMEDOUT;
		}
		if (stopped)
			usleep(200);
	}
}

/* The port of @domid's store ring here (0 if unknown). */
static unsigned int mig_store_port(const char *rundir, pvio_domid_t domid)
{
	struct pvio_domain_info info;
	struct pvio_hv *hv;
	unsigned int port = 0;

	if (pvio_hv_open(rundir, &hv))
		return 0;
	if (!pvio_domain_info(hv, domid, &info))
		port = info.store_port;
	pvio_hv_close(hv);
	return port;
}

static int fe_not_connected(struct xs_handle *xs, const char *dir,
			    const char *type, const char *id, void *arg)
{
	return xenbus_read_state(xs, dir) != XenbusStateConnected;
}

/* Every frontend of @domid Connected (a live move takes them as they are). */
static bool mig_all_connected(const char *rundir, pvio_domid_t domid)
{
	return mig_each_device(rundir, domid, true, fe_not_connected, NULL) == 0;
}

/*
 * Ask the guest to suspend while QEMU is held back; 0 once it has, -EAGAIN
 * if QEMU finished or stopped the VM first, -errno (the suspend is
 * cancelled again). A pass smaller than what the relay had taken, or than
 * the socket pair holds, can end despite the brake: QEMU then stops the
 * VM for a switch-over of its own and waits for the relay with its status
 * still "active" (and hv does not arm a suspend of a stopped VM). It waits
 * in the middle of writing its last pass, holding its big lock: QMP
 * commands go unanswered then (events still come), so every question has
 * a short wait, and an unanswered one is not an error: the STOP event
 * tells.
 */
static int suspend_during_precopy(const char *rundir, pvio_domid_t domid,
				  struct hv_qmp *q)
{
	long long end = mig_now_ms() + MIG_SUSPEND_MS, next_q = 0;
	struct pvio_hv *hv = NULL;
	struct mig_progress pr;
	int rc;

	/* one connection for the whole wait: hv also serves the guest */
	rc = pvio_hv_open(rundir, &hv);
	if (!rc && mig_vm_stopped(q, MIG_QUERY_MS) == 1)
		rc = -EAGAIN;
	rc = rc ?: mig_suspend_start(rundir, domid);
	if (rc && rc != -EOPNOTSUPP && rc != -EAGAIN &&
	    mig_vm_stopped(q, MIG_QUERY_MS) == 1)
		rc = -EAGAIN;
	while (!rc) {
		rc = mig_suspended(hv, domid);
		if (rc == 1) {
			rc = 0;
			break;
		}
		if (rc)
			break;
		if (mig_now_ms() >= next_q) {
			rc = mig_qmp_progress(q, &pr, MIG_QUERY_MS);
			if (!rc && strcmp(pr.status, "active")) {
				fprintf(stderr, "pvio: QEMU's migration went %s before the guest suspended\n",
					pr.status);
				rc = !strcmp(pr.status, "completed") ? -EAGAIN :
								       -EIO;
			}
			if (rc == -ETIMEDOUT)
				rc = 0;	/* QEMU busy, maybe holding its lock */
			if (!rc && mig_vm_stopped(q, MIG_QUERY_MS) == 1)
				rc = -EAGAIN;
			next_q = mig_now_ms() + 20;
		}
		if (!rc && mig_now_ms() > end) {
			fprintf(stderr, "pvio: domain %u did not suspend within %d ms\n",
				domid, MIG_SUSPEND_MS);
			rc = -ETIMEDOUT;
		}
		if (!rc)
			usleep(1000);
	}
	if (hv)
		pvio_hv_close(hv);
	return rc;
}


/*
 * One attempt over the control connection @fd. -EAGAIN: QEMU switched over
 * before the guest suspended (the guest runs on here); with @may_retry the
 * destination is told another attempt follows on the same connection.
 */
static int migrate_once(const char *rundir, pvio_domid_t domid,
			const char *host, int fd, long long t0, bool may_retry)
{
	long long t_susp = 0, t_stop = 0, t_applied = 0, t_done, qd = -1;
	long long qbytes = -1, qstop_ms = 0, t_sstore = 0, t_skept = 0;
	long long t_gone = 0, t_unbrake = 0, t_closed = 0, t_kept = 0, t_qemu = 0;
	char *state = NULL, *msg = NULL, *kept = NULL, qport[8] = "";
	unsigned int nkept = 0, rx_domid = 0, rx_store = 0;
	bool live = false, live_stopped = false;
	size_t klen = 0;
	struct hv_qmp *q = NULL;
	struct mig_relay *relay = NULL;
	bool suspended = false, started = false, go = false, closing = false;
	char fe_list[1024] = "";
	unsigned int pages = 0;
	void *blob = NULL, *store = NULL;
	size_t len, blen = 0, slen = 0;
	int rc;

	state = calloc(1, MIG_STATE_MAX);
	rc = state ? mig_state_collect(rundir, domid, state, MIG_STATE_MAX) :
		     -ENOMEM;
	if (rc) {
		fprintf(stderr, "pvio: domain %u: cannot describe it: %s\n", domid,
			strerror(-rc));
		goto out;
	}
	/* a drained key from an earlier disconnect says nothing of this one */
	mig_kept_clear(rundir, domid);
	msg_timeout(fd, MIG_STEP_MS);
	rc = msg_send(fd, MIG_MSG_STATE, state, strlen(state));
	rc = rc ?: msg_expect(fd, MIG_MSG_READY, &msg, &len, MIG_STEP_MS);
	/* "port=N domid=D store=P": QEMU's port, the guest's id and store port there */
	if (!rc && (sscanf(msg, "port=%5[0-9] domid=%u store=%u", qport,
			   &rx_domid, &rx_store) != 3 || len > 48)) {
		fprintf(stderr, "pvio: the destination answered nonsense\n");
		rc = -EPROTO;
	}
	if (rc)
		goto fail;
	/*
	 * Live (the guest never suspends) where the guest keeps its id and
	 * store port there and every device of it is connected now;
	 * otherwise (or with --suspend, --no-keep) the guest suspends.
	 */
	live = !mig_suspend_mode && !mig_no_keep && rx_domid == domid &&
	       rx_store && rx_store == mig_store_port(rundir, domid) &&
	       mig_all_connected(rundir, domid);
	if (mig_verbose)
		fprintf(stderr, "pvio: migrate: %s\n", live ?
			"live: the guest goes on running until QEMU stops it" :
			"the guest suspends before the switch-over");
	rc = mig_qmp_open(rundir, domid, &q);
	/*
	 * Suspending, QEMU's stream goes to the destination's QEMU through
	 * our relay (its brake holds QEMU's last pass while the guest
	 * suspends). Live, nothing is held: QEMU connects straight to the
	 * destination's QEMU, as for any guest.
	 */
	if (!rc && !live) {
		int tcp = tcp_connect(host, qport), qfd = -1;

		rc = tcp < 0 ? tcp : mig_relay_start(tcp, MIG_STEP_MS, &qfd,
						     &relay);
		if (rc && tcp >= 0)
			close(tcp);
		rc = rc ?: hv_qmp_getfd(q, qfd, "pviomigrate");
		if (qfd >= 0)
			close(qfd);	/* QEMU has its own */
	}
	/*
	 * Suspending: a live copy with no switch-over of QEMU's choosing.
	 * Live: the same until the destination has the guest's RAM
	 * allocated (live_until_switchover), then QEMU switches over when
	 * it sees fit, as for any guest.
	 */
	rc = rc ?: mig_qmp(q, "{\"execute\": \"migrate-set-parameters\", \"arguments\": {\"max-bandwidth\": %llu, \"downtime-limit\": %d}}",
			   MIG_BANDWIDTH, 1);
	/* live: QEMU waits for us once it stopped the guest, before its last pass */
	rc = rc ?: mig_qmp(q, "{\"execute\": \"migrate-set-capabilities\", \"arguments\": {\"capabilities\": [{\"capability\": \"pause-before-switchover\", \"state\": %s}, {\"capability\": \"events\", \"state\": %s}]}}",
			   live ? "true" : "false",
			   live && mig_verbose ? "true" : "false");
	rc = rc ?: mig_dirty_reset(rundir, domid);
	if (live)
		rc = rc ?: mig_qmp(q, "{\"execute\": \"migrate\", \"arguments\": {\"uri\": \"tcp:%s:%s\"}}",
				   host, qport);
	else
		rc = rc ?: mig_qmp(q, "{\"execute\": \"migrate\", \"arguments\": {\"uri\": \"fd:pviomigrate\"}}");
	free(msg);
	msg = NULL;
	started = !rc;
	if (!rc && live) {
		rc = live_until_switchover(q, fd, &qstop_ms);
		if (rc)
			goto fail;
		/* QEMU stopped the guest and waits for us before its last pass */
		t_stop = mig_now_ms();
		live_stopped = true;
		/*
		 * QEMU goes on at once; the backends hold still and answer
		 * what they took meanwhile: they touch nothing of the guest's
		 * once paused, and what they wrote goes with the top-up,
		 * which can then leave before QEMU is done (the destination
		 * applies it once its QEMU has loaded everything).
		 */
		rc = mig_qmp(q, "{\"execute\": \"migrate-continue\", \"arguments\": {\"state\": \"pre-switchover\"}}");
		rc = rc ?: mig_devices_pause(rundir, domid, true);
		if (mig_verbose)
			fprintf(stderr, "pvio: migrate: QEMU stopped the guest; its backends pause while QEMU sends the rest\n");
		rc = rc ?: mig_frontends_connected(rundir, domid, fe_list,
						   sizeof(fe_list));
		/*
		 * The store nodes the guest owns hold still (it is stopped;
		 * the backends pause in their own dirs): they go meanwhile.
		 */
		rc = rc ?: mig_store_collect(rundir, domid, &store, &slen);
		rc = rc ?: msg_send(fd, MIG_MSG_STORE, store, slen);
		t_sstore = mig_now_ms();
		rc = rc ?: mig_devices_wait_paused(rundir, domid, true,
						   MIG_CLOSE_MS);
		t_closed = mig_now_ms();
		if (!rc) {
			rc = mig_kept_collect(rundir, domid, fe_list, true, &kept,
					      &klen, &nkept);
			t_skept = mig_now_ms();
			if (rc == -EXDEV) {
				fprintf(stderr, "pvio: domain %u: not every device can go over as it is; the guest suspends instead\n",
					domid);
				mig_suspend_mode = true;
				rc = -EAGAIN;
			}
		}
		rc = rc ?: msg_send(fd, MIG_MSG_KEPT, kept, klen);
		rc = rc ?: mig_topup_collect(rundir, domid, mig_verify, &blob,
					     &blen, &pages);
		rc = rc ?: msg_send(fd, MIG_MSG_TOPUP, blob, blen);
		t_kept = mig_now_ms();
		rc = rc ?: mig_qmp_wait(q, MIG_STREAM_MS, &qd, &qbytes);
		if (rc)
			goto fail;
		/* from QEMU's stop: its own downtime ends as it is done */
		t_qemu = mig_now_ms();
		if (qd >= 0 && t_qemu - qd < t_stop)
			t_stop = t_qemu - qd;
		goto applied;
	}
	rc = rc ?: precopy_until_brake(q, relay, t0);
	if (rc)
		goto fail;
	t_susp = mig_now_ms();
	rc = suspend_during_precopy(rundir, domid, q);
	if (rc)
		goto fail;
	suspended = true;
	t_gone = mig_now_ms();
	/*
	 * Its backends let go of it (the frontends only dropped their event
	 * channels), while QEMU finishes: what they still write into the
	 * guest goes with the top-up, and nothing of theirs reaches the disk
	 * once the guest runs on the destination.
	 */
	closing = true;
	rc = mig_frontends_connected(rundir, domid, fe_list, sizeof(fe_list));
	rc = rc ?: mig_devices_close(rundir, domid);
	/* the guest's devices are idle: let QEMU finish as it sees fit */
	rc = rc ?: mig_qmp(q, "{\"execute\": \"migrate-set-parameters\", \"arguments\": {\"downtime-limit\": %d}}",
			   MIG_DOWNTIME_MS);
	rc = rc ?: mig_relay_brake(relay, false);
	t_unbrake = mig_now_ms();
	/* meanwhile the store nodes the guest owns (it holds them still) */
	rc = rc ?: mig_store_collect(rundir, domid, &store, &slen);
	rc = rc ?: msg_send(fd, MIG_MSG_STORE, store, slen);
	rc = rc ?: mig_devices_wait_closed(rundir, domid, MIG_CLOSE_MS);
	t_closed = mig_now_ms();
	/* the connections the destination's backends can take over */
	if (!rc && !mig_no_keep &&
	    mig_kept_collect(rundir, domid, fe_list, false, &kept, &klen,
			     &nkept))
		nkept = 0;	/* then none: every device reconnects */
	rc = rc ?: msg_send(fd, MIG_MSG_KEPT, nkept ? kept : "", nkept ? klen : 0);
	t_kept = mig_now_ms();
	rc = rc ?: mig_qmp_wait(q, MIG_STREAM_MS, &qd, &qbytes);
	if (rc)
		goto fail;
	t_stop = mig_now_ms();
	rc = mig_topup_collect(rundir, domid, mig_verify, &blob, &blen,
			       &pages);
	rc = rc ?: msg_send(fd, MIG_MSG_TOPUP, blob, blen);
applied:
	rc = rc ?: msg_expect(fd, MIG_MSG_APPLIED, &msg, &len,
				 MIG_STEP_MS);
	if (rc)
		goto fail;
	free(msg);
	msg = NULL;
	t_applied = mig_now_ms();
	/* from here on the guest belongs to the destination */
	go = true;
	/* the frontends the destination waits for before it says DONE */
	rc = msg_send(fd, MIG_MSG_GO, fe_list, strlen(fe_list));
	rc = rc ?: msg_expect(fd, MIG_MSG_DONE, &msg, &len,
				 MIG_STEP_MS + MIG_CONNECT_MS);
	if (rc) {
		fprintf(stderr, "pvio: domain %u: the destination did not confirm; the guest is left paused here\n",
			domid);
		goto out;
	}
	t_done = mig_now_ms();
	if (live) {
		if (mig_verbose) {
			fprintf(stderr, "pvio: migrate: live (stopped by QEMU; backends paused after %lld ms, kept connections and top-up sent after %lld ms, QEMU done after %lld ms, its own downtime %lld ms, %lld KiB sent in it), stop to applied %lld ms, go to running %lld ms\n",
				t_closed - t_stop, t_kept - t_stop,
				t_qemu - t_stop, qd, qbytes < 0 ? -1 : qbytes >> 10,
				t_applied - t_stop, t_done - t_applied);
			fprintf(stderr, "pvio: migrate: after QEMU's stop (ms): store nodes sent +%lld, backends paused +%lld, kept collected +%lld, top-up sent +%lld\n",
				t_sstore - t_stop, t_closed - t_stop,
				t_skept - t_stop, t_kept - t_stop);
			fprintf(stderr, "pvio: migrate: at (ms): QEMU's stop %lld, QEMU done %lld, APPLIED %lld, DONE %lld\n",
				t_stop, t_qemu, t_applied, t_done);
			live_timeline(q, qstop_ms);
		}
		hv_qmp_close(q);
		q = NULL;
		mig_domain_remove(rundir, domid);
		/* from QEMU's stop of the guest until it runs there */
		printf("Migrated domain %u to %s (%s): downtime %lld ms (QEMU's own %lld ms, moved while it ran: never suspended), total %lld ms, %u pages topped up, %u connection(s) kept\n",
		       domid, host, msg, t_done - t_stop, qd,
		       t_done - t0, pages, nkept);
		rc = 0;
		goto out;
	}
	if (mig_verbose)
		fprintf(stderr, "pvio: migrate: suspend %lld ms (the guest %lld ms, then QEMU %lld ms: released after %lld, backends let go after %lld, kept connections sent after %lld), stop to applied %lld ms, resume to connected %lld ms, %lld KiB sent in QEMU's own downtime, %lld MiB relayed\n",
			t_stop - t_susp, t_gone - t_susp, t_stop - t_gone,
			t_unbrake - t_gone, t_closed - t_gone, t_kept - t_gone,
			t_applied - t_stop, t_done - t_applied,
			qbytes < 0 ? -1 : qbytes >> 10,
			mig_relay_bytes(relay) >> 20);
	hv_qmp_close(q);
	q = NULL;
	mig_domain_remove(rundir, domid);
	printf("Migrated domain %u to %s (%s): downtime %lld ms (QEMU's own %lld ms, guest suspended %lld ms before the stop), total %lld ms, %u pages topped up, %u connection(s) kept\n",
	       domid, host, msg, t_done - t_susp, qd, t_stop - t_susp,
	       t_done - t0, pages, nkept);
	rc = 0;
	goto out;
fail:
	/* the guest stays here: undo whatever was started, then tell */
	if (rc == -EAGAIN && !live)
		fprintf(stderr, "pvio: QEMU switched over before the guest suspended\n");
	/* QEMU may wait in the middle of its last pass, holding its lock */
	if (relay)
		mig_relay_brake(relay, false);
	/*
	 * Live, QEMU done: the guest stays stopped until its backends here
	 * hold its connections again (it never knew they let go).
	 */
	if (live_stopped) {
		mig_devices_pause(rundir, domid, false);
		if (!mig_devices_wait_paused(rundir, domid, false, MIG_KEPT_MS))
			fprintf(stderr, "pvio: domain %u: its backends hold its connections again\n",
				domid);
	}
	if (q && started)
		mig_source_continue(q);
	/* a guest resumed here reconnects: its old connections are gone */
	if (closing)
		mig_devices_wait_closed(rundir, domid, MIG_CLOSE_MS);
	if (suspended || t_susp)
		mig_cancel(rundir, domid);
	msg_timeout(fd, 1000);
	if (rc == -EAGAIN && may_retry && !go)
		msg_send(fd, MIG_MSG_RETRY, NULL, 0);
	else
		msg_send(fd, MIG_MSG_FAIL, "source gave up", 14);
	if (!go)
		fprintf(stderr, "pvio: migration of domain %u failed (%s); it runs on here\n",
			domid, strerror(-rc));
out:
	if (q)
		hv_qmp_close(q);
	mig_relay_stop(relay);
	free(blob);
	free(store);
	free(msg);
	free(state);
	free(kept);
	return rc;
}

static int run_migrate(int argc, char **argv)
{
	const char *rundir = pvio_rundir(pvio_opt_rundir);
	const char *dom = NULL, *host = NULL, *port = "8002";
	long long t0 = mig_now_ms();
	pvio_domid_t domid;
	int fd = -1, rc, attempt;

	static const struct option opts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "verify", no_argument, NULL, 'V' },
		{ "no-keep", no_argument, NULL, 'K' },
		{ "suspend", no_argument, NULL, 'S' }, { NULL, 0, NULL, 0 },
	};
	int o, code = 0;

	while ((o = pvio_getopt(&migrate_cmd, argc, argv, "p:vVKS", opts,
				&code)) != -1) {
		if (o == -2)
			return code;
		if (o == 'p')
			port = optarg;
		else if (o == 'K')
			mig_no_keep = true;
		else if (o == 'S')
			mig_suspend_mode = true;
		else if (o == 'V')
			mig_verify = true;
		else
			mig_verbose = true;
	}
	if (argc - optind != 2)
		return pvio_cmd_usage(&migrate_cmd);
	dom = argv[optind];
	host = argv[optind + 1];
	/* it goes into QEMU's URI as it is */
	if (!host[0] || strspn(host, "abcdefghijklmnopqrstuvwxyz"
			       "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") !=
			       strlen(host) || strspn(port, "0123456789") !=
			       strlen(port)) {
		fprintf(stderr, "pvio: '%s' port '%s': want a host name or IPv4 address and a port number\n",
			host, port);
		return 1;
	}
	if (domain_lookup(rundir, dom, &domid))
		return 1;
	/* a peer that dies is an error to handle, not a signal to die of */
	signal(SIGPIPE, SIG_IGN);
	fd = tcp_connect(host, port);
	if (fd < 0)
		return 1;
	for (attempt = 1;; attempt++) {
		rc = migrate_once(rundir, domid, host, fd, t0,
				  attempt < MIG_ATTEMPTS);
		if (rc != -EAGAIN || attempt >= MIG_ATTEMPTS)
			break;
		fprintf(stderr, "pvio: trying again (attempt %d of %d)\n",
			attempt + 1, MIG_ATTEMPTS);
		/* the guest's devices reconnected here first */
		if (mig_wait_connected(rundir, domid, MIG_CONNECT_MS))
			fprintf(stderr, "pvio: domain %u: not every device reconnected yet\n",
				domid);
	}
	close(fd);
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

/*
 * The prefault's end (its own thread): the source holds QEMU's switch-over
 * until it hears (live). Nothing else is sent on @arg's connection until
 * the prefault is joined.
 */
static void prefault_done(void *arg)
{
	msg_send(*(int *)arg, MIG_MSG_RAM, NULL, 0);
}

/* One incoming migration on connection @c. */
static int receive_one(const char *rundir, const char *addr, unsigned int port,
		       int c)
{
	char *msg = NULL, *kept = NULL, reply[64], kept_list[512] = "";
	struct mig_ram ram = { .plat = NULL };
	struct mig_prefault pf = { .started = false };
	struct mig_kept *kk = NULL;
	long long t_go, t_resumed, t_conn, t_fe, t_kept = 0, t_topup = 0;
	long long t_qemu = 0, t_ta = 0, t_asent = 0, t_kapp = 0, t_adopt = 0;
	long long t_kwait = 0;
	bool live = false;
	size_t klen = 0;
	struct hv_qmp *q = NULL;
	pvio_domid_t domid = 0;
	bool created = false;
	size_t len;
	int rc;

	rc = msg_expect(c, MIG_MSG_STATE, &msg, &len, MIG_STEP_MS);
	rc = rc ?: mig_state_create(rundir, msg, true, &domid);
	free(msg);
	msg = NULL;
	if (rc)
		goto fail;
	created = true;
	rc = mig_qmp_open(rundir, domid, &q);
	rc = rc ?: mig_qmp(q, "{\"execute\": \"migrate-incoming\", \"arguments\": {\"uri\": \"tcp:%s:%u\"}}",
			   addr, port + 1);
	/* the guest's id and store port here: the source decides if it goes live */
	snprintf(reply, sizeof(reply), "port=%u domid=%u store=%u", port + 1,
		 domid, mig_store_port(rundir, domid));
	rc = rc ?: msg_send(c, MIG_MSG_READY, reply, strlen(reply));
	/* the guest's RAM allocated here while QEMU's first pass runs */
	if (!rc)
		mig_prefault_start(&pf, rundir, domid, prefault_done, &c);
	rc = rc ?: msg_expect(c, MIG_MSG_STORE, &msg, &len,
				MIG_PRECOPY_MS + MIG_SUSPEND_MS + MIG_STEP_MS);
	/* the guest stopped there: what is left of it, QEMU's last pass does */
	atomic_store(&pf.stop, true);
	rc = rc ?: mig_store_apply(rundir, domid, msg, len);
	free(msg);
	msg = NULL;
	rc = rc ?: msg_expect(c, MIG_MSG_KEPT, &kept, &klen, MIG_STREAM_MS);
	/* what needs no RAM of the guest's, while QEMU loads the rest */
	if (!rc && klen) {
		rc = mig_kept_prepare(rundir, domid, kept, klen, &kk);
		if (rc)
			fprintf(stderr, "pvio: domain %u: the kept connections cannot be taken over: %s\n",
				domid, strerror(-rc));
	}
	rc = rc ?: mig_ram_map(rundir, domid, &ram);
	rc = rc ?: msg_expect(c, MIG_MSG_TOPUP, &msg, &len,
				MIG_STREAM_MS);
	t_topup = mig_now_ms();
	/*
	 * Applied once QEMU here has loaded everything (the source may send
	 * it before its QEMU is done: its pages are newer than QEMU's).
	 */
	rc = rc ?: mig_qmp_wait(q, MIG_STREAM_MS, NULL, NULL);
	t_qemu = mig_now_ms();
	rc = rc ?: mig_topup_apply(&ram, domid, msg, len);
	mig_ram_unmap(&ram);
	free(msg);
	msg = NULL;
	t_kept = t_ta = mig_now_ms();
	/* the rings kept: this host's backends take them over now */
	if (!rc && kk) {
		int n = mig_kept_apply(rundir, domid, kept, kk, kept_list,
				       sizeof(kept_list), &live);

		rc = n < 0 ? n : 0;
		if (n < 0)
			fprintf(stderr, "pvio: domain %u: the kept connections cannot be taken over: %s\n",
				domid, strerror(-n));
		/*
		 * Live: the store and hv take the guest as it came, while its
		 * backends take the rings over (a refusal, a region that does
		 * not match, still leaves the guest running at the source);
		 * GO only unpauses it.
		 */
		t_kapp = mig_now_ms();
		if (!rc && live)
			rc = mig_adopt(rundir, domid);
		t_adopt = mig_now_ms();
		rc = rc ?: mig_kept_wait(rundir, domid, kept_list, MIG_KEPT_MS);
		t_kwait = mig_now_ms();
		if (rc && n >= 0)
			fprintf(stderr, "pvio: domain %u: a backend did not take its rings over: %s\n",
				domid, strerror(-rc));
		/* live: the guest never stopped being Connected */
		if (!rc && live)
			rc = mig_kept_frontends_connected(rundir, domid,
							  kept_list);
	}
	t_kept = mig_now_ms() - t_kept;
	mig_prefault_stop(&pf);
	free(kept);
	kept = NULL;
	free(kk);
	kk = NULL;
	t_asent = mig_now_ms();
	rc = rc ?: msg_send(c, MIG_MSG_APPLIED, NULL, 0);
	rc = rc ?: msg_expect(c, MIG_MSG_GO, &msg, &len, MIG_STEP_MS);
	if (rc)
		goto fail;
	created = false;	/* ours now, whatever happens */
	t_go = mig_now_ms();
	rc = live ? mig_unpause(rundir, domid) : mig_resume(rundir, domid);
	t_resumed = mig_now_ms();
	/* live: every backend was Connected before APPLIED, nothing changed */
	if (!rc && !live && mig_wait_connected(rundir, domid, MIG_CONNECT_MS))
		fprintf(stderr, "pvio: domain %u: not every device reconnected yet\n",
			domid);
	t_conn = mig_now_ms();
	/* the guest's side too: its disk and NIC usable again */
	if (!rc && !live && len && mig_wait_frontends(rundir, domid, msg, len,
						      MIG_CONNECT_MS))
		fprintf(stderr, "pvio: domain %u: not every frontend reconnected yet\n",
			domid);
	t_fe = mig_now_ms();
	free(msg);
	msg = NULL;
	snprintf(reply, sizeof(reply), "domain %u", domid);
	if (rc)
		msg_send(c, MIG_MSG_FAIL, "resume failed", 13);
	else
		msg_send(c, MIG_MSG_DONE, reply, strlen(reply));
	if (mig_verbose && pf.ms >= 0)
		fprintf(stderr, "pvio: migrate-receive: the guest's RAM allocated ahead of QEMU in %lld ms\n",
			pf.ms);
	else if (mig_verbose)
		fprintf(stderr, "pvio: migrate-receive: the guest's RAM not all allocated ahead of QEMU (%s)\n",
			pf.rc ? strerror(-pf.rc) : "the guest stopped first");
	/* -v: on the host's monotonic clock, as the source's -v line */
	if (mig_verbose)
		fprintf(stderr, "pvio: migrate-receive: at (ms): top-up came %lld, QEMU done %lld, top-up applied %lld, hv import and Initialised %lld, adopted %lld, backends Connected %lld, APPLIED %lld, GO %lld, running %lld\n",
			t_topup, t_qemu, t_ta, t_kapp, t_adopt, t_kwait,
			t_asent, t_go, t_resumed);
	if (!rc && pvio_domstore_monitor(rundir, domid))
		fprintf(stderr, "pvio: no monitor for domain %u\n", domid);
	printf("Received domain %u%s (QEMU here done %lld ms after the top-up came, applied in %lld ms; %s%s%s%s%lld ms to take them over; resumed in %lld ms, backends connected %lld ms later, frontends %lld ms)\n",
	       domid, rc ? ", but it did not resume" : "",
	       t_qemu - t_topup, t_ta - t_qemu,
	       live ? "moved while it ran, " : "",
	       kept_list[0] ? "connections kept: " : "no connection kept",
	       kept_list, kept_list[0] ? ", " : ", ", t_kept, t_resumed - t_go,
	       t_conn - t_resumed, t_fe - t_resumed);
	hv_qmp_close(q);
	return rc;
fail:
	mig_prefault_stop(&pf);
	free(msg);
	free(kept);
	free(kk);
	mig_ram_unmap(&ram);
	if (q)
		hv_qmp_close(q);
	if (created)
		mig_domain_remove(rundir, domid);
	if (rc == -EAGAIN) {
		/* the source starts over on this connection */
		printf("Attempt for domain %u given up by the source; it tries again\n",
		       domid);
		return rc;
	}
	snprintf(reply, sizeof(reply), "receiver: %s",
		 rc == -EILSEQ ? "RAM differs from the source's" : strerror(-rc));
	msg_timeout(c, 1000);
	msg_send(c, MIG_MSG_FAIL, reply, strlen(reply));
	fprintf(stderr, "pvio: incoming migration failed: %s\n", strerror(-rc));
	return rc;
}

static int run_receive(int argc, char **argv)
{
	const char *rundir = pvio_rundir(pvio_opt_rundir);
	const char *addr = "0.0.0.0";
	unsigned int port = MIG_PORT;
	bool once = false;
	int lfd, rc = 0, one = 1;

	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "port", required_argument, NULL, 'p' },
		{ "once", no_argument, NULL, '1' },
		{ "verbose", no_argument, NULL, 'v' }, { NULL, 0, NULL, 0 },
	};
	int o, code = 0;
	char *end;

	while ((o = pvio_getopt(&receive_cmd, argc, argv, "l:p:v", opts,
				&code)) != -1) {
		if (o == -2)
			return code;
		if (o == 'v') {
			mig_verbose = true;
		} else if (o == 'l') {
			addr = optarg;
		} else if (o == 'p') {
			port = (unsigned int)strtoul(optarg, &end, 10);
			if (*end || end == optarg)
				port = 0;
		} else {
			once = true;
		}
	}
	if (optind != argc || !port || port >= 65535)
		return pvio_cmd_usage(&receive_cmd);
	signal(SIGPIPE, SIG_IGN);
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
		/* the control messages are small: none waits for the next */
		setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		msg_timeout(c, MIG_STEP_MS);
		do
			rc = receive_one(rundir, addr, port, c);
		while (rc == -EAGAIN);
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
	.usage = "[-v] [--verify] [--suspend | --no-keep] [--port N] DOMAIN HOST   (HOST runs pvio migrate-receive; -v: progress; --verify: the destination checks every page against the source before the guest moves; --suspend: the guest suspends for the move (else it moves while it runs where it can), its connections kept; --no-keep: the guest suspends and every device reconnects afresh)",
	.help = "move a running VM to another host's pvio stack",
	.run = run_migrate,
};
PVIO_CMD(migrate_cmd);

static struct pvio_cmd receive_cmd = {
	.name = "migrate-receive",
	.usage = "[-v] [--listen ADDR] [--port N] [--once]   (-v: when each step of a move ended, on the host's monotonic clock)",
	.help = "accept VMs migrated from another host (QEMU's stream on port N+1)",
	.run = run_receive,
};
PVIO_CMD(receive_cmd);
