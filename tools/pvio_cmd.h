/*
 * The pvio toolstack CLI: verbs and device classes register themselves
 * (one builtin_<verb>.c per verb, kvmtool style) so that each component adds
 * its verbs without touching a shared table.
 */
#ifndef PVIO_TOOLS_CMD_H
#define PVIO_TOOLS_CMD_H

#include <stdint.h>

struct pvio_cmd {
	const char *name;	/* "list", "block-attach", "store" ... */
	const char *usage;	/* arguments, for the usage line */
	const char *help;	/* one line */
	/* argv[0] is the verb. Returns the exit status (2 for bad usage). */
	int (*run)(int argc, char **argv);
	struct pvio_cmd *next;
};

void pvio_cmd_register(struct pvio_cmd *cmd);
/* Print "usage: pvio VERB USAGE" to stderr; returns 2. */
int pvio_cmd_usage(const struct pvio_cmd *cmd);

#define PVIO_CMD(var)							\
	static void __attribute__((constructor)) var##_register(void)	\
	{								\
		pvio_cmd_register(&var);				\
	}

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

/* --rundir from the command line, or NULL (libpvio's default applies). */
extern const char *pvio_opt_rundir;

#endif /* PVIO_TOOLS_CMD_H */
