/*
 * xl vif spec parser: turns "mac=...,bridge=...,rate=..." into a checked
 * struct netspec, refusing anything malformed before the store is touched.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pvio/vif.h"

static int spec_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int spec_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

int netspec_parse_mac(const char *s, uint8_t mac[6])
{
	unsigned int i;

	for (i = 0; i < 6; i++) {
		if (!isxdigit((unsigned char)s[0]) || !isxdigit((unsigned char)s[1]))
			return -EINVAL;
		char hex[3] = { s[0], s[1], 0 };
		mac[i] = (uint8_t)strtoul(hex, NULL, 16);
		s += 2;
		if (i < 5) {
			if (*s != ':' && *s != '-')
				return -EINVAL;
			s++;
		}
	}
	if (*s)
		return -EINVAL;
	/* a vif address must be unicast: the multicast bit is set in byte 0 */
	if (mac[0] & 1)
		return -EINVAL;
	return 0;
}

void netspec_format_mac(const uint8_t mac[6], char out[18])
{
	snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x",
		 mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
}

void netspec_default_mac(uint16_t domid, uint32_t devid, uint8_t mac[6])
{
	/* FNV-1a over (domid, devid): stable across runs, spread over 23 bits */
	uint32_t h = 2166136261u;
	uint8_t in[6] = { (uint8_t)domid, (uint8_t)(domid >> 8),
			  (uint8_t)devid, (uint8_t)(devid >> 8),
			  (uint8_t)(devid >> 16), (uint8_t)(devid >> 24) };

	for (unsigned int i = 0; i < sizeof(in); i++) {
		h ^= in[i];
		h *= 16777619u;
	}
	mac[0] = 0x00;
	mac[1] = 0x16;
	mac[2] = 0x3e;
	/* xl keeps the top bit of the fourth byte clear in the Xen OUI range */
	mac[3] = (uint8_t)(h >> 16) & 0x7f;
	mac[4] = (uint8_t)(h >> 8);
	mac[5] = (uint8_t)h;
}

int netspec_parse_rate(const char *s, uint64_t *bytes, uint32_t *usec)
{
	char *end;
	unsigned long long v;
	uint64_t mult;
	bool bits;
	uint64_t us = NETSPEC_DEFAULT_RATE_US;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || v == 0)
		return -EINVAL;
	s = end;
	mult = 1;
	switch (*s) {
	case 'G': mult = 1000000000ull; s++; break;
	case 'M': mult = 1000000ull; s++; break;
	case 'K': case 'k': mult = 1000ull; s++; break;
	default: break;
	}
	if (*s == 'B')
		bits = false;
	else if (*s == 'b')
		bits = true;
	else
		return -EINVAL;
	s++;
	if (strncmp(s, "/s", 2))
		return -EINVAL;
	s += 2;
	if (*s == '@') {
		unsigned long long iv;

		s++;
		if (!isdigit((unsigned char)*s))
			return -EINVAL;
		errno = 0;
		iv = strtoull(s, &end, 10);
		if (errno || iv == 0)
			return -EINVAL;
		if (!strcmp(end, "s"))
			iv *= 1000000ull;
		else if (!strcmp(end, "ms"))
			iv *= 1000ull;
		else if (strcmp(end, "us"))
			return -EINVAL;
		if (iv > 60ull * 1000000ull)	/* a minute is plenty */
			return -EINVAL;
		us = (uint64_t)iv;
		s = end + strlen(end);
	}
	if (*s)
		return -EINVAL;
	if (v > UINT64_MAX / mult)
		return -EINVAL;
	v *= mult;
	if (bits)
		v /= 8;
	/* under a byte per second would read as 0, i.e. no limit at all */
	if (v == 0)
		return -EINVAL;
	/* bytes per second -> bytes per interval, rounding up so it is never 0 */
	if (v > UINT64_MAX / us)
		return -EINVAL;
	*bytes = (v * us + 999999) / 1000000;
	*usec = (uint32_t)us;
	return 0;
}

static bool ifname_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= NETSPEC_IFNAMSIZ)
		return false;
	for (const char *p = s; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("._-", *p))
			return false;
	return true;
}

/* Values go into store keys and a script's arguments: printable, no commas. */
static bool value_ok(const char *s)
{
	for (const char *p = s; *p; p++)
		if (!isprint((unsigned char)*p))
			return false;
	return true;
}

static int copy_value(char *dst, size_t size, const char *val, const char *key,
		      char *err, size_t errlen)
{
	if (strlen(val) >= size)
		return spec_err(err, errlen, "vif spec: %s= is too long (max %zu)",
				key, size - 1);
	if (!value_ok(val))
		return spec_err(err, errlen, "vif spec: %s= has unprintable characters",
				key);
	strcpy(dst, val);
	return 0;
}

