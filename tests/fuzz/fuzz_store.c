/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for pvio-store's request path: arbitrary bytes from a
 * client (dom0 or an unprivileged domain, chosen by the first byte), cut
 * into arbitrary chunks, through framing, dispatch, tree, transactions and
 * watches. Build: clang -fsanitize=fuzzer,address -Iinclude -D_GNU_SOURCE
 *   tests/fuzz/fuzz_store.c xenbus/store_{core,tree,txn,watch,conn,proto,log}.c
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../xenbus/store.h"

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
