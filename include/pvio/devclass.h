/* SPDX-License-Identifier: MIT */
/*
 * The toolstack's device classes ("disk", "vif"), registered by tools/ and
 * looked up by name, so that other parts of the `pvio` program (perf/'s
 * built-in benchmarks) attach devices exactly as `pvio create` does.
 */
#ifndef PVIO_DEVCLASS_H
#define PVIO_DEVCLASS_H

#include <stddef.h>
#include <stdint.h>

struct json_t;		/* jansson's */

/*
 * Device classes: `pvio create` hands every entry of a config list key
 * ("disk", "vif") to the class that registered that key.
 */
struct pvio_devclass {
	const char *cfg_key;
	/* Attach one spec to @domid. 0 or -errno; prints its own error. */
	int (*attach)(const char *rundir, uint16_t domid, const char *spec);
	/* Remove every device of this class of @domid (domain teardown). */
	int (*detach_all)(const char *rundir, uint16_t domid);
	/*
	 * Parse one spec for `pvio create -n`: 0 with *@out its fields as
	 * JSON; -EINVAL (message in @err) for a spec xl refuses; -EOPNOTSUPP
	 * with *@out (its "refused" member says why, as @err) for one pvio
	 * cannot serve. Optional.
	 */
	int (*describe)(const char *spec, struct json_t **out, char *err,
			size_t errlen);
	struct pvio_devclass *next;
};

void pvio_devclass_register(struct pvio_devclass *dc);
struct pvio_devclass *pvio_devclass_find(const char *cfg_key);
struct pvio_devclass *pvio_devclass_first(void);

#define PVIO_DEVCLASS(var)						\
	static void __attribute__((constructor)) var##_register(void)	\
	{								\
		pvio_devclass_register(&var);				\
	}

#endif /* PVIO_DEVCLASS_H */
