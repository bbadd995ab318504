/* SPDX-License-Identifier: MIT */
/*
 * The "vif" device class of the toolstack (implemented in tools/): xl's vif
 * spec, parsed and validated before anything is written, the stable default
 * MAC, the rate= limit in the form the backend reads from the store, and
 * attaching/detaching a vif in the store as xl does. Public so that other
 * dom0 programs (pvio-netfront-tap --create, tests) attach vifs the same way.
 */
#ifndef PVIO_VIF_H
#define PVIO_VIF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NETSPEC_DEFAULT_BRIDGE	"xenbr0"
#define NETSPEC_DEFAULT_SCRIPT	"vif-bridge"
#define NETSPEC_DEFAULT_RATE_US	50000u	/* xl: 50 ms replenish interval */
#define NETSPEC_IFNAMSIZ	16	/* with the NUL, as IFNAMSIZ */

struct netspec {
	uint8_t mac[6];
	bool mac_set;
	char bridge[NETSPEC_IFNAMSIZ];
	char ip[256];		/* space separated addresses, informational */
	char vifname[NETSPEC_IFNAMSIZ];	/* "" = vif<dom>.<dev> */
	char script[256];
	char model[32];
	char type[16];
	unsigned int mtu;	/* 0 = not given (1500) */
	int devid;		/* -1 = first free */
	uint64_t rate_bytes;	/* credit per interval, 0 = unlimited */
	uint32_t rate_usec;	/* replenish interval */
	char rate[64];		/* as written, "" if none */
	char gatewaydev[NETSPEC_IFNAMSIZ]; /* for vif-route ("netdev" alias) */
	int trusted;		/* -1 default, 0 untrusted, 1 trusted */
	char backend[64];	/* backend domain, "" = dom0 */
};

/*
 * Parse an xl vif spec ("mac=00:16:3e:01:02:03,bridge=br0,rate=10Mb/s@50ms").
 * 0 or -EINVAL with a message for a person in @err.
 */
int netspec_parse(const char *spec, struct netspec *ns, char *err, size_t errlen);
/*
 * What pvio cannot serve of a parsed vif (a driver domain): -EOPNOTSUPP
 * with the reason in @err, else 0.
 */
int netspec_check(const struct netspec *ns, char *err, size_t errlen);
/* "aa:bb:cc:dd:ee:ff" (also '-' separators); unicast only. 0 or -EINVAL. */
int netspec_parse_mac(const char *s, uint8_t mac[6]);
/*
 * xl's rate: "RATE/s[@INTERVAL]", RATE with unit B, KB, MB, GB (bytes) or
 * b, Kb, Mb, Gb (bits); INTERVAL in s, ms or us (default 50ms).
 * Result: bytes credited per interval, and the interval. 0 or -EINVAL.
 */
int netspec_parse_rate(const char *s, uint64_t *bytes, uint32_t *usec);
/* Stable 00:16:3e:xx:yy:zz for (domid, devid). */
void netspec_default_mac(uint16_t domid, uint32_t devid, uint8_t mac[6]);
void netspec_format_mac(const uint8_t mac[6], char out[18]);

struct xs_handle;

/*
 * Store side of the class (builtin_network_store.c), shared by `pvio` and
 * pvio-netfront-tap --create. All 0 or -errno, with a message on stderr.
 */
/* Write both dirs of a new vif in one transaction; *devid gets its id. */
int netvif_attach(struct xs_handle *xs, uint16_t domid, const struct netspec *ns,
		  int *devid);
/* Close (online=0, state Closing), wait for the backend, remove both dirs. */
int netvif_detach(struct xs_handle *xs, uint16_t domid, int devid,
		  int timeout_ms);
/* Device id of the vif of @domid with @mac, -ENOENT if none. */
int netvif_find_mac(struct xs_handle *xs, uint16_t domid, const uint8_t mac[6]);
/* Device ids of @domid's vifs (sorted); *ids malloc'd. */
int netvif_list(struct xs_handle *xs, uint16_t domid, int **ids, unsigned int *n);

#endif /* PVIO_VIF_H */
