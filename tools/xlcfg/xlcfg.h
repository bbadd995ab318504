/* SPDX-License-Identifier: MIT */
/*
 * xl configuration files and disk specifications, as `xl create` and
 * `xl block-attach` read them.
 *
 * Config syntax (xl.cfg(5)): `KEY = VALUE` statements separated by
 * newlines or `;`; a value is a string ("..." or '...', C escapes), a
 * number (decimal, 0x hex, 0 octal) or a list `[ v, v, ... ]` that may
 * span lines, nest and end with a comma; `#` starts a comment. A later
 * assignment replaces an earlier one; `KEY += VALUE` appends to a list or
 * a string. A bare word is not a value (xl refuses it too).
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
	bool is_number;		/* XLCFG_STRING written as a number */
	char **items;		/* XLCFG_LIST; NULL for an item that is a list */
	unsigned int nr_items;
	unsigned int nr_nested;	/* items that are lists themselves */
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
/*
 * More statements into @cfg (xl's KEY=VALUE arguments after the config
 * file): they override or, with +=, extend what is there. Errors are
 * "@origin: what". 0 or -EINVAL.
 */
int xlcfg_parse_more(struct xlcfg *cfg, const char *text, const char *origin,
		     char *err, size_t errlen);
void xlcfg_free(struct xlcfg *cfg);
const struct xlcfg_entry *xlcfg_get(const struct xlcfg *cfg, const char *key);
/* A string value, or NULL if absent or a list. */
const char *xlcfg_get_string(const struct xlcfg *cfg, const char *key);
/* 0, -ENOENT if absent, -EINVAL if not an integer. */
int xlcfg_get_int(const struct xlcfg *cfg, const char *key, long long *v);
/* A BOOLEAN (a number, 0 false): 0, -ENOENT, -EINVAL. */
int xlcfg_get_bool(const struct xlcfg *cfg, const char *key, bool *v);

/* ---- disk specifications (xlcfg_disk.c) ---- */

struct xlcfg_disk {
	char target[1024];	/* prefixes stripped; "" only for an empty cdrom */
	char format[8];		/* raw (default), qcow, qcow2, vhd, qed, empty */
	char vdev[32];		/* as written: xvda, sdb, hda, d0p1, 51712 */
	uint32_t vdev_num;	/* Xen virtual device number */
	bool readonly;		/* access r/ro (always for a cdrom) */
	bool cdrom;		/* devtype=cdrom, the cdrom flag, hdc:cdrom */
	char backendtype[16];	/* "" automatic, phy, qdisk, tap, standalone */
	char specification[8];	/* "" (xen), xen, virtio */
	char backend[64];	/* backend domain, "" = dom0 */
	char script[256];	/* block hotplug script, "" none */
	int discard;		/* -1 default (advertise), 0 no-discard, 1 */
	bool direct_io_safe;
	int trusted;		/* -1 default, 0 untrusted, 1 trusted */
	bool colo;		/* colo flag or colo-* keys */
	/* pvio's own keys */
	char engine[8];		/* pvio-engine: uring or aio; "" = default */
	uint32_t sector_size;	/* pvio-sector-size: 0 (from the device), 512, 4096 */
	/* decided when attached: the backend's "type" (file or phy) */
	char type[8];
};

/*
 * Parse an xl disk spec as xl does. -EINVAL with a one-line message
 * naming the spec in @err on a spec xl would refuse too.
 */
int xlcfg_disk_parse(const char *spec, struct xlcfg_disk *d, char *err,
		     size_t errlen);
/*
 * What pvio cannot serve of a parsed disk (another format, a driver
 * domain, virtio, COLO, an empty cdrom): -EOPNOTSUPP with the reason in
 * @err, else 0.
 */
int xlcfg_disk_check(const struct xlcfg_disk *d, char *err, size_t errlen);
/*
 * A virtual device name of xen-vbd-interface(7) (xvda, xvdb3, xvdaa,
 * sdc, hda, d0p1, or the number in hex, decimal or octal) -> its number.
 */
int xlcfg_vdev_parse(const char *name, uint32_t *num);

/*
 * Domain name or id -> id, through pvio-hv (tools/builtin_block.c).
 * Prints its own error; 0 or -errno.
 */
int xlcfg_domain_resolve(const char *rundir, const char *name,
			 uint16_t *domid);

#endif /* PVIO_TOOLS_XLCFG_H */
