/* SPDX-License-Identifier: MIT */
/*
 * A harness's input read as a stream: each call takes the next bytes
 * (little-endian); past the end every read gives 0, so a short input is
 * an input like any other.
 */
#ifndef PVIO_FUZZ_IN_H
#define PVIO_FUZZ_IN_H

#include <stddef.h>
#include <stdint.h>

struct in {
	const uint8_t *p;
	size_t n;
};

static inline uint8_t byte(struct in *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->p++;
}

static inline uint16_t u16(struct in *in)
{
	uint16_t v = byte(in);

	return (uint16_t)(v | byte(in) << 8);
}

static inline uint32_t u32(struct in *in)
{
	uint32_t v = u16(in);

	return v | (uint32_t)u16(in) << 16;
}

static inline uint64_t u64(struct in *in)
{
	uint64_t v = u32(in);

	return v | (uint64_t)u32(in) << 32;
}

#endif /* PVIO_FUZZ_IN_H */
