/* SPDX-License-Identifier: MIT */
/* libpvio internals shared by its files (not installed). */
#ifndef PVIO_LIBPVIO_PRIV_H
#define PVIO_LIBPVIO_PRIV_H

#include <pthread.h>

#include "pvio/libpvio.h"
#include "pvio/hv_proto.h"

/*
 * A foreign domain's RAM as this client sees it (cached per domain). It
 * stays mapped while anything points into it (live grant maps, a copy
 * running) and goes once the domain is gone and nothing does.
 */
struct lp_ram {
	pvio_domid_t domid;
	uint64_t serial;
	uint64_t nr_pages;
	unsigned long users;		/* live maps into it, copies running */
	bool dead;			/* domain gone or replaced: unmap at 0 */
	uint8_t *rw;			/* NULL if the fd is read-only */
	const uint8_t *ro;
	uint64_t *dirty;		/* VM: log of what dom0 writes, or NULL */
	uint32_t nr_gnt_frames;
	uint64_t gnt_gfn[PVIO_GNTTAB_MAX_FRAMES];
	/*
	 * dom0 mapping grants itself (grant/gnttab_pin.h): the domain's pin
	 * table and our own table for it, or NULL (then maps go through hv).
	 * table_gen is the pin table's generation the frames above are of.
	 */
	void *pin;
	void *own;
	uint16_t owner;
	uint32_t table_gen;
	uint32_t local_idx;		/* in pvio_hv.local_views */
	struct lp_ram *next;
};

/*
 * Views with local tables, by index: a local map's handle names its view
 * (LP_LOCAL_HANDLE), so that the unmap finds the very tables it pinned in
 * even after the domid got a new incarnation.
 */
#define LP_LOCAL_CHUNK		256
#define LP_LOCAL_VIEWS		32768	/* 15 bits of the handle */
#define LP_LOCAL_HANDLE		(1u << 31)	/* hv's handles are < 2^24 */

/* A local event-channel port. */
struct lp_port {
	int poll_fd;			/* hv's epoll set for this end */
	int recv_fd;			/* our eventfd, -1 until known */
	int send_fd;			/* the peer's eventfd, -1 until known */
	uint32_t gen;			/* generation of recv_fd */
	uint32_t seen;			/* wait saw gen ready: gen + 1, else 0 */
	/* dom0 bound to a VM: mark vm_port pending here, then send_fd */
	void *vm_plat;			/* the VM's platform region, or NULL */
	uint32_t vm_port;
	uint32_t vm_vcpu;		/* the vCPU whose vector send_fd is */
	/* notifications: eventfd written, found pending, found masked */
	uint64_t nr_kicked, nr_pending, nr_masked;
};

struct pvio_hv {
	int fd;
	pthread_mutex_t lock;		/* one request/reply at a time */
	uint32_t seq;
	pvio_domid_t domid;
	struct pvio_dom *dom;

	pthread_mutex_t ram_lock;
	struct lp_ram *rams;
	bool no_local;			/* dom0: map and copy through hv only */
	uint32_t nr_local_views;
	uint32_t *local_free;		/* indices of dropped views, to reuse */
	uint32_t nr_local_free;
	struct lp_ram **local_views[LP_LOCAL_VIEWS / LP_LOCAL_CHUNK];

	/*
	 * Read-held on the data path (notify, wait, ack: one syscall each),
	 * write-held to change a port's fds. A port struct, once allocated,
	 * lives until the connection closes (a closed port has poll_fd -1),
	 * so a thread still waiting on a port another thread closed does not
	 * touch freed memory.
	 */
	pthread_rwlock_t port_lock;
	struct lp_port *ports[PVIO_EVTCHN_MAX_PORTS];
};

struct pvio_dom {
	struct pvio_hv *hv;
	pvio_domid_t domid;
	int ram_fd;
	uint8_t *ram;
	uint64_t nr_pages;
	void *plat;

	pthread_mutex_t page_lock;
	uint64_t *page_map;		/* bit set = page in use */

	pthread_mutex_t gnt_lock;
	struct pvio_grant_entry_v1 *gnt;	/* the table, in our own RAM */
	uint32_t nr_refs;
	uint32_t *gnt_next;		/* free list threaded through refs */
	uint32_t gnt_free;		/* head, UINT32_MAX if empty */
};

/*
 * One request/reply. @data/@data_len is a second payload part sent after
 * @req. On return *@rep_len holds the reply payload size and @fds the
 * received fds (*@nfds of them; the caller owns them). Returns the reply's
 * ret, or -errno if the exchange failed.
 */
int lp_call(struct pvio_hv *hv, uint32_t op, const void *req, size_t req_len,
	    const void *data, size_t data_len, int send_fd,
	    void *rep, size_t rep_max, size_t *rep_len, int *fds, int *nfds);
/* lp_call without fds, with an exact-or-less reply size. */
int lp_simple(struct pvio_hv *hv, uint32_t op, const void *req, size_t req_len,
	      void *rep, size_t rep_max);
int lp_connect(const char *rundir, struct pvio_hv **out);

/*
 * RAM view of a foreign domain, with a reference the caller gives back
 * with lp_ram_put; NULL and *err on failure.
 */
struct lp_ram *lp_ram_get(struct pvio_hv *hv, pvio_domid_t domid,
			  uint64_t serial_hint, int *err);
void lp_ram_put(struct pvio_hv *hv, struct lp_ram *r);
/* A grant map at @addr was unmapped: its view has one user less. */
void lp_ram_put_addr(struct pvio_hv *hv, const void *addr);
/* Fetch the grant frames of @r again (its pin table's generation moved). */
int lp_ram_refresh(struct pvio_hv *hv, struct lp_ram *r);
/*
 * The view of a local handle's index: the handle of a live map holds a
 * reference on its view, so the view is there as long as the map is.
 */
static inline struct lp_ram *lp_local_view(struct pvio_hv *hv, uint32_t idx)
{
	struct lp_ram **c;

	if (idx >= LP_LOCAL_VIEWS)
		return NULL;
	c = __atomic_load_n(&hv->local_views[idx / LP_LOCAL_CHUNK],
			    __ATOMIC_ACQUIRE);
	return c ? __atomic_load_n(&c[idx % LP_LOCAL_CHUNK], __ATOMIC_ACQUIRE) :
		   NULL;
}
void lp_ram_drop_all(struct pvio_hv *hv);
/* Log a write by this client to frame @frame of @r (migration). */
static inline void lp_ram_dirty(struct lp_ram *r, uint64_t frame)
{
	if (r->dirty && frame < r->nr_pages)
		__atomic_fetch_or(&r->dirty[frame / 64], 1ull << (frame % 64),
				  __ATOMIC_RELAXED);
}
/* Bytes of the dirty log of @nr_pages frames, as hv sizes it. */
static inline uint64_t lp_dirty_bytes(uint64_t nr_pages)
{
	return (nr_pages + 4096 * 8 - 1) / (4096 * 8) * 4096;
}
void lp_ports_close_all(struct pvio_hv *hv);

#endif /* PVIO_LIBPVIO_PRIV_H */
