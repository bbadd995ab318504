// SPDX-License-Identifier: GPL-2.0
/*
 * pvio_core: the PCI driver of the pvio platform device (an ivshmem-doorbell
 * device served by pvio-hv). Probe maps the platform region (BAR 2), sets
 * up one MSI-X vector per vCPU for event upcalls, then brings up
 * hypercalls, event channels, the grant table, the store and the bus.
 */
#include <linux/module.h>
#include <linux/init.h>
#include <linux/interrupt.h>
#include <linux/io.h>
#include <linux/pci.h>
#include <pvio/ring.h>
#include <pvio/blkif.h>
#include <pvio/netif.h>
#include <pvio/xs_wire.h>
#include "pvio_core_internal.h"

struct pvio_platform *pvio_plat;
static struct pvio_platform platform;

void pvio_platform_doorbell(void)
{
	iowrite32((PVIO_HV_PEER << 16) | 0,
		  platform.regs + PVIO_IVSHMEM_REG_DOORBELL);
}

void pvio_platform_doorbell_peer(unsigned int peer)
{
	iowrite32((peer << 16) | 0, platform.regs + PVIO_IVSHMEM_REG_DOORBELL);
}

pvio_domid_t pvio_domid(void)
{
	return pvio_plat ? READ_ONCE(pvio_plat->shared->domid) :
		PVIO_DOMID_INVALID;
}
EXPORT_SYMBOL_GPL(pvio_domid);

static void pvio_free_vectors(struct pvio_platform *p, unsigned int n)
{
	while (n--) {
		int irq = pci_irq_vector(p->pdev, n);

		irq_update_affinity_hint(irq, NULL);
		free_irq(irq, (void *)(unsigned long)n);
	}
	pci_free_irq_vectors(p->pdev);
}

/* One vector per vCPU: vector v carries the upcalls of vcpu_info[v]. */
static int pvio_setup_vectors(struct pvio_platform *p)
{
	unsigned int want, i;
	int n, ret;

	n = pci_msix_vec_count(p->pdev);
	if (n <= 0) {
		dev_err(&p->pdev->dev, "no MSI-X on the platform device (vectors=N missing?)\n");
		return -ENODEV;
	}
	want = min3((unsigned int)n, nr_cpu_ids, (unsigned int)PVIO_MAX_VCPUS);
	n = pci_alloc_irq_vectors(p->pdev, 1, want, PCI_IRQ_MSIX);
	if (n < 0)
		return n;
	p->nr_vectors = n;
	for (i = 0; i < p->nr_vectors; i++) {
		int irq = pci_irq_vector(p->pdev, i);

		ret = request_irq(irq, pvio_evtchn_upcall, 0, "pvio-upcall",
				  (void *)(unsigned long)i);
		if (ret) {
			pvio_free_vectors(p, i);
			return ret;
		}
		/* vector i is taken on CPU i: ports bound there rely on it */
		if (cpu_online(i))
			irq_set_affinity_and_hint(irq, cpumask_of(i));
	}
	return 0;
}

static int pvio_check_shared(struct pvio_platform *p)
{
	struct pvio_shared_info *sh = p->shared;

	if (READ_ONCE(sh->magic) != PVIO_PLATFORM_MAGIC ||
	    READ_ONCE(sh->version) != PVIO_PLATFORM_VERSION) {
		dev_err(&p->pdev->dev,
			"platform region has magic %#x version %u, want %#x %u: is the device served by pvio-hv?\n",
			READ_ONCE(sh->magic), READ_ONCE(sh->version),
			PVIO_PLATFORM_MAGIC, PVIO_PLATFORM_VERSION);
		return -ENODEV;
	}
	return 0;
}

