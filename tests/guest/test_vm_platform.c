// SPDX-License-Identifier: MIT
/*
 * Platform contract test: a real QEMU guest with pvio_core, driven by hv's
 * VM units (ivshmem server, QEMU launch, QMP, platform region) without the
 * rest of pvio-hv. This program answers the guest's hypercalls itself:
 * VERSION, EVTCHN alloc_unbound/close, GNTTAB_SETUP; it sends the guest an
 * event, expects one back through the fast-send bitmap, reads the page the
 * guest granted through its grant table in the RAM mapping, and pauses and
 * resumes the guest over QMP.
 *
 * usage: test_vm_platform KERNEL INITRD RUNDIR   (exit 0 pass, 1 fail)
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pvio/grant_table.h"
#include "pvio/hypercall.h"
#include "pvio/libpvio.h"
#include "pvio/xs_wire.h"
#include "../../hv/hv_vm.h"
#include "../../hv/hv_vm_platform.h"
#include "test_vm_platform.h"

#define MEM_BYTES	(512ull << 20)
#define VCPUS		2
#define DOMID		1
#define TEST_PORT	5
#define STORE_PORT	2
#define VBD_FE		"/local/domain/1/device/vbd/51712"
#define VBD_BE		"/local/domain/0/backend/vbd/1/51712"

struct harness {
	void *plat;
	uint8_t *ram;
	struct hv_ivshmem *ivs;
	int versions;
	int port_offered;	/* alloc_unbound seen */
	int event_sent;
	int sends_seen;
	uint32_t gnt_frames;
	uint64_t gnt_gfn[PVIO_GNTTAB_MAX_FRAMES];
	int grant_ok;
	int store_requests;
	int backend_connected;	/* we moved the backend to Connected */
};

static int fails;
#define CHECK(c, ...) do { if (!(c)) { fprintf(stderr, "FAIL: " __VA_ARGS__); \
	fprintf(stderr, "\n"); fails++; } } while (0)

static int64_t harness_hcall(void *ctx, const struct hv_vm_hcall *hc)
{
	struct harness *h = ctx;
	void *p;

	switch (hc->op) {
	case PVIO_HC_VERSION:
		h->versions++;
		return PVIO_HV_VERSION_MAJOR << 16 | PVIO_HV_VERSION_MINOR;
	case PVIO_HC_EVTCHN:
		if (hc->arg[0] == EVTCHNOP_alloc_unbound && hc->arg[1] == 0) {
			h->port_offered = 1;
			return TEST_PORT;
		}
		if (hc->arg[0] == EVTCHNOP_close)
			return 0;
		return -ENOSYS;
	case PVIO_HC_GNTTAB_SETUP:
		if (hc->arg[0] > PVIO_GNTTAB_MAX_FRAMES)
			return -EINVAL;
		if (hv_vm_hcall_arg(hc, hc->arg[1], hc->arg[0] * 8, &p))
			return -EFAULT;
		memcpy(h->gnt_gfn, p, hc->arg[0] * 8);
		h->gnt_frames = (uint32_t)hc->arg[0];
		return 0;
	}
	return -ENOSYS;
}

static void harness_send(void *ctx, uint32_t port)
{
	struct harness *h = ctx;

	if (port == TEST_PORT)
		h->sends_seen++;
	if (port == STORE_PORT) {
		struct xenstore_domain_interface *x = (void *)((char *)h->plat +
			PVIO_PLATFORM_OFF_STORE);
		uint32_t before = x->rsp_prod;
		int n = stub_store_poll();

		CHECK(n >= 0, "guest broke the store ring");
		if (n > 0)
			h->store_requests += n;
		if (x->rsp_prod != before && pvio_platform_set_pending(h->plat, 0, STORE_PORT))
			hv_ivshmem_raise(h->ivs, 0);
	}
}

