/* s2_vec: the one growable-array helper of the tree. */
#ifndef S2_VEC_H
#define S2_VEC_H

#include <stdbool.h>
#include <stddef.h>

/* Room for need elements of elem bytes in *arr, whose capacity is *cap
 * (doubling, from 16). false when out of memory (*arr is unchanged). */
bool s2_grow(void **arr, unsigned *cap, size_t elem, unsigned need);
/* The same, with the elements the growth adds zeroed (an array indexed by
 * a number that only grows: table pages, trace lines). */
bool s2_grow_zero(void **arr, unsigned *cap, size_t elem, unsigned need);

#endif
