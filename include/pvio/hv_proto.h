/* SPDX-License-Identifier: MIT */
/*
 * Wire format of pvio-hv's control socket (private to hv and libpvio).
 *
 * The socket is a Unix SOCK_SEQPACKET socket: one request is one packet, one
 * reply is one packet, so message boundaries come from the kernel and a
 * length field can never desynchronise the stream. Every packet starts with
 * struct hv_msg_hdr; the payload follows. File descriptors travel as
 * SCM_RIGHTS ancillary data (at most HV_MSG_MAX_FDS per packet).
 *
 * A reply echoes op and seq; ret is 0, a value >= 0 documented per op, or
 * -errno. hv never sends anything unsolicited: the client is a strict
 * request/reply loop. A packet that is truncated, too short for its op, or
 * carries an unknown op gets -EINVAL/-ENOSYS; a packet larger than
 * HV_MSG_MAX gets the connection closed.
 */
#ifndef PVIO_HV_PROTO_H
#define PVIO_HV_PROTO_H

#include "pvio/abi.h"
#include "pvio/grant_table.h"
#include "pvio/event_channel.h"

#define HV_SOCK_NAME	"hv.sock"
#define HV_MSG_MAX	65536u		/* header + payload */
#define HV_MSG_MAX_FDS	4

struct hv_msg_hdr {
	uint32_t op;		/* enum hv_op */
	uint32_t seq;		/* chosen by the client, echoed */
	int32_t ret;		/* reply: 0/value or -errno; request: 0 */
	uint32_t len;		/* payload bytes after the header */
};
PVIO_ABI_CHECK_SIZE(struct hv_msg_hdr, 16);

#define HV_PAYLOAD_MAX	(HV_MSG_MAX - sizeof(struct hv_msg_hdr))

enum hv_op {
	HV_OP_VERSION = 1,	/* -> ret = major << 16 | minor */
	HV_OP_STATS,		/* -> struct pvio_hv_stats */
	HV_OP_DOMAIN_CREATE,	/* struct pvio_domain_config -> ret domid */
	HV_OP_DOMAIN_DESTROY,	/* struct hv_domid_arg */
	HV_OP_DOMAIN_PAUSE,	/* struct hv_domid_arg */
	HV_OP_DOMAIN_UNPAUSE,	/* struct hv_domid_arg */
	HV_OP_DOMAIN_SHUTDOWN,	/* struct hv_domid_arg (arg = reason) */
	HV_OP_DOMAIN_INFO,	/* struct hv_domid_arg -> pvio_domain_info */
	HV_OP_DOMAIN_LIST,	/* -> pvio_domain_info[ret] */
	HV_OP_ATTACH,		/* hv_domid_arg + fd RAM -> hv_attach_reply + fd platform */
	HV_OP_GET_RAM,		/* hv_domid_arg -> hv_ram_reply + fd RAM
				 * (+ fd dirty log for a VM, dom0 only) */
	HV_OP_GET_PLATFORM,	/* hv_domid_arg -> fd platform (dom0 only) */
	HV_OP_GNTTAB_SETUP,	/* hv_gnttab_setup */
	HV_OP_GNTTAB_MAP,	/* map_op[n] -> map_op[n] filled, u64 serial[n] */
	HV_OP_GNTTAB_UNMAP,	/* pvio_gnttab_unmap_op[n] -> same, filled */
	HV_OP_GNTTAB_COPY,	/* u32 n, pad, hv_copy_op[n], data -> same */
	HV_OP_EVTCHN_ALLOC_UNBOUND,	/* hv_evtchn_arg(dom=remote) -> ret port, fd poll */
	HV_OP_EVTCHN_BIND_INTERDOMAIN,	/* hv_evtchn_arg -> ret port, fd poll */
	HV_OP_EVTCHN_CLOSE,	/* hv_evtchn_arg(port) */
	HV_OP_EVTCHN_FDS,	/* hv_evtchn_arg(port) -> hv_evtchn_fds + fds recv, send */
	HV_OP_EVTCHN_MASK,	/* hv_evtchn_arg(port) */
	HV_OP_EVTCHN_UNMASK,	/* hv_evtchn_arg(port) */
	HV_OP_EVTCHN_STATUS,	/* pvio_evtchn_status -> same, filled */
	HV_OP_EVTCHN_SEND,	/* hv_evtchn_arg(port): slow path, hv writes the fd */
	HV_OP_DOMAIN_CONFIG,	/* hv_domid_arg -> pvio_domain_config (dom0) */
	HV_OP_DOMAIN_SUSPEND,	/* hv_domid_arg (arg = PVIO_SUSPEND_*) (dom0) */
	HV_OP_DOMAIN_DIRTY_SYNC, /* hv_domid_arg: log live writable maps (dom0) */
	HV_OP_DOMAIN_QMP,	/* hv_domid_arg + JSON command -> JSON reply */
	HV_OP_DOMAIN_SET_PROCESS, /* hv_domid_arg(arg = pid) + fd pidfd */
	HV_OP_DMESG,		/* hv_domid_arg(arg = 1: clear) -> hv's log text */
	HV_OP_DOMAIN_RENAME,	/* hv_rename_arg */
	HV_OP_GNTTAB_LOCAL,	/* hv_domid_arg -> hv_gnttab_local_reply + fds pin, own (dom0) */
	HV_OP_DOMAIN_IMPORT,	/* hv_import_arg (dom0, a VM still paused) */
	HV_OP_DOMAIN_PORTS,	/* hv_domid_arg -> hv_ports_reply + hv_port_info[nr] (dom0) */
	HV_OP_COUNT
};

