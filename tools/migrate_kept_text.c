// SPDX-License-Identifier: MIT
/*
 * The text a migration carries for the connections it keeps (format in
 * migrate_kept.c), checked on the destination before anything of it is
 * used: it comes from another host. No store, no hv here: unit-tested
 * and fuzzed (tests/unit/test_mig_kept.c).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "pvio/event_channel.h"
#include "migrate.h"

const char *const mig_dev_types[2] = { "vbd", "vif" };

/* "vbd/51712" and the like: a type we serve, a number; else false. */
bool mig_fe_name_ok(const char *s, size_t n)
{
	size_t i;

	for (unsigned int t = 0; t < 2; t++) {
		size_t l = strlen(mig_dev_types[t]);

		if (n > l + 1 && n <= l + 11 && !strncmp(s, mig_dev_types[t], l) &&
		    s[l] == '/') {
			for (i = l + 1; i < n; i++)
				if (s[i] < '0' || s[i] > '9')
					return false;
			return true;
		}
	}
	return false;
}

static const char *const kept_skip[] = { "state", "backend", "backend-id",
					 NULL };

bool mig_kept_key_skipped(const char *k, size_t n)
{
	for (unsigned int i = 0; kept_skip[i]; i++)
		if (strlen(kept_skip[i]) == n && !strncmp(k, kept_skip[i], n))
			return true;
	return false;
}

bool mig_kept_name_ok(const char *s, size_t n)
{
	if (!n || n > MIG_KEPT_KEY_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		      s[i] == '-' || s[i] == '_'))
			return false;
	return true;
}

bool mig_kept_value_ok(const char *v, size_t n)
{
	if (n > MIG_KEPT_VAL_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (v[i] < 0x20 || v[i] > 0x7e)
			return false;
	return true;
}

static int parse_ull(const char *s, size_t n, unsigned long long max,
		     unsigned long long *v)
{
	unsigned long long x = 0;

	if (!n || n > 20)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		if (x > (max - (unsigned long long)(s[i] - '0')) / 10)
			return -EINVAL;
		x = x * 10 + (unsigned long long)(s[i] - '0');
	}
	*v = x;
	return 0;
}

int mig_kept_key_line(const char *l, size_t n, size_t *rel_len,
		      const char **val, size_t *val_len)
{
	const char *eq = memchr(l, '=', n);
	const char *slash;
	size_t r;

	if (!eq)
		return -EINVAL;
	r = (size_t)(eq - l);
	slash = memchr(l, '/', r);
	if (slash) {
		size_t d = (size_t)(slash - l);

		/* queue-N/key, nothing deeper */
		if (!mig_kept_name_ok(l, d) || d < 7 || strncmp(l, "queue-", 6) ||
		    strspn(l + 6, "0123456789") != d - 6 ||
		    !mig_kept_name_ok(slash + 1, r - d - 1))
			return -EINVAL;
	} else if (!mig_kept_name_ok(l, r) || mig_kept_key_skipped(l, r)) {
		return -EINVAL;
	}
	*rel_len = r;
	*val = eq + 1;
	*val_len = n - r - 1;
	return mig_kept_value_ok(*val, *val_len) ? 0 : -EINVAL;
}

/* An event-channel key (event-channel, -tx, -rx) names a port to import. */
static bool is_port_key(const char *rel, size_t n)
{
	const char *slash = memchr(rel, '/', n);
	const char *k = slash ? slash + 1 : rel;
	size_t kn = n - (size_t)(k - rel);

	return kn >= 13 && !strncmp(k, "event-channel", 13);
}

/* The next space-separated word of [*p, e) (its length in *w), or NULL. */
static const char *next_word(const char **p, const char *e, size_t *w)
{
	const char *s = *p;

	while (s < e && *s == ' ')
		s++;
	*w = 0;
	while (s + *w < e && s[*w] != ' ')
		(*w)++;
	*p = s + *w;
	return *w ? s : NULL;
}

static bool port_listed(const struct mig_kept *k, unsigned long long port)
{
	for (unsigned int i = 0; i < k->nports; i++)
		if (k->ports[i] == port)
			return true;
	return false;
}

/* A list of port numbers ("P P ..."): each 1..4095, none twice. */
static int parse_ports(const char *p, const char *e, struct mig_kept *k)
{
	const char *s;
	size_t w;

	while ((s = next_word(&p, e, &w))) {
		unsigned long long v;

		if (k->nports == MIG_KEPT_MAX_PORTS ||
		    parse_ull(s, w, PVIO_EVTCHN_MAX_PORTS - 1, &v) || !v)
			return -EPROTO;
		if (port_listed(k, v))
			return -EPROTO;
		k->ports[k->nports++] = (uint32_t)v;
	}
	return 0;
}

