// SPDX-License-Identifier: MIT
/*
 * pvio create's reading of an xl config: guest type as xl decides it
 * (type, else builder, else pv; only type = "process" is a process
 * domain), memory and vCPUs, kernel / bootloader / command line, actions,
 * device-model arguments, devices (through the device classes), and the
 * JSON plan `pvio create -n` prints. Keys of xl.cfg(5) that pvio does not
 * implement are reported once, on one line, as ignored.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "create_config.h"
#include "pvio_cmd.h"

#define MEM_DEFAULT_MIB		128
#define MEM_MAX_MIB		65536

/* xl.cfg(5)'s keys (and a few older ones xl still reads). */
static const char *const xl_keys[] = {
	"acpi", "acpi_firmware", "acpi_laptop_slate", "acpi_s3", "acpi_s4",
	"altp2m", "altp2mhvm", "apic", "bios", "bios_path_override", "boot",
	"bootloader", "bootloader_args", "builder", "cap", "channel",
	"cmdline", "cpu_weight", "cpuid", "cpus", "cpus_soft",
	"device_model", "device_model_args", "device_model_args_hvm",
	"device_model_args_pv", "device_model_override",
	"device_model_stubdomain_override",
	"device_model_stubdomain_seclabel", "device_model_user",
	"device_model_version", "device_tree", "disk", "dm_restrict",
	"driver_domain", "dtdev", "e820_host", "extra", "firmware",
	"gfx_passthru", "gic_version", "hap", "hdtype", "hpet", "init_seclabel",
	"iomem", "ioports", "irqs", "kernel", "keymap", "localtime",
	"max_event_channels", "max_grant_frames", "max_grant_version",
	"max_maptrack_frames", "maxmem", "maxvcpus", "mca_caps", "memory",
	"mmio_hole", "ms_vm_genid", "msr_relaxed", "name", "nestedhvm",
	"nographic", "nomigrate", "nx", "on_crash", "on_poweroff",
	"on_reboot", "on_soft_reset", "on_watchdog", "oos", "opengl", "p9",
	"pae", "passthrough", "pci", "pci_msitranslate", "pci_permissive",
	"pci_power_mgmt", "pci_seize", "pool", "pvcalls", "pvshim",
	"pvshim_cmdline", "pvshim_extra", "pvshim_path", "ramdisk", "rdm",
	"rdm_mem_boundary", "root", "rtc_timeoffset", "sdl", "seclabel",
	"serial", "shadow_memory", "smbios_firmware", "soundhw", "spice",
	"spice_clipboard_sharing", "spice_image_compression",
	"spice_streaming_video", "spiceagent_mouse", "spicedisable_ticketing",
	"spicehost", "spicepasswd", "spiceport", "spicetls_port",
	"spiceusbredirection", "spicevdagent", "stdvga",
	"stubdomain_cmdline", "stubdomain_kernel", "stubdomain_memory",
	"stubdomain_ramdisk", "tee", "timer_mode", "tsc_mode", "type", "usb",
	"usbctrl", "usbdev", "usbdevice", "usbversion", "uuid", "vcpus",
	"vdispl", "vendor_device", "vfb", "vga", "videoram", "vif", "viridian",
	"vkb", "vkb_device", "vmtrace_buf_kb", "vnc", "vncdisplay",
	"vnclisten", "vncpasswd", "vncunused", "vnuma", "vpmu", "vpt_align",
	"vsnd", "vtpm", "vuart", "xen_platform_pci",
	"xend_suspend_evtchn_compat",
};

/* What pvio reads (devices through their classes). */
static const char *const pvio_keys[] = {
	"name", "type", "builder", "memory", "maxmem", "vcpus", "maxvcpus",
	"kernel", "ramdisk", "cmdline", "root", "extra", "bootloader",
	"bootloader_args", "on_poweroff", "on_reboot", "on_crash", "uuid",
	"device_model_args", "device_model_args_pv", "device_model_args_hvm",
	"program",
};

static bool in_list(const char *key, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(key, list[i]))
			return true;
	return false;
}

bool create_cfg_xl_key(const char *key)
{
	return in_list(key, xl_keys, sizeof(xl_keys) / sizeof(*xl_keys));
}

