/*
 * Fuzz harness of pvio-store's recovery (store_log.c replay into the
 * tree) from a snapshot and a log that are corrupt or truncated. The
 * input describes batches: their bodies come from the input, framed with
 * the right magic, length and CRC (so that corrupt *content* reaches the
 * replay) unless the input says to break the frame, and the files can be
 * cut anywhere or end in garbage or zeroes. Then the store opens the
 * directory; if it opens:
 *  - the recovered tree is walked (every node's parent exists and lists
 *    it, every child listed exists);
 *  - a second store opened on the same directory (after the first
 *    truncated the log's bad tail) recovers the same nodes;
 *  - the store is used (reads, writes, rm of subtrees through the request
 *    code) and freed.
 * Crashes, sanitizer reports, a changed second recovery and a tree whose
 * walk breaks are findings.
 *
 * Built with clang -fsanitize=fuzzer it is a libFuzzer target; otherwise
 * main() runs a deterministic smoke campaign as a unit test.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../xenbus/store/store.h"
#include "fuzz_in.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define LOG_MAGIC	0x4c535650u

static char dir[64];
static uint64_t nr_opened, nr_nodes_seen;

static void finding(const char *fmt, ...)
	__attribute__((noreturn, format(printf, 1, 2)));
static void finding(const char *fmt, ...)
{
	va_list ap;

	printf("FINDING: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	abort();
}

/* Write one file of batches described by the input. */
static void write_file(const char *name, struct in *in, unsigned int nbatch)
{
	static uint8_t out[1 << 16];
	size_t len = 0;
	char path[128];
	int fd;

	for (unsigned int b = 0; b < nbatch && in->n; b++) {
		uint8_t how = byte(in);
		size_t blen = byte(in) | (size_t)(how & 3) << 8;
		/* a length that lies: taken before the body is measured */
		uint32_t extra = how & 0x20 ? 1u + byte(in) : 0;
		uint32_t hdr[3];

		if (blen > in->n)
			blen = in->n;
		if (len + 12 + blen > sizeof(out))
			break;
		hdr[0] = how & 0x10 ? 0xdeadbeef : LOG_MAGIC;
		hdr[1] = (uint32_t)blen + extra;
		memcpy(out + len + 12, in->p, blen);
		hdr[2] = store_crc32(out + len + 12, blen);
		if (how & 0x40)
			hdr[2] ^= 1;
		memcpy(out + len, hdr, 12);
		len += 12 + blen;
		in->p += blen;
		in->n -= blen;
		if (how & 0x80)
			break;
	}
	/* the file's end: cut, garbage, or the zeroes of reserved space */
	switch (byte(in) % 4) {
	case 0:
		len -= len ? byte(in) % (len < 32 ? len : 32) : 0;
		break;
	case 1:
		for (unsigned int k = byte(in) % 16; k && len < sizeof(out); k--)
			out[len++] = byte(in);
		break;
	case 2:
		for (unsigned int k = byte(in) * 8; k && len < sizeof(out); k--)
			out[len++] = 0;
		break;
	default:
		break;
	}
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, out, len) != (ssize_t)len)
		finding("cannot write %s", path);
	close(fd);
}

/* Walk the tree: parents exist and list their children, and back. */
static const char *stage = "";

static unsigned int check_tree(struct store *s)
{
	unsigned int n = 0;

	for (struct store_hitem *it = store_htab_next(&s->nodes, NULL); it;
	     it = store_htab_next(&s->nodes, it)) {
		const struct store_node *node = (const struct store_node *)it;
		char *slash, parent[4096];
		bool listed = false;

		n++;
		if (!node->nperms)
			finding("node %s without permissions", node->path);
		for (uint32_t i = 0; i < node->nchildren; i++) {
			char child[4096];

			snprintf(child, sizeof(child), "%s%s%s", node->path,
				 strcmp(node->path, "/") ? "/" : "",
				 node->children[i]);
			if (!store_htab_get(&s->nodes, child))
				finding("%s lists a child %s that does not exist",
					node->path, node->children[i]);
		}
		if (!strcmp(node->path, "/"))
			continue;
		snprintf(parent, sizeof(parent), "%s", node->path);
		slash = strrchr(parent, '/');
		if (!slash || node->path[0] != '/')
			finding("node %s is not an absolute path", node->path);
		*slash = 0;
		if (slash == parent)
			strcpy(parent, "/");
		const struct store_node *p =
			(const struct store_node *)store_htab_get(&s->nodes, parent);
		if (!p)
			finding("node %s has no parent", node->path);
		for (uint32_t i = 0; i < p->nchildren; i++)
			if (!strcmp(p->children[i], strrchr(node->path, '/') + 1))
				listed = true;
		if (!listed)
			finding("%s: %s does not list its child %s", stage,
				parent, node->path);
	}
	return n;
}

/* Use the recovered store as clients would. */
static void use_store(struct store *s)
{
	struct store_conn *c = store_conn_new(s, 0, NULL, NULL);
	const struct store_node *n;
	unsigned int k = 0;
	char paths[8][256];
	unsigned int np = 0;

	if (!c)
		return;
	for (struct store_hitem *it = store_htab_next(&s->nodes, NULL);
	     it && np < 8; it = store_htab_next(&s->nodes, it))
		snprintf(paths[np++], sizeof(paths[0]), "%s", it->key);
	for (unsigned int i = 0; i < np; i++) {
		store_do_read(s, c, NULL, paths[i], &n);
		store_do_write(s, c, NULL, paths[i], "v", 1);
		if (k++ % 2)
			store_do_rm(s, c, NULL, paths[i]);
	}
	store_do_write(s, c, NULL, "/local/domain/7/fuzz/a", "x", 1);
	store_do_mkdir(s, c, NULL, "/local/domain/7/fuzz/b");
	store_do_rm(s, c, NULL, "/local");
	store_conn_free(c);
}

