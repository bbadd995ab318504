/* SPDX-License-Identifier: MIT */
/*
 * pvio-hv internals shared by its files: clients, domains, the per-type
 * domain ops, grant tables and event channels.
 */
#ifndef PVIO_HV_H
#define PVIO_HV_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "pvio/hypercall.h"
#include "pvio/libpvio.h"
#include "pvio/hv_proto.h"
#include "evtchn_table.h"

struct hv_domain;

/* Live mappings one client holds of one granting domain's grants. */
struct hv_map_count {
	pvio_domid_t granter;
	uint32_t nr;			/* > 0: an entry at 0 is removed */
};

/* One connection on hv.sock. */
struct hv_client {
	int fd;
	pid_t pid;			/* SO_PEERCRED */
	struct hv_domain *dom;		/* attached domain, NULL for dom0 */
	pvio_domid_t domid;		/* 0 or dom->domid */
	unsigned int nr_maps;		/* live grant mappings held */
	/* the same, per granting domain (only domains it maps from) */
	struct hv_map_count *map_count;
	unsigned int nr_map_count, map_count_cap;
	/* dom0 mapping locally: its lock owner id in pin tables, or 0 */
	uint16_t pin_owner;
	struct hv_client *next;
};

/*
 * Per-type domain operations. PROCESS domains are implemented in
 * hv_domain.c; VM domains (QEMU) plug in their own table.
 */
struct hv_domain_ops {
	const char *name;
	/* after create (VM: start QEMU); 0 or -errno */
	int (*start)(struct hv_domain *d);
	/* the domain is going away; release type resources */
	void (*destroy)(struct hv_domain *d);
	int (*pause)(struct hv_domain *d);
	int (*unpause)(struct hv_domain *d);
	/* dom0 asks the domain to shut down with PVIO_SHUTDOWN_* */
	int (*shutdown)(struct hv_domain *d, uint32_t reason);
	/* optional: a port of this domain got a peer / lost it (VM delivery) */
	void (*evtchn_bound)(struct hv_domain *d, pvio_evtchn_port_t port);
	void (*evtchn_closed)(struct hv_domain *d, pvio_evtchn_port_t port);
	/*
	 * optional: fds that let dom0 signal @port of this domain without
	 * hv (VM: its platform region and the MSI-X vector eventfd of the
	 * port's vCPU, whose number goes to *@vcpu). Borrowed, not to be
	 * closed. 0 or -errno.
	 */
	int (*evtchn_direct)(struct hv_domain *d, pvio_evtchn_port_t port,
			     int *plat_fd, int *vector_fd, unsigned int *vcpu);
	/* optional: PVIO_SUSPEND_* from dom0 (VM save and migration) */
	int (*suspend_ctl)(struct hv_domain *d, uint32_t how);
	/*
	 * optional: run a QMP command given as JSON text (HV_OP_DOMAIN_QMP);
	 * *reply is malloc'd JSON text ({"return"} or {"error"}), also with
	 * -EIO. 0 or -errno.
	 */
	int (*qmp)(struct hv_domain *d, const char *json, size_t len,
		   char **reply);
	/* optional: bring what info reports up to date (VM: vCPU count) */
	void (*refresh)(struct hv_domain *d);
	/*
	 * optional: take at once what the guest left waiting for hv (VM:
	 * hypercalls and sends in its region), as if it had rung.
	 */
	void (*serve)(struct hv_domain *d);
};

extern const struct hv_domain_ops hv_process_ops;
/* Provided by hv_vm*.c when built; NULL means VMs are not supported. */
extern const struct hv_domain_ops *hv_vm_ops;

struct hv_domain {
	pvio_domid_t domid;
	uint64_t serial;
	struct pvio_domain_config cfg;
	const struct hv_domain_ops *ops;
	uint32_t state;			/* PVIO_DOMSTATE_* */
	uint32_t shutdown_reason;
	uint32_t store_port;		/* VM: store ring port hv allocated */
	pid_t pid;
	uint64_t created_ms;		/* CLOCK_MONOTONIC at creation */
	/* process domain spawned by the toolstack: its group and pidfd */
	pid_t pgid;
	int proc_pidfd;			/* -1 if none */
	bool conn_lost;			/* dying because its process left */
	struct hv_watch *w_proc;
	struct hv_client *client;	/* process domain: its connection */
	void *type_data;		/* per-type state (VM) */

	/* memory */
	int ram_fd;			/* -1 until attached */
	uint8_t *ram;
	uint64_t nr_pages;
	int plat_fd;
	void *plat;
	/*
	 * VM: log of frames written by dom0 (grant maps, copies), shared
	 * with dom0 clients through HV_OP_GET_RAM; -1/NULL if none.
	 */
	int dirty_fd;
	uint64_t *dirty;

	/*
	 * grant table: frames of its RAM, and the pin table (grant/gnttab_pin.h)
	 * shared with the dom0 clients that map its grants locally, created
	 * with the first use
	 */
	uint32_t nr_gnt_frames;
	uint64_t gnt_gfn[PVIO_GNTTAB_MAX_FRAMES];
	int pin_fd;
	void *pin;
	uint32_t nr_mapped;		/* hv's live mappings of its grants */

