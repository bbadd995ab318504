/* SPDX-License-Identifier: MIT */
/*
 * pvio-store durability: a write-ahead log of node records plus snapshots
 * in the data directory.
 *
 * Every committed change (a request or a transaction) becomes one batch,
 * copied into the shared mapping of the log file (or written with pwrite()
 * if it cannot be mapped) before the reply is queued: it is then in the
 * kernel's page cache, so it survives the daemon being killed (kill -9
 * included). Power loss is out of scope unless --sync is given,
 * which adds one fdatasync per event-loop iteration (group commit).
 *
 * Batch: u32 magic, u32 length, u32 crc32 of the body, body = records:
 *   PUT: u8 1, u16 plen, path, u16 nperms, {u16 domid, u8 access}*,
 *        u32 vlen, value, u32 nchildren, {u16 len, name}*
 *   DEL: u8 2, u16 plen, path
 * A PUT carries the whole node, so replay is "set record": replaying, over
 * any snapshot, every record logged since that snapshot began gives the
 * tree back. A torn or corrupt tail batch is discarded (it was never
 * acknowledged).
 *
 * Nothing slow runs while a request waits: an append is a memcpy into
 * pages of the mapped log that are already there and writable. Everything
 * else is done by a keeper thread, which touches files only, never the
 * tree:
 *  - it grows store.log ahead of its tail and faults in the next pages;
 *  - it prepares the next log, store.log.next (created, sized, mapped);
 *  - compaction: the daemon switches its appends to store.log.next (no
 *    system call), the keeper renames store.log to store.log.1 and
 *    store.log.next to store.log. The daemon then encodes the tree a few
 *    hash buckets at a time between requests, the keeper writes the pieces
 *    to store.snap.tmp, fsyncs it, renames it to store.snap and removes
 *    store.log.1. The tree changes while it is being encoded: a node
 *    changed meanwhile is in the new store.log, whose replay sets it right.
 * Loading applies store.snap, then store.log.1, store.log and
 * store.log.next, whichever exist, in this order.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store.h"

#define LOG_MAGIC	0x4c535650u	/* "PVSL" */
#define LOG_HDR		12u
#define LOG_COMPACT_MIN	(8u << 20)
#define LOG_GROW	(4u << 20)	/* the file grows by this much */
#define LOG_WINDOW	(1ul << 30)	/* address space mapped per log file */
#define LOG_PREFAULT	(128u << 10)	/* kept writable beyond the tail */
#define SNAP_CHUNK	(64u << 10)	/* encoded per loop iteration, about */
#define SNAP_CHUNK_US	200		/* ... or this long at most */
#define REC_PUT		1
#define REC_DEL		2

#define LOG_NAME	"store.log"
#define LOG_OLD		"store.log.1"	/* the log a running snapshot covers */
#define LOG_NEXT	"store.log.next"	/* the log after the next switch */

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

struct wbuf {
	uint8_t *b;		/* LOG_HDR reserved, then records */
	size_t len, cap;
	bool failed;
};

/* One log file, mapped through a window of LOG_WINDOW bytes. */
struct log_file {
	int fd;
	uint8_t *map;		/* NULL: written with pwrite() */
	_Atomic uint64_t reserved;	/* file size (zero-filled tail) */
	pthread_mutex_t grow;	/* the daemon and the keeper both grow it */
};

/* Work for the keeper thread, done in order. */
enum job_kind {
	JOB_SWITCHED,	/* the daemon now appends to store.log.next */
	JOB_SNAP_OPEN,	/* start store.snap.tmp */
	JOB_SNAP_WRITE,	/* append an encoded piece */
	JOB_SNAP_DONE,	/* fsync, rename, drop store.log.1 */
	JOB_SNAP_ABORT,	/* give up the snapshot in progress */
};

struct job {
	struct job *next;
	enum job_kind kind;
	struct log_file *old;	/* JOB_SWITCHED: to unmap and close */
	struct wbuf piece;	/* JOB_SNAP_WRITE */
};

enum snap_state { SNAP_NONE, SNAP_ENCODING, SNAP_WRITING };