#define cerr(cc, ...)							\
	do {								\
		fprintf(stderr, "pvio: %s: ", (cc)->path);		\
		fprintf(stderr, __VA_ARGS__);				\
		fputc('\n', stderr);					\
	} while (0)

static int copy_str(struct create_cfg *cc, char *dst, size_t size,
		    const char *key, const char *v)
{
	if (strlen(v) >= size) {
		cerr(cc, "%s is longer than %zu characters", key, size - 1);
		return -EINVAL;
	}
	strcpy(dst, v);
	return 0;
}

/* A key that must be a string if present. */
static int get_str(struct create_cfg *cc, const struct xlcfg *cfg,
		   const char *key, const char **out)
{
	const struct xlcfg_entry *e = xlcfg_get(cfg, key);

	*out = NULL;
	if (!e)
		return 0;
	if (e->type != XLCFG_STRING) {
		cerr(cc, "%s must be a string, not a list", key);
		return -EINVAL;
	}
	*out = e->str;
	return 0;
}

static int get_num(struct create_cfg *cc, const struct xlcfg *cfg,
		   const char *key, long long min, long long max,
		   long long *v)
{
	int rc = xlcfg_get_int(cfg, key, v);

	if (rc == -ENOENT)
		return 1;
	if (rc || *v < min || *v > max) {
		cerr(cc, "bad %s (a number from %lld to %lld)", key, min, max);
		return -EINVAL;
	}
	return 0;
}

static int pick_type(struct create_cfg *cc, const struct xlcfg *cfg)
{
	const char *t, *b;

	if (get_str(cc, cfg, "type", &t) || get_str(cc, cfg, "builder", &b))
		return -EINVAL;
	if (t) {
		if (strcmp(t, "pv") && strcmp(t, "pvh") && strcmp(t, "hvm") &&
		    strcmp(t, "process")) {
			cerr(cc, "unknown type \"%s\" (pv, pvh, hvm; or process for a pvio process domain)",
			     t);
			return -EINVAL;
		}
		strcpy(cc->type, t);
	} else if (b) {
		/* the deprecated spelling */
		if (!strcmp(b, "generic")) {
			strcpy(cc->type, "pv");
		} else if (!strcmp(b, "hvm")) {
			strcpy(cc->type, "hvm");
		} else {
			cerr(cc, "unknown builder \"%s\" (generic or hvm)", b);
			return -EINVAL;
		}
	} else {
		strcpy(cc->type, "pv");	/* xl's default on x86 */
	}
	cc->dc.type = strcmp(cc->type, "process") ? PVIO_DOMTYPE_VM :
						    PVIO_DOMTYPE_PROCESS;
	return 0;
}

static int check_uuid(struct create_cfg *cc, const char *u)
{
	static const int dash[] = { 8, 13, 18, 23 };

	if (strlen(u) != 36)
		goto bad;
	for (int i = 0; i < 36; i++) {
		bool d = i == dash[0] || i == dash[1] || i == dash[2] ||
			 i == dash[3];

		if (d ? u[i] != '-' : !isxdigit((unsigned char)u[i]))
			goto bad;
	}
	return 0;
bad:
	cerr(cc, "bad uuid \"%s\" (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)", u);
	return -EINVAL;
}

/*
 * on_poweroff / on_crash / on_reboot: a VM that stops is released by hv
 * and its monitor removes its devices and store nodes, i.e. "destroy".
 * Other xl actions are accepted with a warning.
 */
static int check_actions(struct create_cfg *cc, const struct xlcfg *cfg)
{
	static const char *const keys[] = { "on_poweroff", "on_crash",
					    "on_reboot" };
	static const char *const known[] = { "destroy", "restart", "preserve",
					     "rename-restart",
					     "coredump-destroy",
					     "coredump-restart", "soft-reset" };

	for (unsigned int i = 0; i < 3; i++) {
		const char *v;

		if (get_str(cc, cfg, keys[i], &v))
			return -EINVAL;
		if (!v)
			continue;
		if (!in_list(v, known, sizeof(known) / sizeof(*known))) {
			cerr(cc, "bad %s \"%s\" (destroy, restart, preserve, rename-restart, coredump-destroy, coredump-restart, soft-reset)",
			     keys[i], v);
			return -EINVAL;
		}
		json_object_set_new(cc->plan, keys[i], json_string(v));
		if (strcmp(v, "destroy"))
			cerr(cc, "%s = \"%s\" is not supported; the domain is destroyed",
			     keys[i], v);
	}
	return 0;
}

