// SPDX-License-Identifier: MIT
/*
 * libpvio: raising an event in a VM's platform region. dom0 (hv, or a
 * backend holding the VM's region) marks the port pending in the guest's
 * shared info itself and then rings the vector, so an event from dom0 into
 * a VM needs no hv round trip. The region is shared with the guest: only
 * atomic read-modify-writes touch it here.
 */
#include "pvio/libpvio.h"
#include "pvio/platform.h"

int pvio_platform_raise(void *plat, unsigned int vcpu, uint32_t port)
{
	struct pvio_shared_info *sh = plat;
	unsigned int w = port / 64;
	uint64_t bit = 1ull << (port % 64);
	struct pvio_vcpu_info *vi;
	uint64_t old;

	if (port == 0 || port >= PVIO_EVTCHN_MAX_PORTS)
		return PVIO_RAISE_NONE;
	if (vcpu >= PVIO_MAX_VCPUS)
		vcpu = 0;
	vi = &sh->vcpu[vcpu];
	old = __atomic_fetch_or(&sh->evtchn_pending[w], bit, __ATOMIC_SEQ_CST);
	if (old & bit)
		return PVIO_RAISE_PENDING;	/* the guest was told */
	if (__atomic_load_n(&sh->evtchn_mask[w], __ATOMIC_SEQ_CST) & bit)
		return PVIO_RAISE_MASKED;	/* it looks when it unmasks */
	__atomic_fetch_or(&vi->pending_sel, 1ull << w, __ATOMIC_SEQ_CST);
	__atomic_store_n(&vi->upcall_pending, 1, __ATOMIC_SEQ_CST);
	return PVIO_RAISE_KICK;
}

bool pvio_platform_set_pending(void *plat, unsigned int vcpu, uint32_t port)
{
	return pvio_platform_raise(plat, vcpu, port) == PVIO_RAISE_KICK;
}