int mig_kept_parse(const char *blob, size_t len, struct mig_kept *k)
{
	const char *l = blob, *end = blob + len;
	uint64_t named[PVIO_EVTCHN_MAX_PORTS / 64] = { 0 };
	unsigned int nkeys = 0;
	bool gnt = false, ports = false;

	memset(k, 0, sizeof(*k));
	if (len > MIG_KEPT_MAX)
		return -EPROTO;
	while (l < end) {
		const char *nl = memchr(l, '\n', (size_t)(end - l));
		size_t n = nl ? (size_t)(nl - l) : (size_t)(end - l);

		if (n == 4 && !strncmp(l, "live", 4)) {
			/* once, before anything else */
			if (l != blob)
				return -EPROTO;
			k->live = true;
		} else if (n >= 3 && !strncmp(l, "gnt", 3) &&
			   (n == 3 || l[3] == ' ')) {
			const char *p = l + 3, *e = l + n, *word;
			size_t w;

			/* once, first (after "live") */
			if (gnt || k->ndevs || ports)
				return -EPROTO;
			gnt = true;
			while ((word = next_word(&p, e, &w))) {
				unsigned long long v;

				if (k->nframes == PVIO_GNTTAB_MAX_FRAMES ||
				    parse_ull(word, w, UINT64_MAX, &v))
					return -EPROTO;
				k->gfn[k->nframes++] = v;
			}
		} else if (n >= 4 && !strncmp(l, "port", 4) &&
			   (n == 4 || l[4] == ' ')) {
			/* live only, once, after gnt and before the devices */
			if (!k->live || !gnt || ports || k->ndevs ||
			    parse_ports(l + 4, l + n, k))
				return -EPROTO;
			ports = true;
		} else if (n > 8 && !strncmp(l, "suspend ", 8)) {
			unsigned long long v;

			/* a port of the list, once */
			if (!ports || k->suspend_port ||
			    parse_ull(l + 8, n - 8, PVIO_EVTCHN_MAX_PORTS - 1,
				      &v) || !port_listed(k, v))
				return -EPROTO;
			k->suspend_port = (uint32_t)v;
		} else if (n > 4 && !strncmp(l, "dev ", 4)) {
			struct mig_kept_dev *d = &k->devs[k->ndevs];

			if (k->live && !ports)
				return -EPROTO;
			if (k->ndevs == MIG_KEPT_MAX_DEVS ||
			    n - 4 >= sizeof(d->name) ||
			    !mig_fe_name_ok(l + 4, n - 4))
				return -EPROTO;
			memcpy(d->name, l + 4, n - 4);
			d->name[n - 4] = 0;
			for (unsigned int i = 0; i < k->ndevs; i++)
				if (!strcmp(k->devs[i].name, d->name))
					return -EPROTO;
			d->keys = (size_t)(l + n - blob) + 1;
			d->keys_end = d->keys;
			if (d->keys > len)
				d->keys = d->keys_end = len;
			k->ndevs++;
			nkeys = 0;
		} else if (n > 4 && !strncmp(l, "key ", 4) && k->ndevs) {
			struct mig_kept_dev *d = &k->devs[k->ndevs - 1];
			unsigned long long port;
			size_t rl, vl;
			const char *v;

			if (++nkeys > MIG_KEPT_MAX_KEYS ||
			    mig_kept_key_line(l + 4, n - 4, &rl, &v, &vl))
				return -EPROTO;
			if (is_port_key(l + 4, rl)) {
				if (parse_ull(v, vl, PVIO_EVTCHN_MAX_PORTS - 1,
					      &port) || !port)
					return -EPROTO;
				/* one key names a port, never two */
				if (named[port / 64] & (1ull << (port % 64)))
					return -EPROTO;
				named[port / 64] |= 1ull << (port % 64);
				if (k->live) {
					/* live: the list names every port */
					if (!port_listed(k, port))
						return -EPROTO;
				} else {
					if (k->nports == MIG_KEPT_MAX_PORTS)
						return -EPROTO;
					k->ports[k->nports++] = (uint32_t)port;
				}
			}
			d->nkeys = nkeys;
			d->keys_end = (size_t)(l + n - blob);
		} else if (n) {
			return -EPROTO;
		}
		l += n + 1;
	}
	/* live: the list of ports is what the guest holds, never absent */
	if (k->live && !ports)
		return -EPROTO;
	return 0;
}
