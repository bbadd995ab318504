// SPDX-License-Identifier: MIT
/*
 * `pvio bench blk --disk SPEC`: the pvio stack on any xl disk spec (an NBD
 * URI, an rbd: image, a qcow2 or other QEMU image, a raw file) against the
 * same store read without pvio, in alternating rounds:
 *   NBD URI          fio's nbd engine on the same URI
 *   QEMU format      fio's nbd engine on the same qemu-storage-daemon
 *                    export that blkback serves the disk from (pvio-export)
 *   rbd:pool/image   fio's rbd engine on the same image
 *   raw file         the generator on native io_uring (O_DIRECT)
 * Each round runs both paths for --round-seconds, the order flipping every
 * round; the figures are the medians over the rounds, and the spread is the
 * min..max of the per-round pvio/native IOPS ratio.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pvio/libpvio.h"
#include "pvio/xenbus.h"
#include "../tools/xlcfg/xlcfg.h"
#include "blkbench.h"

#define MAX_ROUNDS	64

enum native_kind { NATIVE_URING, NATIVE_FIO_NBD, NATIVE_FIO_RBD };

struct disk_plan {
	struct xlcfg_disk d;
	enum native_kind kind;
	bool qdisk;
	char uri[1024];			/* NBD */
	char pool[128], image[256];	/* RBD */
	char conf[256], id[64];
	char engine_args[1600];
	const char *native_name;
};

/* rbd:pool/image[:conf=PATH][:id=USER]: what fio's rbd engine needs. */
static int rbd_target(const char *t, struct disk_plan *p)
{
	const char *s = t + 4, *slash = strchr(s, '/'), *colon;
	size_t n;

	if (!slash || slash == s)
		return -EINVAL;
	n = (size_t)(slash - s);
	if (n >= sizeof(p->pool))
		return -EINVAL;
	memcpy(p->pool, s, n);
	p->pool[n] = 0;
	s = slash + 1;
	colon = strchr(s, ':');
	n = colon ? (size_t)(colon - s) : strlen(s);
	if (!n || n >= sizeof(p->image) || memchr(s, '/', n) || memchr(s, '@', n))
		return -EINVAL;	/* namespaces and snapshots: fio cannot */
	memcpy(p->image, s, n);
	p->image[n] = 0;
	while (colon) {
		const char *v = colon + 1, *end = strchr(v, ':');
		size_t len = end ? (size_t)(end - v) : strlen(v);

		if (!strncmp(v, "conf=", 5) && len - 5 < sizeof(p->conf))
			snprintf(p->conf, sizeof(p->conf), "%.*s", (int)(len - 5), v + 5);
		else if (!strncmp(v, "id=", 3) && len - 3 < sizeof(p->id))
			snprintf(p->id, sizeof(p->id), "%.*s", (int)(len - 3), v + 3);
		colon = end;
	}
	return 0;
}

static int plan(const char *spec, struct disk_plan *p)
{
	char err[256], full[1200];
	int rc;

	memset(p, 0, sizeof(*p));
	snprintf(full, sizeof(full), "%s%s",
		 strstr(spec, "vdev=") ? "" : "vdev=xvda,", spec);
	rc = xlcfg_disk_parse(full, &p->d, err, sizeof(err));
	if (rc) {
		/* a positional spec names its vdev itself */
		rc = xlcfg_disk_parse(spec, &p->d, err, sizeof(err));
		if (rc) {
			fprintf(stderr, "bench blk: --disk: %s\n", err);
			return rc;
		}
	}
	if (strchr(p->d.target, '\'')) {
		fprintf(stderr, "bench blk: --disk: a quote in the target\n");
		return -EINVAL;
	}
	p->qdisk = strcmp(p->d.format, "raw") || !strcmp(p->d.backendtype, "qdisk");
	if (!strncmp(p->d.target, "nbd", 3)) {
		p->kind = NATIVE_FIO_NBD;
		snprintf(p->uri, sizeof(p->uri), "%s", p->d.target);
		p->native_name = "fio nbd engine, same URI";
	} else if (!strncmp(p->d.target, "rbd:", 4)) {
		p->kind = NATIVE_FIO_RBD;
		if (rbd_target(p->d.target, p)) {
			fprintf(stderr, "bench blk: --disk: want rbd:pool/image[:conf=PATH][:id=USER]\n");
			return -EINVAL;
		}
		p->native_name = "fio rbd engine, same image";
	} else if (p->qdisk) {
		p->kind = NATIVE_FIO_NBD;	/* the URI comes once attached */
		p->native_name = "fio nbd engine, same qemu-storage-daemon export";
	} else {
		p->kind = NATIVE_URING;
		p->native_name = "io_uring O_DIRECT, same file";
	}
	return 0;
}

