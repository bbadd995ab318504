/* SPDX-License-Identifier: MIT */
/*
 * pvio-store connections: framing of the input byte stream into messages,
 * and the bounded output queue. A client that never reads makes us stop
 * reading its requests (replies are bounded by STORE_OUT_HIGH); if watch
 * events pile up beyond STORE_OUT_EVENT_MAX it is disconnected.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

struct store_conn *store_conn_new(struct store *s, uint16_t domid,
				  const struct store_conn_ops *ops, void *priv)
{
	struct store_conn *c;

	if (s->nconns >= STORE_MAX_CONNS)
		return NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->store = s;
	c->domid = domid;
	c->privileged = domid == 0;
	c->ops = ops;
	c->priv = priv;
	c->id = ++s->next_conn_id;
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	s->nconns++;
	return c;
}

void store_conn_free(struct store_conn *c)
{
	struct store *s = c->store;

	while (c->txns)
		store_txn_end(c->txns, false);
	store_watch_del_all(c);
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	s->nconns--;
	free(c->out);
	free(c);
}

bool store_conn_send(struct store_conn *c, uint32_t type, uint32_t req_id,
		     uint32_t tx_id, const void *a, size_t alen,
		     const void *b, size_t blen)
{
	struct xsd_sockmsg h = {
		.type = type, .req_id = req_id, .tx_id = tx_id,
		.len = (uint32_t)(alen + blen),
	};
	size_t need = sizeof(h) + alen + blen;

	if (c->dead || alen + blen > XENSTORE_PAYLOAD_MAX)
		return false;	/* never put an oversized message on the wire */
	if (type == XS_WATCH_EVENT &&
	    store_conn_pending(c) + need > STORE_OUT_EVENT_MAX) {
		/*
		 * The client does not read its events: dropping some silently
		 * would leave it with a stale view, so cut it off instead; a
		 * reconnecting client re-arms its watches, which fire once.
		 */
		c->events_dropped++;
		c->dead = true;
		if (!c->store->opts.quiet)
			fprintf(stderr, "pvio-store: connection %u (dom%u): "
				"%zu bytes of unread events, disconnecting\n",
				c->id, c->domid, store_conn_pending(c));
		return false;
	}
	if (c->out_head && c->out_head == c->out_len)
		c->out_head = c->out_len = 0;
	if (c->out_len + need > c->out_cap) {
		size_t pend = store_conn_pending(c);

		if (c->out_head) {
			memmove(c->out, c->out + c->out_head, pend);
			c->out_head = 0;
			c->out_len = pend;
		}
		if (c->out_len + need > c->out_cap) {
			size_t cap = c->out_cap ? c->out_cap : 8192;
			uint8_t *o;

			while (cap < c->out_len + need)
				cap *= 2;
			o = realloc(c->out, cap);
			if (!o) {
				c->dead = true;
				return false;
			}
			c->out = o;
			c->out_cap = cap;
		}
	}
	memcpy(c->out + c->out_len, &h, sizeof(h));
	c->out_len += sizeof(h);
	if (alen)
		memcpy(c->out + c->out_len, a, alen);
	c->out_len += alen;
	if (blen)
		memcpy(c->out + c->out_len, b, blen);
	c->out_len += blen;
	if (c->ops && c->ops->wake)
		c->ops->wake(c);
	return true;
}

void store_conn_consumed(struct store_conn *c, size_t n)
{
	c->out_head += n;
	if (c->out_head >= c->out_len) {
		c->out_head = c->out_len = 0;
		/* give back a buffer a burst made large */
		if (c->out_cap > 64 * 1024) {
			free(c->out);
			c->out = NULL;
			c->out_cap = 0;
		}
	}
}

int store_conn_process(struct store_conn *c)
{
	uint32_t off = 0;

	while (!c->dead && store_conn_pending(c) < STORE_OUT_HIGH) {
		struct xsd_sockmsg h;
		char payload[XENSTORE_PAYLOAD_MAX + 1];

		if (c->in_len - off < sizeof(h))
			break;
		memcpy(&h, c->in + off, sizeof(h));
		if (h.len > XENSTORE_PAYLOAD_MAX) {
			/* Xen drops such a client: framing is lost anyway. */
			c->dead = true;
			break;
		}
		if (c->in_len - off < sizeof(h) + h.len)
			break;
		/* copy once, terminate, then validate the copy */
		memcpy(payload, c->in + off + sizeof(h), h.len);
		payload[h.len] = 0;
		off += sizeof(h) + h.len;
		c->store->st.requests++;
		store_proto_handle(c, &h, payload);
	}
	if (off) {
		memmove(c->in, c->in + off, c->in_len - off);
		c->in_len -= off;
	}
	return c->dead ? -EPROTO : 0;
}