/*
 * device_model_args (and _pv or _hvm for that guest type): one QEMU
 * argument per item, joined with '\n' for hv, and checked here with hv's
 * own check so that the refusal names the item.
 */
static int dm_args_fill(struct create_cfg *cc, const struct xlcfg *cfg)
{
	const char *keys[2] = { "device_model_args",
				!strcmp(cc->type, "hvm") ?
				"device_model_args_hvm" : "device_model_args_pv" };
	char *out = cc->dc.dm_args;
	size_t len = sizeof(cc->dc.dm_args), used = 0;
	json_t *arr = json_array();
	const char *items[PVIO_DM_ARGS_MAX + 2];
	unsigned int n = 0, bad;

	out[0] = 0;
	for (unsigned int k = 0; k < 2; k++) {
		const struct xlcfg_entry *e = xlcfg_get(cfg, keys[k]);

		if (!e)
			continue;
		if (cc->dc.type != PVIO_DOMTYPE_VM) {
			cerr(cc, "%s needs a VM (type = \"pvh\"), not a process domain",
			     keys[k]);
			goto err;
		}
		if (e->type != XLCFG_LIST || e->nr_nested) {
			cerr(cc, "%s must be a list of strings", keys[k]);
			goto err;
		}
		for (unsigned int i = 0; i < e->nr_items; i++) {
			size_t wl = strlen(e->items[i]);

			if (n >= PVIO_DM_ARGS_MAX + 1) {
				cerr(cc, "device_model_args: more than %d items",
				     PVIO_DM_ARGS_MAX);
				goto err;
			}
			if (used + wl + 2 > len) {
				cerr(cc, "device_model_args longer than %zu bytes",
				     len - 1);
				goto err;
			}
			if (used)
				out[used++] = '\n';
			memcpy(out + used, e->items[i], wl + 1);
			used += wl;
			items[n++] = e->items[i];
			json_array_append_new(arr, json_string(e->items[i]));
		}
	}
	json_object_set_new(cc->plan, "device_model_args", arr);
	if (!n || !pvio_dm_args_check(out, len, &bad))
		return 0;
	if (bad >= n)
		cerr(cc, "device_model_args: '%s' needs its value", items[n - 1]);
	else if (bad >= PVIO_DM_ARGS_MAX)
		cerr(cc, "device_model_args: more than %d items",
		     PVIO_DM_ARGS_MAX);
	else if (bad % 2 == 0)
		cerr(cc, "device_model_args: '%s' not allowed (only -device, -drive, -netdev, -blockdev)",
		     items[bad]);
	else
		cerr(cc, "device_model_args: bad value '%s' for %s (printable, no leading '-', no chardev or ivshmem)",
		     items[bad], items[bad - 1]);
	return -EINVAL;
err:
	json_decref(arr);
	return -EINVAL;
}

/* pygrub's own options, as libxl passes them: --kernel, --ramdisk, ... */
static int bootloader_args(struct create_cfg *cc, const struct xlcfg *cfg)
{
	const struct xlcfg_entry *e = xlcfg_get(cfg, "bootloader_args");
	char *words[64];
	unsigned int n = 0;
	char *copy = NULL;
	int rc = 0;

	if (!e)
		return 0;
	if (e->type == XLCFG_LIST) {
		if (e->nr_nested || e->nr_items > 64) {
			cerr(cc, "bootloader_args: a list of at most 64 strings");
			return -EINVAL;
		}
		for (unsigned int i = 0; i < e->nr_items; i++)
			words[n++] = e->items[i];
	} else {
		/* the deprecated form: one string split at whitespace */
		char *save = NULL;

		copy = strdup(e->str);
		if (!copy)
			return -ENOMEM;
		for (char *w = strtok_r(copy, " \t", &save); w && n < 64;
		     w = strtok_r(NULL, " \t", &save))
			words[n++] = w;
	}
	for (unsigned int i = 0; i < n && !rc; i++) {
		const char *w = words[i];

		if (!strncmp(w, "--kernel=", 9))
			rc = copy_str(cc, cc->boot_kernel,
				      sizeof(cc->boot_kernel), "--kernel", w + 9);
		else if (!strncmp(w, "--ramdisk=", 10))
			rc = copy_str(cc, cc->boot_ramdisk,
				      sizeof(cc->boot_ramdisk), "--ramdisk",
				      w + 10);
		else if (!strncmp(w, "--args=", 7))
			rc = copy_str(cc, cc->boot_args, sizeof(cc->boot_args),
				      "--args", w + 7);
		else if (!strncmp(w, "--entry=", 8)) {
			char *end;
			long v = strtol(w + 8, &end, 10);

			if (w[8] && !*end && v >= 0 && v < 1000)
				cc->boot_entry = (int)v;
			else
				rc = copy_str(cc, cc->boot_title,
					      sizeof(cc->boot_title), "--entry",
					      w + 8);
		} else if (!strcmp(w, "-q") || !strcmp(w, "--quiet")) {
			continue;
		} else {
			cerr(cc, "bootloader_args: '%s' is not supported (--kernel=, --ramdisk=, --args=, --entry=)",
			     w);
			rc = -EINVAL;
		}
	}
	free(copy);
	return rc;
}

