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
#include "hv_proto.h"
#include "evtchn_table.h"

struct hv_domain;

/* One connection on hv.sock. */
struct hv_client {
	int fd;
	pid_t pid;			/* SO_PEERCRED */
	struct hv_domain *dom;		/* attached domain, NULL for dom0 */
	pvio_domid_t domid;		/* 0 or dom->domid */
	unsigned int nr_maps;		/* live grant mappings held */
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
	pid_t pid;
	struct hv_client *client;	/* process domain: its connection */
	void *type_data;		/* per-type state (VM) */

	/* memory */
	int ram_fd;			/* -1 until attached */
	uint8_t *ram;
	uint64_t nr_pages;
	int plat_fd;
	void *plat;

	/* grant table: frames of its RAM, and hv's pin counts per ref */
	uint32_t nr_gnt_frames;
	uint64_t gnt_gfn[PVIO_GNTTAB_MAX_FRAMES];
	uint32_t *pin_rd;		/* mappings/copies reading, per ref */
	uint32_t *pin_wr;		/* writable mappings, per ref */

	struct evtchn_table evtchn;
};

/* hv_main.c */
extern uint64_t hv_nr_hypercalls;
extern const char *hv_rundir;
int hv_client_send(struct hv_client *c, const struct hv_msg_hdr *req, int ret,
		   const void *payload, size_t len, const int *fds, int nfds);
void hv_client_detach_domain(struct hv_client *c);

/* hv_domain.c */
struct hv_domain *hv_domain_get(pvio_domid_t domid);
int hv_domain_create(const struct pvio_domain_config *cfg, pvio_domid_t *out);
void hv_domain_kill(struct hv_domain *d);
int hv_domain_attach(struct hv_client *c, pvio_domid_t domid, int ram_fd,
		     struct hv_attach_reply *rep);
void hv_domain_fill_info(const struct hv_domain *d, struct pvio_domain_info *i);
void hv_dom0_fill_info(struct pvio_domain_info *i);
unsigned int hv_domain_count(void);
struct hv_domain *hv_domain_next(pvio_domid_t *iter);
struct hv_domain *hv_dom0(void);
void hv_domain_init(void);

/* hv_gnttab.c */
extern unsigned int hv_nr_maps;
int hv_gnttab_setup(struct hv_domain *d, const uint64_t *gfn, uint32_t n);
void hv_gnttab_map(struct hv_client *c, struct pvio_gnttab_map_op *op);
void hv_gnttab_unmap(struct hv_client *c, struct pvio_gnttab_unmap_op *op);
int16_t hv_gnttab_copy(struct hv_client *c, const struct hv_copy_op *op,
		       void *buf);
bool hv_gnttab_client_maps(struct hv_client *c, pvio_domid_t granter);
void hv_gnttab_client_gone(struct hv_client *c);
void hv_gnttab_domain_gone(struct hv_domain *d);

/* hv_evtchn.c */
extern unsigned int hv_nr_ports;
int hv_evtchn_op(struct hv_client *c, const struct hv_msg_hdr *h,
		 const void *payload, size_t len);
void hv_evtchn_client_gone(struct hv_client *c);
void hv_evtchn_domain_gone(struct hv_domain *d);

/* hv_store.c */
void hv_store_release(pvio_domid_t domid);

#define hv_log(fmt, ...) hv_logf("pvio-hv: " fmt "\n", ##__VA_ARGS__)
void hv_logf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* PVIO_HV_H */
