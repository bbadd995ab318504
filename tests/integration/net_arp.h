/*
 * ARP frames for the network test programs (net_test, blk_test soak): a
 * request that asks a peer for its MAC, and the check of its answer.
 */
#ifndef PVIO_TESTS_NET_ARP_H
#define PVIO_TESTS_NET_ARP_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* An ARP request for @peer from @mac/@ip: 42 bytes of Ethernet + ARP. */
static inline size_t arp_request(uint8_t *f, const uint8_t mac[6],
				 struct in_addr ip, struct in_addr peer)
{
	static const uint8_t hdr[8] = { 0, 1, 8, 0, 6, 4, 0, 1 };

	memset(f, 0xff, 6);
	memcpy(f + 6, mac, 6);
	f[12] = 0x08;
	f[13] = 0x06;
	memcpy(f + 14, hdr, 8);
	memcpy(f + 22, mac, 6);
	memcpy(f + 28, &ip, 4);
	memset(f + 32, 0, 6);
	memcpy(f + 38, &peer, 4);
	return 42;
}

/* Is @f an ARP reply from @peer to @ip? */
static inline bool arp_reply(const uint8_t *f, int len, struct in_addr ip,
			     struct in_addr peer)
{
	return len >= 42 && f[12] == 0x08 && f[13] == 0x06 && f[20] == 0 &&
	       f[21] == 2 && !memcmp(f + 28, &peer, 4) &&
	       !memcmp(f + 38, &ip, 4);
}

#endif