struct store_log {
	int dirfd;
	int lockfd;
	bool sync;
	uint64_t compact_min;	/* compact once the log is this long */
	/* daemon thread */
	struct log_file *cur;	/* appends go here */
	uint64_t log_size;	/* bytes appended to cur */
	struct wbuf batch;	/* the batch being built */
	uint64_t snap_size;
	uint64_t retry_at;	/* after a failed compaction: wait for this */
	enum snap_state snap;
	uint32_t snap_bucket;	/* next hash bucket to encode */
	bool rotated;		/* store.log.1 holds what no snapshot has */
	bool need_sync;
	/* shared with the keeper, under lock */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t keeper;
	bool keeper_up;
	bool stop;
	struct job *jobs, **jobs_tail;
	struct log_file *next;	/* prepared by the keeper, NULL until then */
	bool want_next;
	bool names_bad;		/* a rename failed: no more switches */
	bool keeper_idle;	/* waiting, nothing queued */
	pthread_cond_t idle_cond;
	int snap_result;	/* 1 pending, 0 done, -errno failed */
	uint64_t snap_written;
	_Atomic uint64_t tail;	/* log_size published for the keeper */
	_Atomic uint64_t ready;	/* keeper: writable up to here */
	_Atomic(struct log_file *) ahead;	/* keeper: the file to keep ready */
	/* keeper thread only */
	int snapfd;
	int snap_err;
};

static uint32_t crc_table[256];

uint32_t store_crc32(const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint32_t c = 0xffffffffu;

	if (!crc_table[1]) {
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t x = i;

			for (int k = 0; k < 8; k++)
				x = x & 1 ? 0xedb88320u ^ (x >> 1) : x >> 1;
			crc_table[i] = x;
		}
	}
	while (len--)
		c = crc_table[(c ^ *p++) & 0xff] ^ (c >> 8);
	return c ^ 0xffffffffu;
}

static bool wbuf_reserve(struct wbuf *w, size_t n)
{
	if (w->len + n <= w->cap)
		return true;
	size_t cap = w->cap ? w->cap : 4096;
	while (cap < w->len + n)
		cap *= 2;
	uint8_t *b = realloc(w->b, cap);
	if (!b) {
		w->failed = true;
		return false;
	}
	w->b = b;
	w->cap = cap;
	return true;
}

static void put_bytes(struct wbuf *w, const void *p, size_t n)
{
	if (!n || !wbuf_reserve(w, n))
		return;	/* nothing (a node without a value has none to copy) */
	memcpy(w->b + w->len, p, n);
	w->len += n;
}

static void put_u8(struct wbuf *w, uint8_t v) { put_bytes(w, &v, 1); }
static void put_u16(struct wbuf *w, uint16_t v) { put_bytes(w, &v, 2); }
static void put_u32(struct wbuf *w, uint32_t v) { put_bytes(w, &v, 4); }

static void enc_put(struct wbuf *w, const struct store_node *n)
{
	uint16_t pl = strlen(n->path);

	put_u8(w, REC_PUT);
	put_u16(w, pl);
	put_bytes(w, n->path, pl);
	put_u16(w, n->nperms);
	for (uint16_t i = 0; i < n->nperms; i++) {
		put_u16(w, n->perms[i].domid);
		put_u8(w, n->perms[i].access);
	}
	put_u32(w, n->vlen);
	put_bytes(w, n->value, n->vlen);
	put_u32(w, n->nchildren);
	for (uint32_t i = 0; i < n->nchildren; i++) {
		uint16_t cl = strlen(n->children[i]);

		put_u16(w, cl);
		put_bytes(w, n->children[i], cl);
	}
}

static void buf_start(struct wbuf *w)
{
	if (w->len == 0 && wbuf_reserve(w, LOG_HDR))
		w->len = LOG_HDR;
}

static void seal(struct wbuf *w)
{
	uint32_t hdr[3] = { LOG_MAGIC, (uint32_t)(w->len - LOG_HDR),
			    store_crc32(w->b + LOG_HDR, w->len - LOG_HDR) };

	memcpy(w->b, hdr, LOG_HDR);
}

void store_log_put(struct store *s, const struct store_node *n)
{
	if (!s->log)
		return;
	buf_start(&s->log->batch);
	enc_put(&s->log->batch, n);
}

void store_log_del(struct store *s, const char *path)
{
	struct wbuf *w;
	uint16_t pl = strlen(path);

	if (!s->log)
		return;
	w = &s->log->batch;
	buf_start(w);
	put_u8(w, REC_DEL);
	put_u16(w, pl);
	put_bytes(w, path, pl);
}

