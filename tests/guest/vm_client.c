// SPDX-License-Identifier: MIT
/*
 * dom0 side of the VM domain tests, one libpvio call sequence per verb:
 *
 *   vm_client create NAME KERNEL INITRD MEM_MIB VCPUS   -> prints the domid
 *   vm_client peer DOMID PORT GREF [HV_PID CONSOLE]
 *                                    bind to the guest's port, send it an
 *                                    event, wait for its answer, map its
 *                                    grant and check the pattern. With
 *                                    HV_PID, hv is stopped (SIGSTOP) while
 *                                    the event goes in: the guest must see
 *                                    it (CONSOLE shows "PVIO-TEST: events=")
 *                                    without hv. With CONSOLE, then: once
 *                                    the guest moved its port to vCPU 1
 *                                    ("PVIO-TEST: rebound=0"), take the
 *                                    event hv gave our end so that we
 *                                    fetch its fds again, send another
 *                                    event (the guest must take it on
 *                                    CPU 1) and wait for its answer
 *   vm_client info DOMID             prints "state=0xS pid=P" (exit 3 if gone)
 *   vm_client pause|unpause|destroy DOMID
 *   vm_client ports                  prints the number of open ports in hv
 *
 * Exit 0 on success, 1 on failure (a message says which step failed).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pvio/libpvio.h"

static int fail(const char *what, int err)
{
	fprintf(stderr, "vm_client: %s: %s\n", what, strerror(-err));
	return 1;
}

static int do_create(struct pvio_hv *hv, char **av)
{
	struct pvio_domain_config cfg = { 0 };
	pvio_domid_t id;
	int ret;

	snprintf(cfg.name, sizeof(cfg.name), "%s", av[0]);
	snprintf(cfg.kernel, sizeof(cfg.kernel), "%s", av[1]);
	snprintf(cfg.ramdisk, sizeof(cfg.ramdisk), "%s", av[2]);
	snprintf(cfg.cmdline, sizeof(cfg.cmdline), "quiet");
	cfg.type = PVIO_DOMTYPE_VM;
	cfg.mem_bytes = strtoull(av[3], NULL, 0) << 20;
	cfg.vcpus = (uint32_t)strtoul(av[4], NULL, 0);
	ret = pvio_domain_create(hv, &cfg, &id);
	if (ret)
		return fail("pvio_domain_create", ret);
	printf("%u\n", id);
	return 0;
}

static bool file_has(const char *path, const char *what)
{
	char line[512];
	bool found = false;
	FILE *f = fopen(path, "r");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, what) != NULL;
	fclose(f);
	return found;
}

static bool wait_console(const char *console, const char *what)
{
	for (int i = 0; i < 600; i++) {
		if (file_has(console, what))
			return true;
		usleep(100000);
	}
	return false;
}

/* The guest moved its end to vCPU 1 while ours is bound. */
static int peer_rebound(struct pvio_hv *hv, pvio_evtchn_port_t port,
			const char *console)
{
	int ret;

	if (!wait_console(console, "PVIO-TEST: rebound=0")) {
		fprintf(stderr, "vm_client: the guest did not move its port to vCPU 1\n");
		return 1;
	}
	/*
	 * hv gave our end a fresh eventfd holding an event: taking it fetches
	 * our fds again, the VM's vector for vCPU 1 among them (the wait for
	 * the guest's answer above may have taken it already)
	 */
	ret = pvio_evtchn_ack(hv, port);
	if (ret < 0)
		return fail("ack", ret);
	ret = pvio_evtchn_notify(hv, port);
	if (ret)
		return fail("notify after the move", ret);
	if (!wait_console(console, "PVIO-TEST: events_cpu1=")) {
		fprintf(stderr, "vm_client: the guest took no event on CPU 1\n");
		return 1;
	}
	ret = pvio_evtchn_wait(hv, port, 60000);
	if (ret != 1)
		return fail("waiting for the guest's event after the move",
			    ret ? ret : -ETIMEDOUT);
	pvio_evtchn_ack(hv, port);
	printf("events of port %u go to vCPU 1, both ways ok\n", port);
	return 0;
}