/* kernel, ramdisk, command line, or pygrub (VMs). */
static int boot_fill(struct create_cfg *cc, const struct xlcfg *cfg)
{
	const char *kernel, *ramdisk, *cmdline, *root, *extra, *bl, *base;
	char line[sizeof(cc->dc.cmdline)];

	if (get_str(cc, cfg, "kernel", &kernel) ||
	    get_str(cc, cfg, "ramdisk", &ramdisk) ||
	    get_str(cc, cfg, "cmdline", &cmdline) ||
	    get_str(cc, cfg, "root", &root) ||
	    get_str(cc, cfg, "extra", &extra) ||
	    get_str(cc, cfg, "bootloader", &bl))
		return -EINVAL;
	/* xl: cmdline replaces root= and extra= */
	if (cmdline) {
		if (root || extra)
			cerr(cc, "cmdline is set: root and extra are ignored");
		snprintf(line, sizeof(line), "%s", cmdline);
	} else {
		snprintf(line, sizeof(line), "%s%s%s%s", root ? "root=" : "",
			 root ? root : "", root && extra ? " " : "",
			 extra ? extra : "");
	}
	if (strlen(line) >= sizeof(cc->dc.cmdline) - 1) {
		cerr(cc, "the kernel command line is too long");
		return -EINVAL;
	}
	if (cc->dc.type != PVIO_DOMTYPE_VM) {
		if (kernel || ramdisk || bl) {
			cerr(cc, "%s needs a VM type (pv, pvh or hvm), not a process domain",
			     kernel ? "kernel" : ramdisk ? "ramdisk" : "bootloader");
			return -EINVAL;
		}
		return 0;
	}
	if (!bl && !kernel && !strcmp(cc->type, "hvm")) {
		/*
		 * xl boots an HVM guest from its disk through firmware; pvio
		 * boots guests directly, so it reads the disk's own GRUB
		 * config, as pygrub does.
		 */
		cerr(cc, "an hvm guest without kernel= boots its first disk's GRUB entry here (bootloader = \"pygrub\")");
		bl = "pygrub";
	}
	if (bl) {
		base = strrchr(bl, '/');
		base = base ? base + 1 : bl;
		if (strcmp(base, "pygrub")) {
			cerr(cc, "bootloader \"%s\" is not supported (pygrub: pvio reads the guest disk's /boot itself)",
			     bl);
			return -EINVAL;
		}
		cc->pygrub = true;
		cc->boot_entry = -1;
		/* as libxl hands them to pygrub: paths inside the guest */
		if (kernel && copy_str(cc, cc->boot_kernel,
				       sizeof(cc->boot_kernel), "kernel", kernel))
			return -EINVAL;
		if (ramdisk && copy_str(cc, cc->boot_ramdisk,
					sizeof(cc->boot_ramdisk), "ramdisk",
					ramdisk))
			return -EINVAL;
		if (line[0] && copy_str(cc, cc->boot_args, sizeof(cc->boot_args),
					"cmdline", line))
			return -EINVAL;
		if (bootloader_args(cc, cfg))
			return -EINVAL;
		json_object_set_new(cc->plan, "bootloader", json_string("pygrub"));
		json_object_set_new(cc->plan, "bootloader_args",
				    json_pack("{s:s, s:s, s:s, s:i, s:s}",
					      "kernel", cc->boot_kernel,
					      "ramdisk", cc->boot_ramdisk,
					      "args", cc->boot_args,
					      "entry", cc->boot_entry,
					      "entry_title", cc->boot_title));
		return 0;
	}
	if (!kernel || !*kernel) {
		cerr(cc, "a %s guest needs kernel= or bootloader = \"pygrub\" (pvio boots guests directly, not from firmware)%s",
		     cc->type, xlcfg_get(cfg, "program") ?
		     "; program= is for type = \"process\"" : "");
		return -EINVAL;
	}
	if (copy_str(cc, cc->dc.kernel, sizeof(cc->dc.kernel), "kernel", kernel) ||
	    (ramdisk && copy_str(cc, cc->dc.ramdisk, sizeof(cc->dc.ramdisk),
				 "ramdisk", ramdisk)))
		return -EINVAL;
	strcpy(cc->dc.cmdline, line);
	json_object_set_new(cc->plan, "kernel", json_string(cc->dc.kernel));
	json_object_set_new(cc->plan, "ramdisk", json_string(cc->dc.ramdisk));
	json_object_set_new(cc->plan, "cmdline", json_string(cc->dc.cmdline));
	return 0;
}

