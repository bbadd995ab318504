/* SPDX-License-Identifier: MIT */
/* The platform contract test's stand-in store (test_vm_platform_store.c). */
#ifndef PVIO_TEST_VM_PLATFORM_H
#define PVIO_TEST_VM_PLATFORM_H

#include <stdbool.h>

#include "pvio/platform.h"

void stub_store_init(void *plat);
/* Serve every complete request in the ring: count handled, or -EIO. */
int stub_store_poll(void);
void stub_store_set(const char *path, const char *value);
/* Set and fire the watches above @path, as a write by dom0 would. */
void stub_store_write(const char *path, const char *value);
const char *stub_store_get(const char *path);

#endif /* PVIO_TEST_VM_PLATFORM_H */
