// SPDX-License-Identifier: GPL-2.0
/*
 * The guest's store client: xenstore messages over the ring page of the
 * platform region, signalled through the store event channel. Requests
 * go in batches (often of one) written back to back, several callers'
 * batches in flight at once; a reader work item drains the response ring,
 * matching each answer to its request by id, or queueing watch events for
 * an ordered workqueue. The store is a peer: ring indices and lengths are
 * checked and a broken ring stops the client instead of overrunning.
 *
 * A restarted pvio-store asks for a reconnection (connection =
 * XENSTORE_RECONNECT): the reader drops the half messages of both rings,
 * answers CONNECTED, and a work item resends the requests not answered and
 * re-registers every watch (their first events fire again).
 */
#include <linux/kernel.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/rwsem.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uio.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <pvio/xs_wire.h>
#include "pvio_core_internal.h"

#define STORE_TIMEOUT	(30 * HZ)

struct store_event {
	struct list_head list;
	char *path;			/* into buf */
	char *token;			/* into buf */
	char buf[];
};

static struct xenstore_domain_interface *store_intf;
static pvio_evtchn_port_t store_port;
static bool store_broken;
static DECLARE_WAIT_QUEUE_HEAD(store_wq);
/* taken shared by every batch, exclusively to hold the store (suspend) */
static DECLARE_RWSEM(store_req_sem);
static DEFINE_MUTEX(store_write_mutex);	/* one message written at a time */
static DEFINE_SPINLOCK(store_ring_lock);	/* request indices vs a reset */
static unsigned int store_gen;		/* bumped by each reconnection */
static bool store_asked_reconnect;	/* the drivers are to hear of it */
static u32 store_req_id;

/* the reader's partial message */
static struct {
	struct xsd_sockmsg hdr;
	char body[XENSTORE_PAYLOAD_MAX + 1];
	unsigned int have;		/* bytes of hdr + body received */
} store_rx;
/*
 * The batches awaiting answers (the list under store_reply_lock). A batch
 * leaves it under store_write_mutex too: the resend work, which holds that
 * mutex, may write a batch's messages without copying them.
 */
struct store_batch {
	struct list_head list;
	struct pvio_store_op *ops;
	unsigned int n, left;
};
static LIST_HEAD(store_batches);
static DEFINE_SPINLOCK(store_reply_lock);
static void store_resend_fn(struct work_struct *w);
static DECLARE_WORK(store_resend_work, store_resend_fn);

static void store_rx_work_fn(struct work_struct *w);
static DECLARE_WORK(store_rx_work, store_rx_work_fn);

static LIST_HEAD(store_watches);
static LIST_HEAD(store_events);
static DEFINE_SPINLOCK(store_watch_lock);
static struct workqueue_struct *store_watch_wq;
static void store_watch_work_fn(struct work_struct *w);
static DECLARE_WORK(store_watch_work, store_watch_work_fn);

static void store_fail(const char *why)
{
	if (!store_broken)
		pr_err("pvio_core: store ring broken (%s): store disabled\n",
		       why);
	store_broken = true;
	wake_up_all(&store_wq);
}

static void store_event_fn(pvio_evtchn_port_t port, void *data)
{
	queue_work(system_highpri_wq, &store_rx_work);
	wake_up_all(&store_wq);
}

/* Free space for requests, or -EIO if the store moved req_cons wildly. */
static int store_req_space(u32 *prod)
{
	u32 cons = READ_ONCE(store_intf->req_cons);

	*prod = READ_ONCE(store_intf->req_prod);
	if (*prod - cons > XENSTORE_RING_SIZE)
		return -EIO;
	return XENSTORE_RING_SIZE - (*prod - cons);
}

/*
 * Write one message (under store_write_mutex). -EAGAIN: the store asked
 * for a reconnection meanwhile and the message is to be sent again. The
 * store is told only when the ring is full: the writer of a batch tells
 * it once, after its last message (store_kick).
 */