static int write_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n) {
		ssize_t w = write(fd, b, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		b += w;
		n -= w;
	}
	return 0;
}

/* ---- log files ---- */

/* Open (or create) @name, reserve @size bytes, map it. NULL on failure. */
static struct log_file *lf_open(int dirfd, const char *name, int flags,
				uint64_t size)
{
	struct log_file *f = calloc(1, sizeof(*f));
	void *m;

	if (!f)
		return NULL;
	f->fd = openat(dirfd, name, O_RDWR | O_CLOEXEC | flags, 0600);
	if (f->fd < 0 || ftruncate(f->fd, size)) {
		if (f->fd >= 0)
			close(f->fd);
		free(f);
		return NULL;
	}
	atomic_init(&f->reserved, size);
	pthread_mutex_init(&f->grow, NULL);
	m = mmap(NULL, LOG_WINDOW, PROT_READ | PROT_WRITE, MAP_SHARED,
		 f->fd, 0);
	f->map = m == MAP_FAILED ? NULL : m;
	return f;
}

static void lf_close(struct log_file *f)
{
	if (!f)
		return;
	if (f->map)
		munmap(f->map, LOG_WINDOW);
	close(f->fd);
	pthread_mutex_destroy(&f->grow);
	free(f);
}

/* Make the file at least @need bytes long (zero-filled), never shorter. */
static int lf_reserve(struct log_file *f, uint64_t need)
{
	uint64_t want = (need + LOG_GROW - 1) / LOG_GROW * LOG_GROW;
	int rc = 0;

	if (need <= atomic_load(&f->reserved))
		return 0;
	pthread_mutex_lock(&f->grow);
	if (need > atomic_load(&f->reserved)) {
		if (ftruncate(f->fd, want))
			rc = -errno;
		else
			atomic_store(&f->reserved, want);
	}
	pthread_mutex_unlock(&f->grow);
	return rc;
}

/* Wake the keeper (the caller holds l->lock). */
static void keeper_kick(struct store_log *l)
{
	pthread_cond_signal(&l->cond);
}

static void job_add(struct store_log *l, struct job *j)
{
	pthread_mutex_lock(&l->lock);
	j->next = NULL;
	*l->jobs_tail = j;
	l->jobs_tail = &j->next;
	keeper_kick(l);
	pthread_mutex_unlock(&l->lock);
}

/*
 * Append to the log. Normally a memcpy into pages the keeper prepared;
 * if a burst outran it, the file is grown here (or written with pwrite()
 * when it could not be mapped or outgrew its window).
 */
static int log_append(struct store_log *l, const void *buf, size_t len)
{
	struct log_file *f = l->cur;
	uint64_t end = l->log_size + len;
	int rc = lf_reserve(f, end);

	if (rc)
		return rc;
	if (f->map && end <= LOG_WINDOW) {
		memcpy(f->map + l->log_size, buf, len);
	} else {
		for (size_t done = 0; done < len;) {
			ssize_t w = pwrite(f->fd, (const uint8_t *)buf + done,
					   len - done, l->log_size + done);

			if (w < 0) {
				if (errno == EINTR)
					continue;
				return -errno;
			}
			done += w;
		}
	}
	atomic_store_explicit(&l->tail, end, memory_order_relaxed);
	/* the keeper sleeps until the tail nears what it prepared */
	if (end + LOG_PREFAULT / 2 > atomic_load(&l->ready)) {
		pthread_mutex_lock(&l->lock);
		keeper_kick(l);
		pthread_mutex_unlock(&l->lock);
	}
	return 0;
}

int store_log_commit(struct store *s)
{
	struct store_log *l = s->log;
	struct wbuf *w;
	int rc;

	if (!l || l->batch.len == 0)
		return 0;
	w = &l->batch;
	if (w->failed) {
		w->len = 0;
		w->failed = false;
		return -ENOMEM;
	}
	seal(w);
	rc = log_append(l, w->b, w->len);
	if (rc) {
		fprintf(stderr, "pvio-store: log write failed: %s\n",
			strerror(-rc));
		w->len = 0;
		return rc;
	}
	l->log_size += w->len;
	s->st.log_bytes += w->len;
	w->len = 0;
	l->need_sync = l->sync;
	return 0;
}

