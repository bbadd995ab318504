// SPDX-License-Identifier: MIT
/*
 * pvio: the xl-like toolstack. Global options, then a verb:
 *   pvio [--rundir DIR] VERB [ARGS...]
 *   pvio help [VERB]      VERB --help
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pvio_cmd.h"

const char *pvio_opt_rundir;
static struct pvio_cmd *cmds;
static struct pvio_devclass *devclasses;

void pvio_cmd_register(struct pvio_cmd *cmd)
{
	struct pvio_cmd **p = &cmds;

	/* keep the list sorted so that help is stable */
	while (*p && strcmp((*p)->name, cmd->name) < 0)
		p = &(*p)->next;
	cmd->next = *p;
	*p = cmd;
}

int pvio_cmd_usage(const struct pvio_cmd *cmd)
{
	fprintf(stderr, "usage: pvio %s %s\n", cmd->name, cmd->usage);
	fprintf(stderr, "(pvio help %s for more)\n", cmd->name);
	return 2;
}

int pvio_cmd_help(const struct pvio_cmd *cmd)
{
	printf("usage: pvio %s %s\n\n%s\n", cmd->name, cmd->usage, cmd->help);
	if (cmd->options)
		printf("\noptions:\n%s", cmd->options);
	printf("  -h, --help        this help\n");
	return 0;
}

static struct pvio_cmd *cmd_find(const char *name)
{
	for (struct pvio_cmd *c = cmds; c; c = c->next)
		if (!strcmp(c->name, name))
			return c;
	return NULL;
}

int pvio_cmd_run(const char *name, int argc, char **argv)
{
	struct pvio_cmd *c = cmd_find(name);

	if (!c) {
		fprintf(stderr, "pvio: unknown verb '%s'\n", name);
		return 2;
	}
	optind = 1;
	return c->run(argc, argv);
}

int pvio_getopt(const struct pvio_cmd *cmd, int argc, char **argv,
		const char *shortopts, const struct option *opts,
		int *exit_code)
{
	static struct option all[32];
	static const struct option *built_for;
	static char sopts[64];
	int n = 0, o;

	if (built_for != opts || !all[0].name) {
		for (; opts && opts[n].name && n < 30; n++)
			all[n] = opts[n];
		all[n++] = (struct option){ "help", no_argument, NULL, 'h' };
		all[n] = (struct option){ NULL, 0, NULL, 0 };
		/* '+': options stop at the first non-option (DOM, ARGS) */
		snprintf(sopts, sizeof(sopts), "+%sh", shortopts ? shortopts : "");
		built_for = opts;
	}
	o = getopt_long(argc, argv, sopts, all, NULL);
	if (o == 'h') {
		*exit_code = pvio_cmd_help(cmd);
		return -2;
	}
	if (o == '?' || o == ':') {
		*exit_code = pvio_cmd_usage(cmd);
		return -2;
	}
	return o;
}

int pvio_args_plain(const struct pvio_cmd *cmd, int *argc, char ***argv)
{
	int o, code = 0;

	while ((o = pvio_getopt(cmd, *argc, *argv, "", NULL, &code)) != -1)
		if (o == -2)
			return code;
	*argc -= optind - 1;
	*argv += optind - 1;
	return -1;
}

void pvio_devclass_register(struct pvio_devclass *dc)
{
	dc->next = devclasses;
	devclasses = dc;
}

struct pvio_devclass *pvio_devclass_find(const char *cfg_key)
{
	for (struct pvio_devclass *dc = devclasses; dc; dc = dc->next)
		if (!strcmp(dc->cfg_key, cfg_key))
			return dc;
	return NULL;
}

struct pvio_devclass *pvio_devclass_first(void)
{
	return devclasses;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: pvio [--rundir DIR] VERB [ARGS...]\n"
		   "       pvio help VERB, or pvio VERB --help, for a verb's usage\n\n"
		   "verbs:\n");
	for (struct pvio_cmd *c = cmds; c; c = c->next)
		fprintf(f, "  %-22s %s\n", c->name, c->help);
}

int main(int argc, char **argv)
{
	struct pvio_cmd *c;
	int i = 1;

	while (i < argc && argv[i][0] == '-') {
		if (!strcmp(argv[i], "--rundir") && i + 1 < argc) {
			pvio_opt_rundir = argv[i + 1];
			i += 2;
		} else if (!strncmp(argv[i], "--rundir=", 9)) {
			pvio_opt_rundir = argv[i] + 9;
			i++;
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else {
			fprintf(stderr, "pvio: unknown option %s\n", argv[i]);
			usage(stderr);
			return 2;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[i], "help")) {
		if (i + 1 >= argc) {
			usage(stdout);
			return 0;
		}
		c = cmd_find(argv[i + 1]);
		if (!c) {
			fprintf(stderr, "pvio: unknown verb '%s'\n", argv[i + 1]);
			return 2;
		}
		return pvio_cmd_help(c);
	}
	c = cmd_find(argv[i]);
	if (!c) {
		fprintf(stderr, "pvio: unknown verb '%s'\n", argv[i]);
		usage(stderr);
		return 2;
	}
	/* VERB --help / -h, whatever the verb parses itself */
	if (argc - i >= 2 && (!strcmp(argv[i + 1], "--help") ||
			      !strcmp(argv[i + 1], "-h")))
		return pvio_cmd_help(c);
	optind = 1;
	return c->run(argc - i, argv + i);
}