	struct evtchn_table evtchn;
};

/* hv_client.c */
extern uint64_t hv_nr_hypercalls;
extern uint64_t hv_nr_relayed;	/* events hv passed on for a VM */
/* VMs notify dom0 clients without hv (PVIO_EVTCHN_DIRECT=0: off) */
extern bool hv_evtchn_direct_on;
extern const char *hv_rundir;
struct epoll_event;
/*
 * The loop: an epoll set, listening on @sock_path if not NULL. Returns the
 * listening fd (0 without one) or -errno.
 */
int hv_loop_init(const char *sock_path);
/* Another fd of the caller's in the loop; its events come back with @tag. */
int hv_loop_add(int fd, void *tag);
int hv_loop_wait(struct epoll_event *evs, int max);
/* Handle an event of hv's own (listening socket, client, watch). */
void hv_loop_dispatch(int lfd, void *tag, uint32_t events);
/* A connection on @fd (accepted, non-blocking) as a new dom0 client. */
struct hv_client *hv_client_new(int fd);
/* Take one request off the client's socket and answer it (or drop it). */
void hv_client_readable(struct hv_client *c);
/* The connection goes, and everything it held (its domain too). */
void hv_client_drop(struct hv_client *c);
/* @c is still one of hv's connections (not dropped). */
bool hv_client_alive(const struct hv_client *c);
int hv_client_send(struct hv_client *c, const struct hv_msg_hdr *req, int ret,
		   const void *payload, size_t len, const int *fds, int nfds);
void hv_client_detach_domain(struct hv_client *c);
/*
 * Extra fds in hv's loop: @fn runs with the epoll events whenever @fd is
 * readable (or hung up). Delete before closing the fd's owner.
 */
struct hv_watch;
typedef void (*hv_watch_fn)(void *arg, uint32_t events);
struct hv_watch *hv_watch_add(int fd, hv_watch_fn fn, void *arg);
void hv_watch_del(struct hv_watch *w);

/* hv_domain.c */
struct hv_domain *hv_domain_get(pvio_domid_t domid);
int hv_domain_create(const struct pvio_domain_config *cfg, pvio_domid_t *out);
void hv_domain_kill(struct hv_domain *d);
/* HV_OP_DOMAIN_SET_PROCESS: takes @pidfd (closed on error). 0 or -errno. */
int hv_domain_set_process(struct hv_domain *d, pid_t pid, int pidfd);
/* A new name (unique, as at creation): 0 or -errno. */
int hv_domain_rename(struct hv_domain *d, const char *name);
/* hv is exiting: stop every domain, process groups included. */
void hv_domain_kill_all(void);
int hv_domain_attach(struct hv_client *c, pvio_domid_t domid, int ram_fd,
		     struct hv_attach_reply *rep);
void hv_domain_fill_info(const struct hv_domain *d, struct pvio_domain_info *i);
void hv_dom0_fill_info(struct pvio_domain_info *i);
unsigned int hv_domain_count(void);
struct hv_domain *hv_domain_next(pvio_domid_t *iter);
struct hv_domain *hv_dom0(void);
void hv_domain_init(void);
/*
 * A memfd of @size bytes sealed against shrinking and growing (a holder
 * that could shrink it would make hv and every mapper fault): its fd or
 * -errno.
 */
int hv_memfd_sealed(const char *name, uint64_t size);

/* hv_gnttab.c */
/*
 * Mapping caps. Per client and granting domain: a backend serving many
 * domains is never starved by one of them (blkback and netback bound what
 * they map for a domain well below it). Per client: room for that cap
 * times 256 domains for dom0's backends, a single domain's worth for a
 * process domain (an untrusted client). hv's table as a whole is capped
 * too, so that its memory stays bounded whoever connects.
 */
#define HV_MAX_MAPS_PER_GRANTER		32768u
#define HV_MAX_MAPS_DOM0_CLIENT		(256u * HV_MAX_MAPS_PER_GRANTER)
#define HV_MAX_MAPS_DOMU_CLIENT		HV_MAX_MAPS_PER_GRANTER
#define HV_MAX_MAPS			(1u << 24)
extern unsigned int hv_nr_maps;
/* 0 registered, 1 these very frames already (nothing changed), -errno */
int hv_gnttab_setup(struct hv_domain *d, const uint64_t *gfn, uint32_t n);
/* Clear the in-use bits of every entry (a table no one maps from here). */
void hv_gnttab_clear_busy(struct hv_domain *d);
void hv_gnttab_map(struct hv_client *c, struct pvio_gnttab_map_op *op);
void hv_gnttab_unmap(struct hv_client *c, struct pvio_gnttab_unmap_op *op);
int16_t hv_gnttab_copy(struct hv_client *c, const struct hv_copy_op *op,
		       void *buf);
bool hv_gnttab_client_maps(struct hv_client *c, pvio_domid_t granter);
/*
 * dom0 maps @granter's grants locally: its pin table and @c's own table
 * for it (2 fds, borrowed), created on first use. 0 or -errno.
 */