/* ---- loading ---- */

struct rd {
	const uint8_t *p, *end;
	bool bad;
};

static const void *get(struct rd *r, size_t n)
{
	const uint8_t *p = r->p;

	if (r->bad || (size_t)(r->end - r->p) < n) {
		r->bad = true;
		return NULL;
	}
	r->p += n;
	return p;
}

static uint32_t get_uint(struct rd *r, size_t n)
{
	const uint8_t *p = get(r, n);
	uint32_t v = 0;

	if (p)
		memcpy(&v, p, n);
	return v;
}

static char *get_str(struct rd *r, size_t n)
{
	const char *p = get(r, n);
	char *s;

	if (!p)
		return NULL;
	s = malloc(n + 1);
	if (!s) {
		r->bad = true;
		return NULL;
	}
	memcpy(s, p, n);
	s[n] = 0;
	return s;
}

static int apply_body(struct store *s, const uint8_t *b, size_t len)
{
	struct rd r = { b, b + len, false };

	while (r.p < r.end && !r.bad) {
		uint8_t op = get_uint(&r, 1);
		char *path = get_str(&r, get_uint(&r, 2));

		if (!path)
			break;
		if (op == REC_DEL) {
			store_del_node_raw(s, path);
			free(path);
			continue;
		}
		if (op != REC_PUT) {
			free(path);
			r.bad = true;
			break;
		}
		struct store_node *n = store_node_new(path);
		free(path);
		if (!n)
			return -ENOMEM;
		uint16_t np = get_uint(&r, 2);
		struct store_perm *pp = calloc(np ? np : 1, sizeof(*pp));
		if (!pp) {
			store_node_free(n);
			return -ENOMEM;
		}
		for (uint16_t i = 0; i < np; i++) {
			pp[i].domid = get_uint(&r, 2);
			pp[i].access = get_uint(&r, 1) & 3;
		}
		if (np)
			store_node_set_perms(n, pp, np);
		free(pp);
		uint32_t vl = get_uint(&r, 4);
		const void *v = get(&r, vl);
		if (v)
			store_node_set_value(n, v, vl);
		uint32_t nc = get_uint(&r, 4);
		for (uint32_t i = 0; i < nc && !r.bad; i++) {
			char *c = get_str(&r, get_uint(&r, 2));

			if (c)
				store_node_add_child(n, c);
			free(c);
		}
		if (r.bad || !np) {
			store_node_free(n);
			break;
		}
		store_load_node(s, n);
	}
	return r.bad ? -EINVAL : 0;
}

/* Apply every intact batch of @fd; returns the offset after the last. */
static off_t replay(struct store *s, int fd, const char *what)
{
	struct stat st;
	uint8_t *data;
	off_t off = 0;

	if (fstat(fd, &st) || st.st_size == 0)
		return 0;
	data = malloc(st.st_size);
	if (!data)
		return 0;
	if (pread(fd, data, st.st_size, 0) != st.st_size) {
		free(data);
		return 0;
	}
	while ((size_t)(st.st_size - off) >= LOG_HDR) {
		uint32_t hdr[3];

		memcpy(hdr, data + off, LOG_HDR);
		if (hdr[0] != LOG_MAGIC ||
		    hdr[1] > (uint64_t)st.st_size - off - LOG_HDR ||
		    store_crc32(data + off + LOG_HDR, hdr[1]) != hdr[2])
			break;
		if (apply_body(s, data + off + LOG_HDR, hdr[1]))
			break;
		off += LOG_HDR + hdr[1];
	}
	/* a zero-filled tail is the log's reserved space, not damage */
	{
		off_t z = off;

		while (z < st.st_size && data[z] == 0)
			z++;
		if (z == st.st_size)
			st.st_size = off;
	}
	if (off != st.st_size && !s->opts.quiet)
		fprintf(stderr, "pvio-store: %s: discarding %lld bytes of "
			"torn or corrupt tail\n", what,
			(long long)(st.st_size - off));
	free(data);
	return off;
}

static int mkdir_p(const char *dir)
{
	char *d = strdup(dir);
	int rc = 0;

	if (!d)
		return -ENOMEM;
	for (char *p = d + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(d, 0700) && errno != EEXIST)
			rc = -errno;
		*p = '/';
	}
	if (!rc && mkdir(d, 0700) && errno != EEXIST)
		rc = -errno;
	free(d);
	return rc;
}

