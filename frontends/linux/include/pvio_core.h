/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pvio_core: what the guest platform module offers to frontend modules
 * (blkfront, netfront): hypercalls, event channels, grant tables, the store
 * and the pvio bus. Every int function returns 0 (or a documented value
 * >= 0) or -errno.
 */
#ifndef PVIO_CORE_H
#define PVIO_CORE_H

#include <linux/device.h>
#include <linux/mm.h>
#include <linux/types.h>
#include <pvio/abi.h>
#include <pvio/event_channel.h>
#include <pvio/grant_table.h>

/* ---- hypercalls ---- */

/*
 * Issue hypercall @op with @args (pointer arguments are byte offsets into
 * the argument area). @buf (@len <= PVIO_HC_ARG_BYTES) is copied into the
 * argument area at offset 0 before the call and back out after it. May
 * sleep. Returns hv's result: >= 0 or -errno.
 */
long pvio_hypercall(u32 op, const u64 args[6], void *buf, size_t len);
/* This domain's id, as hv told it in the shared info. */
pvio_domid_t pvio_domid(void);

/* ---- event channels ---- */

/* Called in hard interrupt context with the port's pending bit cleared. */
typedef void (*pvio_evtchn_handler_t)(pvio_evtchn_port_t port, void *data);

int pvio_evtchn_alloc_unbound(pvio_domid_t remote, pvio_evtchn_port_t *port);
/*
 * The same, with the port's events raised on @cpu's own vector (a queue
 * served from that CPU takes its completions there, not on CPU 0 with a
 * cross-CPU call on top); CPU 0's if @cpu has none.
 */
int pvio_evtchn_alloc_unbound_on(pvio_domid_t remote, unsigned int cpu,
				 pvio_evtchn_port_t *port);
/* Move a port's events to @cpu's vector (EVTCHNOP_bind_vcpu). */
int pvio_evtchn_bind_vcpu(pvio_evtchn_port_t port, unsigned int cpu);
int pvio_evtchn_bind_interdomain(pvio_domid_t remote,
				 pvio_evtchn_port_t remote_port,
				 pvio_evtchn_port_t *port);
/* Route events of @port to @fn, then unmask it. */
int pvio_evtchn_bind_handler(pvio_evtchn_port_t port,
			     pvio_evtchn_handler_t fn, void *data);
/* Mask @port and wait until a running handler has returned. */
void pvio_evtchn_unbind_handler(pvio_evtchn_port_t port);
int pvio_evtchn_close(pvio_evtchn_port_t port);
/* Whether @port is connected to a port of domain @dom. */
bool pvio_evtchn_connected_to(pvio_evtchn_port_t port, pvio_domid_t dom);
/* Signal the other end; never sleeps, never waits for hv. */
void pvio_evtchn_notify(pvio_evtchn_port_t port);
void pvio_evtchn_mask(pvio_evtchn_port_t port);
void pvio_evtchn_unmask(pvio_evtchn_port_t port);
/* What the shared info says of @port, for a diagnostic (bit 0 pending,
 * 1 masked, 2 its word selected on vCPU 0, 3 vCPU 0 upcall pending). */
unsigned int pvio_evtchn_state(pvio_evtchn_port_t port);
/* events dispatched to the port's handler since it was bound */
unsigned long pvio_evtchn_taken(pvio_evtchn_port_t port);

/* ---- grant table ---- */

/* Let @domid map frame @gfn: returns the grant ref (>= 0) or -ENOSPC. */
int pvio_gnttab_grant_access(pvio_domid_t domid, unsigned long gfn,
			     bool readonly);
/*
 * Revoke a grant and free its ref: 0, or -EBUSY while the peer still has
 * it mapped (the ref stays granted; try again later).
 */
int pvio_gnttab_end_access(pvio_grant_ref_t ref);

/*
 * Refs taken and given back in bulk: the free list's lock once per
 * request rather than once per segment. A set is the caller's own chain of
 * refs, none of them granted; initialise it with PVIO_GNTTAB_REFS_INIT.
 */
struct pvio_gnttab_refs {
	u32 head, tail;
	unsigned int n;
};
#define PVIO_GNTTAB_REFS_INIT	{ .head = U32_MAX, .tail = U32_MAX, .n = 0 }
/* Add @n free refs to @set at once: 0, or -ENOSPC (nothing taken). */
int pvio_gnttab_refs_take(struct pvio_gnttab_refs *set, unsigned int n);
/* Grant one ref of @set: the ref, or -ENOSPC if @set is empty. */
int pvio_gnttab_refs_grant(struct pvio_gnttab_refs *set, pvio_domid_t domid,
			   unsigned long gfn, bool readonly);
