// SPDX-License-Identifier: MIT
/*
 * xl disk specifications, as xl-disk-configuration(5) defines them:
 * comma-separated positional parameters (target, format, vdev, access),
 * key=value parameters and flags in any order, `target=` last (it takes
 * the rest, commas included), each parameter at most once; the deprecated
 * target prefixes (phy:, file:, tap:aio:, raw:, qcow2:, iscsi: ...) and
 * vdev suffixes (hdc:cdrom); virtual device names of xen-vbd-interface(7)
 * (xvd*, hd*, sd*, dNpM, numbers). Parsing follows xl; what pvio cannot
 * serve is refused separately (xlcfg_disk_check) with the reason.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pvio/blkif.h"
#include "xlcfg.h"

#define DISK_SPEC_MAX	4096

struct disk_parse {
	struct xlcfg_disk *d;
	const char *spec;
	char *err;
	size_t errlen;
	/* which parameters were given (positionally or by name) */
	bool has_target, has_format, has_vdev, has_access, has_devtype;
	bool has_backendtype, has_backend, has_script, has_spec;
	bool target_empty;	/* given positionally, but empty */
};

static int derr(struct disk_parse *dp, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int derr(struct disk_parse *dp, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (dp->err && dp->errlen) {
		n = snprintf(dp->err, dp->errlen, "disk spec '%.200s': ",
			     dp->spec);
		if (n < 0 || (size_t)n >= dp->errlen)
			n = 0;
		va_start(ap, fmt);
		vsnprintf(dp->err + n, dp->errlen - n, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* ---- virtual device names (xen-vbd-interface(7)) ---- */

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

/* Decimal digits only, at most @max. */
static int number(const char *s, uint32_t max, uint32_t *v)
{
	unsigned long n;
	char *end;

	if (!*s || strlen(s) > 10)
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

/* Xen disk @d partition @part: the 202<<8 form when it fits, else 1<<28. */
static int xvd_encode(uint32_t d, uint32_t part, uint32_t *num)
{
	if (d < 16 && part < 16) {
		*num = PVIO_VDEV_XVD(d, part);
		return 0;
	}
	if (d >= (1u << 20) || part > 255)
		return -EINVAL;
	*num = (1u << 28) | (d << 8) | part;
	return 0;
}

int xlcfg_vdev_parse(const char *name, uint32_t *num)
{
	const char *p = name;
	uint32_t d, part = 0;

	if (isdigit((unsigned char)*p)) {
		/* the xenstore number itself: hex, decimal or octal */
		unsigned long long v;
		char *end;

		errno = 0;
		v = strtoull(p, &end, 0);
		if (errno || *end || !v || v >= (2ull << 28))
			return -EINVAL;
		*num = (uint32_t)v;
		return 0;
	}
	if (p[0] == 'd' && isdigit((unsigned char)p[1])) {
		/* dN or dNpM */
		char disk[12];
		const char *pp = strchr(p, 'p');
		size_t l = pp ? (size_t)(pp - p - 1) : strlen(p + 1);

		if (l >= sizeof(disk))
			return -EINVAL;
		memcpy(disk, p + 1, l);
		disk[l] = 0;
		if (number(disk, (1u << 20) - 1, &d) ||
		    (pp && number(pp + 1, 255, &part)))
			return -EINVAL;
		return xvd_encode(d, part, num);
	}
	if (!strncmp(p, "xvd", 3)) {
		p += 3;
		if (letters_index(&p, &d))
			return -EINVAL;
		if (*p && number(p, 255, &part))
			return -EINVAL;
		/* xvda16: the 202<<8 form has 4 partition bits */
		if (d < 16 && part > 15)
			return -EINVAL;
		return xvd_encode(d, part, num);
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
		p += 2;
		if (letters_index(&p, &d) || d >= 4)
			return -EINVAL;
		if (*p && number(p, 63, &part))
			return -EINVAL;
		*num = d < 2 ? (3u << 8) | (d << 6) | part :
			       (22u << 8) | ((d - 2) << 6) | part;
		return 0;
	}
	return -EINVAL;
}

/* ---- parameters ---- */

static int set_str(struct disk_parse *dp, char *dst, size_t size,
		   const char *v, const char *what)
{
	if (strlen(v) >= size)
		return derr(dp, "%s longer than %zu characters", what, size - 1);
	for (const char *c = v; *c; c++)
		if ((unsigned char)*c < ' ' || *c == 0x7f)
			return derr(dp, "control character in %s", what);
	strcpy(dst, v);
	return 0;
}

static int set_format(struct disk_parse *dp, const char *v)
{
	static const char *const formats[] = { "raw", "qcow", "qcow2", "vhd",
					       "qed" };

	if (dp->has_format)
		return derr(dp, "format respecified at '%s'", v);
	dp->has_format = true;
	if (!*v)
		return 0;	/* empty: the default, raw */
	for (unsigned int i = 0; i < sizeof(formats) / sizeof(*formats); i++)
		if (!strcmp(v, formats[i])) {
			strcpy(dp->d->format, v);
			return 0;
		}
	return derr(dp, "unknown format '%s' (raw, qcow, qcow2, vhd, qed)", v);
}

static int set_access(struct disk_parse *dp, const char *v)
{
	if (dp->has_access)
		return derr(dp, "access respecified at '%s'", v);
	dp->has_access = true;
	if (!strcmp(v, "r") || !strcmp(v, "ro"))
		dp->d->readonly = true;
	else if (!strcmp(v, "w") || !strcmp(v, "rw") || !*v)
		dp->d->readonly = false;
	else
		return derr(dp, "unknown access '%s' (r, ro, w or rw)", v);
	return 0;
}

static int set_devtype(struct disk_parse *dp, const char *v)
{
	if (dp->has_devtype)
		return derr(dp, "devtype respecified at '%s'", v);
	dp->has_devtype = true;
	if (!strcmp(v, "cdrom"))
		dp->d->cdrom = true;
	else if (strcmp(v, "disk"))
		return derr(dp, "unknown devtype '%s' (cdrom)", v);
	return 0;
}

/* A vdev, with xend's "ioemu:" prefix and ":cdrom" / ":disk" suffix. */
static int set_vdev(struct disk_parse *dp, const char *v)
{
	char name[32];
	char *colon;

	if (dp->has_vdev)
		return derr(dp, "vdev respecified at '%s'", v);
	dp->has_vdev = true;
	if (!strncmp(v, "ioemu:", 6))
		v += 6;
	if (strlen(v) >= sizeof(name))
		return derr(dp, "vdev '%s' too long", v);
	strcpy(name, v);
	colon = strchr(name, ':');
	if (colon) {
		if (!strcmp(colon + 1, "cdrom"))
			dp->d->cdrom = true;
		else if (strcmp(colon + 1, "disk"))
			return derr(dp, "unknown device type '%s' after the vdev (cdrom)",
				    colon + 1);
		*colon = 0;
	}
	if (!*name)
		return derr(dp, "empty vdev");
	if (xlcfg_vdev_parse(name, &dp->d->vdev_num))
		return derr(dp, "bad vdev '%s' (xvda, xvdb1, sda, hdc, d0p1, 51712; see xen-vbd-interface(7))",
			    name);
	strcpy(dp->d->vdev, name);
	return 0;
}

static int set_script(struct disk_parse *dp, const char *v)
{
	if (dp->has_script)
		return derr(dp, "script respecified at '%s'", v);
	dp->has_script = true;
	if (!strcmp(v, ".") || !strcmp(v, ".."))
		return derr(dp, "bad script '%s'", v);
	return set_str(dp, dp->d->script, sizeof(dp->d->script), v, "script");
}

static int set_target(struct disk_parse *dp, const char *v)
{
	if (dp->has_target && !dp->target_empty)
		return derr(dp, "target respecified at '%s'", v);
	dp->has_target = true;
	dp->target_empty = false;
	return set_str(dp, dp->d->target, sizeof(dp->d->target), v, "target");
}

/*
 * The positional target, with the deprecated prefixes stripped: formats
 * (raw: qcow: qcow2: vhd:), scripts (iscsi: nbd: enbd: drbd: ->
 * block-NAME) and prefixes xl ignores (tap: tap2: tapdisk: aio: ioemu:
 * file: phy:). An unknown "word:/..." is an error, as in xl; "host:1234"
 * is a target. After a prefix the format counts as given (xend's
 * "[format:]target,vdev,access" form).
 */
static int set_positional_target(struct disk_parse *dp, const char *v)
{
	static const char *const ignored[] = { "tap", "tap2", "tapdisk", "aio",
					       "ioemu", "file", "phy" };
	static const char *const formats[] = { "raw", "qcow", "qcow2", "vhd" };
	static const char *const scripts[] = { "iscsi", "nbd", "enbd", "drbd" };
	bool prefixed = false, fmt_done = dp->has_format;
	int rc;

	for (;;) {
		size_t n = 0;
		bool known = false;
		char word[16];

		while (n < sizeof(word) - 1 &&
		       ((v[n] >= 'a' && v[n] <= 'z') || isdigit((unsigned char)v[n])))
			n++;
		if (!n || v[n] != ':')
			break;
		memcpy(word, v, n);
		word[n] = 0;
		for (unsigned int i = 0; i < sizeof(ignored) / sizeof(*ignored); i++)
			known |= !strcmp(word, ignored[i]);
		for (unsigned int i = 0; !known && i < 4; i++) {
			if (!strcmp(word, formats[i])) {
				if (fmt_done)
					return derr(dp, "format respecified by the prefix '%s:'",
						    word);
				fmt_done = true;
				strcpy(dp->d->format, word);
				known = true;
			} else if (!strcmp(word, scripts[i])) {
				char s[32];

				snprintf(s, sizeof(s), "block-%s", word);
				rc = set_script(dp, s);
				if (rc)
					return rc;
				known = true;
			}
		}
		if (!known) {
			if (v[n + 1] == '/')
				return derr(dp, "unknown deprecated disk prefix '%s:'",
					    word);
			break;
		}
		v += n + 1;
		prefixed = true;
	}
	if (prefixed)
		dp->has_format = true;
	dp->has_target = true;
	dp->target_empty = !*v;
	return set_str(dp, dp->d->target, sizeof(dp->d->target), v, "target");
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

static int set_key(struct disk_parse *dp, const char *k, const char *v)
{
	struct xlcfg_disk *d = dp->d;
	uint32_t n;

	if (!strcmp(k, "format"))
		return set_format(dp, v);
	if (!strcmp(k, "vdev"))
		return set_vdev(dp, v);
	if (!strcmp(k, "access"))
		return set_access(dp, v);
	if (!strcmp(k, "devtype"))
		return set_devtype(dp, v);
	if (!strcmp(k, "script"))
		return set_script(dp, v);
	if (!strcmp(k, "backendtype")) {
		if (dp->has_backendtype)
			return derr(dp, "backendtype respecified at '%s'", v);
		dp->has_backendtype = true;
		if (strcmp(v, "phy") && strcmp(v, "qdisk") && strcmp(v, "tap") &&
		    strcmp(v, "standalone") && *v)
			return derr(dp, "unknown backendtype '%s' (phy, qdisk, tap, standalone; pvio's I/O engine is pvio-engine=)",
				    v);
		strcpy(d->backendtype, v);
		return 0;
	}
	if (!strcmp(k, "backend")) {
		if (dp->has_backend)
			return derr(dp, "backend respecified at '%s'", v);
		dp->has_backend = true;
		return set_str(dp, d->backend, sizeof(d->backend), v, "backend");
	}
	if (!strcmp(k, "specification")) {
		if (dp->has_spec)
			return derr(dp, "specification respecified at '%s'", v);
		dp->has_spec = true;
		if (strcmp(v, "xen") && strcmp(v, "virtio"))
			return derr(dp, "unknown specification '%s' (xen, virtio)",
				    v);
		strcpy(d->specification, v);
		return 0;
	}
	if (!strcmp(k, "colo-port")) {
		if (number(v, 65535, &n))
			return derr(dp, "bad colo-port '%s'", v);
		d->colo = true;
		return 0;
	}
	if (!strcmp(k, "colo-host") || !strcmp(k, "colo-export") ||
	    !strcmp(k, "active-disk") || !strcmp(k, "hidden-disk")) {
		d->colo = true;
		return 0;
	}
	/* pvio's own: the backend's I/O engine and logical sector size */
	if (!strcmp(k, "pvio-engine") || !strcmp(k, "engine")) {
		if (set_engine(d, v))
			return derr(dp, "bad %s '%s' (uring or aio)", k, v);
		return 0;
	}
	if (!strcmp(k, "pvio-sector-size") || !strcmp(k, "sector-size")) {
		if (number(v, 4096, &n) || (n != 512 && n != 4096))
			return derr(dp, "bad %s '%s' (512 or 4096)", k, v);
		d->sector_size = n;
		return 0;
	}
	return derr(dp, "unknown parameter '%s'", k);
}

static int set_flag(struct disk_parse *dp, const char *f, bool *is_flag)
{
	struct xlcfg_disk *d = dp->d;

	*is_flag = true;
	if (!strcmp(f, "cdrom"))
		d->cdrom = true;
	else if (!strcmp(f, "discard"))
		d->discard = 1;
	else if (!strcmp(f, "no-discard"))
		d->discard = 0;
	else if (!strcmp(f, "direct-io-safe"))
		d->direct_io_safe = true;
	else if (!strcmp(f, "trusted"))
		d->trusted = 1;
	else if (!strcmp(f, "untrusted"))
		d->trusted = 0;
	else if (!strcmp(f, "colo"))
		d->colo = true;
	else
		*is_flag = false;
	return 0;
}

static bool has_devtype_suffix(const char *v)
{
	size_t l = strlen(v);

	return (l > 6 && !strcmp(v + l - 6, ":cdrom")) ||
	       (l > 5 && !strcmp(v + l - 5, ":disk"));
}

static int positional(struct disk_parse *dp, const char *v)
{
	if (!dp->has_target)
		return set_positional_target(dp, v);
	/* xend's ",hdc:cdrom,r": a vdev with its type, no format */
	if (!dp->has_format && has_devtype_suffix(v))
		dp->has_format = true;
	if (!dp->has_format)
		return set_format(dp, v);
	if (!dp->has_vdev)
		return *v ? set_vdev(dp, v) : (dp->has_vdev = true, 0);
	if (!dp->has_access)
		return set_access(dp, v);
	return derr(dp, "too many positional parameters at '%s'", v);
}

int xlcfg_disk_parse(const char *spec, struct xlcfg_disk *d, char *err,
		     size_t errlen)
{
	struct disk_parse dp = { .d = d, .spec = spec ? spec : "",
				 .err = err, .errlen = errlen };
	char *copy, *p;
	int rc = 0;

	memset(d, 0, sizeof(*d));
	d->discard = -1;
	d->trusted = -1;
	strcpy(d->format, "raw");
	if (!spec || !*spec)
		return derr(&dp, "empty");
	if (strlen(spec) > DISK_SPEC_MAX)
		return derr(&dp, "longer than %d characters", DISK_SPEC_MAX);
	copy = strdup(spec);
	if (!copy)
		return -ENOMEM;
	p = copy;
	while (p && !rc) {
		char *tok = p, *eq;
		bool flag;

		/* whitespace before a parameter is ignored */
		while (*tok == ' ' || *tok == '\t')
			tok++;
		/* target= swallows the rest, commas included */
		if (!strncmp(tok, "target=", 7)) {
			rc = set_target(&dp, tok + 7);
			break;
		}
		p = strchr(p, ',');
		if (p)
			*p++ = 0;
		/* a trailing comma ends the spec */
		if (!p && !*tok && tok != copy)
			break;
		eq = strchr(tok, '=');
		if (eq) {
			*eq = 0;
			rc = set_key(&dp, tok, eq + 1);
			continue;
		}
		rc = set_flag(&dp, tok, &flag);
		if (!rc && !flag)
			rc = positional(&dp, tok);
	}
	free(copy);
	if (rc)
		return rc;
	if (!d->vdev[0])
		return derr(&dp, "no vdev specified (it is mandatory)");
	if (d->cdrom) {
		/* a cdrom is read-only, whatever access says */
		d->readonly = true;
		if (!d->target[0])
			strcpy(d->format, "empty");
	} else if (!d->target[0]) {
		return derr(&dp, "no target (only a cdrom may be empty)");
	}
	return 0;
}

int xlcfg_disk_check(const struct xlcfg_disk *d, char *err, size_t errlen)
{
	const char *why = NULL;
	char buf[160];

	if (d->backend[0] && strcmp(d->backend, "0") &&
	    strcmp(d->backend, "Domain-0")) {
		snprintf(buf, sizeof(buf),
			 "backend=%s: driver domains are not supported, only dom0 serves disks",
			 d->backend);
		why = buf;
	} else if (!strcmp(d->format, "empty")) {
		why = "an empty cdrom drive is not supported";
	} else if (strcmp(d->format, "raw")) {
		snprintf(buf, sizeof(buf),
			 "format %s is not supported (pvio-blkback serves raw images and devices)",
			 d->format);
		why = buf;
	} else if (!strcmp(d->specification, "virtio")) {
		why = "specification=virtio is not supported (pvio serves the Xen block protocol)";
	} else if (!strcmp(d->backendtype, "standalone")) {
		why = "backendtype=standalone is not supported (it needs specification=virtio)";
	} else if (d->colo) {
		why = "COLO disk replication is not supported";
	}
	if (!why)
		return 0;
	snprintf(err, errlen, "disk %s: %s", d->vdev, why);
	return -EOPNOTSUPP;
}