static int memory_fill(struct create_cfg *cc, const struct xlcfg *cfg)
{
	long long mem = MEM_DEFAULT_MIB, maxmem, vcpus = 1, maxv;
	int rc;

	if (get_num(cc, cfg, "memory", 1, MEM_MAX_MIB, &mem) < 0)
		return -EINVAL;
	rc = get_num(cc, cfg, "maxmem", 1, MEM_MAX_MIB, &maxmem);
	if (rc < 0)
		return -EINVAL;
	if (!rc && maxmem < mem) {
		cerr(cc, "maxmem (%lld) is less than memory (%lld)", maxmem, mem);
		return -EINVAL;
	}
	if (!rc && maxmem > mem)
		cerr(cc, "maxmem = %lld: no ballooning, the guest has memory = %lld MiB",
		     maxmem, mem);
	if (get_num(cc, cfg, "vcpus", 1, PVIO_MAX_VCPUS, &vcpus) < 0)
		return -EINVAL;
	rc = get_num(cc, cfg, "maxvcpus", 1, PVIO_MAX_VCPUS, &maxv);
	if (rc < 0)
		return -EINVAL;
	if (rc)
		maxv = vcpus;
	if (maxv < vcpus) {
		/* xl: vcpus online out of maxvcpus */
		cerr(cc, "maxvcpus (%lld) is less than vcpus (%lld)", maxv, vcpus);
		return -EINVAL;
	}
	if (maxv > vcpus && cc->dc.type != PVIO_DOMTYPE_VM) {
		cerr(cc, "maxvcpus needs a VM (CPU hotplug)");
		return -EINVAL;
	}
	cc->dc.mem_bytes = (uint64_t)mem << 20;
	cc->dc.vcpus = (uint32_t)vcpus;
	cc->dc.max_vcpus = cc->dc.type == PVIO_DOMTYPE_VM ? (uint32_t)maxv : 0;
	json_object_set_new(cc->plan, "memory", json_integer(mem));
	json_object_set_new(cc->plan, "vcpus", json_integer(vcpus));
	json_object_set_new(cc->plan, "maxvcpus", json_integer(maxv));
	return 0;
}

/* Every list key with a device class: its entries, described. */
static int devices_fill(struct create_cfg *cc, const struct xlcfg *cfg)
{
	json_t *devs = json_object();
	int ret = 0;

	for (unsigned int i = 0; i < cfg->n; i++) {
		const struct xlcfg_entry *e = &cfg->e[i];
		struct pvio_devclass *dc = pvio_devclass_find(e->key);
		json_t *arr;

		if (!dc || !dc->describe)
			continue;
		if (e->type != XLCFG_LIST || e->nr_nested) {
			cerr(cc, "%s must be a list of strings", e->key);
			ret = -EINVAL;
			break;
		}
		arr = json_array();
		json_object_set_new(devs, e->key, arr);
		for (unsigned int j = 0; j < e->nr_items; j++) {
			char err[512] = "";
			json_t *d = NULL;
			int rc = dc->describe(e->items[j], &d, err, sizeof(err));

			if (d)
				json_array_append_new(arr, d);
			if (rc == -EOPNOTSUPP) {
				cerr(cc, "%s", err);
				cc->refused = true;
			} else if (rc) {
				cerr(cc, "%s", err);
				ret = -EINVAL;
			}
		}
	}
	json_object_set_new(cc->plan, "devices", devs);
	return ret;
}