/*
 * Revoke a grant and keep its ref in @set: 0, or -EBUSY / -EINVAL as
 * pvio_gnttab_end_access (the ref is then not added).
 */
int pvio_gnttab_refs_end(struct pvio_gnttab_refs *set, pvio_grant_ref_t ref);
/* Give every ref of @set back to the free list; @set is empty after. */
void pvio_gnttab_refs_put(struct pvio_gnttab_refs *set);
/* Frame number of a page of this guest's RAM as hv sees it. */
static inline unsigned long pvio_page_to_gfn(struct page *page)
{
	return page_to_pfn(page);
}

/* ---- store (xenstore protocol over the platform store ring) ---- */

/* Read @path: a kmalloc'd NUL-terminated value (kfree it) or ERR_PTR. */
char *pvio_store_read(const char *path, unsigned int *len);
int pvio_store_write(const char *path, const char *value);
int pvio_store_printf(const char *path, const char *fmt, ...)
	__printf(2, 3);
/* Read @path as an unsigned integer, @def if missing or malformed. */
unsigned long long pvio_store_read_ull(const char *path,
				       unsigned long long def);
int pvio_store_mkdir(const char *path);
int pvio_store_rm(const char *path);
/*
 * Names under @path: a kmalloc'd array of *n pointers into one block
 * (kfree the array only), or ERR_PTR.
 */
char **pvio_store_directory(const char *path, unsigned int *n);

/*
 * A batch: reads, writes and removals sent to the store back to back and
 * answered together, one round trip instead of one per key (the reconnection
 * after a migration writes and reads dozens). The store applies them in
 * order; each has its own result. About 1.1 KiB: take one from
 * pvio_store_batch_alloc, run it, give it back with
 * pvio_store_batch_release (a static one: pvio_store_batch_init, and
 * pvio_store_batch_clear once run).
 */
#define PVIO_STORE_BATCH_MAX	20

struct pvio_store_op {
	char *msg;			/* private: the request, header first */
	size_t len;			/* private */
	u32 type, req_id;		/* private */
	unsigned int gen;		/* private: written in full in this gen */
	bool done;			/* private: answered */
	u32 reply_type;			/* private */
	int err;			/* after the run: 0 or -errno */
	char *reply;			/* after the run: the answer, or NULL */
	unsigned int reply_len;		/* after the run */
};

struct pvio_store_batch {
	unsigned int n;
	int err;			/* the first error while building */
	struct pvio_store_op ops[PVIO_STORE_BATCH_MAX];
};

void pvio_store_batch_init(struct pvio_store_batch *b);
/* Add an operation on @dir/@key; its index, or -1 (the run then fails). */
int pvio_store_batch_read(struct pvio_store_batch *b, const char *dir,
			  const char *key);
int pvio_store_batch_printf(struct pvio_store_batch *b, const char *dir,
			    const char *key, const char *fmt, ...)
	__printf(4, 5);
int pvio_store_batch_rm(struct pvio_store_batch *b, const char *dir,
			const char *key);
/*
 * Send every operation, wait for every answer. 0, or the first error of a
 * write or removal (a missing node is no error for a removal), or of the
 * store itself; a read's own result is looked at with the helpers below.
 */
int pvio_store_batch_run(struct pvio_store_batch *b);
/* Read @i's value as an unsigned integer, @def if missing or malformed. */
unsigned long long pvio_store_batch_ull(struct pvio_store_batch *b, int i,
					unsigned long long def);
/* Read @i's value (owned by the batch) or NULL. */
const char *pvio_store_batch_str(struct pvio_store_batch *b, int i);
/*
 * Free what the operations hold (requests, answers) and empty @b for more
 * operations. @b itself is not freed, and an error met while adding
 * (@b->err) stays until pvio_store_batch_init.
 */
void pvio_store_batch_clear(struct pvio_store_batch *b);
/* A batch from the heap, initialised, or NULL. */
struct pvio_store_batch *pvio_store_batch_alloc(void);
/* Clear @b and free it; NULL is ignored. */
void pvio_store_batch_release(struct pvio_store_batch *b);
/*
 * Room in @b for @n more operations: if they would not fit, what @b holds
 * is run and @b cleared first. 0, or the error of that run (@b is cleared
 * all the same).
 */
int pvio_store_batch_room(struct pvio_store_batch *b, unsigned int n);

struct pvio_store_watch {
	const char *path;
	/* called from a workqueue with the path that changed */
	void (*cb)(struct pvio_store_watch *w, const char *path);
	struct list_head list;		/* private */
	u32 token;			/* private: names it in events */
};