static int store_write(const void *data, size_t len, unsigned int gen)
{
	const char *p = data;

	while (len) {
		u32 prod, off, chunk;
		int space;
		long t;

		if (!store_req_space(&prod))
			pvio_evtchn_notify(store_port);
		t = wait_event_timeout(store_wq, store_broken ||
				       READ_ONCE(store_gen) != gen ||
				       store_req_space(&prod) != 0,
				       STORE_TIMEOUT);
		if (store_broken)
			return -EIO;
		if (READ_ONCE(store_gen) != gen)
			return -EAGAIN;
		if (!t)
			return -ETIMEDOUT;
		spin_lock(&store_ring_lock);
		if (store_gen != gen) {
			spin_unlock(&store_ring_lock);
			return -EAGAIN;
		}
		space = store_req_space(&prod);
		if (space < 0) {
			spin_unlock(&store_ring_lock);
			store_fail("request index");
			return -EIO;
		}
		/* the ring holds the free space we saw before copying */
		virt_mb();
		off = XENSTORE_RING_IDX(prod);
		chunk = min3((u32)space, (u32)len, XENSTORE_RING_SIZE - off);
		memcpy(store_intf->req + off, p, chunk);
		/* data before the index that publishes it */
		virt_wmb();
		WRITE_ONCE(store_intf->req_prod, prod + chunk);
		spin_unlock(&store_ring_lock);
		p += chunk;
		len -= chunk;
	}
	return 0;
}

/* The messages written are there to read. */
static void store_kick(void)
{
	pvio_evtchn_notify(store_port);
}

/*
 * pvio-store asks us to reconnect (it restarted, or we moved while we
 * ran): drop half messages, say CONNECTED, resend.
 */
static void store_reconnect(void)
{
	spin_lock(&store_ring_lock);
	store_gen++;
	WRITE_ONCE(store_intf->req_prod, READ_ONCE(store_intf->req_cons));
	WRITE_ONCE(store_intf->rsp_cons, READ_ONCE(store_intf->rsp_prod));
	store_rx.have = 0;
	/* indices reset before we say so */
	virt_mb();
	WRITE_ONCE(store_intf->connection, XENSTORE_CONNECTED);
	spin_unlock(&store_ring_lock);
	WRITE_ONCE(store_asked_reconnect, true);
	pr_info("pvio_core: the store asks for a reconnection (it restarted, or this guest moved)\n");
	pvio_evtchn_notify(store_port);
	wake_up_all(&store_wq);
	queue_work(system_highpri_wq, &store_resend_work);
}

static void store_watch_token(struct pvio_store_watch *w, char *buf,
			      size_t len);

/* Send a message again after a reconnection; req_id 0 answers are dropped. */
static int store_resend_one(const void *msg, size_t len, unsigned int gen)
{
	int ret = store_write(msg, len, gen);

	if (ret && ret != -EAGAIN)
		pr_warn("pvio_core: store resend failed: %d\n", ret);
	return ret;
}

