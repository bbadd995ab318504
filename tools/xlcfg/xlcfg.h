/* SPDX-License-Identifier: MIT */
/*
 * xl configuration files and disk specifications, as `xl create` and
 * `xl block-attach` read them.
 *
 * Config syntax: `key = value` statements separated by newlines or `;`;
 * a value is a string ("..." or '...', C escapes in double quotes), a
 * number, a bare word, or a list `[ v, v, ... ]` that may span lines and
 * end with a comma; `#` starts a comment. A later assignment replaces an
 * earlier one.
 */
#ifndef PVIO_TOOLS_XLCFG_H
#define PVIO_TOOLS_XLCFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum xlcfg_type { XLCFG_STRING, XLCFG_LIST };

struct xlcfg_entry {
	char *key;
	enum xlcfg_type type;
	char *str;		/* XLCFG_STRING (numbers are kept as text) */
	char **items;		/* XLCFG_LIST */
	unsigned int nr_items;
	unsigned int line;
};

struct xlcfg {
	struct xlcfg_entry *e;
	unsigned int n;
};

/* Parse @text; on error fill @err ("line N: what") and return -EINVAL. */
int xlcfg_parse(const char *text, struct xlcfg **out, char *err, size_t errlen);
int xlcfg_parse_file(const char *path, struct xlcfg **out, char *err,
		     size_t errlen);
void xlcfg_free(struct xlcfg *cfg);
const struct xlcfg_entry *xlcfg_get(const struct xlcfg *cfg, const char *key);
/* A string value, or NULL if absent or a list. */
const char *xlcfg_get_string(const struct xlcfg *cfg, const char *key);
/* 0, -ENOENT if absent, -EINVAL if not an integer. */
int xlcfg_get_int(const struct xlcfg *cfg, const char *key, long long *v);

/* ---- disk specifications (xlcfg_disk.c) ---- */

struct xlcfg_disk {
	char target[512];	/* backing file or device, NBD URI, rbd:pool/image
				 * ("" for an empty cdrom) */
	char format[16];	/* "raw", "qcow2", "vhd", ... (not raw: a qdisk) */
	char vdev[32];		/* as written: xvda, sdb, hda, 51712 */
	uint32_t vdev_num;	/* Xen virtual device number */
	bool readonly;
	bool cdrom;
	char type[8];		/* "file" or "phy" */
	char backendtype[16];	/* "phy", "qdisk", ... as given */
	char engine[8];		/* "uring" or "aio"; "" = backend default */
	char backend[64];	/* backend domain name or id ("" = 0) */
	char script[128];
	int discard;		/* -1 unset, 0 no-discard, 1 discard */
	bool direct_io_safe;
	uint32_t sector_size;	/* pvio: 0 = from the device, 512 or 4096 */
};

/* Parse an xl disk spec. -EINVAL with a message in @err on a bad spec. */
int xlcfg_disk_parse(const char *spec, struct xlcfg_disk *d, char *err,
		     size_t errlen);
/* An NBD URI or an rbd: image, not a path of this host. */
bool xlcfg_disk_is_network(const char *target);
/* xvda / xvdb3 / sdc / hda / 51712 -> virtual device number. */
int xlcfg_vdev_parse(const char *name, uint32_t *num);

/*
 * Domain name or id -> id, through pvio-hv (tools/builtin_block.c).
 * Prints its own error; 0 or -errno.
 */
int xlcfg_domain_resolve(const char *rundir, const char *name,
			 uint16_t *domid);

#endif /* PVIO_TOOLS_XLCFG_H */
