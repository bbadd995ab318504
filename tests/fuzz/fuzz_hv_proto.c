/*
 * Fuzz harness of pvio-hv's control protocol as a process domain speaks
 * it: a domain is created and attached through a real connection (a
 * socketpair handed to hv_client_new), then the input is a sequence of
 * packets it sends (any op, length, payload, a passed fd or none, a
 * header that lies), each taken by hv_client_readable exactly as hv's
 * loop would, with every reply read and checked (one per request, op and
 * seq echoed, length within bounds). The honest domain's RAM stays
 * guarded in hv (fuzz_hv_world.c). At the end the connection drops and
 * hv must be back to its state before: no mapping, no port, no domain,
 * no pin on the honest domain's grants.
 *
 * Built with clang -fsanitize=fuzzer it is a libFuzzer target; otherwise
 * main() runs a deterministic smoke campaign as a unit test.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz_hv_world.h"
#include "fuzz_in.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ATT_PAGES	256

static struct fh_dom att;
static uint8_t pkt[HV_MSG_MAX + 64];
static uint64_t nr_requests;

/* A domain id an attacker might name. */
static uint32_t pick_dom(struct in *in)
{
	uint8_t b = byte(in);

	switch (b & 7) {
	case 0:
		return 0;
	case 1:
		return fh_honest.id;
	case 2:
	case 3:
		return att.id;
	case 4:
		return PVIO_DOMID_SELF;
	case 5:
		return PVIO_DOMID_FIRST_RESERVED + (b >> 3);
	case 6:
		return u32(in);
	default:
		return att.id + 1 + (b >> 3);	/* not (yet) a domain */
	}
}

static uint32_t pick_ref(struct in *in)
{
	uint8_t b = byte(in);

	switch (b >> 6) {
	case 0:
		return b & 31;
	case 1:
		return FH_HONEST_REFS + (b & 7);
	case 2:
		return 32768 - 2 + (b & 3);
	default:
		return u32(in);
	}
}

/* The payload of @op, plausible from a few input bytes; its length. */
static size_t payload(struct in *in, uint32_t op, uint8_t *p)
{
	size_t n = 0;

	switch (op) {
	case HV_OP_GNTTAB_SETUP: {
		struct hv_gnttab_setup s = { .nr_frames = byte(in) % 70 };

		memcpy(p, &s, sizeof(s));
		n = sizeof(s);
		for (uint32_t i = 0; i < s.nr_frames; i++, n += 8) {
			uint64_t g = byte(in) % 8 ? i : u32(in);

			memcpy(p + n, &g, 8);
		}
		if (byte(in) % 8 == 0)
			n -= 8;	/* a short list */
		return n;
	}
	case HV_OP_GNTTAB_MAP: {
		unsigned int k = 1 + byte(in) % 64;

		for (unsigned int i = 0; i < k; i++) {
			struct pvio_gnttab_map_op o = {
				.ref = pick_ref(in), .dom = (uint16_t)pick_dom(in),
				.flags = byte(in) & 0x0f,
			};

			memcpy(p + n, &o, sizeof(o));
			n += sizeof(o);
		}
		return n;
	}
	case HV_OP_GNTTAB_UNMAP: {
		unsigned int k = 1 + byte(in) % 64;

		for (unsigned int i = 0; i < k; i++) {
			struct pvio_gnttab_unmap_op o = {
				.handle = byte(in) % 4 ? byte(in) : u32(in),
			};

			memcpy(p + n, &o, sizeof(o));
			n += sizeof(o);
		}
		return n;
	}
	case HV_OP_GNTTAB_COPY: {
		uint32_t k = 1 + byte(in) % 16;
		struct hv_copy_op *o = (struct hv_copy_op *)(p + 8);

		if (byte(in) % 16 == 0)
			k = u32(in);
		memcpy(p, &k, 4);
		memset(p + 4, 0, 4);
		n = 8;
		for (uint32_t i = 0; i < k && i < 16; i++) {
			memset(&o[i], 0, sizeof(o[i]));
			o[i].ref = pick_ref(in);
			o[i].dom = (uint16_t)pick_dom(in);
			o[i].offset = (uint16_t)(byte(in) * 17);
			o[i].len = (uint16_t)(byte(in) * 17);
			o[i].to_grant = byte(in) & 1;
			n += sizeof(o[i]);
		}
		/* data for the copies into grants, as much as the input says */
		for (unsigned int d = byte(in) * 16; d && n < HV_PAYLOAD_MAX; d--)
			p[n++] = 0xa5;
		return n;
	}
	case HV_OP_EVTCHN_ALLOC_UNBOUND:
	case HV_OP_EVTCHN_BIND_INTERDOMAIN:
	case HV_OP_EVTCHN_CLOSE:
	case HV_OP_EVTCHN_FDS:
	case HV_OP_EVTCHN_MASK:
	case HV_OP_EVTCHN_UNMASK:
	case HV_OP_EVTCHN_SEND: {
		struct hv_evtchn_arg a = {
			.dom = pick_dom(in),
			.port = byte(in) % 8 ? byte(in) % 16 : u32(in),
		};

		memcpy(p, &a, sizeof(a));
		return sizeof(a);
	}
	case HV_OP_EVTCHN_STATUS: {
		struct pvio_evtchn_status st;

		memset(&st, 0, sizeof(st));
		st.dom = (uint16_t)pick_dom(in);
		st.port = byte(in) % 16;
		memcpy(p, &st, sizeof(st));
		return sizeof(st);
	}
	default: {
		struct hv_domid_arg a = { .domid = pick_dom(in), .arg = byte(in) };

		memcpy(p, &a, sizeof(a));
		return sizeof(a);
	}
	}
}

