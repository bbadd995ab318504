/*
 * xenbus state writes for both ends of a vif that never recreate a device
 * directory the toolstack has just removed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "pvio/netfront.h"
#include "pvio/xenbus.h"

struct switch_ctx {
	char path[256];
	int state;
};

static int switch_txn(struct xs_handle *xs, xs_transaction_t t, void *arg)
{
	struct switch_ctx *c = arg;
	char *val = NULL;
	size_t len;
	int ret = xs_read(xs, t, c->path, &val, &len);

	free(val);
	if (ret)
		return ret;	/* -ENOENT: the device is being removed */
	return xs_printf(xs, t, c->path, "%d", c->state);
}

int netif_switch_state(struct xs_handle *xs, const char *dir, int s)
{
	struct switch_ctx c = { .state = s };

	if (snprintf(c.path, sizeof(c.path), "%s/state", dir) >=
	    (int)sizeof(c.path))
		return -ENAMETOOLONG;
	return xs_transaction_run(xs, switch_txn, &c);
}