struct hv_domid_arg {
	uint32_t domid;
	uint32_t arg;
};
PVIO_ABI_CHECK_SIZE(struct hv_domid_arg, 8);

/*
 * HV_OP_DOMAIN_QMP (dom0 only, VMs): the payload is a hv_domid_arg (arg
 * unused) then a QMP command as JSON text, {"execute": CMD} with an
 * optional "arguments" object and nothing else (hv adds its own id). The
 * reply payload is JSON text: {"return": ...} with ret 0, or
 * {"error": {"desc": ...}} with ret -EIO; other -errno without payload.
 */
/*
 * HV_OP_DOMAIN_SET_PROCESS (dom0 only, process domains): the toolstack
 * spawned the domain's program as process group arg (a group leader) and
 * hands hv a pidfd of it, before the program attaches. hv then shows the
 * pid, stops the whole group when the domain is destroyed (SIGTERM, then
 * SIGKILL after a grace period) or when hv exits, and destroys a domain
 * whose program exits without ever attaching.
 */
#define HV_PROCESS_GRACE_MS	2000

/* HV_OP_DMESG: the last of hv's log (a ring of this many bytes). */
#define HV_DMESG_SIZE		(48u * 1024)

/*
 * HV_OP_DOMAIN_IMPORT (dom0 only, a VM that has not run yet here: an
 * incoming migration): what the VM had on the host it comes from, for the
 * connections it keeps. Its grant table frames (as GNTTAB_SETUP would set
 * them) and the ports its frontends hold, each made unbound and offered
 * to dom0 under the same number. The payload is this header, then
 * nr_frames u64 frame numbers, then nr_ports u32 ports. All or nothing.
 */
struct hv_import_arg {
	uint32_t domid;
	uint32_t nr_frames;	/* <= PVIO_GNTTAB_MAX_FRAMES */
	uint32_t nr_ports;	/* <= HV_IMPORT_MAX_PORTS */
	uint32_t pad;
};
PVIO_ABI_CHECK_SIZE(struct hv_import_arg, 16);
#define HV_IMPORT_MAX_PORTS	256

/*
 * HV_OP_DOMAIN_PORTS (dom0 only): every open port of a domain, lowest
 * first, as the other end of a migration needs them to import (a VM's
 * hypercalls and sends still waiting in its region are taken first, so
 * that what they open or close is in the list). At most
 * HV_PORTS_MAX entries; a domain with more gets -E2BIG.
 */
