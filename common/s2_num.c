/* The one number parser (s2_num.h). Hand-written rather than strtoull:
 * strtoull takes signs and leading spaces, reads a second 0x after the
 * first, and reads a leading zero as octal with base 0. */
#include <stdbool.h>

#include "common/s2_err.h"
#include "common/s2_num.h"

static int digit(char c, unsigned base)
{
	int d = c >= '0' && c <= '9' ? c - '0' :
		c >= 'a' && c <= 'f' ? c - 'a' + 10 :
		c >= 'A' && c <= 'F' ? c - 'A' + 10 : 99;
	return d < (int)base ? d : -1;
}

/* The number at *s and its suffix's shift; *s advanced. */
static int scan(const char **s, unsigned flags, uint64_t *out, unsigned *shift)
{
	const char *p = *s;
	unsigned base = flags & S2_NUM_HEX ? 16 : 10;
	uint64_t v = 0;
	bool over = false;

	if (!(flags & S2_NUM_DEC) && p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		base = 16;
		p += 2;
	}
	if (digit(*p, base) < 0)
		return S2_EPARSE;
	for (int d; (d = digit(*p, base)) >= 0; p++) {
		if (v > (UINT64_MAX - (unsigned)d) / base)
			over = true;
		v = v * base + (unsigned)d;
	}
	*s = p;
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
			*s = p + 1;
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
