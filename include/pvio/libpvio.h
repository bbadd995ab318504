/* SPDX-License-Identifier: MIT */
/*
 * libpvio: the client library of pvio-hv, used by the toolstack, the
 * backends, the user-space frontends, tests and benchmarks.
 *
 * Two kinds of clients:
 *  - dom0 (privileged): pvio_hv_open(). May create and control domains, map
 *    grants of any domain (hv validates each entry), bind event channels.
 *  - a process domain: pvio_dom_attach() turns this process into domain N
 *    (created before by dom0), registering a memfd as its RAM. It grants
 *    pages of that RAM and binds event channels; it cannot use dom0 ops.
 *
 * Every function returning int returns 0 (or a documented value >= 0) on
 * success and -errno on failure. Functions are thread-safe unless noted.
 * Event-channel notification is a direct eventfd write: no hv round trip.
 */
#ifndef PVIO_LIBPVIO_H
#define PVIO_LIBPVIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "abi.h"
#include "event_channel.h"
#include "grant_table.h"
#include "platform.h"

struct pvio_hv;		/* a connection to pvio-hv */
struct pvio_dom;	/* this process as a domain */

/* Run directory: @rundir if not NULL, else $PVIO_RUNDIR, else /run/pvio. */
const char *pvio_rundir(const char *rundir);

/* ---- connection ---- */

/* Connect to DIR/hv.sock as a dom0 client. */
int pvio_hv_open(const char *rundir, struct pvio_hv **out);
void pvio_hv_close(struct pvio_hv *hv);
/* Domain this connection acts as (0 for dom0 clients). */
pvio_domid_t pvio_hv_domid(const struct pvio_hv *hv);
/* ret = major << 16 | minor */
int pvio_hv_version(struct pvio_hv *hv, uint32_t *version);

struct pvio_hv_stats {
	uint32_t version;
	uint32_t nr_domains;
	uint32_t nr_ports;	/* open event-channel ports, all domains */
	uint32_t nr_maps;	/* live grant mappings, all domains */
	uint64_t nr_hypercalls;
	uint64_t uptime_ms;
	uint64_t nr_relayed;	/* events hv passed on for VMs (not direct) */
};
int pvio_hv_stats(struct pvio_hv *hv, struct pvio_hv_stats *st);

/* ---- domain control (dom0 only) ---- */

enum pvio_domain_type {
	PVIO_DOMTYPE_PROCESS = 1,
	PVIO_DOMTYPE_VM = 2,
};

/* State bits, as xl shows them: r b p s c d */
#define PVIO_DOMSTATE_RUNNING	(1u << 0)
#define PVIO_DOMSTATE_BLOCKED	(1u << 1)
#define PVIO_DOMSTATE_PAUSED	(1u << 2)
#define PVIO_DOMSTATE_SHUTDOWN	(1u << 3)
#define PVIO_DOMSTATE_CRASHED	(1u << 4)
#define PVIO_DOMSTATE_DYING	(1u << 5)

struct pvio_domain_config {
	char name[64];
	uint32_t type;		/* enum pvio_domain_type */
	uint32_t vcpus;
	uint64_t mem_bytes;
	/* VM only (hv starts QEMU); empty strings for process domains. */
	char kernel[256];
	char ramdisk[256];
	char cmdline[1024];
	/*
	 * VM only: extra device-model (QEMU) arguments, xl's
	 * device_model_args, one word per line ('\n' between words). hv
	 * accepts only option/value pairs whose option adds a device
	 * (-device, -drive, -netdev, -blockdev); "" for none.
	 */
	char dm_args[2048];
	/*
	 * PVIO_DOMCFG_*: VM creation modes. INCOMING starts QEMU waiting
	 * for a migration stream (-incoming defer, paused): the toolstack
	 * feeds it through the domain's migration QMP socket, then resumes
	 * the domain (pvio_domain_suspend_ctl RESUME) and unpauses it.
	 */
	uint32_t flags;
	/*
	 * VM only: vCPUs the guest may have (CPU hotplug, xl's maxvcpus);
	 * 0 = vcpus. The VM starts with vcpus of them.
	 */
	uint32_t max_vcpus;
	/*
	 * The id wanted for the new domain (a migration keeps its guest's
	 * id where it can); 0, or an id in use, takes the next free one.
	 */
	uint32_t want_domid;
};