/* The NBD URI blkback serves a qdisk from (backend key pvio-export). */
static int export_uri(const char *rundir, unsigned int domid, char *out,
		      size_t size)
{
	struct xs_handle *xs;
	char sock[PATH_MAX], path[128], *v = NULL;
	int rc;

	snprintf(sock, sizeof(sock), "%s/store.sock", rundir);
	rc = xs_open(sock, &xs);
	if (rc)
		return rc;
	snprintf(path, sizeof(path),
		 "/local/domain/0/backend/vbd/%u/51712/pvio-export", domid);
	rc = xs_read(xs, XS_TXN_NULL, path, &v, NULL);
	xs_close(xs);
	if (rc)
		return rc;
	snprintf(out, size, "%s", v);
	free(v);
	return 0;
}

static void fio_args(struct disk_plan *p)
{
	if (p->kind == NATIVE_FIO_NBD) {
		snprintf(p->engine_args, sizeof(p->engine_args),
			 "--ioengine=nbd --uri='%s'", p->uri);
	} else if (p->kind == NATIVE_FIO_RBD) {
		snprintf(p->engine_args, sizeof(p->engine_args),
			 "--ioengine=rbd --clientname=%s --pool=%s --rbdname=%s",
			 p->id[0] ? p->id : "admin", p->pool, p->image);
		/* fio's rbd engine reads $CEPH_CONF */
		if (p->conf[0])
			setenv("CEPH_CONF", p->conf, 1);
	}
}