static void cleanup(void)
{
	static const char *const files[] = {
		"store.snap", "store.snap.tmp", "store.log", "lock",
	};
	char path[128];

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		unlink(path);
	}
	rmdir(dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct in in = { data, size };
	struct store_opts o = { .datadir = dir, .quiet = true };
	struct store *s, *s2;
	unsigned int nodes;
	char path[128];

	if (!dir[0]) {
		atexit(cleanup);
		/* in memory if we can: recovery fsyncs, the disk need not */
		snprintf(dir, sizeof(dir), "%s/pvio-fuzz-store.XXXXXX",
			 access("/dev/shm", W_OK) ? "/tmp" : "/dev/shm");
		if (!mkdtemp(dir))
			finding("mkdtemp");
	}
	snprintf(path, sizeof(path), "%s/store.snap", dir);
	unlink(path);
	if (byte(&in) & 1)
		write_file("store.snap", &in, 1 + byte(&in) % 8);
	write_file("store.log", &in, 1 + byte(&in) % 16);
	if (store_new(&o, &s))
		return 0;
	nr_opened++;
	stage = "recovered";
	nodes = check_tree(s);
	nr_nodes_seen += nodes;
	/* the log's bad tail is gone now: a second recovery agrees */
	store_log_close(s);
	if (store_new(&o, &s2))
		finding("the store did not reopen what it recovered");
	stage = "recovered again";
	if (check_tree(s2) != nodes)
		finding("a second recovery found %u nodes, the first %u",
			check_tree(s2), nodes);
	store_free(s2);
	use_store(s);
	stage = "used";
	check_tree(s);
	store_free(s);
	return 0;
}

#ifndef PVIO_LIBFUZZER
static uint64_t rs = 0x94d049bb133111ebull;

static uint8_t rnd8(void)
{
	rs ^= rs << 13;
	rs ^= rs >> 7;
	rs ^= rs << 17;
	return (uint8_t)rs;
}

/* A plausible batch body: PUT and DEL records, now and then off. */
static size_t gen_body(uint8_t *p, size_t cap)
{
	static const char *const names[] = {
		"/", "/local", "/local/domain", "/local/domain/7",
		"/local/domain/7/a", "/tool", "/vm", "//x", "rel", "/local/domain/7/a/b",
	};
	size_t n = 0;

	for (unsigned int r = 1 + rnd8() % 4; r && n + 64 < cap; r--) {
		const char *path = names[rnd8() % 10];
		uint16_t pl = (uint16_t)strlen(path), np = rnd8() % 4;
		uint32_t vl = rnd8() % 8, nc = rnd8() % 3;

		p[n++] = rnd8() % 6 ? 1 : 2;
		memcpy(p + n, &pl, 2);
		n += 2;
		memcpy(p + n, path, pl);
		n += pl;
		if (p[n - pl - 3] == 2)
			continue;
		memcpy(p + n, &np, 2);
		n += 2;
		for (unsigned int i = 0; i < np; i++) {
			p[n++] = rnd8() % 8;
			p[n++] = 0;
			p[n++] = rnd8() % 4;
		}
		memcpy(p + n, &vl, 4);
		n += 4;
		for (unsigned int i = 0; i < vl; i++)
			p[n++] = rnd8();
		memcpy(p + n, &nc, 4);
		n += 4;
		for (unsigned int i = 0; i < nc; i++) {
			uint16_t cl = 1;

			memcpy(p + n, &cl, 2);
			n += 2;
			p[n++] = (uint8_t)('a' + rnd8() % 3);
		}
		if (rnd8() % 16 == 0)
			p[rnd8() % n] = rnd8();
	}
	return n;
}

int main(void)
{
	static uint8_t buf[4096];
	/* under ASan (make check-asan) a shorter campaign: it runs slower */
#ifdef __SANITIZE_ADDRESS__
	unsigned int runs = 1500 / 5;
#else
	unsigned int runs = 1500;
#endif

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (unsigned int it = 0; it < runs; it++) {
		size_t n = 0;

		buf[n++] = 1;			/* a snapshot, then the log */
		for (int f = 0; f < 2; f++) {
			unsigned int nb = 1 + rnd8() % 6;

			buf[n++] = (uint8_t)(nb - 1);
			for (unsigned int b = 0; b < nb; b++) {
				size_t blen = gen_body(buf + n + 2, 400);

				buf[n++] = (uint8_t)((blen >> 8) |
						     (rnd8() % 8 ? 0 : rnd8() & 0xf0));
				buf[n++] = (uint8_t)blen;
				n += blen;
			}
			buf[n++] = rnd8();	/* how the file ends */
			buf[n++] = rnd8();
		}
		LLVMFuzzerTestOneInput(buf, n);
	}
	printf("fuzz smoke: %u recoveries, %llu opened, %llu nodes recovered, no finding\n",
	       runs, (unsigned long long)nr_opened,
	       (unsigned long long)nr_nodes_seen);
	if (nr_opened < runs / 2)
		finding("the smoke campaign barely opened a store");
	return 0;
}
#endif
