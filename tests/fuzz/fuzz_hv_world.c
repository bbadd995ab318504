/*
 * pvio-hv inside a fuzz harness: see fuzz_hv_world.h.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz_hv_world.h"
#include "../../grant/gnttab_pin.h"

struct fh_dom fh_honest;
static unsigned int base_ports;

void fh_finding(const char *fmt, ...)
{
	va_list ap;

	printf("FINDING: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	abort();
}

void fh_quiet(void)
{
	if (!getenv("PVIO_FUZZ_VERBOSE") && !freopen("/dev/null", "w", stderr))
		perror("/dev/null");
	setvbuf(stdout, NULL, _IOLBF, 0);
}

void fh_dom_new(struct fh_dom *fd, const char *name, unsigned int pages)
{
	struct pvio_domain_config cfg;
	struct hv_attach_reply rep;
	size_t bytes = (size_t)pages * PVIO_PAGE_SIZE;
	int sv[2], ram;

	memset(fd, 0, sizeof(*fd));
	memset(&cfg, 0, sizeof(cfg));
	snprintf(cfg.name, sizeof(cfg.name), "%s", name);
	cfg.type = PVIO_DOMTYPE_PROCESS;
	cfg.vcpus = 1;
	cfg.mem_bytes = bytes;
	if (hv_domain_create(&cfg, &fd->id) < 0)
		fh_finding("cannot create domain %s", name);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		fh_finding("socketpair");
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	fd->c = hv_client_new(sv[0]);
	fd->peer = sv[1];
	ram = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (!fd->c || ram < 0 || ftruncate(ram, (off_t)bytes) < 0)
		fh_finding("domain %s: client or RAM", name);
	fd->ram = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, ram, 0);
	if (fd->ram == MAP_FAILED)
		fh_finding("domain %s: mmap", name);
	/* as HV_OP_ATTACH does: hv keeps the fd as the domain's RAM */
	if (hv_domain_attach(fd->c, fd->id, ram, &rep))
		fh_finding("domain %s: attach", name);
	fd->d = hv_domain_get(fd->id);
	fd->nr_pages = pages;
}

void fh_dom_gone(struct fh_dom *fd)
{
	if (fd->c && hv_client_alive(fd->c))
		hv_client_drop(fd->c);
	fd->c = NULL;
	close(fd->peer);
	if (fd->ram)
		munmap(fd->ram, (size_t)fd->nr_pages * PVIO_PAGE_SIZE);
	fd->ram = NULL;
	fd->d = NULL;
}

void fh_drain(struct fh_dom *fd, uint32_t op, uint32_t seq)
{
	static uint8_t buf[HV_MSG_MAX + 16];

	for (;;) {
		union {
			char b[CMSG_SPACE(sizeof(int) * 8)];
			struct cmsghdr align;
		} cm;
		struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
		struct msghdr msg = {
			.msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = cm.b, .msg_controllen = sizeof(cm.b),
		};
		struct hv_msg_hdr h;
		ssize_t n = recvmsg(fd->peer, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);

		if (n <= 0)
			return;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c;
		     c = CMSG_NXTHDR(&msg, c)) {
			size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

			for (size_t i = 0; i < k; i++) {
				int f;

				memcpy(&f, CMSG_DATA(c) + i * sizeof(int), sizeof(f));
				close(f);
			}
		}
		if ((size_t)n < sizeof(h))
			fh_finding("a reply of %zd bytes", n);
		memcpy(&h, buf, sizeof(h));
		if (h.len != (size_t)n - sizeof(h) || h.len > HV_PAYLOAD_MAX)
			fh_finding("reply length %u in a packet of %zd", h.len, n);
		if (h.op != op || h.seq != seq)
			fh_finding("reply to op %u seq %u, sent op %u seq %u",
				   h.op, h.seq, op, seq);
	}
}

static char dir[] = "/tmp/pvio-fuzz-hv.XXXXXX";

/* The run dir and what hv left in it (hv.next-domid): files only. */
static void fh_cleanup(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	while (d && (e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			unlinkat(dirfd(d), e->d_name, 0);
	if (d)
		closedir(d);
	rmdir(dir);
}

void fh_init(void)
{
	uint64_t gfn = 0;
	struct pvio_grant_entry_v1 *gnt;

	if (!mkdtemp(dir))
		fh_finding("mkdtemp");
	atexit(fh_cleanup);
	hv_rundir = dir;	/* no store.sock there: releases go nowhere */
	hv_domain_init();
	if (hv_loop_init(NULL) < 0)
		fh_finding("loop");
	fh_dom_new(&fh_honest, "honest", 256);
	if (hv_gnttab_setup(fh_honest.d, &gfn, 1))
		fh_finding("honest grant table");
	gnt = (struct pvio_grant_entry_v1 *)fh_honest.ram;
	for (uint32_t r = FH_HONEST_REFS; r < 2 * FH_HONEST_REFS; r++) {
		gnt[r].frame = 10 + r;
		gnt[r].domid = 0;
		gnt[r].flags = GTF_permit_access;
	}
	/* every page but the grant table: hv may never touch them */
	if (mprotect(fh_honest.d->ram + PVIO_PAGE_SIZE,
		     (fh_honest.nr_pages - 1) * PVIO_PAGE_SIZE, PROT_NONE))
		fh_finding("mprotect");
	base_ports = hv_nr_ports;
}

void fh_check_clean(void)
{
	struct pvio_grant_entry_v1 *gnt =
		(struct pvio_grant_entry_v1 *)fh_honest.ram;

	if (hv_gnttab_nr_maps())
		fh_finding("%u mappings left", hv_gnttab_nr_maps());
	if (hv_nr_ports != base_ports)
		fh_finding("%u ports open, %u before", hv_nr_ports, base_ports);
	if (hv_domain_count() != 1)
		fh_finding("%u domains left", hv_domain_count());
	const uint64_t *pins = fh_honest.d->pin ?
			       gnttab_pin_words(fh_honest.d->pin) : NULL;

	for (uint32_t r = 0; r < 2 * FH_HONEST_REFS; r++)
		if ((pins && (GNTTAB_PIN_RD(pins[r]) || GNTTAB_PIN_WR(pins[r]))) ||
		    (gnt[r].flags & (GTF_reading | GTF_writing)))
			fh_finding("honest ref %u still pinned", r);
}