static void store_resend_fn(struct work_struct *w)
{
	struct pvio_store_op **ops = NULL;
	struct pvio_store_watch *sw;
	struct store_batch *sb;
	unsigned int gen, n = 0, i, nreq = 0, sent;
	char **msgs;

	mutex_lock(&store_write_mutex);
	gen = READ_ONCE(store_gen);
	/*
	 * The requests not answered and not written since the reset, in the
	 * order they were sent. No batch leaves while we hold the mutex.
	 */
	spin_lock(&store_reply_lock);
	list_for_each_entry(sb, &store_batches, list)
		n += sb->n;
	if (n)
		ops = kmalloc_array(n, sizeof(*ops), GFP_ATOMIC);
	list_for_each_entry(sb, &store_batches, list) {
		for (i = 0; ops && i < sb->n; i++)
			if (!sb->ops[i].done && sb->ops[i].gen != gen)
				ops[nreq++] = &sb->ops[i];
	}
	spin_unlock(&store_reply_lock);
	if (n && !ops)
		pr_warn("pvio_core: out of memory: requests in flight not sent again\n");
	for (sent = 0; sent < nreq; sent++) {
		if (store_resend_one(ops[sent]->msg, ops[sent]->len, gen))
			break;
		spin_lock(&store_reply_lock);
		ops[sent]->gen = gen;
		spin_unlock(&store_reply_lock);
	}
	if (sent)
		store_kick();
	kfree(ops);
	if (sent < nreq)
		goto out;
	n = 0;

	/* XS_WATCH path token, one message per watch, built under the lock */
	spin_lock(&store_watch_lock);
	list_for_each_entry(sw, &store_watches, list)
		n++;
	msgs = kcalloc(n + 1, sizeof(*msgs), GFP_ATOMIC);
	i = 0;
	list_for_each_entry(sw, &store_watches, list) {
		struct xsd_sockmsg hdr = { .type = XS_WATCH };
		size_t plen = strlen(sw->path) + 1;
		char token[32];
		size_t tlen;

		if (!msgs)
			break;
		store_watch_token(sw, token, sizeof(token));
		tlen = strlen(token) + 1;
		hdr.len = plen + tlen;
		if (hdr.len > XENSTORE_PAYLOAD_MAX)
			continue;
		msgs[i] = kmalloc(sizeof(hdr) + hdr.len, GFP_ATOMIC);
		if (!msgs[i])
			continue;
		memcpy(msgs[i], &hdr, sizeof(hdr));
		memcpy(msgs[i] + sizeof(hdr), sw->path, plen);
		memcpy(msgs[i] + sizeof(hdr) + plen, token, tlen);
		i++;
	}
	spin_unlock(&store_watch_lock);
	if (!msgs) {
		pr_warn("pvio_core: out of memory: watches not re-registered\n");
		goto out;
	}
	for (n = 0; n < i; n++) {
		struct xsd_sockmsg *h = (struct xsd_sockmsg *)msgs[n];

		if (store_resend_one(msgs[n], sizeof(*h) + h->len, gen))
			break;
	}
	if (n)
		store_kick();
	pr_info("pvio_core: store: %u of %u watches registered again, %u request(s) in flight sent again\n",
		n, i, nreq);
	for (n = 0; n < i; n++)
		kfree(msgs[n]);
	kfree(msgs);
out:
	mutex_unlock(&store_write_mutex);
	/* not under the mutex: drivers may talk to the store */
	if (xchg(&store_asked_reconnect, false))
		pvio_bus_store_reconnected();
}

static void store_queue_event(void)
{
	unsigned int len = store_rx.hdr.len;
	struct store_event *ev;
	char *tok;

	store_rx.body[len] = 0;
	tok = memchr(store_rx.body, 0, len);
	if (!tok || tok + 1 >= store_rx.body + len)
		return;		/* malformed: ignore the event */
	ev = kmalloc(sizeof(*ev) + len + 1, GFP_KERNEL);
	if (!ev)
		return;
	memcpy(ev->buf, store_rx.body, len + 1);
	ev->path = ev->buf;
	ev->token = ev->buf + (tok + 1 - store_rx.body);
	spin_lock(&store_watch_lock);
	list_add_tail(&ev->list, &store_events);
	spin_unlock(&store_watch_lock);
	queue_work(store_watch_wq, &store_watch_work);
}

static void store_complete_reply(void)
{
	unsigned int len = store_rx.hdr.len, i, left;
	char *body = kmalloc(len + 1, GFP_KERNEL);
	struct pvio_store_op *op = NULL;
	struct store_batch *sb;

	if (body) {
		memcpy(body, store_rx.body, len);
		body[len] = 0;
	}
	spin_lock(&store_reply_lock);
	list_for_each_entry(sb, &store_batches, list) {
		for (i = 0; i < sb->n; i++) {
			if (!sb->ops[i].done &&
			    sb->ops[i].req_id == store_rx.hdr.req_id) {
				op = &sb->ops[i];
				break;
			}
		}
		if (op)
			break;
	}
	if (!op) {
		/* an answer nobody waits for (e.g. after a timeout) */
		spin_unlock(&store_reply_lock);
		kfree(body);
		return;
	}
	op->reply_type = store_rx.hdr.type;
	op->reply = body;
	op->reply_len = len;
	op->done = true;
	left = --sb->left;
	spin_unlock(&store_reply_lock);
	if (!left)
		wake_up_all(&store_wq);
}

