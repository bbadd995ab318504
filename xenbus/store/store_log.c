/* SPDX-License-Identifier: MIT */
/*
 * pvio-store durability: a write-ahead log of node records plus periodic
 * snapshots in the data directory.
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
 * A PUT carries the whole node, so replay is "set record" and replaying a
 * log over a newer snapshot converges to the same tree. A torn or corrupt
 * tail batch is discarded (it was never acknowledged).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store.h"

#define LOG_MAGIC	0x4c535650u	/* "PVSL" */
#define LOG_HDR		12u
#define LOG_COMPACT_MIN	(8u << 20)
#define LOG_GROW	(4u << 20)
#define REC_PUT		1
#define REC_DEL		2

struct store_log {
	int dirfd;
	int fd;			/* store.log */
	uint8_t *map;		/* store.log mapped shared: appends are memcpy */
	size_t map_size;	/* file size reserved (zero-filled tail) */
	int lockfd;
	uint8_t *buf;		/* LOG_HDR reserved, then records */
	size_t len, cap;
	uint64_t log_size;
	uint64_t snap_size;
	bool need_sync;
	bool failed;
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

static bool buf_reserve(struct store_log *l, size_t n)
{
	if (l->len + n <= l->cap)
		return true;
	size_t cap = l->cap ? l->cap : 4096;
	while (cap < l->len + n)
		cap *= 2;
	uint8_t *b = realloc(l->buf, cap);
	if (!b) {
		l->failed = true;
		return false;
	}
	l->buf = b;
	l->cap = cap;
	return true;
}

static void put_bytes(struct store_log *l, const void *p, size_t n)
{
	if (!buf_reserve(l, n))
		return;
	memcpy(l->buf + l->len, p, n);
	l->len += n;
}

static void put_u8(struct store_log *l, uint8_t v) { put_bytes(l, &v, 1); }
static void put_u16(struct store_log *l, uint16_t v) { put_bytes(l, &v, 2); }
static void put_u32(struct store_log *l, uint32_t v) { put_bytes(l, &v, 4); }

static void enc_put(struct store_log *l, const struct store_node *n)
{
	uint16_t pl = strlen(n->path);

	put_u8(l, REC_PUT);
	put_u16(l, pl);
	put_bytes(l, n->path, pl);
	put_u16(l, n->nperms);
	for (uint16_t i = 0; i < n->nperms; i++) {
		put_u16(l, n->perms[i].domid);
		put_u8(l, n->perms[i].access);
	}
	put_u32(l, n->vlen);
	put_bytes(l, n->value, n->vlen);
	put_u32(l, n->nchildren);
	for (uint32_t i = 0; i < n->nchildren; i++) {
		uint16_t cl = strlen(n->children[i]);

		put_u16(l, cl);
		put_bytes(l, n->children[i], cl);
	}
}

static void buf_start(struct store_log *l)
{
	if (l->len == 0 && buf_reserve(l, LOG_HDR))
		l->len = LOG_HDR;
}

void store_log_put(struct store *s, const struct store_node *n)
{
	if (!s->log)
		return;
	buf_start(s->log);
	enc_put(s->log, n);
}

void store_log_del(struct store *s, const char *path)
{
	uint16_t pl = strlen(path);

	if (!s->log)
		return;
	buf_start(s->log);
	put_u8(s->log, REC_DEL);
	put_u16(s->log, pl);
	put_bytes(s->log, path, pl);
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

/*
 * Append to the log. The file is grown in LOG_GROW steps and mapped
 * shared, so an append is a memcpy into the page cache: no system call on
 * the hot path, and still in the file if the process dies right after.
 */
static int log_append(struct store_log *l, const void *buf, size_t len)
{
	if (l->log_size + len > l->map_size) {
		size_t want = (l->log_size + len + LOG_GROW - 1) /
			      LOG_GROW * LOG_GROW;
		void *m;

		if (l->map)
			munmap(l->map, l->map_size);
		l->map = NULL;
		l->map_size = 0;
		if (ftruncate(l->fd, want) == 0) {
			m = mmap(NULL, want, PROT_READ | PROT_WRITE,
				 MAP_SHARED, l->fd, 0);
			if (m != MAP_FAILED) {
				l->map = m;
				l->map_size = want;
			}
		}
	}
	if (l->map) {
		memcpy(l->map + l->log_size, buf, len);
		return 0;
	}
	/* no mapping: plain positioned writes */
	for (size_t done = 0; done < len;) {
		ssize_t w = pwrite(l->fd, (const uint8_t *)buf + done,
				   len - done, l->log_size + done);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		done += w;
	}
	return 0;
}

static void seal(struct store_log *l)
{
	uint32_t hdr[3] = { LOG_MAGIC, (uint32_t)(l->len - LOG_HDR),
			    store_crc32(l->buf + LOG_HDR, l->len - LOG_HDR) };

	memcpy(l->buf, hdr, LOG_HDR);
}

int store_log_commit(struct store *s)
{
	struct store_log *l = s->log;
	int rc;

	if (!l || l->len == 0)
		return 0;
	if (l->failed) {
		l->len = 0;
		l->failed = false;
		return -ENOMEM;
	}
	seal(l);
	rc = log_append(l, l->buf, l->len);
	if (rc) {
		fprintf(stderr, "pvio-store: log write failed: %s\n",
			strerror(-rc));
		l->len = 0;
		return rc;
	}
	l->log_size += l->len;
	s->st.log_bytes += l->len;
	l->len = 0;
	l->need_sync = s->opts.sync;
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

int store_log_open(struct store *s, const char *datadir)
{
	struct store_log *l = calloc(1, sizeof(*l));
	int fd, rc;
	off_t good;

	if (!l)
		return -ENOMEM;
	l->fd = l->dirfd = l->lockfd = -1;
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
	l->fd = openat(l->dirfd, "store.log",
		       O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (l->fd < 0) {
		rc = -errno;
		goto fail;
	}
	good = replay(s, l->fd, "store.log");
	if (ftruncate(l->fd, good)) {
		rc = -errno;
		goto fail;
	}
	l->log_size = good;
	s->log = l;
	return 0;
fail:
	if (l->fd >= 0)
		close(l->fd);
	if (l->lockfd >= 0)
		close(l->lockfd);
	if (l->dirfd >= 0)
		close(l->dirfd);
	free(l);
	return rc;
}

/* Write the whole tree to store.snap, then empty the log. */
static int compact(struct store *s)
{
	struct store_log *l = s->log;
	struct store_hitem *it;
	int fd, rc = 0;
	uint64_t size = 0;

	if (l->len)
		store_log_commit(s);
	fd = openat(l->dirfd, "store.snap.tmp",
		    O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	for (it = store_htab_next(&s->nodes, NULL); it && !rc;
	     it = store_htab_next(&s->nodes, it)) {
		buf_start(l);
		enc_put(l, (const struct store_node *)it);
		if (l->len >= (1u << 20)) {
			seal(l);
			rc = write_all(fd, l->buf, l->len);
			size += l->len;
			l->len = 0;
		}
	}
	if (!rc && l->len) {
		seal(l);
		rc = write_all(fd, l->buf, l->len);
		size += l->len;
	}
	l->len = 0;
	if (!rc && l->failed)
		rc = -ENOMEM;
	l->failed = false;
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
	/* The snapshot holds everything: the log may go. */
	if (l->map)
		munmap(l->map, l->map_size);
	l->map = NULL;
	l->map_size = 0;
	if (ftruncate(l->fd, 0) == 0) {
		fdatasync(l->fd);
		l->log_size = 0;
	}
	l->snap_size = size;
	return 0;
}

int store_log_idle(struct store *s)
{
	struct store_log *l = s->log;

	if (!l)
		return 0;
	if (l->need_sync) {
		fdatasync(l->fd);
		l->need_sync = false;
	}
	if (l->log_size > LOG_COMPACT_MIN && l->log_size > 2 * l->snap_size)
		return compact(s);
	return 0;
}

void store_log_close(struct store *s)
{
	struct store_log *l = s->log;

	if (!l)
		return;
	compact(s);
	if (l->map)
		munmap(l->map, l->map_size);
	if (ftruncate(l->fd, l->log_size))
		fprintf(stderr, "pvio-store: cannot trim the log\n");
	close(l->fd);
	close(l->lockfd);
	close(l->dirfd);
	free(l->buf);
	free(l);
	s->log = NULL;
}
