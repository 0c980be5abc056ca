/* The one number parser (s2_num.h). Hand-written rather than strtoull:
 * strtoull takes signs and leading spaces, reads a second 0x after the
 * first, and reads a leading zero as octal with base 0. */
#include <stdbool.h>

#include "common/s2_err.h"
#include "common/s2_num.h"

const unsigned char s2_num_digit_plus1[256] = {
	['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5, ['5'] = 6, ['6'] = 7, ['7'] = 8,
	['8'] = 9, ['9'] = 10, ['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15,
	['f'] = 16, ['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16,
};

static int digit(char c, unsigned base)
{
	int d = s2_num_digit_plus1[(unsigned char)c] - 1;
	return d < (int)base ? d : -1;
}

/* The number at *s and its suffix's shift; *s advanced. The digits that
 * cannot overflow (16 hexadecimal, 19 decimal: every number a trace holds)
 * take a loop with no check; any after them the checked one. */
static int scan(const char **s, unsigned flags, uint64_t *out, unsigned *shift)
{
	const unsigned char *p = (const unsigned char *)*s;
	unsigned base = flags & S2_NUM_HEX ? 16 : 10;
	uint64_t v = 0;
	bool over = false;
	unsigned n = 0, d;

	if (!(flags & S2_NUM_DEC) && p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		base = 16;
		p += 2;
	}
	if (base == 16)
		for (; n < 16 && (d = s2_num_digit_plus1[*p]) != 0; p++, n++)
			v = v << 4 | (d - 1);
	else
		for (; n < 19 && (d = s2_num_digit_plus1[*p] - 1u) < 10; p++, n++)
			v = v * 10 + d;
	if (!n)
		return S2_EPARSE;
	for (int dd; (dd = digit((char)*p, base)) >= 0; p++) {
		/* No division per digit: the overflow flags of the multiply-add. */
		if (__builtin_mul_overflow(v, base, &v))
			over = true;
		if (__builtin_add_overflow(v, (unsigned)dd, &v))
			over = true;
	}
	*s = (const char *)p;
	if (over)
		return S2_ERANGE;
	*shift = 0;
	if (flags & S2_NUM_SIZE) {
		if (*p == 'K' || *p == 'k')
			*shift = 10;
		else if (*p == 'M' || *p == 'm')
			*shift = 20;
		else if (*p == 'G' || *p == 'g')
			*shift = 30;
		if (*shift)
			*s = (const char *)p + 1;
	}
	*out = v;
	return 0;
}

int s2_scan_u64(const char **s, unsigned flags, uint64_t *out)
{
	const char *p = *s;
	unsigned shift;
	uint64_t v;
	int ret = scan(&p, flags, &v, &shift);
	if (ret)
		return ret;
	if (shift && v > (UINT64_MAX >> shift))
		return S2_ERANGE;
	*s = p;
	*out = v << shift;
	return 0;
}

int s2_parse_u64(const char *s, unsigned flags, uint64_t *out)
{
	unsigned shift;
	uint64_t v;
	int ret = scan(&s, flags, &v, &shift);
	if (ret)
		return ret;
	if (*s)
		return S2_EPARSE;
	if (shift && v > (UINT64_MAX >> shift))
		return S2_ERANGE;
	*out = v << shift;
	return 0;
}
