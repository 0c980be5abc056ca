/* s2_num: the one number parser of the tree, for trace keys, importers'
 * fields, schedule words and command-line values. Unsigned 64-bit numbers:
 * decimal, or hexadecimal after 0x; no sign, no space. */
#ifndef S2_NUM_H
#define S2_NUM_H

#include <stdbool.h>
#include <stdint.h>

#define S2_NUM_SIZE 1u	/* a K, M or G suffix (either case, powers of 1024) may follow */
#define S2_NUM_DEC 2u	/* decimal only: no 0x */
#define S2_NUM_HEX 4u	/* hexadecimal, with or without 0x */

/* The number at the start of *s; *s is advanced past it (and its suffix).
 * 0; S2_EPARSE when no number starts there; S2_ERANGE when it does not fit
 * in 64 bits. */
int s2_scan_u64(const char **s, unsigned flags, uint64_t *out);
/* All of s is one number: as s2_scan_u64, and S2_EPARSE when anything
 * follows it. *out is untouched on error. */
int s2_parse_u64(const char *s, unsigned flags, uint64_t *out);

/* Each byte's value as a hexadecimal digit plus one; 0 for any other byte. */
extern const unsigned char s2_num_digit_plus1[256];

/* The common case of s2_parse_u64 with flags 0 or S2_NUM_SIZE, inline for
 * a reader's hot path: true, with *out, when all of s is "0x" and 1 to 16
 * hexadecimal digits or 1 to 19 decimal digits (no suffix: nothing can
 * overflow); false for anything else, which s2_parse_u64 then reads or
 * refuses. */
static inline bool s2_parse_u64_quick(const char *s, uint64_t *out)
{
	const unsigned char *p = (const unsigned char *)s, *digits;
	uint64_t v = 0;
	unsigned d;
	bool hex = p[0] == '0' && p[1] == 'x';

	/* The loops do not count: a number too long is refused after them
	 * (its value, wrapped, is then unused). */
	if (hex) {
		for (digits = p += 2; (d = s2_num_digit_plus1[*p]) != 0; p++)
			v = v << 4 | (d - 1);
	} else {
		for (digits = p; (d = s2_num_digit_plus1[*p] - 1u) < 10; p++)
			v = v * 10 + d;
	}
	if (p == digits || p - digits > (hex ? 16 : 19) || *p)
		return false;
	*out = v;
	return true;
}

#endif
