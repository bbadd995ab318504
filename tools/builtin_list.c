/* SPDX-License-Identifier: MIT */
/* pvio list [DOM...]: domains in xl's layout, Domain-0 first. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pvio_cmd.h"
#include "pvio_hvcmd.h"

static void print_one(const struct pvio_domain_info *d)
{
	static const char letters[] = "rbpscd";
	char state[7];

	for (int i = 0; i < 6; i++)
		state[i] = d->state & (1u << i) ? letters[i] : '-';
	state[6] = 0;
	printf("%-40.64s %5u %5llu %5u     %s  %8.1f\n", d->name, d->domid,
	       (unsigned long long)(d->mem_bytes >> 20), d->vcpus, state,
	       (double)d->cpu_time_ns / 1e9);
}

static int list_run(int argc, char **argv);
static struct pvio_cmd list_cmd = {
	.name = "list",
	.usage = "[DOM...]",
	.help = "list domains (Name ID Mem VCPUs State Time)",
	.run = list_run,
};

static int list_run(int argc, char **argv)
{
	struct pvio_domain_info *v;
	struct pvio_hv *hv;
	unsigned int n;
	int ret, rc = 0;
	int opt_rc = pvio_args_plain(&list_cmd, &argc, &argv);

	if (opt_rc >= 0)
		return opt_rc;

	for (int i = 1; i < argc; i++)
		if (argv[i][0] == '-')
			return pvio_cmd_usage(&list_cmd);
	if (pvio_cli_connect(&hv) < 0)
		return 1;
	ret = pvio_domain_list(hv, &v, &n);
	if (ret < 0) {
		fprintf(stderr, "pvio list: %s\n", strerror(-ret));
		pvio_hv_close(hv);
		return 1;
	}
	/* xl's header, tabs included */
	printf("%-40s %5s %5s %5s\t%s\t%s\n", "Name", "ID", "Mem", "VCPUs",
	       "State", "Time(s)");
	if (argc == 1) {
		for (unsigned int i = 0; i < n; i++)
			print_one(&v[i]);
	}
	for (int a = 1; a < argc; a++) {
		pvio_domid_t id;
		bool found = false;

		if (pvio_domain_resolve(hv, argv[a], &id) == 0)
			for (unsigned int i = 0; i < n; i++)
				if (v[i].domid == id) {
					print_one(&v[i]);
					found = true;
				}
		if (!found) {
			fprintf(stderr, "pvio list: no domain %s\n", argv[a]);
			rc = 1;
		}
	}
	free(v);
	pvio_hv_close(hv);
	return rc;
}

PVIO_CMD(list_cmd)
