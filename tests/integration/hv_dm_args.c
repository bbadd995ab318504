// SPDX-License-Identifier: MIT
/*
 * hv_dm_args WORD...: ask pvio-hv ($PVIO_RUNDIR) for a VM whose extra
 * device-model arguments are WORDs, straight through libpvio (no toolstack
 * check in between), with a kernel that does not exist. Prints
 * "ret=<0 or -errno>"; a created domain is destroyed again. Exit 0 unless
 * hv cannot be reached.
 */
#include <stdio.h>
#include <string.h>

#include "pvio/libpvio.h"

int main(int argc, char **argv)
{
	struct pvio_domain_config cfg = { 0 };
	struct pvio_hv *hv;
	pvio_domid_t id;
	size_t used = 0;
	int ret;

	for (int i = 1; i < argc; i++) {
		size_t l = strlen(argv[i]);

		if (used + l + 2 > sizeof(cfg.dm_args)) {
			fprintf(stderr, "hv_dm_args: words too long\n");
			return 1;
		}
		if (i > 1)
			cfg.dm_args[used++] = '\n';
		memcpy(cfg.dm_args + used, argv[i], l + 1);
		used += l;
	}
	snprintf(cfg.name, sizeof(cfg.name), "dm-args-test");
	snprintf(cfg.kernel, sizeof(cfg.kernel), "/nonexistent/vmlinuz");
	cfg.type = PVIO_DOMTYPE_VM;
	cfg.mem_bytes = 128ull << 20;
	cfg.vcpus = 1;
	ret = pvio_hv_open(NULL, &hv);
	if (ret) {
		fprintf(stderr, "hv_dm_args: cannot reach pvio-hv: %s\n", strerror(-ret));
		return 1;
	}
	ret = pvio_domain_create(hv, &cfg, &id);
	if (!ret)
		pvio_domain_destroy(hv, id);
	pvio_hv_close(hv);
	printf("ret=%d\n", ret);
	return 0;
}
