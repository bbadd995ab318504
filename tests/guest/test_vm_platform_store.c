// SPDX-License-Identifier: MIT
/*
 * A minimal store on the far side of a guest's store ring, for the platform
 * contract test: a flat table of paths, READ/WRITE/MKDIR/RM/DIRECTORY/WATCH/
 * UNWATCH, and watch events on writes below a watched path. It exists to
 * check pvio_core's ring client and bus until pvio-store serves domain
 * rings; it is not a store implementation.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pvio/xs_wire.h"
#include "test_vm_platform.h"

#define NODES	64
#define WATCHES	16

static struct { char path[128]; char value[128]; } node[NODES];
static struct { char path[128]; char token[64]; } watch[WATCHES];
static struct xenstore_domain_interface *ring;
static char rx[sizeof(struct xsd_sockmsg) + XENSTORE_PAYLOAD_MAX];
static unsigned int rx_have;

static int node_find(const char *path)
{
	for (int i = 0; i < NODES; i++)
		if (node[i].path[0] && !strcmp(node[i].path, path))
			return i;
	return -1;
}

void stub_store_set(const char *path, const char *value)
{
	int i = node_find(path);

	for (int j = 0; i < 0 && j < NODES; j++)
		if (!node[j].path[0])
			i = j;
	if (i < 0)
		return;
	snprintf(node[i].path, sizeof(node[i].path), "%.127s", path);
	snprintf(node[i].value, sizeof(node[i].value), "%.127s", value);
}

const char *stub_store_get(const char *path)
{
	int i = node_find(path);

	return i < 0 ? NULL : node[i].value;
}

static void ring_put(const void *data, size_t len)
{
	const char *p = data;

	/* the test's replies are small; a full ring means a stuck guest */
	for (size_t i = 0; i < len; i++) {
		uint32_t prod = ring->rsp_prod;

		if (prod - __atomic_load_n(&ring->rsp_cons, __ATOMIC_ACQUIRE) >=
		    XENSTORE_RING_SIZE) {
			fprintf(stderr, "stub store: response ring full\n");
			return;
		}
		ring->rsp[XENSTORE_RING_IDX(prod)] = p[i];
		__atomic_store_n(&ring->rsp_prod, prod + 1, __ATOMIC_RELEASE);
	}
}

static void reply(uint32_t type, uint32_t req_id, const void *body, size_t len)
{
	struct xsd_sockmsg h = { .type = type, .req_id = req_id,
				 .len = (uint32_t)len };

	ring_put(&h, sizeof(h));
	ring_put(body, len);
}

static void reply_error(uint32_t req_id, const char *e)
{
	reply(XS_ERROR, req_id, e, strlen(e) + 1);
}

static void fire(const char *path)
{
	for (int i = 0; i < WATCHES; i++) {
		size_t l = strlen(watch[i].path);
		char ev[256];
		int n;

		if (!watch[i].path[0] || strncmp(path, watch[i].path, l) ||
		    (path[l] && path[l] != '/'))
			continue;
		n = snprintf(ev, sizeof(ev), "%s%c%s", path, 0, watch[i].token);
		reply(XS_WATCH_EVENT, 0, ev, (size_t)n + 1);
	}
}

void stub_store_write(const char *path, const char *value)
{
	stub_store_set(path, value);
	fire(path);
}

static void directory(uint32_t id, const char *path)
{
	char out[1024];
	size_t o = 0, l = strlen(path);

	for (int i = 0; i < NODES; i++) {
		const char *rest = node[i].path;
		size_t nl;
		bool dup = false;

		if (!rest[0] || strncmp(rest, path, l) || rest[l] != '/')
			continue;
		rest += l + 1;
		nl = strcspn(rest, "/");
		for (size_t k = 0; k < o; k += strlen(out + k) + 1)
			if (strlen(out + k) == nl && !strncmp(out + k, rest, nl))
				dup = true;
		if (dup || o + nl + 1 > sizeof(out))
			continue;
		memcpy(out + o, rest, nl);
		out[o + nl] = 0;
		o += nl + 1;
	}
	reply(XS_DIRECTORY, id, out, o);
}

static void handle(const struct xsd_sockmsg *h, char *body)
{
	char *arg2;
	int i;

	body[h->len] = 0;
	arg2 = body + strlen(body) + 1;
	if (arg2 > body + h->len)
		arg2 = body + h->len;
	switch (h->type) {
	case XS_READ:
		i = node_find(body);
		if (i < 0)
			reply_error(h->req_id, "ENOENT");
		else
			reply(XS_READ, h->req_id, node[i].value,
			      strlen(node[i].value));
		return;
	case XS_WRITE:
		stub_store_set(body, arg2);
		reply(XS_WRITE, h->req_id, "OK", 3);
		fire(body);
		return;
	case XS_MKDIR:
		reply(XS_MKDIR, h->req_id, "OK", 3);
		return;
	case XS_RM:
		i = node_find(body);
		if (i >= 0)
			node[i].path[0] = 0;
		reply(XS_RM, h->req_id, "OK", 3);
		fire(body);
		return;
	case XS_DIRECTORY:
		directory(h->req_id, body);
		return;
	case XS_WATCH:
		for (i = 0; i < WATCHES && watch[i].path[0]; i++)
			;
		if (i == WATCHES) {
			reply_error(h->req_id, "ENOSPC");
			return;
		}
		snprintf(watch[i].path, sizeof(watch[i].path), "%.127s", body);
		snprintf(watch[i].token, sizeof(watch[i].token), "%.63s", arg2);
		reply(XS_WATCH, h->req_id, "OK", 3);
		fire(body);	/* a watch fires once when it is set */
		return;
	case XS_UNWATCH:
		for (i = 0; i < WATCHES; i++)
			if (!strcmp(watch[i].token, arg2))
				watch[i].path[0] = 0;
		reply(XS_UNWATCH, h->req_id, "OK", 3);
		return;
	}
	reply_error(h->req_id, "ENOSYS");
}

void stub_store_init(void *plat)
{
	ring = (struct xenstore_domain_interface *)((char *)plat +
						     PVIO_PLATFORM_OFF_STORE);
}

int stub_store_poll(void)
{
	int handled = 0;

	for (;;) {
		uint32_t prod = __atomic_load_n(&ring->req_prod, __ATOMIC_ACQUIRE);
		uint32_t cons = ring->req_cons;
		struct xsd_sockmsg h;

		if (prod - cons > XENSTORE_RING_SIZE)
			return -EIO;
		if (prod == cons)
			return handled;
		rx[rx_have++] = ring->req[XENSTORE_RING_IDX(cons)];
		__atomic_store_n(&ring->req_cons, cons + 1, __ATOMIC_RELEASE);
		if (rx_have < sizeof(h))
			continue;
		memcpy(&h, rx, sizeof(h));
		if (h.len > XENSTORE_PAYLOAD_MAX - 1)
			return -EIO;
		if (rx_have < sizeof(h) + h.len)
			continue;
		handle(&h, rx + sizeof(h));
		rx_have = 0;
		handled++;
	}
}
