/* SPDX-License-Identifier: MIT */
/*
 * `pvio store`: inspect and edit the store of a running system.
 *   pvio store ls [PATH]           tree with values and permissions
 *   pvio store read PATH
 *   pvio store write PATH VALUE
 *   pvio store rm PATH
 *   pvio store watch [-n COUNT] PATH
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pvio/xenbus.h"
#include "pvio_cmd.h"

static int store_open(struct xs_handle **h)
{
	const char *rd = pvio_opt_rundir ? pvio_opt_rundir :
			 getenv("PVIO_RUNDIR");
	char *path = NULL;
	int rc;

	if (rd && *rd && asprintf(&path, "%s/store.sock", rd) < 0)
		return -ENOMEM;
	rc = xs_open(path, h);
	if (rc)
		fprintf(stderr, "pvio store: cannot reach pvio-store at %s: "
			"%s (is it running? see --rundir)\n",
			path ? path : "the default socket", strerror(-rc));
	free(path);
	return rc;
}

static void print_value(const char *v, size_t len)
{
	putchar('"');
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = v[i];

		if (ch == '"' || ch == '\\')
			printf("\\%c", ch);
		else if (ch < 32 || ch > 126)
			printf("\\x%02x", ch);
		else
			putchar(ch);
	}
	putchar('"');
}

static void print_perms(struct xs_handle *h, const char *path)
{
	static const char letters[] = "nrwb";
	struct xs_perm *p;
	unsigned int n;

	if (xs_get_perms(h, XS_TXN_NULL, path, &p, &n))
		return;
	printf("  (");
	for (unsigned int i = 0; i < n; i++)
		printf("%s%c%u", i ? "," : "", letters[p[i].access & 3],
		       p[i].domid);
	printf(")");
	free(p);
}

static int ls_tree(struct xs_handle *h, const char *path, int depth)
{
	char **names;
	unsigned int n;
	int rc = xs_directory(h, XS_TXN_NULL, path, &names, &n);

	if (rc)
		return rc;
	for (unsigned int i = 0; i < n; i++) {
		char *child, *v = NULL;
		size_t len = 0;

		if (asprintf(&child, "%s/%s", strcmp(path, "/") ? path : "",
			     names[i]) < 0)
			break;
		printf("%*s%s = ", depth * 2, "", names[i]);
		if (!xs_read(h, XS_TXN_NULL, child, &v, &len))
			print_value(v, len);
		else
			printf("(unreadable)");
		free(v);
		print_perms(h, child);
		putchar('\n');
		ls_tree(h, child, depth + 1);
		free(child);
	}
	xs_free_list(names, n);
	return 0;
}

struct watch_state {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	long remaining;
};

static void watch_cb(struct xs_handle *h, const char *path, const char *token,
		     void *arg)
{
	struct watch_state *ws = arg;

	printf("%s\n", path);
	fflush(stdout);
	pthread_mutex_lock(&ws->lock);
	if (ws->remaining > 0)
		ws->remaining--;
	pthread_cond_broadcast(&ws->cond);
	pthread_mutex_unlock(&ws->lock);
}

static int cmd_store(int argc, char **argv);
static struct pvio_cmd store_cmd = {
	.name = "store",
	.usage = "ls [PATH] | read PATH | write PATH VALUE | rm PATH | "
		 "watch [-n COUNT] PATH",
	.help = "inspect or edit the store (xenstore)",
	.run = cmd_store,
};
PVIO_CMD(store_cmd);

static int cmd_store(int argc, char **argv)
{
	const char *op = argc > 1 ? argv[1] : NULL;
	struct xs_handle *h;
	int rc = 0;

	if (!op)
		return pvio_cmd_usage(&store_cmd);
	if (!strcmp(op, "ls") ? argc > 3 :
	    !strcmp(op, "read") || !strcmp(op, "rm") ? argc != 3 :
	    !strcmp(op, "write") ? argc != 4 :
	    !strcmp(op, "watch") ? argc < 3 : true)
		return pvio_cmd_usage(&store_cmd);
	if (store_open(&h))
		return 1;
	if (!strcmp(op, "ls")) {
		const char *path = argc > 2 ? argv[2] : "/";

		rc = ls_tree(h, path, 0);
	} else if (!strcmp(op, "read")) {
		char *v;
		size_t len;

		rc = xs_read(h, XS_TXN_NULL, argv[2], &v, &len);
		if (!rc) {
			fwrite(v, 1, len, stdout);
			putchar('\n');
			free(v);
		}
	} else if (!strcmp(op, "write")) {
		rc = xs_write(h, XS_TXN_NULL, argv[2], argv[3],
			      strlen(argv[3]));
	} else if (!strcmp(op, "rm")) {
		rc = xs_rm(h, XS_TXN_NULL, argv[2]);
	} else {
		struct watch_state ws = { .remaining = -1 };
		const char *path = argv[argc - 1];

		if (argc == 5 && !strcmp(argv[2], "-n")) {
			ws.remaining = atol(argv[3]);
		} else if (argc != 3) {
			xs_close(h);
			return pvio_cmd_usage(&store_cmd);
		}
		pthread_mutex_init(&ws.lock, NULL);
		pthread_cond_init(&ws.cond, NULL);
		rc = xs_watch(h, path, "pvio-store-watch", watch_cb, &ws);
		if (!rc) {
			pthread_mutex_lock(&ws.lock);
			while (ws.remaining != 0)
				pthread_cond_wait(&ws.cond, &ws.lock);
			pthread_mutex_unlock(&ws.lock);
			xs_unwatch(h, path, "pvio-store-watch");
		}
	}
	if (rc)
		fprintf(stderr, "pvio store %s %s: %s\n", op,
			argc > 2 ? argv[argc > 3 && strcmp(op, "write") ?
					argc - 1 : 2] : "/",
			strerror(-rc));
	xs_close(h);
	return rc ? 1 : 0;
}
