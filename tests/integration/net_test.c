/*
 * Integration test program for the network path: runs as a process domain
 * (started by `pvio create`, PVIO_DOMID set), opens its vif through the
 * user-space netfront and proves the path both ways: it asks for the MAC
 * of --peer with ARP (from --ip) until the peer answers through the
 * backend's bridge.
 *
 *   net_test --ip A.B.C.D --peer A.B.C.D [--devid N] [--hold] [--go FILE]
 *
 * --hostile: the vif is served by tests/guest/net_evil_backend; ARP
 * requests go out until every bad answer was met: the bad tx and rx
 * responses counted as errors, each ring protocol break survived by a
 * reconnect, the valid frame it sends at the end received, and sending
 * still works.
 *
 * --traffic SECONDS: ask for the peer's MAC every 50 ms for that long
 * (backend restarts meanwhile are survived), counting the answers; passes
 * when answers came in the last fifth of the time too.
 *
 * --hold keeps the vif open afterwards until a signal ends us; --go FILE
 * waits for FILE to exist before connecting, --go-io FILE for FILE before
 * the ARP exchange. Prints "connect: MS ms" (start
 * or FILE to a connected vif) and "arp: reply after MS ms". Exit 0 pass,
 * 1 fail.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pvio/libpvio.h"
#include "pvio/netfront.h"
#include "pvio/xenbus.h"
#include "net_arp.h"

#define FAIL(...) do { fprintf(stderr, "FAIL: " __VA_ARGS__); \
	fprintf(stderr, "\n"); exit(1); } while (0)

static double ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1e3 + (t.tv_nsec - t0->tv_nsec) / 1e6;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "ip", required_argument, NULL, 'i' },
		{ "peer", required_argument, NULL, 'p' },
		{ "devid", required_argument, NULL, 'd' },
		{ "hold", no_argument, NULL, 'H' },
		{ "go", required_argument, NULL, 'G' },
		{ "go-io", required_argument, NULL, 'J' },
		{ "hostile", no_argument, NULL, 'X' },
		{ "traffic", required_argument, NULL, 'T' },
		{ NULL, 0, NULL, 0 },
	};
	bool hostile = false;
	int traffic_s = 0;
	unsigned long rx_frames = 0;
	const char *go = NULL, *go_io = NULL;
	struct in_addr ip = { 0 }, peer = { 0 };
	unsigned int devid = 0;
	bool hold = false, ok = false;
	struct timespec t0, tc;
	struct pvio_dom *d;
	struct xs_handle *xs;
	struct netfront *nf;
	static uint8_t frame[65536 + 64];
	struct virtio_net_hdr vh;
	char peer_s[INET_ADDRSTRLEN] = "";
	uint8_t mac[6];
	int c, rc;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'i':
			if (inet_pton(AF_INET, optarg, &ip) != 1)
				return 2;
			break;
		case 'p':
			if (inet_pton(AF_INET, optarg, &peer) != 1)
				return 2;
			break;
		case 'd': devid = (unsigned int)atoi(optarg); break;
		case 'H': hold = true; break;
		case 'G': go = optarg; break;
		case 'J': go_io = optarg; break;
		case 'X': hostile = true; break;
		case 'T': traffic_s = atoi(optarg); break;
		default: return 2;
		}
	}
	if (!ip.s_addr || !peer.s_addr) {
		fprintf(stderr, "usage: net_test --ip A.B.C.D --peer A.B.C.D "
			"[--devid N] [--hold] [--go FILE]\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	while (go && access(go, F_OK))
		usleep(20000);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = pvio_dom_attach(NULL, PVIO_DOMID_SELF, &d);
	if (rc)
		FAIL("attach: %s", strerror(-rc));
	/* a test program does not outlive its domain */
	pvio_dom_exit_with_domain(d);
	rc = xs_open_domain(d, &xs);
	if (rc)
		rc = xs_open(NULL, &xs);
	if (rc)
		FAIL("store: %s", strerror(-rc));
	rc = netfront_open(d, xs, devid, NULL, 60000, &nf);
	if (rc)
		FAIL("netfront_open: %s", strerror(-rc));
	printf("connect: %.1f ms\n", ms_since(&t0));
	while (go_io && access(go_io, F_OK))
		usleep(20000);
	netfront_mac(nf, mac);
	clock_gettime(CLOCK_MONOTONIC, &tc);
	if (traffic_s > 0) {
		struct iovec iov = { frame, 0 };
		unsigned long sent = 0, replies = 0, late = 0;
		struct netfront_stats st;

		while (ms_since(&tc) < traffic_s * 1000.0) {
			struct pollfd p = { .fd = netfront_fd(nf, 0),
					    .events = POLLIN };
			int len;

			iov.iov_len = arp_request(frame, mac, ip, peer);
			if (!netfront_send(nf, 0, NULL, &iov, 1))
				sent++;
			if (poll(&p, 1, 50) > 0)
				netfront_ack(nf, 0);
			while ((len = netfront_recv(nf, 0, &vh, frame,
						    sizeof(frame))) > 0) {
				if (!arp_reply(frame, len, ip, peer))
					continue;
				replies++;
				late += ms_since(&tc) > traffic_s * 800.0;
			}
			usleep(50000);
		}
		netfront_get_stats(nf, &st);
		printf("traffic: %lu sent, %lu answered (%lu in the last "
		       "fifth), %llu reconnects\n", sent, replies, late,
		       (unsigned long long)st.reconnects);
		if (!late)
			FAIL("no answer at the end");
		if (hold) {
			printf("holding the vif\n");
			for (;;)
				pause();
		}
		netfront_close(nf);
		xs_close(xs);
		pvio_dom_detach(d);
		return 0;
	}
	if (hostile) {
		struct netfront_stats st;
		struct iovec iov = { frame, 0 };
		int sent = 0;

		/* a packet every 20 ms for at most 60 s */
		while (ms_since(&tc) < 60000) {
			struct pollfd p = { .fd = netfront_fd(nf, 0),
					    .events = POLLIN };
			int len;

			netfront_get_stats(nf, &st);
			if (st.tx_errors >= 2 && st.rx_errors >= 3 &&
			    st.reconnects >= 4 && rx_frames)
				break;
			iov.iov_len = arp_request(frame, mac, ip, peer);
			rc = netfront_send(nf, 0, NULL, &iov, 1);
			if (rc && rc != -EAGAIN && rc != -ENOTCONN)
				FAIL("send: %s", strerror(-rc));
			if (poll(&p, 1, 20) > 0)
				netfront_ack(nf, 0);
			while ((len = netfront_recv(nf, 0, &vh, frame,
						    sizeof(frame))) > 0)
				rx_frames++;
			usleep(20000);
		}
		netfront_get_stats(nf, &st);
		printf("hostile: tx %llu (errors %llu), rx %llu frames (errors "
		       "%llu), %llu reconnects\n",
		       (unsigned long long)st.tx_packets,
		       (unsigned long long)st.tx_errors,
		       (unsigned long long)rx_frames,
		       (unsigned long long)st.rx_errors,
		       (unsigned long long)st.reconnects);
		if (st.tx_errors < 2 || st.rx_errors < 3 || st.reconnects < 4 ||
		    !rx_frames)
			FAIL("not every bad answer was met and counted");
		/* the backend is honest now: sending still works */
		for (int tries = 0; tries < 50 && sent < 3; tries++) {
			iov.iov_len = arp_request(frame, mac, ip, peer);
			if (!netfront_send(nf, 0, NULL, &iov, 1))
				sent++;
			else
				usleep(20000);
		}
		if (sent < 3)
			FAIL("cannot send after the attack");
		printf("hostile: sending works after the attack\n");
		netfront_close(nf);
		xs_close(xs);
		pvio_dom_detach(d);
		return 0;
	}
	/* ask every 100 ms for 20 s: the peer answers once the TAP is bridged */
	for (int tries = 0; !ok && tries < 200; tries++) {
		struct pollfd p = { .fd = netfront_fd(nf, 0), .events = POLLIN };
		struct iovec iov = { frame, arp_request(frame, mac, ip, peer) };
		struct timespec ts;

		rc = netfront_send(nf, 0, NULL, &iov, 1);
		if (rc && rc != -EAGAIN && rc != -ENOTCONN)
			FAIL("send: %s", strerror(-rc));
		clock_gettime(CLOCK_MONOTONIC, &ts);
		while (!ok && ms_since(&ts) < 100) {
			int len;

			if (poll(&p, 1, 20) > 0)
				netfront_ack(nf, 0);
			while ((len = netfront_recv(nf, 0, &vh, frame,
						    sizeof(frame))) > 0)
				ok |= arp_reply(frame, len, ip, peer);
		}
	}
	if (!ok)
		FAIL("no ARP reply from %s",
		     inet_ntop(AF_INET, &peer, peer_s, sizeof(peer_s)));
	printf("arp: reply after %.1f ms\n", ms_since(&tc));
	if (hold) {
		printf("holding the vif\n");
		for (;;)
			pause();	/* until a signal ends us */
	}
	netfront_close(nf);
	xs_close(xs);
	pvio_dom_detach(d);
	return 0;
}