/* Find the guest's grant to dom0 and check the page it names. */
static void harness_check_grant(struct harness *h)
{
	uint32_t ref, nr = h->gnt_frames * PVIO_GNTTAB_ENTRIES_PER_FRAME;

	for (ref = PVIO_GNTTAB_RESERVED_ENTRIES; ref < nr; ref++) {
		uint64_t gfn = h->gnt_gfn[ref / PVIO_GNTTAB_ENTRIES_PER_FRAME];
		struct pvio_grant_entry_v1 e;
		const char *page;

		if (gfn >= MEM_BYTES / 4096)
			return;
		memcpy(&e, h->ram + gfn * 4096 +
		       (ref % PVIO_GNTTAB_ENTRIES_PER_FRAME) * sizeof(e),
		       sizeof(e));
		if ((e.flags & GTF_type_mask) != GTF_permit_access)
			continue;
		if (e.domid != 0 || e.frame >= MEM_BYTES / 4096)
			return;
		page = (const char *)h->ram + (uint64_t)e.frame * 4096;
		h->grant_ok = strncmp(page, "pvio-grant-test domain 1", 24) == 0;
		printf("grant ref %u frame %u: \"%.32s\"\n", ref, e.frame, page);
		return;
	}
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void test_qmp(const char *sock)
{
	struct hv_qmp *q;
	pid_t tids[8];
	int n;

	CHECK(hv_qmp_connect(sock, 5000, &q) == 0, "QMP connect");
	if (fails)
		return;
	n = hv_qmp_vcpu_tids(q, tids, 8);
	CHECK(n == VCPUS, "query-cpus-fast gave %d vCPU threads", n);
	CHECK(hv_qmp_command(q, "stop", NULL, 0) == 0, "QMP stop");
	CHECK(hv_qmp_running(q) == 0, "guest still running after stop");
	CHECK(hv_qmp_command(q, "cont", NULL, 0) == 0, "QMP cont");
	CHECK(hv_qmp_running(q) == 1, "guest not running after cont");
	CHECK(hv_qmp_command(q, "no-such-command", NULL, 0) == -EIO,
	      "QMP error reply not reported");
	hv_qmp_close(q);
	printf("QMP: %d vCPU threads, stop/cont ok\n", n);
}

int main(int argc, char **argv)
{
	struct harness h = { 0 };
	struct hv_vm_launch l = { 0 };
	char sock[256], qmp[256], log[256];
	int ram_fd, plat_fd, status = -1;
	long long end;
	pid_t pid;
	bool qmp_done = false;

	if (argc != 4) {
		fprintf(stderr, "usage: %s KERNEL INITRD RUNDIR\n", argv[0]);
		return 2;
	}
	snprintf(sock, sizeof(sock), "%s/ivshmem.sock", argv[3]);
	snprintf(qmp, sizeof(qmp), "%s/qmp.sock", argv[3]);
	snprintf(log, sizeof(log), "%s/console.log", argv[3]);

	ram_fd = memfd_create("pvio-ram", MFD_CLOEXEC);
	plat_fd = memfd_create("pvio-platform", MFD_CLOEXEC);
	if (ram_fd < 0 || plat_fd < 0 || ftruncate(ram_fd, MEM_BYTES) ||
	    ftruncate(plat_fd, PVIO_PLATFORM_SIZE)) {
		perror("memfd");
		return 1;
	}
	h.ram = mmap(NULL, MEM_BYTES, PROT_READ, MAP_SHARED, ram_fd, 0);
	h.plat = mmap(NULL, PVIO_PLATFORM_SIZE, PROT_READ | PROT_WRITE,
		      MAP_SHARED, plat_fd, 0);
	if (h.ram == MAP_FAILED || h.plat == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	hv_vm_platform_init(h.plat, DOMID, VCPUS, MEM_BYTES / 4096);
	((struct pvio_shared_info *)h.plat)->store_port = STORE_PORT;
	stub_store_init(h.plat);
	/* what a toolstack writes for a disk before the guest looks */
	stub_store_set(VBD_FE "/backend", VBD_BE);
	stub_store_set(VBD_FE "/backend-id", "0");
	stub_store_set(VBD_BE "/state", "2");
	if (hv_ivshmem_open(sock, plat_fd, VCPUS, &h.ivs)) {
		fprintf(stderr, "ivshmem server on %s failed\n", sock);
		return 1;
	}
	l.kernel = argv[1];
	l.ramdisk = argv[2];
	l.cmdline = "quiet";
	l.mem_bytes = MEM_BYTES;
	l.vcpus = VCPUS;
	l.vectors = VCPUS;
	l.ram_fd = ram_fd;
	l.ivshmem_sock = sock;
	l.qmp_sock = qmp;
	l.console_log = log;
	if (hv_vm_spawn(&l, &pid)) {
		fprintf(stderr, "cannot start QEMU\n");
		return 1;
	}

	end = now_ms() + 150000;
	while (now_ms() < end) {
		struct pollfd p[2] = {
			{ .fd = hv_ivshmem_listen_fd(h.ivs), .events = POLLIN },
			{ .fd = hv_ivshmem_doorbell_fd(h.ivs), .events = POLLIN },
		};
		uint32_t done;

		if (waitpid(pid, &status, WNOHANG) == pid)
			break;
		if (poll(p, 2, 50) < 0 && errno != EINTR)
			break;
		if (p[0].revents & POLLIN)
			CHECK(hv_ivshmem_accept(h.ivs) == 0, "ivshmem accept");
		if (p[1].revents & POLLIN) {
			unsigned int i;

			hv_ivshmem_doorbell_ack(h.ivs);
			done = hv_vm_hcall_scan(h.plat, VCPUS, harness_hcall, &h);
			for (i = 0; i < VCPUS; i++)
				if (done & (1u << i))
					hv_ivshmem_raise(h.ivs, i);
			if (hv_vm_send_scan(h.plat, harness_send, &h) &&
			    !h.grant_ok)
				harness_check_grant(&h);
		}
		if (h.port_offered && !h.event_sent) {
			/* the guest may still have the port masked: fine */
			if (pvio_platform_set_pending(h.plat, 0, TEST_PORT))
				hv_ivshmem_raise(h.ivs, 0);
			h.event_sent = 1;
		}
		/* the guest's frontend said Initialising: connect "the backend" */
		if (!h.backend_connected && stub_store_get(VBD_FE "/state") &&
		    !strcmp(stub_store_get(VBD_FE "/state"), "1")) {
			stub_store_write(VBD_BE "/state", "4");
			if (pvio_platform_set_pending(h.plat, 0, STORE_PORT))
				hv_ivshmem_raise(h.ivs, 0);
			h.backend_connected = 1;
		}
		if (h.versions && !qmp_done) {
			test_qmp(qmp);
			qmp_done = true;
		}
	}
	if (status == -1) {
		fprintf(stderr, "FAIL: guest did not finish in time\n");
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		fails++;
	}
	hv_ivshmem_close(h.ivs);
	CHECK(h.versions >= 1, "no VERSION hypercall");
	CHECK(h.gnt_frames >= 1, "no GNTTAB_SETUP");
	CHECK(h.port_offered, "no alloc_unbound");
	CHECK(h.sends_seen >= 1, "no event from the guest");
	CHECK(h.grant_ok, "granted page not found or wrong content");
	CHECK(h.backend_connected, "guest frontend never went Initialising");
	CHECK(stub_store_get("/local/domain/1/data/pvio-test") &&
	      !strcmp(stub_store_get("/local/domain/1/data/pvio-test"),
		      "hello-from-guest"), "guest's store write missing");
	printf("versions %d, gnttab frames %u, sends %d, grant %s, store requests %d\n",
	       h.versions, h.gnt_frames, h.sends_seen,
	       h.grant_ok ? "ok" : "bad", h.store_requests);
	return fails ? 1 : 0;
}
