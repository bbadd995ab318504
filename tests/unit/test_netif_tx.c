/*
 * Unit tests of netback's tx request validation: good packets with extras
 * and fragments, every class of malformed request, and incomplete chains.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "netif_tx.h"

static union netif_tx_slot s[NETIF_TX_WINDOW + 8];
static struct netif_tx_pkt pkt;

static void req(unsigned int i, uint16_t id, uint16_t off, uint16_t size,
		uint16_t flags)
{
	memset(&s[i], 0, sizeof(s[i]));
	s[i].req.gref = 100 + i;
	s[i].req.id = id;
	s[i].req.offset = off;
	s[i].req.size = size;
	s[i].req.flags = flags;
}

static void gso(unsigned int i, uint8_t type, uint16_t mss, uint8_t flags)
{
	memset(&s[i], 0, sizeof(s[i]));
	s[i].extra.type = XEN_NETIF_EXTRA_TYPE_GSO;
	s[i].extra.flags = flags;
	s[i].extra.u.gso.type = type;
	s[i].extra.u.gso.size = mss;
}

static void test_single(void **state)
{
	req(0, 7, 100, 60, 0);
	assert_int_equal(netif_tx_parse(s, 1, &pkt), 1);
	assert_int_equal(pkt.err, NETIF_TX_OK);
	assert_int_equal(pkt.len, 60);
	assert_int_equal(pkt.nr_data, 1);
	assert_int_equal(pkt.ids[0], 7);
}

static void test_sg_gso(void **state)
{
	req(0, 1, 0, 9000, NETTXF_csum_blank | NETTXF_extra_info |
	    NETTXF_more_data);
	gso(1, XEN_NETIF_GSO_TYPE_TCPV4, 1448, 0);
	req(2, 2, 0, 4096, NETTXF_more_data);
	req(3, 3, 0, 904, 0);
	req(4, 9, 0, 60, 0);	/* the next packet */
	assert_int_equal(netif_tx_parse(s, 5, &pkt), 4);
	assert_int_equal(pkt.err, NETIF_TX_OK);
	assert_int_equal(pkt.nr_data, 3);
	assert_int_equal(pkt.nr_extras, 1);
	assert_int_equal(pkt.req[0].size, 4000);	/* what the rest leaves */
	assert_int_equal(pkt.gso_type, XEN_NETIF_GSO_TYPE_TCPV4);
	assert_int_equal(pkt.gso_size, 1448);
	assert_int_equal(pkt.ids[2], 3);
}

static void test_incomplete(void **state)
{
	req(0, 1, 0, 3000, NETTXF_more_data);
	req(1, 2, 0, 1000, NETTXF_more_data);
	assert_int_equal(netif_tx_parse(s, 2, &pkt), 0);
	assert_int_equal(pkt.err, NETIF_TX_OK);
	req(0, 1, 0, 3000, NETTXF_extra_info);
	assert_int_equal(netif_tx_parse(s, 1, &pkt), 0);
	assert_int_equal(netif_tx_parse(s, 0, &pkt), 0);
}

static void expect_err(unsigned int n, unsigned int slots,
		       enum netif_tx_err err)
{
	assert_int_equal(netif_tx_parse(s, n, &pkt), slots);
	assert_int_equal(pkt.err, err);
}

static void test_bad_size(void **state)
{
	req(0, 1, 0, 0, 0);
	expect_err(1, 1, NETIF_TX_ESIZE);
	req(0, 1, 0, 13, 0);
	expect_err(1, 1, NETIF_TX_ESIZE);
	/* later slots claim more than the whole packet */
	req(0, 1, 0, 100, NETTXF_more_data);
	req(1, 2, 0, 100, 0);
	expect_err(2, 2, NETIF_TX_ESIZE);
}

static void test_beyond_page(void **state)
{
	req(0, 1, 4000, 200, 0);
	expect_err(1, 1, NETIF_TX_EPAGE);
	req(0, 1, 0, 5000, NETTXF_more_data);
	req(1, 2, 4095, 2, 0);
	expect_err(2, 2, NETIF_TX_EPAGE);
	/* a first slot that would need more than a page */
	req(0, 1, 0, 6000, NETTXF_more_data);
	req(1, 2, 0, 100, 0);
	expect_err(2, 2, NETIF_TX_EPAGE);
}

static void test_too_many_slots(void **state)
{
	unsigned int i;

	req(0, 0, 0, 19 * 100, NETTXF_more_data);
	for (i = 1; i < 19; i++)
		req(i, i, 0, 100, i < 18 ? NETTXF_more_data : 0);
	expect_err(19, 19, NETIF_TX_ESLOTS);
	/* exactly 18 is fine */
	req(0, 0, 0, 18 * 100, NETTXF_more_data);
	req(17, 17, 0, 100, 0);
	expect_err(18, 18, NETIF_TX_OK);
	/* a chain that never ends within the window: fatal */
	for (i = 0; i < NETIF_TX_WINDOW; i++)
		req(i, i, 0, 100, NETTXF_more_data);
	assert_int_equal(netif_tx_parse(s, NETIF_TX_WINDOW, &pkt), 0);
	assert_int_equal(pkt.err, NETIF_TX_EFATAL);
}

static void test_bad_extra(void **state)
{
	req(0, 1, 0, 100, NETTXF_extra_info | NETTXF_csum_blank);
	memset(&s[1], 0, sizeof(s[1]));
	s[1].extra.type = 77;
	expect_err(2, 2, NETIF_TX_EEXTRA);
	s[1].extra.type = XEN_NETIF_EXTRA_TYPE_NONE;
	expect_err(2, 2, NETIF_TX_EEXTRA);
	/* two GSO extras */
	gso(1, XEN_NETIF_GSO_TYPE_TCPV4, 1000, XEN_NETIF_EXTRA_FLAG_MORE);
	gso(2, XEN_NETIF_GSO_TYPE_TCPV4, 1000, 0);
	expect_err(3, 3, NETIF_TX_EEXTRA);
	/* bad GSO type, zero MSS, GSO without a partial checksum */
	gso(1, 9, 1000, 0);
	expect_err(2, 2, NETIF_TX_EGSO);
	gso(1, XEN_NETIF_GSO_TYPE_TCPV6, 0, 0);
	expect_err(2, 2, NETIF_TX_EGSO);
	req(0, 1, 0, 100, NETTXF_extra_info);
	gso(1, XEN_NETIF_GSO_TYPE_TCPV6, 1000, 0);
	expect_err(2, 2, NETIF_TX_EGSO);
	/* an ignored multicast extra is fine */
	req(0, 1, 0, 100, NETTXF_extra_info);
	memset(&s[1], 0, sizeof(s[1]));
	s[1].extra.type = XEN_NETIF_EXTRA_TYPE_MCAST_ADD;
	expect_err(2, 2, NETIF_TX_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_single),
		cmocka_unit_test(test_sg_gso),
		cmocka_unit_test(test_incomplete),
		cmocka_unit_test(test_bad_size),
		cmocka_unit_test(test_beyond_page),
		cmocka_unit_test(test_too_many_slots),
		cmocka_unit_test(test_bad_extra),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