static void store_rx_work_fn(struct work_struct *w)
{
	char *dst = (char *)&store_rx;

	while (!store_broken) {
		u32 prod, cons, want, chunk, off;

		if (READ_ONCE(store_intf->connection) == XENSTORE_RECONNECT) {
			store_reconnect();
			continue;
		}
		prod = READ_ONCE(store_intf->rsp_prod);
		cons = READ_ONCE(store_intf->rsp_cons);

		if (prod - cons > XENSTORE_RING_SIZE) {
			store_fail("response index");
			return;
		}
		if (prod == cons)
			return;
		/* read the bytes only after seeing the index */
		virt_rmb();
		if (store_rx.have < sizeof(store_rx.hdr))
			want = sizeof(store_rx.hdr) - store_rx.have;
		else
			want = sizeof(store_rx.hdr) + store_rx.hdr.len -
			       store_rx.have;
		off = XENSTORE_RING_IDX(cons);
		chunk = min3(want, prod - cons, XENSTORE_RING_SIZE - off);
		if (store_rx.have < sizeof(store_rx.hdr))
			memcpy(dst + store_rx.have, store_intf->rsp + off,
			       chunk);
		else
			memcpy(store_rx.body + store_rx.have -
			       sizeof(store_rx.hdr), store_intf->rsp + off,
			       chunk);
		store_rx.have += chunk;
		/* the copy is done before the store may reuse the space */
		virt_mb();
		WRITE_ONCE(store_intf->rsp_cons, cons + chunk);
		pvio_evtchn_notify(store_port);

		if (store_rx.have == sizeof(store_rx.hdr) &&
		    store_rx.hdr.len > XENSTORE_PAYLOAD_MAX) {
			store_fail("message too long");
			return;
		}
		if (store_rx.have < sizeof(store_rx.hdr) ||
		    store_rx.have < sizeof(store_rx.hdr) + store_rx.hdr.len)
			continue;
		if (store_rx.hdr.type == XS_WATCH_EVENT)
			store_queue_event();
		else
			store_complete_reply();
		store_rx.have = 0;
	}
}

static int store_errno(const char *name)
{
	static const struct xsd_errors errs[] = PVIO_XSD_ERRORS_INIT;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(errs); i++)
		if (!strcmp(name, errs[i].errstring))
			return -errs[i].errnum;
	return -EIO;
}

/*
 * Send @n requests back to back and wait for every answer. The result:
 * 0 or the error of the exchange itself (store broken, timeout); each
 * request's own result is in its op (err, reply, reply_len).
 */
static int store_run(struct pvio_store_op *ops, unsigned int n)
{
	struct store_batch sb = { .ops = ops, .n = n, .left = n };
	unsigned int i, gen;
	int ret = 0;

	if (!store_intf) {
		for (i = 0; i < n; i++)
			ops[i].err = -ENODEV;
		return -ENODEV;
	}
	down_read(&store_req_sem);
	spin_lock(&store_reply_lock);
	for (i = 0; i < n; i++) {
		struct xsd_sockmsg *h = (struct xsd_sockmsg *)ops[i].msg;

		h->req_id = ++store_req_id;
		if (!h->req_id)
			h->req_id = ++store_req_id;	/* 0: resent watches */
		ops[i].req_id = h->req_id;
		ops[i].done = false;
		ops[i].reply = NULL;
		ops[i].gen = READ_ONCE(store_gen) - 1;	/* not sent yet */
	}
	list_add_tail(&sb.list, &store_batches);
	spin_unlock(&store_reply_lock);

	mutex_lock(&store_write_mutex);
	gen = READ_ONCE(store_gen);
	for (i = 0; i < n && !ret; i++) {
		ret = store_write(ops[i].msg, ops[i].len, gen);
		if (!ret) {
			spin_lock(&store_reply_lock);
			ops[i].gen = gen;
			spin_unlock(&store_reply_lock);
		}
	}
	if (i)
		store_kick();
	mutex_unlock(&store_write_mutex);
	if (ret == -EAGAIN)
		ret = 0;	/* the reconnection sends the rest */
	if (!ret) {
		wait_event_timeout(store_wq, store_broken ||
				   !READ_ONCE(sb.left), STORE_TIMEOUT);
		if (READ_ONCE(sb.left))
			ret = store_broken ? -EIO : -ETIMEDOUT;
	}
	/* late answers to these ids are dropped by the reader */
	mutex_lock(&store_write_mutex);
	spin_lock(&store_reply_lock);
	list_del(&sb.list);
	spin_unlock(&store_reply_lock);
	mutex_unlock(&store_write_mutex);
	up_read(&store_req_sem);

	for (i = 0; i < n; i++) {
		struct pvio_store_op *op = &ops[i];

		if (!op->done)
			op->err = ret ?: -EIO;
		else if (!op->reply)
			op->err = -ENOMEM;
		else if (op->reply_type == XS_ERROR)
			op->err = store_errno(op->reply);
		else if (op->reply_type != op->type)
			op->err = -EPROTO;
		else
			op->err = 0;
		if (op->err) {
			kfree(op->reply);
			op->reply = NULL;
		}
	}
	return ret;
}