static double median(double *v, unsigned int n)
{
	for (unsigned int i = 1; i < n; i++)
		for (unsigned int j = i; j && v[j] < v[j - 1]; j--) {
			double t = v[j];

			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	if (!n)
		return 0;
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Medians of each figure over the rounds. */
static void med(const struct blkbench_result *r, unsigned int n,
		struct blkbench_result *out)
{
	double a[MAX_ROUNDS], b[MAX_ROUNDS], c[MAX_ROUNDS], d[MAX_ROUNDS];
	unsigned int k = 0;

	for (unsigned int i = 0; i < n; i++) {
		if (!r[i].valid)
			continue;
		a[k] = r[i].iops;
		b[k] = r[i].mbps;
		c[k] = r[i].lat_p50_us;
		d[k] = r[i].lat_p99_us;
		k++;
	}
	memset(out, 0, sizeof(*out));
	out->iops = median(a, k);
	out->mbps = median(b, k);
	out->lat_p50_us = median(c, k);
	out->lat_p99_us = median(d, k);
	out->valid = k > 0;
}

/* One round of a target in the generator. */
static int gen_round(const struct blkbench_opts *o,
		     const struct blkbench_target *tg, unsigned int secs,
		     struct blkbench_result *res)
{
	struct blkbench_acc acc;
	int rc;

	if (blkbench_acc_init(&acc))
		return -ENOMEM;
	rc = blkbench_generate(o, tg, secs, &acc);
	blkbench_acc_result(&acc, res);
	blkbench_acc_free(&acc);
	return rc;
}

static int native_round(const struct blkbench_opts *o, struct disk_plan *p,
			const struct blkbench_target *tna, unsigned int secs,
			struct blkbench_result *res)
{
	struct blkbench_fio_job j = {
		.engine_args = p->engine_args, .rw = blkbench_rw_name(o->rw),
		.bs = o->bs, .iodepth = o->iodepth, .numjobs = o->queues,
		.runtime = secs, .size = o->size,
	};

	if (p->kind == NATIVE_URING)
		return gen_round(o, tna, secs, res);
	return blkbench_fio(&j, res);
}

static void json_res(const char *name, const struct blkbench_result *r)
{
	printf("\"%s\": {\"iops\": %.0f, \"mbps\": %.1f, \"lat_p50_us\": %.1f, \"lat_p99_us\": %.1f}, ",
	       name, r->iops, r->mbps, r->lat_p50_us, r->lat_p99_us);
}

int blkbench_disk_run(struct blkbench_opts *o, const char *rundir,
		      const char *only, bool json)
{
	bool do_pv = strcmp(only, "native"), do_na = strcmp(only, "pvio");
	struct blkbench_result pv[MAX_ROUNDS], na[MAX_ROUNDS], mp, mn;
	struct blkbench_native *bn = NULL;
	const struct blkbench_target *tpv, *tna = NULL;
	struct blkbench_pvio *bp = NULL;
	double ratio[MAX_ROUNDS], rmin = 0, rmax = 0;
	unsigned int rounds, nr = 0;
	struct disk_plan p;
	int rc;

	if (plan(o->disk_spec, &p))
		return 2;
	if (!o->round_seconds)
		o->round_seconds = 2;
	rounds = o->runtime / o->round_seconds;
	if (rounds < 3)
		rounds = 3;	/* a median needs a few */
	if (rounds > MAX_ROUNDS)
		rounds = MAX_ROUNDS;
	if (p.kind == NATIVE_URING)
		o->file = p.d.target;
	rc = blkbench_pvio_open(o, rundir, &bp, &tpv);
	if (rc) {
		fprintf(stderr, "bench blk: pvio target on %s: %s\n", o->disk_spec,
			strerror(-rc));
		return 1;
	}
	/* never past the end of the disk */
	if (blkbench_pvio_bytes(bp) && o->size > blkbench_pvio_bytes(bp))
		o->size = blkbench_pvio_bytes(bp) - blkbench_pvio_bytes(bp) % o->bs;
	if (p.qdisk && p.kind == NATIVE_FIO_NBD) {
		rc = export_uri(rundir, blkbench_pvio_domid(bp), p.uri,
				sizeof(p.uri));
		if (rc) {
			fprintf(stderr, "bench blk: the backend shows no pvio-export for the qdisk: %s\n",
				strerror(-rc));
			goto out;
		}
	}
	fio_args(&p);
	if (p.kind == NATIVE_URING) {
		rc = blkbench_native_open(o, &bn, &tna);
		if (rc) {
			fprintf(stderr, "bench blk: native target: %s\n", strerror(-rc));
			goto out;
		}
	} else if (o->prefill) {
		/* holes and never-written clusters read as free zeroes */
		struct blkbench_fio_job j = {
			.engine_args = p.engine_args, .rw = "write", .bs = 1 << 20,
			.iodepth = 4, .numjobs = 1, .size = o->size,
		};
		struct blkbench_result r;

		if (!json)
			fprintf(stderr, "bench blk: writing %llu MiB through the native path first\n",
				(unsigned long long)(o->size >> 20));
		rc = blkbench_fio(&j, &r);
		if (rc) {
			fprintf(stderr, "bench blk: fio could not write %s (%s)\n",
				p.native_name, p.engine_args);
			goto out;
		}
	}
	if (!json)
		fprintf(stderr, "bench blk: --disk %s: %s bs=%u iodepth=%u queues=%u, %u rounds of %us per path; native = %s\n",
			o->disk_spec, blkbench_rw_name(o->rw), o->bs, o->iodepth,
			o->queues, rounds, o->round_seconds, p.native_name);
	/* warm both paths, then the rounds, the order flipping each round */
	if (do_pv)
		gen_round(o, tpv, 1, &pv[0]);
	if (do_na)
		native_round(o, &p, tna, 1, &na[0]);
	for (unsigned int r = 0; r < rounds; r++) {
		int a = 0, b = 0;

		memset(&pv[r], 0, sizeof(pv[r]));
		memset(&na[r], 0, sizeof(na[r]));
		if (r % 2 && do_na)
			b = native_round(o, &p, tna, o->round_seconds, &na[r]);
		if (do_pv)
			a = gen_round(o, tpv, o->round_seconds, &pv[r]);
		if (!(r % 2) && do_na)
			b = native_round(o, &p, tna, o->round_seconds, &na[r]);
		if (a || b) {
			fprintf(stderr, "bench blk: round %u: %s failed: %s\n", r + 1,
				a ? "pvio" : "native", strerror(-(a ? a : b)));
			rc = a ? a : b;
			goto out;
		}
		if (!json)
			fprintf(stderr, "bench blk: round %u: pvio %.0f IOPS, native %.0f IOPS\n",
				r + 1, pv[r].iops, na[r].iops);
		if (na[r].iops > 0) {
			ratio[nr] = pv[r].iops / na[r].iops;
			if (!nr || ratio[nr] < rmin)
				rmin = ratio[nr];
			if (!nr || ratio[nr] > rmax)
				rmax = ratio[nr];
			nr++;
		}
	}
	med(pv, rounds, &mp);
	med(na, rounds, &mn);
	if (json) {
		printf("{");
		json_res("pvio", &mp);
		json_res("native", &mn);
		printf("\"ratio\": {\"iops\": %.3f, \"mbps\": %.3f, \"lat_p50\": %.3f, \"iops_min\": %.3f, \"iops_max\": %.3f}, ",
		       mn.iops ? mp.iops / mn.iops : 0, mn.mbps ? mp.mbps / mn.mbps : 0,
		       mn.lat_p50_us ? mp.lat_p50_us / mn.lat_p50_us : 0, rmin, rmax);
		printf("\"rounds\": [");
		for (unsigned int r = 0; r < rounds; r++)
			printf("%s{\"pvio\": %.0f, \"native\": %.0f}", r ? ", " : "",
			       pv[r].iops, na[r].iops);
		printf("], \"config\": {\"disk\": \"%s\", \"native\": \"%s\", \"rw\": \"%s\", \"bs\": %u, \"iodepth\": %u, \"queues\": %u, \"rounds\": %u, \"round_seconds\": %u}}\n",
		       p.d.target, p.native_name, blkbench_rw_name(o->rw), o->bs,
		       o->iodepth, o->queues, rounds, o->round_seconds);
	} else {
		printf("%-8s %12s %10s %12s %12s   (medians of %u rounds)\n",
		       "target", "IOPS", "MB/s", "p50 (us)", "p99 (us)", rounds);
		printf("%-8s %12.0f %10.1f %12.1f %12.1f\n", "pvio", mp.iops,
		       mp.mbps, mp.lat_p50_us, mp.lat_p99_us);
		printf("%-8s %12.0f %10.1f %12.1f %12.1f   %s\n", "native", mn.iops,
		       mn.mbps, mn.lat_p50_us, mn.lat_p99_us, p.native_name);
		if (do_pv && do_na)
			printf("ratio pvio/native: IOPS %.3f (rounds %.3f..%.3f), MB/s %.3f, p50 latency %.3f\n",
			       mn.iops ? mp.iops / mn.iops : 0, rmin, rmax,
			       mn.mbps ? mp.mbps / mn.mbps : 0,
			       mn.lat_p50_us ? mp.lat_p50_us / mn.lat_p50_us : 0);
	}
	rc = 0;
out:
	if (bp)
		blkbench_pvio_close(bp);
	if (bn)
		blkbench_native_close(bn);
	return rc ? 1 : 0;
}
