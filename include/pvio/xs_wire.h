/* SPDX-License-Identifier: MIT */
/*
 * Xenstore wire protocol (Xen's io/xs_wire.h): the message header and types,
 * the error names, and the per-domain ring interface page.
 */
#ifndef PVIO_XS_WIRE_H
#define PVIO_XS_WIRE_H

#include "abi.h"

enum xsd_sockmsg_type {
	XS_CONTROL = 0,
	XS_DIRECTORY = 1,
	XS_READ = 2,
	XS_GET_PERMS = 3,
	XS_WATCH = 4,
	XS_UNWATCH = 5,
	XS_TRANSACTION_START = 6,
	XS_TRANSACTION_END = 7,
	XS_INTRODUCE = 8,
	XS_RELEASE = 9,
	XS_GET_DOMAIN_PATH = 10,
	XS_WRITE = 11,
	XS_MKDIR = 12,
	XS_RM = 13,
	XS_SET_PERMS = 14,
	XS_WATCH_EVENT = 15,
	XS_ERROR = 16,
	XS_IS_DOMAIN_INTRODUCED = 17,
	XS_RESUME = 18,
	XS_SET_TARGET = 19,
	/* 20 was RESTRICT */
	XS_RESET_WATCHES = 21,
	XS_DIRECTORY_PART = 22,
	XS_GET_FEATURE = 23,
	XS_SET_FEATURE = 24,
	XS_GET_QUOTA = 25,
	XS_SET_QUOTA = 26,
	XS_TYPE_COUNT
};

struct xsd_sockmsg {
	uint32_t type;		/* enum xsd_sockmsg_type */
	uint32_t req_id;	/* echoed in the reply */
	uint32_t tx_id;		/* transaction id, 0 if none */
	uint32_t len;		/* payload bytes that follow */
};
PVIO_ABI_CHECK_SIZE(struct xsd_sockmsg, 16);

#define XENSTORE_PAYLOAD_MAX	4096
#define XENSTORE_ABS_PATH_MAX	3072
#define XENSTORE_REL_PATH_MAX	2048

/* Error replies: type XS_ERROR, payload the name and a NUL. */
struct xsd_errors {
	int errnum;
	const char *errstring;
};
#define PVIO_XSD_ERRORS_INIT { \
	{ EINVAL, "EINVAL" }, { EACCES, "EACCES" }, { EEXIST, "EEXIST" }, \
	{ EISDIR, "EISDIR" }, { ENOENT, "ENOENT" }, { ENOMEM, "ENOMEM" }, \
	{ ENOSPC, "ENOSPC" }, { EIO, "EIO" }, { ENOTEMPTY, "ENOTEMPTY" }, \
	{ ENOSYS, "ENOSYS" }, { EROFS, "EROFS" }, { EBUSY, "EBUSY" }, \
	{ EAGAIN, "EAGAIN" }, { EISCONN, "EISCONN" }, { E2BIG, "E2BIG" }, \
	{ EPERM, "EPERM" } }

/* Domain ring interface: one page in the domain's platform region. */
#define XENSTORE_RING_SIZE	1024
#define XENSTORE_RING_IDX(idx)	((idx) & (XENSTORE_RING_SIZE - 1))

#define XENSTORE_SERVER_FEATURE_RECONNECTION	1
#define XENSTORE_SERVER_FEATURE_ERROR		2
#define XENSTORE_CONNECTED	0
#define XENSTORE_RECONNECT	1
#define XENSTORE_ERROR_NONE	0
#define XENSTORE_ERROR_COMM	1
#define XENSTORE_ERROR_RINGIDX	2
#define XENSTORE_ERROR_PROTO	3

struct xenstore_domain_interface {
	char req[XENSTORE_RING_SIZE];	/* domain to store */
	char rsp[XENSTORE_RING_SIZE];	/* store to domain */
	uint32_t req_cons, req_prod;
	uint32_t rsp_cons, rsp_prod;
	uint32_t server_features;
	uint32_t connection;
	uint32_t error;
};
PVIO_ABI_CHECK_OFFSET(struct xenstore_domain_interface, req_cons, 2048);
PVIO_ABI_CHECK_OFFSET(struct xenstore_domain_interface, error, 2072);

/* Console ring (Xen's io/console.h layout). */
struct pvio_cons_interface {
	char in[1024];
	char out[2048];
	uint32_t in_cons, in_prod;
	uint32_t out_cons, out_prod;
};
PVIO_ABI_CHECK_OFFSET(struct pvio_cons_interface, out_prod, 3084);

#endif /* PVIO_XS_WIRE_H */
