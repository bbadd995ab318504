// SPDX-License-Identifier: MIT
/*
 * xl disk specifications: positional `target,format,vdev,access` and the
 * key=value form (target= last, since a target may contain commas), plus
 * virtual device names (xvd, sd, hd, numbers).
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pvio/blkif.h"
#include "xlcfg.h"

static int derr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int derr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* Bijective base 26: a..z, aa..zz, ... -> 0, 1, ... */
static int letters_index(const char **p, uint32_t *idx)
{
	uint32_t v = 0;
	unsigned int n = 0;

	while (**p >= 'a' && **p <= 'z') {
		v = v * 26 + (uint32_t)(**p - 'a' + 1);
		(*p)++;
		if (++n > 4)
			return -EINVAL;
	}
	if (!n)
		return -EINVAL;
	*idx = v - 1;
	return 0;
}

static int number(const char *s, uint32_t max, uint32_t *v)
{
	char *end;
	unsigned long n;

	if (!*s)
		return -EINVAL;
	for (const char *c = s; *c; c++)
		if (!isdigit((unsigned char)*c))
			return -EINVAL;
	errno = 0;
	n = strtoul(s, &end, 10);
	if (errno || *end || n > max)
		return -EINVAL;
	*v = (uint32_t)n;
	return 0;
}

int xlcfg_vdev_parse(const char *name, uint32_t *num)
{
	const char *p = name;
	uint32_t d, part = 0;

	if (isdigit((unsigned char)*p))
		return number(p, 0x7fffffff, num) ? -EINVAL :
		       (*num ? 0 : -EINVAL);
	if (!strncmp(p, "xvd", 3)) {
		p += 3;
		if (letters_index(&p, &d))
			return -EINVAL;
		if (*p && number(p, 255, &part))
			return -EINVAL;
		if (d < 16) {
			if (part > 15)
				return -EINVAL;
		} else if (d >= (1u << 20)) {
			return -EINVAL;
		}
		*num = PVIO_VDEV_XVD(d, part);
		return 0;
	}
	if (!strncmp(p, "sd", 2)) {
		p += 2;
		if (letters_index(&p, &d) || d >= 16)
			return -EINVAL;
		if (*p && number(p, 15, &part))
			return -EINVAL;
		*num = (8u << 8) | (d << 4) | part;
		return 0;
	}
	if (!strncmp(p, "hd", 2)) {
		static const uint32_t major[4] = { 3, 3, 22, 22 };

		p += 2;
		if (letters_index(&p, &d) || d >= 4)
			return -EINVAL;
		if (*p && number(p, 63, &part))
			return -EINVAL;
		*num = (major[d] << 8) | ((d & 1) << 6) | part;
		return 0;
	}
	return -EINVAL;
}

static int set_str(char *dst, size_t size, const char *v, const char *what,
		   char *err, size_t errlen)
{
	if (strlen(v) >= size)
		return derr(err, errlen, "disk spec: %s too long: '%s'", what, v);
	strcpy(dst, v);
	return 0;
}

static int set_access(struct xlcfg_disk *d, const char *v, char *err,
		      size_t errlen)
{
	if (!strcmp(v, "r") || !strcmp(v, "ro")) {
		d->readonly = true;
	} else if (!strcmp(v, "w") || !strcmp(v, "rw")) {
		d->readonly = false;
	} else if (!*v) {
		/* empty positional: default */
	} else {
		return derr(err, errlen,
			    "disk spec: bad access '%s' (ro, r, rw or w)", v);
	}
	return 0;
}

static int set_vdev(struct xlcfg_disk *d, const char *v, char *err,
		    size_t errlen)
{
	char name[32];
	char *colon;

	if (set_str(name, sizeof(name), v, "vdev", err, errlen))
		return -EINVAL;
	colon = strchr(name, ':');
	if (colon) {
		/* legacy "hdc:cdrom" */
		if (strcmp(colon + 1, "cdrom"))
			return derr(err, errlen, "disk spec: bad vdev '%s'", v);
		d->cdrom = true;
		*colon = 0;
	}
	if (xlcfg_vdev_parse(name, &d->vdev_num))
		return derr(err, errlen,
			    "disk spec: bad vdev '%s' (e.g. xvda, xvdb, sda, hda, 51712)",
			    v);
	strcpy(d->vdev, name);
	return 0;
}

