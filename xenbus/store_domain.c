/* SPDX-License-Identifier: MIT */
/*
 * pvio-store domain side: INTRODUCE maps a domain's store ring (its
 * platform region) and binds its event channel. Until pvio-hv offers the
 * mapping, an introduction only records the domain.
 */
#include "store_daemon.h"

void store_domain_hooks(struct store_daemon *d, struct store_opts *so)
{
	so->hooks = NULL;
	so->hooks_arg = d;
}

void store_domain_shutdown(struct store_daemon *d)
{
}
