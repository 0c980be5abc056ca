/* s2_bits: bit-field helpers shared by every module.
 *
 * All helpers are defined for every shift count a caller can pass: a shift
 * by 64 or more gives 0 instead of undefined behaviour, so geometry code can
 * compute "1 << bits" for a 64-bit wide field without special cases.
 */
#ifndef S2_BITS_H
#define S2_BITS_H

#include <stdbool.h>
#include <stdint.h>

/* A function kept out of line (and out of the hot code's cache lines), so
 * that the functions calling it keep only their fast paths. */
#define S2_SLOW_PATH __attribute__((noinline, cold))
/* Out of line but not rare: keeps a caller's hot path small. */
#define S2_NOINLINE __attribute__((noinline))
/* Inlined wherever it is called: a hot path's step written as a function
 * of its own (the compiler's size limits would keep it out of line). */
#define S2_ALWAYS_INLINE inline __attribute__((always_inline))

static inline uint64_t s2_bit(unsigned n)
{
	return n < 64 ? (uint64_t)1 << n : 0;
}

/* Bits [hi:lo] set, Arm ARM field notation; empty when hi < lo. */
static inline uint64_t s2_genmask(unsigned hi, unsigned lo)
{
	if (hi < lo || lo >= 64)
		return 0;
	uint64_t top = hi >= 63 ? ~(uint64_t)0 : (s2_bit(hi + 1) - 1);
	return top & ~(s2_bit(lo) - 1);
}

static inline uint64_t s2_field_get(uint64_t v, unsigned hi, unsigned lo)
{
	return lo < 64 ? (v & s2_genmask(hi, lo)) >> lo : 0;
}

static inline uint64_t s2_field_set(uint64_t v, unsigned hi, unsigned lo,
				    uint64_t field)
{
	uint64_t m = s2_genmask(hi, lo);
	return lo < 64 ? (v & ~m) | ((field << lo) & m) : v;
}

static inline uint64_t s2_shl(uint64_t v, unsigned n)
{
	return n < 64 ? v << n : 0;
}

static inline uint64_t s2_shr(uint64_t v, unsigned n)
{
	return n < 64 ? v >> n : 0;
}

static inline uint64_t s2_align_down(uint64_t v, uint64_t size)
{
	return v & ~(size - 1);
}

static inline uint64_t s2_align_up(uint64_t v, uint64_t size)
{
	return (v + size - 1) & ~(size - 1);
}

static inline bool s2_is_aligned(uint64_t v, uint64_t size)
{
	return (v & (size - 1)) == 0;
}

#define S2_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