#define PVIO_DOMCFG_INCOMING	(1u << 0)

/* At most this many words in pvio_domain_config.dm_args. */
#define PVIO_DM_ARGS_MAX	64

/*
 * Check @args (the format of pvio_domain_config.dm_args, NUL-terminated
 * within @max bytes) as hv does: option/value pairs, the option one of
 * -device, -drive, -netdev, -blockdev, the value printable, not starting
 * with '-' and naming neither a chardev nor an ivshmem device, so that
 * nothing replaces or reaches what hv itself gives QEMU. 0, or -EINVAL
 * with *@bad (if not NULL) the index of the offending word (the word count
 * when a value is missing).
 */
int pvio_dm_args_check(const char *args, size_t max, unsigned int *bad);

struct pvio_domain_info {
	pvio_domid_t domid;
	/*
	 * VM: the port hv allocated in the domain for its store ring (offered
	 * to dom0, also in shared_info.store_port) for XS_INTRODUCE; 0 for a
	 * process domain, which introduces its ring itself.
	 */
	uint16_t store_port;
	uint32_t type;
	uint32_t state;		/* PVIO_DOMSTATE_* */
	uint32_t vcpus;		/* online (VM: as last set by vcpu-set) */
	uint32_t shutdown_reason; /* PVIO_SHUTDOWN_*, valid with SHUTDOWN */
	int32_t pid;		/* process domain or QEMU pid, 0 if none yet */
	uint64_t mem_bytes;
	uint64_t cpu_time_ns;
	char name[64];
	uint64_t uptime_ms;	/* since the domain was created */
	uint32_t nr_grant_maps;	/* live mappings of its grants, all mappers */
	uint32_t pad;
};

int pvio_domain_create(struct pvio_hv *hv, const struct pvio_domain_config *cfg,
		       pvio_domid_t *domid);
int pvio_domain_destroy(struct pvio_hv *hv, pvio_domid_t domid);
int pvio_domain_pause(struct pvio_hv *hv, pvio_domid_t domid);
int pvio_domain_unpause(struct pvio_hv *hv, pvio_domid_t domid);
int pvio_domain_shutdown(struct pvio_hv *hv, pvio_domid_t domid, uint32_t reason);
int pvio_domain_info(struct pvio_hv *hv, pvio_domid_t domid,
		     struct pvio_domain_info *info);
/* *out is malloc'd, free() it. */
int pvio_domain_list(struct pvio_hv *hv, struct pvio_domain_info **out,
		     unsigned int *n);
/* dom0: the configuration domain @domid was created with. */
int pvio_domain_config_get(struct pvio_hv *hv, pvio_domid_t domid,
			   struct pvio_domain_config *cfg);

/*
 * dom0, VM: the guest's suspend (PVIO_SHUTDOWN_SUSPEND from the guest,
 * asked for through control/shutdown = "suspend").
 *  ARM:    a suspend the guest issues from now on is held: its hypercall
 *          does not return and the domain shows SHUTDOWN with reason
 *          SUSPEND (without ARM, a guest suspend returns 1 at once);
 *  CANCEL: disarm; a held suspend returns 1 ("cancelled": same host, the
 *          guest's platform is unchanged and its frontends reconnect);
 *  RESUME: on the host that received the guest (restore, migration): the
 *          platform region came from elsewhere; hv rewrites its own part
 *          (identity, store port, clean store ring, no pending events) and
 *          the held suspend returns 0 ("new host": the guest rebuilds its
 *          grant table, event channels and store connection).
 */
#define PVIO_SUSPEND_ARM	1
#define PVIO_SUSPEND_CANCEL	2
#define PVIO_SUSPEND_RESUME	3
/*
 * A VM that came in by live migration without suspending (its region
 * holds no suspend): hv takes the region as it is (rings, pending events,
 * the guest's ports imported before) and names this host's doorbell
 * peers in it. Only for the domain's own id and store port (-EXDEV).
 */