int pvio_store_watch_add(struct pvio_store_watch *w);
void pvio_store_watch_del(struct pvio_store_watch *w);

/* ---- the pvio bus: frontend devices found in the store ---- */

enum pvio_bus_state {
	PVIO_STATE_UNKNOWN = 0,
	PVIO_STATE_INITIALISING = 1,
	PVIO_STATE_INIT_WAIT = 2,
	PVIO_STATE_INITIALISED = 3,
	PVIO_STATE_CONNECTED = 4,
	PVIO_STATE_CLOSING = 5,
	PVIO_STATE_CLOSED = 6,
	PVIO_STATE_RECONFIGURING = 7,
	PVIO_STATE_RECONFIGURED = 8,
};

struct pvio_device {
	struct device dev;
	char type[16];			/* "vbd", "vif" */
	char nodename[128];		/* device/<type>/<id> (absolute) */
	char otherend[128];		/* the backend dir */
	pvio_domid_t otherend_id;
	unsigned int devid;
	enum pvio_bus_state state;	/* ours */
	struct pvio_store_watch otherend_watch;	/* private */
	char otherend_state_path[144];	/* private */
};

#define to_pvio_device(d) container_of(d, struct pvio_device, dev)

struct pvio_frontend_driver {
	const char *type;		/* device class in the store */
	int (*probe)(struct pvio_device *dev);
	void (*remove)(struct pvio_device *dev);
	/*
	 * The backend's state node changed (store watch, process context).
	 * The bus reads nothing for it: the driver reads the state when it
	 * wants it, alone (pvio_bus_read_otherend_state) or in a batch of
	 * its own with the other keys it needs, one round trip either way.
	 */
	void (*otherend_changed)(struct pvio_device *dev);
	/*
	 * Optional, for save and migration: stop issuing and let go of the
	 * event channels (the toolstack closes the connection once the
	 * guest is suspended; rings and requests in flight are kept).
	 * resume: take what the old backend answered, re-issue the rest and
	 * connect again to whatever backend the store now names
	 * (@new_host: another host, possibly another domain id; nodename
	 * and otherend are already updated). Both run in process context,
	 * not on the store's watch workqueue.
	 */
	int (*suspend)(struct pvio_device *dev);
	void (*resume)(struct pvio_device *dev, bool new_host);
	/*
	 * Optional: the store asked us to reconnect (it restarted, or the
	 * guest was moved to another host while it ran, its connections
	 * taken over there as they were). Process context; a NIC announces
	 * its address again.
	 */
	void (*store_reconnected)(struct pvio_device *dev);
	struct device_driver driver;
};

#define to_pvio_frontend_driver(d) \
	container_of(d, struct pvio_frontend_driver, driver)

int __pvio_register_frontend(struct pvio_frontend_driver *drv,
			     struct module *owner, const char *name);
#define pvio_register_frontend(drv) \
	__pvio_register_frontend(drv, THIS_MODULE, KBUILD_MODNAME)
void pvio_unregister_frontend(struct pvio_frontend_driver *drv);
/* Write our state to <nodename>/state. */
int pvio_bus_switch_state(struct pvio_device *dev, enum pvio_bus_state state);
/*
 * Write our state and read the backend's, in one round trip (two if no
 * batch could be allocated): 0 and the backend's state in *@otherend, or
 * -errno (our state is not known to be written, *@otherend is left alone).
 */
int pvio_bus_switch_state_read(struct pvio_device *dev,
			       enum pvio_bus_state state,
			       enum pvio_bus_state *otherend);
/* The backend's current state (read from the store). */
enum pvio_bus_state pvio_bus_read_otherend_state(struct pvio_device *dev);
/*
 * The backend let go of us or was never there: it says Closing or Closed,
 * or has no state (one store read).
 */
bool pvio_bus_otherend_gone(struct pvio_device *dev);
/*
 * Wait for the backend to be gone (pvio_bus_otherend_gone): a look, then
 * a sleep of 1-2 ms, at most @ms / 2 times (each look is a store read on
 * top of the sleeps). Whether it was seen gone. May sleep.
 */
bool pvio_bus_wait_otherend_gone(struct pvio_device *dev, unsigned int ms);
/* A state number read from the store: Unknown if it is no state. */
static inline enum pvio_bus_state pvio_bus_state_of(unsigned long long v)
{
	return v > PVIO_STATE_RECONFIGURED ? PVIO_STATE_UNKNOWN : v;
}

#endif /* PVIO_CORE_H */