/* A request's message: the header (its id set when sent), the payload. */
static int store_op_init(struct pvio_store_op *op, u32 type,
			 const struct kvec *iov, unsigned int nr)
{
	struct xsd_sockmsg hdr = { .type = type };
	unsigned int i;
	char *p;

	memset(op, 0, sizeof(*op));
	for (i = 0; i < nr; i++)
		hdr.len += iov[i].iov_len;
	if (hdr.len > XENSTORE_PAYLOAD_MAX)
		return -E2BIG;
	/* one block, kept until answered: a reconnection sends it again */
	op->msg = kmalloc(sizeof(hdr) + hdr.len, GFP_KERNEL);
	if (!op->msg)
		return -ENOMEM;
	memcpy(op->msg, &hdr, sizeof(hdr));
	for (i = 0, p = op->msg + sizeof(hdr); i < nr; p += iov[i].iov_len, i++)
		memcpy(p, iov[i].iov_base, iov[i].iov_len);
	op->len = sizeof(hdr) + hdr.len;
	op->type = type;
	return 0;
}

/*
 * Send a request made of @nr pieces; returns the reply body (kmalloc'd,
 * NUL-terminated, length in *rlen) or ERR_PTR(-errno).
 */
static char *store_talk(u32 type, const struct kvec *iov, unsigned int nr,
			unsigned int *rlen)
{
	struct pvio_store_op op;
	int ret = store_op_init(&op, type, iov, nr);

	if (ret)
		return ERR_PTR(ret);
	store_run(&op, 1);
	/* the batch has left the list: no resend writes this block now */
	kfree(op.msg);
	if (op.err)
		return ERR_PTR(op.err);
	if (rlen)
		*rlen = op.reply_len;
	return op.reply;
}

static int store_simple(u32 type, const struct kvec *iov, unsigned int nr)
{
	char *r = store_talk(type, iov, nr, NULL);

	if (IS_ERR(r))
		return PTR_ERR(r);
	kfree(r);
	return 0;
}

static struct kvec store_str(const char *s)
{
	return (struct kvec){ .iov_base = (void *)s, .iov_len = strlen(s) + 1 };
}

char *pvio_store_read(const char *path, unsigned int *len)
{
	struct kvec iov = store_str(path);

	return store_talk(XS_READ, &iov, 1, len);
}
EXPORT_SYMBOL_GPL(pvio_store_read);

unsigned long long pvio_store_read_ull(const char *path,
				       unsigned long long def)
{
	unsigned long long v;
	char *s = pvio_store_read(path, NULL);

	if (IS_ERR(s))
		return def;
	if (kstrtoull(s, 10, &v))
		v = def;
	kfree(s);
	return v;
}
EXPORT_SYMBOL_GPL(pvio_store_read_ull);