/*
 * One packet from the domain; false once hv closed the connection. Each
 * packet is described by its own slice of the input (a length byte, then
 * that many bytes), so a mutation stays within one packet.
 */
static bool send_one(struct in *whole, uint32_t seq)
{
	size_t plen = byte(whole) + 2u;
	struct in slice = { whole->p, plen < whole->n ? plen : whole->n };
	struct in *in = &slice;
	uint8_t kind, flags;
	struct hv_msg_hdr h = { .seq = seq };
	size_t len;
	union {
		char b[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} cm;
	struct iovec iov = { .iov_base = pkt };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	int fd = -1;

	whole->p += slice.n;
	whole->n -= slice.n;
	kind = byte(in);
	flags = byte(in);

	h.op = kind < 0xf0 ? 1u + kind % (HV_OP_COUNT - 1) : u32(in);
	if (flags & 0x80) {
		/* raw bytes of the input's choosing */
		len = (size_t)byte(in) * 4;
		for (size_t i = 0; i < len; i++)
			pkt[sizeof(h) + i] = byte(in);
	} else {
		len = payload(in, h.op, pkt + sizeof(h));
	}
	if (len > HV_PAYLOAD_MAX)
		len = HV_PAYLOAD_MAX;
	h.len = (uint32_t)len;
	if (flags & 1)
		h.len += 1 + (flags >> 4);	/* a header that lies */
	memcpy(pkt, &h, sizeof(h));
	iov.iov_len = sizeof(h) + len;
	if (flags & 2)
		iov.iov_len = byte(in) % sizeof(h);	/* shorter than a header */
	if (flags & 4) {
		/* an fd rides along: RAM-like memfd or an eventfd */
		fd = flags & 8 ? eventfd(0, EFD_CLOEXEC) :
			memfd_create("fuzz", MFD_CLOEXEC | MFD_ALLOW_SEALING);
		if (fd >= 0 && !(flags & 8) &&
		    ftruncate(fd, (off_t)ATT_PAGES * PVIO_PAGE_SIZE) < 0) {
			close(fd);
			fd = -1;
		}
		if (fd >= 0) {
			struct cmsghdr *c;

			msg.msg_control = cm.b;
			msg.msg_controllen = sizeof(cm.b);
			c = CMSG_FIRSTHDR(&msg);
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(c), &fd, sizeof(int));
		}
	}
	if (sendmsg(att.peer, &msg, MSG_NOSIGNAL) < 0) {
		if (fd >= 0)
			close(fd);
		return false;
	}
	if (fd >= 0)
		close(fd);
	nr_requests++;
	hv_client_readable(att.c);
	if (!hv_client_alive(att.c))
		return false;
	fh_drain(&att, h.op, seq);
	return att.c->domid != PVIO_DOMID_INVALID;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct in in = { data, size };
	uint64_t gfn[4] = { 0, 1, 2, 3 };
	uint32_t seq = 1;

	if (!fh_honest.d)
		fh_init();
	fh_dom_new(&att, "attacker", ATT_PAGES);
	/* a grant table of its own, some grants to dom0 and to the honest */
	if (hv_gnttab_setup(att.d, gfn, 1 + byte(&in) % 4))
		fh_finding("attacker grant table");
	for (uint32_t r = 8; r < 24; r++) {
		struct pvio_grant_entry_v1 *e =
			(struct pvio_grant_entry_v1 *)att.ram + r;

		e->frame = byte(&in);
		e->domid = r & 1 ? 0 : fh_honest.id;
		e->flags = GTF_permit_access | (r & 2 ? GTF_readonly : 0);
	}
	while (in.n && seq < 2000 && send_one(&in, seq))
		seq++;
	fh_dom_gone(&att);
	fh_check_clean();
	return 0;
}

#ifndef PVIO_LIBFUZZER
static uint64_t rs = 0xd1b54a32d192ed03ull;

static uint8_t rnd8(void)
{
	rs ^= rs << 13;
	rs ^= rs >> 7;
	rs ^= rs << 17;
	return (uint8_t)rs;
}

int main(void)
{
	static uint8_t buf[1024];
	unsigned int runs = 3000;

	fh_quiet();
	for (unsigned int it = 0; it < runs; it++) {
		size_t n = 17, cap = 64 + rnd8() * 3;

		for (size_t i = 0; i < n; i++)
			buf[i] = rnd8();
		/* packets: mostly well formed (no lie, no raw bytes) */
		while (n + 48 < cap) {
			uint8_t plen = (uint8_t)(8 + rnd8() % 40);

			buf[n++] = plen;
			buf[n++] = rnd8();			/* op */
			buf[n++] = rnd8() % 8 ? rnd8() & 0x0c : rnd8();
			for (unsigned int i = 0; i < plen; i++)
				buf[n++] = rnd8();
		}
		LLVMFuzzerTestOneInput(buf, n);
	}
	printf("fuzz smoke: %u domains, %llu requests to hv, no finding\n",
	       runs, (unsigned long long)nr_requests);
	if (nr_requests < runs * 2ull)
		fh_finding("the smoke campaign barely spoke to hv");
	return 0;
}
#endif