/* ---- the keeper thread ---- */

/* Keep the file grown and the pages past the tail faulted in, writable. */
static void keeper_ahead(struct store_log *l)
{
	struct log_file *f = atomic_load(&l->ahead);
	uint64_t tail, start, end;

	if (!f)
		return;
	tail = atomic_load_explicit(&l->tail, memory_order_relaxed);
	start = tail & ~4095ull;
	end = start + LOG_PREFAULT;
	if (lf_reserve(f, end + LOG_GROW / 4))
		return;
	if (f->map && end <= LOG_WINDOW)
		madvise(f->map + start, end - start, MADV_POPULATE_WRITE);
	atomic_store(&l->ready, end);
}

static struct log_file *keeper_prepare(struct store_log *l)
{
	struct log_file *f = lf_open(l->dirfd, LOG_NEXT, O_CREAT | O_TRUNC,
				     LOG_GROW);

	if (!f) {
		fprintf(stderr, "pvio-store: cannot prepare %s: %s\n",
			LOG_NEXT, strerror(errno));
		return NULL;
	}
	/* with --sync, the name is on disk before anything lands in it */
	if (l->sync)
		fsync(l->dirfd);
	if (f->map)
		madvise(f->map, LOG_PREFAULT, MADV_POPULATE_WRITE);
	return f;
}

static void keeper_job(struct store_log *l, struct job *j)
{
	int rc = 0;

	switch (j->kind) {
	case JOB_SWITCHED:
		/* the old log's dirty pages go out with its last reference */
		lf_close(j->old);
		if (renameat(l->dirfd, LOG_NAME, l->dirfd, LOG_OLD) ||
		    renameat(l->dirfd, LOG_NEXT, l->dirfd, LOG_NAME)) {
			/*
			 * The names no longer say which log is current:
			 * preparing another store.log.next could clobber it.
			 * Stop compacting; a restart sorts the files out.
			 */
			fprintf(stderr, "pvio-store: renaming the logs: %s; "
				"compaction stops until a restart\n",
				strerror(errno));
			pthread_mutex_lock(&l->lock);
			l->names_bad = true;
			pthread_mutex_unlock(&l->lock);
		}
		if (l->sync)
			fsync(l->dirfd);
		break;
	case JOB_SNAP_OPEN:
		l->snap_err = 0;
		l->snapfd = openat(l->dirfd, "store.snap.tmp",
				   O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
				   0600);
		if (l->snapfd < 0)
			l->snap_err = -errno;
		pthread_mutex_lock(&l->lock);
		l->snap_written = 0;
		pthread_mutex_unlock(&l->lock);
		break;
	case JOB_SNAP_WRITE:
		if (!l->snap_err && l->snapfd >= 0)
			l->snap_err = write_all(l->snapfd, j->piece.b,
						j->piece.len);
		pthread_mutex_lock(&l->lock);
		l->snap_written += j->piece.len;
		pthread_mutex_unlock(&l->lock);
		break;
	case JOB_SNAP_DONE:
		rc = l->snap_err;
		if (!rc && l->snapfd >= 0 && fsync(l->snapfd))
			rc = -errno;
		if (l->snapfd >= 0)
			close(l->snapfd);
		l->snapfd = -1;
		if (!rc && renameat(l->dirfd, "store.snap.tmp", l->dirfd,
				    "store.snap"))
			rc = -errno;
		if (!rc && fsync(l->dirfd))
			rc = -errno;
		/* the snapshot covers what store.log.1 held */
		if (!rc && unlinkat(l->dirfd, LOG_OLD, 0) && errno != ENOENT)
			rc = -errno;
		pthread_mutex_lock(&l->lock);
		l->snap_result = rc;
		pthread_mutex_unlock(&l->lock);
		break;
	case JOB_SNAP_ABORT:
		if (l->snapfd >= 0) {
			close(l->snapfd);
			unlinkat(l->dirfd, "store.snap.tmp", 0);
		}
		l->snapfd = -1;
		break;
	}
	free(j->piece.b);
	free(j);
}