#define PVIO_SUSPEND_ADOPT	4
int pvio_domain_suspend_ctl(struct pvio_hv *hv, pvio_domid_t domid,
			    uint32_t how);

/*
 * dom0, VM: the log of guest pages written by anyone but the guest's own
 * CPUs (backends through grants, hv), which QEMU's dirty tracking cannot
 * see. Bit n of @dirty = frame n written; every writer sets bits, the
 * reader takes them with an atomic exchange per word. pvio_domain_dirty_
 * sync() adds the frames currently mapped writable (whose writes have not
 * been logged yet).
 */
struct pvio_domain_memory {
	uint8_t *ram;		/* nr_pages * 4096 bytes, shared, writable */
	uint64_t nr_pages;
	uint64_t *dirty;	/* (nr_pages + 63) / 64 words */
	/* the guest's grant table frames (backends write their flags) */
	uint32_t nr_gnt_frames;
	uint64_t gnt_gfn[PVIO_GNTTAB_MAX_FRAMES];
};
int pvio_domain_map_memory(struct pvio_hv *hv, pvio_domid_t domid,
			   struct pvio_domain_memory *m);
void pvio_domain_unmap_memory(struct pvio_domain_memory *m);
int pvio_domain_dirty_sync(struct pvio_hv *hv, pvio_domid_t domid);
/*
 * An incoming VM that has not run here yet: the grant table frames it had
 * (@gfn, @nr_frames) and the ports its frontends kept (@ports, each made
 * unbound and offered to dom0 under the same number), so that backends
 * here connect to its rings before it resumes. All or nothing (dom0).
 */
int pvio_domain_import(struct pvio_hv *hv, pvio_domid_t domid,
		       const uint64_t *gfn, uint32_t nr_frames,
		       const uint32_t *ports, uint32_t nr_ports);
/*
 * Every open port of @domid (dom0): *@out malloc'd, *@nr entries, lowest
 * first; *@store_port the VM's store ring port (0 if none). 0 or -errno.
 */
struct hv_port_info;
int pvio_domain_ports(struct pvio_hv *hv, pvio_domid_t domid,
		      struct hv_port_info **out, uint32_t *nr,
		      uint32_t *store_port);

/*
 * With a list from pvio_domain_list: is @domid gone? (No round trip unless
 * the list may have been cut short by the size of a reply.)
 */
bool pvio_domain_gone(struct pvio_hv *hv, const struct pvio_domain_info *v,
		      unsigned int n, pvio_domid_t domid);
/*
 * dom0: map domain @domid's platform region (PVIO_PLATFORM_SIZE bytes,
 * shared, read-write; e.g. its store ring at PVIO_PLATFORM_OFF_STORE).
 * munmap(*region, PVIO_PLATFORM_SIZE) when done.
 */
int pvio_domain_map_platform(struct pvio_hv *hv, pvio_domid_t domid,
			     void **region);
/*
 * dom0: mark event-channel @port pending in a VM's platform region @plat
 * for @vcpu (2-level: pending bit, then, if unmasked, the vCPU's selector
 * bit and upcall_pending). True if the caller must raise the vCPU's vector.
 */
bool pvio_platform_set_pending(void *plat, unsigned int vcpu, uint32_t port);
/* The same, saying what it found: PVIO_RAISE_KICK means raise the vector. */
enum { PVIO_RAISE_NONE, PVIO_RAISE_KICK, PVIO_RAISE_PENDING, PVIO_RAISE_MASKED };
int pvio_platform_raise(void *plat, unsigned int vcpu, uint32_t port);

/*
 * dom0, VMs: run one QMP command in the domain's QEMU through hv. @json is
 * {"execute": "CMD"} with an optional "arguments" object. 0 with *@reply
 * the JSON text {"return": ...}; -EIO with *@reply {"error": {"desc":
 * ...}}; else -errno and *@reply NULL. free(*@reply).
 */
