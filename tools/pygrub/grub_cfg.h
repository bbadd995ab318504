/* SPDX-License-Identifier: MIT */
/*
 * The boot menu of a guest's grub.cfg (GRUB 2) or menu.lst (GRUB legacy),
 * as pygrub reads it: menu entries (submenus included) with their kernel,
 * initrds and command line, and the default entry. The text comes from
 * the guest: lengths and counts are bounded, a malformed file is an
 * error.
 */
#ifndef PVIO_TOOLS_GRUB_CFG_H
#define PVIO_TOOLS_GRUB_CFG_H

#include <stddef.h>

#define GRUB_MAX_ENTRIES	64
#define GRUB_MAX_INITRDS	4

struct grub_entry {
	char title[128];
	char id[128];		/* --id / $menuentry_id_option, "" if none */
	char pos[16];		/* "2", or "1>0" inside a submenu */
	char kernel[256];	/* path in the guest fs, device prefix removed */
	char args[1024];
	char initrd[GRUB_MAX_INITRDS][256];
	unsigned int nr_initrds;
};

struct grub_menu {
	struct grub_entry e[GRUB_MAX_ENTRIES];
	unsigned int n;
	int def;		/* index of the default entry in e[] */
};

/* Parse grub.cfg text: 0 or -EINVAL (message in @err). */
int grub_cfg_parse(const char *text, size_t len, struct grub_menu *m,
		   char *err, size_t errlen);
/* Parse GRUB legacy menu.lst text: 0 or -EINVAL. */
int grub_menulst_parse(const char *text, size_t len, struct grub_menu *m,
		       char *err, size_t errlen);

#endif