int pvio_store_write(const char *path, const char *value)
{
	struct kvec iov[2] = {
		store_str(path),
		{ .iov_base = (void *)value, .iov_len = strlen(value) },
	};

	return store_simple(XS_WRITE, iov, 2);
}
EXPORT_SYMBOL_GPL(pvio_store_write);

int pvio_store_printf(const char *path, const char *fmt, ...)
{
	va_list ap;
	char *v;
	int ret;

	va_start(ap, fmt);
	v = kvasprintf(GFP_KERNEL, fmt, ap);
	va_end(ap);
	if (!v)
		return -ENOMEM;
	ret = pvio_store_write(path, v);
	kfree(v);
	return ret;
}
EXPORT_SYMBOL_GPL(pvio_store_printf);

int pvio_store_mkdir(const char *path)
{
	struct kvec iov = store_str(path);

	return store_simple(XS_MKDIR, &iov, 1);
}
EXPORT_SYMBOL_GPL(pvio_store_mkdir);

int pvio_store_rm(const char *path)
{
	struct kvec iov = store_str(path);

	return store_simple(XS_RM, &iov, 1);
}
EXPORT_SYMBOL_GPL(pvio_store_rm);

char **pvio_store_directory(const char *path, unsigned int *n)
{
	struct kvec iov = store_str(path);
	unsigned int len, count = 0, i;
	char **names, *body, *p;

	body = store_talk(XS_DIRECTORY, &iov, 1, &len);
	if (IS_ERR(body))
		return (char **)body;
	for (p = body; p < body + len; p += strlen(p) + 1)
		count++;
	/* one block: the pointer array, then the names */
	names = kmalloc(count * sizeof(*names) + len + 1, GFP_KERNEL);
	if (!names) {
		kfree(body);
		return ERR_PTR(-ENOMEM);
	}
	p = (char *)(names + count);
	memcpy(p, body, len + 1);
	kfree(body);
	for (i = 0; i < count; i++) {
		names[i] = p;
		p += strlen(p) + 1;
	}
	*n = count;
	return names;
}
EXPORT_SYMBOL_GPL(pvio_store_directory);

void pvio_store_batch_init(struct pvio_store_batch *b)
{
	b->n = 0;
	b->err = 0;
}
EXPORT_SYMBOL_GPL(pvio_store_batch_init);

static int batch_add(struct pvio_store_batch *b, u32 type, const char *dir,
		     const char *key, const char *value)
{
	char *path;
	struct kvec iov[2];
	int ret;

	if (b->err)
		return -1;
	if (b->n >= PVIO_STORE_BATCH_MAX) {
		b->err = -E2BIG;
		return -1;
	}
	path = kasprintf(GFP_KERNEL, "%s/%s", dir, key);
	if (!path) {
		b->err = -ENOMEM;
		return -1;
	}
	iov[0] = store_str(path);
	/* a written value goes without its NUL, as in pvio_store_write */
	if (value)
		iov[1] = (struct kvec){ .iov_base = (void *)value,
					.iov_len = strlen(value) };
	ret = store_op_init(&b->ops[b->n], type, iov, value ? 2 : 1);
	kfree(path);
	if (ret) {
		b->err = ret;
		return -1;
	}
	return b->n++;
}

int pvio_store_batch_read(struct pvio_store_batch *b, const char *dir,
			  const char *key)
{
	return batch_add(b, XS_READ, dir, key, NULL);
}
EXPORT_SYMBOL_GPL(pvio_store_batch_read);

int pvio_store_batch_printf(struct pvio_store_batch *b, const char *dir,
			    const char *key, const char *fmt, ...)
{
	va_list ap;
	char *v;
	int i;

	va_start(ap, fmt);
	v = kvasprintf(GFP_KERNEL, fmt, ap);
	va_end(ap);
	if (!v) {
		if (!b->err)
			b->err = -ENOMEM;
		return -1;
	}
	i = batch_add(b, XS_WRITE, dir, key, v);
	kfree(v);
	return i;
}
EXPORT_SYMBOL_GPL(pvio_store_batch_printf);

