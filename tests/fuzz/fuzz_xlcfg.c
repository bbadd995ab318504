/*
 * Fuzz harness of the xl config parser (tools/xlcfg): a config file's text
 * (xlcfg_parse), then every entry read back through the getters, every
 * item of "disk" through the disk-spec parser (xlcfg_disk_parse) and every
 * vdev name through xlcfg_vdev_parse. Checks what callers rely on: each
 * entry is found again by its key, strings are terminated within their
 * fields, an accepted disk has a vdev whose number xlcfg_vdev_parse gives
 * again, an accepted int parses, and a failed parse says why.
 *
 * Built with clang -fsanitize=fuzzer it is a libFuzzer target; otherwise
 * main() runs a deterministic smoke campaign as a unit test.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../tools/xlcfg/xlcfg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t nr_parsed, nr_disks;

static void finding(const char *what, const char *detail)
{
	printf("FINDING: %s: %.200s\n", what, detail ? detail : "");
	fflush(stdout);
	abort();
}

static void check_disk(const char *spec)
{
	struct xlcfg_disk d;
	char err[256] = "";
	uint32_t num;

	if (xlcfg_disk_parse(spec, &d, err, sizeof(err))) {
		if (!err[0])
			finding("a disk spec refused without a reason", spec);
		return;
	}
	nr_disks++;
	if (!memchr(d.target, 0, sizeof(d.target)) ||
	    !memchr(d.vdev, 0, sizeof(d.vdev)) ||
	    !memchr(d.format, 0, sizeof(d.format)) ||
	    !memchr(d.engine, 0, sizeof(d.engine)) ||
	    !memchr(d.backend, 0, sizeof(d.backend)) ||
	    !memchr(d.script, 0, sizeof(d.script)))
		finding("a disk field not terminated", spec);
	if (!d.vdev[0])
		finding("a disk accepted without a vdev", spec);
	if (xlcfg_vdev_parse(d.vdev, &num) || num != d.vdev_num)
		finding("the vdev does not give its number again", spec);
	if (d.sector_size && d.sector_size != 512 && d.sector_size != 4096)
		finding("sector size", spec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), err[256] = "";
	struct xlcfg *cfg;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = 0;
	if (xlcfg_parse(text, &cfg, err, sizeof(err))) {
		if (!err[0])
			finding("a config refused without a reason", text);
		free(text);
		return 0;
	}
	nr_parsed++;
	for (unsigned int i = 0; i < cfg->n; i++) {
		const struct xlcfg_entry *e = &cfg->e[i];
		const struct xlcfg_entry *g = xlcfg_get(cfg, e->key);
		long long v;

		if (!g || strcmp(g->key, e->key))
			finding("an entry not found by its key", e->key);
		if (e->type == XLCFG_STRING) {
			if (!e->str)
				finding("a string entry without a string", e->key);
			xlcfg_get_string(cfg, e->key);
			if (!xlcfg_get_int(cfg, e->key, &v)) {
				char again[32];

				snprintf(again, sizeof(again), "%lld", v);
				(void)again;
			}
			xlcfg_vdev_parse(e->str, &(uint32_t){ 0 });
		} else {
			unsigned int nested = 0;

			/* a nested list is a NULL item, counted in nr_nested */
			for (unsigned int k = 0; k < e->nr_items; k++) {
				if (!e->items[k]) {
					nested++;
					continue;
				}
				if (!strcmp(e->key, "disk"))
					check_disk(e->items[k]);
			}
			if (nested != e->nr_nested)
				finding("list items missing", e->key);
		}
	}
	xlcfg_free(cfg);
	/* a disk spec on its own too, as block-attach takes one */
	check_disk(text);
	free(text);
	return 0;
}

#ifndef PVIO_LIBFUZZER
static uint64_t rs = 0x5851f42d4c957f2dull;

static uint8_t rnd8(void)
{
	rs ^= rs << 13;
	rs ^= rs >> 7;
	rs ^= rs << 17;
	return (uint8_t)rs;
}

int main(void)
{
	static const char *const seeds[] = {
		"name = \"g\"\ntype = \"process\"\nmemory = 128\nvcpus = 2\n"
		"disk = [ '/a.img,raw,xvda,rw', 'vdev=xvdb,access=ro,target=/b' ]\n"
		"vif = [ 'mac=00:16:3e:00:00:01,bridge=br0' ]\n",
		"# comment\nkernel = '/boot/vmlinuz'\nextra = \"console=hvc0\"\n"
		"disk = [ 'format=raw, vdev=hda, access=rw, target=/dev/vg/x',\n"
		"  '/c.iso,raw,hdc:cdrom,r', ]\non_crash = 'destroy'\n",
		"disk=['vdev=xvdz,backendtype=qdisk,discard,target=/x,y']\n"
		"memory = 0x100\ndevice_model_args = [ '-device', 'e1000' ]\n",
		"/var/tmp/a.img,raw,xvda,rw",
		"vdev=51712, engine=aio, sector-size=4096, target=/t",
	};
	static char buf[2048];
	unsigned int runs = 200000;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (unsigned int it = 0; it < runs; it++) {
		const char *s = seeds[it % 5];
		size_t n = strlen(s);

		memcpy(buf, s, n);
		for (int m = rnd8() % 6; m >= 0 && n; m--) {
			size_t at = rnd8() * 7u % n;

			switch (rnd8() % 4) {
			case 0:
				buf[at] = (char)rnd8();
				break;
			case 1:
				buf[at] = ",=[]'\"#\n:\\ "[rnd8() % 12];
				break;
			case 2:
				n = at;		/* truncated */
				break;
			default:
				if (n + 1 < sizeof(buf)) {	/* doubled */
					memmove(buf + at + 1, buf + at, n - at);
					n++;
				}
			}
		}
		LLVMFuzzerTestOneInput((const uint8_t *)buf, n);
	}
	printf("fuzz smoke: %u config texts, %llu parsed, %llu disks accepted, no finding\n",
	       runs, (unsigned long long)nr_parsed,
	       (unsigned long long)nr_disks);
	if (nr_parsed < runs / 10 || nr_disks < runs / 10)
		finding("the smoke campaign barely parsed anything", NULL);
	return 0;
}
#endif