/*
 * Image formats: raw is served directly; the others by a
 * qemu-storage-daemon that blkback starts for the disk (backendtype qdisk).
 */
static const char *const disk_formats[] = {
	"raw", "qcow2", "qcow", "vhd", "vpc", "vmdk", "vhdx", "qed", "luks",
	"vdi", "parallels",
};

static int set_format(struct xlcfg_disk *d, const char *v, char *err,
		      size_t errlen)
{
	if (!*v)
		return 0;
	for (unsigned int i = 0; i < sizeof(disk_formats) / sizeof(*disk_formats); i++) {
		if (strcmp(v, disk_formats[i]))
			continue;
		strcpy(d->format, v);
		return 0;
	}
	return derr(err, errlen,
		    "disk spec: format '%s' not supported (raw, qcow2, qcow, vhd, vmdk, vhdx, qed, luks, vdi, parallels)",
		    v);
}

bool xlcfg_disk_is_network(const char *target)
{
	return !strncmp(target, "nbd://", 6) || !strncmp(target, "nbd+unix://", 11) ||
	       !strncmp(target, "nbds://", 7) || !strncmp(target, "nbds+unix://", 12) ||
	       !strncmp(target, "rbd:", 4);
}

static int set_engine(struct xlcfg_disk *d, const char *v)
{
	if (!strcmp(v, "uring") || !strcmp(v, "io_uring"))
		strcpy(d->engine, "uring");
	else if (!strcmp(v, "aio") || !strcmp(v, "libaio"))
		strcpy(d->engine, "aio");
	else
		return -EINVAL;
	return 0;
}

/*
 * Legacy target prefixes: phy:, file:, raw:, aio:, tap:aio:, tap2:...,
 * and the format ones (qcow2:, tap:qcow2:, vhd:, ...), which xl serves
 * through QEMU (a qdisk).
 */
static int set_target(struct xlcfg_disk *d, const char *v, char *err,
		      size_t errlen)
{
	static const struct {
		const char *prefix;
		const char *format;	/* NULL: leaves the format as is */
	} prefixes[] = {
		{ "tap2:tapdisk:aio:", NULL }, { "tap:tapdisk:aio:", NULL },
		{ "tap:aio:", NULL }, { "tap2:aio:", NULL },
		{ "tapdisk:aio:", NULL }, { "aio:", NULL }, { "file:", NULL },
		{ "raw:", NULL }, { "phy:", NULL },
		{ "tap2:tapdisk:qcow2:", "qcow2" }, { "tap:tapdisk:qcow2:", "qcow2" },
		{ "tap2:qcow2:", "qcow2" }, { "tap:qcow2:", "qcow2" },
		{ "qcow2:", "qcow2" },
		{ "tap2:tapdisk:qcow:", "qcow" }, { "tap:qcow:", "qcow" },
		{ "qcow:", "qcow" },
		{ "tap2:tapdisk:vhd:", "vhd" }, { "tap2:vhd:", "vhd" },
		{ "tap:vhd:", "vhd" }, { "vhd:", "vhd" },
		{ "qed:", "qed" }, { "vmdk:", "vmdk" }, { "vhdx:", "vhdx" },
	};

	for (unsigned int i = 0; i < sizeof(prefixes) / sizeof(*prefixes); i++) {
		size_t n = strlen(prefixes[i].prefix);

		if (!strncmp(v, prefixes[i].prefix, n)) {
			if (!strcmp(prefixes[i].prefix, "phy:"))
				strcpy(d->type, "phy");
			if (prefixes[i].format)
				strcpy(d->format, prefixes[i].format);
			v += n;
			break;
		}
	}
	return set_str(d->target, sizeof(d->target), v, "target", err, errlen);
}

