/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for pvio-store's request path: arbitrary bytes from a
 * client (dom0 or an unprivileged domain, chosen by the first byte), cut
 * into arbitrary chunks, through framing, dispatch, tree, transactions and
 * watches. Build: clang -fsanitize=fuzzer,address -Iinclude -D_GNU_SOURCE
 *   tests/fuzz/fuzz_store.c xenbus/store/store_{core,tree,txn,watch,conn,proto,log}.c
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../xenbus/store/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct store *S;
static unsigned int runs;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct store_opts o = { .quiet = true };
	struct store_conn *c, *w;
	size_t off = 1;

	/* a fresh store now and then keeps dom0's unbounded tree small */
	if (!S || ++runs % 512 == 0) {
		store_free(S);
		if (store_new(&o, &S))
			return 0;
	}
	if (size < 1)
		return 0;
	c = store_conn_new(S, data[0] & 1 ? 5 : 0, NULL, NULL);
	w = store_conn_new(S, 0, NULL, NULL);	/* a bystander watching all */
	if (!c || !w)
		goto out;
	store_watch_add(w, "/", "all");
	while (off < size && !c->dead) {
		/* chunk length from the data: exercises partial messages */
		size_t n = 1 + data[off - 1] % 64;

		if (n > size - off)
			n = size - off;
		if (n > STORE_IN_BUF - c->in_len)
			n = STORE_IN_BUF - c->in_len;
		memcpy(c->in + c->in_len, data + off, n);
		c->in_len += n;
		off += n;
		store_conn_process(c);
		/* the transport drains output */
		store_conn_consumed(c, store_conn_pending(c));
		store_conn_consumed(w, store_conn_pending(w));
		if (c->in_len == STORE_IN_BUF)
			break;
	}
out:
	if (c)
		store_conn_free(c);
	if (w)
		store_conn_free(w);
	return 0;
}

#ifndef PVIO_LIBFUZZER
/*
 * Without libFuzzer: a deterministic smoke campaign run as a unit test —
 * well-formed requests of every type with mutated headers, lengths and
 * payloads, from dom0 and from an unprivileged domain. It passes if the
 * store survives (no crash, no sanitizer report, no hang).
 */
#include <stdio.h>

#include "pvio/xs_wire.h"

static uint64_t rs = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(void)
{
	rs ^= rs << 13;
	rs ^= rs >> 7;
	rs ^= rs << 17;
	return (uint32_t)rs;
}

static const char *const paths[] = {
	"/a", "/a/b", "/local/domain/5/x", "x/y", "@introduceDomain",
	"/tool", "", "/a//b", "/" , "data/k",
};

int main(void)
{
	static uint8_t buf[8192];
	unsigned int total = 0;

	for (int it = 0; it < 200000; it++) {
		size_t n = 1, msgs = 1 + rnd() % 6;

		buf[0] = (uint8_t)rnd();
		for (size_t m = 0; m < msgs && n < sizeof(buf) - 4200; m++) {
			struct xsd_sockmsg h = {
				.type = rnd() % (XS_TYPE_COUNT + 2),
				.req_id = rnd(),
				.tx_id = rnd() % 4 ? 0 : rnd() % 8,
			};
			const char *p = paths[rnd() % 10];
			size_t len = strlen(p) + 1;
			uint8_t *pl;

			if (rnd() % 3 == 0) {	/* a second argument */
				len += 1 + rnd() % 40;
			}
			if (rnd() % 50 == 0)
				len = 4096 + rnd() % 64;	/* over the limit */
			h.len = (uint32_t)len;
			memcpy(buf + n, &h, sizeof(h));
			pl = buf + n + sizeof(h);
			memset(pl, 'v', len);
			memcpy(pl, p, strlen(p) + 1);
			if (rnd() % 8 == 0)
				pl[rnd() % len] = (uint8_t)rnd();
			n += sizeof(h) + len;
		}
		if (rnd() % 16 == 0)	/* cut short */
			n = 1 + rnd() % n;
		LLVMFuzzerTestOneInput(buf, n);
		total += (unsigned int)n;
	}
	store_free(S);
	printf("fuzz_store: 200000 inputs, %u bytes, store survived\n", total);
	return 0;
}
#endif
