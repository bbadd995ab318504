// SPDX-License-Identifier: GPL-2.0
/*
 * pvio_core: the guest side of the pvio platform. This first version only
 * registers the module and checks the ABI headers build in the kernel.
 */
#include <linux/module.h>
#include <linux/init.h>
#include <pvio/ring.h>
#include <pvio/blkif.h>
#include <pvio/netif.h>
#include <pvio/platform.h>
#include <pvio/xs_wire.h>
#include <pvio/grant_table.h>
#include <pvio/hypercall.h>

static int __init pvio_core_init(void)
{
	pr_info("pvio_core: loaded (blkif ring %u entries)\n",
		blkif_ring_ents(PVIO_PAGE_SIZE));
	return 0;
}

static void __exit pvio_core_exit(void)
{
	pr_info("pvio_core: unloaded\n");
}

module_init(pvio_core_init);
module_exit(pvio_core_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("pvio platform core");