static int set_key(struct xlcfg_disk *d, const char *k, const char *v,
		   char *err, size_t errlen)
{
	uint32_t n;

	if (!strcmp(k, "format"))
		return set_format(d, v, err, errlen);
	if (!strcmp(k, "vdev"))
		return set_vdev(d, v, err, errlen);
	if (!strcmp(k, "access") || !strcmp(k, "mode"))
		return set_access(d, v, err, errlen);
	if (!strcmp(k, "devtype")) {
		if (strcmp(v, "cdrom") && strcmp(v, "disk"))
			return derr(err, errlen, "disk spec: bad devtype '%s'", v);
		d->cdrom = !strcmp(v, "cdrom");
		return 0;
	}
	if (!strcmp(k, "backendtype")) {
		if (!set_engine(d, v))
			return set_str(d->backendtype, sizeof(d->backendtype),
				       "phy", "backendtype", err, errlen);
		if (strcmp(v, "phy") && strcmp(v, "qdisk") && strcmp(v, "tap") &&
		    strcmp(v, "standalone"))
			return derr(err, errlen,
				    "disk spec: bad backendtype '%s' (phy, qdisk, tap, uring, aio)",
				    v);
		return set_str(d->backendtype, sizeof(d->backendtype), v,
			       "backendtype", err, errlen);
	}
	if (!strcmp(k, "engine") || !strcmp(k, "pvio-engine")) {
		if (set_engine(d, v))
			return derr(err, errlen,
				    "disk spec: bad engine '%s' (uring or aio)", v);
		return 0;
	}
	if (!strcmp(k, "sector-size") || !strcmp(k, "pvio-sector-size")) {
		if (number(v, 4096, &n) || (n != 512 && n != 4096))
			return derr(err, errlen,
				    "disk spec: bad sector-size '%s' (512 or 4096)", v);
		d->sector_size = n;
		return 0;
	}
	if (!strcmp(k, "backend"))
		return set_str(d->backend, sizeof(d->backend), v, "backend",
			       err, errlen);
	if (!strcmp(k, "script"))
		return set_str(d->script, sizeof(d->script), v, "script", err,
			       errlen);
	return derr(err, errlen, "disk spec: unknown key '%s'", k);
}

int xlcfg_disk_parse(const char *spec, struct xlcfg_disk *d, char *err,
		     size_t errlen)
{
	char *copy, *p;
	unsigned int pos = 0;
	int rc = 0;

	memset(d, 0, sizeof(*d));
	d->discard = -1;
	strcpy(d->format, "raw");
	strcpy(d->type, "file");
	if (!spec || !*spec)
		return derr(err, errlen, "disk spec: empty");
	copy = strdup(spec);
	if (!copy)
		return -ENOMEM;
	p = copy;
	while (p && !rc) {
		char *tok = p, *eq;

		while (*tok == ' ' || *tok == '\t')
			tok++;
		/* target= swallows the rest, commas included */
		if (!strncmp(tok, "target=", 7)) {
			rc = set_target(d, tok + 7, err, errlen);
			break;
		}
		p = strchr(p, ',');
		if (p)
			*p++ = 0;
		for (char *e = tok + strlen(tok); e > tok && (e[-1] == ' ' || e[-1] == '\t');)
			*--e = 0;
		eq = strchr(tok, '=');
		if (eq) {
			*eq = 0;
			rc = set_key(d, tok, eq + 1, err, errlen);
		} else if (!strcmp(tok, "discard")) {
			d->discard = 1;
		} else if (!strcmp(tok, "no-discard")) {
			d->discard = 0;
		} else if (!strcmp(tok, "direct-io-safe")) {
			d->direct_io_safe = true;
		} else if (!strcmp(tok, "cdrom")) {
			d->cdrom = true;
		} else {
			switch (pos++) {
			case 0:
				rc = set_target(d, tok, err, errlen);
				break;
			case 1:
				rc = set_format(d, tok, err, errlen);
				break;
			case 2:
				rc = *tok ? set_vdev(d, tok, err, errlen) : 0;
				break;
			case 3:
				rc = set_access(d, tok, err, errlen);
				break;
			default:
				rc = derr(err, errlen,
					  "disk spec: too many positional parameters at '%s'",
					  tok);
			}
		}
	}
	free(copy);
	if (rc)
		return rc;
	if (!d->vdev[0])
		return derr(err, errlen, "disk spec: no vdev in '%s'", spec);
	if (!d->target[0] && !d->cdrom)
		return derr(err, errlen, "disk spec: no target in '%s'", spec);
	if (d->cdrom)
		d->readonly = true;
	return 0;
}
