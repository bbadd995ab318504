/*
 * Fuzz harness for the network parsers that see untrusted input: netback's
 * tx slot validation (a hostile frontend's ring), the L4 checksum locator
 * (frames from a peer), and the vif spec parser (arguments from users).
 * Built with clang -fsanitize=fuzzer,address -DPVIO_LIBFUZZER it is a
 * libFuzzer target; otherwise main() runs a deterministic smoke campaign
 * (random and mutated valid inputs) as a unit test, checking invariants of
 * everything accepted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netif_tx.h"
#include "pvio/vif.h"
#include "pvio/netfront.h"
#include "netif_offload.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_tx(const uint8_t *data, size_t size)
{
	static union netif_tx_slot slots[NETIF_TX_WINDOW];
	struct netif_tx_pkt pkt;
	unsigned int n = (unsigned int)(size / sizeof(slots[0]));
	unsigned int used;
	uint32_t sum = 0;

	if (n > NETIF_TX_WINDOW)
		n = NETIF_TX_WINDOW;
	memcpy(slots, data, n * sizeof(slots[0]));
	used = netif_tx_parse(slots, n, &pkt);
	if (used > n)
		abort();
	if (!used)
		return;
	if (pkt.nr_slots != used || pkt.nr_data + pkt.nr_extras != used)
		abort();
	if (pkt.err != NETIF_TX_OK)
		return;
	/* invariants of an accepted packet */
	if (pkt.nr_data < 1 || pkt.nr_data > XEN_NETBK_LEGACY_SLOTS_MAX ||
	    pkt.len < NETIF_ETH_HLEN)
		abort();
	for (unsigned int i = 0; i < pkt.nr_data; i++) {
		if ((uint32_t)pkt.req[i].offset + pkt.req[i].size > PVIO_PAGE_SIZE)
			abort();
		sum += pkt.req[i].size;
	}
	if (sum != pkt.len || pkt.req[0].size == 0)
		abort();
	if (pkt.gso_type != XEN_NETIF_GSO_TYPE_NONE &&
	    (!pkt.gso_size || !(pkt.flags & NETTXF_csum_blank)))
		abort();
}

static void fuzz_csum(const uint8_t *data, size_t size)
{
	uint16_t start, off, hlen;
	uint8_t proto, *copy;

	if (netif_csum_locate(data, size, &start, &off, &hlen, &proto))
		return;
	if (start < 14 || (size_t)start + off + 2 > size || hlen > size ||
	    hlen < start)
		abort();
	copy = malloc(size);
	if (!copy)
		return;
	memcpy(copy, data, size);
	if (netif_csum_finish(copy, size, start, off))
		abort();
	free(copy);
}

static void fuzz_spec(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	struct netspec ns;
	char err[256];
	uint64_t b;
	uint32_t us;
	uint8_t mac[6];

	if (!s)
		return;
	memcpy(s, data, size);
	s[size] = 0;
	if (!netspec_parse(s, &ns, err, sizeof(err))) {
		size_t bl = strlen(ns.bridge);

		if (bl == 0 || bl >= NETSPEC_IFNAMSIZ ||
		    strlen(ns.vifname) >= NETSPEC_IFNAMSIZ ||
		    (ns.mtu && (ns.mtu < 68 || ns.mtu > 9000)) ||
		    ns.devid < -1 || ns.devid > 65535 ||
		    (ns.mac_set && (ns.mac[0] & 1)) ||
		    (ns.rate_bytes && !ns.rate_usec))
			abort();
	} else if (strncmp(err, "vif spec: ", 10)) {
		abort();	/* every refusal explains itself */
	}
	if (!netspec_parse_rate(s, &b, &us) && (!b || !us))
		abort();
	if (!netspec_parse_mac(s, mac) && (mac[0] & 1))
		abort();
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!size)
		return 0;
	switch (data[0] % 3) {
	case 0:
		fuzz_tx(data + 1, size - 1);
		break;
	case 1:
		fuzz_csum(data + 1, size - 1);
		break;
	default:
		fuzz_spec(data + 1, size - 1);
		break;
	}
	return 0;
}

#ifndef PVIO_LIBFUZZER
/* Smoke campaign: valid seeds, then random byte flips of them. */
static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)rng;
}

int main(void)
{
	static uint8_t buf[1 + NETIF_TX_WINDOW * 12];
	static const char *const specs[] = {
		"mac=00:16:3e:01:02:03,bridge=br0,rate=10Mb/s@50ms,mtu=9000",
		"vifname=v1,ip=10.0.0.1 10.0.0.2,devid=3,script=vif-bridge",
		"rate=1GB/s@1us,type=ioemu,model=e1000",
	};
	/* slots are built aligned, then copied behind the selector byte */
	union netif_tx_slot s[4];
	unsigned int runs = 0;

	for (unsigned int iter = 0; iter < 200000; iter++) {
		size_t len;

		memset(buf, 0, sizeof(buf));
		memset(s, 0, sizeof(s));
		switch (iter % 3) {
		case 0:	/* a GSO packet of 3 data slots, then mutations */
			buf[0] = 0;
			s[0].req = (struct netif_tx_request){ 1, 0,
				NETTXF_csum_blank | NETTXF_extra_info |
				NETTXF_more_data, 1, 9000 };
			s[1].extra.type = XEN_NETIF_EXTRA_TYPE_GSO;
			s[1].extra.u.gso.type = XEN_NETIF_GSO_TYPE_TCPV4;
			s[1].extra.u.gso.size = 1448;
			s[2].req = (struct netif_tx_request){ 2, 0,
				NETTXF_more_data, 2, 4096 };
			s[3].req = (struct netif_tx_request){ 3, 0, 0, 3, 904 };
			memcpy(buf + 1, s, sizeof(s));
			len = 1 + (rnd() % NETIF_TX_WINDOW) * 12;
			break;
		case 1:	/* an IPv4 TCP frame */
			buf[0] = 1;
			buf[1 + 12] = 0x08;
			buf[1 + 14] = 0x45;
			buf[1 + 14 + 9] = 6;
			buf[1 + 34 + 12] = 0x50;
			len = 1 + 14 + 20 + 20 + (rnd() % 200);
			break;
		default:
			buf[0] = 2;
			len = strlen(specs[(iter / 3) % 3]);
			memcpy(buf + 1, specs[(iter / 3) % 3], len);
			len += 1;
			break;
		}
		for (unsigned int f = rnd() % 8; f > 0; f--)
			buf[1 + rnd() % (len > 1 ? len - 1 : 1)] ^=
				(uint8_t)(1u << (rnd() % 8));
		LLVMFuzzerTestOneInput(buf, len);
		runs++;
	}
	printf("fuzz_net smoke: %u inputs, invariants held\n", runs);
	return 0;
}
#endif