int pvio_store_batch_rm(struct pvio_store_batch *b, const char *dir,
			const char *key)
{
	return batch_add(b, XS_RM, dir, key, NULL);
}
EXPORT_SYMBOL_GPL(pvio_store_batch_rm);

int pvio_store_batch_run(struct pvio_store_batch *b)
{
	unsigned int i;
	int ret;

	if (b->err)
		return b->err;
	if (!b->n)
		return 0;
	ret = store_run(b->ops, b->n);
	if (ret)
		return ret;
	for (i = 0; i < b->n; i++) {
		int err = b->ops[i].err;

		if (!err || b->ops[i].type == XS_READ ||
		    (b->ops[i].type == XS_RM && err == -ENOENT))
			continue;
		return err;
	}
	return 0;
}
EXPORT_SYMBOL_GPL(pvio_store_batch_run);

const char *pvio_store_batch_str(struct pvio_store_batch *b, int i)
{
	if (i < 0 || i >= (int)b->n || b->ops[i].err)
		return NULL;
	return b->ops[i].reply;
}
EXPORT_SYMBOL_GPL(pvio_store_batch_str);

unsigned long long pvio_store_batch_ull(struct pvio_store_batch *b, int i,
					unsigned long long def)
{
	const char *s = pvio_store_batch_str(b, i);
	unsigned long long v;

	if (!s || kstrtoull(s, 10, &v))
		return def;
	return v;
}
EXPORT_SYMBOL_GPL(pvio_store_batch_ull);

void pvio_store_batch_clear(struct pvio_store_batch *b)
{
	unsigned int i;

	for (i = 0; i < b->n; i++) {
		kfree(b->ops[i].msg);
		kfree(b->ops[i].reply);
	}
	b->n = 0;
}
EXPORT_SYMBOL_GPL(pvio_store_batch_clear);

struct pvio_store_batch *pvio_store_batch_alloc(void)
{
	struct pvio_store_batch *b = kmalloc(sizeof(*b), GFP_KERNEL);

	if (b)
		pvio_store_batch_init(b);
	return b;
}
EXPORT_SYMBOL_GPL(pvio_store_batch_alloc);

void pvio_store_batch_release(struct pvio_store_batch *b)
{
	if (!b)
		return;
	pvio_store_batch_clear(b);
	kfree(b);
}
EXPORT_SYMBOL_GPL(pvio_store_batch_release);

int pvio_store_batch_room(struct pvio_store_batch *b, unsigned int n)
{
	int ret;

	if (b->n + n <= PVIO_STORE_BATCH_MAX)
		return 0;
	ret = pvio_store_batch_run(b);
	pvio_store_batch_clear(b);
	return ret;
}
EXPORT_SYMBOL_GPL(pvio_store_batch_room);

/*
 * A watch's token names it in events. Not "%p": until the kernel's
 * random pool is ready every hashed pointer prints alike, and all watches
 * registered early (the bus's among them) would share one token.
 */
static void store_watch_token(struct pvio_store_watch *w, char *buf,
			      size_t len)
{
	snprintf(buf, len, "pvio-%u", w->token);
}

int pvio_store_watch_add(struct pvio_store_watch *w)
{
	static atomic_t next_token = ATOMIC_INIT(0);
	char token[32];
	struct kvec iov[2];
	int ret;

	w->token = atomic_inc_return(&next_token);
	store_watch_token(w, token, sizeof(token));
	spin_lock(&store_watch_lock);
	list_add(&w->list, &store_watches);
	spin_unlock(&store_watch_lock);
	iov[0] = store_str(w->path);
	iov[1] = store_str(token);
	ret = store_simple(XS_WATCH, iov, 2);
	if (ret) {
		spin_lock(&store_watch_lock);
		list_del(&w->list);
		spin_unlock(&store_watch_lock);
	}
	return ret;
}
EXPORT_SYMBOL_GPL(pvio_store_watch_add);

