/* SPDX-License-Identifier: MIT */
/*
 * pvio-perf-rr: round-trip latency of one path, UDP request/response (one
 * datagram out, its echo back, the next only then), as netperf's UDP_RR
 * measures it. `pvio bench net` runs a server in one namespace and the
 * client in the other, over the pvio path and over veth in the same run.
 *
 *   pvio-perf-rr --server [--port P] [--bind ADDR]
 *   pvio-perf-rr --client HOST [--port P] [--seconds S] [--size BYTES]
 *
 * The server echoes every datagram to its sender until SIGTERM. The client
 * sends a datagram of BYTES (8..1472, default 64) carrying a sequence
 * number, waits for the echo of that number (200 ms, then the exchange is
 * counted lost and the next one starts), for S seconds (default 5), the
 * first 200 exchanges not counted (ARP, caches). It prints one line:
 *   rtt_us p50=X p99=Y p999=Z n=N lost=L
 * and exits 1 if no exchange completed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RR_WARMUP	200
#define RR_MAX_SAMPLES	(4u << 20)	/* 4 M round trips: 32 MiB */
#define RR_TIMEOUT_MS	200

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int parse_num(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

static int run_server(const char *bind_addr, uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct sigaction sa = { .sa_handler = on_term };
	uint8_t buf[2048];
	int fd;

	if (inet_pton(AF_INET, bind_addr, &a.sin_addr) != 1) {
		fprintf(stderr, "pvio-perf-rr: bad address %s\n", bind_addr);
		return 2;
	}
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		perror("pvio-perf-rr: server socket");
		return 1;
	}
	/* no SA_RESTART: a signal ends the blocking receive */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	while (!stop) {
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(fd, buf, sizeof(buf), 0,
				     (struct sockaddr *)&from, &fl);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("pvio-perf-rr: recvfrom");
			break;
		}
		/* the echo may be refused (no route for a moment): next one */
		sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&from, fl);
	}
	close(fd);
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The value at fraction @q of the sorted @v (nearest rank), in us. */
static double pct_us(const uint64_t *v, size_t n, double q)
{
	size_t i = (size_t)(q * (double)n);

	if (i >= n)
		i = n - 1;
	return (double)v[i] / 1000.0;
}

static int run_client(const char *host, uint16_t port, long seconds, long size)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct timeval tv = { 0, RR_TIMEOUT_MS * 1000 };
	uint8_t out[1472], in[2048];
	uint64_t *rtt, seq = 0, lost = 0, end;
	size_t n = 0;
	int fd;

	if (inet_pton(AF_INET, host, &a.sin_addr) != 1) {
		fprintf(stderr, "pvio-perf-rr: bad address %s\n", host);
		return 2;
	}
	rtt = malloc(RR_MAX_SAMPLES * sizeof(*rtt));
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (!rtt || fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		perror("pvio-perf-rr: client socket");
		if (fd >= 0)
			close(fd);
		free(rtt);
		return 1;
	}
	memset(out, 0x5a, sizeof(out));
	end = now_ns() + (uint64_t)seconds * 1000000000ull;
	while (n < RR_MAX_SAMPLES) {
		uint64_t t0 = now_ns(), t1;
		bool got = false;

		if (t0 >= end)
			break;
		seq++;
		memcpy(out, &seq, sizeof(seq));
		if (send(fd, out, (size_t)size, 0) < 0) {
			/* refused (ICMP from an earlier one, no route): lost */
			lost += seq > RR_WARMUP;
			continue;
		}
		for (;;) {
			ssize_t r = recv(fd, in, sizeof(in), 0);
			uint64_t s;

			if (r < 0 && errno == EINTR)
				continue;
			if (r < (ssize_t)sizeof(s))
				break;	/* timeout, error or a short echo: lost */
			memcpy(&s, in, sizeof(s));
			if (s == seq) {
				got = true;
				break;
			}
			/*
			 * A late echo of a lost one: keep waiting for ours, for
			 * what is left of the exchange's time (each receive
			 * restarts the socket's timeout)
			 */
			if (now_ns() - t0 >= RR_TIMEOUT_MS * 1000000ull)
				break;
		}
		t1 = now_ns();
		if (seq <= RR_WARMUP)
			continue;
		if (got)
			rtt[n++] = t1 - t0;
		else
			lost++;
	}
	close(fd);
	if (!n) {
		fprintf(stderr, "pvio-perf-rr: no round trip completed (%llu lost)\n",
			(unsigned long long)lost);
		free(rtt);
		return 1;
	}
	qsort(rtt, n, sizeof(*rtt), cmp_u64);
	printf("rtt_us p50=%.1f p99=%.1f p999=%.1f n=%zu lost=%llu\n",
	       pct_us(rtt, n, 0.50), pct_us(rtt, n, 0.99), pct_us(rtt, n, 0.999),
	       n, (unsigned long long)lost);
	free(rtt);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: pvio-perf-rr --server [--port P] [--bind ADDR]\n"
		   "       pvio-perf-rr --client HOST [--port P] [--seconds S] [--size BYTES]\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "server", no_argument, NULL, 'S' },
		{ "client", required_argument, NULL, 'c' },
		{ "port", required_argument, NULL, 'p' },
		{ "bind", required_argument, NULL, 'b' },
		{ "seconds", required_argument, NULL, 't' },
		{ "size", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *host = NULL, *bind_addr = "0.0.0.0";
	long port = 5302, seconds = 5, size = 64;
	bool server = false;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'S':
			server = true;
			break;
		case 'c':
			host = optarg;
			break;
		case 'b':
			bind_addr = optarg;
			break;
		case 'p':
			if (parse_num(optarg, 1, 65535, &port))
				goto bad;
			break;
		case 't':
			if (parse_num(optarg, 1, 3600, &seconds))
				goto bad;
			break;
		case 's':
			if (parse_num(optarg, 8, 1472, &size))
				goto bad;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || server == (host != NULL)) {
		usage(stderr);
		return 2;
	}
	if (server)
		return run_server(bind_addr, (uint16_t)port);
	return run_client(host, (uint16_t)port, seconds, size);
bad:
	fprintf(stderr, "pvio-perf-rr: bad value %s (port 1..65535, seconds 1..3600, size 8..1472)\n",
		optarg);
	return 2;
}
