// SPDX-License-Identifier: MIT
/*
 * Debian's libxlutil (Xen's own xl config parser) as an oracle for the
 * corpus test: one JSON object per input line on stdout.
 *
 *   xl_oracle disk   < specs    xlu_disk_parse of each line
 *   xl_oracle rate   < rates    xlu_vif_parse_rate of each line
 *   xl_oracle cfg FILE KEY...   each KEY of FILE: string, long or list
 *
 * Built only where libxen-dev is installed (tests skip the comparison
 * otherwise).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include <libxl.h>
#include <libxlutil.h>

static void emit(json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);

	printf("%s\n", s);
	free(s);
	json_decref(o);
}

static json_t *opt(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *defbool(libxl_defbool b)
{
	return libxl_defbool_is_default(b) ? json_null() :
	       json_boolean(libxl_defbool_val(b));
}

static void disk(const char *spec)
{
	XLU_Config *c = xlu_cfg_init(fopen("/dev/null", "w"), "spec");
	libxl_device_disk d;
	const char *specs[1] = { spec };
	json_t *o;

	libxl_device_disk_init(&d);
	if (xlu_disk_parse(c, 1, specs, &d)) {
		emit(json_pack("{s:s, s:b}", "spec", spec, "ok", 0));
	} else {
		o = json_pack("{s:s, s:b, s:o, s:s, s:o, s:s, s:s, s:o, s:o, s:o, s:o, s:b}",
			      "spec", spec, "ok", 1,
			      "target", opt(d.pdev_path),
			      "format", libxl_disk_format_to_string(d.format),
			      "vdev", opt(d.vdev),
			      "access", d.readwrite ? "rw" : "ro",
			      "devtype", d.is_cdrom ? "cdrom" : "disk",
			      "backendtype", d.backend == LIBXL_DISK_BACKEND_UNKNOWN ?
				json_null() :
				json_string(libxl_disk_backend_to_string(d.backend)),
			      "script", opt(d.script),
			      "backend", opt(d.backend_domname),
			      "discard", defbool(d.discard_enable),
			      "direct-io-safe", d.direct_io_safe);
		emit(o);
	}
	libxl_device_disk_dispose(&d);
	xlu_cfg_destroy(c);
}

static void rate(const char *r)
{
	XLU_Config *c = xlu_cfg_init(fopen("/dev/null", "w"), "rate");
	libxl_device_nic nic;

	libxl_device_nic_init(&nic);
	if (xlu_vif_parse_rate(c, r, &nic))
		emit(json_pack("{s:s, s:b}", "spec", r, "ok", 0));
	else
		emit(json_pack("{s:s, s:b, s:I, s:I}", "spec", r, "ok", 1,
			       "bytes-per-interval", (json_int_t)nic.rate_bytes_per_interval,
			       "interval-us", (json_int_t)nic.rate_interval_usecs));
	libxl_device_nic_dispose(&nic);
	xlu_cfg_destroy(c);
}

static int cfg(int argc, char **argv)
{
	XLU_Config *c = xlu_cfg_init(stderr, argv[2]);
	json_t *o = json_object();

	if (xlu_cfg_readfile(c, argv[2])) {
		emit(json_pack("{s:b}", "ok", 0));
		return 0;
	}
	json_object_set_new(o, "ok", json_true());
	for (int i = 3; i < argc; i++) {
		XLU_ConfigList *l;
		const char *s;
		long v;
		int n;

		if (!xlu_cfg_get_list(c, argv[i], &l, &n, 1)) {
			json_t *a = json_array();

			for (int j = 0; j < n; j++)
				json_array_append_new(a, opt(xlu_cfg_get_listitem(l, j)));
			json_object_set_new(o, argv[i], a);
		} else if (!xlu_cfg_get_long(c, argv[i], &v, 1)) {
			json_object_set_new(o, argv[i], json_integer(v));
		} else if (!xlu_cfg_get_string(c, argv[i], &s, 1)) {
			json_object_set_new(o, argv[i], json_string(s));
		}
	}
	emit(o);
	xlu_cfg_destroy(c);
	return 0;
}

int main(int argc, char **argv)
{
	char line[8192];

	if (argc >= 3 && !strcmp(argv[1], "cfg"))
		return cfg(argc, argv);
	if (argc != 2 || (strcmp(argv[1], "disk") && strcmp(argv[1], "rate"))) {
		fprintf(stderr, "usage: xl_oracle disk|rate < lines, xl_oracle cfg FILE KEY...\n");
		return 2;
	}
	while (fgets(line, sizeof(line), stdin)) {
		line[strcspn(line, "\n")] = 0;
		if (!strcmp(argv[1], "disk"))
			disk(line);
		else
			rate(line);
	}
	return 0;
}
