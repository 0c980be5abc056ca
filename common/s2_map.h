/* s2_map: a hash map from non-zero 64-bit keys to 64-bit values (open
 * addressing, linear probing, at most half full). The one map of the tree:
 * TLB and walk-cache indices, host page references, trace page numbers. */
#ifndef S2_MAP_H
#define S2_MAP_H

#include <stdbool.h>
#include <stdint.h>

struct s2_map {
	uint64_t *keys;		/* 0: an empty slot */
	uint64_t *vals;
	uint32_t cap;		/* a power of two, or 0 */
	uint32_t n;
};

/* A zeroed struct s2_map is an empty map. put is false when out of memory. */
bool s2_map_get(const struct s2_map *t, uint64_t key, uint64_t *val);
bool s2_map_put(struct s2_map *t, uint64_t key, uint64_t val);
/* key's value, to read and write in place, inserted as 0 when absent (one
 * probe where a get and a put take two); valid until the next put, ref or
 * del. NULL when out of memory. */
uint64_t *s2_map_ref(struct s2_map *t, uint64_t key);
/* key's value in place, or NULL when absent (no insertion, no allocation);
 * valid until the next put, ref or del. */
uint64_t *s2_map_find(const struct s2_map *t, uint64_t key);
void s2_map_del(struct s2_map *t, uint64_t key);
/* Iterate: *pos starts at 0; false at the end. */
bool s2_map_next(const struct s2_map *t, uint32_t *pos, uint64_t *key, uint64_t *val);
void s2_map_clear(struct s2_map *t);
void s2_map_free(struct s2_map *t);

#endif