struct hv_ports_reply {
	uint32_t nr;
	uint32_t store_port;	/* VM: the port of its store ring, else 0 */
};
PVIO_ABI_CHECK_SIZE(struct hv_ports_reply, 8);
struct hv_port_info {
	uint32_t port;
	uint16_t state;		/* EVTCHNSTAT_* */
	uint16_t remote_dom;	/* unbound: who may bind; interdomain: peer */
};
PVIO_ABI_CHECK_SIZE(struct hv_port_info, 8);
#define HV_PORTS_MAX	1024

struct hv_rename_arg {
	uint32_t domid;
	char name[64];		/* NUL-terminated */
};

#define HV_QMP_TEXT_MAX	(HV_PAYLOAD_MAX - sizeof(struct hv_domid_arg) - 1)

struct hv_attach_reply {
	uint64_t nr_pages;
	uint64_t serial;	/* unique per domain instance, never reused */
};
PVIO_ABI_CHECK_SIZE(struct hv_attach_reply, 16);

struct hv_ram_reply {
	uint64_t serial;	/* identifies this incarnation of the domid */
	uint64_t nr_pages;
	uint32_t nr_gnttab_frames;
	uint32_t pad;
	uint64_t gnttab_gfn[PVIO_GNTTAB_MAX_FRAMES];
};

/*
 * dom0 maps a domain's grants without hv: the domain's pin table and the
 * client's own table for that domain (memfds of GNTTAB_PIN_BYTES, layout
 * in grant/gnttab_pin.h). hv stays the one that hands them out, and drops
 * the client's pins when it goes away.
 */
struct hv_gnttab_local_reply {
	uint64_t serial;	/* the granter's incarnation */
	uint32_t nr_refs;	/* refs the tables cover */
	uint16_t owner;		/* the client's lock owner id */
	uint16_t pad;
	uint32_t cap;		/* pins the client may hold on this granter */
	uint32_t pad2;
};
PVIO_ABI_CHECK_SIZE(struct hv_gnttab_local_reply, 24);

struct hv_gnttab_setup {
	uint32_t nr_frames;	/* <= PVIO_GNTTAB_MAX_FRAMES */
	uint32_t pad;
	uint64_t gfn[];		/* nr_frames frames of the caller's RAM */
};

/*
 * One grant copy with the local side in the message: for to_grant ops the
 * request carries len bytes of data after the op array (in op order); for
 * from-grant ops the reply carries them.
 */
struct hv_copy_op {
	uint32_t ref;
	uint16_t dom;
	uint16_t offset;
	uint16_t len;
	uint16_t to_grant;
	int16_t status;
	uint16_t pad;
};
PVIO_ABI_CHECK_SIZE(struct hv_copy_op, 16);

struct hv_evtchn_arg {
	uint32_t dom;		/* remote domain (alloc, bind) */
	uint32_t port;		/* local port, or the remote port for bind */
};
PVIO_ABI_CHECK_SIZE(struct hv_evtchn_arg, 8);

/*
 * The poll fd of a port is an epoll instance owned by hv: hv adds the
 * port's current receive eventfd to it with data.u64 = its generation, and
 * removes it when the peer closes (so a closed peer can no longer wake us);
 * events pending at that moment move to a fresh eventfd of the end's own.
 */
struct hv_evtchn_fds {
	uint32_t gen;		/* generation of the receive eventfd */
	uint32_t nr_fds;	/* 0: none plugged (unbound, nothing pending);
				 * 1: recv (unbound, events still pending);
				 * 2: recv, send; or
				 * 3 (dom0 bound to a VM): recv, the VM's
				 * MSI-X vector eventfd, the VM's platform
				 * region: the sender marks vm_port pending in
				 * the VM's shared info itself, then writes the
				 * vector if the port is unmasked (no hv hop) */
	uint32_t vm_port;	/* nr_fds 3: the VM's end of the channel */
	uint32_t vm_vcpu;	/* nr_fds 3: the vCPU that end's events go to
				 * (its vector is the eventfd sent) */
};
PVIO_ABI_CHECK_SIZE(struct hv_evtchn_fds, 16);

#endif /* PVIO_HV_PROTO_H */