static int parse_item(struct netspec *ns, char *item, char *err, size_t errlen)
{
	char *val = strchr(item, '=');
	const char *key = item;
	char *end;
	long l;

	/* the two flags of xl-network-configuration(5) */
	if (!strcmp(item, "trusted") || !strcmp(item, "untrusted")) {
		ns->trusted = item[0] == 't';
		return 0;
	}
	if (!val)
		return spec_err(err, errlen,
				"vif spec: '%s' is not KEY=VALUE (keys: mac, bridge, ip, rate, mtu, vifname, script, model, type, devid)",
				item);
	*val++ = 0;
	if (!strcmp(key, "mac")) {
		if (netspec_parse_mac(val, ns->mac))
			return spec_err(err, errlen,
					"vif spec: bad mac '%s' (want a unicast aa:bb:cc:dd:ee:ff)",
					val);
		ns->mac_set = true;
	} else if (!strcmp(key, "bridge")) {
		if (!ifname_ok(val))
			return spec_err(err, errlen,
					"vif spec: bad bridge name '%s' (1-15 of A-Za-z0-9._-)",
					val);
		strcpy(ns->bridge, val);
	} else if (!strcmp(key, "vifname")) {
		if (!ifname_ok(val))
			return spec_err(err, errlen,
					"vif spec: bad vifname '%s' (1-15 of A-Za-z0-9._-)",
					val);
		strcpy(ns->vifname, val);
	} else if (!strcmp(key, "ip")) {
		return copy_value(ns->ip, sizeof(ns->ip), val, key, err, errlen);
	} else if (!strcmp(key, "script")) {
		if (!*val)
			return spec_err(err, errlen, "vif spec: empty script=");
		return copy_value(ns->script, sizeof(ns->script), val, key, err,
				  errlen);
	} else if (!strcmp(key, "model")) {
		return copy_value(ns->model, sizeof(ns->model), val, key, err,
				  errlen);
	} else if (!strcmp(key, "type")) {
		if (strcmp(val, "vif") && strcmp(val, "ioemu"))
			return spec_err(err, errlen,
					"vif spec: type=%s unknown (vif or ioemu)", val);
		strcpy(ns->type, val);
	} else if (!strcmp(key, "mtu")) {
		errno = 0;
		l = strtol(val, &end, 10);
		if (errno || *end || end == val || l < 68 || l > 9000)
			return spec_err(err, errlen,
					"vif spec: mtu=%s out of range 68..9000", val);
		ns->mtu = (unsigned int)l;
	} else if (!strcmp(key, "devid")) {
		errno = 0;
		l = strtol(val, &end, 10);
		if (errno || *end || end == val || l < 0 || l > 65535)
			return spec_err(err, errlen,
					"vif spec: devid=%s out of range 0..65535", val);
		ns->devid = (int)l;
	} else if (!strcmp(key, "rate")) {
		if (netspec_parse_rate(val, &ns->rate_bytes, &ns->rate_usec) ||
		    strlen(val) >= sizeof(ns->rate))
			return spec_err(err, errlen,
					"vif spec: bad rate '%s' (e.g. 10Mb/s@50ms; units B KB MB GB b Kb Mb Gb, interval s ms us)",
					val);
		strcpy(ns->rate, val);
	} else if (!strcmp(key, "backend")) {
		if (!*val)
			return spec_err(err, errlen, "vif spec: empty backend=");
		return copy_value(ns->backend, sizeof(ns->backend), val, key,
				  err, errlen);
	} else if (!strcmp(key, "gatewaydev") || !strcmp(key, "netdev")) {
		/* netdev is xl's deprecated alias */
		if (!ifname_ok(val))
			return spec_err(err, errlen,
					"vif spec: bad %s '%s' (1-15 of A-Za-z0-9._-)",
					key, val);
		strcpy(ns->gatewaydev, val);
	} else if (!strcmp(key, "accel")) {
		/* xl: "the accel parameter for vifs is currently not supported" */
		return 0;
	} else {
		return spec_err(err, errlen,
				"vif spec: unknown key '%s' (keys: mac, bridge, ip, rate, mtu, vifname, script, model, type, devid, backend, gatewaydev; flags trusted, untrusted)",
				key);
	}
	return 0;
}

int netspec_parse(const char *spec, struct netspec *ns, char *err, size_t errlen)
{
	char *copy, *item, *save = NULL;
	int ret = 0;

	memset(ns, 0, sizeof(*ns));
	ns->devid = -1;
	ns->trusted = -1;
	strcpy(ns->bridge, NETSPEC_DEFAULT_BRIDGE);
	strcpy(ns->script, NETSPEC_DEFAULT_SCRIPT);
	strcpy(ns->type, "vif");
	if (err && errlen)
		err[0] = 0;
	if (!spec)
		return spec_err(err, errlen, "vif spec: missing");
	if (strlen(spec) > 4096)
		return spec_err(err, errlen, "vif spec: longer than 4096 bytes");
	copy = strdup(spec);
	if (!copy)
		return -ENOMEM;
	for (item = strtok_r(copy, ",", &save); item;
	     item = strtok_r(NULL, ",", &save)) {
		/* xl tolerates blanks around items */
		while (isspace((unsigned char)*item))
			item++;
		size_t n = strlen(item);
		while (n && isspace((unsigned char)item[n - 1]))
			item[--n] = 0;
		if (!*item)
			continue;
		ret = parse_item(ns, item, err, errlen);
		if (ret)
			break;
	}
	free(copy);
	return ret;
}

int netspec_check(const struct netspec *ns, char *err, size_t errlen)
{
	if (!ns->backend[0] || !strcmp(ns->backend, "0") ||
	    !strcmp(ns->backend, "Domain-0"))
		return 0;
	snprintf(err, errlen,
		 "vif: backend=%s: driver domains are not supported, only dom0 serves vifs",
		 ns->backend);
	return -EOPNOTSUPP;
}
