/* SPDX-License-Identifier: MIT */
/*
 * From an xl config (tools/xlcfg) to what `pvio create` builds: the domain
 * (process or VM, as xl's type/builder say), its kernel or bootloader, its
 * devices, and the plan as JSON for `pvio create -n`. Keys xl knows and
 * pvio does not are reported once as ignored.
 */
#ifndef PVIO_TOOLS_CREATE_CONFIG_H
#define PVIO_TOOLS_CREATE_CONFIG_H

#include <stdbool.h>
#include <jansson.h>

#include "pvio/libpvio.h"
#include "xlcfg/xlcfg.h"

struct create_cfg {
	struct pvio_domain_config dc;
	const char *path;	/* for messages */
	char type[16];		/* pv, pvh, hvm or process */
	const char *program;	/* process domains */
	/* VMs booted by pygrub: kernel/ramdisk paths inside the guest */
	bool pygrub;
	char boot_kernel[256], boot_ramdisk[256], boot_args[1024];
	int boot_entry;		/* -1: grub's default */
	char boot_title[128];	/* --entry=TITLE, "" if by number */
	const char *uuid;	/* NULL: a fresh one */
	json_t *plan;		/* everything, for -n */
	bool refused;		/* pvio cannot build it (reasons printed) */
};

/*
 * Check @cfg and fill @cc (and cc->plan). Errors and refusals are printed
 * ("pvio: PATH: ..."), ignored keys reported on one line. 0, -EINVAL for a
 * config xl would refuse too, -EOPNOTSUPP for one pvio cannot build (the
 * plan is still complete).
 */
int create_cfg_build(const struct xlcfg *cfg, const char *path,
		     struct create_cfg *cc);
void create_cfg_free(struct create_cfg *cc);

/* Is this one of xl.cfg(5)'s keys? (for the "ignored" report) */
bool create_cfg_xl_key(const char *key);

#endif
