/*
 * The pvio toolstack CLI: verbs and device classes register themselves
 * (one builtin_<verb>.c per verb, kvmtool style) so that each component adds
 * its verbs without touching a shared table.
 */
#ifndef PVIO_TOOLS_CMD_H
#define PVIO_TOOLS_CMD_H

#include <getopt.h>
#include <stdint.h>
#include <jansson.h>

#include "pvio/devclass.h"

struct pvio_cmd {
	const char *name;	/* "list", "block-attach", "store" ... */
	const char *usage;	/* arguments, for the usage line */
	const char *help;	/* one line */
	const char *options;	/* option lines for `pvio help VERB`, or NULL */
	/* argv[0] is the verb. Returns the exit status (2 for bad usage). */
	int (*run)(int argc, char **argv);
	struct pvio_cmd *next;
};

void pvio_cmd_register(struct pvio_cmd *cmd);
/* Print "usage: pvio VERB USAGE" to stderr; returns 2. */
int pvio_cmd_usage(const struct pvio_cmd *cmd);
/* Print the verb's usage, help line and options to stdout; returns 0. */
int pvio_cmd_help(const struct pvio_cmd *cmd);
/*
 * For a verb without options of its own: getopt_long (--help, and a bad
 * option is an error), then *@argv is shifted so that (*argv)[1] is the
 * first operand. -1 to go on, else the exit code to return.
 */
int pvio_args_plain(const struct pvio_cmd *cmd, int *argc, char ***argv);
/* Run verb @name with @argv (argv[0] the verb): its exit status. */
int pvio_cmd_run(const char *name, int argc, char **argv);
/*
 * getopt_long for a verb: the verb's @opts plus --help/-h, which prints
 * its help. Returns the option, -1 at the end; on a bad option it has
 * printed the usage and *@exit_code is 2; after --help it is 0 (return -2
 * in both cases: the caller returns *@exit_code).
 */
int pvio_getopt(const struct pvio_cmd *cmd, int argc, char **argv,
		const char *shortopts, const struct option *opts,
		int *exit_code);

#define PVIO_CMD(var)							\
	static void __attribute__((constructor)) var##_register(void)	\
	{								\
		pvio_cmd_register(&var);				\
	}

/* --rundir from the command line, or NULL (libpvio's default applies). */
extern const char *pvio_opt_rundir;

#endif /* PVIO_TOOLS_CMD_H */
