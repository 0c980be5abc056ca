/* Growable arrays: capacity doubling. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "common/s2_vec.h"

bool s2_grow(void **arr, unsigned *cap, size_t elem, unsigned need)
{
	if (need <= *cap)
		return true;
	if (need > UINT_MAX / 2 + 1)
		return false;	/* doubling past 2^31 would wrap to 0 and never end */
	unsigned ncap = *cap ? *cap * 2 : 16;
	while (ncap < need)
		ncap *= 2;
	void *p = realloc(*arr, (size_t)ncap * elem);
	if (!p)
		return false;
	*arr = p;
	*cap = ncap;
	return true;
}

bool s2_grow_zero(void **arr, unsigned *cap, size_t elem, unsigned need)
{
	unsigned old = *cap;
	if (!s2_grow(arr, cap, elem, need))
		return false;
	memset((char *)*arr + (size_t)old * elem, 0, (size_t)(*cap - old) * elem);
	return true;
}