static void *keeper_main(void *arg)
{
	struct store_log *l = arg;

	pthread_mutex_lock(&l->lock);
	for (;;) {
		struct job *j = l->jobs;

		if (j) {
			l->jobs = j->next;
			if (!l->jobs)
				l->jobs_tail = &l->jobs;
			pthread_mutex_unlock(&l->lock);
			keeper_job(l, j);
			pthread_mutex_lock(&l->lock);
			continue;
		}
		if (l->stop)
			break;
		if (l->want_next && !l->next && !l->names_bad) {
			struct log_file *f;

			pthread_mutex_unlock(&l->lock);
			f = keeper_prepare(l);
			pthread_mutex_lock(&l->lock);
			l->next = f;
			l->want_next = false;
			continue;
		}
		if (atomic_load_explicit(&l->tail, memory_order_relaxed) +
		    LOG_PREFAULT / 2 > atomic_load(&l->ready)) {
			uint64_t before = atomic_load(&l->ready);

			pthread_mutex_unlock(&l->lock);
			keeper_ahead(l);
			pthread_mutex_lock(&l->lock);
			if (atomic_load(&l->ready) != before)
				continue;
		}
		l->keeper_idle = true;
		pthread_cond_broadcast(&l->idle_cond);
		pthread_cond_wait(&l->cond, &l->lock);
		l->keeper_idle = false;
	}
	pthread_mutex_unlock(&l->lock);
	return NULL;
}

/* ---- compaction, driven by the daemon between requests ---- */

/* Switch appends to the prepared store.log.next; false if not ready. */
static bool log_switch(struct store_log *l)
{
	struct log_file *f;
	struct job *j = calloc(1, sizeof(*j));

	if (!j)
		return false;
	pthread_mutex_lock(&l->lock);
	f = l->next;
	l->next = NULL;
	if (f) {
		atomic_store(&l->ahead, f);
		atomic_store(&l->tail, 0);
		atomic_store(&l->ready, 0);
	}
	pthread_mutex_unlock(&l->lock);
	if (!f) {
		free(j);
		return false;
	}
	j->kind = JOB_SWITCHED;
	j->old = l->cur;
	l->cur = f;
	l->log_size = 0;
	l->rotated = true;
	job_add(l, j);
	/* and one more for the compaction after this one */
	pthread_mutex_lock(&l->lock);
	l->want_next = true;
	keeper_kick(l);
	pthread_mutex_unlock(&l->lock);
	return true;
}

static bool snap_job(struct store_log *l, enum job_kind kind,
		     struct wbuf *piece)
{
	struct job *j = calloc(1, sizeof(*j));

	if (!j)
		return false;
	j->kind = kind;
	if (piece)
		j->piece = *piece;
	job_add(l, j);
	return true;
}

static double mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/*
 * Encode the next buckets of the tree into one piece for the keeper,
 * bounded in bytes and time. The table may grow between pieces: it only
 * doubles, so going on from the same bucket index still visits every node
 * that stayed (some twice, which replay does not mind).
 */
static void snap_encode(struct store *s)
{
	struct store_log *l = s->log;
	struct wbuf w = { 0 };
	double t0 = mono_us();

	while (l->snap_bucket < s->nodes.nbuckets) {
		struct store_hitem *it = s->nodes.b[l->snap_bucket++];

		for (; it; it = it->next) {
			buf_start(&w);
			enc_put(&w, (const struct store_node *)it);
		}
		if (w.len >= SNAP_CHUNK ||
		    ((l->snap_bucket & 63) == 0 &&
		     mono_us() - t0 > SNAP_CHUNK_US))
			break;
	}
	if (w.failed) {
		free(w.b);
		snap_job(l, JOB_SNAP_ABORT, NULL);
		l->snap = SNAP_NONE;
		l->retry_at = l->log_size + l->compact_min;
		return;
	}
	if (w.len) {
		seal(&w);
		if (!snap_job(l, JOB_SNAP_WRITE, &w))
			free(w.b);
	}
	if (l->snap_bucket >= s->nodes.nbuckets) {
		pthread_mutex_lock(&l->lock);
		l->snap_result = 1;
		pthread_mutex_unlock(&l->lock);
		snap_job(l, JOB_SNAP_DONE, NULL);
		l->snap = SNAP_WRITING;
	}
}