void pvio_store_watch_del(struct pvio_store_watch *w)
{
	char token[32];
	struct kvec iov[2];

	store_watch_token(w, token, sizeof(token));
	iov[0] = store_str(w->path);
	iov[1] = store_str(token);
	store_simple(XS_UNWATCH, iov, 2);
	spin_lock(&store_watch_lock);
	list_del(&w->list);
	spin_unlock(&store_watch_lock);
	/* a callback already looked up finishes before @w goes away */
	if (current_work() != &store_watch_work)
		flush_workqueue(store_watch_wq);
}
EXPORT_SYMBOL_GPL(pvio_store_watch_del);

static void store_watch_work_fn(struct work_struct *work)
{
	for (;;) {
		struct pvio_store_watch *w, *found = NULL;
		struct store_event *ev;
		char token[32];

		spin_lock(&store_watch_lock);
		ev = list_first_entry_or_null(&store_events,
					      struct store_event, list);
		if (ev) {
			list_del(&ev->list);
			list_for_each_entry(w, &store_watches, list) {
				store_watch_token(w, token, sizeof(token));
				if (!strcmp(token, ev->token)) {
					found = w;
					break;
				}
			}
		}
		spin_unlock(&store_watch_lock);
		if (!ev)
			return;
		if (found)
			found->cb(found, ev->path);
		kfree(ev);
	}
}

void pvio_store_suspend(void)
{
	/* nobody talks to the store until we are resumed */
	down_write(&store_req_sem);
}

void pvio_store_forget_port(void)
{
	/* the old host's port names nothing here */
	if (store_intf)
		pvio_evtchn_unbind_handler(store_port);
}

void pvio_store_resume(bool new_host)
{
	pvio_evtchn_port_t port;

	if (new_host && store_intf) {
		/* hv cleared the rings; the port is the new host's */
		port = READ_ONCE(pvio_plat->shared->store_port);
		mutex_lock(&store_write_mutex);
		spin_lock(&store_ring_lock);
		store_gen++;
		store_rx.have = 0;
		spin_unlock(&store_ring_lock);
		mutex_unlock(&store_write_mutex);
		if (!port || port >= PVIO_EVTCHN_MAX_PORTS ||
		    pvio_evtchn_bind_handler(port, store_event_fn, NULL)) {
			store_fail("no store port after resume");
		} else {
			store_port = port;
			store_broken = false;
		}
		wake_up_all(&store_wq);
	}
	up_write(&store_req_sem);
}

void pvio_store_rewatch(void)
{
	/*
	 * What the resend work does (re-register every watch of the list),
	 * done here: waiting for a worker to run it cost the resume up to
	 * 10 ms under TCG. One already queued is ours to do.
	 */
	cancel_work_sync(&store_resend_work);
	store_resend_fn(&store_resend_work);
}

int pvio_store_init(struct pvio_platform *p)
{
	pvio_evtchn_port_t port = READ_ONCE(p->shared->store_port);
	int ret;

	if (!port || port >= PVIO_EVTCHN_MAX_PORTS)
		return -ENODEV;
	store_watch_wq = alloc_ordered_workqueue("pvio-store-watch", WQ_HIGHPRI);
	if (!store_watch_wq)
		return -ENOMEM;
	store_intf = p->region + PVIO_PLATFORM_OFF_STORE;
	store_port = port;
	store_broken = false;
	store_rx.have = 0;
	ret = pvio_evtchn_bind_handler(port, store_event_fn, NULL);
	if (ret) {
		destroy_workqueue(store_watch_wq);
		store_intf = NULL;
		return ret;
	}
	/* answers may already wait in the ring */
	queue_work(system_highpri_wq, &store_rx_work);
	return 0;
}

void pvio_store_exit(void)
{
	struct store_event *ev, *tmp;

	if (!store_intf)
		return;
	pvio_evtchn_unbind_handler(store_port);
	cancel_work_sync(&store_rx_work);
	cancel_work_sync(&store_resend_work);
	destroy_workqueue(store_watch_wq);
	list_for_each_entry_safe(ev, tmp, &store_events, list)
		kfree(ev);
	INIT_LIST_HEAD(&store_events);
	store_intf = NULL;
}