int hv_gnttab_local(struct hv_client *c, pvio_domid_t granter,
		    struct hv_gnttab_local_reply *rep, int fds[2]);
/* Live mappings, hv's and local ones: all, and of @d's grants. */
unsigned int hv_gnttab_nr_maps(void);
unsigned int hv_gnttab_domain_maps(const struct hv_domain *d);
void hv_gnttab_client_gone(struct hv_client *c);
/* @d is dying: no more local maps of it (before hv_gnttab_domain_gone) */
void hv_gnttab_domain_dying(struct hv_domain *d);
void hv_gnttab_domain_gone(struct hv_domain *d);
/* Log every frame of @d that a live mapping may write. */
void hv_gnttab_dirty_sync(struct hv_domain *d);
/* Size of a dirty log of @nr_pages frames (whole pages, for mmap). */
static inline uint64_t hv_dirty_bytes(uint64_t nr_pages)
{
	return (nr_pages + 4096 * 8 - 1) / (4096 * 8) * 4096;
}
/* Log a write to frame @frame of @d (no-op without a dirty log). */
static inline void hv_dirty_mark(struct hv_domain *d, uint64_t frame)
{
	if (d->dirty && frame < d->nr_pages)
		__atomic_fetch_or(&d->dirty[frame / 64], 1ull << (frame % 64),
				  __ATOMIC_RELAXED);
}

/* hv_evtchn.c */
/*
 * Ports a domain other than dom0 may have open at once (Xen's default
 * max_event_channels for a domU is 1023). Each open port holds one or two
 * of hv's fds, so this bounds what one domain takes of hv's fd limit;
 * dom0's backends share dom0's table of PVIO_EVTCHN_MAX_PORTS.
 */
#define HV_EVTCHN_DOMU_MAX_OPEN		1024
extern unsigned int hv_nr_ports;
int hv_evtchn_op(struct hv_client *c, const struct hv_msg_hdr *h,
		 const void *payload, size_t len);
/*
 * Domain-level operations, shared by the socket ops and VM hypercalls.
 * @owner is who may operate the port: the client for socket users (dom0
 * has many), the domain itself for a VM. Ports are returned as >0.
 */
int hv_evtchn_alloc_unbound(struct hv_domain *d, void *owner, uint32_t remote);
/*
 * Port @port of VM @d, unbound and offered to @remote, as the VM had it
 * on the host it comes from (a migration that keeps its connections).
 */
int hv_evtchn_import(struct hv_domain *d, uint32_t port, uint32_t remote);
int hv_evtchn_bind_interdomain(struct hv_domain *d, void *owner,
			       uint32_t rdom, uint32_t rport);
int hv_evtchn_close(struct hv_domain *d, void *owner, uint32_t port);
int hv_evtchn_set_mask(struct hv_domain *d, void *owner, uint32_t port,
		       bool mask);
int hv_evtchn_status(pvio_domid_t caller, struct pvio_evtchn_status *st);
/* The port if open and owned by @owner, else NULL. */
struct evtchn_port *hv_evtchn_port(struct hv_domain *d, void *owner,
				   uint32_t port);
/* The other end of an interdomain port, else NULL. */
struct evtchn_port *hv_evtchn_peer(struct evtchn_port *e);
void hv_evtchn_client_gone(struct hv_client *c);
void hv_evtchn_domain_gone(struct hv_domain *d);
/*
 * An EVTCHNOP_* of domain @d that has no connection (a VM's hypercall
 * slot): the ports belong to @d itself. Returns a port, 0 or -errno.
 */
int64_t hv_evtchn_domain_op(struct hv_domain *d, uint32_t op, uint64_t a1,
			    uint64_t a2);
/* Signal the peer of @port of @d (EVTCHNOP_send): 0 or -errno. */
int hv_evtchn_send(struct hv_domain *d, uint32_t port);
/* The receive eventfd of @port of @d (written by its peer), -1 if none. */
int hv_evtchn_recv_fd(struct hv_domain *d, uint32_t port);
/* The vCPU @port of @d is bound to (EVTCHNOP_bind_vcpu), 0 by default. */
unsigned int hv_evtchn_vcpu(struct hv_domain *d, uint32_t port);
/*
 * The receive eventfd of the dom0 end (a client's) bound to @port of @d:
 * what the peer's notifications write. -1 if the port has no such peer.
 */
int hv_evtchn_dom0_peer_fd(struct hv_domain *d, uint32_t port);

/* hv_vm.c */
struct hv_vm_hcall;
/*
 * Execute one hypercall a VM domain @d put in a slot of its platform
 * region (already copied out of the slot): the return value for the slot.
 */
int64_t hv_vm_hcall(struct hv_domain *d, const struct hv_vm_hcall *hc);

/* hv_store.c */
void hv_store_release(pvio_domid_t domid);

#define hv_log(fmt, ...) hv_logf("pvio-hv: " fmt "\n", ##__VA_ARGS__)
void hv_logf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* PVIO_HV_H */