int pvio_domain_qmp(struct pvio_hv *hv, pvio_domid_t domid, const char *json,
		    char **reply);

/*
 * dom0, process domains: the domain's program was spawned as @pid, which
 * leads its own process group; @pidfd (pidfd_open of it) is passed to hv
 * (the caller keeps its copy). hv then stops the group when the domain is
 * destroyed or hv exits, and destroys the domain if the program exits
 * without attaching. 0 or -errno.
 */
int pvio_domain_set_process(struct pvio_hv *hv, pvio_domid_t domid, pid_t pid,
			    int pidfd);

/*
 * dom0: hv's log (its ring, timestamped lines) into *@text (malloc'd,
 * NUL-terminated); @clear empties the ring after reading. 0 or -errno.
 */
int pvio_hv_dmesg(struct pvio_hv *hv, bool clear, char **text);
/* dom0: give domain @domid the name @name (unique). 0 or -errno. */
int pvio_domain_rename(struct pvio_hv *hv, pvio_domid_t domid,
		       const char *name);

/* ---- this process as a domain ---- */

/*
 * Become domain @domid (PVIO_DOMID_SELF: take it from $PVIO_DOMID), which
 * dom0 created with type PROCESS: creates and registers the RAM memfd,
 * receives the platform region, sets up a grant table of
 * PVIO_GNTTAB_MAX_FRAMES frames.
 */
int pvio_dom_attach(const char *rundir, pvio_domid_t domid, struct pvio_dom **out);
/* For tests and tools: create a process domain as dom0, then attach to it. */
int pvio_dom_create_self(const char *rundir, const char *name, uint64_t mem_bytes,
			 struct pvio_dom **out);
void pvio_dom_detach(struct pvio_dom *d);
/*
 * End this process (exit status 3, a line on stderr) as soon as its domain
 * is gone: destroyed, or hv itself gone. Without it a process domain only
 * learns it from the -ECONNRESET of its next hv call, and one waiting on
 * its rings would wait for ever. 0 or -errno.
 */
int pvio_dom_exit_with_domain(struct pvio_dom *d);
struct pvio_hv *pvio_dom_hv(struct pvio_dom *d);
pvio_domid_t pvio_dom_id(const struct pvio_dom *d);
struct pvio_shared_info *pvio_dom_shared_info(struct pvio_dom *d);
void *pvio_dom_platform(struct pvio_dom *d);	/* PVIO_PLATFORM_SIZE bytes */

/* Pages of this domain's RAM (page-aligned, zeroed); NULL if none left. */
void *pvio_dom_alloc_pages(struct pvio_dom *d, unsigned int n);
void pvio_dom_free_pages(struct pvio_dom *d, void *p, unsigned int n);
/* Frame number of a page of this domain's RAM. */
uint64_t pvio_dom_gfn(const struct pvio_dom *d, const void *p);

/* ---- granting (the granter's side, a process domain) ---- */

/* Allow @to to map frame @gfn of this domain; returns the ref in *ref. */
int pvio_gnttab_grant(struct pvio_dom *d, pvio_domid_t to, uint64_t gfn,
		      bool readonly, pvio_grant_ref_t *ref);
/* End access: 0, or -EBUSY while the peer still has it mapped. */
int pvio_gnttab_end(struct pvio_dom *d, pvio_grant_ref_t ref);
/* Current flags of an entry (GTF_*), -EINVAL for a bad ref. */
int pvio_gnttab_flags(struct pvio_dom *d, pvio_grant_ref_t ref);

/* ---- mapping (the mapper's side: dom0 backends, or a domain) ---- */

struct pvio_gnt_map {
	pvio_domid_t dom;	/* in: granting domain */
	uint16_t readonly;	/* in: 1 for a read-only map */
	pvio_grant_ref_t ref;	/* in */
	void *addr;		/* out: the page, valid until unmapped */
	pvio_grant_handle_t handle; /* out */
	int16_t status;		/* out: GNTST_* */
};
/*
 * Map a batch in one hv round trip. Returns 0 if the batch was processed
 * (check each status) or -errno if it could not all be sent. Either way
 * an op is mapped exactly when its status is GNTST_okay (ops never sent
 * read GNTST_general_error), and only those need an unmap.
 */