static void snap_check(struct store *s)
{
	struct store_log *l = s->log;
	uint64_t written;
	int r;

	pthread_mutex_lock(&l->lock);
	r = l->snap_result;
	written = l->snap_written;
	pthread_mutex_unlock(&l->lock);
	if (r > 0)
		return;
	l->snap = SNAP_NONE;
	if (r == 0) {
		l->rotated = false;
		l->snap_size = written;
		s->st.compactions++;
		return;
	}
	fprintf(stderr, "pvio-store: snapshot failed: %s (%s kept)\n",
		strerror(-r), LOG_OLD);
	l->retry_at = l->log_size + l->compact_min;
}

static void compact_start(struct store *s)
{
	struct store_log *l = s->log;

	/*
	 * A snapshot that failed left store.log.1: keep it and snapshot
	 * again over the current log, which holds everything since then.
	 */
	if (!l->rotated && !log_switch(l))
		return;		/* store.log.next not ready yet */
	if (!snap_job(l, JOB_SNAP_OPEN, NULL))
		return;
	l->snap = SNAP_ENCODING;
	l->snap_bucket = 0;
}

void store_log_sync(struct store *s)
{
	struct store_log *l = s->log;

	if (l && l->need_sync) {
		fdatasync(l->cur->fd);
		l->need_sync = false;
	}
}

int store_log_idle(struct store *s)
{
	struct store_log *l = s->log;

	if (!l)
		return 0;
	switch (l->snap) {
	case SNAP_ENCODING:
		snap_encode(s);
		break;
	case SNAP_WRITING:
		snap_check(s);
		break;
	case SNAP_NONE:
		if (l->log_size >= l->retry_at &&
		    ((l->log_size > l->compact_min &&
		      l->log_size > 2 * l->snap_size) || l->rotated))
			compact_start(s);
		break;
	}
	return 0;
}

bool store_log_busy(const struct store *s)
{
	return s->log && s->log->snap == SNAP_ENCODING;
}

void store_log_settle(struct store *s)
{
	struct store_log *l = s->log;

	if (!l || !l->keeper_up)
		return;
	pthread_mutex_lock(&l->lock);
	while (l->jobs || !l->keeper_idle)
		pthread_cond_wait(&l->idle_cond, &l->lock);
	pthread_mutex_unlock(&l->lock);
}

/* Replay @name if it exists; true if it did. */
static bool replay_file(struct store *s, int dirfd, const char *name)
{
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return false;
	replay(s, fd, name);
	close(fd);
	return true;
}

/*
 * The whole tree to store.snap, synchronously (at start and at a clean
 * stop, never while serving); then every log is empty.
 */
