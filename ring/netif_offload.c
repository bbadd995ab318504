// SPDX-License-Identifier: MIT
/*
 * Offload helpers shared by netfront and netback: locating the L4 checksum
 * of a frame (netif's csum_blank carries no offsets, virtio_net_hdr needs
 * them) and finishing a partial checksum for a peer that cannot.
 */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "netif_offload.h"

#define ETH_P_IPV4	0x0800
#define ETH_P_IPV6	0x86DD
#define ETH_P_VLAN	0x8100
#define ETH_P_QINQ	0x88A8

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

int netif_csum_locate(const uint8_t *frame, size_t len, uint16_t *csum_start,
			 uint16_t *csum_offset, uint16_t *hdr_len,
			 uint8_t *l4proto)
{
	size_t off = 14, l4;
	uint16_t proto;
	uint8_t nh;

	if (len < off)
		return -EINVAL;
	proto = get16(frame + 12);
	if (proto == ETH_P_VLAN || proto == ETH_P_QINQ) {
		if (len < off + 4)
			return -EINVAL;
		proto = get16(frame + 16);
		off += 4;
	}
	if (proto == ETH_P_IPV4) {
		size_t ihl;

		if (len < off + 20)
			return -EINVAL;
		ihl = (size_t)(frame[off] & 0x0f) * 4;
		if ((frame[off] >> 4) != 4 || ihl < 20 || len < off + ihl)
			return -EINVAL;
		/* a fragment has no L4 header to checksum here */
		if (get16(frame + off + 6) & 0x3fff)
			return -EPROTONOSUPPORT;
		nh = frame[off + 9];
		l4 = off + ihl;
	} else if (proto == ETH_P_IPV6) {
		unsigned int hops = 0;

		if (len < off + 40)
			return -EINVAL;
		nh = frame[off + 6];
		l4 = off + 40;
		/* skip the common extension headers, a bounded number of them */
		while ((nh == IPPROTO_HOPOPTS || nh == IPPROTO_ROUTING ||
			nh == IPPROTO_DSTOPTS) && hops++ < 8) {
			if (len < l4 + 8)
				return -EINVAL;
			nh = frame[l4];
			l4 += (size_t)(frame[l4 + 1] + 1) * 8;
		}
		if (nh == IPPROTO_FRAGMENT)
			return -EPROTONOSUPPORT;
	} else {
		return -EPROTONOSUPPORT;
	}
	if (nh == IPPROTO_TCP) {
		size_t doff;

		if (len < l4 + 20)
			return -EINVAL;
		doff = (size_t)(frame[l4 + 12] >> 4) * 4;
		if (doff < 20 || len < l4 + doff)
			return -EINVAL;
		*csum_offset = 16;
		*hdr_len = (uint16_t)(l4 + doff);
	} else if (nh == IPPROTO_UDP) {
		if (len < l4 + 8)
			return -EINVAL;
		*csum_offset = 6;
		*hdr_len = (uint16_t)(l4 + 8);
	} else {
		return -EPROTONOSUPPORT;
	}
	if (l4 > 0xffff)
		return -EINVAL;
	*csum_start = (uint16_t)l4;
	*l4proto = nh;
	return 0;
}

int netif_csum_finish(uint8_t *frame, size_t len, uint16_t csum_start,
			 uint16_t csum_offset)
{
	uint64_t sum = 0;
	size_t i;
	uint16_t c;

	if ((size_t)csum_start + csum_offset + 2 > len)
		return -EINVAL;
	for (i = csum_start; i + 1 < len; i += 2)
		sum += get16(frame + i);
	if (i < len)
		sum += (uint64_t)frame[i] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	c = (uint16_t)~sum;
	/* UDP sends "no checksum" as 0: a computed 0 goes out as all ones */
	if (c == 0 && csum_offset == 6)
		c = 0xffff;
	frame[csum_start + csum_offset] = (uint8_t)(c >> 8);
	frame[csum_start + csum_offset + 1] = (uint8_t)c;
	return 0;
}
