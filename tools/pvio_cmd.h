/*
 * The pvio toolstack CLI: verbs and device classes register themselves
 * (one builtin_<verb>.c per verb, kvmtool style) so that each component adds
 * its verbs without touching a shared table.
 */
#ifndef PVIO_TOOLS_CMD_H
#define PVIO_TOOLS_CMD_H

#include <stdint.h>

#include "pvio/devclass.h"

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

/* --rundir from the command line, or NULL (libpvio's default applies). */
extern const char *pvio_opt_rundir;

#endif /* PVIO_TOOLS_CMD_H */