int pvio_gnttab_map(struct pvio_hv *hv, struct pvio_gnt_map *ops, unsigned int n);
int pvio_gnttab_unmap(struct pvio_hv *hv, struct pvio_gnt_map *ops, unsigned int n);
/*
 * dom0 validates and pins grants itself, on the granter's entry with the
 * pin tables hv shares (the default: no hv round trip per map, unmap or
 * copy). Off, this connection's later maps and copies go through hv (for
 * tests and comparisons; $PVIO_GNTTAB_LOCAL=0 turns it off at connect).
 */
void pvio_gnttab_set_local(struct pvio_hv *hv, bool on);
/*
 * Domains that are gone: unmap this connection's views of their RAM that
 * no grant map uses any more; the others go when their last map is
 * unmapped. Call it when the store fires @releaseDomain. Returns the
 * number of views unmapped, or -errno.
 */
int pvio_hv_forget_dead(struct pvio_hv *hv);
/* This connection's views of other domains' RAM (mapped; of them dead). */
void pvio_hv_ram_stats(struct pvio_hv *hv, unsigned int *views,
		       unsigned int *dead);

/*
 * Grant copy between a local buffer and a foreign grant, as Xen's
 * GNTTABOP_copy with one side local. @to_grant: copy buf -> grant.
 * Returns a GNTST_* status (0 okay).
 */
struct pvio_gnt_copy {
	pvio_domid_t dom;
	uint16_t offset;	/* inside the granted page */
	pvio_grant_ref_t ref;
	void *buf;
	uint16_t len;		/* offset + len <= 4096 */
	uint16_t to_grant;
	int16_t status;		/* out */
};
int pvio_gnttab_copy(struct pvio_hv *hv, struct pvio_gnt_copy *ops, unsigned int n);

/* ---- event channels ---- */

/* Offer a port to @remote; it binds with pvio_evtchn_bind_interdomain. */
int pvio_evtchn_alloc_unbound(struct pvio_hv *hv, pvio_domid_t remote,
			      pvio_evtchn_port_t *port);
int pvio_evtchn_bind_interdomain(struct pvio_hv *hv, pvio_domid_t remote,
				 pvio_evtchn_port_t remote_port,
				 pvio_evtchn_port_t *local);
int pvio_evtchn_close(struct pvio_hv *hv, pvio_evtchn_port_t port);
/* Notify the other end: an eventfd write, never an hv round trip. */
int pvio_evtchn_notify(struct pvio_hv *hv, pvio_evtchn_port_t port);
/*
 * What the notifications of a local port found, since it was bound: @c[0]
 * the peer woken (its eventfd written; for a VM, its vector raised), and
 * for a VM @c[1] the port already pending, @c[2] the port masked (no
 * wake-up needed). -EINVAL if the port is not open.
 */
int pvio_evtchn_counts(struct pvio_hv *hv, pvio_evtchn_port_t port,
		       uint64_t c[3]);
/* Pollable fd (POLLIN when events are pending) of a local port. */
int pvio_evtchn_fd(struct pvio_hv *hv, pvio_evtchn_port_t port);
/* Consume pending events of the port: returns how many (0 if none). */
int pvio_evtchn_ack(struct pvio_hv *hv, pvio_evtchn_port_t port);
/* Block until an event on @port or @timeout_ms passes (-1 forever): 1 or 0. */
int pvio_evtchn_wait(struct pvio_hv *hv, pvio_evtchn_port_t port, int timeout_ms);
int pvio_evtchn_mask(struct pvio_hv *hv, pvio_evtchn_port_t port);
int pvio_evtchn_unmask(struct pvio_hv *hv, pvio_evtchn_port_t port);
int pvio_evtchn_status(struct pvio_hv *hv, struct pvio_evtchn_status *st);

/* CPU time (user + system, all threads) of process @pid; 0 if unknown. */
uint64_t pvio_proc_cpu_ns(pid_t pid);

#endif /* PVIO_LIBPVIO_H */
