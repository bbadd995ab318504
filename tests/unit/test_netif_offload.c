/*
 * Unit tests of the offload helpers shared by netfront and netback: finding
 * the L4 checksum of IPv4/IPv6 TCP/UDP frames (with a VLAN tag, IPv6
 * extension headers), refusing what cannot be offloaded, and finishing a
 * partial checksum.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <netinet/in.h>
#include <cmocka.h>

#include "pvio/netfront.h"
#include "netif_offload.h"

static uint8_t f[2048];

static size_t eth(uint16_t type, bool vlan)
{
	memset(f, 0, sizeof(f));
	memset(f, 0xff, 6);
	if (vlan) {
		f[12] = 0x81;
		f[13] = 0x00;
		f[16] = (uint8_t)(type >> 8);
		f[17] = (uint8_t)type;
		return 18;
	}
	f[12] = (uint8_t)(type >> 8);
	f[13] = (uint8_t)type;
	return 14;
}

static size_t ipv4(size_t off, uint8_t proto, unsigned int ihl)
{
	f[off] = (uint8_t)(0x40 | ihl);
	f[off + 9] = proto;
	return off + ihl * 4;
}

static void test_ipv4_tcp(void **state)
{
	uint16_t start, coff, hlen;
	uint8_t proto;
	size_t l4 = ipv4(eth(0x0800, false), IPPROTO_TCP, 6);

	f[l4 + 12] = 8 << 4;	/* 32-byte TCP header */
	assert_int_equal(netif_csum_locate(f, l4 + 32 + 10, &start, &coff,
					      &hlen, &proto), 0);
	assert_int_equal(start, 14 + 24);
	assert_int_equal(coff, 16);
	assert_int_equal(hlen, 14 + 24 + 32);
	assert_int_equal(proto, IPPROTO_TCP);
	/* truncated TCP header */
	assert_int_equal(netif_csum_locate(f, l4 + 20, &start, &coff, &hlen,
					      &proto), -EINVAL);
}

static void test_vlan_udp(void **state)
{
	uint16_t start, coff, hlen;
	uint8_t proto;
	size_t l4 = ipv4(eth(0x0800, true), IPPROTO_UDP, 5);

	assert_int_equal(netif_csum_locate(f, l4 + 8 + 4, &start, &coff,
					      &hlen, &proto), 0);
	assert_int_equal(start, 18 + 20);
	assert_int_equal(coff, 6);
	assert_int_equal(proto, IPPROTO_UDP);
}

static void test_ipv6_ext(void **state)
{
	uint16_t start, coff, hlen;
	uint8_t proto;
	size_t off = eth(0x86DD, false);

	f[off] = 0x60;
	f[off + 6] = IPPROTO_HOPOPTS;
	f[off + 40] = IPPROTO_TCP;	/* next header after hop-by-hop */
	f[off + 41] = 0;		/* 8 bytes */
	f[off + 48 + 12] = 5 << 4;
	assert_int_equal(netif_csum_locate(f, off + 48 + 20, &start, &coff,
					      &hlen, &proto), 0);
	assert_int_equal(start, off + 48);
	assert_int_equal(coff, 16);
	f[off + 40] = IPPROTO_FRAGMENT;
	assert_int_equal(netif_csum_locate(f, off + 48 + 20, &start, &coff,
					      &hlen, &proto), -EPROTONOSUPPORT);
}

static void test_refused(void **state)
{
	uint16_t start, coff, hlen;
	uint8_t proto;
	size_t l4;

	eth(0x0806, false);	/* ARP */
	assert_int_equal(netif_csum_locate(f, 60, &start, &coff, &hlen,
					      &proto), -EPROTONOSUPPORT);
	l4 = ipv4(eth(0x0800, false), IPPROTO_ICMP, 5);
	assert_int_equal(netif_csum_locate(f, l4 + 8, &start, &coff, &hlen,
					      &proto), -EPROTONOSUPPORT);
	ipv4(eth(0x0800, false), IPPROTO_TCP, 3);	/* ihl < 5 */
	assert_int_equal(netif_csum_locate(f, 100, &start, &coff, &hlen,
					      &proto), -EINVAL);
	assert_int_equal(netif_csum_locate(f, 10, &start, &coff, &hlen,
					      &proto), -EINVAL);
	l4 = ipv4(eth(0x0800, false), IPPROTO_UDP, 5);
	f[14 + 6] = 0x20;	/* more fragments */
	assert_int_equal(netif_csum_locate(f, l4 + 8, &start, &coff, &hlen,
					      &proto), -EPROTONOSUPPORT);
}

static void test_finish(void **state)
{
	/* ones' complement sum over the L4 part must come out as all ones */
	uint8_t b[64];
	uint32_t sum = 0;

	for (unsigned int i = 0; i < sizeof(b); i++)
		b[i] = (uint8_t)(i * 7 + 3);
	b[16] = b[17] = 0;	/* the checksum field, seeded with 0 */
	assert_int_equal(netif_csum_finish(b, 63, 0, 16), 0);
	for (unsigned int i = 0; i + 1 < 63; i += 2)
		sum += (uint32_t)(b[i] << 8 | b[i + 1]);
	sum += (uint32_t)b[62] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	assert_int_equal(sum, 0xffff);
	assert_int_equal(netif_csum_finish(b, 10, 0, 16), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipv4_tcp),
		cmocka_unit_test(test_vlan_udp),
		cmocka_unit_test(test_ipv6_ext),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_finish),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
