/*
 * `pvio bench KIND [ARGS]`: blk runs in this process (perf/blkbench.c:
 * blkfront/blkback against native io_uring on the same file); any other
 * KIND runs the script perf/bench-KIND (net: netfront/netback against a
 * veth baseline; guest: pvio against virtio in QEMU guests). Scripts find
 * the tree through this verb, which looks for them
 * next to the build ($PVIO_PERF_DIR, else <bin>/../../perf, else
 * /usr/share/pvio/perf) so that every component can add its own.
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pvio_cmd.h"
#include "pvio/bench.h"

static struct pvio_cmd cmd_bench;

static int find_bench(const char *kind, char *path, size_t len)
{
	const char *dir = getenv("PVIO_PERF_DIR");
	char exe[PATH_MAX];
	ssize_t n;

	if (dir && snprintf(path, len, "%s/bench-%s", dir, kind) < (int)len &&
	    !access(path, X_OK))
		return 0;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = 0;
		if (snprintf(path, len, "%s/../../perf/bench-%s", dirname(exe),
			     kind) < (int)len && !access(path, X_OK))
			return 0;
	}
	if (snprintf(path, len, "/usr/share/pvio/perf/bench-%s", kind) < (int)len &&
	    !access(path, X_OK))
		return 0;
	return -ENOENT;
}

static int run_bench(int argc, char **argv)
{
	char path[PATH_MAX];

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
		return pvio_cmd_usage(&cmd_bench);
	/* `pvio bench --guest` is `pvio bench guest` */
	if (!strncmp(argv[1], "--", 2) && argv[1][2] && argv[1][2] != '-')
		argv[1] += 2;
	if (strchr(argv[1], '/') || argv[1][0] == '.' || argv[1][0] == '-')
		return pvio_cmd_usage(&cmd_bench);
	if (!strcmp(argv[1], "blk"))
		return blkbench_main(pvio_opt_rundir, argc - 1, argv + 1);
	if (find_bench(argv[1], path, sizeof(path))) {
		fprintf(stderr, "pvio bench: no benchmark '%s' (looked for perf/bench-%s; set PVIO_PERF_DIR)\n",
			argv[1], argv[1]);
		return 2;
	}
	if (pvio_opt_rundir)
		setenv("PVIO_RUNDIR", pvio_opt_rundir, 1);
	argv[1] = path;
	execv(path, argv + 1);
	fprintf(stderr, "pvio bench: cannot run %s: %s\n", path, strerror(errno));
	return 1;
}

static struct pvio_cmd cmd_bench = {
	.name = "bench",
	.usage = "blk|net|guest [ARGS]   (or --KIND; pvio bench KIND --help)",
	.help = "run a benchmark against its in-run baseline (perf/bench-KIND)",
	.run = run_bench,
};
PVIO_CMD(cmd_bench)