static int pvio_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct pvio_platform *p = &platform;
	long version;
	int ret;

	if (pvio_plat)
		return -EBUSY;	/* one platform device per domain */
	memset(p, 0, sizeof(*p));
	p->pdev = pdev;
	init_waitqueue_head(&p->hcall_wq);

	ret = pci_enable_device(pdev);
	if (ret)
		return ret;
	ret = pci_request_regions(pdev, KBUILD_MODNAME);
	if (ret)
		goto err_disable;
	/* MSI-X writes are bus-master DMA: without this no upcall arrives */
	pci_set_master(pdev);
	p->regs = pci_iomap(pdev, 0, 0);
	if (!p->regs) {
		ret = -ENOMEM;
		goto err_regions;
	}
	if (pci_resource_len(pdev, PVIO_PLATFORM_BAR) < PVIO_PLATFORM_SIZE) {
		dev_err(&pdev->dev, "BAR %d is %llu bytes, want %u\n",
			PVIO_PLATFORM_BAR,
			(unsigned long long)pci_resource_len(pdev, PVIO_PLATFORM_BAR),
			PVIO_PLATFORM_SIZE);
		ret = -ENODEV;
		goto err_unmap_regs;
	}
	/* the region is RAM shared with hv, not device registers */
	p->region = memremap(pci_resource_start(pdev, PVIO_PLATFORM_BAR),
			     PVIO_PLATFORM_SIZE, MEMREMAP_WB);
	if (!p->region) {
		ret = -ENOMEM;
		goto err_unmap_regs;
	}
	p->shared = p->region + PVIO_PLATFORM_OFF_SHARED;
	ret = pvio_check_shared(p);
	if (ret)
		goto err_unmap_region;

	pvio_plat = p;
	ret = pvio_hcall_init(p);
	if (ret)
		goto err_plat;
	ret = pvio_evtchn_init(p);
	if (ret)
		goto err_hcall;
	ret = pvio_setup_vectors(p);
	if (ret)
		goto err_evtchn;

	version = pvio_hypercall(PVIO_HC_VERSION, NULL, NULL, 0);
	if (version < 0) {
		dev_err(&pdev->dev, "VERSION hypercall failed: %ld\n", version);
		ret = (int)version;
		goto err_vectors;
	}
	dev_info(&pdev->dev,
		 "pvio platform: domain %u, %u vCPU vectors, hv version %ld.%ld, peer %u\n",
		 READ_ONCE(p->shared->domid), p->nr_vectors, version >> 16,
		 version & 0xffff,
		 ioread32(p->regs + PVIO_IVSHMEM_REG_IVPOSITION));

	ret = pvio_gnttab_init();
	if (ret) {
		dev_err(&pdev->dev, "grant table setup failed: %d\n", ret);
		goto err_vectors;
	}
	pvio_suspend_init();
	ret = pvio_store_init(p);
	if (ret)
		dev_warn(&pdev->dev, "no store ring (%d): bus not started\n",
			 ret);
	else
		pvio_bus_probe_devices();
	return 0;

err_vectors:
	pvio_free_vectors(p, p->nr_vectors);
err_evtchn:
	pvio_evtchn_exit();
err_hcall:
	pvio_hcall_exit();
err_plat:
	pvio_plat = NULL;
err_unmap_region:
	memunmap(p->region);
err_unmap_regs:
	pci_iounmap(pdev, p->regs);
err_regions:
	pci_release_regions(pdev);
err_disable:
	pci_disable_device(pdev);
	return ret;
}

static void pvio_remove(struct pci_dev *pdev)
{
	struct pvio_platform *p = &platform;

	if (pvio_plat != p || p->pdev != pdev)
		return;
	pvio_suspend_exit();
	pvio_bus_remove_devices();
	pvio_store_exit();
	pvio_gnttab_exit();
	pvio_free_vectors(p, p->nr_vectors);
	pvio_evtchn_exit();
	pvio_hcall_exit();
	pvio_plat = NULL;
	memunmap(p->region);
	pci_iounmap(pdev, p->regs);
	pci_release_regions(pdev);
	pci_disable_device(pdev);
}

static const struct pci_device_id pvio_pci_ids[] = {
	{ PCI_DEVICE(PVIO_PCI_VENDOR, PVIO_PCI_DEVICE) },
	{ 0 }
};
MODULE_DEVICE_TABLE(pci, pvio_pci_ids);

static struct pci_driver pvio_pci_driver = {
	.name = KBUILD_MODNAME,
	.id_table = pvio_pci_ids,
	.probe = pvio_probe,
	.remove = pvio_remove,
};

static int __init pvio_core_init(void)
{
	int ret;

	ret = pvio_bus_register();
	if (ret)
		return ret;
	ret = pci_register_driver(&pvio_pci_driver);
	if (ret) {
		pvio_bus_unregister();
		return ret;
	}
	pr_info("pvio_core: loaded (blkif ring %u entries)\n",
		blkif_ring_ents(PVIO_PAGE_SIZE));
	return 0;
}

static void __exit pvio_core_exit(void)
{
	pci_unregister_driver(&pvio_pci_driver);
	pvio_bus_unregister();
	pr_info("pvio_core: unloaded\n");
}

module_init(pvio_core_init);
module_exit(pvio_core_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("pvio platform core");
