/* SPDX-License-Identifier: MIT */
/*
 * pvio ABI base: fixed-width types and memory-ordering primitives that work
 * the same in the Linux kernel and in user space. Every other ABI header
 * includes this one.
 */
#ifndef PVIO_ABI_H
#define PVIO_ABI_H

#ifdef __KERNEL__
#include <linux/types.h>
#include <linux/compiler.h>
#include <asm/barrier.h>
/* virt_*: SMP barriers even on a UP guest, since the peer is another machine. */
#define PVIO_MB()		virt_mb()
#define PVIO_WMB()		virt_wmb()
#define PVIO_RMB()		virt_rmb()
#define PVIO_READ_ONCE(x)	READ_ONCE(x)
#define PVIO_WRITE_ONCE(x, v)	WRITE_ONCE(x, v)
#else
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#define PVIO_MB()		__atomic_thread_fence(__ATOMIC_SEQ_CST)
#define PVIO_WMB()		__atomic_thread_fence(__ATOMIC_RELEASE)
#define PVIO_RMB()		__atomic_thread_fence(__ATOMIC_ACQUIRE)
#define PVIO_READ_ONCE(x)	__atomic_load_n(&(x), __ATOMIC_RELAXED)
#define PVIO_WRITE_ONCE(x, v)	__atomic_store_n(&(x), (v), __ATOMIC_RELAXED)
#endif

#define PVIO_PAGE_SHIFT	12
#define PVIO_PAGE_SIZE	(1u << PVIO_PAGE_SHIFT)

/* Domain ids: 0 is dom0 (the host); 0x7FF0 and above are reserved as in Xen. */
typedef uint16_t pvio_domid_t;
#define PVIO_DOMID_SELF		0x7FF0u
#define PVIO_DOMID_INVALID	0x7FF4u
#define PVIO_DOMID_FIRST_RESERVED 0x7FF0u

#define PVIO_ABI_CHECK_SIZE(type, size) \
	_Static_assert(sizeof(type) == (size), "wire size of " #type)
#define PVIO_ABI_CHECK_OFFSET(type, field, off) \
	_Static_assert(offsetof(type, field) == (off), "wire offset of " #type "." #field)

#endif /* PVIO_ABI_H */
