// SPDX-License-Identifier: MIT
/*
 * Extra device-model arguments of a VM (pvio_domain_config.dm_args, xl's
 * device_model_args): the one check both pvio-hv (which enforces it) and
 * the toolstack (which names the offending item) use.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "pvio/libpvio.h"

static const char *const dm_options[] = {
	"-device", "-drive", "-netdev", "-blockdev", "-object",
};

static bool dm_option_ok(const char *w, size_t len)
{
	for (size_t i = 0; i < sizeof(dm_options) / sizeof(dm_options[0]); i++)
		if (strlen(dm_options[i]) == len && !memcmp(w, dm_options[i], len))
			return true;
	return false;
}

/*
 * A value: printable, not an option, no reference to hv's own pieces. The
 * value of -object may only make an iothread (the one object a device's
 * iothread= needs; other object types reach host files or memory).
 */
static bool dm_value_ok(const char *opt, const char *w, size_t len)
{
	char v[512];

	if (!strncmp(opt, "-object\n", 8) &&
	    (len < 9 || memcmp(w, "iothread,", 9)))
		return false;
	if (!len || len >= sizeof(v) || w[0] == '-')
		return false;
	for (size_t i = 0; i < len; i++)
		if (w[i] < ' ' || w[i] > '~')
			return false;
	memcpy(v, w, len);
	v[len] = 0;
	return !strstr(v, "chardev") && !strstr(v, "ivshmem");
}

int pvio_dm_args_check(const char *args, size_t max, unsigned int *bad)
{
	const char *end = memchr(args, 0, max);
	const char *p = args, *opt = args;
	unsigned int n = 0;

	if (bad)
		*bad = 0;
	if (!end)
		return -EINVAL;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);

		if (bad)
			*bad = n;
		if (++n > PVIO_DM_ARGS_MAX)
			return -EINVAL;
		if (n % 2 ? !dm_option_ok(p, len) : !dm_value_ok(opt, p, len))
			return -EINVAL;
		opt = p;
		p += len + (nl ? 1 : 0);
		if (nl && p == end) {
			if (bad)
				*bad = n;
			return -EINVAL;	/* a trailing separator: an empty word */
		}
	}
	if (bad)
		*bad = n;
	return n % 2 ? -EINVAL : 0;	/* an option without its value */
}
