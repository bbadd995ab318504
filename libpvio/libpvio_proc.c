/* SPDX-License-Identifier: MIT */
/*
 * libpvio: what /proc says of a process that pvio programs watch (a VM's
 * QEMU for hv, a daemon for the benchmarks).
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "libpvio_priv.h"

uint64_t pvio_proc_cpu_ns(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long ut = 0, stt = 0;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	/* the command name may hold spaces and parentheses: skip past the last ')' */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
			 &ut, &stt) != 2)
		return 0;
	return (ut + stt) * (1000000000ull / (uint64_t)sysconf(_SC_CLK_TCK));
}
