/* A map from non-zero 64-bit keys to 64-bit values: open addressing with
 * linear probing, deletion by backward shift, at most half full. */
#include <stdlib.h>
#include <string.h>

#include "common/s2_map.h"

static uint32_t slot(const struct s2_map *t, uint64_t key)
{
	return (uint32_t)((key * 0x9e3779b97f4a7c15ull) >> 32) & (t->cap - 1);
}

uint64_t *s2_map_find(const struct s2_map *t, uint64_t key)
{
	if (!t->cap)
		return NULL;
	for (uint32_t i = slot(t, key);; i = (i + 1) & (t->cap - 1)) {
		if (!t->keys[i])
			return NULL;
		if (t->keys[i] == key)
			return &t->vals[i];
	}
}

bool s2_map_get(const struct s2_map *t, uint64_t key, uint64_t *val)
{
	const uint64_t *v = s2_map_find(t, key);
	if (v)
		*val = *v;
	return v != NULL;
}

uint64_t *s2_map_ref(struct s2_map *t, uint64_t key)
{
	if ((t->n + 1) * 2 > t->cap) {
		uint32_t ncap = t->cap ? t->cap * 2 : 64;
		uint64_t *keys = calloc(ncap, sizeof(*keys));
		uint64_t *vals = malloc(ncap * sizeof(*vals));
		if (!keys || !vals) {
			free(keys);
			free(vals);
			return NULL;
		}
		struct s2_map old = *t;
		*t = (struct s2_map){ keys, vals, ncap, 0 };
		for (uint32_t i = 0; i < old.cap; i++)
			if (old.keys[i])
				s2_map_put(t, old.keys[i], old.vals[i]);
		free(old.keys);
		free(old.vals);
	}
	uint32_t i = slot(t, key);
	while (t->keys[i] && t->keys[i] != key)
		i = (i + 1) & (t->cap - 1);
	if (!t->keys[i]) {
		t->n++;
		t->keys[i] = key;
		t->vals[i] = 0;
	}
	return &t->vals[i];
}

bool s2_map_put(struct s2_map *t, uint64_t key, uint64_t val)
{
	uint64_t *v = s2_map_ref(t, key);
	if (!v)
		return false;
	*v = val;
	return true;
}

void s2_map_del(struct s2_map *t, uint64_t key)
{
	if (!t->cap)
		return;
	uint32_t i = slot(t, key);
	while (t->keys[i] != key) {
		if (!t->keys[i])
			return;
		i = (i + 1) & (t->cap - 1);
	}
	/* Move later members of the probe run into the hole, so that no probe
	 * stops early at it. */
	for (uint32_t j = (i + 1) & (t->cap - 1); t->keys[j]; j = (j + 1) & (t->cap - 1)) {
		uint32_t home = slot(t, t->keys[j]);
		if (((j - home) & (t->cap - 1)) >= ((j - i) & (t->cap - 1))) {
			t->keys[i] = t->keys[j];
			t->vals[i] = t->vals[j];
			i = j;
		}
	}
	t->keys[i] = 0;
	t->n--;
}

bool s2_map_next(const struct s2_map *t, uint32_t *pos, uint64_t *key, uint64_t *val)
{
	for (; *pos < t->cap; (*pos)++) {
		if (t->keys[*pos]) {
			*key = t->keys[*pos];
			*val = t->vals[*pos];
			(*pos)++;
			return true;
		}
	}
	return false;
}

void s2_map_clear(struct s2_map *t)
{
	/* An empty map's keys are all zero already. */
	if (t->n)
		memset(t->keys, 0, t->cap * sizeof(*t->keys));
	t->n = 0;
}

void s2_map_free(struct s2_map *t)
{
	free(t->keys);
	free(t->vals);
	*t = (struct s2_map){ 0 };
}