static int snapshot_now(struct store *s)
{
	struct store_log *l = s->log;
	struct store_hitem *it;
	struct wbuf w = { 0 };
	int fd, rc = 0;
	uint64_t size = 0;

	fd = openat(l->dirfd, "store.snap.tmp",
		    O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	for (it = store_htab_next(&s->nodes, NULL); it && !rc;
	     it = store_htab_next(&s->nodes, it)) {
		buf_start(&w);
		enc_put(&w, (const struct store_node *)it);
		if (w.len >= (1u << 20)) {
			seal(&w);
			rc = write_all(fd, w.b, w.len);
			size += w.len;
			w.len = 0;
		}
	}
	if (!rc && w.len) {
		seal(&w);
		rc = write_all(fd, w.b, w.len);
		size += w.len;
	}
	if (!rc && w.failed)
		rc = -ENOMEM;
	free(w.b);
	if (!rc && fsync(fd))
		rc = -errno;
	close(fd);
	if (!rc && renameat(l->dirfd, "store.snap.tmp", l->dirfd,
			    "store.snap"))
		rc = -errno;
	if (!rc && fsync(l->dirfd))
		rc = -errno;
	if (rc) {
		fprintf(stderr, "pvio-store: snapshot failed: %s\n",
			strerror(-rc));
		return rc;
	}
	/* The snapshot holds everything: the logs may go. */
	unlinkat(l->dirfd, LOG_OLD, 0);
	unlinkat(l->dirfd, LOG_NEXT, 0);
	if (ftruncate(l->cur->fd, 0) == 0) {
		fdatasync(l->cur->fd);
		l->log_size = 0;
		atomic_store(&l->cur->reserved, 0);
	}
	l->rotated = false;
	l->snap_size = size;
	return 0;
}

int store_log_open(struct store *s, const char *datadir)
{
	struct store_log *l = calloc(1, sizeof(*l));
	bool leftovers;
	off_t good;
	int fd, rc;

	if (!l)
		return -ENOMEM;
	l->dirfd = l->lockfd = l->snapfd = -1;
	l->sync = s->opts.sync;
	l->compact_min = s->opts.compact_min ? s->opts.compact_min :
			 LOG_COMPACT_MIN;
	l->jobs_tail = &l->jobs;
	pthread_mutex_init(&l->lock, NULL);
	pthread_cond_init(&l->cond, NULL);
	pthread_cond_init(&l->idle_cond, NULL);
	rc = mkdir_p(datadir);
	if (rc)
		goto fail;
	l->dirfd = open(datadir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (l->dirfd < 0) {
		rc = -errno;
		goto fail;
	}
	l->lockfd = openat(l->dirfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC,
			   0600);
	if (l->lockfd < 0 || flock(l->lockfd, LOCK_EX | LOCK_NB)) {
		rc = errno == EWOULDBLOCK ? -EBUSY : -errno;
		fprintf(stderr, "pvio-store: %s is in use by another "
			"pvio-store\n", datadir);
		goto fail;
	}
	fd = openat(l->dirfd, "store.snap", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		l->snap_size = replay(s, fd, "store.snap");
		close(fd);
	}
	/* a compaction that did not finish: its logs are still needed */
	leftovers = replay_file(s, l->dirfd, LOG_OLD);
	fd = openat(l->dirfd, LOG_NAME, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = -errno;
		goto fail;
	}
	good = replay(s, fd, LOG_NAME);
	close(fd);
	leftovers |= replay_file(s, l->dirfd, LOG_NEXT);
	l->cur = lf_open(l->dirfd, LOG_NAME, 0, good);
	if (!l->cur) {
		rc = -errno;
		goto fail;
	}
	l->log_size = good;
	s->log = l;
	/* the next store.log.next would clobber a leftover one */
	if (leftovers) {
		rc = snapshot_now(s);
		if (rc) {
			s->log = NULL;
			goto fail;
		}
		if (!s->opts.quiet)
			fprintf(stderr, "pvio-store: folded the logs of an "
				"unfinished compaction into store.snap\n");
	}
	atomic_store(&l->tail, l->log_size);
	atomic_store(&l->ahead, l->cur);
	l->want_next = true;
	{
		/* background work: never ahead of a real-time daemon */
		struct sched_param sp = { .sched_priority = 0 };
		pthread_attr_t a;

		pthread_attr_init(&a);
		pthread_attr_setinheritsched(&a, PTHREAD_EXPLICIT_SCHED);
		pthread_attr_setschedpolicy(&a, SCHED_OTHER);
		pthread_attr_setschedparam(&a, &sp);
		rc = pthread_create(&l->keeper, &a, keeper_main, l);
		pthread_attr_destroy(&a);
	}
	if (rc) {
		s->log = NULL;
		rc = -rc;
		goto fail;
	}
	l->keeper_up = true;
	return 0;
fail:
	lf_close(l->cur);
	if (l->lockfd >= 0)
		close(l->lockfd);
	if (l->dirfd >= 0)
		close(l->dirfd);
	free(l);
	return rc;
}

void store_log_close(struct store *s)
{
	struct store_log *l = s->log;

	if (!l)
		return;
	if (l->snap == SNAP_ENCODING)
		snap_job(l, JOB_SNAP_ABORT, NULL);
	if (l->keeper_up) {
		pthread_mutex_lock(&l->lock);
		l->stop = true;
		keeper_kick(l);
		pthread_mutex_unlock(&l->lock);
		pthread_join(l->keeper, NULL);
	}
	lf_close(l->next);	/* prepared, never used */
	l->next = NULL;
	if (l->batch.len)
		store_log_commit(s);
	snapshot_now(s);	/* also empties the log */
	if (ftruncate(l->cur->fd, l->log_size))
		fprintf(stderr, "pvio-store: cannot trim the log\n");
	lf_close(l->cur);
	close(l->lockfd);
	close(l->dirfd);
	free(l->batch.b);
	pthread_mutex_destroy(&l->lock);
	pthread_cond_destroy(&l->cond);
	pthread_cond_destroy(&l->idle_cond);
	free(l);
	s->log = NULL;
}
