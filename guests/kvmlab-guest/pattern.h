/* The data pattern of `kvmlab-guest blk` (docs/guest.md): a function of a
 * 64-bit seed and the absolute byte offset on the device, so a sector
 * written to or read from the wrong place, a stale sector or another run's
 * data all show up as a mismatch.
 *
 * Definition: the byte at absolute offset o is byte (o % 8) of the
 * little-endian 64-bit word
 *
 *     W(seed, o / 8) = splitmix64(seed ^ (o / 8))
 *
 * where splitmix64(x) is the output of Vigna's SplitMix64 generator for the
 * state x:
 *
 *     z = x + 0x9e3779b97f4a7c15
 *     z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
 *     z = (z ^ (z >> 27)) * 0x94d049bb133111eb
 *     return z ^ (z >> 31)
 *
 * (all arithmetic mod 2^64).  So an aligned 8-byte word at offset o holds
 * W(seed, o / 8) in little-endian order.
 *
 * Header-only (static inline, <stdint.h> and <string.h> only), for the
 * guest tool and for host-side test code alike.  The aligned fast paths
 * cost a few cycles per 8 bytes: one 64 MiB pass is tens of milliseconds of
 * CPU on a current x86 core. */
#ifndef KVMLAB_GUEST_PATTERN_H
#define KVMLAB_GUEST_PATTERN_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* SplitMix64's output for the state x (see above). */
static inline uint64_t pattern_splitmix64(uint64_t x)
{
	uint64_t z = x + UINT64_C(0x9e3779b97f4a7c15);

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* The pattern word for the 8-byte word index w (byte offset w * 8). */
static inline uint64_t pattern_word(uint64_t seed, uint64_t w)
{
	return pattern_splitmix64(seed ^ w);
}

/* The pattern byte at absolute byte offset off. */
static inline uint8_t pattern_byte(uint64_t seed, uint64_t off)
{
	return (uint8_t)(pattern_word(seed, off >> 3) >> (8 * (off & 7)));
}

/* The pattern word w as it is stored (little-endian), as a native value
 * to memcpy to or compare with memory. */
static inline uint64_t pattern_word_mem(uint64_t seed, uint64_t w)
{
	uint64_t v = pattern_word(seed, w);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	return v;
}

/* Fill buf[0..len) with the pattern of the bytes at absolute offsets
 * off..off+len-1.  Any offset and length; whole words go 8 bytes at a time. */
static inline void pattern_fill(void *buf, size_t len, uint64_t seed, uint64_t off)
{
	uint8_t *p = buf;
	size_t i = 0;

	for (; i < len && ((off + i) & 7); i++)
		p[i] = pattern_byte(seed, off + i);
	for (uint64_t w = (off + i) >> 3; len - i >= 8; i += 8, w++) {
		uint64_t v = pattern_word_mem(seed, w);
		memcpy(p + i, &v, 8);
	}
	for (; i < len; i++)
		p[i] = pattern_byte(seed, off + i);
}

/* Compare buf[0..len) with the pattern at absolute offset off.  Returns the
 * index in buf of the first byte that differs, or len if all match. */
static inline size_t pattern_check(const void *buf, size_t len, uint64_t seed, uint64_t off)
{
	const uint8_t *p = buf;
	size_t i = 0;

	for (; i < len && ((off + i) & 7); i++)
		if (p[i] != pattern_byte(seed, off + i))
			return i;
	for (uint64_t w = (off + i) >> 3; len - i >= 8; i += 8, w++) {
		uint64_t v;
		memcpy(&v, p + i, 8);
		if (v != pattern_word_mem(seed, w))
			break; /* the byte loop below finds which byte */
	}
	for (; i < len; i++)
		if (p[i] != pattern_byte(seed, off + i))
			return i;
	return len;
}

#endif