static int do_peer(struct pvio_hv *hv, pvio_domid_t dom, uint32_t rport,
		   uint32_t gref, pid_t hv_pid, const char *console)
{
	char want[64];
	struct pvio_gnt_map m = { .dom = dom, .ref = gref };
	pvio_evtchn_port_t port;
	int ret;

	ret = pvio_evtchn_bind_interdomain(hv, dom, rport, &port);
	if (ret)
		return fail("bind_interdomain", ret);
	if (hv_pid > 0 && kill(hv_pid, SIGSTOP) < 0)
		return fail("stopping pvio-hv", -errno);
	ret = pvio_evtchn_notify(hv, port);
	if (ret) {
		if (hv_pid > 0)
			kill(hv_pid, SIGCONT);
		return fail("notify", ret);
	}
	if (hv_pid > 0) {
		bool seen = wait_console(console, "PVIO-TEST: events=1");

		kill(hv_pid, SIGCONT);
		if (!seen) {
			fprintf(stderr, "vm_client: the guest saw no event while hv was stopped\n");
			return 1;
		}
		printf("event reached domain %u with pvio-hv stopped\n", dom);
	}
	/* the guest answers once it has seen our event */
	ret = pvio_evtchn_wait(hv, port, 60000);
	if (ret != 1)
		return fail("waiting for the guest's event", ret ? ret : -ETIMEDOUT);
	pvio_evtchn_ack(hv, port);
	printf("event exchange with domain %u port %u ok\n", dom, rport);

	ret = pvio_gnttab_map(hv, &m, 1);
	if (ret || m.status != GNTST_okay) {
		fprintf(stderr, "vm_client: map gref %u: ret %d status %d\n",
			gref, ret, m.status);
		return 1;
	}
	snprintf(want, sizeof(want), "pvio-grant-test domain %u", dom);
	if (strncmp(m.addr, want, strlen(want))) {
		fprintf(stderr, "vm_client: grant %u holds \"%.40s\"\n", gref,
			(char *)m.addr);
		return 1;
	}
	printf("grant %u of domain %u mapped: \"%s\"\n", gref, dom, want);
	ret = pvio_gnttab_unmap(hv, &m, 1);
	if (ret)
		return fail("unmap", ret);
	return console ? peer_rebound(hv, port, console) : 0;
}

int main(int argc, char **argv)
{
	struct pvio_domain_info info;
	struct pvio_hv_stats st;
	struct pvio_hv *hv;
	pvio_domid_t dom;
	int ret;

	if (argc < 2) {
		fprintf(stderr, "usage: vm_client VERB ARGS...\n");
		return 2;
	}
	ret = pvio_hv_open(NULL, &hv);
	if (ret)
		return fail("pvio_hv_open", ret);
	if (!strcmp(argv[1], "create") && argc == 7)
		return do_create(hv, argv + 2);
	if (!strcmp(argv[1], "ports")) {
		ret = pvio_hv_stats(hv, &st);
		if (ret)
			return fail("stats", ret);
		printf("%u\n", st.nr_ports);
		return 0;
	}
	if (argc < 3)
		return 2;
	dom = (pvio_domid_t)strtoul(argv[2], NULL, 0);
	if (!strcmp(argv[1], "peer") && (argc == 5 || argc == 7))
		return do_peer(hv, dom, (uint32_t)strtoul(argv[3], NULL, 0),
			       (uint32_t)strtoul(argv[4], NULL, 0),
			       argc == 7 ? (pid_t)atoi(argv[5]) : 0,
			       argc == 7 ? argv[6] : NULL);
	if (!strcmp(argv[1], "info")) {
		ret = pvio_domain_info(hv, dom, &info);
		if (ret == -ESRCH)
			return 3;
		if (ret)
			return fail("info", ret);
		printf("state=0x%x pid=%d\n", info.state, info.pid);
		return 0;
	}
	if (!strcmp(argv[1], "pause"))
		ret = pvio_domain_pause(hv, dom);
	else if (!strcmp(argv[1], "unpause"))
		ret = pvio_domain_unpause(hv, dom);
	else if (!strcmp(argv[1], "destroy"))
		ret = pvio_domain_destroy(hv, dom);
	else
		return 2;
	if (ret)
		return fail(argv[1], ret);
	return 0;
}