/* Keys xl knows that pvio does not act on, once; keys nobody knows. */
static void report_ignored(struct create_cfg *cc, const struct xlcfg *cfg)
{
	json_t *ign = json_array(), *unk = json_array();
	char line[1024];
	size_t used = 0;

	for (unsigned int i = 0; i < cfg->n; i++) {
		const char *k = cfg->e[i].key;
		struct pvio_devclass *dc = pvio_devclass_find(k);

		if (in_list(k, pvio_keys, sizeof(pvio_keys) / sizeof(*pvio_keys)) ||
		    (dc && dc->describe))
			continue;
		if (create_cfg_xl_key(k)) {
			json_array_append_new(ign, json_string(k));
			if (used < sizeof(line))
				used += (size_t)snprintf(line + used,
							 sizeof(line) - used,
							 "%s%s", used ? ", " : "", k);
		} else {
			json_array_append_new(unk, json_string(k));
			cerr(cc, "line %u: unknown setting '%s' ignored",
			     cfg->e[i].line, k);
		}
	}
	if (used)
		cerr(cc, "ignoring what pvio does not implement: %s", line);
	json_object_set_new(cc->plan, "ignored", ign);
	json_object_set_new(cc->plan, "unknown", unk);
}

int create_cfg_build(const struct xlcfg *cfg, const char *path,
		     struct create_cfg *cc)
{
	const char *name, *program, *uuid;

	memset(cc, 0, sizeof(*cc));
	cc->path = path;
	cc->boot_entry = -1;
	cc->plan = json_object();
	if (!cc->plan)
		return -ENOMEM;
	if (get_str(cc, cfg, "name", &name))
		return -EINVAL;
	if (!name || !*name) {
		cerr(cc, "name is mandatory");
		return -EINVAL;
	}
	if (strlen(name) >= sizeof(cc->dc.name) || strchr(name, '/') ||
	    !strcmp(name, "Domain-0")) {
		cerr(cc, "bad name \"%s\" (at most 63 characters, no '/', not Domain-0)",
		     name);
		return -EINVAL;
	}
	for (const char *c = name; *c; c++)
		if (*c <= ' ' || *c > '~') {
			cerr(cc, "bad name \"%s\" (printable, no blanks)", name);
			return -EINVAL;
		}
	strcpy(cc->dc.name, name);
	json_object_set_new(cc->plan, "name", json_string(name));
	if (pick_type(cc, cfg))
		return -EINVAL;
	json_object_set_new(cc->plan, "type", json_string(cc->type));
	if (get_str(cc, cfg, "program", &program))
		return -EINVAL;
	if (cc->dc.type == PVIO_DOMTYPE_PROCESS) {
		if (!program || !*program) {
			cerr(cc, "a process domain needs program =");
			return -EINVAL;
		}
		cc->program = program;
		json_object_set_new(cc->plan, "program", json_string(program));
	} else if (program) {
		cerr(cc, "program = is only for type = \"process\": ignored for a %s guest",
		     cc->type);
	}
	if (get_str(cc, cfg, "uuid", &uuid) || (uuid && check_uuid(cc, uuid)))
		return -EINVAL;
	cc->uuid = uuid;
	if (uuid)
		json_object_set_new(cc->plan, "uuid", json_string(uuid));
	if (memory_fill(cc, cfg) || boot_fill(cc, cfg) ||
	    dm_args_fill(cc, cfg) || check_actions(cc, cfg))
		return -EINVAL;
	if (devices_fill(cc, cfg))
		return -EINVAL;
	report_ignored(cc, cfg);
	return cc->refused ? -EOPNOTSUPP : 0;
}

void create_cfg_free(struct create_cfg *cc)
{
	json_decref(cc->plan);
	cc->plan = NULL;
}
