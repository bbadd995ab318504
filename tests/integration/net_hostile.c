/*
 * A hostile frontend: a process domain that writes malformed tx requests
 * straight into its vif's ring and checks that pvio-netback answers each
 * with an error, counts it in the store, keeps serving good packets, and
 * disconnects the vif (with an error node) when the ring indices lie.
 *
 *   net_hostile BRIDGE     (PVIO_RUNDIR / XENSTORED_PATH from pvio-test.sh)
 * Exit 0 pass, 1 fail.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pvio/libpvio.h"
#include "pvio/netfront.h"
#include "pvio/xenbus.h"
#include "pvio/vif.h"

#define FAIL(...) do { fprintf(stderr, "FAIL: " __VA_ARGS__); \
		       fprintf(stderr, "\n"); exit(1); } while (0)

static struct netfront *nf;
static uint16_t next_id = 1;

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static struct netif_tx_request slot(uint32_t gref, uint16_t off, uint16_t size,
				    uint16_t flags)
{
	struct netif_tx_request r = {
		.gref = gref, .offset = off, .flags = flags, .id = next_id++,
		.size = size,
	};

	return r;
}

/* Push @n slots, wait for @n responses, return how many were errors. */
static int push_and_count(const char *what, union netif_tx_slot *s,
			  unsigned int n, int *okays)
{
	struct netif_tx_response rsp[64];
	unsigned int got = 0;
	int errors = 0, nulls = 0;

	*okays = 0;
	if (netfront_test_tx_raw(nf, 0, s, n))
		FAIL("%s: cannot push", what);
	for (int t = 0; t < 2000 && got < n; t++) {
		int k = netfront_test_tx_responses(nf, 0, rsp + got, 64 - got);

		got += (unsigned int)k;
		if (!k)
			sleep_ms(1);
	}
	if (got != n)
		FAIL("%s: %u responses for %u slots", what, got, n);
	for (unsigned int i = 0; i < got; i++) {
		if (rsp[i].status == XEN_NETIF_RSP_ERROR ||
		    rsp[i].status == XEN_NETIF_RSP_DROPPED)
			errors++;
		else if (rsp[i].status == XEN_NETIF_RSP_NULL)
			nulls++;
		else if (rsp[i].status == XEN_NETIF_RSP_OKAY)
			(*okays)++;
	}
	printf("%-28s %u slots: %d error, %d null, %d okay\n", what, n, errors,
	       nulls, *okays);
	return errors;
}

int main(int argc, char **argv)
{
	struct pvio_dom *d;
	struct xs_handle *xs0, *xs;
	struct netspec ns;
	union netif_tx_slot s[32];
	char spec[64], err[128], bedir[96], path[160];
	int devid, ok, ret;
	uint32_t g0;
	void *page;
	long long dropped = 0;

	if (argc != 2)
		FAIL("usage: net_hostile BRIDGE");
	ret = pvio_dom_create_self(NULL, "hostile", 64 << 20, &d);
	if (ret)
		FAIL("create domain: %s", strerror(-ret));
	ret = xs_open(NULL, &xs0);
	if (ret)
		FAIL("store: %s", strerror(-ret));
	snprintf(spec, sizeof(spec), "bridge=%s", argv[1]);
	if (netspec_parse(spec, &ns, err, sizeof(err)))
		FAIL("%s", err);
	if (netvif_attach(xs0, pvio_dom_id(d), &ns, &devid))
		FAIL("attach");
	ret = xs_open_domain(d, &xs);
	if (ret)
		FAIL("domain store: %s", strerror(-ret));
	ret = netfront_open(d, xs, (unsigned int)devid, NULL, 10000, &nf);
	if (ret)
		FAIL("netfront: %s", strerror(-ret));
	snprintf(bedir, sizeof(bedir), "/local/domain/0/backend/vif/%u/%d",
		 pvio_dom_id(d), devid);

	g0 = netfront_test_tx_page(nf, 0, 0, &page);
	/* a real broadcast frame in page 0, for the good packets */
	memset(page, 0xff, 6);
	memset((char *)page + 6, 0x02, 6);
	((uint8_t *)page)[12] = 0x88;
	((uint8_t *)page)[13] = 0xb5;	/* local experimental ethertype */

	/* 1: size 0 */
	s[0].req = slot(g0, 0, 0, 0);
	if (push_and_count("size 0", s, 1, &ok) != 1)
		FAIL("size 0 not refused");
	/* 2: offset + size beyond the page */
	s[0].req = slot(g0, 4000, 200, 0);
	if (push_and_count("beyond page", s, 1, &ok) != 1)
		FAIL("offset+size beyond page not refused");
	/* 3: a grant that does not exist */
	s[0].req = slot(30000, 0, 60, 0);
	if (push_and_count("bad grant", s, 1, &ok) != 1)
		FAIL("bad grant not refused");
	/* 4: 19 slots */
	s[0].req = slot(g0, 0, 19 * 60, NETTXF_more_data);
	for (unsigned int i = 1; i < 19; i++)
		s[i].req = slot(g0, 0, 60, i < 18 ? NETTXF_more_data : 0);
	if (push_and_count("19 slots", s, 19, &ok) != 19)
		FAIL("19-slot packet not refused in full");
	/* 5: extra info of an unknown type */
	s[0].req = slot(g0, 0, 60, NETTXF_extra_info);
	memset(&s[1], 0, sizeof(s[1]));
	s[1].extra.type = 77;
	if (push_and_count("unknown extra", s, 2, &ok) != 1)
		FAIL("unknown extra not refused");
	/* 6: later slots larger than the packet */
	s[0].req = slot(g0, 0, 100, NETTXF_more_data);
	s[1].req = slot(g0, 0, 4000, 0);
	if (push_and_count("slots exceed packet", s, 2, &ok) != 2)
		FAIL("inconsistent sizes not refused");
	/* 7: a good packet still goes through */
	s[0].req = slot(g0, 0, 60, 0);
	if (push_and_count("good packet", s, 1, &ok) != 0 || ok != 1)
		FAIL("good packet refused");

	/* the drops are counted where the toolstack can read them */
	snprintf(path, sizeof(path), "%s/statistics/tx-dropped", bedir);
	for (int t = 0; t < 50; t++) {
		if (!xs_read_int(xs0, XS_TXN_NULL, path, &dropped) && dropped >= 6)
			break;
		sleep_ms(100);
	}
	printf("statistics/tx-dropped = %lld\n", dropped);
	if (dropped != 6)
		FAIL("expected 6 drops counted, store says %lld", dropped);

	/* 8: a req_prod far beyond the ring: the vif is disconnected */
	netfront_test_set_tx_prod(nf, 0, 100000);
	snprintf(path, sizeof(path), "%s/error", bedir);
	for (int t = 0; t < 50; t++) {
		char *val = NULL;
		size_t len;

		if (!xs_read(xs0, XS_TXN_NULL, path, &val, &len)) {
			printf("error node: %s\n", val);
			free(val);
			goto disconnected;
		}
		sleep_ms(100);
	}
	FAIL("no error node after a ring protocol violation");
disconnected:
	netfront_close(nf);
	netvif_detach(xs0, pvio_dom_id(d), devid, 5000);
	xs_close(xs);
	{
		struct pvio_hv *hv;
		pvio_domid_t id = pvio_dom_id(d);

		pvio_dom_detach(d);
		if (!pvio_hv_open(NULL, &hv)) {
			pvio_domain_destroy(hv, id);
			pvio_hv_close(hv);
		}
	}
	xs_close(xs0);
	printf("hostile frontend: all refused\n");
	return 0;
}
