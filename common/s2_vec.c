/* Growable arrays: capacity doubling. */
#include <stdlib.h>

#include "common/s2_vec.h"

bool s2_grow(void **arr, unsigned *cap, size_t elem, unsigned need)
{
	if (need <= *cap)
		return true;
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
