/* SPDX-License-Identifier: MIT */
/* pvio info: host and hypervisor facts, as `xl info` shows them. */
#include <stdio.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "pvio_cmd.h"
#include "pvio_hvcmd.h"

static int info_run(int argc, char **argv);
static struct pvio_cmd info_cmd = {
	.name = "info",
	.usage = "",
	.help = "show host and pvio-hv information",
	.run = info_run,
};

static int info_run(int argc, char **argv)
{
	struct pvio_hv_stats st;
	struct pvio_hv *hv;
	struct utsname u;
	struct sysinfo si;
	int ret;
	int opt_rc = pvio_args_plain(&info_cmd, &argc, &argv);

	if (opt_rc >= 0)
		return opt_rc;

	if (argc != 1)
		return pvio_cmd_usage(&info_cmd);
	if (pvio_cli_connect(&hv) < 0)
		return 1;
	ret = pvio_hv_stats(hv, &st);
	pvio_hv_close(hv);
	if (ret < 0) {
		fprintf(stderr, "pvio info: %s\n", strerror(-ret));
		return 1;
	}
	uname(&u);
	sysinfo(&si);
	printf("host                   : %s\n", u.nodename);
	printf("release                : %s\n", u.release);
	printf("machine                : %s\n", u.machine);
	printf("nr_cpus                : %ld\n", sysconf(_SC_NPROCESSORS_ONLN));
	printf("total_memory           : %llu\n",
	       (unsigned long long)si.totalram * si.mem_unit >> 20);
	printf("free_memory            : %llu\n",
	       (unsigned long long)si.freeram * si.mem_unit >> 20);
	printf("hv_version             : %u.%u\n", st.version >> 16, st.version & 0xffff);
	printf("hv_rundir              : %s\n", pvio_rundir(pvio_opt_rundir));
	printf("hv_uptime              : %.1f\n", (double)st.uptime_ms / 1000);
	printf("nr_domains             : %u\n", st.nr_domains);
	printf("nr_event_channels      : %u\n", st.nr_ports);
	printf("nr_grant_mappings      : %u\n", st.nr_maps);
	printf("nr_hypercalls          : %llu\n", (unsigned long long)st.nr_hypercalls);
	printf("nr_events_relayed      : %llu\n", (unsigned long long)st.nr_relayed);
	return 0;
}

PVIO_CMD(info_cmd)
