/* SPDX-License-Identifier: MIT */
/*
 * Shared by the hv verbs: the host daemons `pvio up` starts and `pvio down`
 * stops (in start order), and DOM argument resolution.
 */
#ifndef PVIO_TOOLS_HVCMD_H
#define PVIO_TOOLS_HVCMD_H

#include <stdbool.h>
#include <sys/types.h>

#include "pvio/libpvio.h"

struct pvio_daemon {
	const char *name;	/* short name: pidfile NAME.pid, log NAME.log */
	const char *binary;	/* in the directory of the pvio binary */
	const char *socket;	/* file in the run dir to wait for, or NULL */
	bool required;
};

extern const struct pvio_daemon pvio_daemons[];
extern const unsigned int pvio_nr_daemons;

/* pid from RUNDIR/NAME.pid if that process still runs @binary, else 0. */
pid_t pvio_daemon_pid(const char *rundir, const struct pvio_daemon *dm);
/* Is @pid alive (a zombie is not)? */
bool pvio_pid_alive(pid_t pid);

/*
 * DOM on the command line: a domain id or a name. 0, or -ENOENT (message
 * printed) if no such domain.
 */
int pvio_domain_resolve(struct pvio_hv *hv, const char *arg, pvio_domid_t *domid);
/* Same, by name only (xl domid). */
int pvio_domain_resolve_name(struct pvio_hv *hv, const char *name,
			     pvio_domid_t *domid);
/* Connect as dom0, printing a helpful message on failure. */
int pvio_cli_connect(struct pvio_hv **hv);

#endif
