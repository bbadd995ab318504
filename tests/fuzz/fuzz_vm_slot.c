/*
 * Fuzz harness of a VM's hypercall path in pvio-hv: the slots of the
 * platform region, shared with a hostile guest, taken by
 * hv_vm_hcall_scan (claim by compare-and-swap, copy once), executed by
 * hv_vm_hcall (event-channel ops, grant-table setup from the argument
 * area, shutdown, the rest refused), and the fast-send bitmap taken by
 * hv_vm_send_scan. The input writes the slots (states, ops, arguments,
 * argument areas) and the bitmap between scans; the honest domain
 * offers the guest a port it may bind, its RAM guarded in hv. At the end
 * the domain dies and hv must be back to where it was.
 *
 * Built with clang -fsanitize=fuzzer it is a libFuzzer target; otherwise
 * main() runs a deterministic smoke campaign as a unit test.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_hv_world.h"
#include "../../hv/hv_vm_platform.h"
#include "fuzz_in.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct fh_dom vm;
static uint64_t nr_hcalls, nr_done;

static int64_t hcall(void *ctx, const struct hv_vm_hcall *hc)
{
	nr_hcalls++;
	if (hc->slot >= PVIO_MAX_VCPUS ||
	    hc->area != (uint8_t *)vm.d->plat + PVIO_PLATFORM_OFF_HCARG +
			hc->slot * PVIO_HC_ARG_BYTES)
		fh_finding("slot %u taken with the wrong argument area", hc->slot);
	return hv_vm_hcall(vm.d, hc);
}

static void send_port(void *ctx, uint32_t port)
{
	/* port 0 and closed ports are the guest's mistake: refused below */
	if (port >= PVIO_EVTCHN_MAX_PORTS)
		fh_finding("send scan gave port %u", port);
	hv_evtchn_send(vm.d, port);
}

/* An argument as a guest might pass it. */
static uint64_t pick_arg(struct in *in)
{
	uint8_t b = byte(in);

	switch (b & 7) {
	case 0:
		return b >> 3;
	case 1:
		return fh_honest.id;
	case 2:
		return vm.id;
	case 3:
		return PVIO_DOMID_SELF;
	case 4:
		return (uint64_t)(b >> 3) * 8;	/* an offset in the area */
	case 5:
		return PVIO_HC_ARG_BYTES - (b >> 3);
	default:
		return u64(in);
	}
}

static void fill_slot(struct in *in, unsigned int i)
{
	struct pvio_hcall_slot *s = (struct pvio_hcall_slot *)
		((uint8_t *)vm.d->plat + PVIO_PLATFORM_OFF_HCALL) + i;
	uint8_t *area = (uint8_t *)vm.d->plat + PVIO_PLATFORM_OFF_HCARG +
			i * PVIO_HC_ARG_BYTES;
	uint8_t how = byte(in);

	s->op = how & 0x80 ? (uint32_t)u64(in) : how % 9;
	for (int a = 0; a < 6; a++)
		s->arg[a] = pick_arg(in);
	if (s->op == PVIO_HC_EVTCHN && !(how & 0x40))
		s->arg[0] = byte(in) % 8;	/* EVTCHNOP_* */
	/* some of the argument area: frame numbers or anything */
	for (unsigned int k = byte(in) % 8; k; k--) {
		uint64_t v = byte(in) % 4 ? byte(in) % 300 : u64(in);
		unsigned int at = byte(in) % (PVIO_HC_ARG_BYTES / 8);

		memcpy(area + at * 8, &v, 8);
	}
	__atomic_store_n(&s->state, how & 0x20 ? byte(in) % 5 :
			 PVIO_HC_STATE_PENDING, __ATOMIC_RELEASE);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct in in = { data, size };
	struct pvio_shared_info *sh;
	unsigned int nr_slots;
	int offered;

	if (!fh_honest.d)
		fh_init();
	fh_dom_new(&vm, "vm", 512);
	sh = vm.d->plat;
	nr_slots = 1 + byte(&in) % PVIO_MAX_VCPUS;
	/* the honest domain offers the guest a port (and keeps one of its own) */
	offered = hv_evtchn_alloc_unbound(fh_honest.d, fh_honest.c, vm.id);
	if (offered <= 0 ||
	    hv_evtchn_alloc_unbound(fh_honest.d, fh_honest.c, 0) <= 0)
		fh_finding("honest ports");
	for (unsigned int round = 0; in.n && round < 64; round++) {
		uint8_t what = byte(&in);

		if (what & 1)
			fill_slot(&in, byte(&in) % nr_slots);
		if (what & 2) {
			unsigned int w = byte(&in) % PVIO_EVTCHN_2L_WORDS;

			__atomic_fetch_or(&sh->evtchn_send[w], u64(&in),
					  __ATOMIC_RELAXED);
		}
		if (what & 4) {
			/* what a guest writes in the shared info too */
			uint8_t *p = (uint8_t *)sh;

			p[byte(&in) * 8 % sizeof(*sh)] = byte(&in);
		}
		nr_done += (unsigned int)__builtin_popcount(
			hv_vm_hcall_scan(vm.d->plat, what & 8 ? byte(&in) : nr_slots,
					 hcall, NULL));
		hv_vm_send_scan(vm.d->plat, send_port, NULL);
	}
	fh_dom_gone(&vm);
	/* the honest domain closes what it opened for this round */
	hv_evtchn_client_gone(fh_honest.c);
	fh_check_clean();
	return 0;
}

#ifndef PVIO_LIBFUZZER
static uint64_t rs = 0xa0761d6478bd642full;

static uint8_t rnd8(void)
{
	rs ^= rs << 13;
	rs ^= rs >> 7;
	rs ^= rs << 17;
	return (uint8_t)rs;
}

int main(void)
{
	static uint8_t buf[1024];
	unsigned int runs = 3000;

	fh_quiet();
	for (unsigned int it = 0; it < runs; it++) {
		size_t n = 16 + rnd8() * 3;

		for (size_t i = 0; i < n; i++)
			buf[i] = rnd8();
		LLVMFuzzerTestOneInput(buf, n);
	}
	printf("fuzz smoke: %u guests, %llu hypercalls taken, %llu slots done, no finding\n",
	       runs, (unsigned long long)nr_hcalls, (unsigned long long)nr_done);
	if (nr_hcalls < runs)
		fh_finding("the smoke campaign barely made a hypercall");
	return 0;
}
#endif
