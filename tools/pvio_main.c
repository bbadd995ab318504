/*
 * pvio: the xl-like toolstack. Global options, then a verb:
 *   pvio [--rundir DIR] VERB [ARGS...]
 */
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
	return 2;
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
	fprintf(f, "usage: pvio [--rundir DIR] VERB [ARGS...]\n\nverbs:\n");
	for (struct pvio_cmd *c = cmds; c; c = c->next)
		fprintf(f, "  %-16s %s\n", c->name, c->help);
}

int main(int argc, char **argv)
{
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
	for (struct pvio_cmd *c = cmds; c; c = c->next)
		if (!strcmp(c->name, argv[i]))
			return c->run(argc - i, argv + i);
	if (!strcmp(argv[i], "help")) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "pvio: unknown verb '%s'\n", argv[i]);
	usage(stderr);
	return 2;
}
